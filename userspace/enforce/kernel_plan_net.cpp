// Network rules into the LPM tries net_allow and net_deny. The kernel looks an address up once
// per table and gets only the longest matching block, so each block's entry carries the port
// spans of every block containing it: then overlapping `cidr:` and `host:` entries, many port
// ranges for one address and rules for the same block all keep their union meaning.
#include <sys/socket.h>

#include <algorithm>
#include <tuple>

#include "enforce/kernel_plan.hpp"

namespace stockade::enforce {

namespace {

uint16_t sotype_of(policy::Protocol p) {
    return p == policy::Protocol::Tcp ? SOCK_STREAM : p == policy::Protocol::Udp ? SOCK_DGRAM : 0;
}

std::array<uint8_t, 16> masked(const std::array<uint8_t, 16>& a, uint32_t prefix) {
    std::array<uint8_t, 16> out{};
    for (uint32_t bit = 0; bit < prefix && bit < 128; ++bit)
        if (a[bit / 8] & (0x80 >> (bit % 8))) out[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    return out;
}

// The address blocks a rule names: its CIDR, or the addresses its host resolved to. IPv4-mapped
// IPv6 addresses become IPv4, as the kernel and the daemon look them up.
std::vector<policy::Cidr> blocks_of(const policy::Boundary& b, const policy::NetRule& r) {
    if (r.host.empty()) return {r.cidr};
    std::vector<policy::Cidr> out;
    for (auto& a : b.resolved(r.host)) {
        policy::IpAddr u = a.unmapped();
        out.push_back(policy::Cidr{u, u.family == AF_INET ? 32 : 128});
    }
    return out;
}

bool covers(const sk_port_span& outer, const sk_port_span& inner) {
    return (outer.sotype == 0 || outer.sotype == inner.sotype) && outer.port_lo <= inner.port_lo &&
           inner.port_hi <= outer.port_hi;
}

// Deny spans keep rule order (the first covering span names the rule, as userspace's first
// matching deny rule does); a span an earlier one covers can never decide and goes.
PortSpans deny_spans(NetPlanner::Ordered all) {
    std::stable_sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.first < b.first; });
    PortSpans out;
    for (auto& [order, s] : all)
        if (std::none_of(out.begin(), out.end(), [&](const sk_port_span& e) { return covers(e, s); })) out.push_back(s);
    return out;
}

// Allow spans only need their union: merged per socket type, and typed spans that an any-type
// span covers go.
PortSpans allow_spans(const NetPlanner::Ordered& all) {
    PortSpans in;
    for (auto& [order, s] : all) in.push_back(s);
    std::sort(in.begin(), in.end(), [](auto& a, auto& b) {
        return std::tie(a.sotype, a.port_lo, a.port_hi) < std::tie(b.sotype, b.port_lo, b.port_hi);
    });
    PortSpans merged;
    for (auto& s : in) {
        if (!merged.empty() && merged.back().sotype == s.sotype && uint32_t(s.port_lo) <= uint32_t(merged.back().port_hi) + 1)
            merged.back().port_hi = std::max(merged.back().port_hi, s.port_hi);
        else
            merged.push_back(s);
    }
    PortSpans out;
    for (auto& s : merged)
        if (s.sotype == 0 || std::none_of(merged.begin(), merged.end(), [&](auto& e) { return e.sotype == 0 && covers(e, s); }))
            out.push_back(s);
    return out;
}

std::string block_text(const NetPrefix& p) {
    policy::Cidr c{policy::IpAddr::from_bytes(static_cast<int>(p.family), p.addr.data()), static_cast<int>(p.prefix)};
    return c.str();
}

}  // namespace

bool NetPrefix::contains(const NetPrefix& inner) const {
    return agent == inner.agent && family == inner.family && prefix <= inner.prefix && masked(inner.addr, prefix) == addr;
}

size_t NetPlanner::put(bool deny_table, uint32_t kernel_id, const policy::Boundary& b, const policy::NetRule& r) {
    auto& table = deny_table ? deny : allow;
    uint32_t rule = rules.number(r.id);
    uint32_t my_order = order++;
    std::vector<policy::PortRange> ports = r.ports;
    if (ports.empty()) ports.push_back(policy::PortRange{0, 65535});
    auto blocks = blocks_of(b, r);
    for (auto& c : blocks) {
        NetPrefix key{kernel_id, static_cast<uint32_t>(c.addr.family), masked(c.addr.bytes, c.prefix),
                      static_cast<uint32_t>(c.prefix)};
        auto& spans = table[key];
        for (auto& p : ports) spans.emplace_back(my_order, sk_port_span{p.lo, p.hi, sotype_of(r.protocol), 0, rule});
    }
    return blocks.size();
}

void NetPlanner::finish() {
    auto fold = [&](const std::map<NetPrefix, Ordered>& own, std::map<NetPrefix, PortSpans>& out, bool deny_table) {
        for (auto& [block, spans] : own) {
            Ordered all = spans;
            for (uint32_t len = 0; len < block.prefix; ++len) {
                auto it = own.find(NetPrefix{block.agent, block.family, masked(block.addr, len), len});
                if (it != own.end()) all.insert(all.end(), it->second.begin(), it->second.end());
            }
            PortSpans merged = deny_table ? deny_spans(std::move(all)) : allow_spans(all);
            if (merged.size() > SK_NET_SPANS_MAX)
                plan.problems.push_back(plan.owner(block.agent) + ": " + block_text(block) + " in " +
                                        (deny_table ? "net_deny" : "net_allow") + " needs " +
                                        std::to_string(merged.size()) +
                                        " port ranges (its own and those of the blocks containing it); the kernel "
                                        "holds " + std::to_string(SK_NET_SPANS_MAX) + " per address block");
            out[block] = std::move(merged);
        }
    };
    fold(allow, plan.net_allow, false);
    fold(deny, plan.net_deny, true);
}

}  // namespace stockade::enforce
