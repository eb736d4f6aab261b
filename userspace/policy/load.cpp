#include "policy/load.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "policy/parse.hpp"

namespace stockade::policy {

namespace fs = std::filesystem;

namespace {

// The files named by `paths`, each once, directories expanded.
std::vector<std::string> boundary_files(const std::vector<std::string>& paths, std::vector<Diagnostic>& diags) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    auto add = [&](const std::string& file) {
        std::error_code ec;
        auto canon = fs::weakly_canonical(file, ec);
        if (seen.insert(ec ? file : canon.string()).second) out.push_back(file);
    };
    for (const auto& p : paths) {
        std::error_code ec;
        if (!fs::is_directory(p, ec)) {
            add(p);  // a missing file is reported when it is read
            continue;
        }
        std::vector<std::string> files;
        for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
            auto ext = it->path().extension();
            if ((ext == ".yaml" || ext == ".yml") && it->is_regular_file(ec)) files.push_back(it->path().string());
        }
        if (ec) diags.push_back({p, 0, 0, "cannot list directory: " + ec.message(), true});
        std::sort(files.begin(), files.end());
        for (const auto& f : files) add(f);
    }
    return out;
}

struct Seen {
    std::string file;
    int line, column;
};

// Builds the set from parsed files; adds the errors that need all files (duplicate agents).
LoadResult assemble(std::vector<std::pair<std::string, ParsedBoundary>> parsed, LoadResult res) {
    std::map<std::string, Seen> agents;
    std::map<std::string, std::string> file_names;
    std::vector<std::shared_ptr<Boundary>> boundaries;
    for (auto& [file, p] : parsed) {
        if (!p.boundary) continue;
        const Boundary& b = *p.boundary;
        auto [it, fresh] = agents.emplace(b.name, Seen{file, p.agent_line, p.agent_column});
        if (!fresh) {
            res.diagnostics.push_back({file, p.agent_line, p.agent_column,
                                       "agent \"" + b.name + "\" is already defined in " + it->second.file + ":" +
                                           std::to_string(it->second.line) + ":" + std::to_string(it->second.column),
                                       true});
            continue;
        }
        auto [fn, fresh_name] = file_names.emplace(b.file_name, file);
        if (!fresh_name)
            res.diagnostics.push_back({file, 0, 0,
                                       "file name " + b.file_name + " is also used by " + fn->second +
                                           "; rule ids of the two files look alike",
                                       false});
        boundaries.push_back(p.boundary);
    }
    if (res.ok()) res.set = std::make_shared<const PolicySet>(std::move(boundaries));
    return res;
}

}  // namespace

LoadResult load_boundaries(const std::vector<std::string>& paths) {
    LoadResult res;
    std::vector<std::pair<std::string, ParsedBoundary>> parsed;
    for (const auto& file : boundary_files(paths, res.diagnostics)) {
        std::ifstream in(file, std::ios::binary);
        std::stringstream text;
        if (in) text << in.rdbuf();
        if (!in || in.bad()) {
            res.diagnostics.push_back({file, 0, 0, std::string("cannot read: ") + std::strerror(errno), true});
            continue;
        }
        ++res.files;
        parsed.emplace_back(file, parse_boundary(file, text.str(), res.diagnostics));
    }
    return assemble(std::move(parsed), std::move(res));
}

LoadResult load_boundary_text(const std::string& file, const std::string& yaml) {
    LoadResult res;
    res.files = 1;
    std::vector<std::pair<std::string, ParsedBoundary>> parsed;
    parsed.emplace_back(file, parse_boundary(file, yaml, res.diagnostics));
    return assemble(std::move(parsed), std::move(res));
}

std::vector<Diagnostic> check_paths(const std::vector<std::string>& paths) {
    return load_boundaries(paths).diagnostics;
}

std::shared_ptr<const PolicySet> load_or_throw(const std::string& dir) {
    auto res = load_boundaries({dir});
    for (auto& d : res.diagnostics)
        if (!d.error) spdlog::warn("{}", d.str());
    if (!res.ok()) throw Error("boundaries in " + dir + " do not load:\n" + format_diagnostics(res.diagnostics));
    return res.set;
}

}  // namespace stockade::policy
