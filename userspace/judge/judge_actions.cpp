// File, exec and network actions: the boundary's verdict, then the task's grants and
// confinements and the boundary's sequences (scope), then what the kernel did itself.
#include <sys/socket.h>

#include <algorithm>

#include "judge/pipeline.hpp"

namespace stockade::judge {

void Pipeline::judge_action(const Event& e, const identity::Process& p, const policy::Boundary& b,
                            AgentCounters& c) {
    auto self = self_protection(e);
    Verdict v = self ? *self : policy::decide(b, e);
    std::string grant, chain;
    if (!self) v = scoped(e, p, b, std::move(v), grant, chain);
    // The kernel acted on its own tables: that is what happened, whatever else is true.
    if (e.kernel_action != KernelAction::None) {
        std::string kid = act_.kernel_rule_id(e.kernel_rule);
        if (!kid.empty()) v.rule_id = kid;
        v.decision = e.kernel_action == KernelAction::Killed ? Decision::Kill : Decision::Deny;
        if (chain.empty()) chain = chain_for(p, v.rule_id);  // a sequence the kernel enforced
    }
    count_action(e, v, c);
    // An agent that calls models has each exec journaled with its intent (or "none").
    std::optional<Intent> intent;
    bool with_intent = e.action == Action::Exec && intents_.calls_models(p.agent);
    if (with_intent) intent = intents_.for_exec(p.agent, e.pid, e.ppid, p.argv);
    // What went through a task's window is always journaled in full.
    bool full = b.journal_allowed == policy::JournalAllowed::Full || !grant.empty() ||
                (with_intent && b.journal_allowed != policy::JournalAllowed::Off);
    IfAllowed if_allowed = full ? IfAllowed::Journal
                           : b.journal_allowed == policy::JournalAllowed::Summary ? IfAllowed::Summarise
                                                                                   : IfAllowed::Nothing;
    if (v.inside() && !full) {
        conclusion_.count_allowed(c, v, if_allowed, e.action);
        if (!b.sequences.empty()) attach_labels(e, p, b);
        return;
    }
    journal::Record r = record_for(e, p);
    if (with_intent) {
        mark_intent(r, intent, c);
        count_intent_denied(r, v, c);
    }
    if (v.inside()) r.grant = grant;
    if (!v.inside() && e.target_pid)
        r.detail = "target pid " + std::to_string(e.target_pid) + ", signal/cmd " + std::to_string(e.detail);
    if (!v.inside() && !chain.empty()) r.detail = "chain: " + chain;
    // Self-protection is not subject to monitor mode.
    std::optional<policy::Boundary> enforced;
    if (self && b.mode == Mode::Monitor) {
        enforced = b;
        enforced->mode = Mode::Enforce;
        enforced->on_violation = OnViolation::KillProcess;
    }
    Judged j{e, p, enforced ? *enforced : b, v, std::move(r), if_allowed};
    j.counters = &c;
    conclusion_.conclude(j);
    if (v.inside() && !b.sequences.empty()) attach_labels(e, p, b);
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
    case Action::Ptrace: return hit("reached into stockaded (ptrace, process_vm, pidfd or /proc/PID)");
    case Action::Bpf: return hit("called bpf()");
    case Action::Syscall:  // the kernel names the mount family self-protection's
        if (e.kernel_rule == SK_RULE_SELF) return hit("a mount-family syscall (a mount could cover stockade's files)");
        return std::nullopt;
    default: break;
    }
    bool writes = e.action == Action::Unlink || e.action == Action::Rename || e.action == Action::Mkdir ||
                  e.action == Action::Rmdir || e.action == Action::Chmod || e.action == Action::Truncate ||
                  e.action == Action::Xattr ||
                  e.action == Action::Link || e.action == Action::Symlink ||
                  (e.action == Action::Open && (e.access & (kWrite | kCreate | kTruncate)));
    if (!writes) return std::nullopt;
    auto under = [](const std::string& path, const std::string& dir) {
        return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                               (dir.back() == '/' || path[dir.size()] == '/'));
    };
    for (auto& dir : protected_)
        if (under(e.path, dir) || (!e.path2.empty() && e.action != Action::Symlink && e.action != Action::Xattr &&
                                    under(e.path2, dir)))
            return hit("changed stockade's own files or cgroups");
    // Renaming a directory that holds stockade's files moves them (an empty one's rmdir fails).
    if (e.action == Action::Rename && !e.path.empty())
        for (auto& dir : protected_)
            if (under(dir, e.path)) return hit("moved a directory that holds stockade's files");
    return std::nullopt;
}

