#include "policy/net.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace stockade::policy {

namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool parse_uint(std::string_view s, unsigned long& out) {
    if (s.empty() || s.size() > 10) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
    std::string s(text);  // inet_pton wants a terminated string
    IpAddr a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) a.family = AF_INET;
    else if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) a.family = AF_INET6;
    else return std::nullopt;
    return a;
}

IpAddr IpAddr::from_bytes(int family, const uint8_t* bytes) {
    IpAddr a;
    a.family = family;
    std::memcpy(a.bytes.data(), bytes, family == AF_INET ? 4 : 16);
    return a;
}

IpAddr IpAddr::unmapped() const {
    if (family != AF_INET6 || std::memcmp(bytes.data(), kMappedPrefix, 12) != 0) return *this;
    IpAddr v4;
    v4.family = AF_INET;
    std::memcpy(v4.bytes.data(), bytes.data() + 12, 4);
    return v4;
}

std::string IpAddr::str() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family != AF_INET && family != AF_INET6) return "?";
    return inet_ntop(family, bytes.data(), buf, sizeof buf) ? buf : "?";
}

bool Cidr::contains(const IpAddr& a) const {
    if (a.family != addr.family) return false;
    int full = prefix / 8, rest = prefix % 8;
    if (std::memcmp(a.bytes.data(), addr.bytes.data(), full) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (a.bytes[full] & mask) == (addr.bytes[full] & mask);
}

std::string Cidr::str() const { return addr.str() + "/" + std::to_string(prefix); }

std::optional<Cidr> parse_cidr(std::string_view text, std::string& error, bool& had_host_bits) {
    had_host_bits = false;
    auto slash = text.find('/');
    auto addr = IpAddr::parse(text.substr(0, slash));
    if (!addr) {
        error = "\"" + std::string(text.substr(0, slash)) + "\" is not an IPv4 or IPv6 address";
        return std::nullopt;
    }
    int max = addr->family == AF_INET ? 32 : 128;
    Cidr c{*addr, max};
    if (slash != std::string_view::npos) {
        unsigned long len = 0;
        if (!parse_uint(text.substr(slash + 1), len) || len > static_cast<unsigned long>(max)) {
            error = "prefix length \"" + std::string(text.substr(slash + 1)) + "\" is not in 0-" +
                    std::to_string(max);
            return std::nullopt;
        }
        c.prefix = static_cast<int>(len);
    }
    // A rule written as ::ffff:a.b.c.d/n (n >= 96) is an IPv4 rule.
    if (c.addr.family == AF_INET6 && c.prefix >= 96 && c.addr.unmapped().family == AF_INET) {
        c.addr = c.addr.unmapped();
        c.prefix -= 96;
        max = 32;
    }
    for (int bit = c.prefix; bit < max; ++bit) {
        uint8_t& byte = c.addr.bytes[bit / 8];
        uint8_t m = static_cast<uint8_t>(0x80 >> (bit % 8));
        if (byte & m) had_host_bits = true;
        byte &= static_cast<uint8_t>(~m);
    }
    return c;
}

std::string PortRange::str() const {
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

std::optional<PortRange> parse_port_range(std::string_view text, std::string& error) {
    auto dash = text.find('-', 1);
    unsigned long lo = 0, hi = 0;
    bool ok = dash == std::string_view::npos
                  ? parse_uint(text, lo) && ((hi = lo), true)
                  : parse_uint(text.substr(0, dash), lo) && parse_uint(text.substr(dash + 1), hi);
    if (!ok) {
        error = "\"" + std::string(text) + "\" is not a port or a port range lo-hi";
        return std::nullopt;
    }
    if (lo > 65535 || hi > 65535) {
        error = "port " + std::to_string(lo > 65535 ? lo : hi) + " is out of range (0-65535)";
        return std::nullopt;
    }
    if (lo > hi) {
        error = "port range " + std::string(text) + " is reversed (lo > hi)";
        return std::nullopt;
    }
    return PortRange{static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
}

std::string_view to_string(Protocol p) {
    switch (p) {
    case Protocol::Any: return "any";
    case Protocol::Tcp: return "tcp";
    case Protocol::Udp: return "udp";
    }
    return "unknown";
}

}  // namespace stockade::policy
