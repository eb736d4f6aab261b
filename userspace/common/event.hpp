// The typed event every stage after the probe works on. The probe decodes ring-buffer records
// (include/stockade/events.h) into this; unit tests build it by hand.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stockade/events.h"

namespace stockade {

// The kinds of kernel record (enum sk_kind in include/stockade/events.h), one for one: the probe
// casts a record's kind to Action, so the values are the kernel's own constants.
enum class Action : uint16_t {
    Exec = SK_EXEC, Fork = SK_FORK, Exit = SK_EXIT, Open = SK_OPEN, Unlink = SK_UNLINK, Rename = SK_RENAME,
    Mkdir = SK_MKDIR, Rmdir = SK_RMDIR, Chmod = SK_CHMOD, Truncate = SK_TRUNCATE, Link = SK_LINK,
    Symlink = SK_SYMLINK, Connect = SK_CONNECT, Bind = SK_BIND, Listen = SK_LISTEN, Accept = SK_ACCEPT,
    Send = SK_SEND,
    Signal = SK_SIGNAL, Ptrace = SK_PTRACE, Bpf = SK_BPF,  // self-protection: aimed at stockaded, or any bpf() call
    Io = SK_IO,            // bytes read or written on a pipe/socket that look like JSON-RPC (MCP) or HTTP
    Tls = SK_TLS,          // TLS plaintext (uprobes on OpenSSL, Go crypto/tls), or an unseen ClientHello
    CgroupMkdir = SK_CGROUP,  // a cgroup named like an agent's unit or cgroup path was made (now tracked)
    Syscall = SK_SYSCALL,     // a channel around the hooked syscalls: io_uring, 32-bit, by handle, cross-process
    Xattr = SK_XATTR,         // setxattr/removexattr (any form): path2 holds the attribute's name
    Label = SK_LABEL,         // a sequence label passed through data: path = the file or "pipe:[ino]",
                              // target_pid = the labelled writer, detail = SK_THROUGH_* of the object
};
// A kind added to sk_kind without its Action stops the build here.
static_assert(static_cast<uint16_t>(Action::Label) + 1 == SK_KIND_MAX, "every sk_kind needs its Action");

std::string_view to_string(Action a);

// Access bits of an open (or of the write-like path syscalls).
enum Access : uint32_t {
    kRead = SK_ACC_READ,
    kWrite = SK_ACC_WRITE,
    kCreate = SK_ACC_CREATE,
    kTruncate = SK_ACC_TRUNC,
    kAppend = SK_ACC_APPEND,
    kPath = SK_ACC_PATH,  // O_PATH: locates the file, reads and writes nothing
};

std::string access_string(uint32_t access);  // "read", "write+create", "path" ...

struct NetAddress {
    int family = 0;         // AF_INET, AF_INET6, AF_UNIX; 0 = none
    uint8_t bytes[16] = {};  // v4 in the first 4 bytes, network order
    uint16_t port = 0;      // host order
    int sotype = 0;         // SOCK_STREAM, SOCK_DGRAM; 0 = unknown
    std::string unix_path;  // AF_UNIX only ('@' prefix for abstract)

    std::string address() const;  // "127.0.0.1", "::1", unix path
    std::string protocol() const;  // "tcp", "udp", "unix", ""
};

// What the kernel already did about the event.
// Refused: a launched agent's syscall that the mutation gate (enforce/mutation_gate.hpp) failed
// before it ran, at the daemon's word.
enum class KernelAction : uint8_t { None = 0, Denied, Killed, Refused };

struct Event {
    Action action = Action::Exec;
    uint64_t ktime_ns = 0;  // CLOCK_BOOTTIME of the syscall
    uint32_t pid = 0, tid = 0, ppid = 0, uid = 0, gid = 0;
    uint64_t start_ns = 0;         // (pid, start_ns) identifies a process across pid reuse
    uint64_t parent_start_ns = 0;  // of ppid
    uint64_t cgroup_id = 0;
    uint32_t kernel_agent = 0;  // agent id the kernel tagged the process with, 0 = none
    std::string comm;

    std::string path;   // resolved path (open, exec image, unlink, rename source ...)
    std::string path2;  // rename / link target
    std::vector<std::string> argv;  // exec
    std::string cwd;                // exec
    uint32_t access = 0;            // Access bits
    uint32_t open_flags = 0;
    uint32_t mode = 0;
    int64_t result = 0;  // syscall return; exit: exit status; fork: child pid
    uint64_t child_start_ns = 0;  // fork
    bool thread = false;          // fork created a thread
    int exit_signal = 0;          // exit: terminating signal, 0 = exited normally
    uint32_t target_pid = 0;      // signal, ptrace: the process aimed at
    uint32_t detail = 0;          // signal: the signal number; bpf: the bpf() command
    bool io_write = false;        // io: written (true) or read (false)
    int fd = -1;                  // io, network: the descriptor (accept: the new socket)
    uint64_t io_inode = 0;        // io: the pipe's or socket's inode (both ends of a pipe share it);
                                  // tls: the address of the SSL object (one per connection)
    std::string io_data;          // io: up to SK_IO_MAX bytes (truncated flag when cut)
    bool io_more = false;         // io: more bytes of the write just before (same pid, fd, inode)
    uint64_t io_offset = 0;       // io_more: where io_data starts in that write
    uint64_t io_peer_inode = 0;   // io write on a unix socket: the peer's inode (what the reader reads)
    uint32_t tls_stack = 0;       // tls: SK_STACK_* of the library whose uprobe saw it
    bool tls_hello = false;       // tls: a ClientHello no uprobe saw (io_data: its bytes, net: the peer)
    bool tls_held = false;        // exec: the kernel stopped the process for its TLS uprobes
    // exec: what runs besides the image, judged as if it were exec'd (policy/decide.cpp).
    bool script_exec = false;     // the image is the interpreter of a `#!` script (or binfmt_misc)
    std::string exec_script;      // that script, resolved; empty: its name was not known
    bool loader_exec = false;     // the image is a dynamic loader run as a program
    std::string loader_program;   // the program it runs, resolved; empty: not determined
    // The image is an interpreter (by name, probe/interpreters.hpp) run with a script file as its
    // program (`sh SCRIPT`): that file, resolved (two when an unknown option may have taken the first).
    std::vector<std::string> interp_scripts;
    bool interp_undetermined = false;  // an interpreter whose argv was cut before its script
    NetAddress net;
    uint64_t target_cgroup = 0;   // cgroup mkdir: the new cgroup's id (path: its path)
    uint32_t syscall_nr = 0;      // syscall: its number (i386 numbering when compat)
    bool compat = false;          // syscall: made through the 32-bit entry

    bool truncated = false;  // a path or argv was cut at a kernel limit
    // The kernel stopped the process at this action until the daemon's verdict (bpf/hold.bpf.h):
    // the daemon releases hold number `hold` (low 16 bits) or kills the process.
    bool held = false;
    uint16_t hold = 0;
    KernelAction kernel_action = KernelAction::None;
    uint32_t kernel_rule = 0;
};

}  // namespace stockade
