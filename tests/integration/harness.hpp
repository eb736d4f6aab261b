// Shared pieces of the integration tests: a cgroup that removes itself, a child process that
// starts inside it, and an event collector.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/cgroup.hpp"
#include "common/event.hpp"
#include "probe/probe.hpp"

namespace sktest {

// A cgroup under the v2 root, named after this test run. Its destructor kills what is left in
// it (only processes this test put there) and removes it.
class TestCgroup {
public:
    explicit TestCgroup(const std::string& tag)
        : rel_("/stockade-test-" + std::to_string(getpid()) + "-" + tag), id_(stockade::cgroup::create(rel_)) {}
    ~TestCgroup() {
        stockade::cgroup::kill_all(rel_);
        stockade::cgroup::remove(rel_);
    }
    const std::string& rel() const { return rel_; }
    uint64_t id() const { return id_; }

private:
    std::string rel_;
    uint64_t id_;
};

// A child that joins `cg` before it execs argv (so even its exec is tracked).
class Child {
public:
    // Runs fn (then _exit(0)) in a forked child that joined `cg` first.
    Child(const TestCgroup& cg, const std::function<void()>& fn) {
        int gate[2];
        if (pipe2(gate, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
        pid_ = fork();
        if (pid_ == 0) {
            char c;
            close(gate[1]);
            if (read(gate[0], &c, 1) != 1) _exit(126);
            fn();
            _exit(0);
        }
        close(gate[0]);
        stockade::cgroup::move(cg.rel(), pid_);
        if (write(gate[1], "g", 1) != 1) throw std::runtime_error("gate");
        close(gate[1]);
    }
    Child(const TestCgroup& cg, std::vector<std::string> argv) {
        int gate[2];
        if (pipe2(gate, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
        pid_ = fork();
        if (pid_ == 0) {
            char c;
            close(gate[1]);
            if (read(gate[0], &c, 1) != 1) _exit(126);
            std::vector<char*> args;
            for (auto& a : argv) args.push_back(a.data());
            args.push_back(nullptr);
            execvp(args[0], args.data());
            _exit(127);
        }
        close(gate[0]);
        stockade::cgroup::move(cg.rel(), pid_);
        if (write(gate[1], "g", 1) != 1) throw std::runtime_error("gate");
        close(gate[1]);
    }
    ~Child() {
        if (pid_ > 0 && !reaped_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    pid_t pid() const { return pid_; }
    // Waits for the child; returns its wait status, or -1 on timeout (the child is then killed).
    int wait(int timeout_ms = 10000) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        while (std::chrono::steady_clock::now() < deadline) {
            int st = 0;
            pid_t r = waitpid(pid_, &st, WNOHANG);
            if (r == pid_) {
                reaped_ = true;
                return st;
            }
            usleep(2000);
        }
        return -1;
    }

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
};

struct Collector : stockade::probe::EventSink {
    std::vector<stockade::Event> events;
    std::vector<std::string> bad;
    void on_event(const stockade::Event& e) override { events.push_back(e); }
    void on_bad_record(const std::string& why) override { bad.push_back(why); }

    // Polls until pred holds on some event or the timeout passes.
    const stockade::Event* wait_for(stockade::probe::Probe& p, const std::function<bool(const stockade::Event&)>& pred,
                                    int timeout_ms = 3000) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        size_t seen = 0;
        do {
            for (; seen < events.size(); ++seen)
                if (pred(events[seen])) return &events[seen];
            p.poll(*this, 20);
        } while (std::chrono::steady_clock::now() < deadline || seen < events.size());
        return nullptr;
    }
    std::vector<stockade::Event> of_pid(uint32_t pid) const {
        std::vector<stockade::Event> out;
        for (auto& e : events)
            if (e.pid == pid) out.push_back(e);
        return out;
    }
};

}  // namespace sktest
