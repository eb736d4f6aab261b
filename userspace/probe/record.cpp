#include "probe/record.hpp"

#include <sys/socket.h>

#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "common/error.hpp"
#include "probe/exec_names.hpp"
#include "probe/interpreters.hpp"
#include "stockade/events.h"

namespace stockade::probe {

// The kernel and this file must agree on every offset: a mismatch fails the build.
static_assert(sizeof(sk_addr) == 24);
static_assert(sizeof(sk_sock_mark) == 16);
static_assert(offsetof(sk_event, seg_len) == 2);
static_assert(offsetof(sk_event, hold) == 10);
static_assert(offsetof(sk_event, flags) == 12);
static_assert(offsetof(sk_event, data_len) == 16);
static_assert(offsetof(sk_event, pid) == 20);
static_assert(offsetof(sk_event, agent_id) == 40);
static_assert(offsetof(sk_event, ktime_ns) == 48);
static_assert(offsetof(sk_event, start_ns) == 56);
static_assert(offsetof(sk_event, cgroup_id) == 72);
static_assert(offsetof(sk_event, ret) == 80);
static_assert(offsetof(sk_event, arg2) == 104);
static_assert(offsetof(sk_event, access) == 112);
static_assert(offsetof(sk_event, addr) == 120);
static_assert(offsetof(sk_event, comm) == 144);
static_assert(offsetof(sk_event, data) == 160);
static_assert(SK_EVENT_HDR_SIZE == 160);
static_assert(SK_IO_MAX <= SK_DATA_MAX);
static_assert(sizeof(sk_inode_key) == 24);
static_assert(sizeof(sk_interp_key) == 16 && sizeof(sk_interp) == 16);
static_assert(sizeof(sk_inode_rule) == 16);
static_assert(sizeof(sk_net_key) == 28);
static_assert(sizeof(sk_port_span) == 12);
static_assert(sizeof(sk_net_rule) == 8 + 12 * SK_NET_SPANS_MAX);
static_assert(sizeof(sk_track) == 16);
static_assert(sizeof(sk_label) == 8);
static_assert(sizeof(sk_taint) == 16);
static_assert(sizeof(sk_hold) == 24);
static_assert(sizeof(sk_agent_cfg) == 16);
static_assert(sizeof(sk_http_key) == 24);
static_assert(offsetof(sk_http_key, route_hash) == 8);
static_assert(sizeof(sk_http_rule) == 8);
static_assert(sizeof(sk_tool_key) == 16);
static_assert(sizeof(sk_cgroup_name) == 16);
static_assert(SK_CGROUP_PATH_MAX <= SK_DATA_MAX);

uint64_t kernel_hash(std::string_view bytes) {
    uint64_t h = SK_FNV_OFFSET;
    for (unsigned char ch : bytes) h = (h ^ ch) * SK_FNV_PRIME;
    return h;
}

std::string assemble_path(std::string_view comps) {
    std::vector<std::string_view> parts;
    size_t pos = 0;
    while (pos < comps.size()) {
        size_t end = comps.find('\0', pos);
        if (end == std::string_view::npos) end = comps.size();
        if (end > pos) parts.push_back(comps.substr(pos, end - pos));
        pos = end + 1;
    }
    if (parts.empty()) return "/";
    std::string out;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        out += '/';
        out += *it;
    }
    return out;
}

std::string join_normalize(std::string_view base, std::string_view name) {
    std::string full;
    if (!name.empty() && name.front() == '/') {
        full = name;
    } else {
        full = base;
        full += '/';
        full += name;
    }
    std::vector<std::string_view> stack;
    std::string_view rest = full;
    while (!rest.empty()) {
        size_t slash = rest.find('/');
        std::string_view part = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (!stack.empty()) stack.pop_back();
            continue;
        }
        stack.push_back(part);
    }
    std::string out;
    for (auto p : stack) {
        out += '/';
        out += p;
    }
    return out.empty() ? "/" : out;
}

std::vector<std::string> split_argv(std::string_view block) {
    std::vector<std::string> argv;
    size_t pos = 0;
    while (pos < block.size()) {
        size_t end = block.find('\0', pos);
        if (end == std::string_view::npos) end = block.size();
        argv.emplace_back(block.substr(pos, end - pos));
        pos = end + 1;
    }
    return argv;
}

std::string through_fd_link(uint32_t pid, const std::string& path) {
    // "/proc/self/fd/N/rest", "/proc/thread-self/fd/N/rest" or "/proc/<pid>/fd/N/rest".
    std::string_view p = path;
    std::string own = "/proc/" + std::to_string(pid) + "/fd/";
    for (std::string_view prefix : {std::string_view("/proc/self/fd/"), std::string_view("/proc/thread-self/fd/"),
                                    std::string_view(own)}) {
        if (p.substr(0, prefix.size()) != prefix) continue;
        std::string_view tail = p.substr(prefix.size());
        size_t digits = 0;
        while (digits < tail.size() && digits < 10 && tail[digits] >= '0' && tail[digits] <= '9') ++digits;
        if (digits == 0 || (digits < tail.size() && tail[digits] != '/')) return path;
        char buf[4096];
        std::string link = own + std::string(tail.substr(0, digits));
        ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
        if (n <= 0 || buf[0] != '/') return path;  // closed meanwhile, or a pipe or socket
        std::string target(buf, static_cast<size_t>(n));
        if (target.size() >= 10 && target.compare(target.size() - 10, 10, " (deleted)") == 0) return path;
        std::string_view rest = tail.substr(digits);
        return rest.empty() ? target : join_normalize(target, rest.substr(1));
    }
    return path;
}

