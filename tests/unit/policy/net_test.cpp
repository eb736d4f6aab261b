#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "policy/net.hpp"

using namespace stockade::policy;

namespace {

Cidr cidr(const std::string& text) {
    std::string err;
    bool host_bits = false;
    auto c = parse_cidr(text, err, host_bits);
    INFO(text << ": " << err);
    REQUIRE(c);
    return *c;
}

IpAddr ip(const std::string& text) {
    auto a = IpAddr::parse(text);
    REQUIRE(a);
    return a->unmapped();
}

}  // namespace

TEST_CASE("IPv4 CIDR blocks", "[net]") {
    CHECK(cidr("10.0.0.0/8").contains(ip("10.255.1.2")));
    CHECK_FALSE(cidr("10.0.0.0/8").contains(ip("11.0.0.1")));
    CHECK(cidr("192.168.1.0/23").contains(ip("192.168.0.7")));
    CHECK_FALSE(cidr("192.168.2.0/23").contains(ip("192.168.1.7")));
    CHECK(cidr("127.0.0.1").prefix == 32);
    CHECK(cidr("127.0.0.1").contains(ip("127.0.0.1")));
    CHECK_FALSE(cidr("127.0.0.1").contains(ip("127.0.0.2")));
    CHECK(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
    CHECK_FALSE(cidr("0.0.0.0/0").contains(ip("2001:db8::1")));
}

TEST_CASE("IPv6 CIDR blocks", "[net]") {
    CHECK(cidr("2001:db8::/32").contains(ip("2001:db8:1::5")));
    CHECK_FALSE(cidr("2001:db8::/32").contains(ip("2001:db9::5")));
    CHECK(cidr("::1/128").contains(ip("::1")));
    CHECK_FALSE(cidr("::1/128").contains(ip("::2")));
    CHECK(cidr("::1").prefix == 128);
    CHECK(cidr("::/0").contains(ip("fe80::1")));
    CHECK_FALSE(cidr("::/0").contains(ip("10.0.0.1")));
    CHECK(cidr("2001:db8::/33").contains(ip("2001:db8:7fff::1")));
    CHECK_FALSE(cidr("2001:db8::/33").contains(ip("2001:db8:8000::1")));
}

TEST_CASE("IPv4-mapped IPv6 addresses are IPv4", "[net]") {
    IpAddr mapped = ip("::ffff:10.1.2.3");
    CHECK(mapped.family == AF_INET);
    CHECK(cidr("10.0.0.0/8").contains(mapped));
    CHECK(mapped.str() == "10.1.2.3");
    Cidr rule = cidr("::ffff:10.0.0.0/104");  // written in mapped form: an IPv4 /8
    CHECK(rule.addr.family == AF_INET);
    CHECK(rule.prefix == 8);
    CHECK(rule.contains(ip("10.9.9.9")));
    CHECK(ip("::1").family == AF_INET6);
}

TEST_CASE("bad CIDR blocks and host bits", "[net]") {
    std::string err;
    bool host_bits = false;
    CHECK_FALSE(parse_cidr("10.0.0.0/33", err, host_bits));
    CHECK(err.find("0-32") != std::string::npos);
    CHECK_FALSE(parse_cidr("::/129", err, host_bits));
    CHECK_FALSE(parse_cidr("10.0.0/8", err, host_bits));
    CHECK_FALSE(parse_cidr("example.com", err, host_bits));
    CHECK_FALSE(parse_cidr("10.0.0.0/", err, host_bits));
    auto c = parse_cidr("10.1.2.3/8", err, host_bits);
    REQUIRE(c);
    CHECK(host_bits);
    CHECK(c->str() == "10.0.0.0/8");
}

TEST_CASE("port ranges", "[net]") {
    std::string err;
    auto one = parse_port_range("443", err);
    REQUIRE(one);
    CHECK(one->contains(443));
    CHECK_FALSE(one->contains(444));
    auto range = parse_port_range("8000-8100", err);
    REQUIRE(range);
    CHECK(range->contains(8000));
    CHECK(range->contains(8100));
    CHECK_FALSE(range->contains(7999));
    CHECK_FALSE(range->contains(8101));
    CHECK(range->str() == "8000-8100");
    CHECK_FALSE(parse_port_range("9010-9000", err));
    CHECK(err.find("reversed") != std::string::npos);
    CHECK_FALSE(parse_port_range("70000", err));
    CHECK(err.find("out of range") != std::string::npos);
    CHECK_FALSE(parse_port_range("1-65536", err));
    CHECK_FALSE(parse_port_range("http", err));
    CHECK_FALSE(parse_port_range("-5", err));
}
