// `stockade run --agent A -- CMD`: runs CMD as the agent, in a scope the daemon makes for it. The
// command stays outside that scope, waits for CMD, and when any process of the agent was stopped
// it says on stderr which process, for which action, under which rule (from the journal), then
// ends the way CMD ended (a SIGKILLed CMD: stockade run dies of SIGKILL too, so shells see 137).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "control/protocol.hpp"
#include "enforce/landlock.hpp"
#include "enforce/mutation_filter.hpp"
#include "journal/reader.hpp"

namespace stockade::cli {

namespace {

pid_t g_child = -1;

void forward_signal(int sig) {
    if (g_child > 0) kill(g_child, sig);
}

// The launched process: installs the mutation filter (unless --no-seccomp) and tells the parent
// its listener's number on `ready_fd` (-1: none, then why), waits for the parent's go (it is in
// the agent's scope then, and the daemon holds the listener), restricts itself to the Landlock
// ruleset (built unless --no-landlock), and becomes the command.
[[noreturn]] void become_command(int go_fd, int ready_fd, bool gate, int ruleset,
                                 const std::vector<std::string>& command) {
    int listener = -1;
    std::string why;
    if (gate) {
        try {
            listener = enforce::install_mutation_filter();
        } catch (const Error& e) {
            why = e.what();
        }
    }
    std::string ready = std::to_string(listener) + " " + why;
    if (write(ready_fd, ready.data(), ready.size()) != static_cast<ssize_t>(ready.size())) _exit(kExitDaemon);
    close(ready_fd);
    std::string msg;
    char buf[512];
    ssize_t n;
    while ((n = read(go_fd, buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
    close(go_fd);
    if (listener >= 0) close(listener);  // the daemon's now: the agent must never answer its own calls
    if (msg.empty()) _exit(kExitDaemon);  // the parent could not place it: it said why
    if (ruleset >= 0) {
        try {
            enforce::restrict_to_ruleset(ruleset);
        } catch (const Error& e) {
            std::fprintf(stderr, "stockade run: %s\n", e.what());
            _exit(kExitDaemon);
        }
    }
    std::vector<char*> argv;
    for (auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "stockade run: cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
}

// The Landlock ruleset of the agent's boundary in force: the daemon plans it from the boundary it
// enforces (never from a file read here, which may have been moved or edited since), and it is
// built here, outside the agent's scope: inside it, opening the ruleset's paths would be the
// agent's own actions, judged (and in enforce mode killed) by that boundary. Throws stockade::Error.
int landlock_ruleset(const std::string& socket, const std::string& agent, const std::string& task) {
    control::Request req;
    req.op = "landlock";
    req.agent = agent;
    req.task = task;
    auto resp = control::call(socket, req);
    if (!resp.ok) throw Error(resp.error);
    return enforce::build_landlock_ruleset(enforce::decode_plan(resp.body));
}

bool stopped(const journal::Record& r) {
    return r.verdict == journal::Verdict::Kill && !r.enforcement.has(journal::Enforcement::AlreadyKilled) &&
           !r.enforcement.has(journal::Enforcement::KillFailed);
}

// An attempt outside the boundary that the kernel refused (Landlock: EACCES, EXDEV, EPERM).
bool refused(const journal::Record& r) {
    return r.verdict == journal::Verdict::Flag && (r.result == -EACCES || r.result == -EXDEV || r.result == -EPERM);
}

// An argument as shown in one line: newlines as spaces, a long one (`-c` code) cut.
std::string short_arg(std::string a) {
    std::replace(a.begin(), a.end(), '\n', ' ');
    return a.size() > 40 ? a.substr(0, 37) + "..." : a;
}

std::string describe_stop(const journal::Record& r) {
    std::string cmd = r.exe;
    for (size_t i = 1; i < r.argv.size() && i < 4; ++i) cmd += " " + short_arg(r.argv[i]);
    std::string what = r.action;
    if (!r.access.empty()) what += " (" + r.access + ")";
    if (!r.tool.empty())
        what += " " + r.tool;
    else if (!r.path.empty())
        what += " " + (r.address.rfind("http", 0) == 0 ? r.address + r.path : r.path);
    else if (!r.address.empty())
        what += " " + r.address + (r.port ? ":" + std::to_string(r.port) : "");
    std::string how = refused(r) ? std::string("before it happened: ") + strerrorname_np(static_cast<int>(-r.result)) +
                                       " at the syscall"
                                 : journal::to_string(r.enforcement);
    std::string s = "pid " + std::to_string(r.pid) + " (" + cmd + ") was stopped (" + how + ") for " + what +
                    " under rule " + r.rule;
    if (!r.resolved.empty()) s += ": " + r.resolved;
    return s;
}

// Tells the user why the agent in `scope` was stopped: the kill records the daemon journaled for
// it since `since` (they may still be on their way: waits up to `wait_ms` for the first).
void explain_stop(const std::string& socket, const std::string& agent, const std::string& scope,
                  std::chrono::system_clock::time_point since, bool expect_kill, int wait_ms, bool landlocked) {
    std::string journal_path;
    try {
        control::Request req;
        req.op = "status";
        journal_path = control::decode_status(control::call(socket, req, 2000).body).journal_path;
    } catch (const Error&) {
    }
    journal::Filter f;
    f.agent = agent;
    f.since = since - std::chrono::seconds(1);
    std::vector<journal::Record> kills;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    do {
        kills.clear();
        if (!journal_path.empty())
            for (auto& r : journal::read_last(journal_path, 2000, f))
                if ((stopped(r) || (landlocked && refused(r))) &&
                    (r.cgroup == scope || r.cgroup.rfind(scope + "/", 0) == 0))
                    kills.push_back(r);
        if (!kills.empty() || std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (true);
    for (size_t i = 0; i < kills.size() && i < 5; ++i)
        std::fprintf(stderr, "stockade run: agent %s: %s\n", agent.c_str(), describe_stop(kills[i]).c_str());
    if (kills.size() > 5)
        std::fprintf(stderr, "stockade run: agent %s: %zu more stops\n", agent.c_str(), kills.size() - 5);
    if (kills.empty() && expect_kill)
        std::fprintf(stderr,
                     "stockade run: agent %s was killed; the journal%s%s says by what: stockade tail --agent %s\n",
                     agent.c_str(), journal_path.empty() ? "" : " ", journal_path.c_str(), agent.c_str());
    else if (!kills.empty())
        std::fprintf(stderr,
                     "stockade run: the boundary decided this (stockade tail --agent %s); widen it if the "
                     "action was legitimate\n",
                     agent.c_str());
}

// Ends this process the way the command ended.
[[noreturn]] void end_like(int status) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        signal(sig, SIG_DFL);
        kill(getpid(), sig);
        _exit(128 + sig);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

// The Landlock ruleset of the run (-1: none), or nullopt when the run must not start (said on
// stderr). Fail closed: on a kernel with Landlock, a ruleset that cannot be had stops the run
// unless --no-landlock says so; only a kernel without Landlock runs without it by default.
std::optional<int> run_ruleset(const std::string& socket, const std::string& agent, const std::string& task,
                               LandlockUse use) {
    if (use == LandlockUse::Off) return -1;
    if (use == LandlockUse::Default && enforce::landlock_abi() == 0) {
        std::fprintf(stderr, "stockade run: this kernel has no Landlock; the probes and the daemon alone stop what "
                             "is outside the boundary\n");
        return -1;
    }
    try {
        return landlock_ruleset(socket, agent, task);
    } catch (const Error& e) {
        std::fprintf(stderr, "stockade run: no Landlock ruleset for the run (%s); not started (--no-landlock runs "
                             "it without one)\n", e.what());
        return std::nullopt;
    }
}

// The launched process's listener number (-1: the run goes without the gate), or nullopt when
// the run must not start: the filter was asked for and could not be had (said on stderr).
std::optional<int> gate_listener(int ready_fd, bool gate) {
    std::string ready;
    char buf[512];
    ssize_t n;
    while ((n = read(ready_fd, buf, sizeof buf)) > 0) ready.append(buf, static_cast<size_t>(n));
    close(ready_fd);
    int listener = ready.empty() ? -1 : std::atoi(ready.c_str());
    if (!gate || listener >= 0) return listener;
    auto space = ready.find(' ');
    std::fprintf(stderr, "stockade run: %s; not started (--no-seccomp runs it without the gate, and then a "
                         "rename, unlink or chmod outside the boundary is stopped only after it happened)\n",
                 space == std::string::npos ? "the command could not start" : ready.substr(space + 1).c_str());
    return std::nullopt;
}

}  // namespace

int cmd_run(const std::string& socket, const std::string& agent, const std::string& task,
            const std::vector<std::string>& command, LandlockUse landlock, const std::string& token, bool gate) {
    if (command.empty()) {
        std::fprintf(stderr, "stockade run: nothing to run (stockade run --agent NAME -- COMMAND...)\n");
        return kExitUsage;
    }
    auto built = run_ruleset(socket, agent, task, landlock);
    if (!built) return kExitDaemon;
    int ruleset = *built;
    int go[2], ready[2];
    if (pipe2(go, O_CLOEXEC) != 0 || pipe2(ready, O_CLOEXEC) != 0) {
        std::fprintf(stderr, "stockade run: pipe: %s\n", std::strerror(errno));
        return kExitDaemon;
    }
    std::fflush(nullptr);
    pid_t child = fork();
    if (child < 0) {
        std::fprintf(stderr, "stockade run: fork: %s\n", std::strerror(errno));
        return kExitDaemon;
    }
    if (child == 0) {
        close(go[1]);
        close(ready[0]);
        become_command(go[0], ready[1], gate, ruleset, command);
    }
    close(go[0]);
    close(ready[1]);
    bool landlocked = ruleset >= 0;
    if (ruleset >= 0) close(ruleset);
    g_child = child;
    auto started = std::chrono::system_clock::now();
    std::string scope;
    std::optional<int> listener = gate_listener(ready[0], gate);
    try {
        if (!listener) throw Error("");
        control::Request req;
        req.op = "run";
        req.agent = agent;
        req.task = task;
        req.token = token;
        req.pid = static_cast<uint32_t>(child);
        req.notify_fd = *listener;
        auto resp = control::call(socket, req);
        if (!resp.ok) throw Error(resp.error);
        scope = resp.body;
        if (write(go[1], resp.body.data(), resp.body.size()) != static_cast<ssize_t>(resp.body.size()))
            throw Error(std::string("cannot start the command: ") + std::strerror(errno));
    } catch (const Error& e) {
        if (*e.what()) std::fprintf(stderr, "stockade run: %s\n", e.what());
        close(go[1]);  // the command is never run
        waitpid(child, nullptr, 0);
        return kExitDaemon;
    }
    close(go[1]);
    // The terminal's ^C and ^\ reach the command (same process group); its end is ours.
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGTERM, forward_signal);
    signal(SIGHUP, forward_signal);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    // Also after a clean exit: an agent whose tool's command was stopped carries on and may
    // succeed, and its user should still hear what was stopped.
    bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    // A command that failed under Landlock may have met a refusal the daemon then judged (and
    // killed it for, after it exited): give that record a moment too.
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    int wait_ms = killed ? 1000 : landlocked && !clean ? 300 : 0;
    explain_stop(socket, agent, scope, started, killed, wait_ms, landlocked);
    end_like(status);
}

}  // namespace stockade::cli
