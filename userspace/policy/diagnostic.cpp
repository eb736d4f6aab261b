#include "policy/diagnostic.hpp"

#include <algorithm>

namespace stockade::policy {

std::string Diagnostic::str() const {
    std::string s = file;
    if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
    s += error ? ": error: " : ": warning: ";
    return s + message;
}

bool has_errors(const std::vector<Diagnostic>& diags) {
    return std::any_of(diags.begin(), diags.end(), [](const Diagnostic& d) { return d.error; });
}

std::string format_diagnostics(const std::vector<Diagnostic>& diags, int files) {
    std::string out;
    size_t errors = 0;
    for (const auto& d : diags) {
        out += d.str() + "\n";
        errors += d.error;
    }
    if (files >= 0) {
        size_t warnings = diags.size() - errors;
        auto plural = [](size_t n, const char* word) {
            return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
        };
        out += plural(errors, "error") + ", " + plural(warnings, "warning") + " in " +
               plural(static_cast<size_t>(files), "file") + "\n";
    }
    return out;
}

}  // namespace stockade::policy
