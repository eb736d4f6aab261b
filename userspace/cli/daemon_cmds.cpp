#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "control/protocol.hpp"
#include "enforce/landlock.hpp"
#include "policy/policy.hpp"
#include "journal/reader.hpp"

namespace stockade::cli {

namespace {

std::optional<control::Status> fetch_status(const std::string& socket) {
    control::Request req;
    req.op = "status";
    auto resp = control::call(socket, req);
    if (!resp.ok) {
        std::fprintf(stderr, "stockaded refused: %s\n", resp.error.c_str());
        return std::nullopt;
    }
    return control::decode_status(resp.body);
}

void print_counts(const char* title, const std::map<std::string, uint64_t>& counts) {
    std::vector<std::pair<uint64_t, std::string>> rows;
    for (auto& [k, n] : counts) rows.emplace_back(n, k);
    std::sort(rows.rbegin(), rows.rend());
    std::printf("%s:%s\n", title, rows.empty() ? " none" : "");
    for (size_t i = 0; i < rows.size() && i < 15; ++i)
        std::printf("  %8llu  %s\n", (unsigned long long)rows[i].first, rows[i].second.c_str());
    if (rows.size() > 15) std::printf("  ... %zu more\n", rows.size() - 15);
}

// Model calls and the intent behind actions (judge/counters.hpp names the keys).
void print_model_calls(const std::map<std::string, uint64_t>& llm) {
    auto n = [&](const char* key) {
        auto it = llm.find(key);
        return (unsigned long long)(it == llm.end() ? 0 : it->second);
    };
    std::printf("model calls:  %llu (%llu tokens in, %llu out; %llu not seen whole), %llu tool uses requested\n",
                n("model calls"), n("tokens in"), n("tokens out"), n("model calls not seen whole"),
                n("tool uses requested"));
    std::printf("intent:       %llu actions with a model intent (%llu denied), %llu without (%llu denied)\n",
                n("actions with intent"), n("actions with intent denied"), n("actions without intent"),
                n("actions without intent denied"));
    std::map<std::string, uint64_t> by_model;
    for (auto& [k, v] : llm)
        if (k.rfind("calls ", 0) == 0) by_model[k.substr(6)] = v;
    if (!by_model.empty()) print_counts("model calls by provider and model", by_model);
}

// The tools an agent can reach: executables on this host that its exec.allow rules admit and
// its exec.deny rules do not.
void print_reachable(const std::string& file, const std::string& agent) {
    auto loaded = policy::load_boundaries({file});
    const policy::Boundary* b = loaded.set ? loaded.set->find(agent) : nullptr;
    if (!b) return;
    std::set<std::string> found;
    auto denied = [&](const std::string& p) {
        for (auto& r : b->exec.deny)
            if (r.matches(p)) return true;
        return false;
    };
    for (auto& r : b->exec.allow) {
        std::string base = r.pattern.substr(0, r.pattern.find_first_of("*?["));
        base = base.substr(0, base.find_last_of('/') + 1);
        std::error_code ec;
        if (r.kind() == policy::PatternKind::Exact) {
            if (std::filesystem::exists(r.pattern, ec) && !denied(r.pattern)) found.insert(r.pattern);
            continue;
        }
        size_t scanned = 0;
        for (auto it = std::filesystem::recursive_directory_iterator(base, ec);
             !ec && it != std::filesystem::recursive_directory_iterator() && scanned < 20000; it.increment(ec), ++scanned) {
            if (!it->is_regular_file(ec)) continue;
            std::string p = it->path().string();
            if (r.matches(p) && !denied(p) && access(p.c_str(), X_OK) == 0) found.insert(p);
        }
    }
    std::printf("tools reachable: %zu executable(s) on this host\n", found.size());
    size_t i = 0;
    for (auto& p : found) {
        if (i++ == 15) {
            std::printf("  ... %zu more\n", found.size() - 15);
            break;
        }
        std::printf("  %s\n", p.c_str());
    }
    // MCP servers and HTTP APIs: reachable as the boundary names them (a server is known only
    // once it runs; offered tools are listed below from tools/list answers).
    for (auto& r : b->mcp_tools) {
        std::string allow, deny;
        for (auto& a : r.allow) allow += (allow.empty() ? "" : ", ") + a;
        for (auto& d : r.deny) deny += (deny.empty() ? "" : ", ") + d;
        std::printf("MCP server %s (%s): allow [%s] deny [%s]\n", r.server.empty() ? "*" : r.server.c_str(),
                    r.id.c_str(), allow.c_str(), deny.c_str());
    }
    for (auto& r : b->http_tools) {
        std::string allow, deny;
        for (auto& a : r.allow) allow += (allow.empty() ? "" : ", ") + a.text;
        for (auto& d : r.deny) deny += (deny.empty() ? "" : ", ") + d.text;
        std::printf("HTTP host %s (%s): allow [%s] deny [%s]\n", r.host.empty() ? "*" : r.host.c_str(), r.id.c_str(),
                    allow.c_str(), deny.c_str());
    }
}

// Per agent, which kinds of action a violation is stopped before, at the syscall's exit, or not
// at all (`stockade agents show NAME` explains each).
void print_stop_summary(const std::vector<control::AgentStatus>& agents) {
    if (agents.empty()) return;
    auto list = [](const std::vector<std::string>& v) {
        std::string s;
        for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
        return s.empty() ? std::string("-") : s;
    };
    std::printf("\nA VIOLATION IS STOPPED (stockade agents show NAME says how)\n");
    for (auto& a : agents) {
        std::printf("%-16s before it happens: %s\n", a.name.c_str(), list(a.stops_before).c_str());
        std::printf("%-16s at the syscall's exit: %s\n", "", list(a.stops_at_exit).c_str());
        if (!a.stops_after.empty()) std::printf("%-16s not stopped: %s\n", "", list(a.stops_after).c_str());
    }
}

}  // namespace

int cmd_reload(const std::string& socket) {
    control::Request req;
    req.op = "reload";
    // The daemon answers once the files are read and installed, which for a large set takes seconds.
    auto resp = control::call(socket, req, 60'000);
    if (!resp.ok) {
        // The daemon's answer names the file, line and column of the first error.
        std::fprintf(stderr, "stockaded kept the boundaries in force: %s\n", resp.error.c_str());
        return kExitNo;
    }
    std::printf("boundaries reloaded\n");
    return kExitOk;
}

int cmd_status(const std::string& socket, bool json) {
    try {
        control::Request req;
        req.op = "status";
        auto resp = control::call(socket, req);
        if (!resp.ok) {
            std::fprintf(stderr, "stockaded refused: %s\n", resp.error.c_str());
            return kExitDaemon;
        }
        if (json) {
            std::printf("%s\n", resp.body.c_str());
            return kExitOk;
        }
        auto s = control::decode_status(resp.body);
        std::printf("stockaded %s running, pid %u\n", s.version.c_str(), s.pid);
        std::printf("kernel:     %s\n", s.features.c_str());
        std::printf("programs:  ");
        for (auto& p : s.programs) std::printf(" %s", p.c_str());
        std::printf("\nevents:     %llu (%llu/s), lost %llu, undecodable %llu; kernel kills %llu, denies %llu\n",
                    (unsigned long long)s.events, (unsigned long long)s.events_per_s, (unsigned long long)s.lost,
                    (unsigned long long)s.bad_records, (unsigned long long)s.kernel_kills,
                    (unsigned long long)s.kernel_denies);
        std::printf("journal:    %s (%llu bytes)\n", s.journal_path.c_str(), (unsigned long long)s.journal_bytes);
        std::printf("boundaries: %s (last reload: %s%s)\n", s.agents_dir.c_str(), s.last_reload.c_str(),
                    s.reloading ? "; reading them again now" : "");
        std::printf("\n%-16s %-8s %-10s %8s %8s %8s %6s %6s  %s\n", "AGENT", "MODE", "ON-VIOL", "TRACKED", "EVENTS",
                    "VIOL", "KILLS", "DENIES", "IN KERNEL");
        for (auto& a : s.agents) {
            std::string k = std::string(a.exec_in_kernel ? "exec " : "") + (a.files_in_kernel ? "files " : "") +
                            (a.net_in_kernel ? "net" : "");
            std::printf("%-16s %-8s %-10s %8llu %8llu %8llu %6llu %6llu  %s\n", a.name.c_str(), a.mode.c_str(),
                        a.on_violation.c_str(), (unsigned long long)a.tracked, (unsigned long long)a.events,
                        (unsigned long long)a.violations, (unsigned long long)a.kills, (unsigned long long)a.denies,
                        k.empty() ? "-" : k.c_str());
        }
        print_stop_summary(s.agents);
        return kExitOk;
    } catch (const Error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return kExitDaemon;
    }
}

int cmd_agents(const std::string& socket, const std::string& journal, const std::string& show) {
    try {
        auto s = fetch_status(socket);
        if (!s) return kExitDaemon;
        for (auto& a : s->agents) {
            if (!show.empty() && a.name != show) continue;
            if (show.empty()) {
                std::printf("%-16s %-8s %s\n", a.name.c_str(), a.mode.c_str(), a.file.c_str());
                continue;
            }
            std::printf("agent:        %s\nboundary:     %s\nmode:         %s (on violation: %s)\n", a.name.c_str(),
                        a.file.c_str(), a.mode.c_str(), a.on_violation.c_str());
            std::printf("processes:    %llu tracked\nactions:      %llu events, %llu allowed, %llu violations, "
                        "%llu kills, %llu denies\n",
                        (unsigned long long)a.tracked, (unsigned long long)a.events, (unsigned long long)a.allowed,
                        (unsigned long long)a.violations, (unsigned long long)a.kills, (unsigned long long)a.denies);
            std::printf("in kernel:    exec %s, files %s, network %s, http %s\n", a.exec_in_kernel ? "yes" : "no",
                        a.files_in_kernel ? "yes" : "no", a.net_in_kernel ? "yes" : "no",
                        a.http_in_kernel ? "yes" : "no");
            for (auto& u : a.userspace_only) std::printf("userspace:    %s\n", u.c_str());
            std::printf("a violation is stopped:\n%s", a.stop_details.c_str());
            print_reachable(a.file, a.name);
            print_model_calls(a.llm);
            print_counts("tools invoked", a.tools_invoked);
            print_counts("tools denied", a.tools_denied);
            print_counts("files refused", a.files_denied);
            print_counts("destinations refused", a.destinations_denied);
            print_counts("files touched", a.files);
            print_counts("destinations", a.destinations);
            print_counts("rules fired", a.rules);
            print_counts("grants used (task grant: actions allowed)", a.grants_used);
            print_counts("MCP tools offered (server: tool)", a.mcp_offered);
            print_counts("MCP tools called (server: tool)", a.mcp_called);
            print_counts("MCP tools denied (server: tool)", a.mcp_denied);
            print_counts("HTTP requests", a.http_calls);
            print_counts("HTTP requests denied", a.http_denied);
            print_counts("TLS stacks seen (records)", a.tls_stacks);
            journal::Filter f;
            f.agent = a.name;
            std::printf("recent violations:\n");
            for (auto& r : journal::read_last(journal, 20, f)) {
                bool action = r.type == journal::RecordType::Decision || r.type == journal::RecordType::Tool;
                if (!action || r.verdict == journal::Verdict::Allow || r.verdict == journal::Verdict::None) continue;
                std::string object = !r.tool.empty() ? r.tool
                                     : r.path.empty() ? r.address + ":" + std::to_string(r.port)
                                                      : r.path;
                std::string verdict(journal::to_string(r.verdict));
                std::printf("  %s %-10s %-7s %s%s  %s\n", r.time.c_str(), verdict.c_str(), r.action.c_str(),
                            object.c_str(), r.exe.empty() ? "" : (" by " + r.exe).c_str(), r.rule.c_str());
            }
            return kExitOk;
        }
        if (!show.empty()) {
            std::fprintf(stderr, "unknown agent \"%s\"\n", show.c_str());
            return kExitNo;
        }
        return kExitOk;
    } catch (const Error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return kExitDaemon;
    }
}

}  // namespace stockade::cli
