#include "daemon/pipeline.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>

namespace stockade::daemon {

void BoundedCounts::add(const std::string& key) {
    auto it = counts.find(key);
    if (it != counts.end())
        ++it->second;
    else if (counts.size() < kMaxKeys)
        counts.emplace(key, 1);
    else
        ++counts["(other)"];
}

Pipeline::Pipeline(identity::ProcessTable& table, Actuator act) : table_(table), act_(std::move(act)) {}

journal::Record Pipeline::record_for(const Event& e, const identity::Process& p) const {
    journal::Record r;
    r.type = "decision";
    r.mono_ns = e.ktime_ns;
    r.agent = p.agent;
    r.task = p.task;
    r.exec_id = p.exec_id;
    r.pid = e.pid;
    r.ppid = e.ppid;
    r.uid = e.uid;
    r.exe = p.exe;
    r.argv = p.argv;
    r.cgroup = p.cgroup;
    r.action = std::string(to_string(e.action));
    r.access = access_string(e.access);
    r.path = e.path;
    r.path2 = e.path2;
    if (e.net.family) {
        r.address = e.net.address();
        r.port = e.net.port;
        r.protocol = e.net.protocol();
    }
    r.result = e.result;
    return r;
}

std::optional<Verdict> Pipeline::self_protection(const Event& e) const {
    static constexpr const char* kRule = "builtin:self-protection";
    auto hit = [&](const char* why) {
        Verdict v;
        v.decision = Decision::Kill;
        v.rule_id = kRule;
        v.resolved = why;
        v.on_violation = OnViolation::KillProcess;
        return v;
    };
    switch (e.action) {
    case Action::Signal: return hit("signalled stockaded");
    case Action::Ptrace: return hit("traced or wrote the memory of stockaded");
    case Action::Bpf: return hit("called bpf()");
    default: break;
    }
    bool writes = e.action == Action::Unlink || e.action == Action::Rename || e.action == Action::Mkdir ||
                  e.action == Action::Rmdir || e.action == Action::Chmod || e.action == Action::Truncate ||
                  e.action == Action::Link || e.action == Action::Symlink ||
                  (e.action == Action::Open && (e.access & (kWrite | kCreate | kTruncate)));
    if (!writes) return std::nullopt;
    auto under = [](const std::string& path, const std::string& dir) {
        return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                               (dir.back() == '/' || path[dir.size()] == '/'));
    };
    for (auto& dir : protected_)
        if (under(e.path, dir) || (!e.path2.empty() && e.action != Action::Symlink && under(e.path2, dir)))
            return hit("changed stockade's own files or cgroups");
    return std::nullopt;
}

