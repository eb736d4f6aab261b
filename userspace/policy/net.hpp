// Addresses, CIDR blocks and port ranges of network rules. An IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) is IPv4 traffic, so both events and rules are unmapped before matching.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stockade::policy {

struct IpAddr {
    int family = 0;                    // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};   // network order; IPv4 in the first 4 bytes

    static std::optional<IpAddr> parse(std::string_view text);  // "10.0.0.1", "::1"
    static IpAddr from_bytes(int family, const uint8_t* bytes);
    IpAddr unmapped() const;  // ::ffff:a.b.c.d -> a.b.c.d, anything else unchanged
    std::string str() const;
    bool operator==(const IpAddr&) const = default;
};

struct Cidr {
    IpAddr addr;     // host bits cleared
    int prefix = 0;  // 0..32 or 0..128

    bool contains(const IpAddr& a) const;  // `a` unmapped by the caller
    std::string str() const;               // "10.0.0.0/8"
    bool operator==(const Cidr&) const = default;
};

// "a.b.c.d", "a.b.c.d/n", "v6", "v6/n". On failure returns nullopt and sets `error`.
// `had_host_bits` is set when bits below the prefix were set (they are cleared).
std::optional<Cidr> parse_cidr(std::string_view text, std::string& error, bool& had_host_bits);

struct PortRange {
    uint16_t lo = 0, hi = 65535;
    bool contains(uint16_t p) const { return lo <= p && p <= hi; }
    std::string str() const;  // "443" or "8000-8100"
    bool operator==(const PortRange&) const = default;
};

// "443" or "8000-8100". On failure returns nullopt and sets `error`.
std::optional<PortRange> parse_port_range(std::string_view text, std::string& error);

enum class Protocol : uint8_t { Any, Tcp, Udp };
std::string_view to_string(Protocol p);

}  // namespace stockade::policy
