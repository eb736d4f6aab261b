// Every shape of network rule is held by the kernel tables: a denied TCP connect or UDP datagram
// to a loopback listener the agent does not own fails with EPERM before anything leaves, and an
// allowed port on the same address still works. Shapes: several entries (port ranges) for one
// address, a host: entry overlapping a cidr: entry, IPv4-mapped IPv6 addresses and rules.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "daemon_harness.hpp"
#include "stockade/events.h"

using namespace sktest;
using stockade::journal::Record;

namespace {

// A UDP socket on 127.0.0.1 and a free port, owned by the test.
struct UdpListener {
    int fd = -1;
    uint16_t port = 0;
    UdpListener() {
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("udp listener");
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~UdpListener() { close(fd); }
    // Bytes of the datagrams that arrived so far (non-blocking).
    size_t received() const {
        size_t total = 0;
        char buf[2048];
        ssize_t n;
        while ((n = recv(fd, buf, sizeof buf, 0)) >= 0) total += static_cast<size_t>(n);
        return total;
    }
};

size_t accepted(const LoopbackListener& l) {
    size_t n = 0;
    for (int fd; (fd = l.accept_now()) >= 0; ++n) close(fd);
    return n;
}

struct Try {
    std::string proto, host;
    uint16_t port;
    std::string expect;  // "ok" or "EPERM"
};

std::string script(const std::vector<Try>& tries) {
    std::string s =
        "import socket, errno\n"
        "def go(proto, host, port):\n"
        "    fam = socket.AF_INET6 if ':' in host else socket.AF_INET\n"
        "    s = socket.socket(fam, socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM)\n"
        "    try:\n"
        "        if proto == 'tcp': s.connect((host, port))\n"
        "        else: s.sendto(b'leak', (host, port))\n"
        "        r = 'ok'\n"
        "    except OSError as e: r = errno.errorcode.get(e.errno, str(e.errno))\n"
        "    print(proto, host, port, r, flush=True)\n";
    for (auto& t : tries) s += "go('" + t.proto + "', '" + t.host + "', " + std::to_string(t.port) + ")\n";
    return s;
}

std::string boundary(const ScratchDir& d, const std::string& network) {
    fs::create_directories(d / "allowed");
    return "agent: shapes\nmode: enforce\non_violation: kill\nmatch:\n  cgroup: /stockade-it-unused-shapes\n"
           "files:\n  read: [\"" + d / "allowed/**" + "\"]\n  write: [/dev/null]\n"
           "exec:\n  allow: [/usr/bin/python3]\nnetwork:\n" + network;
}

// Runs the tries as the agent and checks each result, the listeners and the journal.
void check_shape(Daemon& daemon, const std::vector<Try>& tries, LoopbackListener& tcp_ok, LoopbackListener& tcp_bad,
                 UdpListener& udp_ok, UdpListener& udp_bad, const std::string& deny_rule) {
    std::string out;
    int st = daemon.run_as("shapes", {"/usr/bin/python3", "-I", "-c", script(tries)}, &out);
    INFO(out);
    CHECK(WIFEXITED(st));
    for (auto& t : tries)
        CHECK(out.find(t.proto + " " + t.host + " " + std::to_string(t.port) + " " + t.expect + "\n") != std::string::npos);
    CHECK(accepted(tcp_ok) >= 1);
    CHECK(accepted(tcp_bad) == 0);  // no connection ever arrived
    CHECK(udp_ok.received() >= 4);
    CHECK(udp_bad.received() == 0);  // no byte ever arrived
    for (auto [action, port] : {std::pair{"connect", tcp_bad.port}, std::pair{"send", udp_bad.port}}) {
        auto r = daemon.wait_record([&](const Record& r) { return r.action == action && r.port == port; });
        INFO(action);
        REQUIRE(r);
        CHECK(r->verdict == jr::Verdict::Deny);
        CHECK(r->enforcement == jr::Enforcement::DeniedInKernel);
        CHECK(r->rule == deny_rule);
    }
}

std::string port(uint16_t p) { return std::to_string(p); }

}  // namespace

TEST_CASE("network shapes: two connect entries for one address with different ports", "[enforce][net]") {
    ScratchDir d("shape-ports");
    LoopbackListener tcp_ok, tcp_bad;
    UdpListener udp_ok, udp_bad;
    write_file(d / "agents.d/t.yaml",
               boundary(d, "  connect:\n"
                           "    - { cidr: 127.0.0.1, ports: " + port(tcp_ok.port) + ", protocol: tcp }\n"
                           "    - { cidr: 127.0.0.1, ports: [ " + port(udp_ok.port) + ", 1 ], protocol: udp }\n"));
    Daemon daemon(d);
    daemon.start();
    check_shape(daemon,
                {{"tcp", "127.0.0.1", tcp_ok.port, "ok"}, {"tcp", "127.0.0.1", tcp_bad.port, "EPERM"},
                 {"tcp", "127.0.0.1", udp_ok.port, "EPERM"}, {"udp", "127.0.0.1", udp_ok.port, "ok"},
                 {"udp", "127.0.0.1", udp_bad.port, "EPERM"}},
                tcp_ok, tcp_bad, udp_ok, udp_bad, "t.yaml:default-deny");
}

TEST_CASE("network shapes: a host entry whose addresses overlap a cidr entry", "[enforce][net]") {
    ScratchDir d("shape-host");
    LoopbackListener tcp_ok, tcp_bad;
    UdpListener udp_ok, udp_bad;
    write_file(d / "agents.d/t.yaml",
               boundary(d, "  connect:\n"
                           "    - { name: block, cidr: 127.0.0.0/8, ports: " + port(tcp_ok.port) + ", protocol: tcp }\n"
                           "    - { name: named, host: localhost, ports: [ " + port(udp_ok.port) + ", " +
                               port(tcp_bad.port) + ", " + port(udp_bad.port) + " ] }\n"
                           "  deny:\n"
                           "    - { name: no-bad, host: localhost, ports: [ " + port(tcp_bad.port) + ", " +
                               port(udp_bad.port) + " ] }\n"
                           "    - { name: no-low, cidr: 127.0.0.0/8, ports: 1-1023 }\n"));
    Daemon daemon(d);
    daemon.start();
    // The host rule's addresses reach the kernel once resolved.
    for (int i = 0; i < 100 && Daemon::slurp(daemon.log()).find("host rule localhost:") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    check_shape(daemon,
                {{"tcp", "127.0.0.1", tcp_ok.port, "ok"}, {"udp", "127.0.0.1", udp_ok.port, "ok"},
                 {"tcp", "127.0.0.1", tcp_bad.port, "EPERM"}, {"udp", "127.0.0.1", udp_bad.port, "EPERM"},
                 {"udp", "127.0.0.1", 999, "EPERM"}, {"udp", "127.0.0.1", udp_ok.port, "ok"},
                 {"udp", "127.0.0.1", udp_ok.port, "ok"}, {"udp", "127.0.0.1", udp_ok.port, "ok"}},
                tcp_ok, tcp_bad, udp_ok, udp_bad, "t.yaml:no-bad");
}

TEST_CASE("network shapes: IPv4-mapped IPv6 destinations and rules", "[enforce][net]") {
    ScratchDir d("shape-mapped");
    LoopbackListener tcp_ok, tcp_bad;
    UdpListener udp_ok, udp_bad;
    write_file(d / "agents.d/t.yaml",
               boundary(d, "  connect:\n"
                           "    - { cidr: 127.0.0.1, ports: " + port(tcp_ok.port) + ", protocol: tcp }\n"
                           "    - { cidr: \"::ffff:127.0.0.1\", ports: " + port(udp_ok.port) + ", protocol: udp }\n"
                           "    - { cidr: \"::/0\", ports: [ " + port(tcp_bad.port) + ", " + port(udp_bad.port) + " ] }\n"
                           "  deny:\n"
                           "    - { name: no-bad, cidr: \"::ffff:127.0.0.0/104\", ports: [ " + port(tcp_bad.port) +
                               ", " + port(udp_bad.port) + " ] }\n"));
    Daemon daemon(d);
    daemon.start();
    check_shape(daemon,
                {{"tcp", "::ffff:127.0.0.1", tcp_ok.port, "ok"}, {"tcp", "127.0.0.1", tcp_ok.port, "ok"},
                 {"tcp", "::ffff:127.0.0.1", tcp_bad.port, "EPERM"}, {"tcp", "127.0.0.1", tcp_bad.port, "EPERM"},
                 {"udp", "::ffff:127.0.0.1", udp_ok.port, "ok"}, {"udp", "127.0.0.1", udp_ok.port, "ok"},
                 {"udp", "::ffff:127.0.0.1", udp_ok.port, "ok"}, {"udp", "127.0.0.1", udp_ok.port, "ok"},
                 {"udp", "::ffff:127.0.0.1", udp_bad.port, "EPERM"}, {"udp", "127.0.0.1", udp_bad.port, "EPERM"}},
                tcp_ok, tcp_bad, udp_ok, udp_bad, "t.yaml:no-bad");
}

TEST_CASE("a boundary the kernel tables cannot hold is refused at reload and the set in force stays", "[enforce][net]") {
    ScratchDir d("shape-refused");
    LoopbackListener tcp_ok, tcp_bad;
    std::string agent = d / "agents.d/t.yaml";
    write_file(agent, boundary(d, "  connect:\n    - { cidr: 127.0.0.1, ports: " + port(tcp_ok.port) + " }\n"));
    Daemon daemon(d);
    daemon.start();
    // One more port range for 127.0.0.1 than an LPM entry holds, one of them the denied port.
    std::string ports = port(tcp_bad.port);
    for (int i = 0; i < SK_NET_SPANS_MAX; ++i) ports += ", " + std::to_string(40000 + 2 * i);
    write_file(agent + ".tmp", boundary(d, "  connect:\n    - { cidr: 127.0.0.1, ports: [ " + ports + " ] }\n"));
    fs::rename(agent + ".tmp", agent);
    auto refused = daemon.wait_record([](const Record& r) {
        return r.type == jr::RecordType::Daemon && r.detail.find("refused") != std::string::npos;
    });
    REQUIRE(refused);
    CHECK(refused->detail.find("shapes: 127.0.0.1/32 in net_allow needs 33 port ranges") != std::string::npos);
    std::string out;
    daemon.run_as("shapes", {"/usr/bin/python3", "-I", "-c",
                             script({{"tcp", "127.0.0.1", tcp_ok.port, "ok"}, {"tcp", "127.0.0.1", tcp_bad.port, "EPERM"}})},
                  &out);
    INFO(out);
    CHECK(out.find("tcp 127.0.0.1 " + port(tcp_ok.port) + " ok\n") != std::string::npos);
    CHECK(out.find("tcp 127.0.0.1 " + port(tcp_bad.port) + " EPERM\n") != std::string::npos);
    CHECK(accepted(tcp_ok) == 1);
    CHECK(accepted(tcp_bad) == 0);
}
