// plan_kernel_tables(): network rules become LPM entries that, looked up as the kernel does
// (longest match, first covering span), decide exactly as the daemon does.
#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace stockade;
using namespace stockade::enforce;
using namespace stockade::enforce::test;

namespace {

std::vector<std::tuple<uint16_t, uint16_t, uint16_t>> spans_of(const KernelPlan& p, bool deny, uint32_t agent,
                                                             const std::string& addr, uint32_t prefix) {
    auto a = ip(addr);
    NetPrefix key{agent, static_cast<uint32_t>(a.family), a.bytes, prefix};
    auto& table = deny ? p.net_deny : p.net_allow;
    auto it = table.find(key);
    REQUIRE(it != table.end());
    std::vector<std::tuple<uint16_t, uint16_t, uint16_t>> out;
    for (auto& s : it->second) out.emplace_back(s.port_lo, s.port_hi, s.sotype);
    return out;
}

const char* kShapes = R"(
agent: t
mode: enforce
match: { cgroup: /stockade/t }
network:
  connect:
    - { name: one-tcp, cidr: 127.0.0.1, ports: 8001, protocol: tcp }
    - { name: one-more, cidr: 127.0.0.1, ports: [ 8003, "9000-9010" ] }
    - { name: block, cidr: 127.0.0.0/8, ports: 7000-7100, protocol: tcp }
    - { name: named, host: svc.test, ports: 6000, protocol: udp }
    - { name: mapped, cidr: "::ffff:127.0.0.9/128", ports: 5000 }
    - { name: v6-any, cidr: "::/0", ports: 443 }
  deny:
    - { name: deny-wide, cidr: 127.0.0.0/24, ports: 9005 }
    - { name: deny-host, host: svc.test, ports: "9000-9010" }
    - { name: deny-udp, cidr: 127.0.0.7, protocol: udp }
)";

}  // namespace

TEST_CASE("two connect entries for one address with different ports share one entry", "[enforce][plan][net]") {
    auto set = load_ok(kShapes);
    RuleNumbers rules;
    KernelPlan p = plan_for(*set, rules);
    REQUIRE(p.problems.empty());
    // Its own two rules plus the /8 block that contains it; any-protocol spans merged first.
    CHECK(spans_of(p, false, 1, "127.0.0.1", 32) ==
          std::vector<std::tuple<uint16_t, uint16_t, uint16_t>>{
              {8003, 8003, 0}, {9000, 9010, 0}, {7000, 7100, SOCK_STREAM}, {8001, 8001, SOCK_STREAM}});
    REQUIRE(p.agents.size() == 1);
    CHECK(p.agents[0].net_strict);
    CHECK(p.agents[0].userspace_only.empty());
    CHECK(p.agent_cfg.at(1).flags & SK_AG_NET_STRICT);
    CHECK_FALSE(kernel_refuses(p, 1, "127.0.0.1", 8001, SOCK_STREAM));
    CHECK(kernel_refuses(p, 1, "127.0.0.1", 8001, SOCK_DGRAM) == rules.number("t.yaml:default-deny"));
    CHECK_FALSE(kernel_refuses(p, 1, "127.0.0.1", 8003, SOCK_DGRAM));
    CHECK(kernel_refuses(p, 1, "127.0.0.1", 8002, SOCK_STREAM) == rules.number("t.yaml:default-deny"));
    CHECK_FALSE(kernel_refuses(p, 1, "127.0.0.1", 7050, SOCK_STREAM));  // from the containing /8
}

TEST_CASE("a host entry whose addresses overlap a cidr entry keeps both", "[enforce][plan][net]") {
    auto set = load_ok(kShapes);
    set->set_resolved("svc.test", {ip("127.0.0.5"), ip("::ffff:127.0.0.6")});
    RuleNumbers rules;
    KernelPlan p = plan_for(*set, rules);
    REQUIRE(p.problems.empty());
    CHECK(spans_of(p, false, 1, "127.0.0.5", 32) ==
          std::vector<std::tuple<uint16_t, uint16_t, uint16_t>>{{7000, 7100, SOCK_STREAM}, {6000, 6000, SOCK_DGRAM}});
    // The mapped address is filed as IPv4, and nothing as IPv6 for it.
    CHECK(spans_of(p, false, 1, "127.0.0.6", 32).size() == 2);
    for (auto& [k, v] : p.net_allow) CHECK((k.family == AF_INET || k.prefix == 0));
    // The deny by host sits inside the /24 deny: both apply, the first rule in file order names it.
    auto deny5 = p.net_deny.at(NetPrefix{1, AF_INET, ip("127.0.0.5").bytes, 32});
    REQUIRE(deny5.size() == 2);
    CHECK(deny5[0].rule == rules.number("t.yaml:deny-wide"));
    CHECK(deny5[1].rule == rules.number("t.yaml:deny-host"));
    CHECK(kernel_refuses(p, 1, "127.0.0.5", 9005, SOCK_STREAM) == rules.number("t.yaml:deny-wide"));
    CHECK(kernel_refuses(p, 1, "127.0.0.5", 9004, SOCK_STREAM) == rules.number("t.yaml:deny-host"));
    CHECK(kernel_refuses(p, 1, "127.0.0.1", 9004, SOCK_STREAM) == std::nullopt);  // one-more allows it
    CHECK_FALSE(kernel_refuses(p, 1, "127.0.0.5", 6000, SOCK_DGRAM));
    CHECK_FALSE(kernel_refuses(p, 1, "::ffff:127.0.0.6", 6000, SOCK_DGRAM));
}

