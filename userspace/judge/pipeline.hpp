// The event path: kernel event -> identity -> one judge per kind of event (actions, tool calls
// over stdio, HTTP requests) -> conclude() (kill, journal, counters). The probe's EventSink.
// Drivable without a kernel: unit tests feed it synthetic events and a fake Actuator.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/event.hpp"
#include "enforce/mutation_gate.hpp"
#include "identity/process_table.hpp"
#include "journal/record.hpp"
#include "judge/actuator.hpp"
#include "judge/conclude.hpp"
#include "judge/counters.hpp"
#include "judge/intent.hpp"
#include "policy/policy.hpp"
#include "probe/probe.hpp"
#include "scope/sequences.hpp"
#include "scope/tasks.hpp"
#include "tools/http_connection.hpp"
#include "tools/llm.hpp"
#include "tools/mcp.hpp"

namespace stockade::judge {

class Pipeline : public probe::EventSink {
public:
    Pipeline(identity::ProcessTable& table, Actuator act);
    Pipeline(const Pipeline&) = delete;  // its Conclusion refers to its own members
    Pipeline& operator=(const Pipeline&) = delete;

    void set_policy(std::shared_ptr<const policy::PolicySet> set) { set_ = std::move(set); }
    // stockade's own directories: an agent that writes, creates, renames or deletes below them is
    // killed whatever its mode ("builtin:self-protection").
    void set_protected(std::vector<std::string> dirs) { protected_ = std::move(dirs); }
    // Tasks whose grants and confinements apply to their processes (may be null).
    void set_tasks(scope::TaskRegistry* tasks) { tasks_ = tasks; }
    const std::shared_ptr<const policy::PolicySet>& policy() const { return set_; }

    void on_event(const Event& e) override;
    // A launched agent's syscall held before it runs (enforce/mutation_gate.hpp): its actions
    // judged as they would be after it. Returns 0 to let it run, or `refuse_errno` after
    // journaling the refusal (refused-before-syscall). `agent` and `task` are the launch's, for a
    // process the table has not seen yet (its fork record may still be in the ring).
    int judge_before(const std::vector<Event>& actions, int refuse_errno, const std::string& agent,
                     const std::string& task);
    enforce::MutationGate::Judge gate_judge() {
        return [this](const enforce::Notice& n, const std::string& agent, const std::string& task) {
            return judge_before(n.actions, n.refuse_errno, agent, task);
        };
    }
    void on_bad_record(const std::string& why) override;

    // Journals one "summary" record per agent with allowed actions counted since the last one,
    // and the counts of violations held back by the repeat limiter.
    void flush_summaries();
    // Journals the kernel's losses since the last call: one "lost" record per agent (or task)
    // that lost records, saying what its on_loss did, and one without an agent for any part of
    // `total` no agent accounts for.
    struct AgentLoss {
        std::string agent, task;
        uint64_t count = 0;
    };
    void journal_lost(uint64_t total, const std::vector<AgentLoss>& per_agent);

    const std::map<std::string, AgentCounters>& counters() const { return counters_; }
    // on_violation: ask (judge/conclude.hpp): what waits for a person, and the decisions.
    const ApprovalQueue& approvals() const { return conclusion_.approvals(); }
    std::string decide(uint64_t id, bool approve, const std::string& approver) {
        return conclusion_.decide(id, approve, approver);
    }
    size_t expire_approvals(uint64_t now_ns) { return conclusion_.expire_approvals(now_ns); }
    uint64_t events() const { return events_; }
    uint64_t bad_records() const { return bad_records_; }

private:
    journal::Record record_for(const Event& e, const identity::Process& p) const;
    void judge_event(const Event& e, const identity::Process& p);
    void settle_hold(const Event& e, const identity::Process& p);

    // File, exec and network actions (judge_actions.cpp).
    void judge_action(const Event& e, const identity::Process& p, const policy::Boundary& b, AgentCounters& c);
    std::optional<Verdict> self_protection(const Event& e) const;
    Verdict scoped(const Event& e, const identity::Process& p, const policy::Boundary& b, Verdict v,
                   std::string& grant, std::string& chain);
    void count_action(const Event& e, const Verdict& v, AgentCounters& c) const;
    void attach_labels(const Event& e, const identity::Process& p, const policy::Boundary& b);
    void label_from_data(const Event& e, const identity::Process& p, const policy::Boundary& b);
    std::string chain_for(const identity::Process& p, const std::string& sequence_id) const;
    std::string note_grant(const identity::Process& p, const scope::Task& t, scope::Grant& g);
    Verdict task_call_overlay(const identity::Process& p, const policy::Boundary& b, const std::string& kind,
                              const std::string& method, const std::string& host, const std::string& subject,
                              Verdict v, std::string& grant);

