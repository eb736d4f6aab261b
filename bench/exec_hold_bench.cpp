// 4c. What holding an interpreter's exec adds (issue 17, `sh SCRIPT` judged on its script): the
// same allowed `sh SCRIPT` and `sh -c :`, fork to reap, by an enforce agent without exec.deny rules
// (never held) and by one with them (`sh SCRIPT` held until the daemon's verdict, `sh -c` not),
// against the real stockaded, side by side.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "bench.hpp"
#include "common/error.hpp"
#include "journal/reader.hpp"

namespace bench {

// _execlat N SH ARGS...: N times fork, exec SH ARGS..., wait; each timed; prints "l NS" per run and
// "s K": K runs whose child was stopped (held by the kernel; seen by waitpid's WUNTRACED).
int execlat_main(int argc, char** argv) {
    if (argc < 4) return 2;
    int n = std::atoi(argv[2]);
    std::vector<uint64_t> ns(static_cast<size_t>(n));
    int stopped = 0;
    for (auto& v : ns) {
        uint64_t t0 = now_ns(CLOCK_MONOTONIC);
        pid_t pid = fork();
        if (pid < 0) return 3;
        if (pid == 0) {
            execv(argv[3], argv + 3);
            _exit(127);
        }
        int st = 0;
        bool held = false;
        while (waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st)) held = true;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 4;
        stopped += held;
        v = now_ns(CLOCK_MONOTONIC) - t0;
    }
    for (auto v : ns) std::printf("l %llu\n", static_cast<unsigned long long>(v));
    std::printf("s %d\n", stopped);
    std::fflush(stdout);
    return 0;
}

namespace {

// journal_allowed: full (both agents alike): each held exec's record carries how long it was held.
std::string exec_boundary(const Options& o, const std::string& dir, const std::string& name, bool deny) {
    return "agent: " + name + "\nmode: enforce\non_violation: kill\nmatch:\n  cgroup: " + cgroup_base() + "/unused-" +
           name + "\njournal_allowed: full\nfiles:\n  read: [\"/**\"]\n  write: [\"/dev/**\", \"" + dir +
           "/**\"]\nexec:\n  allow: [\"" + o.self + "\", \"/usr/bin/**\"]\n" +
           (deny ? "  deny: [\"" + dir + "/dtools/**\"]\n" : "");
}

struct Runs {
    std::vector<double> us;
    int stopped = 0;  // runs whose child the kernel held
    void add(const Runs& r) {
        us.insert(us.end(), r.us.begin(), r.us.end());
        stopped += r.stopped;
    }
};

Runs exec_loop(RealDaemon* d, const Options& o, const std::string& agent, const std::vector<std::string>& cmd, int n) {
    std::vector<std::string> argv{o.self, "_execlat", std::to_string(n)};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    SpawnOpts so;
    so.capture_out = true;
    Child c = d ? d->run_as(agent, argv) : spawn(argv, so);
    std::string out = c.read_all(300);
    int st = c.wait(30);
    Runs r;
    std::istringstream is(out);
    std::string tag;
    unsigned long long v;
    while (is >> tag >> v)
        if (tag == "l")
            r.us.push_back(static_cast<double>(v) / 1e3);
        else if (tag == "s")
            r.stopped = static_cast<int>(v);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || static_cast<int>(r.us.size()) != n)
        throw stockade::Error(fmt::format("the exec driver ({}) failed: status {:#x}, {} of {} runs; output: {}", agent,
                                          st, r.us.size(), n, out.substr(0, 300)));
    return r;
}

}  // namespace

void bench_exec_hold(const Options& o, Report& report) {
    std::string dir = o.scratch + "/exechold";
    write_file(dir + "/work/ok.sh", "exit 0\n");
    write_file(dir + "/dtools/evil", "exit 0\n");
    write_file(dir + "/agents.d/nodeny.yaml", exec_boundary(o, dir, "benchnodeny", false));
    write_file(dir + "/agents.d/deny.yaml", exec_boundary(o, dir, "benchdeny", true));
    int n = o.quick ? 50 : 500, chunk = o.quick ? 25 : 100;
    const std::vector<std::string> script{"/usr/bin/dash", dir + "/work/ok.sh"}, inline_code{"/usr/bin/dash", "-c", ":"};

    RealDaemon d(o, dir);
    d.start();
    Runs bare, nodeny, held, code;
    for (int done = 0; done < n; done += chunk) {
        int k = std::min(chunk, n - done);
        bare.add(exec_loop(nullptr, o, "untracked", script, k));
        nodeny.add(exec_loop(&d, o, "benchnodeny", script, k));
        held.add(exec_loop(&d, o, "benchdeny", script, k));
        code.add(exec_loop(&d, o, "benchdeny", inline_code, k));
    }
    std::vector<double> held_us;  // as the daemon journaled it: from the exec to its verdict
    for (auto& r : stockade::journal::read_last(d.journal(), 1000000, stockade::journal::Filter{}))
        if (r.agent == "benchdeny" && r.action == "exec" && r.held_us >= 0) held_us.push_back(static_cast<double>(r.held_us));
    d.stop();

    Section s;
    s.title = fmt::format("4c. What holding an interpreter's exec adds, real stockaded, {} fork+exec+wait each", n);
    s.header = {"agent, command", "p50", "p99", "max", "held (seen stopped)"};
    auto row = [&](const char* what, const Runs& r) {
        const auto& us = r.us;
        s.rows.push_back({what, fmt::format("{:.0f} us", percentile(us, 50)), fmt::format("{:.0f} us", percentile(us, 99)),
                          fmt::format("{:.0f} us", *std::max_element(us.begin(), us.end())),
                          fmt::format("{} of {}", r.stopped, us.size())});
    };
    row("untracked, sh SCRIPT", bare);
    row("enforce agent without exec.deny, sh SCRIPT", nodeny);
    row("enforce agent with exec.deny, sh SCRIPT (held until the daemon's SIGCONT)", held);
    row("enforce agent with exec.deny, sh -c : (inline code: not held)", code);
    s.notes.push_back(
        "one driver per row forks and execs /usr/bin/dash (SCRIPT: `exit 0` in an allowed directory) and reaps it, "
        "each run timed with CLOCK_MONOTONIC; launched with `stockade run` as each agent, in interleaved chunks; "
        "held: runs whose child the driver saw stopped (waitpid WUNTRACED)");
    if (!held_us.empty())
        s.notes.push_back(fmt::format("held_us of the {} held execs the daemon journaled (exec to verdict): p50 {:.0f} us, "
                                      "p99 {:.0f} us",
                                      held_us.size(), percentile(held_us, 50), percentile(held_us, 99)));
    report.sections.push_back(std::move(s));
}

}  // namespace bench
