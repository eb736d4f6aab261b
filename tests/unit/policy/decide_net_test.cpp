// decide() on network events: CIDR, ports, protocol, host rules, unix sockets, bind.
#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace stockade;
using namespace stockade::policy;
using namespace stockade::policy::test;

namespace {

const char* kNet = R"(
agent: t
mode: enforce
match: { cgroup: /stockade/t }
files:
  never: [ "/run/secret/**" ]
network:
  connect:
    - cidr: 127.0.0.0/8
      ports: 8000-8100
      protocol: tcp
    - { name: dns, cidr: 127.0.0.53, ports: 53, protocol: udp }
    - { cidr: 10.0.0.0/8, ports: [ 80, "443", "9000-9001" ] }
    - { cidr: "2001:db8::/32", ports: 443 }
    - { name: v6-one, cidr: "2001:db8:ffff::1/128" }
    - { name: api, host: API.Example.com., ports: 443, protocol: tcp }
  deny:
    - cidr: 10.9.0.0/16
    - { name: metadata, cidr: 169.254.169.254 }
    - { cidr: 127.0.0.1, ports: 8080 }
  bind: [ 8080, "9000-9010", { name: dev, ports: 3000 } ]
)";

}  // namespace

TEST_CASE("connect: CIDR, port ranges and protocol", "[decide][net]") {
    auto set = load_ok(kNet);
    const Boundary& b = *set->find("t");
    Verdict v = decide(b, net_event(Action::Connect, "127.0.0.1", 8000));
    CHECK(v.inside());
    CHECK(v.rule_id == "t.yaml:network.connect[0]");
    CHECK(v.resolved == "network.connect[0] 127.0.0.0/8 ports 8000-8100 tcp matched 127.0.0.1:8000/tcp");
    CHECK(decide(b, net_event(Action::Connect, "127.3.2.1", 8100)).inside());
    CHECK_FALSE(decide(b, net_event(Action::Connect, "127.0.0.1", 8101)).inside());
    CHECK_FALSE(decide(b, net_event(Action::Connect, "127.0.0.1", 7999)).inside());
    // protocol: the tcp rule does not cover udp, nor a socket whose type is unknown
    CHECK_FALSE(decide(b, net_event(Action::Send, "127.0.0.1", 8000, SOCK_DGRAM)).inside());
    CHECK_FALSE(decide(b, net_event(Action::Connect, "127.0.0.1", 8000, 0)).inside());
    CHECK(decide(b, net_event(Action::Send, "127.0.0.53", 53, SOCK_DGRAM)).rule_id == "t.yaml:dns");
    CHECK_FALSE(decide(b, net_event(Action::Connect, "127.0.0.53", 53, SOCK_STREAM)).inside());
    // a list of ports; "any" protocol
    CHECK(decide(b, net_event(Action::Connect, "10.1.1.1", 80)).inside());
    CHECK(decide(b, net_event(Action::Connect, "10.1.1.1", 443, SOCK_DGRAM)).inside());
    CHECK(decide(b, net_event(Action::Connect, "10.1.1.1", 9001)).inside());
    CHECK_FALSE(decide(b, net_event(Action::Connect, "10.1.1.1", 9002)).inside());
    v = decide(b, net_event(Action::Connect, "192.0.2.1", 443));
    CHECK(v.decision == Decision::Kill);
    CHECK(v.rule_id == "t.yaml:default-deny");
    CHECK(v.resolved == "no network.connect rule matched 192.0.2.1:443/tcp");
}

