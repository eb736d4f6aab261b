#include "policy/glob.hpp"

#include <stdexcept>

namespace stockade::policy {

std::string_view to_string(PatternKind k) {
    switch (k) {
    case PatternKind::Exact: return "exact";
    case PatternKind::Subtree: return "subtree";
    case PatternKind::Glob: return "glob";
    }
    return "unknown";
}

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        if (j > i) out.push_back(path.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

bool has_wildcard(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

namespace {

// Parses the class starting at pattern[i] == '['. Returns the index after the closing ']' and
// sets `hit` to whether `c` is in the class; returns npos when the class is unterminated.
size_t match_class(std::string_view p, size_t i, char c, bool& hit) {
    size_t j = i + 1;
    bool negate = j < p.size() && (p[j] == '!' || p[j] == '^');
    if (negate) ++j;
    bool in = false;
    bool first = true;  // a ']' right after '[' or '[!' is a member, not the end
    while (j < p.size() && (p[j] != ']' || first)) {
        first = false;
        char lo = p[j];
        if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
            if (lo <= c && c <= p[j + 2]) in = true;
            j += 3;
        } else {
            if (c == lo) in = true;
            ++j;
        }
    }
    if (j >= p.size()) return std::string_view::npos;
    hit = in != negate;
    return j + 1;
}

}  // namespace

// Classic wildcard matching with one backtrack point: each non-'*' token consumes exactly one
// character, so retrying from the most recent '*' is enough (linear, no recursion).
bool component_match(std::string_view p, std::string_view s) {
    size_t pi = 0, si = 0, star_p = std::string_view::npos, star_s = 0;
    while (si < s.size()) {
        if (pi < p.size() && p[pi] == '*') {
            star_p = pi++;
            star_s = si;
            continue;
        }
        if (pi < p.size()) {
            if (p[pi] == '?') {
                ++pi, ++si;
                continue;
            }
            if (p[pi] == '[') {
                bool hit = false;
                size_t next = match_class(p, pi, s[si], hit);
                if (next == std::string_view::npos) {
                    if (s[si] == '[') {  // unterminated: a literal '['
                        ++pi, ++si;
                        continue;
                    }
                } else if (hit) {
                    pi = next, ++si;
                    continue;
                }
            } else if (p[pi] == s[si]) {
                ++pi, ++si;
                continue;
            }
        }
        if (star_p == std::string_view::npos) return false;
        pi = star_p + 1;
        si = ++star_s;
    }
    while (pi < p.size() && p[pi] == '*') ++pi;
    return pi == p.size();
}

std::string glob_syntax_error(std::string_view pattern) {
    for (size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] != '[') continue;
        bool hit = false;
        size_t next = match_class(pattern, i, 'a', hit);
        if (next == std::string_view::npos) return "unterminated character class '[' at offset " + std::to_string(i);
        if (pattern.substr(i, next - i).find('/') != std::string_view::npos)
            return "a character class cannot contain '/'";
        i = next - 1;
    }
    return {};
}

Glob::Glob(std::string pattern) : text_(std::move(pattern)) {
    if (text_.empty() || (text_[0] != '/' && !text_.starts_with("**")))
        throw std::invalid_argument("glob must be absolute or start with **: " + text_);
    for (auto comp : split_path(text_)) {
        if (comp == "**") segs_.push_back({Segment::AnyDepth, std::string(comp)});
        else if (has_wildcard(comp)) segs_.push_back({Segment::Wild, std::string(comp)});
        else segs_.push_back({Segment::Literal, std::string(comp)});
    }
    // The literal leading directory, and which kind the rest makes this pattern.
    size_t lit = 0;
    while (lit < segs_.size() && segs_[lit].type == Segment::Literal) ++lit;
    for (size_t i = 0; i < lit; ++i) dir_ += "/" + segs_[i].text;
    if (text_[0] == '/' && dir_.empty()) dir_ = "/";
    if (lit == segs_.size()) kind_ = PatternKind::Exact;
    else if (text_[0] == '/' && lit + 1 == segs_.size() && segs_.back().type == Segment::AnyDepth)
        kind_ = PatternKind::Subtree;
    else kind_ = PatternKind::Glob;
    if (text_[0] != '/') dir_.clear();
}

bool Glob::match_segments(const std::vector<std::string_view>& comps, size_t n) const {
    // Same backtracking idea as component_match, one level up: a Literal or Wild segment
    // consumes one component, AnyDepth any number.
    size_t s = 0, c = 0, star_s = std::string::npos, star_c = 0;
    while (c < comps.size()) {
        if (s < n && segs_[s].type == Segment::AnyDepth) {
            star_s = s++;
            star_c = c;
            continue;
        }
        if (s < n) {
            const Segment& seg = segs_[s];
            bool ok = seg.type == Segment::Literal ? seg.text == comps[c] : component_match(seg.text, comps[c]);
            if (ok) {
                ++s, ++c;
                continue;
            }
        }
        if (star_s == std::string::npos) return false;
        s = star_s + 1;
        c = ++star_c;
    }
    while (s < n && segs_[s].type == Segment::AnyDepth) ++s;
    return s == n;
}

bool Glob::matches(std::string_view path) const {
    if (text_.empty()) return false;
    // An absolute pattern never matches a path the kernel could not resolve to the root.
    if (text_[0] == '/' && (path.empty() || path[0] != '/')) return false;
    return match_segments(split_path(path), segs_.size());
}

bool Glob::covered_by(const Glob& other) const {
    if (text_.empty() || other.text_.empty()) return false;
    if (text_ == other.text_) return true;
    if (kind_ == PatternKind::Exact) return other.matches(text_);
    // other = X/**: it covers everything at or below any directory X matches. Every path this
    // pattern matches lies below its literal leading directory, so test X against each prefix.
    if (other.segs_.empty() || other.segs_.back().type != Segment::AnyDepth || text_[0] != '/') return false;
    std::vector<std::string_view> prefix;
    for (size_t i = 0;; ++i) {
        if (other.match_segments(prefix, other.segs_.size() - 1)) return true;
        if (i >= segs_.size() || segs_[i].type != Segment::Literal) return false;
        prefix.push_back(segs_[i].text);
    }
}

}  // namespace stockade::policy
