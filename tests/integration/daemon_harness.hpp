// Runs the real stockaded binary with a scratch configuration (boundaries, journal, socket in
// a temporary directory) and the real `stockade` command against it.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/cgroup.hpp"
#include "control/protocol.hpp"
#include "journal/reader.hpp"
#include "journal/record.hpp"

// The journal's record kinds (RecordType, Verdict, Enforcement), compared in every test.
namespace jr = stockade::journal;

namespace sktest {

namespace fs = std::filesystem;

inline std::string bin(const char* name) { return std::string(STOCKADE_BINARY_DIR) + "/userspace/" + name; }

// A scratch directory removed at the end of the test (under /tmp unless `base` says otherwise).
struct ScratchDir {
    fs::path path;
    explicit ScratchDir(const std::string& tag, const std::string& base = "/tmp") {
        path = fs::path(base) / ("stockade-it-" + std::to_string(getpid()) + "-" + tag);
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string operator/(const std::string& rel) const { return (path / rel).string(); }
};

inline void write_file(const std::string& path, const std::string& content) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << content;
}

// Runs argv, waits for it, returns its wait status; stdout+stderr into *out when given.
inline int run_command(const std::vector<std::string>& argv, std::string* out = nullptr, int timeout_ms = 20000) {
    int p[2];
    if (pipe(p) != 0) throw std::runtime_error("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(p[1]);
    std::string buf;
    char tmp[4096];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    ssize_t n;
    while ((n = read(p[0], tmp, sizeof tmp)) > 0) {
        buf.append(tmp, static_cast<size_t>(n));
        if (std::chrono::steady_clock::now() > deadline) break;
    }
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (out) *out = buf;
    return st;
}

// Starts a loopback server the test owns (untracked, killed with the test): `argv` runs it, it
// writes the port it listens on to `portfile` and its stderr goes to `errlog`. Returns its pid
// and port; throws, with that stderr, when no port appears within 5 s.
inline std::pair<pid_t, int> start_port_server(std::vector<std::string> argv, const std::string& portfile,
                                               const std::string& errlog) {
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        // Its tracebacks for connections a kill cut short go to a file, not the test output.
        int err = open(errlog.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (err >= 0) dup2(err, 2);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    int port = 0;
    for (int i = 0; i < 500 && !port; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        std::ifstream f(portfile);
        f >> port;
    }
    if (!port) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        std::ifstream e(errlog);
        std::stringstream ss;
        ss << e.rdbuf();
        throw std::runtime_error(argv.at(argv.size() > 2 ? 2 : 0) + " did not start: " + ss.str());
    }
    return {pid, port};
}

// A TCP listener on 127.0.0.1 and a free port, owned by the test (untracked), closed at scope end.
struct LoopbackListener {
    int fd = -1;
    uint16_t port = 0;
    LoopbackListener() {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 8) != 0)
            throw std::runtime_error("loopback listener");
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~LoopbackListener() { close(fd); }
    // A connection that already arrived, or -1 (non-blocking: nothing is waited for).
    int accept_now() const { return accept(fd, nullptr, nullptr); }
};

// The MCP test servers (tests/integration/mcp).
inline std::string mcp_dir() { return std::string(STOCKADE_SOURCE_DIR) + "/tests/integration/mcp"; }

// A Python MCP host's boundary without its tools: it reads the test servers, writes and creates
// under markers/ of `d`, and runs python3. Callers append a `tools:` section.
inline std::string mcp_host_boundary(const ScratchDir& d, const std::string& agent, const std::string& mode) {
    return "agent: " + agent + "\nmode: " + mode + "\nmatch:\n  cgroup: /stockade-it-unused-" + agent +
           "\nfiles:\n  read: [\"" + mcp_dir() + "/**\"]\n  write: [\"" + d / "markers/**" + "\"]\n"
           "  create: [\"" + d / "markers/**" + "\"]\nexec:\n  allow: [/usr/bin/python3*]\n";
}

class Daemon {
public:
    Daemon(const ScratchDir& dir, const std::string& extra_config = "")
        : agents_(dir / "agents.d"), journal_(dir / "journal/journal.jsonl"), socket_(dir / "run/control.sock") {
        fs::create_directories(agents_);
        // The pins live on a bpffs of the test's own: unmounting it at the end takes every pin
        // (and so every program the daemon left attached) away, whatever the test did.
        bpffs_ = dir / "bpffs";
        fs::create_directories(bpffs_);
        if (mount("bpf", bpffs_.c_str(), "bpf", 0, "mode=0700") != 0) throw std::runtime_error("mount bpffs");
        pin_dir_ = bpffs_ + "/stockade";
        config_ = dir / "stockade.yaml";
        write_file(config_, "agents_dir: " + agents_ + "\nsocket_path: " + socket_ + "\ncgroup_base: /stockade-it-" +
                                std::to_string(getpid()) + "\nsummary_interval: 1\nmetrics_dir: \"\"\nbpf_pin_dir: " +
                                pin_dir_ + "\nstate_dir: " + dir / "state" + "\n" + pre_journal_config(extra_config) +
                                "journal:\n  path: " + journal_ + "\n  fsync: never\n  group: \"\"\n  mirror: \"off\"\n" +
                                journal_config(extra_config));
        log_ = dir / "stockaded.log";
    }
    // Stops the daemon, then removes whatever it left under its cgroup base (a SIGKILLed daemon
    // cannot clean up its launcher scopes): only this test's own cgroups, deepest first.
    ~Daemon() {
        stop();
        umount2(bpffs_.c_str(), MNT_DETACH);
        std::string base = stockade::cgroup::root() + "/stockade-it-" + std::to_string(getpid());
        std::error_code ec;
        if (!fs::is_directory(base, ec)) return;
        std::vector<std::string> dirs;
        for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
            if (it->is_directory(ec)) dirs.push_back(it->path().string());
        std::sort(dirs.rbegin(), dirs.rend());  // children sort after their parents
        dirs.push_back(base);
        for (auto& dir : dirs) {
            std::string rel = dir.substr(stockade::cgroup::root().size());
            stockade::cgroup::kill_all(rel);
            stockade::cgroup::remove(rel, 2000);
        }
    }