TEST_CASE("IPv4-mapped rules and destinations are IPv4", "[enforce][plan][net]") {
    auto set = load_ok(kShapes);
    RuleNumbers rules;
    KernelPlan p = plan_for(*set, rules);
    CHECK(spans_of(p, false, 1, "127.0.0.9", 32).size() == 2);  // its own 5000, and the /8's
    CHECK_FALSE(kernel_refuses(p, 1, "::ffff:127.0.0.9", 5000, SOCK_STREAM));
    CHECK_FALSE(kernel_refuses(p, 1, "127.0.0.9", 5000, SOCK_DGRAM));
    // ::/0 is IPv6 only, for the daemon and so for the kernel.
    CHECK_FALSE(kernel_refuses(p, 1, "2001:db8::1", 443, SOCK_STREAM));
    CHECK(kernel_refuses(p, 1, "::ffff:192.0.2.1", 443, SOCK_STREAM) == rules.number("t.yaml:default-deny"));
}

TEST_CASE("the kernel's network lookup decides as the daemon does", "[enforce][plan][net]") {
    auto set = load_ok(kShapes);
    set->set_resolved("svc.test", {ip("127.0.0.5"), ip("::ffff:127.0.0.6"), ip("2001:db8::5")});
    const policy::Boundary& b = *set->find("t");
    RuleNumbers rules;
    KernelPlan p = plan_for(*set, rules);
    REQUIRE(p.problems.empty());
    size_t checked = 0, refused = 0;
    for (std::string addr : {"127.0.0.1", "127.0.0.5", "127.0.0.6", "::ffff:127.0.0.6", "127.0.0.7", "127.0.0.9",
                             "::ffff:127.0.0.9", "127.0.1.1", "127.200.0.1", "10.0.0.1", "2001:db8::5", "::1"})
        for (uint16_t port : {0, 443, 5000, 6000, 7000, 7100, 7101, 8001, 8002, 8003, 9000, 9005, 9010, 9011})
            for (int sotype : {SOCK_STREAM, SOCK_DGRAM}) {
                INFO(addr << " port " << port << " sotype " << sotype);
                Verdict v = policy::decide(b, net_event(addr, port, sotype));
                auto k = kernel_refuses(p, 1, addr, port, static_cast<uint16_t>(sotype));
                CHECK(v.inside() == !k);
                if (k) CHECK(rules.id(*k) == v.rule_id);
                ++checked;
                refused += k ? 1 : 0;
            }
    CHECK(checked == 12 * 14 * 2);
    CHECK(refused > 0);
    CHECK(refused < checked);
}

TEST_CASE("more port ranges for one block than an entry holds refuses the set", "[enforce][plan][net]") {
    std::string ports;
    for (int i = 0; i <= SK_NET_SPANS_MAX; ++i) ports += (i ? ", " : "") + std::to_string(1000 + 2 * i);
    auto set = load_ok("agent: t\nmode: enforce\nmatch: { cgroup: /stockade/t }\nnetwork:\n  connect:\n"
                       "    - { cidr: 127.0.0.1, ports: [ " + ports + " ] }\n");
    RuleNumbers rules;
    KernelPlan p = plan_for(*set, rules);
    REQUIRE(p.problems.size() == 1);
    CHECK_THAT(p.problems[0], Catch::Contains("t: 127.0.0.1/32 in net_allow needs 33 port ranges"));
    // Adjacent ranges merge, so the same count of ports in runs fits.
    ports.clear();
    for (int i = 0; i <= SK_NET_SPANS_MAX; ++i) ports += (i ? ", " : "") + std::to_string(1000 + i);
    set = load_ok("agent: t\nmode: enforce\nmatch: { cgroup: /stockade/t }\nnetwork:\n  connect:\n"
                  "    - { cidr: 127.0.0.1, ports: [ " + ports + " ] }\n");
    p = plan_for(*set, rules);
    CHECK(p.problems.empty());
    CHECK(p.net_allow.begin()->second.size() == 1);
}
