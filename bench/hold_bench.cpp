// 4b. What a hold adds: the same allowed open+close, by an enforce agent whose opens the kernel
// allows for good (fast path, never held) and by one with a glob rule only the daemon can judge
// (every open held until the daemon's release), against the real stockaded, side by side.
#include <fcntl.h>
#include <sys/resource.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "bench.hpp"
#include "common/error.hpp"

namespace bench {

// _holdlat PATH N [rename]: N times open(PATH) + close, or rename(PATH, PATH.2) and back, each
// timed; prints "l NS" per call (a rename pair counts as one call).
int holdlat_main(int argc, char** argv) {
    if (argc < 4) return 2;
    const char* path = argv[2];
    int n = std::atoi(argv[3]);
    bool renames = argc > 4 && std::string(argv[4]) == "rename";
    std::string moved = std::string(path) + ".2";
    std::vector<uint64_t> ns(static_cast<size_t>(n));
    for (auto& v : ns) {
        uint64_t t0 = now_ns(CLOCK_MONOTONIC);
        if (renames) {
            if (rename(path, moved.c_str()) != 0 || rename(moved.c_str(), path) != 0) return 3;
        } else {
            int fd = open(path, O_RDONLY);
            if (fd < 0) return 3;
            close(fd);
        }
        v = now_ns(CLOCK_MONOTONIC) - t0;
    }
    for (auto v : ns) std::printf("l %llu\n", static_cast<unsigned long long>(v));
    std::fflush(stdout);
    return 0;
}

namespace {

// Two enforce agents alike but for one glob: `hold` has never: **/*.pem, which only the daemon
// can judge, so none of its opens is final in the kernel.
std::string hold_boundary(const Options& o, const std::string& dir, const std::string& name, bool glob) {
    return "agent: " + name + "\nmode: enforce\non_violation: kill\nmatch:\n  cgroup: " + cgroup_base() + "/unused-" +
           name + "\njournal_allowed: summary\nfiles:\n  read: [\"/**\"]\n  write: [\"/dev/**\", \"" + dir +
           "/**\"]\n  create: [\"" + dir + "/**\"]\n  delete: [\"" + dir + "/allowed/**\"]\n  never: [\"" + dir + "/secret/**\"" +
           (glob ? ", \"**/*.pem\"" : "") + "]\nexec:\n  allow: [\"" + o.self + "\"]\n";
}

std::vector<double> parse_lat(const std::string& out) {
    std::vector<double> us;
    std::istringstream is(out);
    std::string tag;
    unsigned long long ns;
    while (is >> tag >> ns)
        if (tag == "l") us.push_back(static_cast<double>(ns) / 1e3);
    return us;
}

std::vector<double> run_loop(RealDaemon* d, const Options& o, const std::string& agent, const std::string& path, int n,
                             bool renames = false, bool gate = false) {
    std::vector<std::string> argv{o.self, "_holdlat", path, std::to_string(n)};
    if (renames) argv.push_back("rename");
    SpawnOpts so;
    so.capture_out = true;
    Child c = d ? d->run_as(agent, argv, gate) : spawn(argv, so);
    std::string out = c.read_all(120);
    int st = c.wait(30);
    auto us = parse_lat(out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || static_cast<int>(us.size()) != n)
        throw stockade::Error(fmt::format("the hold driver ({}) failed: status {:#x}, {} of {} calls; output: {}",
                                          agent, st, us.size(), n, out.substr(0, 300)));
    return us;
}

}  // namespace

void bench_hold(const Options& o, Report& report) {
    std::string dir = o.scratch + "/hold";
    write_file(dir + "/allowed/file", "x\n");
    write_file(dir + "/secret/key", "TOPSECRET\n");  // exists: its never rule goes to the kernel
    write_file(dir + "/agents.d/fast.yaml", hold_boundary(o, dir, "benchfast", false));
    write_file(dir + "/agents.d/held.yaml", hold_boundary(o, dir, "benchheld", true));
    int n = o.quick ? 200 : 2000, chunk = o.quick ? 100 : 500;
    std::string path = dir + "/allowed/file";

    RealDaemon d(o, dir);
    d.start();
    std::vector<double> bare, fast, held, rbare, rfast, rgate;
    for (int done = 0; done < n; done += chunk) {
        int k = std::min(chunk, n - done);
        auto add = [](std::vector<double>& to, std::vector<double> v) { to.insert(to.end(), v.begin(), v.end()); };
        add(bare, run_loop(nullptr, o, "untracked", path, k));
        add(fast, run_loop(&d, o, "benchfast", path, k));
        add(held, run_loop(&d, o, "benchheld", path, k));
        add(rbare, run_loop(nullptr, o, "untracked", path, k, true));
        add(rfast, run_loop(&d, o, "benchfast", path, k, true));
        add(rgate, run_loop(&d, o, "benchfast", path, k, true, true));
    }
    d.stop();

    Section s;
    s.title = fmt::format("4b. What a hold adds to an allowed action, real stockaded, {} open+close each", n);
    s.header = {"agent", "p50", "p99", "max", "held"};
    auto row = [&](const char* what, const std::vector<double>& us, const char* held_by) {
        s.rows.push_back({what, fmt::format("{:.1f} us", percentile(us, 50)), fmt::format("{:.1f} us", percentile(us, 99)),
                          fmt::format("{:.0f} us", *std::max_element(us.begin(), us.end())), held_by});
    };
    row("untracked (no agent)", bare, "no");
    row("enforce agent, open allowed by the kernel (fast path)", fast, "never");
    row("enforce agent with a glob rule (**/*.pem): daemon-judged", held, "every open, until the daemon's SIGCONT");
    row("rename pair, untracked (no agent)", rbare, "no");
    row("rename pair, enforce agent, --no-seccomp", rfast, "at each rename's exit, when the kernel cannot decide it");
    row("rename pair, enforce agent, seccomp gate (stockade run's default)", rgate,
        "each rename, in the kernel, until the daemon's answer");
    s.notes.push_back(
        "the same driver (open + close of one allowed file, each call timed with CLOCK_MONOTONIC) launched with "
        "`stockade run` as each agent, in interleaved chunks; the held agent stops at each open's exit "
        "(SIGSTOP from BPF) until the daemon judges the record and sends SIGCONT; a rename pair is "
        "rename(file, file.2) and back, the gated agent's two renames each wait for the daemon's verdict "
        "(seccomp user notification) before they run");
    report.sections.push_back(std::move(s));
}

}  // namespace bench
