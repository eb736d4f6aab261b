#include "probe/format.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace stockade::probe {

std::string format_event(const Event& e) {
    std::string head = fmt::format("{:>7} {:>7} {:<8} {:<16}", e.pid, e.ppid, to_string(e.action), e.comm);
    std::string body;
    switch (e.action) {
    case Action::Exec: {
        std::string args;
        for (auto& a : e.argv) args += (args.empty() ? "" : " ") + a;
        body = fmt::format("{} [{}] cwd={}", e.path, args, e.cwd);
        break;
    }
    case Action::Fork:
        body = fmt::format("child={}{}", e.result, e.thread ? " (thread)" : "");
        break;
    case Action::Exit:
        body = e.exit_signal ? fmt::format("signal={}", e.exit_signal) : fmt::format("code={}", e.result);
        break;
    case Action::Connect: case Action::Bind: case Action::Listen: case Action::Accept: case Action::Send:
        body = fmt::format("{} {}:{} result={}", e.net.protocol(), e.net.address(), e.net.port, e.result);
        break;
    case Action::Signal: case Action::Ptrace:
        body = fmt::format("target={} detail={} result={}", e.target_pid, e.detail, e.result);
        break;
    case Action::Bpf:
        body = fmt::format("cmd={} result={}", e.detail, e.result);
        break;
    case Action::Syscall:
        body = fmt::format("{}{} target={} result={} {}", e.compat ? "i386 " : "", e.syscall_nr, e.target_pid,
                           e.result, e.path);
        break;
    case Action::Xattr:
        body = fmt::format("{} attr={} nr={} result={}", e.path, e.path2, e.syscall_nr, e.result);
        break;
    case Action::Io: case Action::Tls: {
        // The first line of what was written or read, control bytes shown as '.'.
        std::string line = e.io_data.substr(0, std::min<size_t>(e.io_data.find('\n'), 100));
        for (auto& c : line)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '.';
        body = fmt::format("{} {} bytes: {}", e.io_write ? "write" : "read", e.result, line);
        break;
    }
    default:
        body = e.path;
        if (!e.path2.empty()) body += " -> " + e.path2;
        if (e.access) body += " " + access_string(e.access);
        body += fmt::format(" result={}", e.result);
        break;
    }
    if (e.kernel_action == KernelAction::Killed) body += " [killed in kernel]";
    if (e.kernel_action == KernelAction::Denied) body += " [denied in kernel]";
    if (e.truncated) body += " [truncated]";
    return head + " " + body;
}

}  // namespace stockade::probe
