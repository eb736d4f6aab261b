#include "daemon/pipeline.hpp"

#include <spdlog/spdlog.h>

#include "enforce/kernel_tables.hpp"
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
            if (g) {
                grant = g->id;
                c.grants_used.add(g->id + " " + g->kind + "=" + g->text);
                if (!g->used) {
                    g->used = true;
                    journal::Record u;
                    u.type = "grant";
                    u.agent = p.agent;
                    u.task = t->id;
                    u.grant = g->id;
                    u.detail = "used: first action through " + g->kind + "=" + g->text;
                    act_.journal(u);
                }
            }
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
    act_.journal(r);
    spdlog::warn("agent={} task={} pid={} {} {} -> {} ({}){}", p.agent, p.task.empty() ? "-" : p.task, e.pid,
                 r.action, r.path.empty() ? r.address + ":" + std::to_string(r.port) : r.path, r.verdict, r.rule,
                 r.enforcement.empty() ? "" : " " + r.enforcement);
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

// JSON-RPC over pipes: requests are remembered by id, and each call is journaled when its
// response arrives, with the server (the process that read the request), the tool, a digest of
// the arguments and the outcome. The `tools:` boundary section that judges them is not built
// yet: calls are recorded as "allow" with rule "builtin:tools-not-judged".
void Pipeline::handle_io(const Event& e, const identity::Process& p) {
    auto& c = counters_[p.agent];
    auto describe = [](const identity::Process& proc) {
        std::string s = proc.exe;
        for (size_t i = 1; i < proc.argv.size() && i < 4; ++i) s += " " + proc.argv[i];
        return s;
    };
    if (!e.io_write) {
        pipe_readers_[e.io_inode] = {e.pid, describe(p)};
        if (pipe_readers_.size() > 4096) pipe_readers_.erase(pipe_readers_.begin());
        if (e.kernel_action == KernelAction::Killed) {
            // The kernel refused a denied tool as this server read it: the call never ran.
            journal::Record r = record_for(e, p);
            r.type = "tool";
            r.action = "tools/call";
            r.address = "stdio";
            r.verdict = "kill";
            r.rule = act_.kernel_rule_id(e.kernel_rule);
            r.enforcement = "server-killed-in-kernel";
            r.latency_us = 0;
            size_t at = e.io_data.find("\"name\"");
            if (at != std::string::npos) {
                size_t q1 = e.io_data.find('"', at + 6), q2 = q1 == std::string::npos ? q1 : e.io_data.find('"', q1 + 1);
                if (q2 != std::string::npos) r.path = e.io_data.substr(q1 + 1, q2 - q1 - 1);
            }
            r.detail = "server: " + describe(p) + " (pid " + std::to_string(e.pid) +
                       ") killed at the read that delivered the call, before it could run it";
            ++c.kills;
            act_.journal(r);
        }
        return;
    }
    std::vector<std::string> truncated;
    auto msgs = mcp_.feed(e, truncated);
    for (auto& why : truncated) {
        journal::Record r = record_for(e, p);
        r.type = "tool";
        r.action = "tool-call";
        r.address = "stdio";
        r.verdict = "flag";
        r.rule = "builtin:tools-truncated";
        r.detail = "message truncated, not decoded: " + why;
        act_.journal(r);
    }
    for (auto& m : msgs) {
        auto key = std::make_pair(p.agent, m.id);
        if (!m.is_response) {
            if (m.id.empty()) continue;  // a notification: no call to pair
            if (m.method == "tools/call" && !m.tool.empty() && !p.agent.empty()) judge_tool_call(e, p, m);
            PendingCall pc;
            pc.request = m;
            pc.pid = e.pid;
            pc.at_ns = e.ktime_ns;
            pc.base = record_for(e, p);
            pending_calls_[key] = std::move(pc);
            if (pending_calls_.size() > 1024) pending_calls_.erase(pending_calls_.begin());
            continue;
        }
        auto it = pending_calls_.find(key);
        if (it == pending_calls_.end()) continue;
        PendingCall& pc = it->second;
        auto reader = pipe_readers_.find(pc.request.inode);
        std::string server = reader != pipe_readers_.end() ? reader->second.second + " (pid " +
                                                                 std::to_string(reader->second.first) + ")"
                                                           : "pid " + std::to_string(e.pid);
        std::string server_exe = reader != pipe_readers_.end() ? reader->second.second : describe(p);
        for (auto& t : m.tools_listed) c.mcp_offered.add(server_exe + ": " + t);
        if (!pc.request.tool.empty()) c.mcp_called.add(server_exe + ": " + pc.request.tool);
        journal::Record r = pc.base;
        r.type = "tool";
        r.action = pc.request.method;
        r.path = pc.request.tool;
        r.access = "";
        r.address = "stdio";
        auto judged = judged_.find(key);
        r.verdict = judged != judged_.end() ? judged->second.first : "allow";
        r.rule = judged != judged_.end() ? judged->second.second : "builtin:tools-not-judged";
        if (judged != judged_.end()) judged_.erase(judged);
        r.result = m.outcome == "result" ? 0 : -1;
        r.detail = "server: " + server + "; id " + pc.request.id +
                   (pc.request.args_sha256.empty() ? "" : "; arguments sha256 " + pc.request.args_sha256) +
                   "; outcome: " + m.outcome +
                   (m.tools_listed.empty() ? "" : "; offers " + std::to_string(m.tools_listed.size()) + " tools");
        r.latency_us = e.ktime_ns > pc.at_ns ? static_cast<int64_t>((e.ktime_ns - pc.at_ns) / 1000) : 0;
        act_.journal(r);
        pending_calls_.erase(it);
    }
}

