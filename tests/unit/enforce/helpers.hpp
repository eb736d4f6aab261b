// Shared by the enforce unit tests: boundaries from text, temporary trees, and a model of the
// kernel's network lookup (bpf/net.bpf.h) over a plan, so a plan can be judged like the kernel.
#pragma once

#include "../load_boundary.hpp"
#include "../temp_dir.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "common/event.hpp"
#include "enforce/kernel_plan.hpp"
#include "policy/policy.hpp"

namespace stockade::enforce::test {

using TempDir = stockade::test::TempDir;

using stockade::test::load_ok;

inline KernelPlan plan_for(const policy::PolicySet& set, RuleNumbers& rules, std::vector<std::string> protect = {}) {
    PlanInput in;
    in.set = &set;
    uint32_t id = 1;
    for (auto& b : set.agents()) in.ids[b->name] = id++;
    in.protect = std::move(protect);
    return plan_kernel_tables(in, rules);
}

inline policy::IpAddr ip(const std::string& text) {
    auto a = policy::IpAddr::parse(text);
    REQUIRE(a);
    return *a;
}

// The longest-prefix entry of `table` holding `a` for `agent`, as BPF_MAP_TYPE_LPM_TRIE returns it.
inline const PortSpans* lpm(const std::map<NetPrefix, PortSpans>& table, uint32_t agent, const policy::IpAddr& a) {
    const PortSpans* best = nullptr;
    uint32_t best_len = 0;
    NetPrefix probe{agent, static_cast<uint32_t>(a.family), a.bytes, a.family == AF_INET ? 32u : 128u};
    for (auto& [k, v] : table)
        if (k.contains(probe) && (!best || k.prefix >= best_len)) {
            best = &v;
            best_len = k.prefix;
        }
    return best;
}

inline std::optional<uint32_t> first_span(const PortSpans* spans, uint16_t port, uint16_t sotype) {
    if (!spans) return std::nullopt;
    for (auto& s : *spans)
        if (port >= s.port_lo && port <= s.port_hi && (!s.sotype || s.sotype == sotype)) return s.rule;
    return std::nullopt;
}

// What the cgroup connect/sendmsg hooks decide for an agent in enforce mode: the rule number
// that refused, or nullopt when the kernel lets the operation through. Mapped addresses are
// unmapped first, as sk_decide6 does.
inline std::optional<uint32_t> kernel_refuses(const KernelPlan& plan, uint32_t agent, const std::string& addr,
                                              uint16_t port, uint16_t sotype) {
    policy::IpAddr a = ip(addr).unmapped();
    if (auto r = first_span(lpm(plan.net_deny, agent, a), port, sotype)) return r;
    const sk_agent_cfg& cfg = plan.agent_cfg.at(agent);
    if (!(cfg.flags & SK_AG_NET_STRICT)) return std::nullopt;
    if (first_span(lpm(plan.net_allow, agent, a), port, sotype)) return std::nullopt;
    return cfg.default_rule;
}

inline Event net_event(const std::string& addr, uint16_t port, int sotype) {
    Event e;
    e.action = sotype == SOCK_DGRAM ? Action::Send : Action::Connect;
    e.pid = e.tid = 4242;
    e.net.port = port;
    e.net.sotype = sotype;
    if (inet_pton(AF_INET, addr.c_str(), e.net.bytes) == 1) e.net.family = AF_INET;
    else if (inet_pton(AF_INET6, addr.c_str(), e.net.bytes) == 1) e.net.family = AF_INET6;
    else FAIL("bad address in test: " << addr);
    return e;
}

}  // namespace stockade::enforce::test
