// stockade-bench: overhead, throughput, latency and memory of stockade, each measured beside the
// daemon-off baseline in the same run. Not a test: nothing here fails for being slow; a
// benchmark that cannot run at all makes the run exit non-zero. docs/performance.md explains
// the method and keeps the figures.
#pragma once

#include <sched.h>

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "judge/pipeline.hpp"
#include "identity/process_table.hpp"
#include "journal/writer.hpp"
#include "probe/probe.hpp"

struct bench_floor;
struct bpf_link;

namespace bench {

namespace probe = stockade::probe;
namespace identity = stockade::identity;

// ---- options and report -----------------------------------------------------------------

struct Options {
    bool quick = false;
    std::string self;     // this executable (re-executed for the measured children)
    std::string bin_dir;  // build directory holding userspace/stockaded and userspace/stockade
    std::string scratch;  // /tmp/stockade-bench-<pid>
    int loop_cpu = -1;    // CPU the measured loops are pinned to (-1: not pinned)
    int reps = 5;         // repetitions of each overhead measurement
};

// Pins the calling thread to one CPU (as stockaded's single main loop runs) until it goes out
// of scope, then restores the thread's previous affinity.
class OnOneCpu {
public:
    explicit OnOneCpu(int cpu) {
        sched_getaffinity(0, sizeof old_, &old_);
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    ~OnOneCpu() { sched_setaffinity(0, sizeof old_, &old_); }
    OnOneCpu(const OnOneCpu&) = delete;
    OnOneCpu& operator=(const OnOneCpu&) = delete;

private:
    cpu_set_t old_;
};

// One table of the report, printed as Markdown so that docs/performance.md can quote it.
struct Section {
    std::string title;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> notes;
};

struct Report {
    std::vector<Section> sections;
    std::vector<std::string> failures;  // benchmarks that could not run at all
    void print(FILE* out) const;
};

// ---- statistics ---------------------------------------------------------------------------

struct Stat {
    double med = 0, lo = 0, hi = 0;
    size_t n = 0;
    double half_spread() const { return (hi - lo) / 2; }
};
Stat stat_of(std::vector<double> v);
double percentile(std::vector<double> v, double p);  // nearest rank, p in [0, 100]
// Half the spread of v once its lowest and highest values are dropped (when there are 5 or more):
// the noise one repetition's outlier cannot blow up.
double trimmed_half_spread(std::vector<double> v);
// The verdict on an overhead target, from per-run ratios (mode / off) of stockade and of the
// floor measured in the same runs: "met", "below floor: met by reaching the floor",
// "missed: floor alone ..., stockade ... above it", "missed (within noise)" or "missed".
std::string overhead_verdict(const std::vector<double>& ratio, const std::vector<double>& floor_ratio, double target);

std::string fmt_ns(const Stat& s);     // "1234 ns [1200-1300]"
std::string fmt_pct(const Stat& r);    // ratio stat -> "+1.2% [+0.8..+1.9]"
std::string fmt_ratio(const Stat& r);  // "1.012 [1.008-1.019]"

// ---- clocks, signals, processes -----------------------------------------------------------

uint64_t now_ns(int clock);  // CLOCK_MONOTONIC, CLOCK_BOOTTIME ...
double mono_s();

// Set by SIGINT/SIGTERM/SIGHUP: every wait gives up, children are killed, everything unwinds.
extern std::atomic<bool> g_interrupted;
void install_signal_handlers();
void check_interrupted();  // throws when interrupted

// A child started by spawn(): killed by pid (SIGKILL) and reaped if still running when destroyed.
struct Child {
    pid_t pid = -1;
    int out_fd = -1;  // its stdout, when captured
    int in_fd = -1;   // its stdin, when fed
    Child() = default;
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    Child(Child&& o) noexcept;
    Child& operator=(Child&& o) noexcept;
    ~Child();
    // Waits for it; returns the wait status. Kills it (and throws) after timeout_s or on interrupt.
    int wait(double timeout_s, struct rusage* ru = nullptr);
    std::string read_all(double timeout_s);   // its stdout until EOF
    std::string read_line(double timeout_s);  // one line of its stdout ("" on EOF)
    void close_in();
};

struct SpawnOpts {
    std::string cgroup;  // cgroup v2 path to enter before exec ("" = stay)
    int cpu = -1;        // pin to this CPU
    bool capture_out = false;
    bool feed_in = false;
    bool quiet = false;            // stdout and stderr to /dev/null (when not captured)
    std::string out_file;          // stdout and stderr to this file (when not captured)
    std::vector<std::string> env;  // extra KEY=VALUE
};
// fork + (enter cgroup, pin) + execv. Safe to call from a multi-threaded process: everything
// the child needs is prepared before fork.
Child spawn(const std::vector<std::string>& argv, const SpawnOpts& o = {});

// ---- cgroups --------------------------------------------------------------------------------

// /stockade-bench-<pid>: every cgroup the benchmarks make lives below it.
std::string cgroup_base();
// Removes a cgroup tree of ours (default: all of /stockade-bench-<pid>), deepest first.
void remove_cgroup_tree(const std::string& rel = "");

// Removes what an earlier run that died (crash, SIGKILL) left behind: /stockade-bench-<pid>
// cgroups, /tmp and /dev/shm scratch directories, of pids that no longer exist.
void remove_stale_leftovers();

class ScratchCgroup {
   public:
    explicit ScratchCgroup(const std::string& leaf);  // <base>/<leaf>
    ~ScratchCgroup();
    ScratchCgroup(const ScratchCgroup&) = delete;
    ScratchCgroup& operator=(const ScratchCgroup&) = delete;
    const std::string& rel() const { return rel_; }
    uint64_t id() const { return id_; }

