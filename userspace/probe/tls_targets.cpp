#include "probe/tls_targets.hpp"

#include <cstring>

#include "probe/elf_code.hpp"

namespace stockade::probe {

namespace {

int32_t rel32(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace

std::optional<uint64_t> wrapper_call_target(const uint8_t* code, size_t n, uint64_t vaddr) {
    size_t at = 0;
    if (n >= 4 && code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa) at = 4;  // endbr64
    if (n < at + 9 || code[at] != 0x48 || code[at + 1] != 0x83 || code[at + 2] != 0xec) return std::nullopt;
    at += 4;  // sub $imm8,%rsp
    if (code[at] != 0xe8) return std::nullopt;
    return vaddr + at + 5 + static_cast<int64_t>(rel32(code + at + 1));
}

bool calls(const uint8_t* code, size_t n, uint64_t vaddr, uint64_t target) {
    for (size_t i = 0; i + 5 <= n; ++i)
        if (code[i] == 0xe8 && vaddr + i + 5 + static_cast<int64_t>(rel32(code + i + 1)) == target) return true;
    return false;
}

bool starts_with_push(const uint8_t* code, size_t n) {
    if (n >= 1 && code[0] >= 0x50 && code[0] <= 0x57) return true;                         // push %rax..%rdi
    return n >= 2 && code[0] == 0x41 && code[1] >= 0x50 && code[1] <= 0x57;               // push %r8..%r15
}

TlsPlan plan_tls_probes(const std::string& file) {
    using K = TlsProbePoint::Kind;
    TlsPlan exported;
    exported.points = {{K::WriteInt, "SSL_write", "SSL_write", 0},
                       {K::Write, "SSL_write_ex", "SSL_write_ex", 0},
                       {K::Read, "SSL_read", "SSL_read", 0},
                       {K::ReadEx, "SSL_read_ex", "SSL_read_ex", 0},
                       {K::Handshake, "SSL_do_handshake", "SSL_do_handshake", 0}};
    ElfCode elf(file);
    // The internal function behind wrapper `ex`, if `plain` calls it too and it starts with a push.
    auto internal = [&](const char* ex, const char* plain, std::string& why) -> std::optional<uint64_t> {
        auto ex_at = elf.symbol(ex), plain_at = elf.symbol(plain);
        if (!ex_at || !plain_at) {
            why = std::string("no symbol ") + (ex_at ? plain : ex);
            return std::nullopt;
        }
        auto code = elf.code(*ex_at, 16);
        auto target = wrapper_call_target(code.data(), code.size(), *ex_at);
        if (!target) {
            why = std::string(ex) + " is not a `sub; call` wrapper";
            return std::nullopt;
        }
        auto pcode = elf.code(*plain_at, 64);
        auto tcode = elf.code(*target, 4);
        if (!calls(pcode.data(), pcode.size(), *plain_at, *target)) {
            why = std::string(plain) + " does not call the same function as " + ex;
            return std::nullopt;
        }
        if (!starts_with_push(tcode.data(), tcode.size())) {
            why = "the function " + std::string(ex) + " calls does not start with a push";
            return std::nullopt;
        }
        return elf.file_offset(*target);
    };
    std::string why;
    auto w = internal("SSL_write_ex", "SSL_write", why);
    auto r = w ? internal("SSL_read_ex", "SSL_read", why) : std::nullopt;
    if (!w || !r) {
        exported.note = why;
        return exported;
    }
    char wn[64], rn[64];
    std::snprintf(wn, sizeof wn, "ssl_write_internal@%#llx", static_cast<unsigned long long>(*w));
    std::snprintf(rn, sizeof rn, "ssl_read_internal@%#llx", static_cast<unsigned long long>(*r));
    TlsPlan plan;
    plan.internal = true;
    plan.points = {{K::Write, wn, "", *w}, {K::ReadEx, rn, "", *r}, exported.points.back()};
    return plan;
}

}  // namespace stockade::probe
