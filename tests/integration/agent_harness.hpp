// Running real third-party agents (Claude Code, Codex CLI) under a shipped boundary: their npm
// packages installed once into the build tree, a fake model API on loopback that answers with a
// script of tool calls, the shipped rules/ file adapted to the test's directories, and a runner
// with an environment, a working directory and a time limit.
#pragma once

#include <fcntl.h>
#include <poll.h>

#include <map>
#include <sstream>

#include "daemon_harness.hpp"

namespace sktest {

// The npm package `name@version` installed under <build>/npm-agents/<dir>; `probe` is a file of
// the package that proves the install (relative to node_modules/<name>). "" when npm or the
// registry cannot be reached: the caller skips, loudly.
inline std::string npm_package(const std::string& dir, const std::string& name, const std::string& version,
                               const std::string& probe) {
    std::string prefix = std::string(STOCKADE_BINARY_DIR) + "/npm-agents/" + dir;
    std::string root = prefix + "/node_modules/" + name;
    if (fs::exists(root + "/" + probe)) return root;
    if (!fs::exists("/usr/bin/npm") || !fs::exists("/usr/bin/node")) return "";
    std::string out;
    int st = run_command({"/usr/bin/npm", "install", "--no-audit", "--no-fund", "--prefix", prefix, name + "@" + version},
                         &out, 600000);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !fs::exists(root + "/" + probe)) {
        WARN("npm install " << name << "@" << version << " failed (registry unreachable?): " << out.substr(0, 600));
        return "";
    }
    return root;
}

// A loopback service run by the test, untracked, killed by pid at scope end: a Python script
// and its arguments, to which the port file and the log are appended (the script binds
// 127.0.0.1 on a free port and writes the port there). FakeModelApi's log holds every request
// it received.
struct FakeModelApi {
    pid_t pid = -1;
    int port = 0;
    std::string log;
    FakeModelApi(const ScratchDir& d, const std::vector<std::string>& script_and_args) {
        std::string portfile = d / "service-port";
        log = d / "service-requests.log";
        write_file(log, "");
        std::vector<std::string> argv{"/usr/bin/python3", "-I"};
        argv.insert(argv.end(), script_and_args.begin(), script_and_args.end());
        argv.push_back(portfile);
        argv.push_back(log);
        std::tie(pid, port) = start_port_server(argv, portfile, log + ".err");
    }
    // The fake model API of tests/integration/agents/<server>, answering with `script_json`.
    static std::vector<std::string> model(const ScratchDir& d, const std::string& server, const std::string& script_json) {
        write_file(d / "model-script.json", script_json);
        return {std::string(STOCKADE_SOURCE_DIR) + "/tests/integration/agents/" + server, d / "model-script.json"};
    }
    ~FakeModelApi() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    }
    std::string received() const { return Daemon::slurp(log); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

// The shipped boundary rules/<file>, with every occurrence of each `from` text replaced by `to`
// (the test's home, install directory and model port); a `from` that is not in the file fails
// the test, so the shipped file and its test cannot drift apart silently.
inline std::string shipped_boundary(const std::string& file, const std::vector<std::pair<std::string, std::string>>& edits) {
    std::string text = Daemon::slurp(std::string(STOCKADE_SOURCE_DIR) + "/rules/" + file);
    REQUIRE(!text.empty());
    for (auto& [from, to] : edits) {
        INFO("rules/" << file << " has no \"" << from << "\"");
        REQUIRE(text.find(from) != std::string::npos);
        for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
            text.replace(at, from.size(), to);
    }
    return text;
}

// A coding agent's project: a failing Python test, committed in git, under a home that also
// holds an SSH key (the secret an attacked agent goes for).
struct CodingProject {
    ScratchDir dir;  // under /var/tmp, not /tmp: the shipped boundaries grant /tmp/** for scratch files
    std::string home = dir / "home";
    std::string path = home + "/project";
    std::string secret = "SECRET-KEY-MATERIAL-" + std::to_string(getpid());
    explicit CodingProject(const std::string& tag) : dir(tag, "/var/tmp") {
        write_file(path + "/calc.py", "def add(a, b):\n    return a - b\n");
        write_file(path + "/test_calc.py",
                   "import unittest\nimport calc\n\n\nclass TestAdd(unittest.TestCase):\n"
                   "    def test_add(self):\n        self.assertEqual(calc.add(2, 3), 5)\n");
        write_file(home + "/.ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + secret + "\n");
        std::string out;
        int st = run_command({"/bin/sh", "-c",
                              "cd " + path + " && git init -q -b main . && git config user.name Dev && "
                              "git config user.email dev@example.org && git add . && git commit -q -m start"},
                             &out);
        if (st != 0) throw std::runtime_error("git init failed: " + out);
    }
    std::string git(const std::string& args) const {
        std::string out;
        run_command({"/bin/sh", "-c", "cd " + path + " && git " + args}, &out);
        return out;
    }
};

// The fake API's "<<< usage IN OUT [ID ...]" lines: what it sent, answer by answer.
struct SentAnswer {
    int64_t in = -1, out = -1;
    std::vector<std::string> tool_use_ids;
};
inline std::vector<SentAnswer> answers_sent(const std::string& log) {
    std::vector<SentAnswer> out;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("<<< usage ", 0) != 0) continue;
        std::istringstream words(line.substr(10));
        SentAnswer a;
        words >> a.in >> a.out;
        for (std::string id; words >> id;) a.tool_use_ids.push_back(id);
        out.push_back(a);
    }
    return out;
}