    const std::string& agents_dir() const { return agents_; }
    const std::string& journal() const { return journal_; }
    const std::string& socket() const { return socket_; }
    const std::string& log() const { return log_; }
    const std::string& pin_dir() const { return pin_dir_; }
    const std::string& config() const { return config_; }

    // extra_config: lines indented by two spaces are journal keys, the others top-level keys.
    static std::string pre_journal_config(const std::string& extra) { return lines_of(extra, false); }
    static std::string journal_config(const std::string& extra) { return lines_of(extra, true); }
    static std::string lines_of(const std::string& extra, bool indented) {
        std::string out, line;
        std::istringstream in(extra);
        while (std::getline(in, line))
            if (!line.empty() && (line.rfind("  ", 0) == 0) == indented) out += line + "\n";
        return out;
    }
    pid_t pid() const { return pid_; }

    void start() {
        pid_ = fork();
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
            if (own_session_) setsid();        // as under systemd: its own process group and session
            FILE* f = std::freopen(log_.c_str(), "w", stdout);
            (void)f;
            dup2(1, 2);
            execl(bin("stockaded").c_str(), "stockaded", "--config", config_.c_str(), (char*)nullptr);
            _exit(127);
        }
        // Loading and verifying the BPF programs takes ~1 s idle; on a saturated 2-core machine
        // several times that. 60 s is a bound on a hang, not a performance figure.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < deadline) {
            int st;
            if (waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                std::string how = WIFSIGNALED(st) ? "killed by signal " + std::to_string(WTERMSIG(st))
                                  : WEXITSTATUS(st) == 127 ? "exit 127: could not exec " + bin("stockaded")
                                                           : "exit " + std::to_string(WEXITSTATUS(st));
                throw std::runtime_error("stockaded exited at start-up (" + how + "); log:\n" + slurp(log_));
            }
            try {
                stockade::control::Request r;
                r.op = "status";
                if (stockade::control::call(socket_, r, 1000).ok) return;
            } catch (const std::exception&) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        throw std::runtime_error("stockaded did not answer within 60 s; log:\n" + slurp(log_));
    }

    // SIGTERM, then SIGKILL after 5 s. Returns the wait status (-1 if it was not running).
    int stop() {
        if (pid_ <= 0) return -1;
        kill(pid_, SIGTERM);
        int st = 0;
        for (int i = 0; i < 500; ++i) {
            if (waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                return st;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
        pid_ = -1;
        return st;
    }

    void kill9() {
        if (pid_ <= 0) return;
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

    void reload() { kill(pid_, SIGHUP); }
    // start() puts the daemon in a session of its own (a test that signals its process group).
    void own_session() { own_session_ = true; }
    // The test reaped the daemon itself (to time its exit).
    void forget_exited() { pid_ = -1; }

    // `stockade run --agent A -- argv...` through the real command; returns its wait status.
    int run_as(const std::string& agent, const std::vector<std::string>& argv, std::string* out = nullptr) {
        // The probes are under test: --no-landlock --no-seccomp, so that neither Landlock nor the
        // seccomp gate (both on by default) refuses anything first (their own tests launch with them).
        std::vector<std::string> cmd{bin("stockade"), "--socket", socket_,  "run",  "--no-landlock",
                                     "--no-seccomp",  "--agent", agent,   "--"};
        cmd.insert(cmd.end(), argv.begin(), argv.end());
        return run_command(cmd, out);
    }

    std::vector<stockade::journal::Record> records() const {
        return stockade::journal::read_last(journal_, 100000, stockade::journal::Filter{});
    }

    // Waits until a journal record satisfies pred.
    std::optional<stockade::journal::Record> wait_record(const std::function<bool(const stockade::journal::Record&)>& pred,
                                                         int timeout_ms = 5000) const {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        do {
            for (auto& r : records())
                if (pred(r)) return r;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } while (std::chrono::steady_clock::now() < deadline);
        return std::nullopt;
    }

    static std::string slurp(const std::string& path) {
        std::ifstream f(path);
        return std::string(std::istreambuf_iterator<char>(f), {});
    }

private:
    std::string agents_, journal_, socket_, config_, log_, bpffs_, pin_dir_;
    pid_t pid_ = -1;
    bool own_session_ = false;
};

}  // namespace sktest
