// The server name of a ClientHello (what an unseen-TLS record names), from bytes built here.
#include <catch2/catch.hpp>

#include <string>

#include "tools/tls_hello.hpp"

using stockade::tools::tls_server_name;

namespace {

std::string u16(size_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }

// A TLS 1.2-framed ClientHello with the given extensions block.
std::string hello(const std::string& extensions) {
    std::string body = std::string("\x03\x03", 2) + std::string(32, 'r');  // client_version, random
    body += std::string("\x00", 1);                                        // no session id
    body += u16(2) + std::string("\x13\x01", 2);                            // one cipher suite
    body += std::string("\x01\x00", 2);                                     // null compression
    body += u16(extensions.size()) + extensions;
    std::string hs = std::string("\x01", 1) + std::string("\x00", 1) + u16(body.size()) + body;
    return std::string("\x16\x03\x01", 3) + u16(hs.size()) + hs;
}

std::string sni(const std::string& name) {
    std::string entry = std::string("\x00", 1) + u16(name.size()) + name;
    std::string list = u16(entry.size()) + entry;
    return u16(0) + u16(list.size()) + list;
}

}  // namespace

TEST_CASE("the server name of a ClientHello", "[tls]") {
    std::string alpn = u16(16) + u16(5) + u16(3) + std::string("\x02h2", 3);
    CHECK(tls_server_name(hello(sni("API.Example.com"))) == "api.example.com");
    CHECK(tls_server_name(hello(alpn + sni("localhost"))) == "localhost");  // after another extension
    CHECK(tls_server_name(hello(alpn)).empty());                            // no SNI (an IP address)
    std::string full = hello(sni("localhost"));
    CHECK(tls_server_name(full.substr(0, full.size() - 3)).empty());  // cut inside the name
    CHECK(tls_server_name(full.substr(0, 20)).empty());
    CHECK(tls_server_name(hello(sni("evil\nname"))).empty());  // not a host name
    std::string app = full;
    app[0] = 0x17;  // application data, not a handshake
    CHECK(tls_server_name(app).empty());
    CHECK(tls_server_name("").empty());
}