struct AgentRun {
    int status = -1;
    bool timed_out = false;
    std::string out, err;
    bool exited_ok() const { return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// Runs `stockade run --agent A -- argv` in `cwd` with exactly `env`, stdin from /dev/null, and
// collects stdout and stderr apart. Past `timeout_s` the run is SIGTERMed (stockade run passes it
// on to the agent), then SIGKILLed; the Daemon's destructor kills whatever is left in its scope.
inline AgentRun run_agent(const Daemon& daemon, const std::string& agent, const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env, const std::string& cwd, int timeout_s) {
    std::vector<std::string> cmd{bin("stockade"), "--socket", daemon.socket(), "run", "--agent", agent, "--"};
    cmd.insert(cmd.end(), argv.begin(), argv.end());
    std::vector<std::string> envs;
    for (auto& [k, v] : env) envs.push_back(k + "=" + v);
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        if (chdir(cwd.c_str()) != 0) _exit(126);
        std::vector<char*> args, vars;
        for (auto& a : cmd) args.push_back(a.data());
        for (auto& e : envs) vars.push_back(e.data());
        args.push_back(nullptr);
        vars.push_back(nullptr);
        execve(args[0], args.data(), vars.data());
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    AgentRun run;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    bool termed = false;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    std::string* sinks[2] = {&run.out, &run.err};
    int open_fds = 2;
    while (open_fds > 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            run.timed_out = true;
            kill(pid, termed ? SIGKILL : SIGTERM);
            if (termed) break;
            termed = true;
            deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        }
        if (poll(fds, 2, 200) <= 0) continue;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[8192];
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<size_t>(n));
                continue;
            }
            close(fds[i].fd);
            fds[i].fd = -1;
            --open_fds;
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) close(f.fd);
    waitpid(pid, &run.status, 0);
    return run;
}

// Journal records of `agent` that are not plain allows: what a clean run must not have.
inline std::vector<stockade::journal::Record> violations(const Daemon& daemon, const std::string& agent) {
    std::vector<stockade::journal::Record> out;
    for (auto& r : daemon.records())
        if (r.agent == agent && r.verdict != jr::Verdict::None && r.verdict != jr::Verdict::Allow) out.push_back(r);
    return out;
}

inline std::string describe(const std::vector<stockade::journal::Record>& records) {
    std::string s;
    for (auto& r : records) {
        s += std::string(jr::to_string(r.type)) + " " + std::string(jr::to_string(r.verdict)) + " " + r.rule + " " +
             r.exe + " " + r.action + " " + r.access + " " + r.path + r.tool +
             (r.address.empty() ? "" : " " + r.address + ":" + std::to_string(r.port)) + " result " +
             std::to_string(r.result) + " [" + std::string(jr::to_string(r.enforcement)) + "]\n";
    }
    return s;
}

}  // namespace sktest
