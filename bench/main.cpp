// stockade-bench [BENCH...] [--quick] [--bin-dir DIR] [--reps N] [--out FILE]
// BENCH: syscalls tls workload pipeline ringbuf latency hold exechold memory (default: all of them, in that order).
// Prints one report (Markdown tables) on stdout; progress on stderr. Exit status 1 only when a
// benchmark could not run at all (not root, a probe failed to load, a child failed ...), never
// because a figure missed its target.
#include <fmt/format.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "bench.hpp"

namespace {

namespace fs = std::filesystem;

std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

int usage(FILE* f) {
    std::fprintf(f,
                 "usage: stockade-bench [syscalls|tls|workload|pipeline|journal|ringbuf|latency|hold|exechold|memory]... [--quick]\n"
                 "                      [--bin-dir BUILD_DIR] [--reps N] [--out FILE]\n"
                 "Runs the benchmarks (all by default) and prints one report. bench/run.sh builds and runs it.\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    // The daemon's code logs each violation: keep the cost of formatting it, discard the text.
    auto null_logger = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
    null_logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(null_logger);
    if (argc > 1 && argv[1][0] == '_') {
        std::string sub = argv[1];
        if (sub == "_loop") return bench::loop_main(argc, argv);
        if (sub == "_latency") return bench::latency_main(argc, argv);
        if (sub == "_tls") return bench::tls_main(argc, argv);
        if (sub == "_spawn") return bench::spawn_main(argc, argv);
        if (sub == "_hold") return bench::hold_main(argc, argv);
        if (sub == "_holdlat") return bench::holdlat_main(argc, argv);
        if (sub == "_execlat") return bench::execlat_main(argc, argv);
        return 2;
    }

    bench::Options o;
    o.bin_dir = STOCKADE_BINARY_DIR;
    std::string out_file;
    int reps = 0;
    std::vector<std::string> selected;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--quick")
            o.quick = true;
        else if (a == "--bin-dir" && i + 1 < argc)
            o.bin_dir = argv[++i];
        else if (a == "--reps" && i + 1 < argc)
            reps = std::atoi(argv[++i]);
        else if (a == "--out" && i + 1 < argc)
            out_file = argv[++i];
        else if (a == "-h" || a == "--help")
            return usage(stdout);
        else if (a == "all")
            selected.clear();
        else if (a.size() && a[0] != '-')
            selected.push_back(a);
        else
            return usage(stderr);
    }
    o.reps = reps > 0 ? reps : o.quick ? 2 : 5;
    o.self = fs::canonical("/proc/self/exe").string();
    o.scratch = "/tmp/stockade-bench-" + std::to_string(getpid());
    unsigned ncpu = std::thread::hardware_concurrency();
    o.loop_cpu = ncpu > 1 ? static_cast<int>(ncpu) - 1 : -1;

    struct Bench {
        const char* name;
        bool root;
        std::function<void(const bench::Options&, bench::Report&)> fn;
    };
    const Bench all[] = {
        {"syscalls", true, bench::bench_syscalls},  {"tls", true, bench::bench_tls},
        {"workload", true, bench::bench_workload},
        {"pipeline", false, bench::bench_pipeline}, {"journal", false, bench::bench_journal},
        {"ringbuf", true, bench::bench_ringbuf},
        {"latency", true, bench::bench_latency},    {"hold", true, bench::bench_hold},
        {"exechold", true, bench::bench_exec_hold},
        {"memory", true, bench::bench_memory},
    };
    for (auto& s : selected) {
        bool known = false;
        for (auto& b : all) known |= s == b.name;
        if (!known) {
            std::fprintf(stderr, "stockade-bench: unknown benchmark \"%s\"\n", s.c_str());
            return usage(stderr);
        }
    }

    bench::install_signal_handlers();
    if (geteuid() == 0) bench::remove_stale_leftovers();
    fs::create_directories(o.scratch);
    // How busy the rest of the machine was: CPU time of everything minus this benchmark's own tree.
    auto busy_total = [] {
        std::ifstream f("/proc/stat");
        std::string cpu;
        double v[8] = {};
        f >> cpu;
        for (double& x : v) f >> x;
        double busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
        return std::pair<double, double>(busy, busy + v[3] + v[4]);
    };
    auto own_cpu_s = [] {
        rusage a{}, b{};
        getrusage(RUSAGE_SELF, &a);
        getrusage(RUSAGE_CHILDREN, &b);
        auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
        return s(a.ru_utime) + s(a.ru_stime) + s(b.ru_utime) + s(b.ru_stime);
    };
    auto [busy0, total0] = busy_total();
    double own0 = own_cpu_s();
    bench::Report report;
    double t0 = bench::mono_s();
    for (auto& b : all) {
        if (!selected.empty() && std::find(selected.begin(), selected.end(), b.name) == selected.end()) continue;
        if (bench::g_interrupted) break;
        if (b.root && geteuid() != 0) {
            report.failures.push_back(std::string(b.name) + ": needs root (BPF programs, cgroups)");
            continue;
        }
        std::fprintf(stderr, "stockade-bench: %s ...\n", b.name);
        double t = bench::mono_s();
        try {
            b.fn(o, report);
        } catch (const std::exception& e) {
            report.failures.push_back(std::string(b.name) + ": " + e.what());
        }
        std::fprintf(stderr, "stockade-bench: %s done in %.1f s\n", b.name, bench::mono_s() - t);
    }
    if (bench::g_interrupted) report.failures.push_back("interrupted");
    bench::remove_cgroup_tree();
    std::error_code ec;
    fs::remove_all(o.scratch, ec);
    fs::remove_all("/dev/shm/stockade-bench-" + std::to_string(getpid()), ec);

    auto [busy1, total1] = busy_total();
    double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    double others =
        total1 > total0 ? std::max(0.0, ((busy1 - busy0) / hz - (own_cpu_s() - own0)) / ((total1 - total0) / hz)) : 0;
    utsname u{};
    uname(&u);
    char date[64];
    time_t now = time(nullptr);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    std::string head = fmt::format(
        "## stockade-bench{} ({})\n\nmachine: {} CPUs, {}, kernel {}; {} repetitions per overhead figure; "
        "total {:.0f} s; other processes used {:.0f}% of the machine's CPU time meanwhile{}\n",
        o.quick ? " --quick" : "", date, ncpu, cpu_model(), u.release, o.reps, bench::mono_s() - t0, others * 100,
        others > 0.1 ? " (WARNING: a busy machine; overhead ratios of a few percent are within its noise)" : "");
    std::printf("%s", head.c_str());
    report.print(stdout);
    if (!out_file.empty()) {
        FILE* f = std::fopen(out_file.c_str(), "w");
        if (f) {
            std::fprintf(f, "%s", head.c_str());
            report.print(f);
            std::fclose(f);
        }
    }
    return report.failures.empty() ? 0 : 1;
}
