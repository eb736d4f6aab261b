// Tasks and time-limited grants through the real daemon: grants widen the boundary for their
// TTL, in userspace and in the kernel, then expire by themselves.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <thread>

#include "daemon_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

std::string task_boundary(const ScratchDir& d, const std::string& name) {
    fs::create_directories(d / "work");
    return "agent: " + name + "\nmode: enforce\non_violation: kill\nmatch:\n  cgroup: /stockade-it-unused-" + name +
           "\nfiles:\n  read: [\"" + d / "work/**" + "\"]\n  write: [/dev/null]\nexec:\n  allow: [/usr/bin/dash, "
           "/usr/bin/cat, /usr/bin/sleep, /usr/bin/python3]\nnetwork:\n  connect:\n    - cidr: 127.0.0.1\n      ports: 1\n";
}

// `stockade task begin ...`: returns the task id.
std::string begin_task(const Daemon& daemon, const std::vector<std::string>& args) {
    std::vector<std::string> cmd{bin("stockade"), "--socket", daemon.socket(), "task", "begin"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    std::string out;
    int st = run_command(cmd, &out);
    INFO(out);
    REQUIRE(WEXITSTATUS(st) == 0);
    return out.substr(0, out.find('\n'));
}

int run_in_task(const Daemon& daemon, const std::string& task, const std::vector<std::string>& argv,
                std::string* out = nullptr) {
    std::vector<std::string> cmd{bin("stockade"), "--socket", daemon.socket(), "run", "--no-landlock", "--task", task, "--"};
    cmd.insert(cmd.end(), argv.begin(), argv.end());
    return run_command(cmd, out);
}

}  // namespace

TEST_CASE("a 2-second read grant opens a window that closes by itself", "[tasks]") {
    ScratchDir d("grant");
    write_file(d / "data/report.txt", "data");
    write_file(d / "agents.d/t.yaml", task_boundary(d, "tasker"));
    Daemon daemon(d);
    daemon.start();
    std::string task = begin_task(daemon, {"--agent", "tasker", "--grant", "read=" + d / "data/**", "--ttl", "2s",
                                           "--label", "quarterly report"});
    REQUIRE(task.rfind("t-", 0) == 0);

    // One process, inside the task: reads in the window, waits past the TTL, reads again.
    std::string script = "import time\nopen('" + d / "data/report.txt" + "').read()\nprint('first', flush=True)\n"
                         "time.sleep(3)\nopen('" + d / "data/report.txt" + "').read()\n"
                         "time.sleep(1)  # a userspace kill lands within milliseconds\nprint('second', flush=True)\n";
    std::string out;
    int st = run_in_task(daemon, task, {"/usr/bin/python3", "-I", "-c", script}, &out);  // -I: no cwd on sys.path
    CHECK(out.find("first") != std::string::npos);
    CHECK(out.find("second") == std::string::npos);
    CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));

    auto allowed = daemon.wait_record([&](const Record& r) {
        return r.type == jr::RecordType::Decision && r.path == d / "data/report.txt" && r.verdict == jr::Verdict::Allow;
    });
    REQUIRE(allowed);
    CHECK(allowed->task == task);
    CHECK(allowed->grant == task + "/grant[0]");
    CHECK(allowed->rule == "task:" + task + "/grant[0]");
    auto denied = daemon.wait_record([&](const Record& r) {
        return r.type == jr::RecordType::Decision && r.path == d / "data/report.txt" && r.verdict == jr::Verdict::Kill;
    });
    REQUIRE(denied);
    CHECK(denied->task == task);
    CHECK(denied->grant.empty());
    CHECK(denied->rule == "t.yaml:default-deny");
    // The window's life, for the audit: issued, used, expired.
    for (std::string what : {"issued", "used", "expired"}) {
        auto g = daemon.wait_record([&](const Record& r) {
            return r.type == jr::RecordType::Grant && r.task == task && r.detail.rfind(what, 0) == 0;
        });
        INFO(what);
        CHECK(g);
    }
    CHECK(allowed->seq < denied->seq);

    std::string show;
    run_command({bin("stockade"), "--socket", daemon.socket(), "--journal", daemon.journal(), "agents", "show", "tasker"},
                &show);
    CHECK(show.find(task + "/grant[0] read=" + d / "data/**") != std::string::npos);  // which grant authorised what

    std::string list;
    run_command({bin("stockade"), "--socket", daemon.socket(), "task", "list"}, &list);
    CHECK(list.find(task) != std::string::npos);
    CHECK(list.find("expired") != std::string::npos);
}

