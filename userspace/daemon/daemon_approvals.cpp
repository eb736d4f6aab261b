// The control requests of on_violation: ask: `stockade approvals` (what waits), `stockade approve
// ID` and `stockade deny ID`. The decision itself is the judge's (judge/conclude.cpp decide());
// here the approver is identified (SO_PEERCRED pid, uid and executable, journaled with it) and
// refused when it is a process of any agent: an agent never approves an action, its own or another's.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <filesystem>

#include "common/cgroup.hpp"
#include "daemon/daemon.hpp"

namespace stockade::daemon {

namespace {

std::string object_of(const journal::Record& r) {
    if (!r.path.empty()) return r.path + (r.path2.empty() ? "" : " -> " + r.path2);
    return r.address + ":" + std::to_string(r.port);
}

std::string exe_of(uint32_t pid) {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
    return ec ? "?" : exe.string();
}

}  // namespace

// A process in a cgroup stockade made for an agent, or in an agent's cgroup, even one the kernel
// does not track (yet): not an approver either.
bool Daemon::in_agent_cgroup(uint32_t pid) const {
    std::string cg = cgroup::of_pid(static_cast<pid_t>(pid));
    if (cg.empty()) return false;
    auto under = [&](const std::string& dir) {
        return !dir.empty() && dir != "/" && (cg == dir || cg.rfind(dir + "/", 0) == 0);
    };
    if (under(cfg_.cgroup_base)) return true;
    for (auto& [id, a] : pipeline_->approvals().pending())
        if (under(a.record.cgroup)) return true;
    return false;
}

control::Response Daemon::handle_approvals(const control::Request& req, const ControlServer::Peer& peer) {
    control::Response resp;
    uint64_t now = boot_ns();
    if (req.op == "approvals") {
        std::vector<control::ApprovalInfo> out;
        for (auto& [id, a] : pipeline_->approvals().pending()) {
            control::ApprovalInfo i;
            i.id = id;
            i.agent = a.record.agent;
            i.task = a.record.task;
            i.action = a.record.action + (a.record.access.empty() ? "" : " " + a.record.access);
            i.object = object_of(a.record);
            i.rule = a.record.rule;
            i.pid = a.pid;
            i.exe = a.record.exe;
            i.age_ms = now > a.asked_ns ? (now - a.asked_ns) / 1'000'000 : 0;
            i.expires_in_ms = a.deadline_ns > now ? (a.deadline_ns - now) / 1'000'000 : 0;
            out.push_back(std::move(i));
        }
        resp.body = control::encode(out);
        return resp;
    }
    // approve | deny: root only, never an agent's process, and the approver is journaled.
    if (peer.uid != 0 || peer.pid == 0) {
        resp.ok = false;
        resp.error = "only root may " + req.op + " (the daemon could not identify this client as root)";
        return resp;
    }
    if (in_agent_cgroup(peer.pid)) {
        resp.ok = false;
        resp.error = "refused: pid " + std::to_string(peer.pid) + " runs in an agent's cgroup (" +
                     cgroup::of_pid(static_cast<pid_t>(peer.pid)) + "): an agent never decides an approval";
        journal_self("", peer.pid, "control", "control request \"" + req.op + "\" from an agent's cgroup refused");
        return resp;
    }
    std::string approver = "uid=" + std::to_string(peer.uid) + " pid=" + std::to_string(peer.pid) +
                           " exe=" + exe_of(peer.pid);
    std::string err = pipeline_->decide(req.approval, req.op == "approve", approver);
    if (!err.empty()) {
        resp.ok = false;
        resp.error = err;
    }
    return resp;
}

}  // namespace stockade::daemon