void Pipeline::on_event(const Event& e) {
    if (e.action == Action::CgroupMkdir) {
        // Made by systemd or another manager (not an agent): no process to attribute.
        if (act_.cgroup_created) act_.cgroup_created(e.path, e.kernel_agent, e.target_cgroup);
        return;
    }
    ++events_;
    const identity::Process& p = table_.apply(e);
    if (p.agent.empty() || !set_) return;
    const policy::Boundary* b = set_->find(p.agent);
    if (!b) return;  // an agent whose boundary was removed: no longer judged
    auto& c = counters_[p.agent];
    ++c.events;
    c.actions.add(std::string(to_string(e.action)));
    if (e.action == Action::Fork) {
        if (!e.thread)
            sequences_.on_fork(identity::key_of(e.pid, e.start_ns),
                               identity::key_of(static_cast<uint32_t>(e.result), e.child_start_ns));
        return;
    }
    if (e.action == Action::Exit) {
        sequences_.on_exit(p.key);
        mcp_.forget(e.pid);
        forget_http(e, p);
        return;
    }
    if (e.action == Action::Tls || (e.action == Action::Io && is_http(e))) {
        handle_http(e, p);
        return;
    }
    if (e.action == Action::Io) {
        handle_io(e, p);
        return;
    }

    auto self = self_protection(e);
    Verdict v = self ? *self : policy::decide(*b, e);
    std::string grant;
    if (!self && tasks_ && !p.task.empty()) {
        if (Task* t = tasks_->find(p.task)) {
            Grant* g = nullptr;
            v = tasks_->overlay(*t, *b, e, v, act_.now_boot_ns(), &g);
            if (g) grant = note_grant(p, *t, *g);
        }
    }
    // Chains of individually allowed actions.
    std::string chain;
    if (!self && !b->sequences.empty() && v.inside()) {
        if (auto sv = sequences_.check(*b, p.key, e, e.ktime_ns, &chain)) {
            v = *sv;
            grant.clear();
        }
    }
    // The kernel acted on its own tables: that is what happened, whatever else is true.
    if (e.kernel_action != KernelAction::None) {
        std::string kid = act_.kernel_rule_id(e.kernel_rule);
        if (!kid.empty()) v.rule_id = kid;
        v.decision = e.kernel_action == KernelAction::Killed ? Decision::Kill : Decision::Deny;
        if (chain.empty()) chain = chain_for(p, v.rule_id);  // a sequence the kernel enforced
    }
    c.rules.add(v.rule_id);
    if (e.action == Action::Exec) (v.inside() ? c.tools_invoked : c.tools_denied).add(e.path);
    if (!e.path.empty() && e.action != Action::Exec) (v.inside() ? c.files : c.files_denied).add(e.path);
    if (e.net.family == AF_INET || e.net.family == AF_INET6)
        (v.inside() ? c.destinations : c.destinations_denied)
            .add(e.net.protocol() + " " + e.net.address() + ":" + std::to_string(e.net.port));
    if (v.inside()) {
        ++c.allowed;
        // What went through a task's window is always journaled in full.
        if (b->journal_allowed == policy::JournalAllowed::Full || !grant.empty()) {
            auto r = record_for(e, p);
            r.grant = grant;
            r.verdict = "allow";
            r.rule = v.rule_id;
            r.resolved = v.resolved;
            act_.journal(r);
        } else if (b->journal_allowed == policy::JournalAllowed::Summary) {
            ++c.allowed_by_action[std::string(to_string(e.action))];
        }
        if (!b->sequences.empty()) attach_labels(e, p, *b);
        return;
    }
    ++c.violations;
    auto r = record_for(e, p);
    r.rule = v.rule_id;
    r.resolved = v.resolved;
    if (e.target_pid) r.detail = "target pid " + std::to_string(e.target_pid) + ", signal/cmd " + std::to_string(e.detail);
    if (!chain.empty()) r.detail = "chain: " + chain;
    if (self && b->mode == Mode::Monitor) {
        // Self-protection is not subject to monitor mode.
        policy::Boundary enforced = *b;
        enforced.mode = Mode::Enforce;
        enforced.on_violation = OnViolation::KillProcess;
        enforce(e, p, enforced, v, r);
    } else {
        enforce(e, p, *b, v, r);
    }
    r.verdict = std::string(to_string(v.decision));
    if (!journal_violation(e, r)) return;  // a repeat beyond the limit: counted, journaled in sum
    spdlog::warn("agent={} task={} pid={} {} {} -> {} ({}){}", p.agent, p.task.empty() ? "-" : p.task, e.pid,
                 r.action, r.path.empty() ? r.address + ":" + std::to_string(r.port) : r.path, r.verdict, r.rule,
                 r.enforcement.empty() ? "" : " " + r.enforcement);
}

// A grant allowed an action: counted, and its first use journaled (a grant record).
std::string Pipeline::note_grant(const identity::Process& p, const Task& t, Grant& g) {
    counters_[p.agent].grants_used.add(g.id + " " + g.kind + "=" + g.text);
    if (!g.used) {
        g.used = true;
        journal::Record u;
        u.type = "grant";
        u.agent = p.agent;
        u.task = t.id;
        u.grant = g.id;
        u.detail = "used: first action through " + g.kind + "=" + g.text;
        act_.journal(u);
    }
    return g.id;
}

// A tool call's verdict after the task's grants and confinements; `grant` names the grant used.
Verdict Pipeline::task_call_overlay(const identity::Process& p, const policy::Boundary& b, const std::string& kind,
                                    const std::string& method, const std::string& host, const std::string& subject,
                                    Verdict v, std::string& grant) {
    if (!tasks_ || p.task.empty()) return v;
    Task* t = tasks_->find(p.task);
    if (!t) return v;
    Grant* g = nullptr;
    v = tasks_->overlay_call(*t, b, kind, method, host, subject, v, act_.now_boot_ns(), &g);
    if (g) grant = note_grant(p, *t, *g);
    return v;
}