namespace {

std::string_view cstr(std::string_view s) {  // a user string segment up to its NUL
    size_t nul = s.find('\0');
    return nul == std::string_view::npos ? s : s.substr(0, nul);
}

// The record's fixed header, checked against the bytes that carry it.
sk_event read_header(const void* data, size_t size) {
    if (size < SK_EVENT_HDR_SIZE)
        throw Error("ring-buffer record of " + std::to_string(size) + " bytes is shorter than the " +
                    std::to_string(SK_EVENT_HDR_SIZE) + "-byte header");
    sk_event r;
    std::memcpy(&r, data, SK_EVENT_HDR_SIZE);
    if (r.data_len > SK_DATA_MAX || SK_EVENT_HDR_SIZE + r.data_len > size)
        throw Error("ring-buffer record says " + std::to_string(r.data_len) + " data bytes but holds " +
                    std::to_string(size - SK_EVENT_HDR_SIZE));
    if (r.kind == 0 || r.kind >= SK_KIND_MAX) throw Error("ring-buffer record of unknown kind " + std::to_string(r.kind));
    size_t segsum = 0;
    for (auto l : r.seg_len) segsum += l;
    if (segsum > r.data_len) throw Error("ring-buffer record segments overrun its data");
    return r;
}

// What every kind of event carries.
Event common_fields(const sk_event& r) {
    Event e;
    e.action = static_cast<Action>(r.kind);
    e.ktime_ns = r.ktime_ns;
    e.pid = r.pid;
    e.tid = r.tid;
    e.ppid = r.ppid;
    e.uid = r.uid;
    e.gid = r.gid;
    e.start_ns = r.start_ns;
    e.parent_start_ns = r.parent_start_ns;
    e.cgroup_id = r.cgroup_id;
    e.kernel_agent = r.agent_id;
    e.comm = cstr(std::string_view(r.comm, sizeof r.comm));
    e.result = r.ret;
    e.access = r.access;
    e.truncated = r.flags & (SK_F_TRUNC_PATH0 | SK_F_TRUNC_PATH1 | SK_F_TRUNC_ARGV);
    e.kernel_rule = r.rule;
    e.held = r.flags & SK_F_HELD;
    e.hold = r.hold;
    if (r.flags & SK_F_KILLED)
        e.kernel_action = KernelAction::Killed;
    else if (r.flags & SK_F_DENIED)
        e.kernel_action = KernelAction::Denied;
    return e;
}

// The peer or local address of a socket action; for AF_UNIX, the socket's path from the data.
NetAddress net_target(const sk_event& r, std::string_view unix_path) {
    NetAddress n;
    n.family = r.addr.family;
    n.port = r.addr.port;
    n.sotype = r.addr.sotype;
    std::memcpy(n.bytes, r.addr.addr, sizeof n.bytes);
    if (n.family == AF_UNIX && !unix_path.empty()) {
        if (unix_path.front() == '\0')
            n.unix_path = "@" + std::string(cstr(unix_path.substr(1)));  // abstract namespace
        else
            n.unix_path = cstr(unix_path);
    }
    return n;
}

// What runs besides the image: a `#!` script the kernel names, a dynamic loader's program.
void exec_targets(Event& e, const sk_event& r, std::string_view script) {
    e.script_exec = r.flags & SK_F_SCRIPT;
    if (e.script_exec && !script.empty() && !(r.flags & SK_F_TRUNC_PATH1))
        e.exec_script = resolve_exec_name(e.pid, e.cwd, std::string(cstr(script)));
    ScriptArgs interp = scripts_of(e.path, e.argv, r.flags & SK_F_TRUNC_ARGV);
    for (const auto& name : interp.candidates) e.interp_scripts.push_back(resolve_exec_name(e.pid, e.cwd, name));
    e.interp_undetermined = interp.undetermined;
    e.loader_exec = r.flags & SK_F_LOADER;
    if (e.loader_exec)
        if (auto prog = loader_program_arg(e.argv, r.flags & SK_F_TRUNC_ARGV))
            e.loader_program = resolve_exec_name(e.pid, e.cwd, *prog);
}

// Bytes a process wrote or read (pipes, sockets) or handed to a TLS library.
void io_fields(Event& e, const sk_event& r, std::string_view data) {
    e.io_write = r.arg0 != 0;
    e.fd = static_cast<int>(r.arg1);
    e.io_inode = r.arg2;
    e.io_data.assign(data.data(), data.size());
    e.io_more = r.flags & SK_F_IO_MORE;
    e.io_offset = e.io_more ? r.access : 0;
    e.access = 0;
    if (r.addr.family == AF_UNIX) std::memcpy(&e.io_peer_inode, r.addr.addr, sizeof e.io_peer_inode);
    if (e.action == Action::Tls) {
        e.tls_stack = r.access;
        e.tls_hello = r.arg0 == SK_TLS_HELLO;
        if (e.tls_hello) e.net = net_target(r, {});
    }
}

// Records about another process or object rather than a path of the caller's: a watched
// syscall, a signal, ptrace or bpf() aimed at something, a label passed through data.
void target_fields(Event& e, const sk_event& r, std::string_view seg0) {
    switch (e.action) {
    case Action::Syscall:
        e.syscall_nr = static_cast<uint32_t>(r.arg0);
        e.compat = r.arg1 & SK_SC_COMPAT;
        e.target_pid = static_cast<uint32_t>(r.arg2);
        if (r.seg_len[0]) e.path = assemble_path(seg0);  // open_by_handle_at: the file it opened
        break;
    case Action::Label:  // a pipe or socket has no path: named the way /proc/PID/fd names it
        e.detail = static_cast<uint32_t>(r.arg0);
        e.target_pid = static_cast<uint32_t>(r.arg1);
        e.io_inode = r.arg2;
        e.path = r.seg_len[0] ? assemble_path(seg0)
                              : (r.arg0 == SK_THROUGH_PIPE ? "pipe:[" : "socket:[") + std::to_string(r.arg2) + "]";
        break;
    default:  // signal, ptrace, bpf
        e.target_pid = e.action == Action::Bpf ? 0 : static_cast<uint32_t>(r.arg0);
        e.detail = static_cast<uint32_t>(e.action == Action::Bpf ? r.arg0 : r.arg1);
        break;
    }
}

}  // namespace