TEST_CASE("grants the kernel decides are installed in its tables and removed on expiry", "[tasks]") {
    ScratchDir d("kgrant");
    write_file(d / "agents.d/t.yaml", task_boundary(d, "ktasker"));
    LoopbackListener l;
    std::string port = std::to_string(l.port);
    fs::copy_file("/usr/bin/true", d / "work/tool");
    Daemon daemon(d);
    daemon.start();
    std::string task = begin_task(daemon, {"--agent", "ktasker", "--grant", "connect=127.0.0.1:" + port, "--grant",
                                           "exec=" + d / "work/tool", "--ttl", "2s"});

    std::string script = "import socket, errno, subprocess, time\n"
                         "def c(tag):\n"
                         "    s = socket.socket()\n"
                         "    try: s.connect(('127.0.0.1', " + port + ")); print(tag, 'ok', flush=True)\n"
                         "    except OSError as e: print(tag, errno.errorcode[e.errno], flush=True)\n"
                         "def x(tag):\n"
                         "    r = subprocess.run(['" + d / "work/tool" + "']); print(tag, r.returncode, flush=True)\n"
                         "c('connect-in'); x('exec-in')\ntime.sleep(3)\nc('connect-after'); x('exec-after')\n";
    std::string out;
    int st = run_in_task(daemon, task, {"/usr/bin/python3", "-I", "-c", script}, &out);  // -I: no cwd on sys.path
    INFO(out << "\nstatus " << st << "\n" << Daemon::slurp(daemon.log()));
    CHECK(out.find("connect-in ok") != std::string::npos);
    CHECK(out.find("exec-in 0") != std::string::npos);
    CHECK(out.find("connect-after EPERM") != std::string::npos);  // refused in the kernel: the entry is gone
    CHECK(out.find("exec-after -9") != std::string::npos);        // killed at exec in the kernel
    auto r =
        daemon.wait_record([&](const Record& r) { return r.action == "connect" && r.verdict == jr::Verdict::Deny; });
    REQUIRE(r);
    CHECK(r->enforcement == jr::Enforcement::DeniedInKernel);
    CHECK(r->task == task);
    auto x = daemon.wait_record([&](const Record& r) {
        return r.action == "exec" && r.path == d / "work/tool" && r.verdict == jr::Verdict::Kill;
    });
    REQUIRE(x);
    CHECK(x->enforcement == jr::Enforcement::KilledInKernel);
}

