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

    for (size_t k = literal; k > 0; --k) {
        std::string prefix;
        for (size_t i = 0; i < k; ++i) prefix += "/" + std::string(comps[i]);
        char buf[PATH_MAX];
        if (!::realpath(prefix.c_str(), buf)) continue;
        std::string out = buf;
        for (size_t i = k; i < comps.size(); ++i) out += (out == "/" ? "" : "/") + std::string(comps[i]);
        return out;
    }
    return pattern;
}

std::string prepare_pattern(std::string_view text, const std::string& home, std::string& error) {
    if (text.empty()) {
        error = "empty pattern";
        return {};
    }
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