   private:
    std::string rel_;
    uint64_t id_ = 0;
};

// ---- kernel states the overhead benchmarks compare ----------------------------------------

// Names of BPF tracing programs loaded by others (tests, other daemons): they would make the
// "off" baseline slower than a clean host, so the report names them.
std::vector<std::string> foreign_tracing_programs();
// Waits (up to max_s) until no foreign program is attached; returns those still attached.
std::vector<std::string> wait_for_clean_host(double max_s);
// Remembers the BPF programs this process holds now (so that, once released, they are never
// mistaken for someone else's while the kernel frees them).
void note_own_programs();

// Run-time statistics (BPF_ENABLE_STATS) of the programs this process holds, by program name.
struct ProgRun {
    uint64_t cnt = 0, ns = 0;
};
std::map<std::string, ProgRun> own_program_runs();

// One program of bench/floor.bpf.c attached to tp_btf/sys_exit (default: the no-op floor).
// target_cgroup: the cgroup floor_reads_* act for.
class FloorProbe {
   public:
    explicit FloorProbe(const std::string& prog = "floor_noop", uint64_t target_cgroup = 0);
    ~FloorProbe();
    FloorProbe(const FloorProbe&) = delete;
    FloorProbe& operator=(const FloorProbe&) = delete;

   private:
    ::bench_floor* skel_ = nullptr;
    ::bpf_link* link_ = nullptr;
};

// stockade's probes loaded and attached as the daemon loads them, with the daemon's event path
// behind them: Probe -> Pipeline (ProcessTable, a monitor boundary that allows everything,
// journal_allowed: summary) -> journal::Writer, drained by a thread the way stockaded's main loop
// drains (wait on the ring's fd up to 50 ms, then consume everything).
class StockadeOn {
   public:
    // dir: scratch directory for the journal; agent_cgroup: the cgroup the agent is matched by.
    StockadeOn(const std::string& dir, const std::string& agent_cgroup, int drain_cpu = -1);
    ~StockadeOn();
    StockadeOn(const StockadeOn&) = delete;
    StockadeOn& operator=(const StockadeOn&) = delete;

    void track(const ScratchCgroup& cg);  // Probe::track_cgroup + ProcessTable::bind_cgroup
    void untrack(const ScratchCgroup& cg);
    std::vector<std::string> attached();  // Probe::attached(): the programs attached now
    std::vector<std::string> tls_libraries() const { return probe_->tls_libraries(); }

