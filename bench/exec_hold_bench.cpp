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

namespace bench {

// _execlat N SH ARGS...: N times fork, exec SH ARGS..., wait; each timed; prints "l NS" per run.
int execlat_main(int argc, char** argv) {
    if (argc < 4) return 2;
    int n = std::atoi(argv[2]);
    std::vector<uint64_t> ns(static_cast<size_t>(n));
    for (auto& v : ns) {
        uint64_t t0 = now_ns(CLOCK_MONOTONIC);
        pid_t pid = fork();
        if (pid < 0) return 3;
        if (pid == 0) {
            execv(argv[3], argv + 3);
            _exit(127);
        }
        int st = 0;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 4;
        v = now_ns(CLOCK_MONOTONIC) - t0;
    }
    for (auto v : ns) std::printf("l %llu\n", static_cast<unsigned long long>(v));
    std::fflush(stdout);
    return 0;
}

namespace {

std::string exec_boundary(const Options& o, const std::string& dir, const std::string& name, bool deny) {
    return "agent: " + name + "\nmode: enforce\non_violation: kill\nmatch:\n  cgroup: " + cgroup_base() + "/unused-" +
           name + "\njournal_allowed: summary\nfiles:\n  read: [\"/**\"]\n  write: [\"/dev/**\", \"" + dir +
           "/**\"]\nexec:\n  allow: [\"" + o.self + "\", \"/usr/bin/**\"]\n" +
           (deny ? "  deny: [\"" + dir + "/dtools/**\"]\n" : "");
}

std::vector<double> exec_loop(RealDaemon* d, const Options& o, const std::string& agent,
                              const std::vector<std::string>& cmd, int n) {
    std::vector<std::string> argv{o.self, "_execlat", std::to_string(n)};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    SpawnOpts so;
    so.capture_out = true;
    Child c = d ? d->run_as(agent, argv) : spawn(argv, so);
    std::string out = c.read_all(300);
    int st = c.wait(30);
    std::vector<double> us;
    std::istringstream is(out);
    std::string tag;
    unsigned long long v;
    while (is >> tag >> v)
        if (tag == "l") us.push_back(static_cast<double>(v) / 1e3);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || static_cast<int>(us.size()) != n)
        throw stockade::Error(fmt::format("the exec driver ({}) failed: status {:#x}, {} of {} runs; output: {}", agent,
                                          st, us.size(), n, out.substr(0, 300)));
    return us;
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
    std::vector<double> bare, nodeny, held, code;
    for (int done = 0; done < n; done += chunk) {
        int k = std::min(chunk, n - done);
        auto add = [](std::vector<double>& to, std::vector<double> v) { to.insert(to.end(), v.begin(), v.end()); };
        add(bare, exec_loop(nullptr, o, "untracked", script, k));
        add(nodeny, exec_loop(&d, o, "benchnodeny", script, k));
        add(held, exec_loop(&d, o, "benchdeny", script, k));
        add(code, exec_loop(&d, o, "benchdeny", inline_code, k));
    }
    d.stop();

    Section s;
    s.title = fmt::format("4c. What holding an interpreter's exec adds, real stockaded, {} fork+exec+wait each", n);
    s.header = {"agent, command", "p50", "p99", "max", "held"};
    auto row = [&](const char* what, const std::vector<double>& us, const char* held_by) {
        s.rows.push_back({what, fmt::format("{:.0f} us", percentile(us, 50)), fmt::format("{:.0f} us", percentile(us, 99)),
                          fmt::format("{:.0f} us", *std::max_element(us.begin(), us.end())), held_by});
    };
    row("untracked, sh SCRIPT", bare, "no");
    row("enforce agent without exec.deny, sh SCRIPT", nodeny, "never");
    row("enforce agent with exec.deny, sh SCRIPT", held, "every exec, until the daemon's SIGCONT");
    row("enforce agent with exec.deny, sh -c :", code, "never (inline code)");
    s.notes.push_back(
        "one driver per row forks and execs /usr/bin/dash (SCRIPT: `exit 0` in an allowed directory) and reaps it, "
        "each run timed with CLOCK_MONOTONIC; launched with `stockade run` as each agent, in interleaved chunks");
    report.sections.push_back(std::move(s));
}

}  // namespace bench
