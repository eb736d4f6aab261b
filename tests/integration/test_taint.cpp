// Labels through data (sequences[].through, bpf/taint.bpf.h): a secret's bytes that a labelled
// process writes to a pipe or a file carry the label to the process of the same agent that reads
// them, which then cannot send them, although it is no child of the labelled one. Real cat and
// curl against a loopback listener; what arrives there is the measure.
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "daemon_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

const std::string kSecret = "AKIA-TAINT-SECRET-42";
const std::string kPublic = "public-bytes-ok";

// An enforcing agent that may read data/, write tmp/, run sh, cat, sleep and curl, and reach any
// loopback port; after reading creds.txt or any *.cred it may connect nowhere.
std::string taint_boundary(const ScratchDir& d, const std::string& name, const std::string& through) {
    fs::create_directories(d / "tmp");
    return "agent: " + name + "\nmode: enforce\non_violation: kill\nmatch:\n  cgroup: /stockade-it-unused-" + name +
           "\nfiles:\n  read: [\"" + d / "data/**" + "\", \"" + d / "tmp/**" + "\"]\n  write: [/dev/null, \"" +
           d / "tmp/**" + "\"]\n  create: [\"" + d / "tmp/**" + "\"]\nexec:\n  allow: [/usr/bin/dash, "
           "/usr/bin/cat, /usr/bin/sleep, /usr/bin/curl]\nnetwork:\n  connect:\n    - cidr: 127.0.0.1\n"
           "      ports: 1-65535\nsequences:\n  - name: creds-then-net\n    after:\n      read: [\"" +
           d / "data/creds.txt" + "\", \"**/*.cred\"]\n    forbid:\n      connect: any\n" + through;
}

void write_data(const ScratchDir& d) {
    write_file(d / "data/creds.txt", kSecret + "\n");
    write_file(d / "data/vault.cred", kSecret + "\n");
    write_file(d / "data/public.txt", kPublic + "\n");
}

// Every byte the listener got: the connections its backlog completed, read to their end.
std::string received(const LoopbackListener& l) {
    std::string all;
    for (int c; (c = l.accept_now()) >= 0;) {
        char buf[4096];
        for (ssize_t n; (n = recv(c, buf, sizeof buf, MSG_DONTWAIT)) > 0;) all.append(buf, static_cast<size_t>(n));
        close(c);
    }
    return all;
}

std::string curl_post(const std::string& data_arg, const LoopbackListener& l) {
    return "curl -sS -m 1 -o /dev/null --data-binary " + data_arg + " http://127.0.0.1:" + std::to_string(l.port) + "/";
}

// `stockade run --agent AGENT -- sh -c CMD` with descriptor `fd` as its stdin (fd_no 0) or stdout
// (1); returns its pid. Two of these share nothing but what the test gives them.
pid_t run_with_fd(const Daemon& daemon, const std::string& agent, const std::string& cmd, int fd, int fd_no) {
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fd, fd_no);
        int null = open("/dev/null", O_RDWR);
        dup2(null, fd_no == 0 ? 1 : 0);
        for (int i = 3; i < 64; ++i) close(i);
        std::vector<std::string> argv{bin("stockade"), "--socket", daemon.socket(), "run", "--no-landlock", "--agent",
                                      agent, "--", "/bin/sh", "-c", cmd};
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    return pid;
}

}  // namespace

TEST_CASE("labels pass through a pipe: the sibling that reads a secret cannot send it", "[taint]") {
    ScratchDir d("taint-pipe");
    write_data(d);
    write_file(d / "agents.d/s.yaml", taint_boundary(d, "pipeagent", ""));
    LoopbackListener l;
    Daemon daemon(d);
    daemon.start();
    auto pipeline = [&](const std::string& file) {
        return "cat " + d / ("data/" + file) + " | (sleep 0.2; " + curl_post("@-", l) + ")";
    };

    // The control: bytes no label covers go through the same pipe to the same place.
    std::string out;
    int st = daemon.run_as("pipeagent", {"/bin/sh", "-c", pipeline("public.txt")}, &out);
    INFO(out);
    CHECK(received(l).find(kPublic) != std::string::npos);
    CHECK_FALSE(WIFSIGNALED(st));
    CHECK_FALSE(daemon.wait_record(
        [](const Record& r) { return r.type == jr::RecordType::Label || r.verdict == jr::Verdict::Kill || r.verdict == jr::Verdict::Deny; }, 300));

    // creds.txt: labelled by the kernel at the open; vault.cred (a glob): by the daemon.
    for (std::string file : {"creds.txt", "vault.cred"}) {
        SECTION(file) {
            daemon.run_as("pipeagent", {"/bin/sh", "-c", pipeline(file)}, &out);
            INFO(out);
            CHECK(received(l).empty());  // not one byte: the connect failed
            CHECK(out.find("(7) Failed to connect") != std::string::npos);  // curl: EPERM at connect
            auto label = daemon.wait_record([](const Record& r) {
                return r.type == jr::RecordType::Label && r.resolved.rfind("label via pipe:[", 0) == 0;
            });
            REQUIRE(label);
            CHECK(label->rule == "s.yaml:creds-then-net");
            CHECK(label->resolved.find("written by pid ") != std::string::npos);
            CHECK(label->exe == "/usr/bin/curl");
            auto refused = daemon.wait_record([](const Record& r) { return r.action == "connect" && r.verdict != jr::Verdict::Allow; });
            REQUIRE(refused);
            CHECK(refused->rule == "s.yaml:creds-then-net");
            CHECK(refused->enforcement == jr::Enforcement::DeniedInKernel);
            CHECK(refused->pid == label->pid);
            CHECK(refused->detail.find("label via pipe:[") != std::string::npos);  // the chain says how
        }
    }
}

