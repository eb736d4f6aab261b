#include "enforce/mutation_gate.hpp"

#include <linux/seccomp.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "enforce/mutation_filter.hpp"

namespace stockade::enforce {

namespace {

void respond(int fd, uint64_t id, int err) {
    seccomp_notif_resp resp{};
    resp.id = id;
    if (err) {
        resp.error = -err;
    } else {
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    }
    // ENOENT: the caller was interrupted (a signal) and will make the syscall again, or died.
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 && errno != ENOENT)
        spdlog::warn("seccomp notification {}: answer failed: {}", id, std::strerror(errno));
}

}  // namespace

MutationGate::MutationGate(Judge judge) : judge_(std::move(judge)) {
    self_.pid = getpid();
    self_.pgid = getpgrp();
    seccomp_notif_sizes sizes{};
    size_t want = sizeof(seccomp_notif);
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0 && sizes.seccomp_notif > want)
        want = sizes.seccomp_notif;
    buf_.resize(want);
}

MutationGate::~MutationGate() {
    for (auto& g : gates_) close(g.fd);
}

void MutationGate::adopt(int listener, std::string agent, std::string task) {
    gates_.push_back({listener, std::move(agent), std::move(task)});
}

void MutationGate::adopt_from(pid_t pid, int fd, std::string agent, std::string task) {
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) throw Error("pidfd_open(" + std::to_string(pid) + "): " + std::strerror(errno));
    int listener = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
    int err = errno;
    close(pidfd);
    if (listener < 0)
        throw Error("the launcher's seccomp listener (pidfd_getfd " + std::to_string(fd) + "): " + std::strerror(err));
    adopt(listener, std::move(agent), std::move(task));
}

void MutationGate::add_pollfds(std::vector<pollfd>& fds) {
    polled_ = gates_.size();
    for (auto& g : gates_) fds.push_back({g.fd, POLLIN, 0});
}

void MutationGate::serve(const pollfd* ready) {
    std::vector<Gate> keep;
    for (size_t i = 0; i < gates_.size(); ++i) {
        if (i >= polled_) {  // adopted since add_pollfds(): polled next turn
            keep.push_back(gates_[i]);
            continue;
        }
        // POLLIN first: a notification and the hang-up of the agent's last process can come
        // together, and that notification still waits for its answer.
        if (ready[i].revents & POLLIN) answer_one(gates_[i]);
        if (ready[i].revents & (POLLHUP | POLLERR | POLLNVAL)) {
            close(gates_[i].fd);  // every process under this filter has ended
            continue;
        }
        keep.push_back(gates_[i]);
    }
    gates_ = std::move(keep);
    polled_ = 0;
}

void MutationGate::answer_one(const Gate& g) {
    std::memset(buf_.data(), 0, buf_.size());
    auto* req = reinterpret_cast<seccomp_notif*>(buf_.data());
    // ENOENT: the notification was withdrawn (its caller was interrupted) between poll and here.
    if (ioctl(g.fd, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) return;
    uint64_t args[6];
    for (int i = 0; i < 6; ++i) args[i] = req->data.args[i];
    Notice n = read_notice(static_cast<pid_t>(req->pid), req->data.nr, args, self_);
    // What was read is the caller's only while it still waits in this syscall (its pid and
    // memory could belong to another process by now).
    uint64_t id = req->id;
    if (ioctl(g.fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) return;
    int err = n.actions.empty() ? 0 : judge_(n, g.agent, g.task);
    ++answered_;
    if (err) ++refused_;
    respond(g.fd, req->id, err);
}

}  // namespace stockade::enforce
