// Path patterns of boundary files: exact paths, `*`, `?`, `[...]` within one component and
// `**` as a whole component for any number of components (including none). Matching works on
// components, so `*` can never cross a `/`. docs/boundary.md describes the syntax.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stockade::policy {

// How the enforcement stage can use a pattern: Exact and Subtree rules go into kernel inode
// tables, Glob rules stay in userspace.
enum class PatternKind : uint8_t { Exact, Subtree, Glob };
std::string_view to_string(PatternKind k);

class Glob {
public:
    Glob() = default;
    // `pattern` must be absolute or start with `**` and already be normalised (no "//", ".",
    // ".."); check with glob_syntax_error() first. Throws std::invalid_argument otherwise.
    explicit Glob(std::string pattern);

    bool matches(std::string_view path) const;
    const std::string& text() const { return text_; }
    PatternKind kind() const { return kind_; }
    // Exact: the path itself. Subtree: the directory above the trailing `**` ("/" for "/**").
    // Glob: the literal leading directory (the part before the first wildcard).
    const std::string& dir() const { return dir_; }
    // True when every path this glob matches is also matched by `other` (a sound test: it may
    // answer false for some covered patterns, never true for an uncovered one).
    bool covered_by(const Glob& other) const;

private:
    struct Segment {
        enum Type : uint8_t { Literal, Wild, AnyDepth } type;
        std::string text;
    };
    bool match_segments(const std::vector<std::string_view>& comps, size_t seg_end) const;

    std::string text_;
    std::vector<Segment> segs_;
    PatternKind kind_ = PatternKind::Exact;
    std::string dir_;
};

// One component against one component pattern with `*`, `?`, `[...]`.
bool component_match(std::string_view pattern, std::string_view name);
bool has_wildcard(std::string_view s);
// Empty when `pattern` is a usable glob, otherwise the reason (an unterminated class ...).
std::string glob_syntax_error(std::string_view pattern);
// Path split on '/', empty components dropped.
std::vector<std::string_view> split_path(std::string_view path);

}  // namespace stockade::policy