void Pipeline::enforce(const Event& e, const identity::Process& p, const policy::Boundary& b, Verdict& v,
                       journal::Record& r) {
    auto& c = counters_[p.agent];
    if (e.kernel_action == KernelAction::Killed) {
        r.enforcement = "killed-in-kernel";
        r.latency_us = 0;
        ++c.kills;
        // The process is dead already: only the rest of the agent (its cgroup) is left to kill.
        if (b.on_violation != OnViolation::KillAgent || p.cgroup.empty()) return;
    } else if (e.kernel_action == KernelAction::Denied) {
        r.enforcement = "denied-in-kernel";
        r.latency_us = 0;
        ++c.denies;
        return;
    }
    if (v.decision != Decision::Kill) return;  // flag, would-deny: journal only
    std::string err;
    bool ok;
    if (b.on_violation == OnViolation::KillAgent && !p.cgroup.empty()) {
        ok = act_.kill_cgroup(p.cgroup, err);
        if (ok)
            r.enforcement = e.kernel_action == KernelAction::Killed ? "killed-in-kernel, agent-killed-by-daemon"
                                                                     : "agent-killed-by-daemon";
    } else {
        ok = act_.kill_process(e.pid, e.start_ns, err);
        if (ok) r.enforcement = "killed-by-daemon";
    }
    uint64_t now = act_.now_boot_ns();
    if (r.latency_us < 0) r.latency_us = now > e.ktime_ns ? static_cast<int64_t>((now - e.ktime_ns) / 1000) : 0;
    if (ok) {
        if (e.kernel_action != KernelAction::Killed) ++c.kills;
    } else {
        r.enforcement = "kill-failed";
        r.detail = err;
        spdlog::error("agent={} pid={}: could not kill: {}", p.agent, e.pid, err);
    }
}

// An allowed action that begins a sequence: journal it in full (the chain's first step must be
// provable later), remember it on the process, and tell the kernel when the sequence limits
// connects.
void Pipeline::attach_labels(const Event& e, const identity::Process& p, const policy::Boundary& b) {
    for (const policy::SequenceRule* s : sequences_.labels_for(b, e)) {
        if (auto* have = sequences_.labels(p.key))
            if (std::any_of(have->begin(), have->end(), [&](const Label& l) { return l.sequence == s->id; })) continue;
        auto r = record_for(e, p);
        r.type = "label";
        r.verdict = "allow";
        r.rule = s->id;
        r.detail = "label " + s->name + " attached: later actions are judged by " + s->id;
        act_.journal(r);
        Label l;
        l.sequence = s->id;
        l.at_ns = e.ktime_ns;
        l.time = r.time;
        l.seq = r.seq;
        l.hash = r.hash;
        l.step = r.action + " " + (r.path.empty() ? r.address + ":" + std::to_string(r.port) : r.path);
        sequences_.add_label(p.key, std::move(l));
        if (s->forbid_connect && act_.label_process) act_.label_process(e.pid, s->id);
    }
}

std::string Pipeline::chain_for(const identity::Process& p, const std::string& sequence_id) const {
    if (auto* ls = sequences_.labels(p.key))
        for (auto& l : *ls)
            if (l.sequence == sequence_id)
                return "1) " + l.step + " at " + l.time + " (journal seq " + std::to_string(l.seq) + ", hash " + l.hash +
                       "); 2) the action below";
    return "";
}

void Pipeline::on_bad_record(const std::string& why) {
    ++bad_records_;
    spdlog::error("undecodable kernel record: {}", why);
}

// A process that repeats the same violation (monitor mode, flag: nothing stops it) would write
// ~80,000 records a second, pushing older evidence out of the journal's retention. Per (process,
// rule, verdict, action, object) the first kRepeatFull of each second are journaled one by one;
// the rest are counted and journaled as one `repeat` record when the second is over (or at the
// next flush). Every decision is still in the journal, as a record or in a count.
bool Pipeline::journal_violation(const Event& e, journal::Record& r) {
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

void Pipeline::flush_repeat(Repeat& rep) {
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

void Pipeline::flush_summaries() {
    for (auto& [key, rep] : repeats_) flush_repeat(rep);
    repeats_.clear();
    for (auto& [agent, c] : counters_) {
        for (auto& [action, n] : c.allowed_by_action) {
            if (!n) continue;
            journal::Record r;
            r.type = "summary";
            r.agent = agent;
            r.action = action;
            r.verdict = "allow";
            r.count = n;
            act_.journal(r);
        }
        c.allowed_by_action.clear();
    }
}

void Pipeline::journal_lost(uint64_t count) {
    journal::Record r;
    r.type = "lost";
    r.count = count;
    std::string agents;
    for (auto& [agent, c] : counters_) {
        if (!table_.tracked_count(agent)) continue;
        agents += (agents.empty() ? "" : ",") + agent;
    }
    r.detail = "kernel events lost (ring buffer full); agents with live processes: " + (agents.empty() ? "-" : agents);
    r.agent = agents;
    act_.journal(r);
    spdlog::error("{} kernel events lost: {}", count, r.detail);
}

}  // namespace stockade::daemon