// A tools/call as its request is written: judged by the boundary's tools.mcp rules. A violation
// is journaled at once and, in enforce mode, stops the server that is about to read it and the
// caller (or the whole agent). The kill is asynchronous: a server that reads and runs the call
// within the daemon's reaction time (~0.1-0.2 ms) may still run it (docs/architecture.md).
void Pipeline::judge_tool_call(const Event& e, const identity::Process& p, const McpMessage& m) {
    const policy::Boundary* b = set_ ? set_->find(p.agent) : nullptr;
    if (!b) return;
    auto reader = pipe_readers_.find(m.inode);
    std::string server = reader != pipe_readers_.end() ? reader->second.second : "";
    Verdict v = policy::decide_tool(*b, server, m.tool);
    judged_[{p.agent, m.id}] = {v.inside() ? "allow" : std::string(to_string(v.decision)), v.rule_id};
    if (judged_.size() > 1024) judged_.erase(judged_.begin());
    if (v.inside()) return;
    auto& c = counters_[p.agent];
    ++c.violations;
    c.rules.add(v.rule_id);
    journal::Record r = record_for(e, p);
    r.type = "tool";
    r.action = m.method;
    r.path = m.tool;
    r.access = "";
    r.address = "stdio";
    r.rule = v.rule_id;
    r.resolved = v.resolved;
    r.verdict = std::string(to_string(v.decision));
    r.detail = "server: " + (server.empty() ? std::string("(not seen yet)") : server) + "; id " + m.id +
               "; arguments sha256 " + m.args_sha256;
    if (v.decision == Decision::Kill) {
        std::string err;
        bool in_kernel = false;
        for (auto& [name, rule] : enforce::KernelTables::kernel_denied_tools(*b)) in_kernel = in_kernel || name == m.tool;
        if (in_kernel) {
            r.enforcement = "server-stopped-in-kernel";  // at its read: see the server's own record
        } else if (reader != pipe_readers_.end()) {
            if (const identity::Process* srv = table_.find_live_pid(reader->second.first))
                if (act_.kill_process(srv->key.pid, srv->start_ns, err)) r.enforcement = "server-killed-by-daemon";
        }
        bool ok = b->on_violation == OnViolation::KillAgent && !p.cgroup.empty() ? act_.kill_cgroup(p.cgroup, err)
                                                                                   : act_.kill_process(e.pid, e.start_ns, err);
        if (ok) r.enforcement += std::string(r.enforcement.empty() ? "" : ", ") + "killed-by-daemon";
        if (ok) ++c.kills;
        uint64_t now = act_.now_boot_ns();
        r.latency_us = now > e.ktime_ns ? static_cast<int64_t>((now - e.ktime_ns) / 1000) : 0;
        if (!ok) {
            r.enforcement = "kill-failed";
            r.detail += "; " + err;
        }
    }
    act_.journal(r);
    spdlog::warn("agent={} task={} pid={} tools/call {} on {} -> {} ({}){}", p.agent, p.task.empty() ? "-" : p.task,
                 e.pid, m.tool, server.empty() ? "?" : server, r.verdict, r.rule,
                 r.enforcement.empty() ? "" : " " + r.enforcement);
}

void Pipeline::on_bad_record(const std::string& why) {
    ++bad_records_;
    spdlog::error("undecodable kernel record: {}", why);
}

void Pipeline::flush_summaries() {
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
