#include "probe/elf_code.hpp"

#include <fcntl.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>

namespace stockade::probe {

ElfCode::ElfCode(const std::string& path, std::function<bool(std::string_view)> keep) {
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0 || elf_version(EV_CURRENT) == EV_NONE) return;
    elf_ = elf_begin(fd_, ELF_C_READ, nullptr);
    if (!elf_) return;
    GElf_Ehdr eh;
    if (gelf_getehdr(elf_, &eh)) machine_ = eh.e_machine;
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
            if (!gelf_getsym(data, static_cast<int>(i), &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value)
                continue;
            const char* name = elf_strptr(elf_, sh.sh_link, sym.st_name);
            if (name && (!keep || keep(name))) syms_.emplace(name, sym.st_value);
        }
    }
}

ElfCode::~ElfCode() {
    if (elf_) elf_end(elf_);
    if (fd_ >= 0) close(fd_);
}

std::optional<uint64_t> ElfCode::symbol(const std::string& name) const {
    auto it = syms_.find(name);
    return it == syms_.end() ? std::nullopt : std::optional<uint64_t>(it->second);
}

std::optional<uint64_t> ElfCode::file_offset(uint64_t vaddr) const {
    for (auto& ph : loads_)
        if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) return vaddr - ph.p_vaddr + ph.p_offset;
    return std::nullopt;
}

std::vector<uint8_t> ElfCode::code(uint64_t vaddr, size_t n) const {
    auto off = file_offset(vaddr);
    std::vector<uint8_t> out(n);
    ssize_t got = off ? pread(fd_, out.data(), n, static_cast<off_t>(*off)) : -1;
    out.resize(got > 0 ? static_cast<size_t>(got) : 0);
    return out;
}

std::vector<uint8_t> ElfCode::section(const std::string& name, size_t n) const {
    size_t shstrndx = 0;
    if (!elf_ || elf_getshdrstrndx(elf_, &shstrndx) != 0) return {};
    for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn; scn = elf_nextscn(elf_, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS) continue;
        const char* s = elf_strptr(elf_, shstrndx, sh.sh_name);
        if (!s || name != s) continue;
        std::vector<uint8_t> out(std::min<uint64_t>(n, sh.sh_size));
        ssize_t got = pread(fd_, out.data(), out.size(), static_cast<off_t>(sh.sh_offset));
        out.resize(got > 0 ? static_cast<size_t>(got) : 0);
        return out;
    }
    return {};
}

}  // namespace stockade::probe
