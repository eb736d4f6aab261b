// decide(): connect, send, bind and listen.
#include <fnmatch.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "policy/judge.hpp"

namespace stockade::policy {

namespace {

std::string endpoint(const IpAddr& a, uint16_t port, const std::string& proto) {
    std::string s = a.family == AF_INET6 ? "[" + a.str() + "]" : a.str();
    s += ":" + std::to_string(port);
    return proto.empty() ? s : s + "/" + proto;
}

bool address_hit(const Boundary& b, const NetRule& r, const IpAddr& a) {
    return r.host.empty() ? r.cidr.contains(a) : b.host_table().contains(r.host, a);
}

// An allow needs the protocol confirmed; a deny also applies when the protocol is unknown, so
// a missing socket type can neither open nor close a hole.
bool protocol_hit(const NetRule& r, const std::string& proto, bool deny) {
    if (r.protocol == Protocol::Any) return true;
    if (proto.empty()) return deny;
    return proto == to_string(r.protocol);
}

const NetRule* first_hit(const Boundary& b, const std::vector<NetRule>& rules, const IpAddr& a, uint16_t port,
                         const std::string& proto, bool deny) {
    for (const auto& r : rules)
        if (r.matches_port(port) && protocol_hit(r, proto, deny) && address_hit(b, r, a)) return &r;
    return nullptr;
}

Verdict unix_socket(const Judge& j) {
    const std::string& p = j.e.net.unix_path;
    if (!p.empty() && p[0] == '/')
        if (auto v = never_hit(j, PathForms(j.e, p))) return *v;
    return j.allow(kUnixSocketId, "unix socket " + (p.empty() ? std::string("(unnamed)") : p) +
                                      " is allowed: only files.never applies to unix sockets");
}

Verdict connect(const Judge& j) {
    const NetAddress& n = j.e.net;
    IpAddr a = IpAddr::from_bytes(n.family, n.bytes).unmapped();
    std::string proto = n.protocol(), where = endpoint(a, n.port, proto);
    if (auto r = first_hit(j.b, j.b.network.deny, a, n.port, proto, true))
        return j.violation(r->id, r->where + " " + r->str() + " matched " + where);
    if (auto r = first_hit(j.b, j.b.network.connect, a, n.port, proto, false))
        return j.allow(r->id, r->where + " " + r->str() + " matched " + where);
    return j.default_deny("no network.connect rule matched " + where);
}

Verdict bind(const Judge& j) {
    uint16_t port = j.e.net.port;
    for (const auto& r : j.b.network.bind)
        if (r.ports.contains(port)) return j.allow(r.id, r.where + " " + r.ports.str() + " matched port " + std::to_string(port));
    return j.default_deny("no network.bind rule matched port " + std::to_string(port));
}

// A connect, send or bind that the kernel refused on this host before anything left (Landlock's
// EACCES, another LSM's EPERM, an address or route this host does not have) changed nothing: like
// a failed file syscall, an attempt (failed_syscalls: attempt), journaled with its errno and not
// killed. Not so a failure that may have put a packet on the wire (ECONNREFUSED, ETIMEDOUT,
// EHOSTUNREACH: a SYN left), nor stockade's own refusal in the kernel (already enforced there).
Verdict attempt_only(const Judge& j, Verdict v) {
    if (j.e.result >= 0 || v.inside() || j.b.failed_syscalls != FailedSyscalls::Attempt ||
        j.e.kernel_action != KernelAction::None)
        return v;
    int err = static_cast<int>(-j.e.result);
    switch (err) {
    case EACCES: case EPERM: case EADDRNOTAVAIL: case EAFNOSUPPORT: case ENETUNREACH: case EINVAL:
    case EBADF: case ENOTSOCK: case EADDRINUSE: break;
    default: return v;
    }
    const char* name = strerrorname_np(err);
    v.decision = Decision::Flag;
    v.resolved += std::string("; failed with ") + (name ? name : std::to_string(err).c_str()) +
                  " before anything was sent: an attempt (failed_syscalls: attempt)";
    return v;
}

}  // namespace

Verdict decide_network(const Judge& j) {
    const NetAddress& n = j.e.net;
    bool outbound = j.e.action == Action::Connect || j.e.action == Action::Send;
    if (j.e.action == Action::Listen && n.port == 0 && n.family != AF_UNIX)
        return j.allow(kAlwaysId, "listen without a port: bind already judged it");
    switch (n.family) {
    case AF_INET:
    case AF_INET6: return attempt_only(j, outbound ? connect(j) : bind(j));
    case AF_UNIX: return unix_socket(j);
    case AF_NETLINK: return j.allow(kAlwaysId, "netlink talks to the local kernel, not the network");
    case AF_UNSPEC:
        // send on a connected socket carries no address (its connect was judged); connect
        // with AF_UNSPEC dissolves an association.
        if (outbound) return j.allow(kAlwaysId, std::string(to_string(j.e.action)) + " without an address");
        break;
    default: break;
    }
    return j.default_deny("address family " + std::to_string(n.family) + " is not covered by network rules");
}

}  // namespace stockade::policy

// ---- MCP tool calls --------------------------------------------------------------------

namespace stockade::policy {

bool full_arguments(const Boundary& b, const std::string& server) {
    for (auto& r : b.mcp_tools)
        if (r.full_arguments && (r.server.empty() || fnmatch(r.server.c_str(), server.c_str(), 0) == 0)) return true;
    return false;
}

Verdict decide_tool(const Boundary& b, const std::string& server, const std::string& tool) {
    Verdict v;
    v.on_violation = b.on_violation;
    if (b.mcp_tools.empty()) {
        v.rule_id = "builtin:tools-not-judged";
        v.resolved = "the boundary has no tools.mcp rules";
        return v;
    }
    auto outside = [&](std::string rule, std::string why) {
        v.rule_id = std::move(rule);
        v.resolved = std::move(why);
        v.decision = violation_for(b);
        return v;
    };
    auto glob = [](const std::string& pattern, const std::string& s) {
        return fnmatch(pattern.c_str(), s.c_str(), 0) == 0;
    };
    const ToolRule* first = nullptr;
    for (auto& r : b.mcp_tools) {
        if (!r.server.empty() && !glob(r.server, server)) continue;
        if (!first) first = &r;
        for (auto& d : r.deny)
            if (glob(d, tool)) return outside(r.id, r.where + ".deny " + d + " matched tool " + tool);
    }
    for (auto& r : b.mcp_tools) {
        if (!r.server.empty() && !glob(r.server, server)) continue;
        for (auto& a : r.allow)
            if (glob(a, tool)) {
                v.rule_id = r.id;
                v.resolved = r.where + ".allow " + a + " matched tool " + tool;
                return v;
            }
    }
    if (!first) return outside(b.file_name + ":tools-default-deny", "no tools.mcp rule names server " + server);
    return outside(first->id, "no " + first->where + ".allow matched tool " + tool);
}

}  // namespace stockade::policy
