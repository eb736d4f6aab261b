// Enforcement through the real daemon: real boundaries, real children launched with
// `stockade run`, assertions on what happened to them and on what was journaled.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <optional>
#include <thread>

#include "common/cgroup.hpp"
#include "enforce/landlock.hpp"

#include "daemon_harness.hpp"
#include "harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

// A boundary for the tests: the scratch dir's allowed/ is the agent's work area, secret/ is a
// never-touch subtree (kernel), *.pem is a never-touch glob (userspace).
std::string boundary(const ScratchDir& d, const std::string& name, const std::string& mode,
                     const std::string& extra = "", const std::string& on_violation = "kill") {
    fs::create_directories(d / "allowed");
    return "agent: " + name + "\nmode: " + mode + "\non_violation: " + on_violation + "\nmatch:\n  cgroup: /stockade-it-unused-" + name +
           "\nfiles:\n  read: [\"" + d / "allowed/**" + "\"]\n  write: [\"" + d / "allowed/**" +
           "\", /dev/null]\n  create: [\"" + d / "allowed/**" + "\"]\n  never: [\"" + d / "secret/**" +
           "\", \"**/*.pem\"]\nexec:\n  allow: [/usr/bin/dash, /usr/bin/cat, /usr/bin/touch, /usr/bin/sleep, "
           "/usr/bin/python3]\n" + extra;
}

bool killed(int st) { return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL; }

}  // namespace

TEST_CASE("a denied exec is killed in the kernel before its first instruction", "[enforce]") {
    ScratchDir d("exec");
    fs::copy_file("/usr/bin/touch", d / "evil-touch");  // same code, not in the allow list
    write_file(d / "agents.d/t.yaml", boundary(d, "execagent", "enforce"));
    Daemon daemon(d);
    daemon.start();

    int st = daemon.run_as("execagent", {"/bin/sh", "-c", d / "evil-touch " + d / "allowed/marker; echo rc=$?"});
    std::string out;
    daemon.run_as("execagent", {"/bin/sh", "-c", d / "evil-touch " + d / "allowed/marker2; echo rc=$?"}, &out);
    CHECK(WIFEXITED(st));
    CHECK(out.find("rc=137") != std::string::npos);  // the shell saw its child die of SIGKILL
    CHECK_FALSE(fs::exists(d / "allowed/marker"));
    CHECK_FALSE(fs::exists(d / "allowed/marker2"));

    auto r = daemon.wait_record([&](const Record& r) { return r.action == "exec" && r.path == d / "evil-touch"; });
    REQUIRE(r);
    CHECK(r->agent == "execagent");
    CHECK(r->verdict == jr::Verdict::Kill);
    CHECK(r->enforcement == jr::Enforcement::KilledInKernel);
    CHECK(r->rule == "t.yaml:default-deny");

    // The allowed tool still runs.
    daemon.run_as("execagent", {"/usr/bin/touch", d / "allowed/ok"});
    CHECK(fs::exists(d / "allowed/ok"));
}

