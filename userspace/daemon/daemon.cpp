#include "daemon/daemon.hpp"

#include <sys/inotify.h>

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/cgroup.hpp"
#include "common/container.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "enforce/kill.hpp"
#include "identity/procfs.hpp"
#include "journal/files.hpp"
#include "policy/resolve.hpp"
#include "policy/policy.hpp"
#include "stockade/events.h"

namespace stockade::daemon {

namespace fs = std::filesystem;

namespace {

identity::AgentMatch to_match(const policy::Boundary& b, uint32_t id) {
    identity::AgentMatch m;
    m.name = b.name;
    m.id = id;
    m.units = b.match.units;
    m.cgroups = b.match.cgroups;
    m.container = b.match.container;
    m.exe = b.match.exe;
    m.uid = b.match.uid;
    return m;
}

}  // namespace

Daemon::Daemon(Config cfg) : cfg_(std::move(cfg)), started_(std::chrono::steady_clock::now()) {
    // The signals the main loop reads from its signalfd are blocked before any thread starts
    // (the journal's flusher, the resolver): a thread created with them unblocked would take a
    // SIGHUP's default action and end the daemon on `systemctl reload`.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, nullptr);
    ignore_meaningless_signals();
    auto set = policy::load_or_throw(cfg_.agents_dir);
    agents_dir_id_ = file_identity(cfg_.agents_dir);

    fs::create_directories(fs::path(cfg_.journal.path).parent_path());
    writer_ = std::make_unique<journal::Writer>(cfg_.journal);

    probe::ProbeOptions po;
    po.ring_bytes = cfg_.ring_bytes;
    po.tls = cfg_.tls_uprobes;
    po.go_tls = cfg_.tls_go;
    po.tls_libraries = cfg_.tls_libraries;
    po.service_executors = cfg_.service_executors;
    po.pin_dir = cfg_.bpf_pin_dir;
    probe_ = std::make_unique<probe::Probe>(po);
    spdlog::info("kernel: {}", probe_->features().summary());
    if (!cfg_.tls_uprobes)
        spdlog::info("tls: uprobes off (tls_uprobes: false): HTTPS requests of agents are not seen");
    else if (probe_->tls_libraries().empty())
        spdlog::warn("tls: no libssl.so.3 found: HTTPS requests of agents are not seen");
    else
        for (auto& f : probe_->tls_libraries()) spdlog::info("tls: uprobes on {} while agents are tracked", f);
    if (cfg_.tls_uprobes && !cfg_.tls_go)
        spdlog::info("tls: Go crypto/tls not probed (tls_go: false): Go programs' HTTPS requests are not seen");
    tables_ = std::make_unique<enforce::KernelTables>(*probe_);

    pipeline_ = std::make_unique<Pipeline>(table_, make_actuator());
    timed_ = std::make_unique<judge::LatencySink>(*pipeline_, latency_);
    pipeline_->set_tasks(&tasks_);
    gate_ = std::make_unique<enforce::MutationGate>(pipeline_->gate_judge());
    restore_agent_ids();  // the pinned tables and tracked processes carry them
    install_policy(set);
    restore_tasks();

    fs::create_directories(fs::path(cfg_.socket_path).parent_path());
    control_ = std::make_unique<ControlServer>(cfg_.socket_path, cfg_.socket_group,
                                               [this](const control::Request& req, const ControlServer::Peer& peer,
                                                      uint64_t ticket) { return handle(req, peer, ticket); });
    loader_ = std::make_unique<policy::BoundaryLoader>(cfg_.agents_dir);
    install_kernel_tables();  // the socket exists now (and the tasks are back): protect its inode
    follow_journal_inode();
    readopt_launcher_scopes();
    finish_takeover();  // tables and tracking in: other builds' pins go, the heartbeat starts

    signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    // Reload when a boundary file changes (editors write a new file and rename it over).
    inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (inotify_fd_ < 0 || inotify_add_watch(inotify_fd_, cfg_.agents_dir.c_str(),
                                             IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE) < 0)
        spdlog::warn("not watching {} for changes ({}): reload with SIGHUP", cfg_.agents_dir, std::strerror(errno));

    // Last: a thread must not outlive a constructor that throws.
    resolver_ = std::thread([this] { resolve_loop(); });
    journal_daemon("started; probes: " + [&] {
        std::string s;
        for (auto& p : probe_->attached()) s += (s.empty() ? "" : ",") + p;
        return s;
    }());
}

// Name resolution can block for seconds when DNS is down: it runs here, never in the loop that
// drains the ring buffer. Until a name resolves, its rule matches nothing (deny by default).
void Daemon::resolve_loop() {
    std::unique_lock lk(resolve_mu_);
    while (!resolve_stop_) {
        resolve_cv_.wait_for(lk, std::chrono::seconds(60), [&] { return resolve_stop_ || resolve_now_; });
        if (resolve_stop_) break;
        resolve_now_ = false;
        auto set = resolve_set_;
        lk.unlock();
        bool changed = set && policy::refresh_hosts(*set);
        lk.lock();
        if (changed) hosts_changed_ = true;
    }
}

Daemon::~Daemon() {
    {
        std::lock_guard lk(resolve_mu_);
        resolve_stop_ = true;
    }
    resolve_cv_.notify_all();
    if (resolver_.joinable()) resolver_.join();
    control_.reset();
    if (signal_fd_ >= 0) close(signal_fd_);
    if (inotify_fd_ >= 0) close(inotify_fd_);
    if (pipeline_) pipeline_->flush_summaries();
    if (writer_) journal_daemon("stopped");
    for (auto& cg : launcher_cgroups_) remove_launcher_cgroup(cg);
}

// A launcher scope and, when they are left empty, the agent and base directories above it:
// the daemon leaves no cgroup it made behind.
void Daemon::remove_launcher_cgroup(const std::string& rel) {
    if (!cgroup::remove(rel, 0)) return;
    std::string dir = rel;
    for (int up = 0; up < 2; ++up) {
        auto slash = dir.rfind('/');
        if (slash == std::string::npos || slash == 0) break;
        dir = dir.substr(0, slash);
        if (dir.rfind(cfg_.cgroup_base, 0) != 0) break;  // only below cgroup_base, base included
        if (!cgroup::remove(dir, 0)) break;               // not empty: someone else's scope is there
    }
}

void Daemon::journal_daemon(const std::string& detail) {
    journal::Record r;
    r.type = journal::RecordType::Daemon;
    r.detail = detail;
    try {
        writer_->append(r);
    } catch (const Error& e) {
        spdlog::error("journal: {}", e.what());
    }
}

void Daemon::install_policy(std::shared_ptr<const policy::PolicySet> set) {
    std::vector<identity::AgentMatch> matches;
    for (auto& b : set->agents()) {
        auto it = agent_ids_.find(b->name);
        if (it == agent_ids_.end()) {
            uint32_t next = 1;  // above every id in use, restored ones included
            for (auto& [name, id] : agent_ids_) next = std::max(next, id + 1);
            it = agent_ids_.emplace(b->name, next).first;
        }
        matches.push_back(to_match(*b, it->second));
    }
    // Throws, before anything changes, if the kernel tables cannot hold the set.
    auto plan = tables_->plan(
        {set.get(), agent_ids_, protected_paths(), tasks_.kernel_grants(boot_ns()), never_pins_.pinned()});
    {
        std::lock_guard lk(resolve_mu_);
        resolve_set_ = set;
        resolve_now_ = true;
    }
    resolve_cv_.notify_all();
    // Kernel first (new allow entries before old ones go), then userspace, so no moment is
    // judged by neither set.
    kernel_state_ = tables_->apply(plan);
    rule_files_.watch(enforce::inode_named_paths(*set), enforce::denied_trees(*set));
    pipeline_->set_policy(set);
    // Unit names and cgroup paths, for the kernel's mkdir hook (no gap until the next scan).
    std::vector<std::tuple<uint32_t, std::string, uint32_t>> names;
    for (auto& m : matches) {
        for (auto& u : m.units) names.emplace_back(SK_CG_LEAF, u, m.id);
        for (auto& c : m.cgroups) names.emplace_back(SK_CG_PATH, c, m.id);
    }
    probe_->set_cgroup_names(names);
    table_.set_agents(std::move(matches));
    pipeline_->set_protected(protected_paths());
    for (auto& st : kernel_state_)
        spdlog::info("agent={} mode={} exec-in-kernel={} files-in-kernel={} net-in-kernel={} userspace-only-rules={}",
                     st.agent, st.enforce ? "enforce" : "monitor", st.exec_strict, st.file_strict, st.net_strict,
                     st.userspace_only.size());
    discover_cgroups();
}

// Prometheus textfile for the node exporter, rewritten atomically once a second.
void Daemon::write_metrics() {
    std::error_code ec;
    if (cfg_.metrics_dir.empty() || !fs::is_directory(cfg_.metrics_dir, ec)) return;  // off, or no node exporter
    try {
        control::write_textfile(cfg_.metrics_dir, control::render_metrics(status(), latency_));
        metrics_warned_ = false;
    } catch (const Error& e) {
        if (!metrics_warned_) spdlog::warn("{}", e.what());
        metrics_warned_ = true;
    }
}

// The set in force, with the current task overlays and host addresses. If the kernel cannot
// hold it, the tables in force stay (the kernel then refuses more, never less) and it is said.
void Daemon::install_kernel_tables() {
    try {
        kernel_state_ = tables_->install(*pipeline_->policy(), agent_ids_, protected_paths(),
                                         tasks_.kernel_grants(boot_ns()), never_pins_.pinned());
    } catch (const Error& e) {
        spdlog::error("kernel tables unchanged: {}", e.what());
        journal_daemon(std::string("kernel tables unchanged: ") + e.what());
    }
}

// What no agent may change: stockade's own files and directories (the boundaries, the journal
// with its lock and rotated files, the control socket, the config, the cgroup trees, the bpffs pins), never the
// directories that merely hold them: with the journal in /var/tmp, the rest of /var/tmp is the
// agents' as before.
std::vector<std::string> Daemon::protected_paths() const {
    std::vector<std::string> paths;
    auto canon = [](const std::string& p) {
        std::error_code ec;
        auto c = fs::canonical(p, ec);
        return ec ? p : c.string();
    };
    paths.push_back(canon(cfg_.agents_dir));
    std::string journal = canon(cfg_.journal.path);
    paths.push_back(journal);
    paths.push_back(journal + ".lock");
    for (auto& f : journal::rotated_files(journal)) paths.push_back(f);
    paths.push_back(canon(cfg_.socket_path));
    if (!cgroup::root().empty()) paths.push_back(cgroup::root());
    if (fs::is_directory("/sys/fs/cgroup")) paths.push_back("/sys/fs/cgroup");
    if (fs::is_directory("/etc/stockade")) paths.push_back("/etc/stockade");
    // The pinned programs, links and maps (bpf_pin_dir): an unlinked pin is a lost one.
    if (!cfg_.bpf_pin_dir.empty() && fs::is_directory(cfg_.bpf_pin_dir)) paths.push_back(canon(cfg_.bpf_pin_dir));
    return paths;
}

// The kernel protects files by inode: a rotation gives the journal a new live file (and a new
// rotated one), so the tables follow it.
void Daemon::follow_journal_inode() {
    struct stat sb {};
    if (stat(cfg_.journal.path.c_str(), &sb) != 0 || sb.st_ino == journal_ino_) return;
    bool first = journal_ino_ == 0;
    journal_ino_ = sb.st_ino;
    if (first) return;
    install_kernel_tables();
    pipeline_->set_protected(protected_paths());
}

// Asks the loader thread to read agents_dir again; finish_reload() installs what it read.
void Daemon::reload(policy::BoundaryLoader::Job job) {
    if (agents_dir_replaced()) {
        policy::BoundaryLoader::Done done{std::move(job), {}};
        return conclude_reload(done, "agents_dir " + cfg_.agents_dir +
                                         " is no longer the directory stockaded started with (mounted over, renamed or "
                                         "replaced); restart stockaded to load what is there now");
    }
    loader_->request(std::move(job));
}

void Daemon::finish_reload() {
    auto done = loader_->take();
    if (!done) return;
    auto& res = done->result;
    if (!res.ok()) return conclude_reload(*done, policy::format_diagnostics(res.diagnostics));
    // A change an agent could make (removing or renaming a boundary file) must not free it: only an
    // operator's reload removes an agent.
    if (!done->job.explicit_request)
        for (auto& b : pipeline_->policy()->agents())
            if (!res.set->find(b->name))
                return conclude_reload(*done, "agent " + b->name + " is in force but its boundary (" + b->file +
                                                  ") is gone; an explicit reload (stockade reload, SIGHUP) removes an "
                                                  "agent");
    auto t0 = std::chrono::steady_clock::now();
    try {
        install_policy(res.set);
    } catch (const Error& e) {
        return conclude_reload(*done, e.what());
    }
    spdlog::info("reload ({}): {} agents read in {:.0f} ms (off the loop), installed in {:.0f} ms", done->job.why,
                 res.set->agents().size(), done->read_ms,
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    conclude_reload(*done, "");
}

// `refused`: why the boundaries in force stay ("" when the read set is now in force).
void Daemon::conclude_reload(const policy::BoundaryLoader::Done& done, const std::string& refused) {
    const auto& job = done.job;
    control::Response resp;
    if (refused.empty()) {
        last_reload_ = "ok";
        journal_daemon("reloaded (" + job.why + "): " + std::to_string(done.result.set->agents().size()) + " agents");
    } else {
        last_reload_ = refused;
        spdlog::error("reload ({}) refused, the boundaries in force stay:{}{}", job.why,
                      refused.find('\n') == std::string::npos ? " " : "\n", refused);
        journal_daemon("reload refused, boundaries in force kept: " + refused);
        resp.ok = false;
        resp.error = refused;
    }
    for (auto t : job.tickets) control_->complete(t, resp);
    if (job.sighup) sd_notify(0, "READY=1");
}

// Agents matched by unit or cgroup path: find their cgroups and tell the kernel to track them.
void Daemon::discover_cgroups() {
    const std::string& root = cgroup::root();
    if (root.empty()) return;
    // Units that went away: their cgroup ids are dead, stop tracking them.
    for (auto it = registered_.begin(); it != registered_.end();) {
        if (!launcher_cgroups_.count(it->second) && !fs::is_directory(cgroup::dir_of(it->second))) {
            probe_->untrack_cgroup(it->first);
            if (auto c = container::of_cgroup(it->second)) table_.forget_container(c->id);  // exited
            it = registered_.erase(it);
        } else {
            ++it;
        }
    }
    // One walk of the top of the tree (units live at most three levels down), for all agents.
    std::map<std::string, std::vector<std::string>> units;  // unit name -> cgroup paths
    bool want_units = std::any_of(table_.agents().begin(), table_.agents().end(),
                                  [](const identity::AgentMatch& m) { return !m.units.empty(); });
    if (want_units) {
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (ec) break;
            if (it.depth() >= 3) it.disable_recursion_pending();
            if (!it->is_directory(ec)) continue;
            std::string name = it->path().filename();
            if (name.ends_with(".service") || name.ends_with(".scope"))
                units[name].push_back(it->path().string().substr(root.size()));
        }
    }
    for (auto& m : table_.agents()) {
        for (auto& c : m.cgroups)
            if (fs::is_directory(cgroup::dir_of(c))) register_cgroup(c, m.name, "", false);
        for (auto& u : m.units)
            if (auto hit = units.find(u); hit != units.end())
                for (auto& rel : hit->second) register_cgroup(rel, m.name, "", false);
    }
    discover_containers();
}

void Daemon::register_cgroup(const std::string& rel, const std::string& agent, const std::string& task,
                             bool launcher, uint32_t kernel_id) {
    uint64_t id = cgroup::id_of(rel);
    auto it = registered_.find(id);
    if (it != registered_.end() && it->second == rel) return;
    const identity::AgentMatch* m = table_.agent_by_name(agent);
    if (!m) return;
    uint32_t tag = kernel_id ? kernel_id : m->id;  // a task's processes carry the task's kernel id
    // Nothing is adopted from a cgroup the kernel tagged at its mkdir and that has seen no exec
    // yet: what runs there is the service manager's (systemd's executor), and the kernel tracks
    // each process from its exec. Adopting it here raced with that exec (issue 16, point 8).
    bool armed = probe_->track_cgroup(id, tag);
    if (launcher)
        table_.bind_cgroup(id, rel, agent, task);
    else
        table_.note_cgroup(id, rel);  // matched by unit/cgroup path, with exe/uid narrowing
    registered_[id] = rel;
    // Adopt what already runs there: processes started before the daemon, or before discovery.
    if (armed) {
        for (auto& p : identity::read_cgroup_procs(rel)) {
            p.cgroup_id = id;  // /proc gives the path; the binding above is by id
            const auto& got = table_.adopt(p);
            spdlog::debug("adopted pid {} of {}: agent={} task={}", p.key.pid, rel, got.agent, got.task);
            probe_->track_process(p.key.pid, tag, p.start_ns);
        }
    }
    spdlog::info("agent={} task={} tracking cgroup {}", agent, task.empty() ? "-" : task, rel);
}

void Daemon::reap_launcher_cgroups() {
    for (auto it = launcher_cgroups_.begin(); it != launcher_cgroups_.end();) {
        std::ifstream ev(cgroup::dir_of(*it) + "/cgroup.events");
        std::string k, v;
        bool populated = true;
        while (ev >> k >> v)
            if (k == "populated") populated = v == "1";
        if (!ev.eof() && !fs::exists(cgroup::dir_of(*it))) populated = false;
        if (!populated) {
            uint64_t id = 0;
            try {
                id = cgroup::id_of(*it);
            } catch (const Error&) {
            }
            if (id) {
                probe_->untrack_cgroup(id);
                table_.unbind_cgroup(id);
                registered_.erase(id);
            }
            remove_launcher_cgroup(*it);
            it = launcher_cgroups_.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace stockade::daemon