TEST_CASE("connect: network.deny beats network.connect", "[decide][net]") {
    auto set = load_ok(kNet);
    const Boundary& b = *set->find("t");
    Verdict v = decide(b, net_event(Action::Connect, "10.9.3.4", 443));
    CHECK(v.decision == Decision::Kill);
    CHECK(v.rule_id == "t.yaml:network.deny[0]");
    CHECK(v.resolved == "network.deny[0] 10.9.0.0/16 matched 10.9.3.4:443/tcp");
    CHECK(decide(b, net_event(Action::Connect, "127.0.0.1", 8080)).rule_id == "t.yaml:network.deny[2]");
    CHECK(decide(b, net_event(Action::Connect, "127.0.0.1", 8081)).inside());
    CHECK(decide(b, net_event(Action::Send, "169.254.169.254", 80, SOCK_DGRAM)).rule_id == "t.yaml:metadata");
    // a deny with a protocol still applies when the socket type is unknown
    auto set2 = load_ok("agent: t\nmatch: { unit: u }\nnetwork:\n  connect: [ { cidr: 0.0.0.0/0 } ]\n"
                        "  deny: [ { cidr: 10.0.0.0/8, protocol: udp } ]\n");
    CHECK_FALSE(decide(*set2->find("t"), net_event(Action::Connect, "10.0.0.1", 53, 0)).inside());
    CHECK(decide(*set2->find("t"), net_event(Action::Connect, "10.0.0.1", 53, SOCK_STREAM)).inside());
}

TEST_CASE("connect: IPv6, /128 and IPv4-mapped addresses", "[decide][net]") {
    auto set = load_ok(kNet);
    const Boundary& b = *set->find("t");
    CHECK(decide(b, net_event(Action::Connect, "2001:db8:1::1", 443)).rule_id == "t.yaml:network.connect[3]");
    CHECK_FALSE(decide(b, net_event(Action::Connect, "2001:db9::1", 443)).inside());
    CHECK(decide(b, net_event(Action::Connect, "2001:db8:ffff::1", 22)).rule_id == "t.yaml:v6-one");
    CHECK(decide(b, net_event(Action::Connect, "2001:db8:ffff::1", 22)).resolved ==
          "network.connect[4] 2001:db8:ffff::1/128 matched [2001:db8:ffff::1]:22/tcp");
    CHECK_FALSE(decide(b, net_event(Action::Connect, "2001:db8:ffff::2", 22)).inside());
    // ::ffff:a.b.c.d is IPv4 traffic: v4 rules and v4 denies apply
    CHECK(decide(b, net_event(Action::Connect, "::ffff:127.0.0.1", 8000)).rule_id == "t.yaml:network.connect[0]");
    CHECK(decide(b, net_event(Action::Connect, "::ffff:10.9.0.1", 80)).rule_id == "t.yaml:network.deny[0]");

    auto any = load_ok("agent: t\nmatch: { unit: u }\nnetwork:\n  connect: [ { cidr: ::/0 }, { cidr: 0.0.0.0/0, ports: 1 } ]\n");
    const Boundary& a = *any->find("t");
    CHECK(decide(a, net_event(Action::Connect, "fe80::1", 9)).rule_id == "t.yaml:network.connect[0]");
    CHECK(decide(a, net_event(Action::Connect, "8.8.8.8", 1)).rule_id == "t.yaml:network.connect[1]");
    CHECK_FALSE(decide(a, net_event(Action::Connect, "8.8.8.8", 2)).inside());
}

TEST_CASE("host rules match the addresses the daemon installed", "[decide][net]") {
    auto set = load_ok(kNet);
    const Boundary& b = *set->find("t");
    CHECK(set->hosts() == std::vector<std::string>{"api.example.com"});
    CHECK(b.hosts() == std::vector<std::string>{"api.example.com"});
    CHECK(b.network.connect[5].host == "api.example.com");
    Event e = net_event(Action::Connect, "203.0.113.7", 443);
    CHECK_FALSE(decide(b, e).inside());  // not resolved yet

    set->set_resolved("api.example.com", {*IpAddr::parse("203.0.113.7"), *IpAddr::parse("2001:db9::7")});
    CHECK(decide(b, e).rule_id == "t.yaml:api");
    CHECK(decide(b, e).resolved == "network.connect[5] api.example.com ports 443 tcp matched 203.0.113.7:443/tcp");
    CHECK(decide(b, net_event(Action::Connect, "2001:db9::7", 443)).inside());
    CHECK_FALSE(decide(b, net_event(Action::Connect, "203.0.113.7", 80)).inside());
    CHECK(b.resolved("API.example.com").size() == 2);

    set->set_resolved("api.example.com", {*IpAddr::parse("203.0.113.8")});  // a refresh replaces
    CHECK_FALSE(decide(b, e).inside());
}

