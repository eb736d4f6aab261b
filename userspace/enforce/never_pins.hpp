// Never files the agent renamed or linked (the daemon killed it for that): kept out of the agent's
// reach under every name by their inode (kernel_plan.hpp, PinnedInode). Each pin holds the file
// open (O_PATH): were the file deleted and its inode number given to a new file, that file would
// be killed for. A pin whose file has no name left is dropped (drop_gone). At most `max` are
// kept: the oldest goes first.
//
// A dropped or evicted pin's descriptor must stay open until kernel tables without it are in
// force: both calls hand it back in a Released, which closes it when it goes out of scope.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "enforce/kernel_plan.hpp"

namespace stockade::enforce {

class NeverPins {
public:
    static constexpr size_t kMaxPinned = 4096;

    // Descriptors of pins out of the list, closed on destruction.
    class Released {
    public:
        Released() = default;
        Released(Released&& o) noexcept : fds_(std::move(o.fds_)) { o.fds_.clear(); }
        Released& operator=(Released&&) = delete;
        Released(const Released&) = delete;
        ~Released();
        bool empty() const { return fds_.empty(); }
        size_t size() const { return fds_.size(); }
        const std::vector<int>& fds() const { return fds_; }

    private:
        friend class NeverPins;
        std::vector<int> fds_;
    };

    explicit NeverPins(size_t max = kMaxPinned) : max_(max) {}
    ~NeverPins();
    NeverPins(const NeverPins&) = delete;
    NeverPins& operator=(const NeverPins&) = delete;

    // Pins the file `name` names, looked up under `root` first (a process's /proc/PID/root: a
    // container's view), then as it is. False when neither names a file. A pin evicted to make
    // room goes to `evicted`.
    bool pin(const std::string& root, const std::string& name, const std::string& agent, const std::string& rule,
             Released& evicted);
    // The pins whose file has no name left, out of the list.
    Released drop_gone();

    const std::vector<PinnedInode>& pinned() const { return pinned_; }

private:
    size_t max_;
    std::vector<PinnedInode> pinned_;  // oldest first
    std::vector<int> fds_;             // an O_PATH descriptor of each
};

}  // namespace stockade::enforce