    struct Counts {
        uint64_t pipeline_events = 0, bad_records = 0, journal_errors = 0;
        probe::KernelCounters kernel;
    };
    Counts counts();
    double drain_cpu_s();  // CPU time the drain thread (decode + pipeline + journal) has used
    // Waits until the drain thread has consumed everything the kernel produced (or timeout).
    void settle(double timeout_s = 2.0);

    static std::string boundary_text(const std::string& agent_cgroup);

   private:
    void drain_loop(int cpu);
    std::unique_ptr<probe::Probe> probe_;
    identity::ProcessTable table_;
    std::unique_ptr<stockade::journal::Writer> writer_;
    std::unique_ptr<stockade::judge::Pipeline> pipeline_;
    std::mutex mu_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> journal_errors_{0};
    std::thread drain_;
};

// ---- the real daemon -------------------------------------------------------------------------

// stockaded from the build directory with a scratch configuration; SIGTERM (then SIGKILL) by pid
// when destroyed, and its cgroups removed.
class RealDaemon {
   public:
    RealDaemon(const Options& o, const std::string& dir);  // dir/agents.d must hold the boundaries
    ~RealDaemon();
    void start(double timeout_s = 30);
    void stop();
    pid_t pid() const { return child_.pid; }
    const std::string& socket() const { return socket_; }
    const std::string& journal() const { return journal_; }
    std::string stockade_cli() const;
    // `stockade run --agent A -- argv...` with captured stdin/stdout; the probes measured alone
    // (--no-landlock --no-seccomp) unless `gate`: then with the seccomp gate, as by default.
    Child run_as(const std::string& agent, const std::vector<std::string>& argv, bool gate = false);

   private:
    const Options& o_;
    std::string dir_, socket_, journal_, config_, log_;
    Child child_;
};

// ---- benchmarks --------------------------------------------------------------------------------

// Runs the three modes of one repetition, reversing their order every other repetition so that a
// slow drift of the machine does not favour one mode.
template <typename Off, typename Floor, typename On>
void interleave(int rep, Off&& off, Floor&& floor, On&& on) {
    if (rep % 2 == 0) {
        off();
        floor();
        on();
    } else {
        on();
        floor();
        off();
    }
}

// Runs `measure` with the process in a tracked cgroup, then stops tracking it; adds the kernel
// events and lost events that run produced.
template <typename Measure>
void measure_tracked(StockadeOn& s, ScratchCgroup& cg, Measure&& measure, uint64_t& events, uint64_t& lost) {
    auto before = s.counts();
    measure();
    s.settle();
    s.untrack(cg);
    auto after = s.counts();
    events += after.kernel.events - before.kernel.events;
    lost += after.kernel.lost - before.kernel.lost;
}

void bench_syscalls(const Options& o, Report& r);
void bench_tls(const Options& o, Report& r);
void bench_workload(const Options& o, Report& r);
void bench_pipeline(const Options& o, Report& r);
void bench_journal(const Options& o, Report& r);
void bench_ringbuf(const Options& o, Report& r);
void bench_latency(const Options& o, Report& r);
void bench_hold(const Options& o, Report& r);  // what holding adds to an allowed action
void bench_exec_hold(const Options& o, Report& r);  // what holding an interpreter's exec adds
void bench_memory(const Options& o, Report& r);

// Children re-executed from this binary (argv[1] starts with '_').
int loop_main(int argc, char** argv);     // _loop NAME SECONDS ARG: one syscall loop
int latency_main(int argc, char** argv);  // _latency ...: trials of violating opens
int holdlat_main(int argc, char** argv);  // _holdlat PATH N: timed open+close calls
int execlat_main(int argc, char** argv);  // _execlat N CMD...: timed fork+exec+wait runs
int tls_main(int argc, char** argv);      // _tls SECONDS: the TLS echo loop and the pipe loop
int spawn_main(int argc, char** argv);
int hold_main(int argc, char** argv);  // _hold LOOP SECONDS [untracked]: for an outside profiler    // _spawn N: N
                                       // sleeping children until told to stop

// Reads a whole file ("" if absent).
std::string slurp(const std::string& path);
void write_file(const std::string& path, const std::string& content);
// VmRSS / VmHWM of a process in KiB.
uint64_t proc_status_kib(pid_t pid, const char* field);

}  // namespace bench
