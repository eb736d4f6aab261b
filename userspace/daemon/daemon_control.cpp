// The daemon's control requests (status, agents, run, reload) and its tasks: what `stockade`
// asks of a running stockaded. Part of class Daemon (daemon.hpp); the socket itself is served by
// control_server.cpp, from the main loop in daemon_loop.cpp.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "common/cgroup.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "daemon/daemon.hpp"
#include "enforce/landlock.hpp"
#include "enforce/stop_timing.hpp"
#include "policy/policy.hpp"

namespace stockade::daemon {

namespace fs = std::filesystem;

// Grants expire by themselves: journal it, and take their entries out of the kernel.
void Daemon::expire_tasks() {
    auto expired = tasks_.newly_expired(boot_ns());
    if (expired.empty()) return;
    for (Task* t : expired)
        for (auto& g : t->grants) {
            journal::Record r;
            r.type = journal::RecordType::Grant;
            r.agent = t->agent;
            r.task = t->id;
            r.grant = g.id;
            r.detail = std::string(t->ended ? "ended: " : "expired: ") + g.spec() +
                       (g.used ? " (was used)" : " (never used)");
            try {
                writer_->append(r);
            } catch (const Error& e) {
                spdlog::error("journal: {}", e.what());
            }
        }
    install_kernel_tables();
}

control::Response Daemon::handle_task(const control::Request& req, const std::string* only_agent) {
    control::Response resp;
    uint64_t now = boot_ns();
    if (req.op == "task-list") {
        std::vector<control::TaskInfo> out;
        for (auto& [id, t] : tasks_.tasks()) {
            if (only_agent && t.agent != *only_agent) continue;
            control::TaskInfo i;
            i.id = t.id;
            i.agent = t.agent;
            i.label = t.label;
            i.state = t.ended ? "ended" : t.live(now) ? "live" : "expired";
            i.expires_in_ms = t.expires_ns ? (t.expires_ns > now ? int64_t((t.expires_ns - now) / 1'000'000) : 0) : -1;
            for (auto& g : t.grants) i.grants.push_back(g.spec() + (g.used ? " (used)" : ""));
            out.push_back(std::move(i));
        }
        resp.body = control::encode(out);
        return resp;
    }
    if (req.op == "task-end") {
        if (!tasks_.end(req.task, now)) {
            resp.ok = false;
            resp.error = "no live task \"" + req.task + "\"";
            return resp;
        }
        expire_tasks();
        return resp;
    }
    // task-begin
    const policy::Boundary* b = pipeline_->policy()->find(req.agent);
    if (!b) throw Error(unknown_agent(req.agent));
    Task& t = tasks_.begin(*b, req.grants, req.confines, req.ttl_ms * 1'000'000, req.label, now);
    for (auto& g : t.grants) {
        journal::Record r;
        r.type = journal::RecordType::Grant;
        r.agent = t.agent;
        r.task = t.id;
        r.grant = g.id;
        r.detail = "issued: " + g.spec() +
                   (req.ttl_ms ? ", ttl " + std::to_string(req.ttl_ms) + " ms" : ", until ended") +
                   (t.label.empty() ? "" : ", label: " + t.label);
        writer_->append(r);
    }
    install_kernel_tables();
    spdlog::info("agent={} task={} begun with {} grant(s)", t.agent, t.id, t.grants.size());
    control::TaskInfo i;
    i.id = t.id;
    i.agent = t.agent;
    i.token = t.token;
    resp.body = control::encode(std::vector<control::TaskInfo>{i});
    return resp;
}

namespace {

// One agent's counters as `stockade status` and `agents show` report them.
void fill_counts(control::AgentStatus& a, const judge::AgentCounters& c) {
    a.events = c.events;
    a.allowed = c.allowed;
    a.violations = c.violations;
    a.kills = c.kills;
    a.denies = c.denies;
    a.tools_invoked = c.tools_invoked.counts;
    a.tools_denied = c.tools_denied.counts;
    a.files = c.files.counts;
    a.files_denied = c.files_denied.counts;
    a.destinations = c.destinations.counts;
    a.destinations_denied = c.destinations_denied.counts;
    a.rules = c.rules.counts;
    a.mcp_offered = c.mcp_offered.counts;
    a.mcp_called = c.mcp_called.counts;
    a.mcp_denied = c.mcp_denied.counts;
    a.http_calls = c.http_calls.counts;
    a.http_denied = c.http_denied.counts;
    a.tls_stacks = c.tls_stacks.counts;
    a.actions = c.actions.counts;
    a.grants_used = c.grants_used.counts;
    a.llm = c.llm.counts;
}

}  // namespace

control::Status Daemon::status() const {
    control::Status s;
    s.pid = static_cast<uint32_t>(getpid());
    s.version = "0.1.0";
    s.features = probe_->features().summary();
    std::string tls;
    for (auto& f : probe_->tls_libraries()) tls += (tls.empty() ? "" : ",") + f;
    s.features += "\ntls uprobes: " + (!cfg_.tls_uprobes ? std::string("off (tls_uprobes: false)")
                                       : tls.empty()      ? std::string("none (no libssl.so.3 found)")
                                                          : tls + " (attached while agents are tracked)");
    s.features += "\ngo crypto/tls uprobes: " +
                  (!cfg_.tls_uprobes || !cfg_.tls_go
                       ? std::string("off (tls_go: false)")
                       : "per agent process running a Go program (" + std::to_string(probe_->go_tls_processes()) +
                             " now)");
    s.programs = probe_->attached();
    auto kc = probe_->counters();
    s.events = pipeline_->events();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    s.events_per_s = secs > 0 ? static_cast<uint64_t>(s.events / secs) : 0;
    s.lost = kc.lost;
    s.kernel_kills = kc.kills;
    s.kernel_denies = kc.denies;
    s.ring_pending = kc.ring_pending;
    s.ring_size = kc.ring_size;
    s.bad_records = pipeline_->bad_records();
    s.journal_path = writer_->path();
    std::error_code ec;
    s.journal_bytes = fs::file_size(writer_->path(), ec);
    s.agents_dir = cfg_.agents_dir;
    s.last_reload = last_reload_;
    s.reloading = loader_ && loader_->busy();
    for (auto& b : pipeline_->policy()->agents()) {
        control::AgentStatus a;
        a.name = b->name;
        a.mode = std::string(to_string(b->mode));
        a.file = b->file;
        a.on_violation = std::string(to_string(b->on_violation));
        a.tracked = table_.tracked_count(b->name);
        if (auto it = pipeline_->counters().find(b->name); it != pipeline_->counters().end())
            fill_counts(a, it->second);
        for (auto& k : kernel_state_)
            if (k.agent == b->name) {
                a.exec_in_kernel = k.enforce && k.exec_strict;
                a.net_in_kernel = k.enforce && k.net_strict;
                a.files_in_kernel = k.enforce && k.file_strict;
                a.http_in_kernel = k.enforce && k.http_strict;
                a.userspace_only = k.userspace_only;
                auto stops = enforce::stop_timing(*b, k);  // a task's overlay says the same as its agent
                a.stops_before.clear();
                a.stops_at_exit.clear();
                a.stops_after.clear();
                for (auto& l : stops)
                    (l.when == enforce::StopWhen::Before   ? a.stops_before
                     : l.when == enforce::StopWhen::AtExit ? a.stops_at_exit
                                                           : a.stops_after)
                        .push_back(l.action);
                a.stop_details = enforce::format_stop_timing(stops, "  ");
            }
        s.agents.push_back(std::move(a));
    }
    return s;
}

std::string Daemon::unknown_agent(const std::string& agent) const {
    std::string known;
    for (auto& a : table_.agents()) known += (known.empty() ? "" : ", ") + a.name;
    return "unknown agent \"" + agent + "\" (agents in force: " + (known.empty() ? "none" : known) + ")";
}

// The Landlock plan of an agent's boundary in force (of --agent, or of the task's agent), for
// `stockade run`: planned here from what is enforced, not from a file the launcher would read.
control::Response Daemon::landlock_plan(const control::Request& req) {
    control::Response resp;
    std::string agent = req.agent;
    if (agent.empty() && !req.task.empty())
        if (const Task* t = tasks_.find(req.task)) agent = t->agent;
    const policy::Boundary* b = pipeline_->policy()->find(agent);
    if (!b) {
        resp.ok = false;
        resp.error = agent.empty() ? "no live task \"" + req.task + "\" (stockade task list)" : unknown_agent(agent);
        return resp;
    }
    resp.body = enforce::encode_plan(enforce::plan_landlock(*b, enforce::landlock_abi()));
    return resp;
}

std::optional<control::Response> Daemon::handle(const control::Request& req, const ControlServer::Peer& peer,
                                                uint64_t ticket) {
    control::Response resp;
    auto refuse = [&](const std::string& why) {
        resp.ok = false;
        resp.error = why;
        return resp;
    };
    // An agent process, whatever its uid, may only ask about itself (daemon_self.cpp).
    if (auto agent = agent_of_peer(peer.pid)) return handle_from_agent(req, *agent, peer.pid);
    if (req.op == "status" || req.op == "agents") {
        resp.body = control::encode(status());
        return resp;
    }
    if (req.op == "approvals" || req.op == "approve" || req.op == "deny") return handle_approvals(req, peer);
    if (peer.uid != 0) return refuse("only root may use \"" + req.op + "\"");
    if (req.op == "reload") {
        reload({"control socket", true, false, {ticket}});
        return std::nullopt;  // answered when the files are read and installed (finish_reload)
    }
    if (req.op.rfind("task-", 0) == 0) {
        try {
            auto resp = handle_task(req);
            save_state_if_changed();  // a restarted daemon finds the task and its grants
            return resp;
        } catch (const Error& e) {
            return refuse(e.what());
        }
    }
    if (req.op == "landlock") return landlock_plan(req);
    if (req.op == "run") {
        std::string agent = req.agent;
        uint32_t kernel_id = 0;
        if (!req.task.empty()) {
            Task* t = tasks_.find(req.task);
            if (!t || t->ended) return refuse("no live task \"" + req.task + "\" (stockade task list)");
            if (!agent.empty() && agent != t->agent)
                return refuse("task " + t->id + " belongs to agent " + t->agent + ", not " + agent);
            if (!req.token.empty() && req.token != t->token) return refuse("wrong token for task " + t->id);
            agent = t->agent;
            kernel_id = t->kernel_id;
        }
        if (!table_.agent_by_name(agent)) return refuse(unknown_agent(agent));
        std::string rel = cfg_.cgroup_base + "/" + agent + "/" + (req.task.empty() ? "" : req.task + "-") + "run-" +
                          std::to_string(req.pid);
        try {
            cgroup::create(rel);
            launcher_cgroups_.insert(rel);
            register_cgroup(rel, agent, req.task, true, kernel_id);
            cgroup::move(rel, static_cast<pid_t>(req.pid));
            if (req.notify_fd >= 0) gate_->adopt_from(static_cast<pid_t>(req.pid), req.notify_fd, agent, req.task);
        } catch (const Error& e) {
            return refuse(e.what());
        }
        resp.body = rel;  // the launcher's scope (its Landlock plan came from `landlock`)
        return resp;
    }
    return refuse("unknown request \"" + req.op + "\"");
}

}  // namespace stockade::daemon
