// The event path inside the daemon: kernel event -> identity -> verdict -> action -> journal.
// Drivable without a kernel: unit tests feed it synthetic events and a fake Actuator.
#pragma once

#include <cstdint>
#include <deque>
#include <tuple>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>
#include <string>

#include "common/event.hpp"
#include "daemon/http.hpp"
#include "daemon/mcp.hpp"
#include "daemon/sequences.hpp"
#include "daemon/tasks.hpp"
#include "identity/process_table.hpp"
#include "journal/record.hpp"
#include "policy/policy.hpp"
#include "probe/probe.hpp"

namespace stockade::daemon {

// What the pipeline needs from the outside world; the daemon wires real kills and the journal.
struct Actuator {
    std::function<bool(uint32_t pid, uint64_t start_ns, std::string& err)> kill_process;
    std::function<bool(const std::string& cgroup, std::string& err)> kill_cgroup;
    std::function<void(journal::Record&)> journal;                   // appends (fills chain fields)
    std::function<std::string(uint32_t kernel_rule)> kernel_rule_id;  // "" if unknown
    std::function<uint64_t()> now_boot_ns;                            // CLOCK_BOOTTIME
    // Tells the kernel a process carries a sequence's label (optional: tests may leave it empty).
    std::function<void(uint32_t pid, const std::string& sequence_id)> label_process;
    // The kernel tracked a cgroup made with an agent's unit or cgroup name (optional).
    std::function<void(const std::string& path, uint32_t agent_id, uint64_t cgroup_id)> cgroup_created;
};

// A count per key, holding at most kMaxKeys keys (later keys are counted under "(other)"), so
// an agent touching a million files costs a bounded amount of memory.
struct BoundedCounts {
    static constexpr size_t kMaxKeys = 256;
    std::map<std::string, uint64_t> counts;
    void add(const std::string& key);
};

struct AgentCounters {
    uint64_t events = 0, allowed = 0, violations = 0, kills = 0, denies = 0;
    std::map<std::string, uint64_t> allowed_by_action;  // since the last summary
    // What `stockade agents show` answers: tools (executables) run and refused, files and
    // destinations touched, rules that decided.
    BoundedCounts tools_invoked, tools_denied, files, files_denied, destinations, destinations_denied, rules;
    BoundedCounts mcp_offered, mcp_called;  // "server: tool" (tools/list results, tools/call requests)
    BoundedCounts mcp_denied;               // "server: tool" of calls outside the boundary
    BoundedCounts http_calls, http_denied;  // "METHOD https://host/path"
    // Each of these is also counted as "task <id>: <key>" when the process works for a task.
    void add_tool(BoundedCounts AgentCounters::*which, const std::string& task, const std::string& key) {
        (this->*which).add(key);
        if (!task.empty()) (this->*which).add("task " + task + ": " + key);
    }
    BoundedCounts actions;                  // events by action
    BoundedCounts grants_used;              // "task/grant[N] kind=pattern"
};

class Pipeline : public probe::EventSink {
public:
    Pipeline(identity::ProcessTable& table, Actuator act);

    void set_policy(std::shared_ptr<const policy::PolicySet> set) { set_ = std::move(set); }
    // stockade's own directories: an agent that writes, creates, renames or deletes below them is
    // killed whatever its mode ("builtin:self-protection").
    void set_protected(std::vector<std::string> dirs) { protected_ = std::move(dirs); }
    // Tasks whose grants and confinements apply to their processes (may be null).
    void set_tasks(TaskRegistry* tasks) { tasks_ = tasks; }
    const std::shared_ptr<const policy::PolicySet>& policy() const { return set_; }

    void on_event(const Event& e) override;
    void on_bad_record(const std::string& why) override;

    // Journals one "summary" record per agent with allowed actions counted since the last one.
    void flush_summaries();
    // Journals a "lost" record: the kernel could not deliver `count` events.
    void journal_lost(uint64_t count);

    const std::map<std::string, AgentCounters>& counters() const { return counters_; }
    uint64_t events() const { return events_; }
    uint64_t bad_records() const { return bad_records_; }

private:
    journal::Record record_for(const Event& e, const identity::Process& p) const;
    std::optional<Verdict> self_protection(const Event& e) const;
    void attach_labels(const Event& e, const identity::Process& p, const policy::Boundary& b);
    std::string chain_for(const identity::Process& p, const std::string& sequence_id) const;
    void enforce(const Event& e, const identity::Process& p, const policy::Boundary& b, Verdict& v,
                 journal::Record& r);
    // Violations repeated by one process: see journal_violation() in pipeline.cpp.
    struct Repeat {
        uint64_t window_ns = 0, last_time_ns = 0;
        uint32_t in_window = 0;
        uint64_t suppressed = 0;
        journal::Record first;  // the first record not journaled one by one
    };
    static constexpr uint32_t kRepeatFull = 20;
    static constexpr uint64_t kRepeatWindowNs = 1'000'000'000;
    static constexpr size_t kMaxRepeatKeys = 4096;
    bool journal_violation(const Event& e, journal::Record& r);  // false: counted, not journaled
    void flush_repeat(Repeat& rep);
    std::map<std::string, Repeat> repeats_;
    std::string note_grant(const identity::Process& p, const Task& t, Grant& g);
    Verdict task_call_overlay(const identity::Process& p, const policy::Boundary& b, const std::string& kind,
                              const std::string& method, const std::string& host, const std::string& subject,
                              Verdict v, std::string& grant);

    identity::ProcessTable& table_;
    Actuator act_;
    std::shared_ptr<const policy::PolicySet> set_;
    std::vector<std::string> protected_;
    TaskRegistry* tasks_ = nullptr;
    SequenceTracker sequences_;
    // Tool calls over stdio.
    void handle_io(const Event& e, const identity::Process& p);
    void judge_tool_call(const Event& e, const identity::Process& p, const McpMessage& m);
    std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> judged_;  // -> verdict, rule
    struct PendingCall {
        McpMessage request;
        uint32_t pid = 0;
        uint64_t at_ns = 0;
        journal::Record base;
    };
    McpStreams mcp_;
    std::map<uint64_t, std::pair<uint32_t, std::string>> pipe_readers_;  // inode -> reader pid, "exe argv"
    std::map<std::pair<std::string, std::string>, PendingCall> pending_calls_;  // (agent, id)
    // HTTP requests (plaintext sockets and TLS), by (pid, tls, socket inode or SSL object).
    using HttpKey = std::tuple<uint32_t, bool, uint64_t>;
    struct PendingHttp {
        journal::Record record;  // journaled when the response arrives
        uint64_t at_ns = 0;
        bool journaled = false;  // a violation, journaled at once: kept only to pair responses in order
    };
    struct HttpConn {
        HttpStream requests{HttpStream::Direction::Requests};
        HttpStream responses{HttpStream::Direction::Responses};
        std::deque<PendingHttp> pending;  // allowed requests waiting for their response, in order
    };
    static constexpr size_t kMaxHttpConns = 4096;
    bool is_http(const Event& e) const;
    void handle_http(const Event& e, const identity::Process& p);
    void judge_http(const Event& e, const identity::Process& p, HttpConn& conn, bool tls, const HttpRequest& req);
    void flush_http(HttpConn& conn, const std::string& why);
    void answer_http(const Event& e, const identity::Process& p, HttpConn& conn, const HttpResponse& resp);
    void forget_http(const Event& exit, const identity::Process& p);
    std::map<HttpKey, HttpConn> http_conns_;

    std::map<std::string, AgentCounters> counters_;
    uint64_t events_ = 0, bad_records_ = 0;
};

}  // namespace stockade::daemon
