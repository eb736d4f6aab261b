// What the judge stage needs from the outside world; the daemon wires real kills and the journal,
// unit tests a recording fake.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/event.hpp"
#include "journal/record.hpp"

namespace stockade::judge {

// What the kernel says of a process it held for a verdict (bpf/hold.bpf.h).
struct HoldInfo {
    enum State { None, Held, Released, Broken } state = None;
    uint64_t holds = 0;    // the number of its last hold
    uint32_t breaker = 0;  // Broken: the process that released it (0: no daemon was there)
};

struct Actuator {
    std::function<bool(uint32_t pid, uint64_t start_ns, std::string& err)> kill_process;
    std::function<bool(const std::string& cgroup, std::string& err)> kill_cgroup;
    std::function<void(journal::Record&)> journal;                   // appends (fills chain fields)
    std::function<std::string(uint32_t kernel_rule)> kernel_rule_id;  // "" if unknown
    std::function<uint64_t()> now_boot_ns;                            // CLOCK_BOOTTIME
    // Tells the kernel a process carries a sequence's label (optional: tests may leave it empty).
    std::function<void(uint32_t pid, const std::string& sequence_id, uint32_t through)> label_process;
    // The kernel tracked a cgroup made with an agent's unit or cgroup name (optional).
    std::function<void(const std::string& path, uint32_t agent_id, uint64_t cgroup_id)> cgroup_created;
    // Holds (optional: without them a held process is never released, so tests of holds set all
    // three): the kernel's state of a held process, its release (SIGCONT for hold number `hold`),
    // and forgetting a broken hold once journaled.
    std::function<HoldInfo(uint32_t pid)> hold_state;
    std::function<bool(uint32_t pid, uint64_t start_ns, uint16_t hold, std::string& err)> release_hold;
    std::function<void(uint32_t pid)> forget_hold;
    // Refuses a held process's connect after the fact: shuts its socket `fd` down (pidfd_getfd),
    // so the process, once released, finds it closed before it sent a byte (optional).
    std::function<bool(uint32_t pid, uint64_t start_ns, int fd, std::string& err)> refuse_connect;
    // A rename or link broke a files.never rule and is about to be killed for it; the file has a
    // new name by now (the syscall ran): the kernel keeps it out under every name from here on,
    // before the kill lets the agent's next command run (optional).
    std::function<void(const Event& e, const std::string& agent, const std::string& rule)> keep_never;
};

}  // namespace stockade::judge
