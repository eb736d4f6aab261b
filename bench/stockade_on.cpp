// "Daemon on": stockade's probes with the daemon's event path in-process (StockadeOn), and the
// real stockaded binary with a scratch configuration (RealDaemon).
#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>

#include "bench.hpp"
#include "common/error.hpp"
#include "control/protocol.hpp"
#include "policy/policy.hpp"

namespace bench {

namespace fs = std::filesystem;
using stockade::Error;

// ---- StockadeOn ---------------------------------------------------------------------------------

std::string StockadeOn::boundary_text(const std::string& agent_cgroup) {
    // Everything the benchmarks do is inside it: tracked processes cost what an agent that stays
    // in its boundary costs (records, decisions, summaries), no violation records.
    return "agent: bench\nmode: monitor\nmatch:\n  cgroup: " + agent_cgroup +
           "\njournal_allowed: summary\nfiles:\n  read: [\"/**\"]\n  write: [\"/**\"]\n  create: [\"/**\"]\n"
           "  delete: [\"/**\"]\nexec:\n  allow: [\"/**\"]\nnetwork:\n  connect:\n    - cidr: 0.0.0.0/0\n"
           "    - cidr: ::/0\n  bind: [\"0-65535\"]\n";
}

StockadeOn::StockadeOn(const std::string& dir, const std::string& agent_cgroup, int drain_cpu) {
    auto res = stockade::policy::load_boundary_text("bench.yaml", boundary_text(agent_cgroup));
    if (!res.ok()) throw Error("bench boundary: " + stockade::policy::format_diagnostics(res.diagnostics));

    probe_ = std::make_unique<stockade::probe::Probe>();
    note_own_programs();

    stockade::journal::WriterOptions wo;
    wo.path = dir + "/journal/journal.jsonl";
    wo.fsync = stockade::journal::FsyncPolicy::Never;
    wo.mirror = stockade::journal::MirrorPolicy::Off;
    wo.group = "";
    fs::create_directories(dir + "/journal");
    writer_ = std::make_unique<stockade::journal::Writer>(wo);

    identity::AgentMatch m;
    m.name = "bench";
    m.id = 1;
    m.cgroups = {agent_cgroup};
    table_.set_agents({m});

    stockade::judge::Actuator act;
    act.kill_process = [](uint32_t, uint64_t, std::string& err) {
        err = "the benchmark boundary never kills";
        return false;
    };
    act.kill_cgroup = [](const std::string&, std::string& err) {
        err = "the benchmark boundary never kills";
        return false;
    };
    act.journal = [this](stockade::journal::Record& r) {
        try {
            writer_->append(r);
        } catch (const Error&) {
            ++journal_errors_;
        }
    };
    act.kernel_rule_id = [](uint32_t) { return std::string(); };
    act.now_boot_ns = [] { return now_ns(CLOCK_BOOTTIME); };
    pipeline_ = std::make_unique<stockade::judge::Pipeline>(table_, std::move(act));
    pipeline_->set_policy(res.set);
    drain_ = std::thread([this, drain_cpu] { drain_loop(drain_cpu); });
}

StockadeOn::~StockadeOn() {
    stop_ = true;
    if (drain_.joinable()) drain_.join();
    {
        std::lock_guard lk(mu_);
        try {
            probe_->poll(*pipeline_, 0);
            pipeline_->flush_summaries();
        } catch (const std::exception&) {
        }
    }
    pipeline_.reset();
    probe_.reset();  // detaches every program
    writer_.reset();
}

void StockadeOn::drain_loop(int cpu) {
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    pollfd f{probe_->ring_fd(), POLLIN, 0};
    while (!stop_) {
        ::poll(&f, 1, 50);  // as stockaded's main loop: wake-ups are rare, drain at least every 50 ms
        std::lock_guard lk(mu_);
        try {
            probe_->poll(*pipeline_, 0);
        } catch (const std::exception&) {
        }
    }
}

void StockadeOn::track(const ScratchCgroup& cg) {
    std::lock_guard lk(mu_);
    table_.bind_cgroup(cg.id(), cg.rel(), "bench", "");
    probe_->track_cgroup(cg.id(), 1);
}

void StockadeOn::untrack(const ScratchCgroup& cg) {
    std::lock_guard lk(mu_);
    probe_->untrack_cgroup(cg.id());
    table_.unbind_cgroup(cg.id());
}

std::vector<std::string> StockadeOn::attached() {
    std::lock_guard lk(mu_);
    return probe_->attached();
}

StockadeOn::Counts StockadeOn::counts() {
    std::lock_guard lk(mu_);
    Counts c;
    c.pipeline_events = pipeline_->events();
    c.bad_records = pipeline_->bad_records();
    c.journal_errors = journal_errors_;
    c.kernel = probe_->counters();
    return c;
}

double StockadeOn::drain_cpu_s() {
    clockid_t cid;
    if (pthread_getcpuclockid(drain_.native_handle(), &cid) != 0) return 0;
    return static_cast<double>(now_ns(cid)) / 1e9;
}

void StockadeOn::settle(double timeout_s) {
    double deadline = mono_s() + timeout_s;
    while (mono_s() < deadline) {
        auto c = counts();
        if (c.pipeline_events + c.bad_records >= c.kernel.events) return;
        usleep(5000);
    }
}

// ---- RealDaemon ---------------------------------------------------------------------------------

RealDaemon::RealDaemon(const Options& o, const std::string& dir)
    : o_(o),
      dir_(dir),
      socket_(dir + "/control.sock"),
      journal_(dir + "/journal/journal.jsonl"),
      config_(dir + "/stockade.yaml"),
      log_(dir + "/stockaded.log") {
    write_file(config_, "agents_dir: " + dir + "/agents.d\nsocket_path: " + socket_ + "\ncgroup_base: " +
                            cgroup_base() + "/daemon\nsummary_interval: 5\njournal:\n  path: " + journal_ +
                            "\n  fsync: never\n  group: \"\"\n  mirror: \"off\"\n"
                            // Unpinned, its state in the scratch directory: a benchmark leaves
                            // nothing in /sys/fs/bpf or /var/lib/stockade behind.
                            "bpf_pin_dir: \"\"\nstate_dir: " + dir + "/state\n");
}

RealDaemon::~RealDaemon() {
    try {
        stop();
    } catch (const std::exception&) {
    }
    remove_cgroup_tree(cgroup_base() + "/daemon");
}

std::string RealDaemon::stockade_cli() const {
    return o_.bin_dir + "/userspace/stockade";
}

void RealDaemon::start(double timeout_s) {
    SpawnOpts so;
    so.out_file = log_;
    child_ = spawn({o_.bin_dir + "/userspace/stockaded", "--config", config_}, so);
    double deadline = mono_s() + timeout_s;
    while (mono_s() < deadline) {
        check_interrupted();
        int st;
        if (waitpid(child_.pid, &st, WNOHANG) == child_.pid) {
            child_.pid = -1;
            throw Error("stockaded exited at start-up; its log:\n" + slurp(log_));
        }
        try {
            stockade::control::Request r;
            r.op = "status";
            if (stockade::control::call(socket_, r, 1000).ok) return;
        } catch (const std::exception&) {
        }
        usleep(20000);
    }
    throw Error("stockaded did not answer within the start-up timeout; its log:\n" + slurp(log_));
}

void RealDaemon::stop() {
    if (child_.pid <= 0) return;
    kill(child_.pid, SIGTERM);
    for (int i = 0; i < 1000; ++i) {  // 10 s, even when interrupted: let it detach and clean up
        if (waitpid(child_.pid, nullptr, WNOHANG) == child_.pid) {
            child_.pid = -1;
            return;
        }
        usleep(10000);
    }
    // ~Child: SIGKILL and reap.
    child_ = Child();
}

Child RealDaemon::run_as(const std::string& agent, const std::vector<std::string>& argv, bool gate) {
    std::vector<std::string> cmd{stockade_cli(), "--socket", socket_, "run", "--no-landlock"};
    if (!gate) cmd.push_back("--no-seccomp");
    cmd.insert(cmd.end(), {"--agent", agent, "--"});
    cmd.insert(cmd.end(), argv.begin(), argv.end());
    SpawnOpts so;
    so.capture_out = true;
    so.feed_in = true;
    return spawn(cmd, so);
}

}  // namespace bench
