// Errors and warnings about boundary files, with the place they were found, in the form
// compilers use so editors can jump to them: "rules/coder.yaml:12:5: error: ...".
#pragma once

#include <string>
#include <vector>

namespace stockade::policy {

struct Diagnostic {
    std::string file;
    int line = 0, column = 0;  // 1-based; 0 when the problem has no place in the file
    std::string message;
    bool error = true;  // false: a warning

    std::string str() const;
};

bool has_errors(const std::vector<Diagnostic>& diags);
// One line per diagnostic, then "N errors, M warnings in K files" (when files >= 0).
std::string format_diagnostics(const std::vector<Diagnostic>& diags, int files = -1);

}  // namespace stockade::policy
