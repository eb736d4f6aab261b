#include "probe/tls_targets.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>
#include <map>

namespace stockade::probe {

namespace {

int32_t rel32(const uint8_t* p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// The exported function symbols of an ELF file and its loadable segments, to read code by address.
class ElfCode {
public:
    explicit ElfCode(const std::string& path) {
        fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0 || elf_version(EV_CURRENT) == EV_NONE) return;
        elf_ = elf_begin(fd_, ELF_C_READ, nullptr);
        if (!elf_) return;
        size_t nph = 0;
        if (elf_getphdrnum(elf_, &nph) == 0)
            for (size_t i = 0; i < nph; ++i) {
                GElf_Phdr ph;
                if (gelf_getphdr(elf_, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD) loads_.push_back(ph);
            }
        for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn; scn = elf_nextscn(elf_, scn)) {
            GElf_Shdr sh;
            if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB)) continue;
            Elf_Data* data = elf_getdata(scn, nullptr);
            size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
            for (size_t i = 0; data && i < n; ++i) {
                GElf_Sym sym;
                if (!gelf_getsym(data, static_cast<int>(i), &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
                    !sym.st_value)
                    continue;
                const char* name = elf_strptr(elf_, sh.sh_link, sym.st_name);
                if (name) syms_.emplace(name, sym.st_value);
            }
        }
    }
    ~ElfCode() {
        if (elf_) elf_end(elf_);
        if (fd_ >= 0) close(fd_);
    }
    ElfCode(const ElfCode&) = delete;
    ElfCode& operator=(const ElfCode&) = delete;

    std::optional<uint64_t> symbol(const std::string& name) const {
        auto it = syms_.find(name);
        return it == syms_.end() ? std::nullopt : std::optional<uint64_t>(it->second);
    }
    std::optional<uint64_t> file_offset(uint64_t vaddr) const {
        for (auto& ph : loads_)
            if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) return vaddr - ph.p_vaddr + ph.p_offset;
        return std::nullopt;
    }
    // Up to n bytes of code at vaddr.
    std::vector<uint8_t> code(uint64_t vaddr, size_t n) const {
        auto off = file_offset(vaddr);
        std::vector<uint8_t> out(n);
        ssize_t got = off ? pread(fd_, out.data(), n, static_cast<off_t>(*off)) : -1;
        out.resize(got > 0 ? static_cast<size_t>(got) : 0);
        return out;
    }

private:
    int fd_ = -1;
    Elf* elf_ = nullptr;
    std::vector<GElf_Phdr> loads_;
    std::map<std::string, uint64_t> syms_;
};

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
                       {K::ReadEx, "SSL_read_ex", "SSL_read_ex", 0}};
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
    plan.points = {{K::Write, wn, "", *w}, {K::ReadEx, rn, "", *r}};
    return plan;
}

}  // namespace stockade::probe
