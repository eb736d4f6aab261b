// The daemon's own part of self-protection (the kernel's is bpf/self.bpf.h): signals that mean
// nothing to it are ignored, a signal an agent sent is recognised and ignored, a stop the kernel
// cancelled is journaled, and an agent process on the control socket may only ask about itself.
// Part of class Daemon (daemon.hpp).
#include <signal.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/error.hpp"
#include "daemon/daemon.hpp"

namespace stockade::daemon {

// Default action "terminate" or "stop", and no use in the daemon: ignored, so that an agent
// sending one changes nothing (an ignored signal is discarded when it is sent). SIGHUP, SIGTERM
// and SIGINT are read from the signalfd, sender known. SIGKILL and SIGSTOP cannot be ignored;
// SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP and SIGSYS keep their default: they are how
// a real crash, abort() and systemd's watchdog (SIGABRT) end the process.
void ignore_meaningless_signals() {
    const int signals[] = {SIGQUIT, SIGUSR1, SIGUSR2,   SIGPIPE, SIGALRM, SIGVTALRM, SIGPROF, SIGIO,
                           SIGPWR,  SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGTSTP, SIGTTIN,   SIGTTOU};
    for (int s : signals) signal(s, SIG_IGN);
    for (int s = SIGRTMIN; s <= SIGRTMAX; ++s) signal(s, SIG_IGN);
}

std::pair<uint64_t, uint64_t> file_identity(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return {0, 0};
    return {st.st_dev, st.st_ino};
}

bool Daemon::agents_dir_replaced() const {
    return agents_dir_id_.second != 0 && file_identity(cfg_.agents_dir) != agents_dir_id_;
}

// The agent a process belongs to: the kernel's tracking table first (what the kernel attests;
// every process of an agent is in it from its first hooked syscall, such as the connect to this
// socket), then the daemon's process table. A task's processes carry the task's kernel id.
std::optional<std::string> Daemon::agent_of_peer(uint32_t pid) const {
    if (pid == 0) return std::nullopt;
    if (auto id = probe_->tracked_agent(pid)) {
        for (auto& [name, aid] : agent_ids_)
            if (aid == *id) return name;
        for (auto& [tid, t] : tasks_.tasks())
            if (t.kernel_id == *id) return t.agent;
        return "#" + std::to_string(*id);  // tracked, by an agent no longer in force
    }
    if (const identity::Process* p = table_.find_live_pid(pid); p && !p->agent.empty()) return p->agent;
    return std::nullopt;
}

// Queries about itself are answered (status and agents list only its own agent, task list only
// its tasks); anything else is refused and journaled, whatever the peer's uid.
control::Response Daemon::handle_from_agent(const control::Request& req, const std::string& agent, uint32_t pid) {
    control::Response resp;
    if (req.op == "status" || req.op == "agents") {
        control::Status s = status();
        std::erase_if(s.agents, [&](const control::AgentStatus& a) { return a.name != agent; });
        resp.body = control::encode(s);
        return resp;
    }
    if (req.op == "task-list") return handle_task(req, &agent);
    resp.ok = false;
    resp.error = "refused: pid " + std::to_string(pid) + " is a process of agent " + agent +
                 ", and an agent may only ask about itself (status, agents, task list), not \"" + req.op + "\"";
    std::string detail = "control request \"" + req.op + "\"" + (req.agent.empty() ? "" : " for agent " + req.agent) +
                         " from an agent process refused";
    spdlog::warn("agent={} pid={}: {}", agent, pid, detail);
    journal_self(agent, pid, "control", detail);
    return resp;
}

// A signal from an agent process (the kernel killed its sender at the send and noted it, since
// the sender may be gone from the tracking table by now): ignored. The kernel's record of it is
// journaled by the pipeline.
bool Daemon::signal_from_agent(uint32_t sender_pid, uint32_t signo) {
    std::optional<uint32_t> id = probe_->take_agent_signal(sender_pid);
    if (!id) id = probe_->tracked_agent(sender_pid);
    if (!id) return false;
    spdlog::warn("signal {} from pid {} (an agent process, killed by the kernel) ignored", signo, sender_pid);
    return true;
}

// A SIGSTOP (or a stop PTRACE_ATTACH left) reached the daemon: the kernel woke it at once.
void Daemon::check_stops() {
    uint64_t n = probe_->stops_cancelled();
    if (n <= stops_seen_) return;
    std::string detail = "a stop signal reached stockaded " + std::to_string(n - stops_seen_) +
                         " time(s) and the kernel continued it (SIGCONT) at once";
    spdlog::warn("{}", detail);
    journal_daemon(detail);
    stops_seen_ = n;
}

void Daemon::journal_self(const std::string& agent, uint32_t pid, const std::string& action,
                          const std::string& detail) {
    journal::Record r;
    r.agent = agent;
    r.pid = pid;
    r.action = action;
    r.verdict = journal::Verdict::Deny;
    r.rule = "builtin:self-protection";
    r.enforcement = journal::Enforcement::RefusedByDaemon;
    r.detail = detail;
    try {
        writer_->append(r);
    } catch (const Error& e) {
        spdlog::error("journal: {}", e.what());
    }
}

}  // namespace stockade::daemon
