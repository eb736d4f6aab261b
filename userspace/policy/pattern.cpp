#include "policy/pattern.hpp"

#include <climits>
#include <cstdlib>

#include "policy/glob.hpp"

namespace stockade::policy {

std::string normalize_path(std::string_view path, std::string& error) {
    std::string out;
    bool absolute = !path.empty() && path[0] == '/';
    for (auto comp : split_path(path)) {
        if (comp == ".") continue;
        if (comp == "..") {
            error = "\"..\" is not allowed in a path pattern; write the path it leads to";
            return {};
        }
        if (!out.empty() || absolute) out += '/';
        out += comp;
    }
    if (out.empty() && absolute) out = "/";
    return out;
}

std::string resolve_leading_symlinks(const std::string& pattern) {
    if (pattern.empty() || pattern[0] != '/') return pattern;
    auto comps = split_path(pattern);
    size_t literal = 0;
    while (literal < comps.size() && !has_wildcard(comps[literal])) ++literal;
    if (literal >= 2 && comps[0] == "proc" && (comps[1] == "self" || comps[1] == "thread-self")) return pattern;

    // The pattern is normalised, so the first k components are the bytes up to the end of the
    // k-th. A prefix that resolves means every shorter one does too (each is a directory on
    // the way), so the longest one that resolves is found by bisection: O(log n) realpath()
    // calls instead of one per component.
    auto prefix = [&](size_t k) {
        const char* end = comps[k - 1].data() + comps[k - 1].size();
        return std::string(pattern.data(), end);
    };
    char buf[PATH_MAX];
    size_t lo = 0, hi = literal;  // invariant: prefix(lo) resolves (0: none), prefix(hi + 1) does not
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (::realpath(prefix(mid).c_str(), buf)) lo = mid;
        else hi = mid - 1;
    }
    if (lo == 0 || !::realpath(prefix(lo).c_str(), buf)) return pattern;
    std::string out = buf;
    if (lo < comps.size())
        out += (out == "/" ? "" : "/") + std::string(comps[lo].data(), pattern.data() + pattern.size());
    return out;
}

namespace {

// Empty when `text` is within the limits, else why not.
std::string limit_error(std::string_view text) {
    auto shown = [&] { return "\"" + std::string(text.substr(0, 40)) + (text.size() > 40 ? "...\"" : "\""); };
    if (text.size() > kMaxPatternBytes)
        return "pattern " + shown() + " is " + std::to_string(text.size()) + " bytes long; the limit is " +
               std::to_string(kMaxPatternBytes) + " (PATH_MAX: the kernel reports no longer path)";
    size_t comps = 0;
    for (size_t i = 0; i < text.size(); ++i)
        if (text[i] != '/' && (i == 0 || text[i - 1] == '/')) ++comps;
    if (comps > kMaxPatternComponents)
        return "pattern " + shown() + " has " + std::to_string(comps) + " components; the limit is " +
               std::to_string(kMaxPatternComponents);
    return {};
}

}  // namespace

std::string prepare_pattern(std::string_view text, const std::string& home, std::string& error) {
    if (text.empty()) {
        error = "empty pattern";
        return {};
    }
    if (error = limit_error(text); !error.empty()) return {};
    std::string expanded(text);
    if (text[0] == '~') {
        if (text.size() > 1 && text[1] != '/') {
            error = "\"~user\" is not supported in \"" + std::string(text) + "\"; write the path";
            return {};
        }
        if (home.empty()) {
            error = "\"" + std::string(text) +
                    "\" uses \"~\" but the home is unknown: set home:, or match.uid with a passwd entry";
            return {};
        }
        expanded = home + std::string(text.substr(1));
        if (error = limit_error(expanded); !error.empty()) return {};
    }
    auto comps = split_path(expanded);
    if (expanded[0] != '/' && (comps.empty() || comps[0] != "**")) {
        error = "relative pattern \"" + std::string(text) + "\": start it with /, ~/ or **/";
        return {};
    }
    std::string normal = normalize_path(expanded, error);
    if (!error.empty()) return {};
    if (auto syntax = glob_syntax_error(normal); !syntax.empty()) {
        error = syntax + " in \"" + std::string(text) + "\"";
        return {};
    }
    return resolve_leading_symlinks(normal);
}

}  // namespace stockade::policy
