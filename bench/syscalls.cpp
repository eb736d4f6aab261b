// 1. Syscall loops: ns per operation with stockade off, with the no-op sys_exit floor, with
// stockade's probes on and the loop untracked, and with the loop tracked as an agent.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "bench.hpp"
#include "common/error.hpp"

namespace bench {

using stockade::Error;

namespace {

struct LoopDef {
    const char* name;
    const char* label;
    int syscalls;  // per operation, for "added ns per syscall"
};

const LoopDef kLoops[] = {
    {"getppid", "getppid (not a hooked syscall)", 1},
    {"open", "open+close of an existing file", 2},
    {"openat", "openat(dirfd, name)+close", 2},
    {"connect", "socket+connect+close, loopback TCP", 4},
    {"forkexec", "fork+exec /bin/true+wait", 0},
};

enum Mode { kOff, kFloor, kUntracked, kTracked, kModes };
const char* const kModeNames[] = {"off", "floor", "on, untracked", "on, tracked"};

uint64_t mono() { return now_ns(CLOCK_MONOTONIC); }

}  // namespace

// _loop NAME SECONDS ARG: runs one loop for SECONDS (after a warm-up) and prints "ops ns".
int loop_main(int argc, char** argv) {
    if (argc < 4) return 2;
    std::string name = argv[2];
    double secs = std::atof(argv[3]);
    const char* arg = argc > 4 ? argv[4] : "";
    int dirfd = -1;
    sockaddr_in sa{};
    if (name == "openat") dirfd = open(arg, O_RDONLY | O_DIRECTORY);
    if (name == "connect") {
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<uint16_t>(std::atoi(arg)));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    char* const true_argv[] = {const_cast<char*>("/bin/true"), nullptr};
    char* const no_env[] = {nullptr};
    // The loop body is chosen once: a string compare per iteration would dilute the ratios.
    int kind = name == "getppid" ? 0 : name == "open" ? 1 : name == "openat" ? 2 : name == "connect" ? 3
             : name == "forkexec" ? 4 : -1;
    auto one = [&]() -> bool {
        if (kind == 0) {
            syscall(SYS_getppid);
        } else if (kind == 1) {
            int fd = static_cast<int>(syscall(SYS_open, arg, O_RDONLY));
            if (fd < 0) return false;
            close(fd);
        } else if (kind == 2) {
            int fd = openat(dirfd, "file", O_RDONLY);
            if (fd < 0) return false;
            close(fd);
        } else if (kind == 3) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            if (s < 0) return false;
            linger lg{1, 0};  // RST on close: no TIME_WAIT, the ports never run out
            setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            int rc = connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
            close(s);
            if (rc != 0) return false;
        } else if (kind == 4) {
            pid_t p = fork();
            if (p < 0) return false;
            if (p == 0) {
                execve("/bin/true", true_argv, no_env);
                _exit(127);
            }
            int st;
            waitpid(p, &st, 0);
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return false;
        } else {
            return false;
        }
        return true;
    };
    int batch = name == "getppid" ? 1024 : name == "forkexec" ? 1 : name == "connect" ? 8 : 64;
    auto run = [&](double seconds, uint64_t& ops) -> uint64_t {
        uint64_t t0 = mono(), end = t0 + static_cast<uint64_t>(seconds * 1e9), t = t0;
        ops = 0;
        do {
            for (int i = 0; i < batch; ++i)
                if (!one()) {
                    std::fprintf(stderr, "_loop %s: %s\n", name.c_str(), std::strerror(errno));
                    std::exit(3);
                }
            ops += static_cast<uint64_t>(batch);
            t = mono();
        } while (t < end);
        return t - t0;
    };
    uint64_t ops;
    run(std::max(0.02, secs / 10), ops);  // warm-up: caches, the tracked map entry, page faults
    uint64_t ns = run(secs, ops);
    std::printf("%llu %llu\n", (unsigned long long)ops, (unsigned long long)ns);
    return 0;
}

namespace {

// Accepts and closes connections for the connect loop, outside the measured process.
class Listener {
public:
    Listener() {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 4096) != 0)
            throw Error(std::string("loopback listener: ") + std::strerror(errno));
        socklen_t len = sizeof a;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        th_ = std::thread([this] {
            while (!stop_) {
                int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
                if (c >= 0) close(c);
                else if (errno != EINTR && errno != ECONNABORTED) break;
            }
        });
    }
    ~Listener() {
        stop_ = true;
        shutdown(fd_, SHUT_RDWR);  // wakes accept()
        th_.join();
        close(fd_);
    }
    int port() const { return port_; }

private:
    int fd_ = -1, port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread th_;
};

std::string verdict(const Stat& r, const Stat& floor, double target) {
    double over = r.med - 1, fover = floor.med - 1;
    double noise = std::max(r.half_spread(), floor.half_spread());
    if (over <= target) return "met";
    if (fover > target) {
        if (over - fover <= noise) return "below floor: met by reaching the floor";
        return fmt::format("missed: floor alone {:+.1f}%, stockade {:+.1f} pts above it", fover * 100,
                           (over - fover) * 100);
    }
    if (over - target <= noise) return "missed (within noise)";
    return "missed";
}

}  // namespace

