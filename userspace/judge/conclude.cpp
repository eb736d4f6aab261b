#include "judge/conclude.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

namespace stockade::judge {

namespace {

// What the log line names as the object: a path, a tool, or an address.
std::string object_of(const journal::Record& r) {
    if (!r.tool.empty() && r.address.empty()) return "tool " + r.tool;  // over stdio
    if (!r.path.empty() && r.address.rfind("http", 0) == 0) return r.address + r.path;
    if (!r.path.empty()) return r.path;
    return r.address + ":" + std::to_string(r.port);
}

}  // namespace

bool Conclusion::conclude(Judged& j) {
    auto& c = j.counters ? *j.counters : counters_[j.process.agent];
    journal::Record& r = j.record;
    const Verdict& v = j.verdict;
    if (v.inside() && j.if_allowed != IfAllowed::Journal && j.if_allowed != IfAllowed::Hold) {
        count_allowed(c, v, j.if_allowed, j.event.action);
        return true;
    }
    // Held by the kernel until now: the verdict came before the process ran on.
    if (j.event.held) {
        uint64_t now = act_.now_boot_ns();
        r.held_us = now > j.event.ktime_ns ? static_cast<int64_t>((now - j.event.ktime_ns) / 1000) : 0;
    }
    c.rules.add(v.rule_id);
    if (v.inside()) {
        ++c.allowed;
        r.rule = v.rule_id;
        r.resolved = v.resolved;
        r.verdict = journal::Verdict::Allow;
        if (j.if_allowed == IfAllowed::Journal) act_.journal(r);
        return true;
    }
    r.rule = v.rule_id;
    r.resolved = v.resolved;
    ++c.violations;
    enforce(j, c);
    r.verdict = r.approval                                                ? journal::Verdict::Ask
                : r.enforcement == journal::Enforcement::RefusedWhileHeld ||
                        r.enforcement == journal::Enforcement::RefusedBeforeSyscall
                    ? journal::Verdict::Deny
                                                                          : journal::verdict_of(v.decision);
    if (!journal_violation(j.event, r)) return false;  // a repeat beyond the limit: counted, journaled in sum
    spdlog::warn("agent={} task={} pid={} {} {} -> {} ({}){}", j.process.agent,
                 j.process.task.empty() ? "-" : j.process.task, j.event.pid, r.action, object_of(r),
                 journal::to_string(r.verdict), r.rule,
                 r.enforcement.empty() ? "" : " " + journal::to_string(r.enforcement));
    return true;
}

void Conclusion::count_allowed(AgentCounters& c, const Verdict& v, IfAllowed how, Action action) {
    c.rules.add(v.rule_id);
    ++c.allowed;
    if (how == IfAllowed::Summarise) ++c.allowed_by_action[std::string(to_string(action))];
}

// The kill the verdict asks for, or the record of the kernel's own. Monitor mode and flag
// journal only.
void Conclusion::enforce(Judged& j, AgentCounters& c) {
    const Event& e = j.event;
    const identity::Process& p = j.process;
    const policy::Boundary& b = j.boundary;
    journal::Record& r = j.record;
    if (e.kernel_action == KernelAction::Killed) {
        r.enforcement = journal::Enforcement::KilledInKernel;
        r.latency_us = 0;
        ++c.kills;
        note_killed(e);
        // The process is dead already: only the rest of the agent (its cgroup) is left to kill.
        if (b.on_violation != OnViolation::KillAgent || p.cgroup.empty()) return;
    } else if (e.kernel_action == KernelAction::Refused) {
        // Nothing happened. `refuse` and `ask` end there; `kill` and `kill-agent` still stop the
        // process (or agent) that tried: killed in its wait, it never sees the syscall return.
        r.enforcement = journal::Enforcement::RefusedBeforeSyscall;
        r.latency_us = 0;
        ++c.denies;
        if (b.on_violation == OnViolation::Refuse || b.on_violation == OnViolation::Ask) return;
    } else if (e.kernel_action == KernelAction::Denied) {
        r.enforcement = b.on_violation == OnViolation::Refuse ? journal::Enforcement::RefusedInKernel
                                                              : journal::Enforcement::DeniedInKernel;
        r.latency_us = 0;
        ++c.denies;
        return;
    }
    if (j.verdict.decision != Decision::Kill) return;
    if (e.kernel_action == KernelAction::None && already_killed(e)) {
        r.enforcement = journal::Enforcement::AlreadyKilled;  // an earlier violation's kill is under way or done
        return;
    }
    if (ask(j, c) || refuse_held_connect(j, c)) return;
    stop_server(j);
    if ((e.action == Action::Rename || e.action == Action::Link) && act_.keep_never &&
        e.kernel_action != KernelAction::Refused &&
        j.verdict.rule_id.find(":files.never[") != std::string::npos)
        act_.keep_never(e, p.agent, j.verdict.rule_id);
    std::string err;
    journal::Enforcement done;
    bool ok;
    // A held process is killed where the kernel stopped it: the action did no harm.
    if (b.on_violation == OnViolation::KillAgent && !p.cgroup.empty()) {
        ok = act_.kill_cgroup(p.cgroup, err);
        done = e.held ? journal::Enforcement::AgentKilledWhileHeld : journal::Enforcement::AgentKilledByDaemon;
    } else {
        ok = act_.kill_process(e.pid, e.start_ns, err);
        done = e.held ? journal::Enforcement::KilledWhileHeld : journal::Enforcement::KilledByDaemon;
    }
    if (ok) r.enforcement.add(done);
    uint64_t now = act_.now_boot_ns();
    if (r.latency_us < 0) r.latency_us = now > e.ktime_ns ? static_cast<int64_t>((now - e.ktime_ns) / 1000) : 0;
    if (ok) {
        if (e.kernel_action != KernelAction::Killed) ++c.kills;
        note_killed(e);
    } else if (err.find(std::strerror(ESRCH)) != std::string::npos) {
        // Gone before the kill: it exited (or died) between its action and this verdict.
        r.enforcement.add(journal::Enforcement::ExitedBeforeKill);
    } else {
        r.enforcement = journal::Enforcement::KillFailed;
        r.detail = r.detail.empty() ? err : r.detail + "; " + err;
        spdlog::error("agent={} pid={}: could not kill: {}", p.agent, e.pid, err);
    }
}

void Conclusion::note_killed(const Event& e) {
    if (killed_.size() >= kMaxKilled) killed_.erase(killed_.begin());
    killed_.insert({e.pid, e.start_ns});
}

namespace {

// The rule of an action outside every allow list: what on_violation: ask asks about (an explicit
// deny rule, files.never, a sequence, self-protection, still kills).
bool is_default_deny(const std::string& rule) {
    auto ends = [&](std::string_view tail) {
        return rule.size() > tail.size() && rule.compare(rule.size() - tail.size(), tail.size(), tail) == 0;
    };
    return ends(":default-deny");
}

}  // namespace

// on_violation: ask: a held action outside the allow lists waits for a person, still held. Not
// for tool calls (their server is stopped by the kernel, not held for the call).
bool Conclusion::ask(Judged& j, AgentCounters& c) {
    const Event& e = j.event;
    const policy::Boundary& b = j.boundary;
    journal::Record& r = j.record;
    if (b.on_violation != OnViolation::Ask || b.mode != Mode::Enforce || !e.held || j.server ||
        e.action == Action::Io || e.action == Action::Tls || e.kernel_action != KernelAction::None ||
        !is_default_deny(j.verdict.rule_id) || !act_.release_hold)
        return false;
    Approval a;
    a.pid = e.pid;
    a.start_ns = e.start_ns;
    a.hold = e.hold;
    a.socket_fd = e.action == Action::Connect ? e.fd : -1;
    a.asked_ns = act_.now_boot_ns();
    a.deadline_ns = a.asked_ns + uint64_t(b.approval_timeout_s) * 1'000'000'000;
    a.record = r;
    a.record.enforcement = journal::Enforcement::HeldForApproval;
    a.record.verdict = journal::Verdict::Ask;
    uint64_t id = approvals_.add(std::move(a));
    if (!id) {
        r.detail = "approval queue full (" + std::to_string(ApprovalQueue::kMaxPending) + " waiting): not asked";
        return false;  // killed as on_violation: kill would
    }
    ++c.asks;
    r.approval = id;
    r.enforcement = journal::Enforcement::HeldForApproval;
    r.detail = "held until `stockade approve " + std::to_string(id) + "` or `stockade deny " + std::to_string(id) +
               "`; denied after " + std::to_string(b.approval_timeout_s) + " s";
    return true;
}

// on_violation: refuse: a held connect is refused after the fact: its socket is shut down before
// the process sends a byte, and the process runs on (settle_hold releases it).
bool Conclusion::refuse_held_connect(Judged& j, AgentCounters& c) {
    const Event& e = j.event;
    if (j.boundary.on_violation != OnViolation::Refuse || !e.held || e.action != Action::Connect || e.fd < 0 ||
        !act_.refuse_connect)
        return false;
    std::string err;
    if (!act_.refuse_connect(e.pid, e.start_ns, e.fd, err)) {
        j.record.detail = "could not refuse the connect (" + err + "): killed instead";
        return false;
    }
    j.record.enforcement = journal::Enforcement::RefusedWhileHeld;
    ++c.denies;
    return true;
}

std::string Conclusion::decide(uint64_t id, bool approve, const std::string& approver) {
    std::optional<Approval> a = approvals_.take(id);
    if (!a) return "no pending approval " + std::to_string(id) + " (stockade approvals lists them)";
    auto& c = counters_[a->record.agent];
    bool others = approvals_.waiting(a->pid, a->start_ns);  // another action of it still waits
    std::string err;
    auto release = [&]() -> std::string {
        if (others) return "still held: another of its actions waits for approval";
        HoldInfo h = act_.hold_state ? act_.hold_state(a->pid) : HoldInfo{};
        if (h.state != HoldInfo::Held) return "the process was no longer held";
        if (!act_.release_hold(a->pid, a->start_ns, static_cast<uint16_t>(h.holds), err)) return "release failed: " + err;
        return "";
    };
    if (approve) {
        ++c.allowed;
        std::string why = release();
        journal_decision(*a, journal::Verdict::Allow, approver,
                         why.empty() ? journal::Enforcement::ReleasedByApprover : journal::Enforcement::Approved, why);
        return "";
    }
    if (a->socket_fd >= 0 && act_.refuse_connect && act_.refuse_connect(a->pid, a->start_ns, a->socket_fd, err)) {
        ++c.denies;
        std::string why = release();
        journal_decision(*a, journal::Verdict::Deny, approver, journal::Enforcement::RefusedWhileHeld,
                         "its socket was shut down before it sent a byte" + (why.empty() ? ", then released" : "; " + why));
        return "";
    }
    std::string refuse_err = err;
    err.clear();
    bool killed = act_.kill_process(a->pid, a->start_ns, err);
    if (killed) {
        ++c.kills;
        killed_.insert({a->pid, a->start_ns});
    }
    journal_decision(*a, journal::Verdict::Kill, approver,
                     killed ? journal::Enforcement::KilledWhileHeld : journal::Enforcement::KillFailed,
                     (refuse_err.empty() ? "" : "could not refuse the connect: " + refuse_err + "; ") + err);
    if (killed)
        for (Approval& o : approvals_.take_process(a->pid, a->start_ns))
            journal_decision(o, journal::Verdict::Kill, approver, journal::Enforcement::KilledWhileHeld,
                             "killed for approval " + std::to_string(id));
    return "";
}

size_t Conclusion::expire_approvals(uint64_t now_ns) {
    std::vector<uint64_t> ids = approvals_.expired(now_ns);
    for (uint64_t id : ids) decide(id, false, "timeout");
    return ids.size();
}

void Conclusion::process_ended(const Event& e, const std::string& why) {
    for (Approval& a : approvals_.take_process(e.pid, e.start_ns))
        journal_decision(a, journal::Verdict::Kill, "", journal::Enforcement::EndedWhileHeld, why);
}

void Conclusion::journal_decision(Approval& a, journal::Verdict verdict, const std::string& approver,
                                  journal::Enforcement enforcement, const std::string& detail) {
    journal::Record r = a.record;
    r.type = journal::RecordType::Approval;
    r.verdict = verdict;
    r.approver = approver;
    r.enforcement = enforcement;
    r.detail = detail;
    uint64_t now = act_.now_boot_ns();
    r.held_us = now > r.mono_ns ? static_cast<int64_t>((now - r.mono_ns) / 1000) : 0;
    r.latency_us = -1;
    spdlog::info("agent={} pid={} approval {}: {} by {} ({})", r.agent, r.pid, a.id, journal::to_string(verdict),
                 approver.empty() ? "-" : approver, journal::to_string(enforcement));
    act_.journal(r);
}

// A tool call over stdio: the server that is about to read the call is stopped first (the kernel
// does it at the read for a tool its tables deny; see the server's own record).
void Conclusion::stop_server(Judged& j) {
    std::string err;
    if (j.server_stopped_in_kernel)
        j.record.enforcement = journal::Enforcement::ServerStoppedInKernel;
    else if (j.server_stopped_while_held)
        j.record.enforcement = journal::Enforcement::ServerKilledWhileHeld;
    else if (j.server && act_.kill_process(j.server->key.pid, j.server->start_ns, err))
        j.record.enforcement = journal::Enforcement::ServerKilledByDaemon;
}

// A process that repeats the same violation (monitor mode, flag: nothing stops it) would write
// ~80,000 records a second, pushing older evidence out of the journal's retention. Per (process,
// rule, verdict, action, object) the first kRepeatFull of each second are journaled one by one;
// the rest are counted and journaled as one `repeat` record when the second is over (or at the
// next flush). Every decision is still in the journal, as a record or in a count.
bool Conclusion::journal_violation(const Event& e, journal::Record& r) {
    std::string key = std::to_string(e.pid) + '\0' + std::to_string(e.start_ns) + '\0' + r.rule + '\0' +
                      std::to_string(int(r.verdict)) + '\0' + r.action + '\0' + r.path + '\0' + r.path2 + '\0' +
                      r.address + ':' + std::to_string(r.port) + '\0' + r.tool;
    auto it = repeats_.find(key);
    if (it == repeats_.end()) {
        if (repeats_.size() >= kMaxRepeatKeys) {
            flush_repeat(repeats_.begin()->second);
            repeats_.erase(repeats_.begin());
        }
        it = repeats_.emplace(key, Repeat{}).first;
    }
    Repeat& rep = it->second;
    if (e.ktime_ns >= rep.window_ns + kRepeatWindowNs) {
        flush_repeat(rep);
        rep.window_ns = e.ktime_ns;
        rep.in_window = 0;
    }
    if (++rep.in_window <= kRepeatFull) {
        act_.journal(r);
        return true;
    }
    if (!rep.suppressed) rep.first = r;
    ++rep.suppressed;
    rep.last_time_ns = e.ktime_ns;
    return false;
}

void Conclusion::flush_repeat(Repeat& rep) {
    if (!rep.suppressed) return;
    journal::Record s = rep.first;
    s.type = journal::RecordType::Repeat;
    s.count = rep.suppressed;
    s.latency_us = -1;
    s.detail = std::to_string(rep.suppressed) + " more of this violation by this process within " +
               std::to_string((rep.last_time_ns - rep.window_ns) / 1000000) + " ms of the first, beyond " +
               std::to_string(kRepeatFull) + " a second: counted, not journaled one by one";
    act_.journal(s);
    rep.suppressed = 0;
}

void Conclusion::flush_repeats() {
    for (auto& [key, rep] : repeats_) flush_repeat(rep);
    repeats_.clear();
}

}  // namespace stockade::judge
