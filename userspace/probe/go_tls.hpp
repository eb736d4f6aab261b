// Go's crypto/tls, probed per process. Go links its TLS stack into each program, so there is no
// library to probe for the whole host: when a tracked process execs a binary, the daemon looks
// at it once per (dev, inode) (the Go version in .go.buildinfo, the crypto/tls symbols in
// .symtab) and, if it is a Go program with crypto/tls, attaches uprobes for that pid only
// (bpf/gotls.bpf.h): a process that is not an agent never traps. The kernel holds such an exec
// (SIGSTOP before the first instruction) until release_holds() attached and sent SIGCONT, so the
// program's first request is seen. A stripped binary (no .symtab) or one older than go1.18 is
// not probed: its ClientHello is then unseen TLS (bpf/tlsseen.bpf.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct bpf_program;
struct bpf_map;
struct bpf_link;

namespace stockade::probe {

struct GoTlsPlan {
    bool go = false;      // a Go program (.go.buildinfo)
    std::string version;  // "go1.19.8"
    std::optional<uint64_t> write, handshake;  // file offsets of the uprobes
    std::string note;     // why a Go program gets no uprobes
};

GoTlsPlan plan_go_tls(const std::string& path);

// The Go version of a .go.buildinfo section in the go1.18+ layout (inline strings), else "".
std::string go_buildinfo_version(const std::vector<uint8_t>& section);
// Whether code built by that Go version passes arguments in registers on amd64 (go1.17+).
bool go_register_abi(const std::string& version);
// Where a Go function's stack-growth check (`cmp 0x10(%r14),%rsp; jbe`, or `lea -N(%rsp),%r12;
// cmp 0x10(%r14),%r12; jbe`) ends: the first instruction a call runs once (when the stack must
// grow, the function runs its entry again after morestack); 0 (the entry) without such a check.
size_t go_prologue_end(const uint8_t* code, size_t n);

class GoTlsAttacher {
public:
    GoTlsAttacher(bpf_program* write, bpf_program* handshake, bpf_map* images, bpf_map* held, bpf_map* seen)
        : write_(write), handshake_(handshake), images_(images), held_(held), seen_(seen) {}
    ~GoTlsAttacher();
    GoTlsAttacher(const GoTlsAttacher&) = delete;
    GoTlsAttacher& operator=(const GoTlsAttacher&) = delete;

    // A tracked process exec'd: its uprobes, when its image is a Go program with crypto/tls.
    void on_exec(uint32_t pid, uint64_t start_ns);  // start_ns: the process's start (boot clock)
    void on_exit(uint32_t pid);
    // Processes the kernel stopped at exec (map tls_held): looked at, attached, continued.
    void release_holds();
    size_t processes() const { return pids_.size(); }

private:
    using ImageKey = std::pair<uint64_t, uint64_t>;  // kernel (dev, inode)
    struct Attached {
        ImageKey image;
        uint64_t start_ns = 0;
        std::vector<bpf_link*> links;
    };
    const GoTlsPlan& plan_for(const ImageKey& key, const std::string& exe);
    std::vector<std::pair<uint32_t, uint64_t>> held() const;  // (tgid, start) of held processes
    void detach(Attached& a);

    bpf_program* write_;
    bpf_program* handshake_;
    bpf_map* images_;
    bpf_map* held_;
    bpf_map* seen_;
    std::map<ImageKey, GoTlsPlan> plans_;
    std::map<uint32_t, Attached> pids_;
};

}  // namespace stockade::probe
