#include "common/event.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

namespace stockade {

std::string_view to_string(Action a) {
    switch (a) {
    case Action::Exec: return "exec";
    case Action::Fork: return "fork";
    case Action::Exit: return "exit";
    case Action::Open: return "open";
    case Action::Unlink: return "unlink";
    case Action::Rename: return "rename";
    case Action::Mkdir: return "mkdir";
    case Action::Rmdir: return "rmdir";
    case Action::Chmod: return "chmod";
    case Action::Xattr: return "xattr";
    case Action::Label: return "label";
    case Action::Truncate: return "truncate";
    case Action::Link: return "link";
    case Action::Symlink: return "symlink";
    case Action::Connect: return "connect";
    case Action::Bind: return "bind";
    case Action::Listen: return "listen";
    case Action::Accept: return "accept";
    case Action::Send: return "send";
    case Action::Signal: return "signal";
    case Action::Ptrace: return "ptrace";
    case Action::Bpf: return "bpf";
    case Action::Io: return "io";
    case Action::Tls: return "tls";
    case Action::CgroupMkdir: return "cgroup";
    case Action::Syscall: return "syscall";
    }
    return "unknown";
}

std::string access_string(uint32_t access) {
    static constexpr std::pair<uint32_t, const char*> names[] = {
        {kRead, "read"}, {kWrite, "write"}, {kCreate, "create"}, {kTruncate, "truncate"}, {kAppend, "append"},
        {kPath, "path"}};
    std::string out;
    for (auto [bit, name] : names) {
        if (access & bit) {
            if (!out.empty()) out += '+';
            out += name;
        }
    }
    return out;
}

std::string NetAddress::address() const {
    char buf[INET6_ADDRSTRLEN] = {};
    switch (family) {
    case AF_INET: return inet_ntop(AF_INET, bytes, buf, sizeof buf) ? buf : "";
    case AF_INET6: return inet_ntop(AF_INET6, bytes, buf, sizeof buf) ? buf : "";
    case AF_UNIX: return unix_path;
    default: return "";
    }
}

std::string NetAddress::protocol() const {
    if (family == AF_UNIX) return "unix";
    if (family != AF_INET && family != AF_INET6) return "";
    if (sotype == SOCK_STREAM) return "tcp";
    if (sotype == SOCK_DGRAM) return "udp";
    return "";
}

}  // namespace stockade
