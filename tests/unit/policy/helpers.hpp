// Shared by the policy unit tests: temporary directories, boundaries from text, events.
#pragma once

#include "../load_boundary.hpp"
#include "../temp_dir.hpp"

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

using TempDir = stockade::test::TempDir;

// The one boundary in `yaml`; fails the test (printing diagnostics) when it does not load.
inline std::shared_ptr<const PolicySet> load_ok(const std::string& yaml, const std::string& file = "t.yaml") {
    auto set = stockade::test::load_ok(yaml, file);
    REQUIRE(set->agents().size() == 1);
    return set;
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
