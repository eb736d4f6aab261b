// Shared by the policy unit tests: temporary directories, boundaries from text, events.
#pragma once

#include <arpa/inet.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/event.hpp"
#include "policy/policy.hpp"

namespace stockade::policy::test {

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "stockade-policy-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
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
    std::string write(const std::string& rel, const std::string& text) const {
        auto p = path_ / rel;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p.string();
    }

private:
    std::filesystem::path path_;
};

// The one boundary in `yaml`; fails the test (printing diagnostics) when it does not load.
inline std::shared_ptr<const PolicySet> load_ok(const std::string& yaml, const std::string& file = "t.yaml") {
    auto res = load_boundary_text(file, yaml);
    INFO(format_diagnostics(res.diagnostics));
    REQUIRE(res.ok());
    REQUIRE(res.set);
    REQUIRE(res.set->agents().size() == 1);
    return res.set;
}

inline Event file_event(Action a, std::string path, uint32_t access = 0, std::string path2 = "") {
    Event e;
    e.action = a;
    e.pid = e.tid = 4242;
    e.path = std::move(path);
    e.path2 = std::move(path2);
    e.access = access;
    return e;
}

inline Event open_event(std::string path, uint32_t access) { return file_event(Action::Open, std::move(path), access); }

inline Event net_event(Action a, const std::string& addr, uint16_t port, int sotype = SOCK_STREAM) {
    Event e;
    e.action = a;
    e.pid = e.tid = 4242;
    e.net.port = port;
    e.net.sotype = sotype;
    if (inet_pton(AF_INET, addr.c_str(), e.net.bytes) == 1) e.net.family = AF_INET;
    else if (inet_pton(AF_INET6, addr.c_str(), e.net.bytes) == 1) e.net.family = AF_INET6;
    else FAIL("bad address in test: " << addr);
    return e;
}

// Diagnostics as text, for readable failures.
inline std::string all(const std::vector<Diagnostic>& d) { return format_diagnostics(d); }

}  // namespace stockade::policy::test
