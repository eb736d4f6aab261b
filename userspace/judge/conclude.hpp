// The one place an event's judgement ends: every kind of event (a file, exec or network action,
// an MCP tool call, an HTTP request) is judged into a (record, verdict) pair, and conclude()
// acts on it: the kill (in the kernel already, or by the daemon), the journal record (through
// the repeat limiter for violations) and the agent's counters.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "common/event.hpp"
#include "common/verdict.hpp"
#include "identity/process_table.hpp"
#include "journal/record.hpp"
#include "judge/actuator.hpp"
#include "judge/approvals.hpp"
#include "judge/counters.hpp"
#include "policy/boundary.hpp"

namespace stockade::judge {

// What an allowed action leaves in the journal.
enum class IfAllowed {
    Journal,    // a record of its own (journal_allowed: full, or a task's grant let it through)
    Hold,       // filled in and kept by the caller, journaled later (an HTTP request, at its response)
    Summarise,  // counted in the next summary record (journal_allowed: summary)
    Nothing,    // no record (journal_allowed: none)
};

// One judged event.
struct Judged {
    const Event& event;
    const identity::Process& process;
    const policy::Boundary& boundary;  // its mode and on_violation decide the enforcement
    Verdict verdict;
    journal::Record record;
    IfAllowed if_allowed = IfAllowed::Nothing;
    // A tool call over stdio: the server about to read it is stopped before the caller.
    const identity::Process* server = nullptr;  // live, when known
    bool server_stopped_in_kernel = false;  // a denied tool the kernel refuses at the server's read
    bool server_stopped_while_held = false; // the server's held read was judged first (its own record)
    AgentCounters* counters = nullptr;      // the agent's, when the caller has them at hand
};

class Conclusion {
public:
    Conclusion(const Actuator& act, std::map<std::string, AgentCounters>& counters) : act_(act), counters_(counters) {}

    // Acts on one judged event. Returns false when a violation repeated beyond the limit was
    // counted but not journaled one by one.
    bool conclude(Judged& j);
    // An allowed action with no record of its own (summary or none): only counted. The hot path,
    // most events take it, so it builds no record.
    void count_allowed(AgentCounters& c, const Verdict& v, IfAllowed how, Action action);
    // Journals the counts of violations held back by the repeat limiter.
    void flush_repeats();
    // Whether the process of `e` was killed (by the kernel or the daemon) for this or an earlier event.
    bool killed(const Event& e) const { return already_killed(e); }
    void note_killed(const Event& e);

    // on_violation: ask. The actions waiting for a person, and their decision: approve releases
    // the held process, deny refuses a held connect (its socket shut down, the process runs on)
    // or kills the process where it stopped. `approver` says who decided ("timeout" for the
    // boundary's approval_timeout). Returns "" or why nothing was decided.
    const ApprovalQueue& approvals() const { return approvals_; }
    std::string decide(uint64_t id, bool approve, const std::string& approver);
    // Denies every approval whose deadline has passed; returns how many.
    size_t expire_approvals(uint64_t now_ns);
    // Whether the process still has an action waiting (its hold must not be released).
    bool awaiting(const Event& e) const { return approvals_.waiting(e.pid, e.start_ns); }
    // The process ended (it was killed, or a hold was broken): its approvals are journaled as moot.
    void process_ended(const Event& e, const std::string& why);

private:
    void enforce(Judged& j, AgentCounters& c);
    bool ask(Judged& j, AgentCounters& c);
    bool refuse_held_connect(Judged& j, AgentCounters& c);
    void journal_decision(Approval& a, journal::Verdict verdict, const std::string& approver,
                          journal::Enforcement enforcement, const std::string& detail);
    void stop_server(Judged& j);
    bool journal_violation(const Event& e, journal::Record& r);

    // Violations repeated by one process: see journal_violation() in conclude.cpp.
    struct Repeat {
        uint64_t window_ns = 0, last_time_ns = 0;
        uint32_t in_window = 0;
        uint64_t suppressed = 0;
        journal::Record first;  // the first record not journaled one by one
    };
    static constexpr uint32_t kRepeatFull = 20;
    static constexpr uint64_t kRepeatWindowNs = 1'000'000'000;
    static constexpr size_t kMaxRepeatKeys = 4096;
    void flush_repeat(Repeat& rep);
    // Processes (pid, start) already killed, by the kernel or the daemon: their records still in
    // the ring are journaled as `already-killed`, not as kills that failed (the pid is gone).
    bool already_killed(const Event& e) const { return killed_.count({e.pid, e.start_ns}) > 0; }
    static constexpr size_t kMaxKilled = 4096;

    const Actuator& act_;
    std::map<std::string, AgentCounters>& counters_;
    std::map<std::string, Repeat> repeats_;
    std::set<std::pair<uint32_t, uint64_t>> killed_;
    ApprovalQueue approvals_;
};

}  // namespace stockade::judge
