// 1. Syscall loops: ns per operation with stockade off, with the no-op sys_exit floor, with
// stockade's probes on and the loop untracked, and with the loop tracked as an agent.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
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
    {"getppid", "getppid (not a hooked syscall)", 1}, {"open", "open+close of an existing file", 2},
    {"openat", "openat(dirfd, name)+close", 2},       {"connect", "socket+connect+close, loopback TCP", 4},
    {"forkexec", "fork+exec /bin/true+wait", 0},
    {"send", "send 64 bytes, connected loopback TCP", 1},
};

enum Mode { kOff, kFloor, kIdle, kUntracked, kTracked, kModes };
const char* const kModeNames[] = {"off", "floor", "on, idle", "on, untracked", "on, tracked"};

uint64_t mono() {
    return now_ns(CLOCK_MONOTONIC);
}

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
    if (name == "connect" || name == "send") {
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<uint16_t>(std::atoi(arg)));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    char* const true_argv[] = {const_cast<char*>("/bin/true"), nullptr};
    char* const no_env[] = {nullptr};
    // send: one connection, made before the measured loops (the labelled-send hooks judge sends).
    int conn = -1;
    if (name == "send") {
        conn = socket(AF_INET, SOCK_STREAM, 0);
        if (conn < 0 || connect(conn, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return 3;
    }
    const char payload[64] = {};
    // The loop body is chosen once: a string compare per iteration would dilute the ratios.
    int kind = name == "getppid"    ? 0
               : name == "open"     ? 1
               : name == "openat"   ? 2
               : name == "connect"  ? 3
               : name == "forkexec" ? 4
               : name == "send"     ? 5
                                    : -1;
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
        } else if (kind == 5) {
            if (send(conn, payload, sizeof payload, 0) != sizeof payload) return false;
        } else {
            return false;
        }
        return true;
    };
    int batch = name == "getppid" ? 1024 : name == "forkexec" ? 1 : name == "connect" ? 8 : 64;
    // CPU time of this process and of the children it reaped (fork+exec): what the loop itself
    // spent, whoever else shares the CPU. BPF programs run in its context, so they count.
    auto cpu = [] {
        timespec ts{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        rusage ru{};
        getrusage(RUSAGE_CHILDREN, &ru);
        return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec) +
               (uint64_t(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1'000'000ull +
                uint64_t(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)) *
                   1000ull;
    };
    uint64_t cpu_ns = 0;
    auto run = [&](double seconds, uint64_t& ops) -> uint64_t {
        uint64_t t0 = mono(), end = t0 + static_cast<uint64_t>(seconds * 1e9), t = t0;
        uint64_t c0 = cpu();
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
        cpu_ns = cpu() - c0;
        return t - t0;
    };
    uint64_t ops;
    run(std::max(0.02, secs / 10), ops);  // warm-up: caches, the tracked map entry, page faults
    uint64_t ns = run(secs, ops);
    std::printf("%llu %llu %llu\n", (unsigned long long)ops, (unsigned long long)ns, (unsigned long long)cpu_ns);
    return 0;
}

