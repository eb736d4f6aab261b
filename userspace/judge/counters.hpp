// What the daemon counts per agent (`stockade agents show`, the metrics), bounded in memory.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace stockade::judge {

// A count per key, holding at most kMaxKeys keys (later keys are counted under "(other)"), so
// an agent touching a million files costs a bounded amount of memory.
struct BoundedCounts {
    static constexpr size_t kMaxKeys = 256;
    std::map<std::string, uint64_t> counts;
    void add(const std::string& key, uint64_t n = 1);
};

struct AgentCounters {
    uint64_t events = 0, allowed = 0, violations = 0, kills = 0, denies = 0;
    uint64_t asks = 0;  // violations held for approval (on_violation: ask)
    std::map<std::string, uint64_t> allowed_by_action;  // since the last summary
    // What `stockade agents show` answers: tools (executables) run and refused, files and
    // destinations touched, rules that decided.
    BoundedCounts tools_invoked, tools_denied, files, files_denied, destinations, destinations_denied, rules;
    BoundedCounts mcp_offered, mcp_called;  // "server: tool" (tools/list results, tools/call requests)
    BoundedCounts mcp_denied;               // "server: tool" of calls outside the boundary
    BoundedCounts http_calls, http_denied;  // "METHOD https://host/path"
    BoundedCounts tls_stacks;               // TLS records per stack seen ("openssl", "go crypto/tls"), and unseen hellos
    // Each of these is also counted as "task <id>: <key>" when the process works for a task.
    void add_tool(BoundedCounts AgentCounters::*which, const std::string& task, const std::string& key) {
        (this->*which).add(key);
        if (!task.empty()) (this->*which).add("task " + task + ": " + key);
    }
    // Model calls and the intent behind actions: "model calls", "tokens in", "tokens out", "tool
    // uses requested", "actions with intent", "actions without intent", "... denied", and
    // "calls PROVIDER MODEL".
    BoundedCounts llm;
    BoundedCounts actions;                  // events by action
    BoundedCounts grants_used;              // "task/grant[N] kind=pattern"
};

}  // namespace stockade::judge
