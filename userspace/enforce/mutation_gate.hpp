// The daemon's side of the mutation filter (mutation_filter.hpp): the listeners of the agents
// `stockade run` launched. Each notification is read as the action it would be (the same Event
// the probes give after the syscall: paths resolved in the caller's view, through its cwd, its
// directory descriptors and its symlinks), judged, and answered: run on, or fail with an errno.
//
// What it cannot promise: a path is read from the caller's memory before the syscall runs, so a
// sibling thread that rewrites the buffer in between makes the kernel act on another path than
// the one judged. The probes still judge the syscall at its exit, as without the filter.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/event.hpp"

namespace stockade::enforce {

// A notification read as actions: none (nothing to judge: a signal aimed elsewhere), one, or
// two (renameat2 with RENAME_EXCHANGE moves both names).
struct Notice {
    int nr = -1;
    std::vector<Event> actions;
    int refuse_errno = 0;  // what a refused one fails with: EACCES for files, EPERM for the rest
};

// Who stockaded is, for signals, ptrace and pidfds aimed at it.
struct SelfIds {
    pid_t pid = 0, pgid = 0;
    bool is_thread(pid_t tid) const;  // a thread of stockaded
};

// Reads one notification of thread `tid` (syscall `nr`, arguments `args`) as actions. Memory is
// read with process_vm_readv, descriptors and the cwd through /proc/TID.
Notice read_notice(pid_t tid, int nr, const uint64_t args[6], const SelfIds& self);

class MutationGate {
public:
    // Returns 0 to let the syscall run, or the errno it fails with.
    using Judge = std::function<int(const Notice& n, const std::string& agent, const std::string& task)>;

    explicit MutationGate(Judge judge);
    ~MutationGate();
    MutationGate(const MutationGate&) = delete;
    MutationGate& operator=(const MutationGate&) = delete;

    // Takes over `listener` (closed when its last agent process is gone).
    void adopt(int listener, std::string agent, std::string task);
    // The same for the listener that process `pid` holds as descriptor `fd` (pidfd_getfd: the
    // launcher hands it over without a socket). Throws stockade::Error.
    void adopt_from(pid_t pid, int fd, std::string agent, std::string task);
    void add_pollfds(std::vector<pollfd>& fds);
    // After poll(): `ready` points at what add_pollfds() appended.
    void serve(const pollfd* ready);
    size_t listeners() const { return gates_.size(); }
    uint64_t answered() const { return answered_; }
    uint64_t refused() const { return refused_; }

private:
    struct Gate {
        int fd = -1;
        std::string agent, task;
    };
    void answer_one(const Gate& g);

    Judge judge_;
    SelfIds self_;
    std::vector<Gate> gates_;
    size_t polled_ = 0;  // gates_ add_pollfds() gave to poll (adopt() may add more before serve())
    std::vector<char> buf_;  // a seccomp_notif, sized by the kernel
    uint64_t answered_ = 0, refused_ = 0;
};

}  // namespace stockade::enforce