namespace {

// Accepts and closes connections for the connect loop, outside the measured process; with
// `drain`, reads each connection to its end instead (the send loop: one connection per run).
class Listener {
   public:
    explicit Listener(bool drain = false) {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 4096) != 0)
            throw Error(std::string("loopback listener: ") + std::strerror(errno));
        socklen_t len = sizeof a;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        th_ = std::thread([this, drain] {
            while (!stop_) {
                int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
                if (c >= 0) {
                    char buf[65536];
                    while (drain && !stop_ && read(c, buf, sizeof buf) > 0) {
                    }
                    close(c);
                } else if (errno != EINTR && errno != ECONNABORTED)
                    break;
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

}  // namespace

void bench_syscalls(const Options& o, Report& report) {
    std::string dir = o.scratch + "/syscalls";
    write_file(dir + "/file", "x");
    Listener listener, sink(true);
    ScratchCgroup untracked_cg("loop-untracked"), tracked_cg("loop-tracked");
    double secs = o.quick ? 0.03 : 0.3;
    int reps = o.reps;

    // ns[mode][loop] -> one value per repetition
    std::map<int, std::map<std::string, std::vector<double>>> ns;
    std::set<std::string> foreign;
    std::vector<std::string> notes;
    uint64_t tracked_events = 0, tracked_lost = 0;

    auto arg_of = [&](const std::string& loop) {
        return loop == "open"      ? dir + "/file"
               : loop == "openat"  ? dir
               : loop == "connect" ? std::to_string(listener.port())
               : loop == "send"    ? std::to_string(sink.port())
                                   : std::string();
    };
    // Runs one loop in a fresh process inside cg; returns {ops, ns}.
    auto run_loop = [&](const std::string& loop, double seconds, const ScratchCgroup& cg, const char* mode) {
        check_interrupted();
        SpawnOpts so;
        so.cgroup = cg.rel();
        so.cpu = o.loop_cpu;
        so.capture_out = true;
        Child c = spawn({o.self, "_loop", loop, fmt::format("{}", seconds), arg_of(loop)}, so);
        std::string out = c.read_all(60 + seconds * 20);
        int st = c.wait(60);
        unsigned long long ops = 0, wall = 0, cpu = 0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
            std::sscanf(out.c_str(), "%llu %llu %llu", &ops, &wall, &cpu) != 3 || !ops)
            throw Error(fmt::format("the {} loop failed ({} mode, status {:#x})", loop, mode, st));
        return std::pair<double, double>(static_cast<double>(ops), static_cast<double>(cpu));
    };
    auto measure = [&](Mode m, const ScratchCgroup& cg) {
        for (auto& l : kLoops) {
            auto [ops, t] = run_loop(l.name, secs, cg, kModeNames[m]);
            ns[m][l.name].push_back(t / ops);
        }
    };

    for (int rep = 0; rep < reps; ++rep) {
        std::fprintf(stderr, "  syscalls: repetition %d/%d\n", rep + 1, reps);
        for (auto& f : wait_for_clean_host(o.quick ? 0 : 20)) foreign.insert(f.substr(0, f.find('#')));
        auto off = [&] {
            for (auto& f : foreign_tracing_programs()) foreign.insert(f.substr(0, f.find('#')));
            measure(kOff, untracked_cg);
        };
        auto floor = [&] {
            FloorProbe f;
            measure(kFloor, untracked_cg);
        };
        auto on = [&] {
            StockadeOn s(dir + fmt::format("/on{}", rep), tracked_cg.rel(), o.loop_cpu == 0 ? 1 : 0);
            measure(kIdle, untracked_cg);  // nothing tracked: the sys_exit hook is not attached
            s.track(tracked_cg);           // an agent is tracked (its cgroup still empty): the hook is
            measure(kUntracked, untracked_cg);
            measure_tracked(s, tracked_cg, [&] { measure(kTracked, tracked_cg); }, tracked_events, tracked_lost);
        };
        interleave(rep, off, floor, on);
        for (auto& f : foreign_tracing_programs()) foreign.insert(f.substr(0, f.find('#')));
    }

    Section s;
    s.title = "1. Syscall loops: CPU ns per operation and overhead against off (median [min-max] of " +
              std::to_string(reps) + " runs, paired per run)";
    s.header = {"loop",          "off",         "floor: no-op sys_exit", "on, idle (nothing tracked)",
                "on, untracked", "on, tracked", "untracked <= 0.5%",     "tracked <= 5%"};
    for (auto& l : kLoops) {
        auto& off = ns[kOff][l.name];
        auto ratios = [&](Mode m) {
            std::vector<double> r;
            for (size_t i = 0; i < off.size(); ++i) r.push_back(ns[m][l.name][i] / off[i]);
            return r;
        };
        auto ratio = [&](Mode m) { return stat_of(ratios(m)); };
        auto cell = [&](Mode m) {
            Stat abs = stat_of(ns[m][l.name]);
            Stat off_s = stat_of(off);
            double added = abs.med - off_s.med;
            std::string per = l.syscalls ? fmt::format(", {:+.0f} ns/syscall", added / l.syscalls) : "";
            return fmt::format("{:.0f} ns, {}{}", abs.med, fmt_pct(ratio(m)), per);
        };
        s.rows.push_back({l.label, fmt_ns(stat_of(off)), cell(kFloor), cell(kIdle), cell(kUntracked), cell(kTracked),
                          overhead_verdict(ratios(kUntracked), ratios(kFloor), 0.005),
                          overhead_verdict(ratios(kTracked), ratios(kFloor), 0.05)});
    }
    s.notes.push_back(
        fmt::format("each figure: one fresh process pinned to CPU {}, {:.2f} s per run after a warm-up, "
                    "its CPU time (user+sys, with its reaped children) per operation, so that other "
                    "processes sharing the CPU do not count; modes interleaved within each run; "
                    "ratio = mode / off of the same run",
                    o.loop_cpu, secs));
    s.notes.push_back(
        "floor: floor_noop of bench/floor.bpf.c, a tp_btf/sys_exit program that returns 0 (the least any "
        "syscall hook costs)");
    s.notes.push_back(
        "on: stockade::probe::Probe loaded (exec/fork/exit and cgroup connect/sendmsg hooks) with the "
        "daemon's Pipeline and journal draining the ring in a thread. idle: nothing tracked, so the "
        "sys_exit hook is not attached. untracked: an agent's cgroup is tracked (the sys_exit hook is "
        "attached), the loop runs outside it. tracked: the loop runs in that cgroup "
        "(Probe::track_cgroup; monitor boundary, batched records)");
    s.notes.push_back(fmt::format("tracked runs produced {} kernel records, {} lost", tracked_events, tracked_lost));
    if (!foreign.empty()) {
        std::string names;
        for (auto& f : foreign) names += (names.empty() ? "" : ", ") + f;
        s.notes.push_back("WARNING: BPF programs of other processes were attached during the runs (" + names +
                          "): the baseline was not a clean host, so every ratio is understated");
    }
    report.sections.push_back(std::move(s));

    // 1b. The building blocks of stockade's hook, priced one at a time with bench-only programs
    // (bench/floor.bpf.c): what the untracked path could cost, and what one BPF_CORE_READ costs.
    {
        struct Block {
            const char* prog;
            const char* label;
            bool reads;  // acts only for the loop's cgroup, getppid loop only
            bool beside_floor = false;  // a sys_enter program, attached with floor_noop on sys_exit
        };
        const Block blocks[] = {
            {"floor_noop", "floor: no-op", false},
            {"floor_nr_core", "syscall number via BPF_CORE_READ + filter (stockade's first step)", false},
            {"floor_nr_direct", "syscall number via a direct BTF load + filter", false},
            {"floor_untracked_direct",
             "stockade's whole untracked path (filter, tgid and cgroup lookups), direct loads", false},
            {"floor_reads_core", "16 task-field reads with BPF_CORE_READ (loop's cgroup only)", true},
            {"floor_reads_direct", "the same 16 reads as direct BTF loads (loop's cgroup only)", true},
            {"floor_enter_noop", "a second hook: a no-op tp_btf/sys_enter beside the sys_exit floor", false, true},
            {"floor_enter_untracked",
             "an entry-time check beside the sys_exit floor: chmod/xattr/open filter, tgid and cgroup lookups",
             false, true},
        };
        const char* loops[] = {"getppid", "open"};
        std::map<std::string, std::map<std::string, std::vector<double>>> bns;  // prog -> loop -> per rep
        std::set<std::string> bforeign;
        int breps = o.quick ? 1 : reps;
        double bsecs = o.quick ? 0.03 : 0.3;
        for (int rep = 0; rep < breps; ++rep) {
            std::fprintf(stderr, "  syscalls: building blocks %d/%d\n", rep + 1, breps);
            for (auto& f : wait_for_clean_host(o.quick ? 0 : 20)) bforeign.insert(f.substr(0, f.find('#')));
            for (size_t k = 0; k < std::size(blocks); ++k) {
                auto& b = blocks[rep % 2 ? std::size(blocks) - 1 - k : k];
                std::optional<FloorProbe> exit_floor;
                if (b.beside_floor) exit_floor.emplace("floor_noop", untracked_cg.id());
                FloorProbe f(b.prog, untracked_cg.id());
                for (auto* loop : loops) {
                    if (b.reads && std::string(loop) != "getppid") continue;
                    auto [ops, t] = run_loop(loop, bsecs, untracked_cg, b.prog);
                    bns[b.prog][loop].push_back(t / ops);
                }
            }
        }
        Section c;
        c.title =
            "1b. Building blocks of the syscall hook, each alone on tp_btf/sys_exit (the sys_enter rows: "
            "beside the no-op sys_exit floor): ns added per operation above the no-op floor (median [min-max])";
        c.header = {"program (bench/floor.bpf.c)", "getppid loop", "open+close loop"};
        for (auto& b : blocks) {
            if (std::string(b.prog) == "floor_noop") continue;
            std::vector<std::string> row{b.label};
            for (auto* loop : loops) {
                auto& v = bns[b.prog][loop];
                auto& f = bns["floor_noop"][loop];
                if (v.empty()) {
                    row.push_back("-");
                    continue;
                }
                std::vector<double> d;
                for (size_t i = 0; i < v.size() && i < f.size(); ++i) d.push_back(v[i] - f[i]);
                Stat st = stat_of(d);
                row.push_back(fmt::format("{:+.0f} ns [{:+.0f}..{:+.0f}]{}", st.med, st.lo, st.hi,
                                          b.reads ? fmt::format(" = {:.1f} ns per read", st.med / 16) : ""));
            }
            c.rows.push_back(row);
        }
        {
            std::vector<std::string> row{"(floor itself, ns per operation)"};
            for (auto* loop : loops) row.push_back(fmt_ns(stat_of(bns["floor_noop"][loop])));
            c.rows.push_back(row);
        }
        c.notes.push_back(
            "open+close makes two syscalls per operation, one of them hooked (openat); getppid is not hooked");
        c.notes.push_back("compare with section 1: stockade's \"on, untracked\" minus its floor");
        for (auto& f : foreign_tracing_programs()) bforeign.insert(f.substr(0, f.find('#')));
        if (!bforeign.empty()) {
            std::string names;
            for (auto& f : bforeign) names += (names.empty() ? "" : ", ") + f;
            c.notes.push_back("WARNING: BPF programs of other processes were attached during the runs (" + names + ")");
        }
        report.sections.push_back(std::move(c));
    }

    // 1c. Where the time goes: run time of each of stockade's programs per invocation, from the
    // kernel's own accounting (BPF_ENABLE_STATS, on only for this pass: it adds its own cost).
    int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (stats_fd < 0) {
        report.sections.back().notes.push_back("BPF_ENABLE_STATS unavailable: no per-program profile");
        return;
    }
    struct Case {
        const char* loop;
        bool tracked;
        const char* label;
    };
    const Case cases[] = {{"open", false, "untracked open+close"},
                          {"open", true, "tracked open+close"},
                          {"connect", true, "tracked connect"},
                          {"send", true, "tracked send"},
                          {"forkexec", true, "tracked fork+exec"}};
    std::map<std::string, std::vector<std::string>> cells;  // program -> one cell per case
    std::vector<std::string> totals;
    try {
        StockadeOn on(dir + "/profile", tracked_cg.rel(), o.loop_cpu == 0 ? 1 : 0);
        on.track(tracked_cg);  // the sys_exit hook is attached once an agent is tracked
        size_t col = 0;
        for (auto& c : cases) {
            auto before = own_program_runs();
            auto [ops, t] = run_loop(c.loop, o.quick ? 0.05 : 0.5, c.tracked ? tracked_cg : untracked_cg, "profile");
            on.settle();
            auto after = own_program_runs();
            double total = 0;
            for (auto& [name, a] : after) {
                if (name.rfind("sk_", 0) != 0) continue;
                auto& b = before[name];
                double cnt = static_cast<double>(a.cnt - b.cnt), tns = static_cast<double>(a.ns - b.ns);
                auto& row = cells[name];
                row.resize(std::size(cases), "-");
                if (cnt > 0) row[col] = fmt::format("{:.0f} ns x {:.2f}/op", tns / cnt, cnt / ops);
                total += tns / ops;
            }
            totals.push_back(fmt::format("{:.0f} ns/op (of {:.0f} CPU ns/op)", total, t / ops));
            ++col;
        }
        on.untrack(tracked_cg);
    } catch (...) {
        close(stats_fd);
        throw;
    }
    close(stats_fd);
    Section p;
    p.title = "1c. Where the time goes: run time per invocation of each stockade program (BPF_ENABLE_STATS)";
    p.header = {"program"};
    for (auto& c : cases) p.header.push_back(c.label);
    for (auto& [name, row] : cells) {
        std::vector<std::string> r{name};
        r.insert(r.end(), row.begin(), row.end());
        p.rows.push_back(r);
    }
    std::vector<std::string> tr{"all programs, per operation"};
    tr.insert(tr.end(), totals.begin(), totals.end());
    p.rows.push_back(tr);
    p.notes.push_back(
        "program run time only: the tracepoint dispatch itself (the floor) comes on top; runs/op counts "
        "every invocation, including the ones that return after the syscall-number filter");
    report.sections.push_back(std::move(p));
}

// _hold LOOP SECONDS [untracked]: one loop under stockade (tracked unless told otherwise), for a
// profiler attached from outside: perf record -a -g -- stockade-bench _hold open 3
int hold_main(int argc, char** argv) {
    if (argc < 4) return 2;
    std::string loop = argv[2];
    double secs = std::atof(argv[3]);
    bool tracked = !(argc > 4 && std::string(argv[4]) == "untracked");
    install_signal_handlers();
    std::string dir = "/tmp/stockade-bench-" + std::to_string(getpid());
    write_file(dir + "/file", "x");
    int rc = 0;
    try {
        Listener listener;
        ScratchCgroup cg("hold");
        StockadeOn on(dir + "/on", cg.rel(), 0);
        ScratchCgroup other("hold-other");
        if (tracked)
            on.track(cg);
        else
            on.track(other);  // an (empty) agent cgroup: the sys_exit hook is attached
        std::string arg = loop == "open"      ? dir + "/file"
                          : loop == "openat"  ? dir
                          : loop == "connect" ? std::to_string(listener.port())
                                              : "";
        SpawnOpts so;
        so.cgroup = cg.rel();
        so.cpu = 1;
        so.capture_out = true;
        Child c = spawn({"/proc/self/exe", "_loop", loop, argv[3], arg}, so);
        std::string out = c.read_all(60 + secs * 20);
        c.wait(60);
        unsigned long long ops = 0, t = 0, cpu = 0;
        std::sscanf(out.c_str(), "%llu %llu %llu", &ops, &t, &cpu);
        std::printf("%s %s: %.0f ns/op wall, %.0f ns/op CPU\n", loop.c_str(), tracked ? "tracked" : "untracked",
                    ops ? double(t) / double(ops) : 0.0, ops ? double(cpu) / double(ops) : 0.0);
        if (tracked) on.untrack(cg);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "_hold: %s\n", e.what());
        rc = 1;
    }
    remove_cgroup_tree();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return rc;
}

}  // namespace bench
