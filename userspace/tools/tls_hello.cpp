#include "tools/tls_hello.hpp"

#include <cctype>
#include <cstdint>

namespace stockade::tools {

namespace {

// A bounds-checked reader over the hello: any read past the end makes it fail for good.
struct Cursor {
    std::string_view b;
    size_t at = 0;
    bool ok = true;
    uint32_t num(size_t n) {
        uint32_t v = 0;
        if (at + n > b.size()) ok = false;
        for (size_t i = 0; ok && i < n; ++i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
        at += n;
        return v;
    }
    void skip(size_t n) {
        if (at + n > b.size()) ok = false;
        at += n;
    }
};

}  // namespace

std::string tls_server_name(std::string_view record) {
    Cursor c{record};
    if (c.num(1) != 0x16) return "";  // handshake record
    c.skip(4);                        // version, length
    if (c.num(1) != 0x01) return "";  // ClientHello
    c.skip(3 + 2 + 32);               // length, client_version, random
    c.skip(c.num(1));                 // session id
    c.skip(c.num(2));                 // cipher suites
    c.skip(c.num(1));                 // compression methods
    size_t end = c.num(2);
    end += c.at;
    while (c.ok && c.at + 4 <= end) {
        uint32_t type = c.num(2), len = c.num(2);
        if (type != 0) {  // not server_name
            c.skip(len);
            continue;
        }
        c.skip(2);                        // server_name_list length
        if (c.num(1) != 0) return "";     // host_name
        uint32_t n = c.num(2);
        if (!c.ok || c.at + n > record.size() || n == 0) return "";
        std::string name(record.substr(c.at, n));
        for (char& ch : name) {
            if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-' && ch != '_') return "";
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        return name;
    }
    return "";
}

}  // namespace stockade::tools