Event decode(const void* data, size_t size) {
    sk_event r = read_header(data, size);
    const char* base = static_cast<const char*>(data) + SK_EVENT_HDR_SIZE;
    std::string_view seg[4];
    size_t off = 0;
    // Segments are written in the order the probe filled them; their lengths say where each is.
    // The probe fills segments in this order: 0, 2 (for path 0), 1, 3 (for path 1), except exec:
    // 0 (image), 2 (argv), 3 (cwd). Both orders are "0, 2, 1, 3" in the data area.
    for (int i : {0, 2, 1, 3}) {
        seg[i] = std::string_view(base + off, r.seg_len[i]);
        off += r.seg_len[i];
    }

    Event e = common_fields(r);

    auto path_of = [&](int s, uint32_t rel_flag) {
        if (e.action == Action::Exec || !seg[s + 2].size()) return assemble_path(seg[s]);
        std::string_view name = cstr(seg[s + 2]);
        if (r.flags & rel_flag) return join_normalize(assemble_path(seg[s]), name);
        if (!seg[s].empty()) return assemble_path(seg[s]);
        // A name the program gave (the kernel resolved nothing for us): Bun renames and unlinks
        // through "/proc/self/fd/N/name" with N a directory it holds open.
        return through_fd_link(e.pid, join_normalize("/", name));
    };

    switch (e.action) {
    case Action::Exec:
        e.path = assemble_path(seg[0]);
        e.argv = split_argv(seg[2]);
        e.cwd = assemble_path(seg[3]);
        e.tls_held = r.flags & SK_F_TLS_HELD;
        exec_targets(e, r, seg[1]);
        break;
    case Action::Fork:
        e.child_start_ns = r.arg0;
        e.thread = r.flags & SK_F_THREAD;
        break;
    case Action::Exit:
        e.exit_signal = static_cast<int>(r.arg0);
        break;
    case Action::Connect: case Action::Bind: case Action::Listen: case Action::Accept: case Action::Send:
        e.net = net_target(r, seg[2]);
        e.fd = static_cast<int>(r.arg1);  // the socket (accept: the new one)
        break;
    case Action::Io: case Action::Tls:
        io_fields(e, r, seg[2]);
        break;
    case Action::CgroupMkdir:
        e.path = std::string(cstr(seg[2]));
        e.target_cgroup = r.arg0;
        break;
    case Action::Syscall: case Action::Signal: case Action::Ptrace: case Action::Bpf: case Action::Label:
        target_fields(e, r, seg[0]);
        break;
    case Action::Xattr:
        e.path = path_of(0, SK_F_REL_PATH0);
        e.path2 = cstr(seg[3]);  // the attribute's name, as written
        e.syscall_nr = static_cast<uint32_t>(r.arg0);
        break;
    case Action::Symlink:
        e.path = path_of(0, SK_F_REL_PATH0);
        e.path2 = cstr(seg[3]);  // the link's content, as written
        break;
    default:
        e.path = path_of(0, SK_F_REL_PATH0);
        if (r.seg_len[1] || r.seg_len[3]) e.path2 = path_of(1, SK_F_REL_PATH1);
        e.open_flags = static_cast<uint32_t>(r.arg0);
        e.mode = static_cast<uint32_t>(r.arg1);
        break;
    }
    return e;
}

}  // namespace stockade::probe
