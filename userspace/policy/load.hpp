// Loading the boundary directory. All or nothing: if any file has an error the result has no
// set and the caller keeps the set already in force, so a typo can never drop an agent's
// boundary on reload.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "policy/boundary.hpp"
#include "policy/diagnostic.hpp"

namespace stockade::policy {

struct LoadResult {
    std::shared_ptr<const PolicySet> set;  // null when any file had an error
    std::vector<Diagnostic> diagnostics;   // errors and warnings, in file order
    int files = 0;                         // boundary files read
    bool ok() const { return !has_errors(diagnostics); }
};

// Each path is a boundary file, or a directory whose *.yaml / *.yml files (not recursive,
// sorted by name) are boundary files. An empty directory is a valid empty set.
LoadResult load_boundaries(const std::vector<std::string>& paths);

// The daemon's start: the set of `dir`, warnings logged; throws stockade::Error listing every
// error with its file, line and column when any file does not load.
std::shared_ptr<const PolicySet> load_or_throw(const std::string& dir);

// One boundary from text, as if read from a file called `file` (tests, `stockade check -`).
LoadResult load_boundary_text(const std::string& file, const std::string& yaml);

// `stockade check`: load and return every diagnostic; nothing is installed.
std::vector<Diagnostic> check_paths(const std::vector<std::string>& paths);

}  // namespace stockade::policy