TEST_CASE("a denied open is killed at syscall exit before the data can be used", "[enforce]") {
    ScratchDir d("open");
    write_file(d / "secret/key", "TOPSECRET\n");
    write_file(d / "agents.d/t.yaml", boundary(d, "openagent", "enforce"));
    Daemon daemon(d);
    daemon.start();

    int st = daemon.run_as("openagent", {"/bin/sh", "-c", "cat " + d / "secret/key" + " > " + d / "allowed/copy"});
    CHECK(WIFEXITED(st));
    REQUIRE(fs::exists(d / "allowed/copy"));         // the shell's redirect made it
    CHECK(fs::file_size(d / "allowed/copy") == 0);   // cat died before writing a byte

    auto r = daemon.wait_record([&](const Record& r) { return r.action == "open" && r.path == d / "secret/key"; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Kill);
    CHECK(r->enforcement == jr::Enforcement::KilledInKernel);
    CHECK(r->rule == "t.yaml:files.never[0]");
    CHECK(r->exe == "/usr/bin/cat");
}

TEST_CASE("a glob-only violation is killed by the daemon while the kernel holds it", "[enforce]") {
    ScratchDir d("glob");
    write_file(d / "allowed/server.pem", "-----BEGIN-----\n");
    write_file(d / "agents.d/t.yaml", boundary(d, "globagent", "enforce"));
    Daemon daemon(d);
    daemon.start();

    std::string script = "import time\nopen('" + d / "allowed/server.pem" +
                         "').read()\ntime.sleep(3)\nopen('" + d / "allowed/after" + "', 'w').write('x')\n";
    int st = daemon.run_as("globagent", {"/usr/bin/python3", "-c", script});
    CHECK(killed(st));
    CHECK_FALSE(fs::exists(d / "allowed/after"));
    auto r = daemon.wait_record([&](const Record& r) { return r.action == "open" && r.path == d / "allowed/server.pem"; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Kill);
    CHECK(r->enforcement == jr::Enforcement::KilledWhileHeld);
    CHECK(r->rule == "t.yaml:files.never[1]");
    CHECK(r->latency_us >= 0);
    CHECK(r->held_us >= 0);
    std::printf("userspace kill latency (event to SIGKILL, held meanwhile): %lld us\n", (long long)r->latency_us);
}

TEST_CASE("network: a denied destination gets EPERM and nothing reaches it", "[enforce]") {
    ScratchDir d("net");
    // Two listeners on loopback: the boundary allows the first port only.
    LoopbackListener ok, bad;
    int ok_port = ok.port, bad_port = bad.port;
    write_file(d / "agents.d/t.yaml",
               boundary(d, "netagent", "enforce", "network:\n  connect:\n    - cidr: 127.0.0.1/32\n      ports: " +
                                                     std::to_string(ok_port) + "\n      protocol: tcp\n"));
    Daemon daemon(d);
    daemon.start();

    std::string script = "import socket, errno\nfor p in (" + std::to_string(ok_port) + ", " + std::to_string(bad_port) +
                         "):\n    s = socket.socket()\n    try:\n        s.connect(('127.0.0.1', p)); print(p, 'ok')\n"
                         "    except OSError as e: print(p, errno.errorcode[e.errno])\n";
    std::string out;
    daemon.run_as("netagent", {"/usr/bin/python3", "-I", "-c", script}, &out);  // -I: no cwd on sys.path
    CHECK(out.find(std::to_string(ok_port) + " ok") != std::string::npos);
    CHECK(out.find(std::to_string(bad_port) + " EPERM") != std::string::npos);
    CHECK(ok.accept_now() >= 0);
    CHECK(bad.accept_now() < 0);  // nothing ever arrived
    auto r = daemon.wait_record([&](const Record& r) { return r.action == "connect" && r.port == bad_port; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Deny);
    CHECK(r->enforcement == jr::Enforcement::DeniedInKernel);
    CHECK(r->address == "127.0.0.1");
    CHECK(r->rule == "t.yaml:default-deny");
}

TEST_CASE("monitor mode lets everything run and journals what enforce would have done", "[enforce]") {
    ScratchDir d("monitor");
    write_file(d / "secret/key", "TOPSECRET\n");
    fs::copy_file("/usr/bin/touch", d / "evil-touch");
    write_file(d / "agents.d/t.yaml", boundary(d, "monagent", "monitor"));
    Daemon daemon(d);
    daemon.start();

    int st = daemon.run_as("monagent", {"/bin/sh", "-c", "cat " + d / "secret/key" + " > " + d / "allowed/copy; " +
                                                             d / "evil-touch " + d / "allowed/marker"});
    CHECK(WIFEXITED(st));
    CHECK(fs::file_size(d / "allowed/copy") == 10);
    CHECK(fs::exists(d / "allowed/marker"));
    auto open = daemon.wait_record([&](const Record& r) { return r.action == "open" && r.path == d / "secret/key"; });
    auto exec = daemon.wait_record([&](const Record& r) { return r.action == "exec" && r.path == d / "evil-touch"; });
    REQUIRE(open);
    REQUIRE(exec);
    CHECK(open->verdict == jr::Verdict::WouldDeny);
    CHECK(open->enforcement.empty());
    CHECK(exec->verdict == jr::Verdict::WouldDeny);
}

TEST_CASE("two agents, two boundaries: the same action is allowed for one and a violation for the other",
          "[identity]") {
    ScratchDir d("two");
    write_file(d / "data/file", "x");
    write_file(d / "agents.d/a.yaml", boundary(d, "alpha", "monitor") + "journal_allowed: full\n");
    std::string b = boundary(d, "beta", "monitor") + "journal_allowed: full\n";
    b.replace(b.find("read: [\""), 8, "read: [\"" + d / "data/**" + "\", \"");
    write_file(d / "agents.d/b.yaml", b);
    Daemon daemon(d);
    daemon.start();

    daemon.run_as("alpha", {"/usr/bin/cat", d / "data/file"});
    daemon.run_as("beta", {"/usr/bin/cat", d / "data/file"});
    auto ra = daemon.wait_record([&](const Record& r) { return r.agent == "alpha" && r.path == d / "data/file"; });
    auto rb = daemon.wait_record([&](const Record& r) { return r.agent == "beta" && r.path == d / "data/file"; });
    REQUIRE(ra);
    REQUIRE(rb);
    CHECK(ra->verdict == jr::Verdict::WouldDeny);
    CHECK(rb->verdict == jr::Verdict::Allow);
    CHECK(rb->rule == "b.yaml:files.read[0]");
    CHECK(ra->cgroup != rb->cgroup);
}

TEST_CASE("a changed boundary file is reloaded; a broken one leaves the set in force", "[identity]") {
    ScratchDir d("reload");
    write_file(d / "data/file", "x");
    write_file(d / "agents.d/r.yaml", boundary(d, "reloader", "monitor"));
    Daemon daemon(d);
    daemon.start();
    daemon.run_as("reloader", {"/usr/bin/cat", d / "data/file"});
    REQUIRE(daemon.wait_record(
        [&](const Record& r) { return r.path == d / "data/file" && r.verdict == jr::Verdict::WouldDeny; }));

    // A broken edit: refused, journaled, and the old boundary still judges.
    write_file(d / "agents.d/r.yaml", boundary(d, "reloader", "monitor") + "files:\n  bogus: 1\n");
    auto refused = daemon.wait_record([](const Record& r) {
        return r.type == jr::RecordType::Daemon && r.detail.find("refused") != std::string::npos;
    });
    REQUIRE(refused);
    CHECK(refused->detail.find("r.yaml:") != std::string::npos);  // names the file and line
    daemon.run_as("reloader", {"/bin/sh", "-c", "cat " + d / "data/file" + " >/dev/null"});

    // A good edit that allows the read: reloaded without a signal.
    std::string b = boundary(d, "reloader", "monitor") + "journal_allowed: full\n";
    b.replace(b.find("read: [\""), 8, "read: [\"" + d / "data/**" + "\", \"");
    write_file(d / "agents.d/r.yaml.tmp", b);
    fs::rename(d / "agents.d/r.yaml.tmp", d / "agents.d/r.yaml");
    REQUIRE(daemon.wait_record([](const Record& r) {
        return r.type == jr::RecordType::Daemon && r.detail.find("reloaded") != std::string::npos;
    }));
    daemon.run_as("reloader", {"/usr/bin/cat", d / "data/file"});
    auto allowed = daemon.wait_record(
        [&](const Record& r) { return r.path == d / "data/file" && r.verdict == jr::Verdict::Allow; });
    REQUIRE(allowed);
    CHECK(allowed->rule == "r.yaml:files.read[0]");
    size_t denied = 0;
    for (auto& r : daemon.records()) denied += r.path == d / "data/file" && r.verdict == jr::Verdict::WouldDeny;
    CHECK(denied == 2);  // the first run and the run under the refused edit

    // `stockade reload` asks for the same over the control socket and reports the outcome.
    std::string out;
    int st = run_command({bin("stockade"), "--socket", daemon.socket(), "reload"}, &out);
    CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
    CHECK(out.find("reloaded") != std::string::npos);
    write_file(d / "agents.d/broken.yaml", "agent: [unclosed\n");
    st = run_command({bin("stockade"), "--socket", daemon.socket(), "reload"}, &out);
    CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 1));
    INFO(out);
    CHECK(out.find("broken.yaml:2:1: error") != std::string::npos);  // file, line and column
    fs::remove(d / "agents.d/broken.yaml");
}

TEST_CASE("self-protection: signalling the daemon, bpf(), writing boundaries or cgroups is stopped in any mode",
          "[enforce]") {
    ScratchDir d("self");
    write_file(d / "agents.d/s.yaml", boundary(d, "selfagent", "monitor"));  // monitor: still stopped
    Daemon daemon(d);
    daemon.start();
    // Wherever this host mounts cgroup v2 (/sys/fs/cgroup on a pure v2 host, .../unified on a hybrid one).
    const std::string escape_cg = stockade::cgroup::dir_of("/stockade-escape-" + std::to_string(getpid()));
    struct Case {
        std::string name, code, action;
    };
    std::vector<Case> cases = {
        {"signal", "import os\nos.kill(" + std::to_string(daemon.pid()) + ", 0)\n", "signal"},
        {"bpf", "import ctypes\nctypes.CDLL(None).syscall(321, 0, 0, 0)\n", "bpf"},
        {"boundary", "open('" + daemon.agents_dir() + "/evil.yaml', 'w')\n", "open"},
        // A path-name call is judged in userspace: the kill lands within milliseconds, hence the pause.
        {"cgroup", "import os, time\nos.mkdir('" + escape_cg + "')\ntime.sleep(2)\n",
         "mkdir"},
    };
    for (auto& c : cases) {
        std::string script = c.code + "open('" + d / "allowed/after-" + c.name + "', 'w')\n";
        int st = daemon.run_as("selfagent", {"/usr/bin/python3", "-c", script});
        INFO(c.name);
        CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));
        CHECK_FALSE(fs::exists(d / ("allowed/after-" + c.name)));
        auto r = daemon.wait_record([&](const Record& r) { return r.action == c.action && r.rule == "builtin:self-protection"; });
        REQUIRE(r);
        CHECK(r->verdict == jr::Verdict::Kill);
        CHECK(!r->enforcement.empty());
    }
    CHECK(kill(daemon.pid(), 0) == 0);  // the daemon is alive
    // The open that created it ran (the kill is at its exit), but nothing was ever written.
    CHECK(fs::file_size(daemon.agents_dir() + "/evil.yaml") == 0);
    fs::remove(escape_cg);
}

