// Shared by the journal unit tests: a temporary directory and small file helpers.
#pragma once

#include "../temp_dir.hpp"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "journal/writer.hpp"

namespace jtest {

using TempDir = stockade::test::TempDir;

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void write_file(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
}

// Lines without their '\n'; a last line without newline is kept as is.
inline std::vector<std::string> lines_of(const std::string& data) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t nl; (nl = data.find('\n', start)) != std::string::npos; start = nl + 1)
        out.push_back(data.substr(start, nl - start));
    if (start < data.size()) out.push_back(data.substr(start));
    return out;
}

inline std::string join_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (auto& l : lines) out += l + "\n";
    return out;
}

// Options for tests: no fsync, no journald, no chown.
inline stockade::journal::WriterOptions test_options(const std::string& path) {
    stockade::journal::WriterOptions o;
    o.path = path;
    o.fsync = stockade::journal::FsyncPolicy::Never;
    o.mirror = stockade::journal::MirrorPolicy::Off;
    o.group = "";
    return o;
}

inline stockade::journal::Record decision(const std::string& agent, const std::string& verdict,
                                          const std::string& path) {
    stockade::journal::Record r;
    r.agent = agent;
    r.task = "task-1";
    r.action = "open";
    r.access = "read";
    r.path = path;
    r.verdict = stockade::journal::verdict_from(verdict).value();
    r.rule = "fs.read";
    r.pid = 42;
    return r;
}

// Writes n decisions and returns the journal's content.
inline std::string write_records(const std::string& path, int n) {
    stockade::journal::Writer w(test_options(path));
    for (int i = 0; i < n; ++i) {
        auto r = decision("agent-" + std::to_string(i % 3), i % 2 ? "deny" : "allow",
                          "/srv/file" + std::to_string(i));
        w.append(r);
    }
    return read_file(path);
}

}  // namespace jtest
