// The daemon's main loop. Every turn reads a bounded share of the ring buffer, then the
// signals, the control socket and the timers, so none of them waits on the event rate: under a
// flood the ring is read in consecutive turns (records stay in the ring meanwhile; none is
// dropped by stopping early), and `stockade status`, SIGTERM and the watchdog are still
// served within a turn. Part of class Daemon (daemon.hpp).
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/sched.hpp"
#include "daemon/daemon.hpp"

namespace stockade::daemon {

namespace {

using Clock = std::chrono::steady_clock;

// The share of the ring one turn reads: a turn then lasts a few ms at most, whatever the rate.
constexpr size_t kRecordsPerTurn = 4096;
constexpr std::chrono::microseconds kRingTimePerTurn{10'000};
// At shutdown, what is left in the ring is read for at most this long (SIGTERM must end the
// daemon within a second even under a flood).
constexpr std::chrono::microseconds kFinalDrain{300'000};

// The kill latency's tail is scheduling: a woken daemon can wait a whole tick (4 ms at HZ=250)
// behind a busy task. Asking EEVDF for a short slice (0.1 ms) for the event loop cut the
// measured p99 from 2.8 ms to ~0.4 ms (docs/performance.md); it needs no privilege.
void request_short_slice() {
    if (!set_sched_slice(0, 100'000)) spdlog::debug("sched_setattr (short slice): {}", std::strerror(errno));
}

}  // namespace

void Daemon::check_lost() {
    auto c = probe_->counters();
    if (c.lost <= lost_seen_) return;
    uint64_t total = c.lost - lost_seen_;
    lost_seen_ = c.lost;
    // The kernel counts per kernel id (agent or task) too; its owner names the agent and task.
    std::vector<Pipeline::AgentLoss> per_agent;
    for (auto& [id, owner] : tables_->owners()) {
        uint64_t now = probe_->lost_for(id);
        uint64_t& seen = lost_seen_by_id_[id];
        if (now <= seen) continue;
        Pipeline::AgentLoss loss;
        auto slash = owner.find('/');
        loss.agent = owner.substr(0, std::min(slash, owner.find(' ')));
        if (slash != std::string::npos) loss.task = owner.substr(slash + 1);
        loss.count = now - seen;
        seen = now;
        per_agent.push_back(std::move(loss));
    }
    pipeline_->journal_lost(total, per_agent);
}

void Daemon::read_signals() {
    signalfd_siginfo si{};
    while (read(signal_fd_, &si, sizeof si) == sizeof si) {
        if (signal_from_agent(si.ssi_pid, si.ssi_signo)) continue;  // its sender is dead: ignored
        if (si.ssi_signo == SIGHUP) {
            sd_notify(0, "RELOADING=1");
            reload({"SIGHUP", true, true, {}});  // READY=1 once installed (conclude_reload)
        } else {
            stop_ = true;
        }
    }
}

void Daemon::read_inotify(Clock::time_point now) {
    char buf[4096];
    while (read(inotify_fd_, buf, sizeof buf) > 0) {
    }
    reload_due_ = now + std::chrono::milliseconds(200);  // let a burst of edits settle first
}

void Daemon::every_second() {
    check_lost();
    check_stops();
    discover_cgroups();
    reap_launcher_cgroups();
    probe_->release_syscall_hook_if_idle();
    table_.reap(boot_ns());
    write_metrics();
    save_state_if_changed();
    follow_journal_inode();  // a rotation gave the live journal a new inode: protect it
    follow_control_socket();
    drop_gone_pins();
}

// An agent that unlinked or replaced the control socket is killed after the call: bind it again
// (operators' `stockade` would find nothing there) and protect the new inode.
void Daemon::follow_control_socket() {
    try {
        if (!control_->rebind_if_gone()) return;
    } catch (const Error& e) {
        spdlog::error("{}", e.what());
        return;
    }
    spdlog::warn("control socket {} was gone or replaced: bound again", cfg_.socket_path);
    install_kernel_tables();
    pipeline_->set_protected(protected_paths());
}

void Daemon::run() {
    request_short_slice();
    sd_notify(0, "READY=1\nSTATUS=probes attached, boundaries loaded");
    uint64_t watchdog_usec = 0;
    bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
    auto last_ping = Clock::now(), last_slow = last_ping, last_summary = last_ping;
    bool backlog = false;
    std::vector<pollfd> fds;
    while (!stop_) {
        fds = {{probe_->ring_fd(), POLLIN, 0},
               {signal_fd_, POLLIN, 0},
               {inotify_fd_, POLLIN, 0},
               {rule_files_.fd(), POLLIN, 0},
               {loader_->fd(), POLLIN, 0}};
        control_->add_pollfds(fds);
        size_t gate_at = fds.size();
        gate_->add_pollfds(fds);
        ::poll(fds.data(), fds.size(), backlog ? 0 : 50);  // records left: no waiting
        probe_->beat();  // the kernel fails closed when these stop (SK_DAEMON_STALE_NS)
        probe_->poll(*timed_, 0, kRecordsPerTurn, kRingTimePerTurn);
        backlog = probe_->backlog();
        if (fds[1].revents & POLLIN) read_signals();
        if ((fds[3].revents & POLLIN) && rule_files_.changed()) {
            spdlog::info("a file named by a rule was replaced, or one in a denied tree changed (a new hard link?): "
                         "kernel tables planned again");
            if (auto set = pipeline_->policy())  // new files in a denied tree: watched from now on
                rule_files_.watch(enforce::inode_named_paths(*set), enforce::denied_trees(*set));
            install_kernel_tables();  // the new inode into the tables, the old one out
        }
        if (fds[4].revents & POLLIN) finish_reload();  // before serve(): its answers go out this turn
        gate_->serve(&fds[gate_at]);  // after the ring: the table knows the callers' forks and execs
        control_->serve(&fds[5]);
        expire_tasks();  // cheap; keeps TTLs exact to the loop's turn
        pipeline_->expire_approvals(boot_ns());  // on_violation: ask: a timeout denies
        auto now = Clock::now();
        if (fds[2].revents & POLLIN) read_inotify(now);
        if (reload_due_ && now >= *reload_due_) {
            reload_due_.reset();
            reload({"boundary files changed", false, false, {}});
        }
        if (watchdog && now - last_ping > std::chrono::microseconds(watchdog_usec / 2)) {
            sd_notify(0, "WATCHDOG=1");
            last_ping = now;
        }
        if (now - last_slow > std::chrono::seconds(1)) {
            last_slow = now;
            every_second();
        }
        if (hosts_changed_.exchange(false)) install_kernel_tables();  // new addresses for host rules
        if (now - last_summary > std::chrono::seconds(cfg_.summary_interval_s)) {
            last_summary = now;
            pipeline_->flush_summaries();
        }
    }
    sd_notify(0, "STOPPING=1");
    probe_->poll(*timed_, 0, 0, kFinalDrain);
    if (probe_->backlog()) {
        std::string why = "stopping with records still in the ring buffer after reading it for " +
                          std::to_string(kFinalDrain.count() / 1000) + " ms: they are not journaled";
        spdlog::warn("{}", why);
        journal_daemon(why);
    }
    check_lost();
}

}  // namespace stockade::daemon
