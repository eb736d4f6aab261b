// The judge stage driven with synthetic events: a real process table and policy, a fake Actuator
// that records kills and journal records instead of acting. Shared by the judge's unit tests.
#pragma once

#include <arpa/inet.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../load_boundary.hpp"
#include "identity/process_table.hpp"
#include "journal/record.hpp"
#include "judge/pipeline.hpp"
#include "policy/policy.hpp"

using namespace stockade;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;
constexpr uint32_t kPid = 4'600'001;  // > PID_MAX_LIMIT: never a real process
constexpr uint64_t kStart = 7 * kSec + 123;
constexpr uint64_t kCgroupId = 9001;
const std::string kCgroup = "/stockade/coder/task-1";

// A boundary with every knob set by the caller; paths that cannot exist on the host.
inline std::string boundary_yaml(const std::string& mode, const std::string& on_violation, const std::string& journal) {
    return "agent: coder\n"
           "mode: " + mode + "\n"
           "on_violation: " + on_violation + "\n"
           "journal_allowed: " + journal + "\n"
           "match:\n"
           "  cgroup: /stockade/coder\n"
           "files:\n"
           "  read: [ \"/nonexistent-stockade/repo/**\" ]\n"
           "  write: [ \"/nonexistent-stockade/repo/**\" ]\n"
           "  never: [ \"/nonexistent-stockade/secrets/**\" ]\n"
           "exec:\n"
           "  allow: [ \"/nonexistent-stockade/bin/**\" ]\n"
           "network:\n"
           "  connect:\n"
           "    - cidr: 127.0.0.0/8\n"
           "      ports: 8000\n";
}

inline std::shared_ptr<const policy::PolicySet> load(const std::string& yaml) {
    return stockade::test::load_ok(yaml, "coder.yaml");
}

struct Kill {
    uint32_t pid;
    uint64_t start_ns;
};

// The pipeline with a recording Actuator. Not movable: the Actuator captures `this`.
struct Harness {
    identity::ProcessTable table;
    std::vector<journal::Record> journal;
    std::vector<Kill> kills;
    std::vector<std::string> cgroup_kills;
    std::vector<uint32_t> rule_lookups;
    std::map<uint32_t, std::string> kernel_rules;
    bool kill_ok = true;
    std::string kill_error = "no such process";
    uint64_t now_ns = 0;
    judge::Pipeline pipe;

    explicit Harness(const std::string& yaml) : pipe(table, actuator()) {
        identity::AgentMatch m;
        m.name = "coder";
        m.id = 1;
        m.cgroups = {"/stockade/coder"};
        table.set_agents({m});
        table.bind_cgroup(kCgroupId, kCgroup, "coder", "task-1");
        pipe.set_policy(load(yaml));
    }
    Harness(const Harness&) = delete;
    Harness& operator=(const Harness&) = delete;

    judge::Actuator actuator() {
        judge::Actuator a;
        a.kill_process = [this](uint32_t pid, uint64_t start, std::string& err) {
            kills.push_back({pid, start});
            if (!kill_ok) err = kill_error;
            return kill_ok;
        };
        a.kill_cgroup = [this](const std::string& cg, std::string& err) {
            cgroup_kills.push_back(cg);
            if (!kill_ok) err = kill_error;
            return kill_ok;
        };
        a.journal = [this](journal::Record& r) {  // numbered as the writer numbers them
            r.seq = journal.size() + 1;
            journal.push_back(r);
        };
        a.kernel_rule_id = [this](uint32_t n) {
            rule_lookups.push_back(n);
            auto it = kernel_rules.find(n);
            return it == kernel_rules.end() ? std::string() : it->second;
        };
        a.now_boot_ns = [this] { return now_ns; };
        return a;
    }
};

inline Event base_event(Action a) {
    Event e;
    e.action = a;
    e.pid = e.tid = kPid;
    e.ppid = 4'600'000;
    e.start_ns = kStart;
    e.parent_start_ns = kSec;
    e.cgroup_id = kCgroupId;
    e.uid = 1000;
    e.comm = "python3";
    e.ktime_ns = 20 * kSec;
    return e;
}

inline Event open_event(const std::string& path, uint32_t access = kRead) {
    Event e = base_event(Action::Open);
    e.path = path;
    e.access = access;
    e.result = 3;
    return e;
}

inline Event connect_event(const char* addr, uint16_t port) {
    Event e = base_event(Action::Connect);
    REQUIRE(inet_pton(AF_INET, addr, e.net.bytes) == 1);
    e.net.family = AF_INET;
    e.net.port = port;
    e.net.sotype = SOCK_STREAM;
    return e;
}

const std::string kRepoFile = "/nonexistent-stockade/repo/main.c";
const std::string kSecret = "/nonexistent-stockade/secrets/key";

}  // namespace
