#include "probe/go_tls.hpp"

#include <bpf/libbpf.h>
#include <elf.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>

#include "probe/elf_code.hpp"
#include "probe/file_id.hpp"
#include "stockade/events.h"

namespace stockade::probe {

namespace {

constexpr const char* kWrite = "crypto/tls.(*Conn).Write";
constexpr const char* kHandshake = "crypto/tls.(*Conn).clientHandshake";
constexpr size_t kMaxPlans = 16384;  // the kernel's tls_images holds as many

}  // namespace

std::string go_buildinfo_version(const std::vector<uint8_t>& s) {
    static const char kMagic[] = "\xff Go buildinf:";
    constexpr size_t kHeader = 32, kMagicLen = sizeof kMagic - 1;
    if (s.size() <= kHeader || std::memcmp(s.data(), kMagic, kMagicLen) != 0) return "";
    if (!(s[kMagicLen + 1] & 0x2)) return "";  // pointers to the strings: go1.17 and older
    uint64_t len = 0;
    size_t at = kHeader;
    for (int shift = 0; at < s.size() && shift < 64; shift += 7) {  // uvarint
        uint8_t b = s[at++];
        len |= uint64_t(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
    }
    if (len == 0 || len > 64 || at + len > s.size()) return "";
    return std::string(reinterpret_cast<const char*>(s.data() + at), len);
}

bool go_register_abi(const std::string& version) {
    auto at = version.find("go1.");
    if (at == std::string::npos) return false;
    int minor = std::atoi(version.c_str() + at + 4);
    return minor >= 17;
}

size_t go_prologue_end(const uint8_t* c, size_t n) {
    auto is = [&](size_t at, std::initializer_list<uint8_t> bytes) {
        if (at + bytes.size() > n) return false;
        size_t i = at;
        for (uint8_t b : bytes)
            if (c[i++] != b) return false;
        return true;
    };
    size_t at = 0;
    if (is(0, {0x49, 0x3b, 0x66, 0x10})) {  // cmp 0x10(%r14),%rsp
        at = 4;
    } else {
        if (is(0, {0x4c, 0x8d, 0x64, 0x24}))  // lea -N(%rsp),%r12, 8-bit displacement
            at = 5;
        else if (is(0, {0x4c, 0x8d, 0xa4, 0x24}))  // ... 32-bit displacement
            at = 8;
        else
            return 0;
        if (!is(at, {0x4d, 0x3b, 0x66, 0x10})) return 0;  // cmp 0x10(%r14),%r12
        at += 4;
    }
    if (is(at, {0x76}))  // jbe rel8
        at += 2;
    else if (is(at, {0x0f, 0x86}))  // jbe rel32
        at += 6;
    else
        return 0;
    return at < n ? at : 0;
}

GoTlsPlan plan_go_tls(const std::string& path) {
    GoTlsPlan plan;
    ElfCode elf(path, [](std::string_view name) { return name.rfind("crypto/tls.(*Conn).", 0) == 0; });
    if (!elf.ok()) return plan;
    plan.version = go_buildinfo_version(elf.section(".go.buildinfo", 128));
    plan.go = !plan.version.empty() || !elf.section(".go.buildinfo", 16).empty();
    if (!plan.go) return plan;
    auto where = [&](const char* name) -> std::optional<uint64_t> {
        auto at = elf.symbol(name);
        if (!at) return std::nullopt;
        auto code = elf.code(*at, 32);
        return elf.file_offset(*at + go_prologue_end(code.data(), code.size()));
    };
    if (elf.machine() != EM_X86_64)
        plan.note = "not an x86-64 program";
    else if (plan.version.empty())
        plan.note = "built by go1.17 or older (or its build info is unreadable): register ABI not known";
    else if (!go_register_abi(plan.version))
        plan.note = plan.version + " passes arguments on the stack";
    else if (!(plan.write = where(kWrite)))
        plan.note = "no symbol " + std::string(kWrite) + " (stripped, or no crypto/tls)";
    else
        plan.handshake = where(kHandshake);
    return plan;
}

// The daemon stops: a process still held would stay stopped with no one to continue it.
GoTlsAttacher::~GoTlsAttacher() {
    for (auto [pid, start] : held()) {
        bpf_map__delete_elem(held_, &pid, sizeof pid, 0);
        kill(static_cast<pid_t>(pid), SIGCONT);
    }
    for (auto& [pid, a] : pids_) detach(a);
}

std::vector<std::pair<uint32_t, uint64_t>> GoTlsAttacher::held() const {
    std::vector<std::pair<uint32_t, uint64_t>> out;
    uint32_t cur = 0, next = 0;
    for (void* prev = nullptr; bpf_map__get_next_key(held_, prev, &next, sizeof next) == 0; prev = &cur) {
        cur = next;
        uint64_t start = 0;
        bpf_map__lookup_elem(held_, &next, sizeof next, &start, sizeof start, 0);
        out.emplace_back(next, start);
    }
    return out;
}

const GoTlsPlan& GoTlsAttacher::plan_for(const ImageKey& key, const std::string& exe) {
    if (auto it = plans_.find(key); it != plans_.end()) return it->second;
    if (plans_.size() >= kMaxPlans) plans_.clear();
    GoTlsPlan plan = plan_go_tls(exe);
    std::error_code ec;
    std::string path = std::filesystem::read_symlink(exe, ec).string();
    sk_inode_key k{};
    k.dev = key.first;
    k.ino = key.second;
    uint8_t v = plan.write ? SK_IMG_TLS : SK_IMG_PLAIN;
    bpf_map__update_elem(images_, &k, sizeof k, &v, sizeof v, BPF_ANY);
    if (plan.write)
        spdlog::info("tls: {} ({}) is a Go program with crypto/tls: uprobes for each agent process that runs it",
                     path, plan.version);
    else if (plan.go)
        spdlog::warn("tls: {} is a Go program whose TLS is not probed: {}", path, plan.note);
    return plans_.emplace(key, std::move(plan)).first->second;
}

void GoTlsAttacher::on_exec(uint32_t pid, uint64_t start_ns) {
    std::string exe = "/proc/" + std::to_string(pid) + "/exe";
    auto id = kernel_file_id(exe);
    if (!id) return;  // gone already
    ImageKey key{id->dev, id->ino};
    auto it = pids_.find(pid);
    if (it != pids_.end()) {
        if (it->second.image == key && it->second.start_ns == start_ns) return;  // attached for this image already
        detach(it->second);
        pids_.erase(it);
    }
    const GoTlsPlan& plan = plan_for(key, exe);
    if (!plan.write) return;
    Attached a{key, start_ns, {}};
    for (auto [prog, off] : {std::pair{write_, plan.write}, std::pair{handshake_, plan.handshake}}) {
        if (!off) continue;
        LIBBPF_OPTS(bpf_uprobe_opts, o);
        // By the process's own link to its image: the same file whatever its path is now.
        bpf_link* l = bpf_program__attach_uprobe_opts(prog, static_cast<int>(pid), exe.c_str(), *off, &o);
        if (l)
            a.links.push_back(l);
        else
            spdlog::warn("tls: no Go uprobe at {:#x} of {} for pid {}: {}", *off, exe, pid, std::strerror(errno));
    }
    if (!plan.handshake && !a.links.empty()) {
        // No handshake function to see the ClientHello by: the process's Go TLS is seen as of now.
        uint64_t go = SK_STACK_GO;
        bpf_map__update_elem(seen_, &pid, sizeof pid, &go, sizeof go, BPF_ANY);
    }
    pids_.emplace(pid, std::move(a));
}

void GoTlsAttacher::detach(Attached& a) {
    for (auto* l : a.links) bpf_link__destroy(l);
    a.links.clear();
}

void GoTlsAttacher::on_exit(uint32_t pid) {
    auto it = pids_.find(pid);
    if (it == pids_.end()) return;
    detach(it->second);
    pids_.erase(it);
}

void GoTlsAttacher::release_holds() {
    for (auto [pid, start] : held()) {
        on_exec(pid, start);
        bpf_map__delete_elem(held_, &pid, sizeof pid, 0);
        kill(static_cast<pid_t>(pid), SIGCONT);  // stopped by the kernel at its exec, for this
    }
}

}  // namespace stockade::probe