TEST_CASE("labels pass through a file: another process that reads the copy cannot send it", "[taint]") {
    ScratchDir d("taint-file");
    write_data(d);
    write_file(d / "agents.d/s.yaml", taint_boundary(d, "fileagent", ""));
    LoopbackListener l;
    Daemon daemon(d);
    daemon.start();

    // The control: a copy of public bytes, sent by a second process (a second `stockade run`).
    std::string out;
    daemon.run_as("fileagent", {"/bin/sh", "-c", "cat " + d / "data/public.txt" + " > " + d / "tmp/plain"}, &out);
    int st = daemon.run_as("fileagent", {"/bin/sh", "-c", curl_post("@" + d / "tmp/plain", l)}, &out);
    INFO(out);
    CHECK(received(l).find(kPublic) != std::string::npos);
    CHECK_FALSE(WIFSIGNALED(st));

    // The secret's copy (cat writes it with copy_file_range), sent the same way.
    daemon.run_as("fileagent", {"/bin/sh", "-c", "cat " + d / "data/creds.txt" + " > " + d / "tmp/copy"}, &out);
    REQUIRE(fs::file_size(d / "tmp/copy") == kSecret.size() + 1);
    daemon.run_as("fileagent", {"/bin/sh", "-c", curl_post("@" + d / "tmp/copy", l)}, &out);
    INFO(out);
    CHECK(received(l).empty());
    CHECK(out.find("(7) Failed to connect") != std::string::npos);  // curl: EPERM at connect
    auto label = daemon.wait_record([&](const Record& r) { return r.type == jr::RecordType::Label && r.path == d / "tmp/copy"; });
    REQUIRE(label);
    CHECK(label->rule == "s.yaml:creds-then-net");
    CHECK(label->resolved.rfind("label via " + d / "tmp/copy" + " written by pid ", 0) == 0);
    auto refused = daemon.wait_record([](const Record& r) { return r.action == "connect" && r.verdict != jr::Verdict::Allow; });
    REQUIRE(refused);
    CHECK(refused->rule == "s.yaml:creds-then-net");
    CHECK(refused->enforcement == jr::Enforcement::DeniedInKernel);
    // The plain copy was never labelled: only the secret's.
    CHECK_FALSE(daemon.wait_record([&](const Record& r) { return r.type == jr::RecordType::Label && r.path == d / "tmp/plain"; }, 200));
}

TEST_CASE("through: [process] keeps a label on the process line only", "[taint]") {
    ScratchDir d("taint-off");
    write_data(d);
    write_file(d / "agents.d/s.yaml", taint_boundary(d, "offagent", "    through: [process]\n"));
    LoopbackListener l;
    Daemon daemon(d);
    daemon.start();
    std::string out;
    daemon.run_as("offagent", {"/bin/sh", "-c", "cat " + d / "data/creds.txt" + " | (sleep 0.2; " + curl_post("@-", l) + ")"},
                  &out);
    INFO(out);
    // What the option turns off: the sibling is not labelled, so its bytes arrive (the documented
    // exposure of through: [process]).
    CHECK(received(l).find(kSecret) != std::string::npos);
    CHECK_FALSE(daemon.wait_record([](const Record& r) { return r.type == jr::RecordType::Label && !r.resolved.empty(); }, 300));
    // cat itself carries the label: a connect of its own would be refused.
    CHECK(daemon.wait_record([&](const Record& r) { return r.type == jr::RecordType::Label && r.path == d / "data/creds.txt"; }));
}

TEST_CASE("labels pass through a unix socket: the process at the other end cannot send what it read", "[taint]") {
    ScratchDir d("taint-sock");
    write_data(d);
    write_file(d / "agents.d/s.yaml", taint_boundary(d, "sockagent", ""));
    LoopbackListener l;
    Daemon daemon(d);
    daemon.start();
    // Two separate launches joined by a socket pair the test made: cat writes one end, curl reads
    // the other (stdin) and posts what it read.
    auto exchange = [&](const std::string& file) {
        int sv[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        pid_t reader = run_with_fd(daemon, "sockagent", "sleep 0.3; " + curl_post("@-", l), sv[0], 0);
        pid_t writer = run_with_fd(daemon, "sockagent", "cat " + d / ("data/" + file), sv[1], 1);
        close(sv[0]);
        close(sv[1]);
        int st = 0;
        waitpid(writer, &st, 0);
        waitpid(reader, &st, 0);
        return st;
    };
    int st = exchange("public.txt");
    CHECK(received(l).find(kPublic) != std::string::npos);  // the control: unlabelled bytes go through
    CHECK_FALSE(WIFSIGNALED(st));
    CHECK_FALSE(daemon.wait_record([](const Record& r) { return r.type == jr::RecordType::Label && !r.resolved.empty(); }, 300));

    exchange("creds.txt");
    CHECK(received(l).empty());
    auto label = daemon.wait_record([](const Record& r) {
        return r.type == jr::RecordType::Label && r.resolved.rfind("label via socket:[", 0) == 0;
    });
    REQUIRE(label);
    CHECK(label->rule == "s.yaml:creds-then-net");
    CHECK(label->exe == "/usr/bin/curl");
    auto refused = daemon.wait_record([](const Record& r) { return r.action == "connect" && r.verdict != jr::Verdict::Allow; });
    REQUIRE(refused);
    CHECK(refused->rule == "s.yaml:creds-then-net");
    CHECK(refused->enforcement == jr::Enforcement::DeniedInKernel);
}
