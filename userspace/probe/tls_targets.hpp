// Where the TLS uprobes go in one file that carries OpenSSL. A uprobe on an instruction the
// kernel must single-step out of line costs ~10 us per call on this machine, one on an
// instruction it emulates (push, call, jmp) ~1 us (docs/performance.md, TLS uprobes). OpenSSL 3's
// exported SSL_write_ex/SSL_read_ex are wrappers (`sub $N,%rsp; call <internal>`) whose first
// instruction is single-stepped, while the internal functions they call start with `push`. So
// when the wrappers have that shape, and SSL_write/SSL_read call the same internal functions,
// the probes go on those (one write point, one read point covers both forms); otherwise on the
// four exported entries. Either way SSL_do_handshake's entry too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stockade::probe {

struct TlsProbePoint {
    // WriteInt/Read: SSL_write/SSL_read's int `num`; Handshake: SSL_do_handshake (SSL_connect calls
    // it), once per connection, so that a ClientHello it writes is known as seen (tlsseen.bpf.h).
    enum class Kind { Write, WriteInt, Read, ReadEx, Handshake };
    Kind kind;
    std::string name;     // for logs and `attached()`: "SSL_write_ex" or "ssl_write_internal@0x355e0"
    std::string symbol;   // exported entry; empty when `offset` is used
    uint64_t offset = 0;  // file offset of the probed instruction (internal functions)
};

struct TlsPlan {
    std::vector<TlsProbePoint> points;
    bool internal = false;  // the cheap internal points were found
    std::string note;       // why not, when they were not
};

TlsPlan plan_tls_probes(const std::string& file);

// The call target of an OpenSSL 3 wrapper starting at `vaddr` (`[endbr64] sub $imm8,%rsp; call
// rel32`), or nothing when `code` does not have that shape.
std::optional<uint64_t> wrapper_call_target(const uint8_t* code, size_t n, uint64_t vaddr);
// Whether `code` at `vaddr` holds a `call rel32` to `target` in its first `n` bytes.
bool calls(const uint8_t* code, size_t n, uint64_t vaddr, uint64_t target);
// Whether the instruction at `code` is a push of a register (which uprobes emulate).
bool starts_with_push(const uint8_t* code, size_t n);

}  // namespace stockade::probe