TEST_CASE("unix sockets: allowed unless files.never names the path", "[decide][net]") {
    auto set = load_ok(kNet);
    const Boundary& b = *set->find("t");
    Event e;
    e.action = Action::Connect;
    e.net.family = AF_UNIX;
    e.net.unix_path = "/run/dbus/system_bus_socket";
    CHECK(decide(b, e).inside());
    CHECK(decide(b, e).rule_id == "builtin:unix-socket");
    e.net.unix_path = "@abstract";
    CHECK(decide(b, e).inside());
    e.net.unix_path = "/run/secret/agent.sock";
    e.action = Action::Send;
    CHECK(decide(b, e).decision == Decision::Kill);
    CHECK(decide(b, e).rule_id == "t.yaml:files.never[0]");
}

TEST_CASE("bind and listen", "[decide][net]") {
    auto set = load_ok(kNet);
    const Boundary& b = *set->find("t");
    CHECK(decide(b, net_event(Action::Bind, "0.0.0.0", 8080)).rule_id == "t.yaml:network.bind[0]");
    CHECK(decide(b, net_event(Action::Bind, "::", 9005)).rule_id == "t.yaml:network.bind[1]");
    CHECK(decide(b, net_event(Action::Listen, "127.0.0.1", 3000)).rule_id == "t.yaml:dev");
    Verdict v = decide(b, net_event(Action::Bind, "0.0.0.0", 22));
    CHECK(v.decision == Decision::Kill);
    CHECK(v.rule_id == "t.yaml:default-deny");
    CHECK(v.resolved == "no network.bind rule matched port 22");
    CHECK_FALSE(decide(b, net_event(Action::Bind, "0.0.0.0", 0)).inside());
    CHECK(decide(b, net_event(Action::Listen, "0.0.0.0", 0)).rule_id == "builtin:always");

    auto none = load_ok("agent: t\nmatch: { unit: u }\n");  // default: no bind at all
    CHECK_FALSE(decide(*none->find("t"), net_event(Action::Bind, "127.0.0.1", 8080)).inside());
}

TEST_CASE("a connect refused on this host before anything was sent is an attempt; one that may have left is not",
          "[decide][net]") {
    auto set = load_ok(std::string(kNet) + "on_violation: kill\n");
    const Boundary& b = *set->find("t");
    auto failed = [](Action a, const char* addr, uint16_t port, int err, KernelAction k = KernelAction::None) {
        Event e = net_event(a, addr, port);
        e.result = -err;
        e.kernel_action = k;
        return e;
    };
    // Landlock's EACCES (it runs before stockade's own hook), an address this host does not have.
    Verdict v = decide(b, failed(Action::Connect, "192.0.2.1", 443, EACCES));
    CHECK(v.decision == Decision::Flag);
    CHECK(v.rule_id == "t.yaml:default-deny");
    CHECK(v.resolved.find("failed with EACCES before anything was sent") != std::string::npos);
    CHECK(decide(b, failed(Action::Connect, "10.9.1.1", 80, EADDRNOTAVAIL)).decision == Decision::Flag);  // a deny rule too
    // A SYN may have left: still the violation.
    CHECK(decide(b, failed(Action::Connect, "192.0.2.1", 443, ECONNREFUSED)).decision == Decision::Kill);
    CHECK(decide(b, failed(Action::Connect, "192.0.2.1", 443, ETIMEDOUT)).decision == Decision::Kill);
    CHECK(decide(b, failed(Action::Connect, "192.0.2.1", 443, EINPROGRESS)).decision == Decision::Kill);
    // stockade's own refusal in the kernel is the enforcement, not an attempt.
    CHECK(decide(b, failed(Action::Connect, "192.0.2.1", 443, EPERM, KernelAction::Denied)).decision == Decision::Kill);
    // failed_syscalls: violation judges it like one that went through.
    auto strict = load_ok(std::string(kNet) + "failed_syscalls: violation\n");
    CHECK(decide(*strict->find("t"), failed(Action::Connect, "192.0.2.1", 443, EACCES)).decision == Decision::Kill);
}
