// A labelled process's sends on a socket it connected before the label (bpf/labelsend.bpf.h):
// python connects first (unlabelled, allowed), then reads the secret through a pipe or a copy
// (labelled), then sends on the connected socket. Real cat, cp and python against a loopback
// listener; what arrives there is the measure.
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "daemon_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

const std::string kSecret = "AKIA-LABELSEND-SECRET-7";

// An enforcing agent that may read data/, write out/, run sh, cat, cp and python, and reach any
// loopback port; after reading creds.txt or any *.cred it may do nothing `forbid` lists.
std::string send_boundary(const ScratchDir& d, const std::string& name, const std::string& forbid) {
    fs::create_directories(d / "out");
    return "agent: " + name + "\nmode: enforce\non_violation: kill\nmatch:\n  cgroup: /stockade-it-unused-" + name +
           "\nfiles:\n  read: [\"" + d / "data/**" + "\", \"" + d / "out/**" + "\"]\n  write: [/dev/null, \"" +
           d / "out/**" + "\"]\n  create: [\"" + d / "out/**" + "\"]\nexec:\n  allow: [/usr/bin/dash, "
           "/usr/bin/cat, /usr/bin/cp, /usr/bin/python3*]\nnetwork:\n  connect:\n    - cidr: 127.0.0.1\n"
           "      ports: 1-65535\nsequences:\n  - name: creds-then-net\n    after:\n      read: [\"" +
           d / "data/creds.txt" + "\", \"**/*.cred\"]\n    forbid:\n" + forbid;
}

// Every byte the listener got, after `settle_ms` (a dropped segment is retransmitted meanwhile).
std::string received(const LoopbackListener& l, int settle_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(settle_ms));
    std::string all;
    for (int c; (c = l.accept_now()) >= 0;) {
        char buf[4096];
        for (ssize_t n; (n = recv(c, buf, sizeof buf, MSG_DONTWAIT)) > 0;) all.append(buf, static_cast<size_t>(n));
        close(c);
    }
    return all;
}

// Python that connects first, then reads `source` (a Python expression), sends it on the
// connected socket and says so. `fast_open`: a deferred TCP Fast Open connect without a cookie
// (TCP_FASTOPEN_CONNECT, TCP_FASTOPEN_NO_COOKIE), so the first send's bytes ride in the SYN.
std::string connect_then_send(const LoopbackListener& l, const std::string& source, bool fast_open = false) {
    return "/usr/bin/python3 -I -c \"import sys,socket;s=socket.socket();" +
           std::string(fast_open ? "s.setsockopt(6,30,1);s.setsockopt(6,34,1);" : "") + "s.connect(('127.0.0.1'," +
           std::to_string(l.port) + "));s.sendall(" + source + ");print('SENT',flush=True)\"";
}

std::string from_stdin() { return "sys.stdin.buffer.read()"; }
std::string from_file(const std::string& path) { return "open('" + path + "','rb').read()"; }

}  // namespace

TEST_CASE("a labelled process cannot send on a socket it connected before the label", "[taint][labelsend]") {
    ScratchDir d("labelsend");
    write_file(d / "data/creds.txt", kSecret + "\n");
    write_file(d / "data/public.txt", "public-bytes-ok\n");
    write_file(d / "agents.d/s.yaml", send_boundary(d, "sendagent", "      connect: any\n"));
    LoopbackListener l;
    Daemon daemon(d);
    daemon.start();

    // The control: unlabelled bytes, the same way, arrive and python finishes.
    std::string out;
    daemon.run_as("sendagent", {"/bin/sh", "-c", "cat " + d / "data/public.txt" + " | " + connect_then_send(l, from_stdin())},
                  &out);
    INFO(out);
    CHECK(received(l, 0).find("public-bytes-ok") != std::string::npos);
    CHECK(out.find("SENT") != std::string::npos);

    std::string how;
    SECTION("through a pipe") {
        how = "pipe:[";
        daemon.run_as("sendagent",
                      {"/bin/sh", "-c", "cat " + d / "data/creds.txt" + " | " + connect_then_send(l, from_stdin())}, &out);
    }
    SECTION("through a pipe, the bytes in a Fast Open SYN") {
        how = "pipe:[";
        daemon.run_as("sendagent",
                      {"/bin/sh", "-c", "cat " + d / "data/creds.txt" + " | " + connect_then_send(l, from_stdin(), true)},
                      &out);
    }
    SECTION("through a copy") {
        how = d / "out/c.txt";
        daemon.run_as("sendagent",
                      {"/bin/sh", "-c", "cp " + d / "data/creds.txt" + " " + d / "out/c.txt" + "; " +
                                            connect_then_send(l, from_file(d / "out/c.txt"))},
                      &out);
    }
    INFO(out);
    CHECK(received(l, 500).empty());               // not one byte: the socket's packets were dropped
    CHECK(out.find("SENT") == std::string::npos);  // python died in its sendall
    auto label = daemon.wait_record([&](const Record& r) {
        return r.type == jr::RecordType::Label && r.resolved.rfind("label via " + how, 0) == 0;
    });
    REQUIRE(label);
    CHECK(label->exe.rfind("/usr/bin/python3", 0) == 0);
    auto killed = daemon.wait_record([](const Record& r) { return r.action == "send" && r.verdict != jr::Verdict::Allow; });
    REQUIRE(killed);
    CHECK(killed->pid == label->pid);
    CHECK(killed->verdict == jr::Verdict::Kill);
    CHECK(killed->enforcement == jr::Enforcement::KilledInKernel);
    CHECK(killed->rule == "s.yaml:creds-then-net");
    CHECK(killed->address == "127.0.0.1");
    CHECK(killed->port == l.port);
    CHECK(killed->protocol == "tcp");
    CHECK(killed->detail.find("chain: 1) label via " + how) != std::string::npos);  // the chain says how
}

TEST_CASE("a labelled process still sends on a socket its sequence's connect_except allows", "[taint][labelsend]") {
    ScratchDir d("labelsend-allowed");
    write_file(d / "data/creds.txt", kSecret + "\n");
    LoopbackListener l;
    write_file(d / "agents.d/s.yaml",
               send_boundary(d, "allowagent",
                             "      connect_except: [{cidr: 127.0.0.1, ports: " + std::to_string(l.port) + "}]\n"));
    Daemon daemon(d);
    daemon.start();
    std::string out;
    int st = daemon.run_as(
        "allowagent", {"/bin/sh", "-c", "cat " + d / "data/creds.txt" + " | " + connect_then_send(l, from_stdin())}, &out);
    INFO(out);
    CHECK(received(l, 0).find(kSecret) != std::string::npos);
    CHECK(out.find("SENT") != std::string::npos);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    // It was labelled (the exception, not a missing label, let it send).
    auto label = daemon.wait_record([](const Record& r) {
        return r.type == jr::RecordType::Label && r.resolved.rfind("label via pipe:[", 0) == 0;
    });
    REQUIRE(label);
    CHECK(label->exe.rfind("/usr/bin/python3", 0) == 0);
    CHECK_FALSE(daemon.wait_record([](const Record& r) { return r.verdict == jr::Verdict::Kill; }, 300));
}
