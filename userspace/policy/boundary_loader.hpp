// Reading the boundary files happens here, on a thread of its own, never in the loop that
// drains the ring buffer and beats the kernel's heartbeat: a large or slow agents_dir (or a slow
// disk) would otherwise stall the judging of every event, and with the heartbeat late, enforce
// agents' undecided actions fail closed. The loop installs what was read (daemon.cpp).
//
// Requests made while a read is under way are merged into the next one (an operator's request
// stays an operator's; every waiting control connection gets the one answer), so a burst of
// edits or SIGHUPs costs one more read, not one per request.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "policy/load.hpp"

namespace stockade::policy {

class BoundaryLoader {
public:
    struct Job {
        std::string why;                 // "SIGHUP", "control socket", "boundary files changed"
        bool explicit_request = false;   // an operator's: may remove agents
        bool sighup = false;             // systemd waits for READY=1 after RELOADING=1
        std::vector<uint64_t> tickets;   // control connections waiting for the outcome
    };
    struct Done {
        Job job;
        policy::LoadResult result;
        double read_ms = 0;  // reading and checking the files, on the loader's thread
    };

    explicit BoundaryLoader(std::string agents_dir);
    ~BoundaryLoader();
    BoundaryLoader(const BoundaryLoader&) = delete;
    BoundaryLoader& operator=(const BoundaryLoader&) = delete;

    void request(Job job);
    // Readable (POLLIN) when a read has finished; take() then returns it and clears it.
    int fd() const { return event_fd_; }
    std::optional<Done> take();
    bool busy() const;

private:
    void work();

    std::string agents_dir_;
    int event_fd_ = -1;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::optional<Job> pending_;
    bool reading_ = false, stop_ = false;
    std::optional<Done> done_;
    std::thread worker_;
};

}  // namespace stockade::policy
