// stockaded: owns the probes, the kernel tables, the process table, the policy in force, the
// journal and the control socket, and runs the main loop around them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "control/protocol.hpp"
#include "policy/boundary_loader.hpp"
#include "daemon/config.hpp"
#include "daemon/control_server.hpp"
#include "control/metrics.hpp"
#include "judge/latency_sink.hpp"
#include "enforce/rule_files.hpp"
#include "scope/saved_state.hpp"
#include "enforce/kernel_tables.hpp"
#include "identity/process_table.hpp"
#include "journal/writer.hpp"
#include "judge/pipeline.hpp"
#include "probe/probe.hpp"
#include "scope/tasks.hpp"
#include "enforce/never_pins.hpp"
#include "enforce/mutation_gate.hpp"

namespace stockade::daemon {

// The stages the daemon wires together.
using judge::Actuator;
using judge::Pipeline;
using scope::Task;
using scope::TaskRegistry;

// Self-protection (daemon_self.cpp): signals that mean nothing to the daemon are ignored, so a
// signal an agent sends cannot end or stop it (SIGKILL, SIGSTOP and the crash signals aside).
void ignore_meaningless_signals();
// (dev, inode) of a path, (0, 0) when it cannot be read.
std::pair<uint64_t, uint64_t> file_identity(const std::string& path);

class Daemon {
public:
    // Loads the boundaries (a broken one is an error naming file, line and column), loads and
    // attaches the probes, opens the journal and the control socket. Throws stockade::Error.
    explicit Daemon(Config cfg);
    ~Daemon();

    // Runs until SIGTERM/SIGINT (or stop()). SIGHUP reloads the boundaries.
    void run();
    void stop() { stop_ = true; }

private:
    Actuator make_actuator();  // daemon/wiring.cpp
    // Reloads run in two halves: the files are read off the loop (policy::BoundaryLoader), then installed.
    // An operator's request (SIGHUP, `stockade reload`) alone may remove agents.
    void reload(policy::BoundaryLoader::Job job);
    void finish_reload();
    void conclude_reload(const policy::BoundaryLoader::Done& done, const std::string& refused);
    void install_policy(std::shared_ptr<const policy::PolicySet> set);
    void discover_cgroups();
    void register_cgroup(const std::string& rel, const std::string& agent, const std::string& task, bool launcher,
                         uint32_t kernel_id = 0);
    void reap_launcher_cgroups();
    // Containers (daemon_containers.cpp).
    bool wants_containers() const;
    void discover_containers();
    void container_cgroup_seen(const std::string& rel);
    void remove_launcher_cgroup(const std::string& rel);
    // nullopt: answered later through ControlServer::complete(ticket) (a reload).
    std::optional<control::Response> handle(const control::Request& req, const ControlServer::Peer& peer,
                                            uint64_t ticket);
    // on_violation: ask (daemon_approvals.cpp).
    control::Response handle_approvals(const control::Request& req, const ControlServer::Peer& peer);
    bool in_agent_cgroup(uint32_t pid) const;
    // Self-protection (daemon_self.cpp).
    std::optional<std::string> agent_of_peer(uint32_t pid) const;
    control::Response handle_from_agent(const control::Request& req, const std::string& agent, uint32_t pid);
    bool signal_from_agent(uint32_t sender_pid, uint32_t signo);
    void check_stops();
    void journal_self(const std::string& agent, uint32_t pid, const std::string& action, const std::string& detail);
    bool agents_dir_replaced() const;
    control::Status status() const;
    void check_lost();
    void read_signals();
    void read_inotify(std::chrono::steady_clock::time_point now);
    void every_second();
    void journal_daemon(const std::string& detail);
    void resolve_loop();
    std::vector<std::string> protected_paths() const;
    void follow_journal_inode();
    void follow_control_socket();
    void install_kernel_tables();
    void keep_never(const Event& e, const std::string& agent, const std::string& rule);
    void drop_gone_pins();
    void write_metrics();
    control::Response handle_task(const control::Request& req, const std::string* only_agent = nullptr);
    control::Response landlock_plan(const control::Request& req);
    std::string unknown_agent(const std::string& agent) const;  // the refusal, naming the agents in force
    void expire_tasks();
    // Restart (daemon_state.cpp): what the previous daemon left, taken over.
    void restore_agent_ids();
    void restore_tasks();
    void readopt_launcher_scopes();
    void save_state_if_changed();
    void finish_takeover();

    Config cfg_;
    std::unique_ptr<probe::Probe> probe_;
    std::unique_ptr<enforce::KernelTables> tables_;
    std::unique_ptr<journal::Writer> writer_;
    identity::ProcessTable table_;
    TaskRegistry tasks_;
    std::unique_ptr<Pipeline> pipeline_;
    control::LatencyHistogram latency_;
    std::unique_ptr<judge::LatencySink> timed_;  // the pipeline, with its verdict latency observed
    bool metrics_warned_ = false;
    std::map<std::string, uint32_t> agent_ids_;  // stable across reloads and restarts (state_dir)
    std::optional<scope::SavedState> restored_;         // what the previous daemon saved, until applied
    std::string saved_text_;                     // the state last written
    std::vector<enforce::AgentKernelState> kernel_state_;
    enforce::NeverPins never_pins_;  // never files renamed or linked (keep_never)
    uint64_t journal_ino_ = 0;  // the live journal file's inode the kernel tables protect
    std::map<uint64_t, std::string> registered_;      // cgroup id -> path
    std::set<std::string> launcher_cgroups_;         // created by `stockade run`
    std::unique_ptr<enforce::MutationGate> gate_;  // launched agents' syscalls judged before they run
    std::unique_ptr<ControlServer> control_;
    std::unique_ptr<policy::BoundaryLoader> loader_;
    int signal_fd_ = -1;
    int inotify_fd_ = -1;
    enforce::RuleFileWatch rule_files_;  // files the kernel tables hold by inode, followed when replaced
    std::optional<std::chrono::steady_clock::time_point> reload_due_;
    std::atomic<bool> stop_{false};
    uint64_t lost_seen_ = 0;
    std::map<uint32_t, uint64_t> lost_seen_by_id_;  // the kernel's per kernel id loss counts, journaled
    uint64_t stops_seen_ = 0;                    // stop signals the kernel cancelled, journaled
    std::pair<uint64_t, uint64_t> agents_dir_id_{};  // (dev, inode) of agents_dir at start
    std::string last_reload_ = "ok";
    std::chrono::steady_clock::time_point started_;

    // Host-name resolution thread.
    std::thread resolver_;
    std::mutex resolve_mu_;
    std::condition_variable resolve_cv_;
    std::shared_ptr<const policy::PolicySet> resolve_set_;
    bool resolve_now_ = false, resolve_stop_ = false;
    std::atomic<bool> hosts_changed_{false};
};

}  // namespace stockade::daemon
