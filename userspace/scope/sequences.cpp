#include "scope/sequences.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <set>

namespace stockade::scope {

namespace {

bool any_path(const std::vector<policy::PathRule>& rules, const std::string& path) {
    return std::any_of(rules.begin(), rules.end(), [&](auto& r) { return r.matches(path); });
}

bool any_net(const std::vector<policy::NetRule>& rules, const policy::Boundary& b, const Event& e) {
    if (e.net.family != AF_INET && e.net.family != AF_INET6) return false;
    auto a = policy::IpAddr::from_bytes(e.net.family, e.net.bytes).unmapped();
    for (auto& r : rules) {
        if (!r.matches_port(e.net.port)) continue;
        if (r.protocol == policy::Protocol::Tcp && e.net.protocol() != "tcp") continue;
        if (r.protocol == policy::Protocol::Udp && e.net.protocol() != "udp") continue;
        if (r.host.empty() ? r.cidr.contains(a) : b.host_table().contains(r.host, a)) return true;
    }
    return false;
}

bool is_read(const Event& e) { return e.action == Action::Open && (e.access & kRead) && e.result >= 0; }
bool is_write(const Event& e) {
    return (e.action == Action::Open && (e.access & (kWrite | kCreate | kTruncate | kAppend))) ||
           e.action == Action::Rename || e.action == Action::Link || e.action == Action::Symlink ||
           e.action == Action::Mkdir || e.action == Action::Truncate || e.action == Action::Chmod ||
           e.action == Action::Xattr;
}
bool is_net(const Event& e) { return e.action == Action::Connect || e.action == Action::Send; }

std::string step_of(const Event& e) {
    if (is_net(e)) return std::string(to_string(e.action)) + " " + e.net.address() + ":" + std::to_string(e.net.port);
    return std::string(to_string(e.action)) + " " + e.path;
}

}  // namespace

Verdict sequence_violation(const policy::Boundary& b, const policy::SequenceRule& s, std::string resolved) {
    Verdict v;
    v.rule_id = s.id;
    v.resolved = std::move(resolved);
    v.on_violation = b.on_violation;
    v.decision = policy::violation_for(b);
    return v;
}

std::vector<const policy::SequenceRule*> SequenceTracker::labels_for(const policy::Boundary& b, const Event& e) const {
    std::vector<const policy::SequenceRule*> out;
    for (auto& s : b.sequences) {
        if (s.is_count()) continue;
        bool hit = (is_read(e) && any_path(s.after_read, e.path)) ||
                   (is_write(e) && e.result >= 0 && any_path(s.after_write, e.action == Action::Rename ? e.path2 : e.path)) ||
                   (e.action == Action::Exec && any_path(s.after_exec, e.path)) ||
                   (is_net(e) && e.result >= 0 && any_net(s.after_connect, b, e));
        if (hit) out.push_back(&s);
    }
    return out;
}

void SequenceTracker::add_label(const identity::ProcessKey& k, Label l) {
    auto& v = labels_[k];
    for (auto& have : v)
        if (have.sequence == l.sequence) return;  // the first step is the one that matters
    v.push_back(std::move(l));
}

const std::vector<Label>* SequenceTracker::labels(const identity::ProcessKey& k) const {
    auto it = labels_.find(k);
    return it == labels_.end() ? nullptr : &it->second;
}

void SequenceTracker::on_fork(const identity::ProcessKey& parent, const identity::ProcessKey& child) {
    auto it = labels_.find(parent);
    if (it != labels_.end()) labels_[child] = it->second;
}

std::optional<Verdict> SequenceTracker::check(const policy::Boundary& b, const identity::ProcessKey& k,
                                              const Event& e, uint64_t now_ns, std::string* chain) {
    // Windowed counts, per agent.
    if (is_read(e)) {
        for (auto& s : b.sequences) {
            if (!s.is_count() || !any_path(s.count_read, e.path)) continue;
            auto& w = windows_[b.file + "\n" + s.id];
            w.emplace_back(now_ns, e.path);
            uint64_t horizon = s.within_ms * 1'000'000;
            while (!w.empty() && now_ns - w.front().first > horizon) w.pop_front();
            std::set<std::string> distinct;
            for (auto& [t, p] : w) distinct.insert(p);
            if (distinct.size() > s.distinct) {
                *chain = std::to_string(distinct.size()) + " distinct files within " + std::to_string(s.within_ms) +
                         " ms:";
                for (auto& p : distinct) *chain += " " + p;
                return sequence_violation(b, s, "more than " + std::to_string(s.distinct) + " distinct files matching " +
                                                     s.where + ".count.read within " + std::to_string(s.within_ms) + " ms");
            }
        }
    }
    auto it = labels_.find(k);
    if (it == labels_.end()) return std::nullopt;
    for (auto& l : it->second) {
        const policy::SequenceRule* s = nullptr;
        for (auto& cand : b.sequences)
            if (cand.id == l.sequence) s = &cand;
        if (!s) continue;  // the sequence is gone after a reload
        std::string why;
        // Network destinations only: a unix socket is local IPC (nscd, a D-Bus call of every
        // getpwnam), where a labelled tool would otherwise be killed for looking up a user name;
        // files.never refuses the sockets that matter (docker.sock), labelled or not.
        if (is_net(e) && e.net.family != AF_UNIX && s->forbid_connect && !any_net(s->connect_except, b, e))
            why = "connect outside " + s->where + ".forbid.connect_except";
        else if (is_read(e) && any_path(s->forbid_read, e.path))
            why = "read forbidden by " + s->where + ".forbid.read";
        else if (e.action == Action::Exec && any_path(s->forbid_exec, e.path))
            why = "exec forbidden by " + s->where + ".forbid.exec";
        else if (is_write(e) && any_path(s->forbid_write, e.path))
            why = "write forbidden by " + s->where + ".forbid.write";
        else if (is_write(e) && !s->write_except.empty() && !any_path(s->write_except, e.path))
            why = "write outside " + s->where + ".forbid.write_except";
        if (why.empty()) continue;
        *chain = "1) " + l.step + " at " + l.time + " (journal seq " + std::to_string(l.seq) + ", hash " + l.hash +
                 "); 2) " + step_of(e);
        return sequence_violation(b, *s, "after " + l.step + ": " + why);
    }
    return std::nullopt;
}

}  // namespace stockade::scope
