// Actions waiting for a person (on_violation: ask): the kernel holds the process (bpf/hold.bpf.h)
// while the action waits here under an approval id; `stockade approve ID` releases it, `stockade
// deny ID` or the boundary's approval_timeout refuses it (judge/conclude.cpp decide()). Pure
// bookkeeping: no kernel, no clock of its own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "journal/record.hpp"

namespace stockade::judge {

struct Approval {
    uint64_t id = 0;
    uint32_t pid = 0;
    uint64_t start_ns = 0;     // with pid: the process
    uint16_t hold = 0;         // the kernel's hold number for this action
    int socket_fd = -1;        // a held connect: the socket a deny shuts down (refuse), else -1
    uint64_t asked_ns = 0;     // CLOCK_BOOTTIME when queued
    uint64_t deadline_ns = 0;  // denied when the clock passes it
    journal::Record record;    // the `ask` record: what, who, which rule
};

class ApprovalQueue {
public:
    static constexpr size_t kMaxPending = 1024;  // more: the action is denied at once (see conclude)

    // Queues `a` under a fresh id (ids are never reused while the daemon runs) and returns it;
    // 0 when the queue is full.
    uint64_t add(Approval a);
    const std::map<uint64_t, Approval>& pending() const { return pending_; }
    // Removes and returns approval `id`, if pending.
    std::optional<Approval> take(uint64_t id);
    // The ids whose deadline is at or before `now_ns`, oldest first.
    std::vector<uint64_t> expired(uint64_t now_ns) const;
    // Whether the process (pid, start) has an action still waiting.
    bool waiting(uint32_t pid, uint64_t start_ns) const;
    // Removes and returns every approval of the process (pid, start): it ended.
    std::vector<Approval> take_process(uint32_t pid, uint64_t start_ns);

private:
    std::map<uint64_t, Approval> pending_;
    uint64_t next_id_ = 1;
};

}  // namespace stockade::judge
