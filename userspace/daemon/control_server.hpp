// The control socket, served from the daemon's main loop without ever blocking it: every
// connection is non-blocking and advanced as its bytes arrive, has a deadline, and there are
// at most kMaxConnections at once (the oldest still-silent one makes room for a new one), so
// neither idle clients nor a crowd keep the operator from an answer.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "control/protocol.hpp"

namespace stockade::daemon {

class ControlServer {
public:
    // Who is at the other end (SO_PEERCRED, at connect): the daemon tells agents from operators.
    struct Peer {
        uint32_t uid = ~0u;
        uint32_t pid = 0;
    };
    // The answer, or nullopt to answer later with complete(ticket, ...) (a reload: the loop does
    // not wait for the boundary files to be read).
    using Handler =
        std::function<std::optional<control::Response>(const control::Request&, const Peer& peer, uint64_t ticket)>;

    static constexpr size_t kMaxConnections = 64;
    static constexpr size_t kMaxRequestBytes = 64 * 1024;
    static constexpr std::chrono::milliseconds kDeadline{2000};  // to send the request and read the answer
    static constexpr std::chrono::milliseconds kDeferredDeadline{60000};  // for an answer given later

    // Binds `path` (0660 root:`socket_group`). Throws stockade::Error.
    ControlServer(std::string path, const std::string& socket_group, Handler handler);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Appends what to wait for (the listening socket, then each connection) to `fds`.
    void add_pollfds(std::vector<pollfd>& fds) const;
    // After poll(): `ready` points at the entries add_pollfds() appended. Accepts, reads,
    // answers and writes what is ready, and closes what is done or past its deadline.
    void serve(const pollfd* ready);
    size_t connections() const { return conns_.size(); }
    // The answer for a request the handler deferred; nothing if its client has gone.
    void complete(uint64_t ticket, const control::Response& resp);
    // When the socket's name is gone or is another file (an agent unlinked or replaced it; the
    // kernel kills it only after the call), binds a new listening socket there, keeping the
    // connections in progress. Returns whether it did. Throws stockade::Error if the bind fails.
    bool rebind_if_gone();

private:
    struct Conn {
        int fd = -1;
        Peer peer;
        std::string in, out;
        size_t sent = 0;
        uint64_t ticket = 0;
        bool waiting = false;  // the handler deferred the answer
        std::chrono::steady_clock::time_point accepted, deadline;
        bool answered() const { return !out.empty(); }
    };
    void accept_new();
    bool read_request(Conn& c);  // false: close it
    bool write_answer(Conn& c);  // false: close it (done or failed)
    void answer(Conn& c);
    void close_conn(Conn& c);

    int bind_listener();  // unlinks path_, binds and listens there, sets bound_ino_

    std::string path_;
    std::string group_;
    Handler handler_;
    int listen_fd_ = -1;
    ino_t bound_ino_ = 0;  // the inode of the socket file bind() made
    uint64_t next_ticket_ = 0;
    uint64_t handling_ = 0;                      // the ticket the handler is answering now
    std::optional<control::Response> early_;     // complete() for it, before the handler returned
    std::vector<Conn> conns_;
};

}  // namespace stockade::daemon
