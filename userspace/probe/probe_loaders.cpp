// The system's dynamic loaders and the interpreters known by name (part of class Probe, probe.hpp):
// an exec of one runs the program or script its arguments name, which the daemon then judges
// (bpf/process.bpf.h, SK_F_LOADER, SK_F_INTERP).
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "common/error.hpp"
#include "probe/file_id.hpp"
#include "probe/interpreters.hpp"
#include "probe/probe.hpp"
#include "stockade_bpf.skel.h"

namespace stockade::probe {

namespace {

// The PT_INTERP path of an ELF executable ("" when it has none or cannot be read).
std::string elf_interpreter(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};
    std::string interp;
    Elf* elf = elf_version(EV_CURRENT) == EV_NONE ? nullptr : elf_begin(fd, ELF_C_READ, nullptr);
    size_t nph = 0;
    if (elf && elf_getphdrnum(elf, &nph) == 0)
        for (size_t i = 0; i < nph && interp.empty(); ++i) {
            GElf_Phdr ph;
            if (!gelf_getphdr(elf, static_cast<int>(i), &ph) || ph.p_type != PT_INTERP || ph.p_filesz > 4096) continue;
            std::string buf(ph.p_filesz, '\0');
            if (pread(fd, buf.data(), buf.size(), static_cast<off_t>(ph.p_offset)) == static_cast<ssize_t>(buf.size()))
                interp = buf.c_str();  // NUL terminated within p_filesz
        }
    if (elf) elf_end(elf);
    close(fd);
    return interp;
}

}  // namespace

// Known by (dev, inode), never by name: a copy of the loader elsewhere is an ordinary program
// (judged by its own path, as any copied binary), the loader's real file is known wherever it is
// reached from.
void Probe::set_elf_loaders() {
    std::vector<std::string> paths = {"/lib64/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                                      "/lib/ld-linux-aarch64.so.1", "/usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"};
    for (const char* exe : {"/usr/bin/env", "/bin/sh"})
        if (auto interp = elf_interpreter(exe); !interp.empty()) paths.push_back(interp);
    std::set<std::pair<uint64_t, uint64_t>> seen;
    for (const auto& path : paths) {
        auto id = kernel_file_id(path);
        if (!id || !seen.insert({id->dev, id->ino}).second) continue;
        sk_inode_key key{};
        key.dev = id->dev;
        key.ino = id->ino;
        uint8_t one = 1;
        if (bpf_map__update_elem(skel_->maps.elf_loaders, &key, sizeof key, &one, sizeof one, BPF_ANY))
            throw Error(std::string("updating kernel table elf_loaders: ") + std::strerror(errno));
        spdlog::debug("dynamic loader: {} (dev {:#x}, inode {})", path, key.dev, key.ino);
    }
}

// By name, not inode: a package upgrade replaces the file (a new inode) but keeps its name.
void Probe::set_interpreters() {
    for (const auto& k : kernel_entries())
        if (bpf_map__update_elem(skel_->maps.interp_names, &k.key, sizeof k.key, &k.value, sizeof k.value, BPF_ANY))
            throw Error(std::string("updating kernel table interp_names: ") + std::strerror(errno));
}

}  // namespace stockade::probe