TEST_CASE("a confined task may do less than its agent", "[tasks]") {
    ScratchDir d("confine");
    write_file(d / "work/docs/a.md", "a");
    write_file(d / "work/src/b.c", "b");
    write_file(d / "agents.d/t.yaml", task_boundary(d, "ctasker"));
    Daemon daemon(d);
    daemon.start();
    std::string task = begin_task(daemon, {"--agent", "ctasker", "--confine", "read=" + d / "work/docs/**"});
    std::string out;
    run_in_task(daemon, task, {"/bin/sh", "-c", "cat " + d / "work/docs/a.md" + "; sleep 0.2; cat " + d / "work/src/b.c"},
                &out);
    auto r = daemon.wait_record([&](const Record& r) { return r.path == d / "work/src/b.c"; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Kill);
    CHECK(r->rule == "task:" + task + "/confine");
    CHECK_FALSE(daemon.wait_record(
        [&](const Record& r) { return r.path == d / "work/docs/a.md" && r.verdict != jr::Verdict::Allow; }, 300));
    // Outside the task the agent may still read src/.
    daemon.run_as("ctasker", {"/usr/bin/cat", d / "work/src/b.c"}, &out);
    CHECK(out.find("b") != std::string::npos);
}

TEST_CASE("a sequence: after reading a secret, a connect outside the short list is refused in the kernel",
          "[tasks]") {
    ScratchDir d("sequence");
    write_file(d / "secrets/token", "s3cr3t");
    write_file(d / "work/notes", "n");
    LoopbackListener l;
    std::string port = std::to_string(l.port);
    std::string b = task_boundary(d, "seqagent");
    b.replace(b.find("ports: 1\n"), 9, "ports: 1-65535\n");  // any loopback port, normally
    b.replace(b.find("read: [\""), 8, "read: [\"" + d / "secrets/**" + "\", \"");
    b += "sequences:\n  - name: secret-then-network\n    after:\n      read: [\"" + d / "secrets/**" +
         "\"]\n    forbid:\n      connect_except:\n        - cidr: 127.0.0.1\n          ports: 1\n";
    write_file(d / "agents.d/s.yaml", b);
    Daemon daemon(d);
    daemon.start();

    std::string connect = "import socket, errno\ns = socket.socket()\n"
                          "try: s.connect(('127.0.0.1', " + port + ")); s.sendall(b'exfil'); print('sent', flush=True)\n"
                          "except OSError as e: print('connect', errno.errorcode[e.errno], flush=True)\n";
    // Without the read: allowed, and the listener gets the bytes.
    std::string out;
    daemon.run_as("seqagent", {"/usr/bin/python3", "-I", "-c", connect}, &out);
    CHECK(out.find("sent") != std::string::npos);
    int c = l.accept_now();
    REQUIRE(c >= 0);
    char buf[16];
    CHECK(recv(c, buf, sizeof buf, 0) == 5);
    close(c);

    // Read the secret first: the same connect is refused and nothing arrives.
    std::string chain = "open('" + d / "secrets/token" + "').read()\n" + connect;
    daemon.run_as("seqagent", {"/usr/bin/python3", "-I", "-c", chain}, &out);
    INFO(out);
    CHECK(out.find("connect EPERM") != std::string::npos);
    CHECK(l.accept_now() < 0);

    auto r =
        daemon.wait_record([&](const Record& r) { return r.action == "connect" && r.verdict != jr::Verdict::Allow; });
    REQUIRE(r);
    CHECK(r->rule == "s.yaml:secret-then-network");
    CHECK(r->enforcement == jr::Enforcement::DeniedInKernel);
    auto label = daemon.wait_record(
        [&](const Record& r) { return r.type == jr::RecordType::Label && r.path == d / "secrets/token"; });
    REQUIRE(label);
    // The chain names its first step by journal seq and hash.
    CHECK(r->detail.find(d / "secrets/token") != std::string::npos);
    CHECK(r->detail.find(label->hash) != std::string::npos);
    CHECK(r->detail.find("seq " + std::to_string(label->seq)) != std::string::npos);
}

TEST_CASE("a count sequence: more than N distinct secret files within the window", "[tasks]") {
    ScratchDir d("count");
    for (int i = 0; i < 5; ++i) write_file(d / ("work/k" + std::to_string(i) + ".pem"), "k");
    std::string b = task_boundary(d, "bulk");
    b += "sequences:\n  - name: bulk-keys\n    count:\n      read: [\"**/*.pem\"]\n      distinct: 3\n      within: 10s\n";
    write_file(d / "agents.d/c.yaml", b);
    Daemon daemon(d);
    daemon.start();
    std::string script = "import time\nfor i in range(5):\n    open('" + d / "work/k" + "%d.pem' % i).read()\n"
                         "    time.sleep(0.3)\nprint('all five', flush=True)\n";
    std::string out;
    int st = daemon.run_as("bulk", {"/usr/bin/python3", "-I", "-c", script}, &out);
    CHECK(out.find("all five") == std::string::npos);
    CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));
    auto r = daemon.wait_record([&](const Record& r) { return r.rule == "c.yaml:bulk-keys"; });
    REQUIRE(r);
    CHECK(r->path == d / "work/k3.pem");  // the fourth distinct file
    CHECK(r->verdict == jr::Verdict::Kill);
    CHECK(r->detail.find("4 distinct files") != std::string::npos);
}