// The verdict after the process's task (grants widen it, confinements narrow it) and the
// boundary's sequences (chains of individually allowed actions). `grant` names the grant used,
// `chain` the earlier steps of a sequence that decided.
Verdict Pipeline::scoped(const Event& e, const identity::Process& p, const policy::Boundary& b, Verdict v,
                         std::string& grant, std::string& chain) {
    if (tasks_ && !p.task.empty()) {
        if (scope::Task* t = tasks_->find(p.task)) {
            scope::Grant* g = nullptr;
            v = tasks_->overlay(*t, b, e, v, act_.now_boot_ns(), &g);
            if (g) grant = note_grant(p, *t, *g);
        }
    }
    if (!b.sequences.empty() && v.inside()) {
        if (auto sv = sequences_.check(b, p.key, e, e.ktime_ns, &chain)) {
            v = *sv;
            grant.clear();
        }
    }
    return v;
}

// What `stockade agents show` lists: executables, files and destinations, allowed or refused.
void Pipeline::count_action(const Event& e, const Verdict& v, AgentCounters& c) const {
    if (e.action == Action::Exec) (v.inside() ? c.tools_invoked : c.tools_denied).add(e.path);
    if (!e.path.empty() && e.action != Action::Exec) (v.inside() ? c.files : c.files_denied).add(e.path);
    if (e.net.family == AF_INET || e.net.family == AF_INET6)
        (v.inside() ? c.destinations : c.destinations_denied)
            .add(e.net.protocol() + " " + e.net.address() + ":" + std::to_string(e.net.port));
}

// A grant allowed an action: counted, and its first use journaled (a grant record).
std::string Pipeline::note_grant(const identity::Process& p, const scope::Task& t, scope::Grant& g) {
    counters_[p.agent].grants_used.add(g.id + " " + g.kind + "=" + g.text);
    if (!g.used) {
        g.used = true;
        journal::Record u;
        u.type = journal::RecordType::Grant;
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
    scope::Task* t = tasks_->find(p.task);
    if (!t) return v;
    scope::Grant* g = nullptr;
    v = tasks_->overlay_call(*t, b, kind, method, host, subject, v, act_.now_boot_ns(), &g);
    if (g) grant = note_grant(p, *t, *g);
    return v;
}

// An allowed action that begins a sequence: journal it in full (the chain's first step must be
// provable later), remember it on the process, and tell the kernel when the sequence limits
// connects.
void Pipeline::attach_labels(const Event& e, const identity::Process& p, const policy::Boundary& b) {
    for (const policy::SequenceRule* s : sequences_.labels_for(b, e)) {
        if (auto* have = sequences_.labels(p.key))
            if (std::any_of(have->begin(), have->end(), [&](const scope::Label& l) { return l.sequence == s->id; }))
                continue;
        auto r = record_for(e, p);
        r.type = journal::RecordType::Label;
        r.verdict = journal::Verdict::Allow;
        r.rule = s->id;
        r.detail = "label " + s->name + " attached: later actions are judged by " + s->id;
        act_.journal(r);
        scope::Label l;
        l.sequence = s->id;
        l.at_ns = e.ktime_ns;
        l.time = r.time;
        l.seq = r.seq;
        l.hash = r.hash;
        l.step = r.action + " " + (r.path.empty() ? r.address + ":" + std::to_string(r.port) : r.path);
        sequences_.add_label(p.key, std::move(l));
        if (s->forbid_connect && act_.label_process) act_.label_process(e.pid, s->id, s->through);
    }
}

// A label the kernel passed to this process through data that a labelled process of its agent
// wrote (bpf/taint.bpf.h): the kernel already limits its connects; the journal says where the
// label came from, and the sequence's other forbids now judge this process too.
void Pipeline::label_from_data(const Event& e, const identity::Process& p, const policy::Boundary& b) {
    std::string id = act_.kernel_rule_id ? act_.kernel_rule_id(e.kernel_rule) : "";
    auto s = std::find_if(b.sequences.begin(), b.sequences.end(), [&](auto& q) { return q.id == id; });
    std::string via = "label via " + e.path + " written by pid " + std::to_string(e.target_pid);
    auto r = record_for(e, p);
    r.type = journal::RecordType::Label;
    r.verdict = journal::Verdict::Allow;
    r.rule = id.empty() ? "kernel rule " + std::to_string(e.kernel_rule) : id;
    r.resolved = via;
    r.detail = via + (s == b.sequences.end() ? " (a sequence the boundary no longer has)"
                                             : ": later actions are judged by " + s->id);
    act_.journal(r);
    if (s == b.sequences.end()) return;
    scope::Label l;
    l.sequence = s->id;
    l.at_ns = e.ktime_ns;
    l.time = r.time;
    l.seq = r.seq;
    l.hash = r.hash;
    l.step = via;
    sequences_.add_label(p.key, std::move(l));
}

std::string Pipeline::chain_for(const identity::Process& p, const std::string& sequence_id) const {
    if (auto* ls = sequences_.labels(p.key))
        for (auto& l : *ls)
            if (l.sequence == sequence_id)
                return "1) " + l.step + " at " + l.time + " (journal seq " + std::to_string(l.seq) + ", hash " + l.hash +
                       "); 2) the action below";
    return "";
}

}  // namespace stockade::judge
