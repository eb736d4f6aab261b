// Who did it: a bounded table of processes keyed by (pid, start time), fed by the probe's
// events and, at start-up, by /proc. Each process carries its agent and task, inherited from
// its parent through fork and exec, so a double-forked or reparented child keeps its identity.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/container.hpp"
#include "common/event.hpp"
#include "identity/containers.hpp"

namespace stockade::identity {

// (pid, start time) names one process across pid reuse. Start times are compared in USER_HZ
// ticks because /proc reports them in ticks and the kernel in ns; two processes with the
// same pid starting within 10 ms would need the pid space to wrap in that time.
struct ProcessKey {
    uint32_t pid = 0;
    uint64_t start_ticks = 0;
    bool operator==(const ProcessKey&) const = default;
};
ProcessKey key_of(uint32_t pid, uint64_t start_ns);

struct ProcessKeyHash {
    size_t operator()(const ProcessKey& k) const { return std::hash<uint64_t>()((uint64_t(k.pid) << 40) ^ k.start_ticks); }
};

// How an agent is recognised (from its boundary's `match:`), with the id the kernel tags it by.
struct AgentMatch {
    std::string name;
    uint32_t id = 0;
    std::vector<std::string> units;    // systemd units: "agent-coder.service"
    std::vector<std::string> cgroups;  // cgroup v2 paths relative to the root: "/stockade/coder"
    std::optional<container::Selector> container;  // containers by name, image, labels
    std::optional<std::string> exe;    // narrowing: the executable of the agent's root process
    std::optional<uint32_t> uid;       // narrowing
};

struct Process {
    ProcessKey key;
    uint64_t start_ns = 0;
    ProcessKey parent;
    uint32_t ppid = 0;
    uint32_t uid = 0, gid = 0;
    std::string exe;
    std::vector<std::string> argv;
    std::string comm;
    uint64_t cgroup_id = 0;
    std::string cgroup;  // v2 path, when known
    std::shared_ptr<const container::Info> container;  // the container it runs in, if any
    std::string agent;   // "" = not an agent process
    uint32_t agent_id = 0;
    std::string task;
    std::string exec_id;  // unique on the host, changes at every exec
    bool exited = false;
    uint64_t exited_at_ns = 0;
};

class ProcessTable {
public:
    explicit ProcessTable(size_t max_processes = 65536);

    void set_agents(std::vector<AgentMatch> agents);  // on (re)load
    const std::vector<AgentMatch>& agents() const { return agents_; }
    const AgentMatch* agent_by_id(uint32_t id) const;
    const AgentMatch* agent_by_name(const std::string& name) const;

    // Registers the cgroup a launcher created for an agent (and optionally a task).
    void bind_cgroup(uint64_t cgroup_id, const std::string& path, const std::string& agent, const std::string& task);
    void unbind_cgroup(uint64_t cgroup_id);
    // Records the path of a cgroup id (a discovered unit), so its processes match by path.
    void note_cgroup(uint64_t cgroup_id, const std::string& path) { cgroup_paths_[cgroup_id] = path; }

    // The container of a cgroup path, described by its runtime (null: none, or not known yet).
    std::shared_ptr<const container::Info> container_of(const std::string& cgroup_path);
    // The first agent whose match.container selects the container (null: none).
    const AgentMatch* agent_of_container(const container::Info& c) const;
    void forget_container(const std::string& id) { containers_.forget(id); }
    // Where the runtimes keep their files (the daemon's configuration; tests point elsewhere).
    void set_runtime_paths(RuntimePaths paths) { containers_ = ContainerDirectory(std::move(paths)); }

    // Updates the table with one event; returns the process it is attributed to (never null).
    const Process& apply(const Event& e);

    const Process* find(uint32_t pid, uint64_t start_ns) const;
    const Process* find_live_pid(uint32_t pid) const;  // the live process with this pid, if any

    // Adds a process seen in /proc (daemon start). Returns it; agent attributed as for events.
    const Process& adopt(const Process& p);

    // Drops processes that exited more than grace_ns before now_ns; enforces the size bound.
    void reap(uint64_t now_ns, uint64_t grace_ns = 5'000'000'000ull);

    size_t size() const { return procs_.size(); }
    size_t tracked_count(const std::string& agent) const;

private:
    Process& get_or_create(const Event& e);
    void attribute(Process& p);
    std::string cgroup_path(uint64_t cgroup_id);

    struct Binding {
        std::string path, agent, task;
    };
    size_t max_;
    std::vector<AgentMatch> agents_;
    std::unordered_map<ProcessKey, Process, ProcessKeyHash> procs_;
    std::unordered_map<uint64_t, Binding> bindings_;
    std::unordered_map<uint64_t, std::string> cgroup_paths_;  // id -> path cache
    ContainerDirectory containers_;
    uint64_t exec_seq_ = 0;
};

// exec ids: "<first 8 hex of the boot id>-<pid>-<start ticks>-<exec seq>".
std::string boot_id_prefix();

}  // namespace stockade::identity
