// Tasks: short-lived scopes inside an agent (`stockade task begin`). A task can widen the
// agent's boundary with grants ("read=/data/**", "exec=/usr/bin/curl", "connect=10.0.0.5:443")
// and narrow it with confinements (the task may read only "/repo/docs/**"), for a time limit.
// Tool calls too: "tool=search_*" (MCP tool names) and "http=GET api.example.com/v1/**".
// Grants expire by themselves: after the TTL the same action is a violation again, with no
// reload. Deny beats allow here too: a grant never overrides files.never, exec.deny or
// network.deny.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/event.hpp"
#include "common/verdict.hpp"
#include "policy/boundary.hpp"
#include "policy/task_rules.hpp"

namespace stockade::scope {

struct Grant {
    std::string id;    // "<task>/grant[0]" (or "<task>/confine[0]")
    std::string kind;  // read | write | create | delete | exec | connect | tool | http
    std::string text;  // as given
    bool confine = false;
    std::optional<policy::PathRule> path;  // file and exec kinds
    std::optional<policy::NetRule> net;    // connect
    std::optional<policy::HttpRule> http;  // http: one route (METHOD host/path)
    bool used = false;
    // As given, with its kind: "read=/data/**", "confine connect=10.0.0.0/8:443".
    std::string spec() const { return std::string(confine ? "confine " : "") + kind + "=" + text; }
    bool matches(const Event& e) const;
    // tool: `subject` is the MCP tool name; http: the request's method, host and target.
    bool matches_call(const std::string& kind, const std::string& method, const std::string& host,
                      const std::string& subject) const;
};

struct Task {
    std::string id, agent, label, token;
    uint32_t kernel_id = 0;   // the kernel tag of its processes (its own table entries)
    uint64_t begun_ns = 0;    // CLOCK_BOOTTIME
    uint64_t expires_ns = 0;  // 0 = no TTL
    std::vector<Grant> grants;
    bool expired = false;     // the expiry has been journaled and the kernel entries removed
    bool ended = false;       // `task end`: grants off; kept so its remaining processes stay judged
    bool live(uint64_t now) const { return !expires_ns || now < expires_ns; }
};


// A task as the daemon saves it across restarts (scope/saved_state.hpp): grants as their specs.
struct SavedTask {
    std::string id, agent, label, token;
    uint32_t kernel_id = 0;
    uint64_t begun_ns = 0, expires_ns = 0;  // CLOCK_BOOTTIME: valid until the next boot
    bool expired = false, ended = false;
    struct SavedGrant {
        std::string spec;  // "read=/data/**"
        bool confine = false, used = false;
    };
    std::vector<SavedGrant> grants;
};

class TaskRegistry {
public:
    // What restore() needs to rebuild `t`.
    static SavedTask save(const Task& t);
    // Rebuilds a saved task, its grants parsed again against the agent's boundary in force.
    // Throws stockade::Error naming the spec that no longer parses, or a kernel id in use.
    Task& restore(const policy::Boundary& agent, const SavedTask& saved);
    // Parses the grant specs against the agent's boundary; throws stockade::Error naming the
    // bad spec. ttl_ns 0 = until ended.
    Task& begin(const policy::Boundary& agent, const std::vector<std::string>& grants,
                const std::vector<std::string>& confines, uint64_t ttl_ns, const std::string& label, uint64_t now);
    bool end(const std::string& id, uint64_t now);
    Task* find(const std::string& id);
    const std::map<std::string, Task>& tasks() const { return tasks_; }

    // Tasks whose TTL passed since the last call (marked expired).
    std::vector<Task*> newly_expired(uint64_t now);

    // The verdict after the task's grants (widen, while live) and confinements (narrow).
    // Sets *grant to the grant that allowed the action, if one did.
    Verdict overlay(Task& t, const policy::Boundary& b, const Event& e, Verdict v, uint64_t now, Grant** grant);

    // The same for a tool call: kind "tool" (an MCP tools/call of `subject`) or "http" (a request
    // `method` `host` `subject` = target). A grant never overrides a deny route or an unclear path.
    Verdict overlay_call(Task& t, const policy::Boundary& b, const std::string& kind, const std::string& method,
                         const std::string& host, const std::string& subject, Verdict v, uint64_t now, Grant** grant);

    // What the kernel should hold for every task (an expired or ended one: its tag, no grants).
    std::vector<policy::TaskRules> kernel_grants(uint64_t now) const;

private:
    std::map<std::string, Task> tasks_;
    uint32_t next_kernel_id_ = kFirstKernelId;
    static constexpr uint32_t kFirstKernelId = 512, kLastKernelId = 1023;  // agent ids stay below
};

// The permission kinds an action needs ("read", "write" ...), as the boundary's sections name them.
std::vector<std::string> needed_kinds(const Event& e);

}  // namespace stockade::scope
