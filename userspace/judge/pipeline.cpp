#include "judge/pipeline.hpp"

#include <spdlog/spdlog.h>

namespace stockade::judge {

Pipeline::Pipeline(identity::ProcessTable& table, Actuator act) : table_(table), act_(std::move(act)) {}

journal::Record Pipeline::record_for(const Event& e, const identity::Process& p) const {
    journal::Record r;
    r.type = journal::RecordType::Decision;
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
    if (p.container) {
        r.container = p.container->id;
        r.container_name = p.container->name;
        r.container_image = p.container->image;
    }
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

// Attributes the event to a process and hands it to the judge for its kind; a process the
// kernel held for this event is then released, unless the verdict killed it.
void Pipeline::on_event(const Event& e) {
    if (e.action == Action::CgroupMkdir) {
        // Made by systemd or another manager (not an agent): no process to attribute.
        if (act_.cgroup_created) act_.cgroup_created(e.path, e.kernel_agent, e.target_cgroup);
        return;
    }
    ++events_;
    const identity::Process& p = table_.apply(e);
    if (refused_before(e)) return;
    judge_event(e, p);
    if (e.held) settle_hold(e, p);
}

void Pipeline::judge_event(const Event& e, const identity::Process& p) {
    if (p.agent.empty() || !set_) return;
    const policy::Boundary* b = set_->find(p.agent);
    if (!b) return;  // an agent whose boundary was removed: no longer judged
    auto& c = counters_[p.agent];
    ++c.events;
    c.actions.add(std::string(to_string(e.action)));
    if (e.action == Action::Fork) {
        if (!e.thread) intents_.forked(e.pid, static_cast<uint32_t>(e.result));
        if (!e.thread)
            sequences_.on_fork(identity::key_of(e.pid, e.start_ns),
                               identity::key_of(static_cast<uint32_t>(e.result), e.child_start_ns));
        return;
    }
    if (e.action == Action::Exit) {
        conclusion_.process_ended(e, "the process ended (signal " + std::to_string(e.exit_signal) +
                                         ") before a decision");
        sequences_.on_exit(p.key);
        mcp_.forget(e.pid);
        mcp_reads_.forget(e.pid);
        forget_http(e, p);
        intents_.exited(e.pid);
        return;
    }
    if (e.action == Action::Label) {
        label_from_data(e, p, *b);
    } else if (e.action == Action::Tls && e.tls_hello) {
        judge_unseen_tls(e, p, *b);
    } else if (e.action == Action::Tls || (e.action == Action::Io && is_http(e))) {
        if (e.action == Action::Tls) count_tls_stack(e, c);
        handle_http(e, p);
    } else if (e.action == Action::Io) {
        handle_io(e, p);
    } else {
        judge_action(e, p, *b, c);
    }
}

// The end of a hold: the process runs on, unless its verdict killed it. The kernel's state says
// whether this is still its last hold (another thread's may be waiting for its record), and
// whether something else released it first (then the kernel killed it: journaled here).
void Pipeline::settle_hold(const Event& e, const identity::Process& p) {
    if (!act_.hold_state || !act_.release_hold) return;
    HoldInfo h = act_.hold_state(e.pid);
    if (conclusion_.killed(e)) {  // the verdict's kill ends the hold
        if (h.state == HoldInfo::Broken && act_.forget_hold) act_.forget_hold(e.pid);
        return;
    }
    if (h.state == HoldInfo::Broken)
        conclusion_.process_ended(e, "released while it waited by pid " + std::to_string(h.breaker) +
                                         ", not by the daemon: killed in the kernel");
    if (h.state == HoldInfo::Broken) {
        journal::Record r = record_for(e, p);
        r.verdict = journal::Verdict::Kill;
        r.rule = "builtin:hold-release";
        r.enforcement = journal::Enforcement::KilledInKernel;
        r.latency_us = 0;
        r.detail = h.breaker ? "held for this action, then released by pid " + std::to_string(h.breaker) +
                                   " (SIGCONT or ptrace), not by the daemon: killed in the kernel, it ran no further"
                             : "held for this action while no daemon was there: killed in the kernel";
        if (!p.agent.empty()) ++counters_[p.agent].kills;
        conclusion_.note_killed(e);
        act_.journal(r);
        if (act_.forget_hold) act_.forget_hold(e.pid);
        return;
    }
    if (h.state != HoldInfo::Held || static_cast<uint16_t>(h.holds) != e.hold) return;
    if (conclusion_.awaiting(e)) return;  // held on for a person's decision (on_violation: ask)
    std::string err;
    if (!act_.release_hold(e.pid, e.start_ns, e.hold, err))
        spdlog::warn("agent={} pid={}: could not release the held process: {}", p.agent, e.pid, err);
}

void Pipeline::on_bad_record(const std::string& why) {
    ++bad_records_;
    spdlog::error("undecodable kernel record: {}", why);
}

void Pipeline::flush_summaries() {
    conclusion_.flush_repeats();
    for (auto& [agent, c] : counters_) {
        for (auto& [action, n] : c.allowed_by_action) {
            if (!n) continue;
            journal::Record r;
            r.type = journal::RecordType::Summary;
            r.agent = agent;
            r.action = action;
            r.verdict = journal::Verdict::Allow;
            r.count = n;
            act_.journal(r);
        }
        c.allowed_by_action.clear();
    }
}

namespace {

// What the agent's on_loss did about its lost records (the kernel acted at the loss).
std::string loss_consequence(const policy::Boundary* b) {
    if (!b) return "the agent is no longer in the boundaries in force";
    if (b->mode == Mode::Monitor) return "monitor mode: nothing was stopped";
    if (b->effective_on_loss() == policy::OnLoss::Kill)
        return "on_loss: kill: the process of each lost record was killed in the kernel before it acted further";
    return "on_loss: flag: nothing was stopped; these actions were never judged";
}

}  // namespace

void Pipeline::journal_lost(uint64_t total, const std::vector<AgentLoss>& per_agent) {
    uint64_t attributed = 0;
    for (auto& loss : per_agent) {
        if (!loss.count) continue;
        attributed += loss.count;
        journal::Record r;
        r.type = journal::RecordType::Lost;
        r.agent = loss.agent;
        r.task = loss.task;
        r.count = loss.count;
        const policy::Boundary* b = set_ ? set_->find(loss.agent) : nullptr;
        r.detail = "kernel events of this agent lost (ring buffer full), never judged; " + loss_consequence(b);
        if (b && b->mode == Mode::Enforce && b->effective_on_loss() == policy::OnLoss::Kill)
            r.enforcement = journal::Enforcement::KilledInKernel;
        act_.journal(r);
        spdlog::error("agent={}{} {} kernel events lost: {}", loss.agent, loss.task.empty() ? "" : " task=" + loss.task,
                      loss.count, r.detail);
    }
    if (total <= attributed) return;
    journal::Record r;
    r.type = journal::RecordType::Lost;
    r.count = total - attributed;
    r.detail = "kernel events lost (ring buffer full) that no agent accounts for";
    act_.journal(r);
    spdlog::error("{} kernel events lost: {}", r.count, r.detail);
}

}  // namespace stockade::judge
