#include "judge/conclude.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace stockade::judge {

namespace {

// What the log line names as the object: a path, a tool, or an address.
std::string object_of(const journal::Record& r) {
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
        r.verdict = "allow";
        if (j.if_allowed == IfAllowed::Journal) act_.journal(r);
        return true;
    }
    r.rule = v.rule_id;
    r.resolved = v.resolved;
    ++c.violations;
    enforce(j, c);
    r.verdict = std::string(to_string(v.decision));
    if (!journal_violation(j.event, r)) return false;  // a repeat beyond the limit: counted, journaled in sum
    spdlog::warn("agent={} task={} pid={} {} {} -> {} ({}){}", j.process.agent,
                 j.process.task.empty() ? "-" : j.process.task, j.event.pid, r.action, object_of(r), r.verdict, r.rule,
                 r.enforcement.empty() ? "" : " " + r.enforcement);
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
        r.enforcement = "killed-in-kernel";
        r.latency_us = 0;
        ++c.kills;
        note_killed(e);
        // The process is dead already: only the rest of the agent (its cgroup) is left to kill.
        if (b.on_violation != OnViolation::KillAgent || p.cgroup.empty()) return;
    } else if (e.kernel_action == KernelAction::Denied) {
        r.enforcement = "denied-in-kernel";
        r.latency_us = 0;
        ++c.denies;
        return;
    }
    if (j.verdict.decision != Decision::Kill) return;
    if (e.kernel_action == KernelAction::None && already_killed(e)) {
        r.enforcement = "already-killed";  // an earlier violation's kill is under way or done
        return;
    }
    stop_server(j);
    std::string err, done;
    bool ok;
    // A held process is killed where the kernel stopped it: the action did no harm.
    if (b.on_violation == OnViolation::KillAgent && !p.cgroup.empty()) {
        ok = act_.kill_cgroup(p.cgroup, err);
        done = e.held ? "agent-killed-while-held" : "agent-killed-by-daemon";
    } else {
        ok = act_.kill_process(e.pid, e.start_ns, err);
        done = e.held ? "killed-while-held" : "killed-by-daemon";
    }
    if (ok) r.enforcement += (r.enforcement.empty() ? "" : ", ") + done;
    uint64_t now = act_.now_boot_ns();
    if (r.latency_us < 0) r.latency_us = now > e.ktime_ns ? static_cast<int64_t>((now - e.ktime_ns) / 1000) : 0;
    if (ok) {
        if (e.kernel_action != KernelAction::Killed) ++c.kills;
        note_killed(e);
    } else if (err.find(std::strerror(ESRCH)) != std::string::npos) {
        // Gone before the kill: it exited (or died) between its action and this verdict.
        r.enforcement += (r.enforcement.empty() ? "" : ", ") + std::string("exited-before-kill");
    } else {
        r.enforcement = "kill-failed";
        r.detail = r.detail.empty() ? err : r.detail + "; " + err;
        spdlog::error("agent={} pid={}: could not kill: {}", p.agent, e.pid, err);
    }
}

void Conclusion::note_killed(const Event& e) {
    if (killed_.size() >= kMaxKilled) killed_.erase(killed_.begin());
    killed_.insert({e.pid, e.start_ns});
}

// A tool call over stdio: the server that is about to read the call is stopped first (the kernel
// does it at the read for a tool its tables deny; see the server's own record).
void Conclusion::stop_server(Judged& j) {
    std::string err;
    if (j.server_stopped_in_kernel)
        j.record.enforcement = "server-stopped-in-kernel";
    else if (j.server_stopped_while_held)
        j.record.enforcement = "server-killed-while-held";
    else if (j.server && act_.kill_process(j.server->key.pid, j.server->start_ns, err))
        j.record.enforcement = "server-killed-by-daemon";
}

// A process that repeats the same violation (monitor mode, flag: nothing stops it) would write
// ~80,000 records a second, pushing older evidence out of the journal's retention. Per (process,
// rule, verdict, action, object) the first kRepeatFull of each second are journaled one by one;
// the rest are counted and journaled as one `repeat` record when the second is over (or at the
// next flush). Every decision is still in the journal, as a record or in a count.
bool Conclusion::journal_violation(const Event& e, journal::Record& r) {
    std::string key = std::to_string(e.pid) + '\0' + std::to_string(e.start_ns) + '\0' + r.rule + '\0' + r.verdict +
                      '\0' + r.action + '\0' + r.path + '\0' + r.path2 + '\0' + r.address + ':' + std::to_string(r.port);
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
    s.type = "repeat";
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
