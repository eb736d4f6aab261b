// Turning a pattern as written in a boundary file into the pattern matched against kernel
// paths: "~" expansion, lexical normalisation and symlink resolution. The kernel reports
// resolved paths (d_path), so a boundary naming /tmp/link/** where /tmp/link -> /data must
// match /data/x; we therefore realpath() the longest leading wildcard-free part that exists.
#pragma once

#include <string>
#include <string_view>

namespace stockade::policy {

// Limits on a pattern as written (and after "~" expansion). The kernel reports no path longer
// than PATH_MAX, so a longer pattern could never match; the component limit keeps matching and
// lint (which compare components pairwise) cheap for any boundary file.
inline constexpr size_t kMaxPatternBytes = 4095;
inline constexpr size_t kMaxPatternComponents = 512;

// Returns the pattern to match, or "" and sets `error` (a sentence fragment for a diagnostic).
// `home` is what "~" expands to; empty means "~" is an error.
std::string prepare_pattern(std::string_view text, const std::string& home, std::string& error);

// Lexical normalisation of an absolute path or pattern: no "//", no "." components, no
// trailing "/". Sets `error` for ".." components (ambiguous before symlinks are resolved).
std::string normalize_path(std::string_view path, std::string& error);

// realpath() of the longest leading wildcard-free part of `pattern` that exists, with the rest
// appended unchanged. /proc/self and /proc/thread-self are left alone: resolving them here
// would name the daemon's own pid (decide() maps the event's /proc/<pid> back instead).
std::string resolve_leading_symlinks(const std::string& pattern);

}  // namespace stockade::policy
