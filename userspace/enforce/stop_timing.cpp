#include "enforce/stop_timing.hpp"

namespace stockade::enforce {
namespace {

using stockade::Mode;
using stockade::OnViolation;

const char* kLandlockFiles = "outside the directories the boundary allows: Landlock refuses it (EACCES/EXDEV) "
                             "before it happens; inside them (files.never, globs) as without Landlock";

const char* kGateFiles = "refused before it happens (EACCES) by the seccomp gate, which holds the syscall until the "
                         "daemon has judged it with every rule, files.never and globs included, then kills as "
                         "on_violation says (--no-seccomp: as "
                         "without stockade run); Landlock also refuses what is outside the allowed directories";

// The judge of a kind of action: the kernel's table, or the daemon while the kernel holds.
// `by_daemon`: some of the agent's rules of that kind are globs (or name no file yet), which
// only the daemon can match.
std::string judged(bool by_daemon, const std::string& where) {
    return by_daemon ? "killed " + where + " by the kernel's table for exact and directory rules, or held (SIGSTOP) "
                           "there until the daemon's verdict for the others, then killed there"
                     : "killed " + where + " by the kernel's table";
}

// A TLS stack stockade has no uprobe for: only its ClientHello is seen.
StopLine unseen_tls_line(policy::UnseenTls u) {
    StopLine l{"HTTPS request (other TLS stacks)", StopWhen::After, "", ""};
    if (u == policy::UnseenTls::Deny) {
        l.when = StopWhen::AtExit;
        l.how = "killed at the exit of the ClientHello's write (builtin:unseen-tls): the hello has left, no request";
    } else {
        l.how = u == policy::UnseenTls::Flag ? "its ClientHello is journaled as flag (tools.http_unseen_tls: flag)"
                                             : "not seen (tools.http_unseen_tls: allow)";
    }
    return l;
}

std::vector<StopLine> enforce_lines(const policy::Boundary& b, const AgentKernelState& k) {
    std::vector<StopLine> out;
    if (!b.exec.allow.empty() || !b.exec.deny.empty())
        out.push_back({"exec", StopWhen::Before,
                       judged(k.user_exec, "at exec") + ": the new image never runs one instruction", ""});
    if (!b.exec.allow.empty() || !b.exec.deny.empty())
        out.push_back({"exec of the dynamic loader as a program, of a #! script, of an interpreter given a script "
                       "(sh SCRIPT)",
                       StopWhen::Before,
                       "held (SIGSTOP) at exec until the daemon has judged the loader's program (builtin:loader-exec "
                       "when its arguments do not say) or the script's path, then killed there: neither runs one "
                       "instruction (scripts: with exec.deny rules)",
                       ""});
    out.push_back({"file read", StopWhen::AtExit,
                   judged(k.user_file, "at the open's exit") + ": the descriptor is never used, no byte read",
                   kLandlockFiles});
    out.push_back({"file write, create, delete, rename, link", StopWhen::AtExit,
                   judged(k.user_file, "at the syscall's exit") +
                       ": an opened file is never written, but a file created, renamed, linked or removed stays so",
                   kGateFiles});
    out.push_back({"chmod, chown, truncate, xattr", StopWhen::AtExit,
                   judged(k.user_file, "at the syscall's exit") + ": the change stays made", kGateFiles});
    out.push_back({"connect, sendto", StopWhen::Before,
                   "refused by the cgroup socket hooks (EPERM): no packet leaves, the process carries on", ""});
    if (!b.http_tools.empty()) {
        out.push_back({"HTTPS request (OpenSSL)", StopWhen::Before,
                       judged(!k.http_strict, "at the SSL_write uprobe") + ": nothing is encrypted or sent", ""});
        out.push_back({"HTTPS request (Go crypto/tls, with tls_go)", StopWhen::Before,
                       judged(!k.http_strict, "at the (*Conn).Write uprobe") + ": nothing is encrypted or sent", ""});
        out.push_back(unseen_tls_line(b.unseen_tls));
        out.push_back({"plaintext HTTP request", StopWhen::AtExit,
                       judged(!k.http_strict, "at the write's exit") +
                           ": the request has left, the response is never read",
                       ""});
    }
    if (!b.mcp_tools.empty())
        out.push_back({"MCP tools/call", StopWhen::Before,
                       "the server is killed (exact denied names) or held at the read that delivers the call: "
                       "the call never runs",
                       ""});
    if (!b.sequences.empty())
        out.push_back({"sequence (its last step)", StopWhen::AtExit,
                       "held at the last step's syscall exit until the daemon's verdict; a connect after a read "
                       "the kernel labels is refused before it happens (EPERM), also by a process of the agent "
                       "that read a pipe, socket or file a labelled process wrote (through:)",
                       ""});
    if (!b.io_uring)
        out.push_back({"io_uring", StopWhen::AtExit,
                       "killed at io_uring_setup's exit: the ring exists, nothing was ever submitted", ""});
    return out;
}

// on_violation: ask: what the default deny would stop is held for a person instead; explicit deny
// rules stop as before. `stockade run` applies no Landlock file or connect rules to it.
void ask_lines(std::vector<StopLine>& lines) {
    for (auto& l : lines) {
        bool connect = l.action == "connect, sendto", exec = l.action == "exec";
        if (!connect && !exec && l.action.rfind("file ", 0) != 0) continue;
        l.how = std::string(connect ? "a connect outside network.connect is held at its exit (handshake done, no "
                                      "byte sent); a sendto is refused (EPERM)"
                                    : "outside the allow lists: held there") +
                " until stockade approve (runs on) or deny (" + (connect ? "socket shut down, the process carries on"
                                                                         : "killed there") +
                ") or approval_timeout; explicit deny rules: killed/refused as with kill";
        l.launched.clear();
    }
}

}  // namespace

std::vector<StopLine> stop_timing(const policy::Boundary& b, const AgentKernelState& k) {
    auto lines = enforce_lines(b, k);
    if (b.mode == Mode::Enforce && b.on_violation != OnViolation::Flag) {
        if (b.on_violation == OnViolation::Ask) ask_lines(lines);
        if (b.on_violation == OnViolation::KillAgent)
            lines.push_back({"the rest of the agent", StopWhen::AtExit,
                             "after a violation, every other process of the agent is killed at its next "
                             "syscall's exit (then cgroup.kill)",
                             ""});
        return lines;
    }
    // Monitor mode or on_violation: flag: the kernel refuses and kills nothing (Landlock, which
    // `stockade run` applies in any mode, still refuses what is outside the allowed directories).
    std::string why = b.mode == Mode::Monitor ? "monitor mode: journaled as would-deny, nothing is stopped"
                                              : "on_violation: flag: journaled as flag, nothing is stopped";
    for (auto& l : lines) {
        l.when = StopWhen::After;
        l.how = why;
        if (l.launched == kGateFiles) l.launched.clear();  // the gate refuses only in enforce mode
    }
    return lines;
}

const char* to_string(StopWhen w) {
    switch (w) {
    case StopWhen::Before:
        return "before it happens";
    case StopWhen::AtExit:
        return "at the syscall's exit";
    case StopWhen::After:
        return "not stopped";
    }
    return "?";
}

std::string format_stop_timing(const std::vector<StopLine>& lines, const std::string& indent) {
    std::string s;
    for (auto& l : lines) {
        s += indent + l.action + ": " + to_string(l.when) + " (" + l.how + ")\n";
        if (!l.launched.empty()) s += indent + "  under stockade run: " + l.launched + "\n";
    }
    return s;
}

}  // namespace stockade::enforce
