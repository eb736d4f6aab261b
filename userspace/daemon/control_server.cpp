#include "daemon/control_server.hpp"

#include <grp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace stockade::daemon {

using Clock = std::chrono::steady_clock;

ControlServer::ControlServer(std::string path, const std::string& socket_group, Handler handler)
    : path_(std::move(path)), group_(socket_group), handler_(std::move(handler)) {
    listen_fd_ = bind_listener();
}

int ControlServer::bind_listener() {
    ::unlink(path_.c_str());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    // A deep backlog: a burst of clients waits in the kernel for the next loop turn instead of
    // being refused.
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, SOMAXCONN) != 0) {
        std::string why = std::strerror(errno);
        if (fd >= 0) ::close(fd);
        throw Error("control socket " + path_ + ": " + why);
    }
    gid_t gid = 0;
    if (group* g = ::getgrnam(group_.c_str())) gid = g->gr_gid;
    if (::chown(path_.c_str(), 0, gid) != 0 || ::chmod(path_.c_str(), 0660) != 0)
        spdlog::warn("control socket permissions: {}", std::strerror(errno));
    struct stat sb {};
    bound_ino_ = ::stat(path_.c_str(), &sb) == 0 ? sb.st_ino : 0;
    return fd;
}

bool ControlServer::rebind_if_gone() {
    struct stat sb {};
    if (::stat(path_.c_str(), &sb) == 0 && S_ISSOCK(sb.st_mode) && sb.st_ino == bound_ino_) return false;
    int fd = bind_listener();  // throws, and then the old socket stays (reachable by no name)
    ::close(listen_fd_);
    listen_fd_ = fd;
    return true;
}

ControlServer::~ControlServer() {
    for (auto& c : conns_) ::close(c.fd);
    ::close(listen_fd_);
    ::unlink(path_.c_str());
}

void ControlServer::add_pollfds(std::vector<pollfd>& fds) const {
    fds.push_back({listen_fd_, POLLIN, 0});
    for (auto& c : conns_)
        fds.push_back({c.fd, static_cast<short>(c.waiting ? 0 : c.answered() ? POLLOUT : POLLIN), 0});
}

void ControlServer::serve(const pollfd* ready) {
    // Connections first (in the order add_pollfds() listed them), then new ones.
    auto now = Clock::now();
    std::vector<Conn> keep;
    keep.reserve(conns_.size());
    for (size_t i = 0; i < conns_.size(); ++i) {
        Conn& c = conns_[i];
        short ev = ready[i + 1].revents;
        bool open = true;
        if (c.waiting) open = !(ev & (POLLHUP | POLLERR));  // its client gave up
        else if (ev & (POLLIN | POLLHUP | POLLERR) && !c.answered()) open = read_request(c);
        if (open && c.answered() && (ev & (POLLOUT | POLLHUP | POLLERR) || c.sent == 0)) open = write_answer(c);
        if (open && now >= c.deadline) {
            spdlog::debug("control: connection of uid {} dropped at its deadline, {}", c.peer.uid,
                          c.waiting ? "its answer not ready" : c.answered() ? "not reading its answer" : "no complete request");
            open = false;
        }
        if (open) keep.push_back(std::move(c));
        else close_conn(c);
    }
    conns_ = std::move(keep);
    if (ready[0].revents & POLLIN) accept_new();
}

void ControlServer::accept_new() {
    // At most a connection limit's worth per turn: a crowd cannot hold up the main loop.
    for (size_t n = 0; n < kMaxConnections; ++n) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) return;
        if (conns_.size() >= kMaxConnections) {
            // Full: the oldest connection that has not sent its request yet goes (silent
            // clients are what fills the table); if all have, the newcomer is refused.
            auto oldest = conns_.end();
            for (auto it = conns_.begin(); it != conns_.end(); ++it)
                if (!it->answered() && !it->waiting && (oldest == conns_.end() || it->accepted < oldest->accepted)) oldest = it;
            if (oldest == conns_.end()) {
                ::close(fd);
                continue;
            }
            spdlog::warn("control: {} connections open; dropping the oldest silent one (uid {})", kMaxConnections,
                         oldest->peer.uid);
            close_conn(*oldest);
            conns_.erase(oldest);
        }
        Conn c;
        c.fd = fd;
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {  // else: no privilege, no pid
            c.peer.uid = cred.uid;
            c.peer.pid = static_cast<uint32_t>(cred.pid);
        }
        c.accepted = Clock::now();
        c.deadline = c.accepted + kDeadline;
        // Most clients have sent their request by now: answer at once rather than a turn later.
        if (read_request(c) && (!c.answered() || write_answer(c))) conns_.push_back(std::move(c));
        else close_conn(c);
    }
}

bool ControlServer::read_request(Conn& c) {
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(c.fd, buf, sizeof buf);
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        if (n == 0) {  // the client finished writing: what came is the request, or nothing
            if (c.in.empty()) return false;
            answer(c);
            return true;
        }
        c.in.append(buf, static_cast<size_t>(n));
        if (c.in.find('\n') != std::string::npos) {
            answer(c);
            return true;
        }
        if (c.in.size() > kMaxRequestBytes) {
            control::Response r;
            r.ok = false;
            r.error = "request longer than " + std::to_string(kMaxRequestBytes) + " bytes";
            c.out = control::encode(r) + "\n";
            return true;
        }
    }
}

void ControlServer::answer(Conn& c) {
    std::optional<control::Response> resp;
    c.ticket = handling_ = ++next_ticket_;
    early_.reset();
    try {
        resp = handler_(control::decode_request(c.in.substr(0, c.in.find('\n'))), c.peer, c.ticket);
    } catch (const Error& e) {
        resp = control::Response{};
        resp->ok = false;
        resp->error = e.what();
    }
    handling_ = 0;
    if (!resp && early_) resp = std::move(early_);  // deferred, then completed at once (a refusal)
    early_.reset();
    if (!resp) {
        c.waiting = true;
        c.deadline = Clock::now() + kDeferredDeadline;
        return;
    }
    c.out = control::encode(*resp) + "\n";
}

void ControlServer::complete(uint64_t ticket, const control::Response& resp) {
    if (ticket == handling_) {
        early_ = resp;
        return;
    }
    for (auto it = conns_.begin(); it != conns_.end(); ++it) {
        if (!it->waiting || it->ticket != ticket) continue;
        it->waiting = false;
        it->out = control::encode(resp) + "\n";
        it->deadline = Clock::now() + kDeadline;  // to read it
        return;  // sent by the next serve() (conns_ keeps its order: the poll entries match it)
    }
}

bool ControlServer::write_answer(Conn& c) {
    while (c.sent < c.out.size()) {
        ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
            spdlog::debug("control reply: {}", std::strerror(errno));
            return false;
        }
        c.sent += static_cast<size_t>(n);
    }
    return false;  // all sent: done
}

void ControlServer::close_conn(Conn& c) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
}

}  // namespace stockade::daemon
