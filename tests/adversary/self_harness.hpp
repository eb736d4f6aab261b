// Helpers of the self-protection adversary tests (test_self*.cpp): the attacker, run as an agent
// through `stockade run`, and the checks that the daemon still runs, serves and enforces.
#pragma once

#include <bpf/bpf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "daemon_harness.hpp"

namespace sktest::self {

using stockade::journal::Record;

inline constexpr char kSecret[] = "TOPSECRET-51f0";

inline std::string attacker() { return std::string(ADVERSARY_BIN_DIR) + "/adv_self_attack"; }

inline std::string boundary(const ScratchDir& d, const std::string& name) {
    fs::create_directories(d / "allowed");
    return "agent: " + name + "\nmode: enforce\non_violation: kill\nmatch:\n  cgroup: /stockade-adv-unused-" + name +
           "\nfiles:\n  read: [\"" + d / "allowed/**" + "\", \"/proc/**\"]\n  write: [\"" + d / "allowed/**" +
           "\", /dev/null]\n  never: [\"" + d / "secret/**" + "\"]\nexec:\n  allow: [/usr/bin/dash, /usr/bin/cat, \"" +
           std::string(ADVERSARY_BIN_DIR) + "/**\", \"" + bin("stockade") + "\"]\n";
}

inline std::string quote(const std::vector<std::string>& args) {
    std::string cmd;
    for (auto& a : args) cmd += (cmd.empty() ? "" : " ") + ("'" + a + "'");
    return cmd;
}

// What one attack did: its output ("CALL x", "RET x rc errno", then "rc=N" from the shell).
struct Outcome {
    std::string out;
    bool called(const std::string& what) const { return out.find("CALL " + what + "\n") != std::string::npos; }
    bool returned(const std::string& what) const { return out.find("RET " + what + " ") != std::string::npos; }
    bool refused(const std::string& what) const { return out.find("RET " + what + " -1 ") != std::string::npos; }
    bool killed() const { return out.find("rc=137") != std::string::npos; }
};

// What launches the attacker: `stockade run` with only the probes and the daemon behind it, with
// its seccomp gate (the default without Landlock), or with Landlock alone.
enum class Launch { Probes, Gate, Landlock };

inline Outcome attack(Daemon& daemon, const std::string& agent, const std::vector<std::string>& args,
                      Launch launch = Launch::Probes) {
    std::vector<std::string> argv{attacker()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> cmd{bin("stockade"), "--socket", daemon.socket(), "run"};
    cmd.push_back(launch == Launch::Landlock ? "--landlock" : "--no-landlock");
    if (launch != Launch::Gate) cmd.push_back("--no-seccomp");
    cmd.insert(cmd.end(), {"--agent", agent, "--", "/bin/sh", "-c", quote(argv) + "; echo rc=$?"});
    Outcome o;
    run_command(cmd, &o.out);
    return o;
}

// The daemon's state letter in /proc (R, S, T for stopped, t for traced ...), '?' when gone.
inline char state_of(pid_t pid) {
    std::string stat = Daemon::slurp("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    return close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2];
}

// Still running (not exited, not left stopped) and answering the control socket.
inline void check_daemon_serves(Daemon& daemon) {
    int st = 0;
    REQUIRE(waitpid(daemon.pid(), &st, WNOHANG) == 0);
    char state = '?';
    for (int i = 0; i < 50; ++i) {  // a stop is cancelled at once; allow the scheduler a moment
        state = state_of(daemon.pid());
        if (state != 'T' && state != 't') break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(state != 'T');
    CHECK(state != 't');
    stockade::control::Request r;
    r.op = "status";
    CHECK(stockade::control::call(daemon.socket(), r, 2000).ok);
}

// A thread of the daemon other than its main one.
inline pid_t other_thread(pid_t pid) {
    for (auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task"))
        if (std::stoi(e.path().filename().string()) != pid) return std::stoi(e.path().filename().string());
    return pid;
}

// The daemon's descriptor whose fdinfo / link says `what` ("link_type:\tcgroup", a path ...).
inline int daemon_fd(pid_t pid, const std::string& what) {
    for (auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
        std::error_code ec;
        std::string fd = e.path().filename().string();
        if (fs::read_symlink(e.path(), ec).string() == what ||
            Daemon::slurp("/proc/" + std::to_string(pid) + "/fdinfo/" + fd).find(what) != std::string::npos)
            return std::stoi(fd);
    }
    return -1;
}

// How many of the daemon's cgroup links (by program id, from its fdinfo) are attached at the
// cgroup v2 root: the socket hooks a BPF_LINK_DETACH would have taken away.
inline size_t cgroup_hooks_attached(pid_t pid) {
    std::set<uint32_t> progs;
    for (auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fdinfo")) {
        std::istringstream in(Daemon::slurp(e.path().string()));
        std::string line;
        bool cgroup_link = false;
        uint32_t prog = 0;
        while (std::getline(in, line)) {
            if (line == "link_type:\tcgroup") cgroup_link = true;
            if (line.rfind("prog_id:\t", 0) == 0) prog = static_cast<uint32_t>(std::stoul(line.substr(9)));
        }
        if (cgroup_link && prog) progs.insert(prog);
    }
    int root = open(stockade::cgroup::root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    size_t attached = 0;
    for (auto type : {BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT, BPF_CGROUP_UDP4_SENDMSG,
                      BPF_CGROUP_UDP6_SENDMSG}) {
        uint32_t ids[64], count = 64;
        if (bpf_prog_query(root, type, 0, nullptr, ids, &count) != 0) continue;
        for (uint32_t i = 0; i < count; ++i) attached += progs.count(ids[i]);
    }
    close(root);
    return attached;
}

// After the attacks: it still enforces (the agent's read of a never file is killed, no byte out)
// and its journal verifies.
inline void check_still_enforcing(Daemon& daemon, const ScratchDir& d, const std::string& agent) {
    std::string out;
    daemon.run_as(agent, {"/bin/sh", "-c", "/usr/bin/cat " + d / "secret/key" + "; echo rc=$?"}, &out);
    INFO(out);
    CHECK(out.find(kSecret) == std::string::npos);
    CHECK(out.find("rc=137") != std::string::npos);
    CHECK(run_command({bin("stockade"), "verify", daemon.journal()}) == 0);
}

// An attack must fail (refused by the kernel) or kill the agent at the call (no RET line).
inline void check_stopped(const Outcome& o, const std::string& what) {
    INFO(what << ":\n" << o.out);
    REQUIRE(o.called(what));
    CHECK((o.refused(what) || (o.killed() && !o.returned(what))));
}


}  // namespace sktest::self
