// The daemon's local API: one request and one response per connection on a unix socket, each
// a line of JSON written with cereal. The socket is 0660 root:<socket_group>; the daemon checks
// the peer's credentials (SO_PEERCRED) and lets only root change anything.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace stockade::control {

struct Request {
    std::string op;  // status | agents | landlock | run | reload | task-begin | task-end | task-list | approvals | approve | deny
    std::string agent;
    std::string task;
    uint32_t pid = 0;  // run: the launcher's own pid, moved into the agent's scope
    std::vector<std::string> grants, confines;  // task-begin: "read=/data/**" ...
    uint64_t ttl_ms = 0;                        // task-begin: 0 = until ended
    std::string label;                          // task-begin
    std::string token;                          // run --task: the task's token, when given
    uint64_t approval = 0;                      // approve, deny: the approval id
    int32_t notify_fd = -1;  // run: the launcher's seccomp listener, by its number in process `pid`
};

// approvals: an action held for a person (on_violation: ask).
struct ApprovalInfo {
    uint64_t id = 0;
    std::string agent, task, action, object, rule;  // object: the path, or address:port
    uint32_t pid = 0;
    std::string exe;
    uint64_t age_ms = 0, expires_in_ms = 0;  // since it was held; until the timeout denies it
};
std::string encode(const std::vector<ApprovalInfo>& approvals);
std::vector<ApprovalInfo> decode_approvals(const std::string& json);

struct TaskInfo {
    std::string id, agent, label, state;  // state: live | expired | ended
    int64_t expires_in_ms = -1;           // -1 = no TTL
    std::vector<std::string> grants;      // "read=/data/** (used)" ...
    std::string token;                    // task-begin only
};
std::string encode(const std::vector<TaskInfo>& tasks);
std::vector<TaskInfo> decode_tasks(const std::string& json);

struct Response {
    bool ok = true;
    std::string error;  // a sentence, when !ok
    std::string body;   // op specific; status and agents: a JSON document
};

struct AgentStatus {
    std::string name, mode, file, on_violation;
    uint64_t tracked = 0, events = 0, allowed = 0, violations = 0, kills = 0, denies = 0;
    bool exec_in_kernel = false, net_in_kernel = false, files_in_kernel = false, http_in_kernel = false;
    std::vector<std::string> userspace_only;  // rules only userspace can decide
    // When a violation is stopped (enforce/stop_timing.hpp): the kinds of action stopped before
    // they happen, at their syscall's exit, and not at all; and the full explanation.
    std::vector<std::string> stops_before, stops_at_exit, stops_after;
    std::string stop_details;
    // Since the daemon started (bounded; see judge/pipeline.hpp):
    std::map<std::string, uint64_t> tools_invoked, tools_denied, files, files_denied, destinations,
        destinations_denied, rules, mcp_offered, mcp_called, mcp_denied, http_calls, http_denied, tls_stacks;
    std::map<std::string, uint64_t> actions;      // events by action (exec, open, connect ...)
    std::map<std::string, uint64_t> grants_used;  // task grants that allowed actions, with counts
    std::map<std::string, uint64_t> llm;  // model calls, tokens, intents (judge/counters.hpp)
};

struct Status {
    uint32_t pid = 0;
    std::string version;
    std::string features;
    std::vector<std::string> programs;  // attached BPF programs
    std::vector<AgentStatus> agents;
    uint64_t events = 0, events_per_s = 0, lost = 0, kernel_kills = 0, kernel_denies = 0, bad_records = 0;
    uint64_t ring_pending = 0, ring_size = 0;  // ring buffer fill at the last kernel submit
    std::string journal_path;
    uint64_t journal_bytes = 0;
    std::string agents_dir;
    std::string last_reload;  // "ok" or the error of the last failed reload
    bool reloading = false;   // the boundary files are being read (off the loop) for a reload
};

std::string encode(const Request& r);
std::string encode(const Response& r);
std::string encode(const Status& s);
Request decode_request(const std::string& line);    // throws stockade::Error
Response decode_response(const std::string& line);  // throws stockade::Error
Status decode_status(const std::string& json);      // throws stockade::Error

// Connects, sends, waits up to timeout_ms for the answer. Throws stockade::Error saying the
// daemon is not running (and where it looked) when the socket is absent or refuses.
Response call(const std::string& socket_path, const Request& req, int timeout_ms = 5000);

}  // namespace stockade::control
