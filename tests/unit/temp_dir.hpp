// A fresh directory under the system temp dir for a unit test, removed with everything in it.
// Shared by the stages' helpers.hpp.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace stockade::test {

class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "stockade-unit-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + " failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string path() const { return path_.string(); }
    std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }
    std::string file(const std::string& name) const { return *this / name; }
    // Writes `text` to a file below the directory (parents made); returns its path.
    std::string write(const std::string& rel, const std::string& text = "x") const {
        auto p = path_ / rel;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p.string();
    }

private:
    std::filesystem::path path_;
};

}  // namespace stockade::test
