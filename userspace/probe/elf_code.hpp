// Reading code out of an ELF file on disk: its function symbols (.dynsym and .symtab), its
// loadable segments (a symbol's address -> file offset, where a uprobe is placed) and the bytes
// of a section or of the code at an address. Used to find where TLS uprobes go (tls_targets,
// go_tls).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gelf.h>

namespace stockade::probe {

class ElfCode {
public:
    // `keep`, when given, says which function symbols to remember (a Go binary has thousands).
    explicit ElfCode(const std::string& path, std::function<bool(std::string_view)> keep = {});
    ~ElfCode();
    ElfCode(const ElfCode&) = delete;
    ElfCode& operator=(const ElfCode&) = delete;

    bool ok() const { return elf_ != nullptr; }
    uint16_t machine() const { return machine_; }  // EM_X86_64 ...
    std::optional<uint64_t> symbol(const std::string& name) const;
    std::optional<uint64_t> file_offset(uint64_t vaddr) const;
    // Up to n bytes of code at vaddr.
    std::vector<uint8_t> code(uint64_t vaddr, size_t n) const;
    // Up to n bytes of the section called `name` (empty when there is none).
    std::vector<uint8_t> section(const std::string& name, size_t n) const;

private:
    int fd_ = -1;
    Elf* elf_ = nullptr;
    uint16_t machine_ = 0;
    std::vector<GElf_Phdr> loads_;
    std::map<std::string, uint64_t> syms_;
};

}  // namespace stockade::probe