TEST_CASE("on_violation: kill-agent kills every process of the agent at once", "[enforce]") {
    ScratchDir d("killagent");
    write_file(d / "agents.d/k.yaml", boundary(d, "herd", "enforce", "", "kill-agent"));
    Daemon daemon(d);
    daemon.start();
    // A sibling that only sleeps, and a violator: both must die.
    std::string script = "import os, time\nif os.fork() == 0:\n    time.sleep(30)\n    os._exit(0)\n"
                         "time.sleep(0.3)\nopen('" + d / "allowed/x.pem" + "', 'w')\ntime.sleep(30)\n";
    auto t0 = std::chrono::steady_clock::now();
    int st = daemon.run_as("herd", {"/usr/bin/python3", "-c", script});
    CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
    auto r = daemon.wait_record([&](const Record& r) { return r.path == d / "allowed/x.pem"; });
    REQUIRE(r);
    CHECK(r->enforcement == jr::Enforcement::AgentKilledWhileHeld);  // the violator was held at its open
    // The scope empties: the sleeping sibling died with it (cgroup.kill takes a moment to finish).
    std::string procs = "?";
    for (int i = 0; i < 200 && !procs.empty(); ++i) {
        procs = Daemon::slurp(stockade::cgroup::dir_of(r->cgroup) + "/cgroup.procs");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(procs.empty());
}

TEST_CASE("stockade run fails clearly for an unknown agent or without a daemon", "[enforce]") {
    ScratchDir d("runerr");
    write_file(d / "agents.d/k.yaml", boundary(d, "known", "monitor"));
    Daemon daemon(d);
    std::string out;
    int st = daemon.run_as("known", {"/bin/true"}, &out);  // not started yet
    CHECK(WEXITSTATUS(st) == 3);
    CHECK(out.find("not running") != std::string::npos);
    daemon.start();
    st = daemon.run_as("nosuch", {"/bin/true"}, &out);
    CHECK(WEXITSTATUS(st) == 3);
    CHECK(out.find("unknown agent \"nosuch\"") != std::string::npos);
    CHECK(out.find("known") != std::string::npos);  // lists the agents in force
}

TEST_CASE("stockade run --landlock refuses at the syscall what is outside the boundary", "[enforce]") {
    if (stockade::enforce::landlock_abi() < 6) {
        WARN("SKIP: this kernel's Landlock ABI is below 6 (signal scopes)");
        return;
    }
    ScratchDir d("landlock");
    write_file(d / "allowed/in.txt", "in");
    write_file(d / "outside.txt", "out");
    write_file(d / "agents.d/l.yaml",
               boundary(d, "llagent", "monitor", "network:\n  connect:\n    - cidr: 127.0.0.1\n      ports: 1\n"));
    Daemon daemon(d);
    daemon.start();
    std::string script = "import os, errno, socket\n"
                         "def t(name, f):\n"
                         "    try: f(); print(name, 'ok')\n"
                         "    except OSError as e: print(name, errno.errorcode[e.errno])\n"
                         "t('in', lambda: open('" + d / "allowed/in.txt" + "').read())\n"
                         "t('out', lambda: open('" + d / "outside.txt" + "').read())\n"
                         "t('signal', lambda: os.kill(" + std::to_string(daemon.pid()) + ", 0))\n"
                         "t('connect', lambda: socket.create_connection(('127.0.0.1', 2), timeout=1))\n";
    std::vector<std::string> cmd{bin("stockade"), "--socket", daemon.socket(), "run", "--landlock", "--agent",
                                 "llagent", "--", "/usr/bin/python3", "-c", script};
    std::string out;
    run_command(cmd, &out);
    INFO(out);
    CHECK(out.find("in ok") != std::string::npos);
    CHECK(out.find("out EACCES") != std::string::npos);      // Landlock, synchronous, even in monitor mode
    CHECK(out.find("signal EPERM") != std::string::npos);    // signal scope: the daemon is unreachable
    CHECK(out.find("connect EACCES") != std::string::npos);  // TCP port not in the boundary
    CHECK(kill(daemon.pid(), 0) == 0);
    auto sig = daemon.wait_record([&](const Record& r) { return r.action == "signal"; });
    REQUIRE(sig);
    CHECK(sig->rule == "builtin:self-protection");
    CHECK(sig->enforcement == jr::Enforcement::DeniedInKernel);
    // The daemon still saw and judged the refused attempt.
    auto r = daemon.wait_record([&](const Record& r) { return r.path == d / "outside.txt"; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Flag);  // refused, so an attempt (failed_syscalls: attempt)
    CHECK(r->result == -EACCES);
    CHECK(r->resolved.find("failed with EACCES") != std::string::npos);
}

TEST_CASE("a connect Landlock refused is an attempt: the enforce agent is not killed for it, nothing arrived",
          "[enforce][attempts]") {
    if (stockade::enforce::landlock_abi() < 4) {
        WARN("SKIP: this kernel's Landlock ABI is below 4 (TCP ports)");
        return;
    }
    ScratchDir d("llconnect");
    LoopbackListener denied;
    write_file(d / "agents.d/l.yaml",
               boundary(d, "llconnect", "enforce", "network:\n  connect:\n    - cidr: 127.0.0.1\n      ports: 1\n"));
    Daemon daemon(d);
    daemon.start();
    std::string script = "import errno, socket\n"
                         "try:\n    socket.create_connection(('127.0.0.1', " + std::to_string(denied.port) +
                         "), timeout=2); print('connect ok')\n"
                         "except OSError as e: print('connect', errno.errorcode[e.errno])\n"
                         "print('carried on')\n";
    std::string out;
    int st = run_command({bin("stockade"), "--socket", daemon.socket(), "run", "--landlock", "--agent", "llconnect", "--",
                          "/usr/bin/python3", "-c", script},
                         &out);
    INFO(out);
    CHECK(out.find("connect EACCES") != std::string::npos);  // Landlock, before stockade's hook
    CHECK(out.find("carried on") != std::string::npos);      // not killed for an attempt
    CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
    CHECK(denied.accept_now() < 0);  // nothing arrived
    auto r = daemon.wait_record([&](const Record& r) { return r.action == "connect" && r.port == denied.port; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Flag);
    CHECK(r->result == -EACCES);
    CHECK(r->rule == "l.yaml:default-deny");
    CHECK(r->resolved.find("failed with EACCES before anything was sent") != std::string::npos);
}

TEST_CASE("when every file rule is exact or a directory, an open outside them is killed in the kernel",
          "[enforce]") {
    ScratchDir d("filestrict");
    write_file(d / "outside/data", "OUTSIDE\n");
    write_file(d / "agents.d/t.yaml", boundary(d, "strictagent", "enforce"));
    Daemon daemon(d);
    daemon.start();
    std::string status;
    run_command({bin("stockade"), "--socket", daemon.socket(), "status"}, &status);
    INFO(status);
    CHECK(status.find("files") != std::string::npos);  // IN KERNEL column

    int st = daemon.run_as("strictagent", {"/bin/sh", "-c", "cat " + d / "outside/data" + " > " + d / "allowed/copy"});
    CHECK(WIFEXITED(st));
    REQUIRE(fs::exists(d / "allowed/copy"));
    CHECK(fs::file_size(d / "allowed/copy") == 0);  // cat died in its open: not one byte read
    auto r = daemon.wait_record([&](const Record& r) { return r.path == d / "outside/data"; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Kill);
    CHECK(r->enforcement == jr::Enforcement::KilledInKernel);
    CHECK(r->rule == "t.yaml:default-deny");
    // Reads inside the boundary (and the builtin system reads) are untouched.
    std::string out;
    write_file(d / "allowed/in", "IN\n");
    daemon.run_as("strictagent", {"/usr/bin/cat", d / "allowed/in"}, &out);
    CHECK(out.find("IN") != std::string::npos);
}

TEST_CASE("a cgroup made after start-up with an agent's cgroup path is tracked from its mkdir", "[enforce][cgroup]") {
    ScratchDir d("fresh");
    fs::create_directories(d / "secret");
    write_file(d / "secret/key", "k");
    // Copies of env (not in the exec allow list: judged as the agent's, their exec is killed). The
    // daemon is told that the first one is the service manager's executor (as systemd 255+ has
    // /usr/lib/systemd/systemd-executor); the second only has its name.
    fs::create_directories(d / "impostor");
    fs::copy_file("/usr/bin/env", d / "systemd-executor");
    fs::copy_file("/usr/bin/env", d / "impostor/systemd-executor");
    std::string path = "/stockade-test-" + std::to_string(getpid()) + "-fresh";
    // The boundary names the cgroup before it exists (as a unit's cgroup before systemd starts it).
    std::string yaml = boundary(d, "fresh", "enforce");
    yaml.replace(yaml.find("/stockade-it-unused-fresh"), std::string("/stockade-it-unused-fresh").size(), path);
    write_file(d / "agents.d/f.yaml", yaml);
    Daemon daemon(d, "service_executors: [" + d / "systemd-executor" + "]\n");
    daemon.start();

    // The directory scan runs once a second: only the kernel's mkdir hook can have tagged the
    // cgroup by the time its first process, started at once, reads the secret.
    TestCgroup cg("fresh");
    REQUIRE(cg.rel() == path);
    std::vector<std::string> argv{"/usr/bin/cat", d / "secret/key"};
    std::string first = argv[0];
    SECTION("the unit's program is the first exec") {}
    SECTION("the service manager's executor execs first: that exec is not the agent's") {
        argv.insert(argv.begin(), d / "systemd-executor");
    }
    SECTION("a program named like the executor is the agent's: judged and killed at its exec") {
        first = d / "impostor/systemd-executor";
        argv.insert(argv.begin(), first);
    }
    bool via_memfd = false;
    SECTION("a container runtime re-executes itself from a memfd first (runc): that exec is not the agent's") {
        via_memfd = true;  // the memfd holds env, which then execs cat: the first named program
        argv.insert(argv.begin(), "/usr/bin/env");
    }
    std::optional<Child> c;
    if (via_memfd)
        c.emplace(cg, std::function<void()>([&] {
                      int mfd = memfd_create("runc_cloned:/proc/self/exe", MFD_CLOEXEC);
                      int src = open(argv[0].c_str(), O_RDONLY | O_CLOEXEC);
                      if (mfd < 0 || src < 0) _exit(125);
                      struct stat sb {};
                      fstat(src, &sb);
                      if (sendfile(mfd, src, nullptr, sb.st_size) != sb.st_size) _exit(125);
                      std::vector<char*> args;
                      for (auto& a : argv) args.push_back(a.data());
                      args.push_back(nullptr);
                      fexecve(mfd, args.data(), environ);
                      _exit(127);
                  }));
    else
        c.emplace(cg, argv);
    int st = c->wait();
    CHECK(killed(st));
    if (first == d / "impostor/systemd-executor") {
        auto r = daemon.wait_record([&](const Record& r) { return r.action == "exec" && r.path == first; });
        REQUIRE(r);
        CHECK(r->agent == "fresh");
        CHECK(r->enforcement == jr::Enforcement::KilledInKernel);
        for (auto& rec : daemon.records()) CHECK(rec.path != d / "secret/key");  // cat never ran
        return;
    }
    auto r = daemon.wait_record([&](const Record& r) { return r.action == "open" && r.path == d / "secret/key"; });
    REQUIRE(r);
    CHECK(r->agent == "fresh");  // attributed: the mkdir record came first and named the cgroup
    CHECK(r->enforcement == jr::Enforcement::KilledInKernel);
    CHECK(r->cgroup == path);
    for (auto& rec : daemon.records()) {
        CHECK(rec.path != d / "systemd-executor");
        CHECK(!(rec.action == "exec" && rec.verdict == jr::Verdict::Kill));  // the memfd exec: not judged
    }
}

TEST_CASE("kill-agent: after a kernel kill the rest of the agent dies at its next syscall", "[enforce]") {
    ScratchDir d("doomed");
    fs::create_directories(d / "secret");
    write_file(d / "secret/key", "k");
    write_file(d / "agents.d/k.yaml", boundary(d, "doomed", "enforce", "journal_allowed: full\n", "kill-agent"));
    Daemon daemon(d);
    daemon.start();
    // A sibling appends to a file in a loop (each open journaled with its kernel time) while
    // `cat` reads the secret. The daemon's cgroup.kill comes ~0.1 ms after the kernel's kill of
    // `cat`; the sibling must not get that long: it dies at its next syscall.
    std::string script = "(while :; do echo x >> " + d / "allowed/count" + "; done) & sleep 0.3; /usr/bin/cat " +
                         d / "secret/key" + "; sleep 5";
    int st = daemon.run_as("doomed", {"/bin/sh", "-c", script});
    CHECK(killed(st));
    auto r = daemon.wait_record([&](const Record& r) { return r.path == d / "secret/key"; });
    REQUIRE(r);
    CHECK(r->enforcement == jr::Enforcements{jr::Enforcement::KilledInKernel, jr::Enforcement::AgentKilledByDaemon});
    // The kill record's time is when the doom became visible (sk_kill). The sibling checks the
    // doom at each syscall exit before it takes its own record's time, so at most the one open
    // whose check came just before the doom can carry a later time; a second one would mean it
    // passed a syscall exit alive after the doom (a stream: the daemon's cgroup.kill, ~0.1 ms on,
    // would be what stopped it).
    size_t before = 0, after = 0;
    for (auto& rec : daemon.records()) {
        if (rec.path != d / "allowed/count") continue;
        (rec.mono_ns > r->mono_ns ? after : before)++;
    }
    INFO("sibling opens before the doom: " << before << ", after: " << after);
    CHECK(before > 10);  // the loop ran
    CHECK(after <= 1);
}