void bench_syscalls(const Options& o, Report& report) {
    std::string dir = o.scratch + "/syscalls";
    write_file(dir + "/file", "x");
    Listener listener;
    ScratchCgroup untracked_cg("loop-untracked"), tracked_cg("loop-tracked");
    double secs = o.quick ? 0.03 : 0.5;
    int reps = o.reps;

    // ns[mode][loop] -> one value per repetition
    std::map<int, std::map<std::string, std::vector<double>>> ns;
    std::set<std::string> foreign;
    std::vector<std::string> notes;
    uint64_t tracked_events = 0, tracked_lost = 0;

    auto measure = [&](Mode m, const ScratchCgroup& cg) {
        for (auto& l : kLoops) {
            check_interrupted();
            std::string arg = std::string(l.name) == "open"      ? dir + "/file"
                              : std::string(l.name) == "openat"  ? dir
                              : std::string(l.name) == "connect" ? std::to_string(listener.port())
                                                                 : "";
            SpawnOpts so;
            so.cgroup = cg.rel();
            so.cpu = o.loop_cpu;
            so.capture_out = true;
            Child c = spawn({o.self, "_loop", l.name, fmt::format("{}", secs), arg}, so);
            std::string out = c.read_all(60 + secs * 20);
            int st = c.wait(60);
            unsigned long long ops = 0, t = 0;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || std::sscanf(out.c_str(), "%llu %llu", &ops, &t) != 2 || !ops)
                throw Error(fmt::format("the {} loop failed ({} mode, status {})", l.name, kModeNames[m], st));
            ns[m][l.name].push_back(static_cast<double>(t) / static_cast<double>(ops));
        }
    };

    for (int rep = 0; rep < reps; ++rep) {
        std::fprintf(stderr, "  syscalls: repetition %d/%d\n", rep + 1, reps);
        auto off = [&] {
            for (auto& f : foreign_tracing_programs()) foreign.insert(f.substr(0, f.find('#')));
            measure(kOff, untracked_cg);
        };
        auto floor = [&] {
            NoopFloor f;
            measure(kFloor, untracked_cg);
        };
        auto on = [&] {
            StockadeOn s(dir + fmt::format("/on{}", rep), tracked_cg.rel(), o.loop_cpu == 0 ? 1 : 0);
            measure(kUntracked, untracked_cg);
            auto before = s.counts();
            s.track(tracked_cg);
            measure(kTracked, tracked_cg);
            s.settle();
            s.untrack(tracked_cg);
            auto after = s.counts();
            tracked_events += after.kernel.events - before.kernel.events;
            tracked_lost += after.kernel.lost - before.kernel.lost;
        };
        // Alternate the order so that a slow drift of the machine does not favour one mode.
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

    Section s;
    s.title = "1. Syscall loops: ns per operation and overhead against off (median [min-max] of " +
              std::to_string(reps) + " runs, paired per run)";
    s.header = {"loop", "off", "floor: no-op sys_exit", "on, untracked", "on, tracked", "untracked <= 0.5%",
                "tracked <= 5%"};
    for (auto& l : kLoops) {
        auto& off = ns[kOff][l.name];
        auto ratio = [&](Mode m) {
            std::vector<double> r;
            for (size_t i = 0; i < off.size(); ++i) r.push_back(ns[m][l.name][i] / off[i]);
            return stat_of(r);
        };
        auto cell = [&](Mode m) {
            Stat abs = stat_of(ns[m][l.name]);
            Stat off_s = stat_of(off);
            double added = abs.med - off_s.med;
            std::string per = l.syscalls ? fmt::format(", {:+.0f} ns/syscall", added / l.syscalls) : "";
            return fmt::format("{:.0f} ns, {}{}", abs.med, fmt_pct(ratio(m)), per);
        };
        Stat rf = ratio(kFloor), ru = ratio(kUntracked), rt = ratio(kTracked);
        s.rows.push_back({l.label, fmt_ns(stat_of(off)), cell(kFloor), cell(kUntracked), cell(kTracked),
                          verdict(ru, rf, 0.005), verdict(rt, rf, 0.05)});
    }
    s.notes.push_back(fmt::format("each figure: one fresh process pinned to CPU {}, {:.2f} s per run after a warm-up;"
                                  " modes interleaved within each run; ratio = mode / off of the same run",
                                  o.loop_cpu, secs));
    s.notes.push_back("floor: bench/noop.bpf.c, a tp_btf/sys_exit program that returns 0 (the least any syscall hook costs)");
    s.notes.push_back("on: stockade::probe::Probe loaded and attached (exec/fork/exit, sys_exit, cgroup connect/sendmsg) "
                      "with the daemon's Pipeline and journal draining the ring in a thread; tracked = the loop's "
                      "cgroup passed to Probe::track_cgroup (monitor boundary, batched records)");
    s.notes.push_back(fmt::format("tracked runs produced {} kernel records, {} lost", tracked_events, tracked_lost));
    if (!foreign.empty()) {
        std::string names;
        for (auto& f : foreign) names += (names.empty() ? "" : ", ") + f;
        s.notes.push_back("WARNING: BPF tracing programs of other processes were loaded during the off runs (" +
                          names + "): the baseline was not a clean host, so every ratio is understated");
    }
    report.sections.push_back(std::move(s));
}

}  // namespace bench
