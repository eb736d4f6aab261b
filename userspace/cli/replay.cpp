// `stockade replay`: re-decides what the journal recorded with a candidate boundary and shows
// every action whose verdict would change. Exit 0 when nothing allowed before would now be a
// violation, 1 otherwise.
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <set>

#include "cli/commands.hpp"
#include "cli/learn.hpp"
#include "common/error.hpp"
#include "journal/reader.hpp"
#include "journal/timefmt.hpp"
#include "policy/policy.hpp"

namespace stockade::cli::learn {

std::optional<Event> event_from_record(const journal::Record& r) {
    static const std::map<std::string, Action, std::less<>> kActions = {
        {"exec", Action::Exec},       {"fork", Action::Fork},       {"exit", Action::Exit},
        {"open", Action::Open},       {"unlink", Action::Unlink},   {"rename", Action::Rename},
        {"mkdir", Action::Mkdir},     {"rmdir", Action::Rmdir},     {"chmod", Action::Chmod},
        {"truncate", Action::Truncate}, {"link", Action::Link},     {"symlink", Action::Symlink},
        {"connect", Action::Connect}, {"bind", Action::Bind},       {"listen", Action::Listen},
        {"accept", Action::Accept},   {"send", Action::Send},       {"xattr", Action::Xattr}};
    auto it = kActions.find(r.action);
    if (it == kActions.end()) return std::nullopt;
    Event e;
    e.action = it->second;
    e.ktime_ns = r.mono_ns;
    e.pid = e.tid = r.pid;
    e.ppid = r.ppid;
    e.uid = r.uid;
    e.argv = r.argv;
    e.path = r.path;
    e.path2 = r.path2;
    e.access = access_bits(r.access);
    e.result = r.result;
    if (r.protocol == "unix") {
        e.net.family = AF_UNIX;
        e.net.unix_path = r.address;
    } else if (auto ip = policy::IpAddr::parse(r.address)) {
        e.net.family = ip->family;
        std::memcpy(e.net.bytes, ip->bytes.data(), sizeof e.net.bytes);
    }
    e.net.port = r.port;
    e.net.sotype = r.protocol == "tcp" ? SOCK_STREAM : r.protocol == "udp" ? SOCK_DGRAM : 0;
    return e;
}

size_t ReplayResult::newly_denied() const {
    size_t n = 0;
    for (auto& c : changes) n += c.was_allowed ? 1 : 0;
    return n;
}

ReplayResult replay(const policy::Boundary& b, const std::vector<journal::Record>& records) {
    ReplayResult out;
    // Host rules: the addresses the journal shows for each name the boundary names.
    std::map<std::string, std::vector<policy::IpAddr>> hosts;
    for (auto& r : records)
        if (!r.hostname.empty())
            if (auto ip = policy::IpAddr::parse(r.address)) hosts[policy::normalize_host(r.hostname)].push_back(*ip);
    for (auto& h : b.hosts())
        if (auto it = hosts.find(h); it != hosts.end()) b.set_resolved(h, it->second);
    for (auto& r : records) {
        if (r.type == journal::RecordType::Summary) out.counted += r.count;
        if (r.type != journal::RecordType::Decision) continue;
        auto e = event_from_record(r);
        if (!e || !r.grant.empty() || r.rule.starts_with("task:") || r.rule == "builtin:self-protection") {
            ++out.skipped;
            continue;
        }
        ++out.judged;
        Verdict v = policy::decide(b, *e);
        auto& counts = out.by_rule[v.rule_id];
        (v.inside() ? counts.first : counts.second) += 1;
        bool was = r.verdict == journal::Verdict::Allow;
        if (was != v.inside()) out.changes.push_back({r, was, v});
    }
    return out;
}

}  // namespace stockade::cli::learn

namespace stockade::cli {

namespace {

std::string object(const journal::Record& r) {
    if (!r.path.empty()) return r.path + (r.path2.empty() ? "" : " -> " + r.path2);
    if (r.address.find(':') != std::string::npos) return "[" + r.address + "]:" + std::to_string(r.port);
    return r.address + ":" + std::to_string(r.port);
}

}  // namespace

int cmd_replay(const ReplayOptions& o) {
    auto res = policy::load_boundaries({o.boundary});
    if (!res.ok()) {
        std::fputs(policy::format_diagnostics(res.diagnostics, res.files).c_str(), stderr);
        return kExitUsage;
    }
    const policy::Boundary* b = o.agent.empty() ? nullptr : res.set->find(o.agent);
    if (!b && res.set->agents().size() == 1) b = res.set->agents()[0].get();
    if (!b) throw Error(o.boundary + ": name the agent with --agent (the file holds " +
                        std::to_string(res.set->agents().size()) + " boundaries, none for \"" + o.agent + "\")");
    journal::Filter f;
    f.agent = o.agent.empty() ? b->name : o.agent;
    if (!o.since.empty()) f.since = journal::parse_since(o.since);
    auto rr = learn::replay(*b, journal::read_last(o.journal, SIZE_MAX, f));

    std::printf("replay of %llu decision records of agent %s with %s (%llu skipped: task or self-protection)\n",
                (unsigned long long)rr.judged, f.agent->c_str(), o.boundary.c_str(), (unsigned long long)rr.skipped);
    if (rr.counted)
        std::printf("note: %llu allowed actions were only counted (journal_allowed: summary) and cannot be replayed\n",
                    (unsigned long long)rr.counted);
    std::printf("rules now deciding (allowed, violations):\n");
    for (auto& [rule, n] : rr.by_rule)
        std::printf("  %-48s %8llu %8llu\n", rule.c_str(), (unsigned long long)n.first, (unsigned long long)n.second);
    std::printf("changed: %zu (%zu allowed before, now violations; %zu violations before, now allowed)\n",
                rr.changes.size(), rr.newly_denied(), rr.changes.size() - rr.newly_denied());
    for (auto& c : rr.changes)
        std::printf("  seq %llu %s %s %s: %s (%s) -> %s (%s)\n", (unsigned long long)c.record.seq,
                    c.record.time.c_str(), c.record.action.c_str(), object(c.record).c_str(),
                    std::string(journal::to_string(c.record.verdict)).c_str(), c.record.rule.c_str(),
                    std::string(to_string(c.now.decision)).c_str(),
                    c.now.rule_id.c_str());
    return rr.newly_denied() ? kExitNo : kExitOk;
}

}  // namespace stockade::cli