    // Tool calls over stdio (judge_tools.cpp).
    void handle_io(const Event& e, const identity::Process& p);
    void server_killed_in_kernel(const Event& e, const identity::Process& p);
    void judge_tool_call(const Event& e, const identity::Process& p, const tools::McpMessage& m);
    void answer_tool_call(const Event& e, const identity::Process& p, const tools::McpMessage& m);
    struct PendingCall {
        tools::McpMessage request;
        uint32_t pid = 0;
        uint64_t at_ns = 0;
        journal::Record base;
    };
    tools::McpStreams mcp_;
    tools::McpStreams mcp_reads_;  // what held servers read: a call judged before the server runs it
    void judge_read_calls(const Event& e, const identity::Process& p);
    std::map<uint64_t, std::pair<uint32_t, std::string>> pipe_readers_;  // inode -> reader pid, "exe argv"
    std::map<std::pair<std::string, std::string>, PendingCall> pending_calls_;  // (agent, id)
    // (agent, request id) -> verdict, rule
    std::map<std::pair<std::string, std::string>, std::pair<journal::Verdict, std::string>> judged_;
    std::set<std::pair<std::string, std::string>> calls_stopped_at_read_;  // (agent, id) denied at a held read

    // HTTP requests (judge_http.cpp), by (pid, tls, socket inode or SSL object).
    using HttpKey = std::tuple<uint32_t, bool, uint64_t>;
    struct PendingHttp {
        journal::Record record;  // journaled when the response arrives
        uint64_t at_ns = 0;
        bool journaled = false;  // a violation, journaled at once: kept only to pair responses in order
        std::optional<tools::LlmRequest> llm;  // a model API call: an llm record at its response
        std::string prompt;                     // its body, when the boundary keeps prompts
    };
    struct HttpConn {
        tools::HttpConnection wire;
        std::deque<PendingHttp> pending;  // requests waiting for their response, in order
    };
    static constexpr size_t kMaxHttpConns = 4096;
    bool is_http(const Event& e) const;
    void handle_http(const Event& e, const identity::Process& p);
    void judge_http(const Event& e, const identity::Process& p, HttpConn& conn, bool tls,
                    const tools::HttpRequest& req);
    journal::Record http_record(const Event& e, const identity::Process& p, bool tls,
                                const tools::HttpRequest& req) const;
    Verdict judge_http_route(const policy::Boundary& b, const tools::HttpRequest& req) const;
    void judge_http_tool_call(const identity::Process& p, const policy::Boundary& b, const std::string& url,
                              const tools::HttpRequest& req, journal::Record& r, Verdict& v, std::string& grant);
    void flush_http(HttpConn& conn, const std::string& why);
    void answer_http(const Event& e, const identity::Process& p, HttpConn& conn, const tools::HttpResponse& resp);
    void forget_http(const Event& exit, const identity::Process& p);

    // Model calls and intent (judge_llm.cpp).
    void journal_llm(const identity::Process& p, const PendingHttp& pend,
                     const journal::Record& http, const tools::HttpResponse& resp);
    // Sets r.intent (and intent_seq) for an action of an agent that calls models, and counts it.
    void mark_intent(journal::Record& r, const std::optional<Intent>& i, AgentCounters& c) const;
    void count_intent_denied(const journal::Record& r, const Verdict& v, AgentCounters& c) const;
    IntentBook intents_;
    std::map<HttpKey, HttpConn> http_conns_;

    // TLS stacks seen, and TLS no uprobe saw (judge_tls.cpp).
    static constexpr const char* kUnseenTls = "unseen (a ClientHello from a TLS stack stockade does not probe)";
    void count_tls_stack(const Event& e, AgentCounters& c);
    void judge_unseen_tls(const Event& e, const identity::Process& p, const policy::Boundary& b);

    // Syscalls judge_before() refused: their failure, when the probes report it, is not judged again.
    bool refused_before(const Event& e);
    std::map<uint32_t, Action> refused_;  // tid -> the action refused

    identity::ProcessTable& table_;
    Actuator act_;
    std::shared_ptr<const policy::PolicySet> set_;
    std::vector<std::string> protected_;
    scope::TaskRegistry* tasks_ = nullptr;
    scope::SequenceTracker sequences_;
    std::map<std::string, AgentCounters> counters_;
    Conclusion conclusion_{act_, counters_};
    uint64_t events_ = 0, bad_records_ = 0;
};

}  // namespace stockade::judge
