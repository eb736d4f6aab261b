// Syscalls of launched agents judged before they run (enforce/mutation_gate.hpp): the same
// boundary, task and self-protection verdict as after the syscall, but a refusal fails it (and
// on_violation: kill or kill-agent then kills, as after the syscall; refuse and ask only refuse).
#include <cerrno>
#include <cstring>

#include "judge/pipeline.hpp"

namespace stockade::judge {

int Pipeline::judge_before(const std::vector<Event>& actions, int refuse_errno, const std::string& agent,
                           const std::string& task) {
    if (!set_) return 0;
    for (const Event& action : actions) {
        const identity::Process* known = table_.find_live_pid(action.pid);
        identity::Process launched;  // not seen yet: the launch says whose it is
        if (!known || known->agent.empty()) {
            launched.key = identity::key_of(action.pid, action.start_ns);
            launched.start_ns = action.start_ns;
            launched.ppid = action.ppid;
            launched.uid = action.uid;
            launched.comm = action.comm;
            launched.agent = agent;
            launched.task = task;
        }
        const identity::Process& p = known && !known->agent.empty() ? *known : launched;
        const policy::Boundary* b = set_->find(p.agent);
        if (!b) continue;
        auto self = self_protection(action);
        Verdict v = self ? *self : policy::decide(*b, action);
        std::string grant, chain;
        if (!self) v = scoped(action, p, *b, std::move(v), grant, chain);
        bool refuse = self || (b->mode == Mode::Enforce && (v.decision == Decision::Kill || v.decision == Decision::Deny));
        if (!refuse) continue;  // allowed, or only reported: judged again, as always, at its exit
        Event e = action;
        e.kernel_action = KernelAction::Refused;
        auto& c = counters_[p.agent];
        ++c.events;
        count_action(e, v, c);
        journal::Record r = record_for(e, p);
        r.result = -refuse_errno;
        r.resolved = v.resolved;
        if (!chain.empty()) r.detail = "chain: " + chain;
        r.detail += (r.detail.empty() ? "" : "; ") + std::string("refused before it ran: the syscall failed with ") +
                    strerrorname_np(refuse_errno);
        // Self-protection is not subject to monitor mode (as in judge_action()).
        std::optional<policy::Boundary> enforced;
        if (self && b->mode == Mode::Monitor) {
            enforced = *b;
            enforced->mode = Mode::Enforce;
            enforced->on_violation = OnViolation::KillProcess;
        }
        Judged j{e, p, enforced ? *enforced : *b, v, std::move(r), IfAllowed::Nothing};
        j.counters = &c;
        conclusion_.conclude(j);
        if (refused_.size() >= 4096) refused_.clear();  // threads that ended without another record
        refused_[e.tid] = e.action;
        return refuse_errno;
    }
    return 0;
}

// The probes report the refused syscall at its exit too, failed: already journaled, so only
// counted. The failure must be the refusal's (another errno: the thread's next syscall).
bool Pipeline::refused_before(const Event& e) {
    auto it = refused_.find(e.tid);
    if (it == refused_.end() || e.action == Action::Fork) return false;
    bool same = it->second == e.action && e.result < 0;
    refused_.erase(it);
    return same;
}

}  // namespace stockade::judge
