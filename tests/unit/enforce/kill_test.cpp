// Userspace kills on an own child: no privileges needed. Every child is reaped, whatever
// happens to the assertions (Child's destructor).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <optional>

#include "enforce/kill.hpp"
#include "identity/procfs.hpp"

using namespace stockade;

namespace {

constexpr uint64_t kNsPerTick = 10'000'000;

// A child that sleeps until killed.
class Child {
public:
    Child() {
        pid_ = fork();
        if (pid_ == 0) {
            for (;;) pause();
        }
        REQUIRE(pid_ > 0);
    }
    ~Child() {
        if (pid_ > 0 && !reaped_) {
            kill(pid_, SIGKILL);
            int st;
            while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
            }
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }

    // True while the child runs (not exited, not a zombie); never blocks.
    bool running() {
        int st;
        pid_t r = waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            status_ = st;
        }
        return r == 0;
    }

    // Blocks until the child ends; returns its wait status.
    int wait() {
        if (!reaped_) {
            int st = 0;
            pid_t r;
            while ((r = waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
            }
            REQUIRE(r == pid_);
            reaped_ = true;
            status_ = st;
        }
        return status_;
    }

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    int status_ = 0;
};

}  // namespace

TEST_CASE("kill_process refuses a process whose start time does not match", "[kill]") {
    Child c;
    std::optional<uint64_t> start = identity::read_proc_start(static_cast<uint32_t>(c.pid()));
    REQUIRE(start);
    CHECK(*start > 0);

    SECTION("a later start time") {
        auto r = enforce::kill_process(static_cast<uint32_t>(c.pid()), *start + 100 * kNsPerTick);
        CHECK_FALSE(r.ok);
        CHECK(r.error.find("another process") != std::string::npos);
    }
    SECTION("an earlier start time, one tick off") {
        auto r = enforce::kill_process(static_cast<uint32_t>(c.pid()), *start - kNsPerTick);
        CHECK_FALSE(r.ok);
    }
    SECTION("start time 0") {
        auto r = enforce::kill_process(static_cast<uint32_t>(c.pid()), 0);
        CHECK_FALSE(r.ok);
    }
    CHECK(c.running());

    // Our own kill, by pid, to show the child was alive and killable all along.
    REQUIRE(kill(c.pid(), SIGKILL) == 0);
    int st = c.wait();
    CHECK(WIFSIGNALED(st));
    CHECK(WTERMSIG(st) == SIGKILL);
}

TEST_CASE("kill_process with the right start time kills the process", "[kill]") {
    Child c;
    std::optional<uint64_t> start = identity::read_proc_start(static_cast<uint32_t>(c.pid()));
    REQUIRE(start);

    // Any start time within the same tick names the same process.
    auto r = enforce::kill_process(static_cast<uint32_t>(c.pid()), *start + kNsPerTick / 2);
    INFO(r.error);
    REQUIRE(r.ok);
    CHECK(r.error.empty());
    int st = c.wait();
    CHECK(WIFSIGNALED(st));
    CHECK(WTERMSIG(st) == SIGKILL);
}

TEST_CASE("kill_process of a pid that cannot exist fails", "[kill]") {
    auto r = enforce::kill_process(4'700'000, 0);  // above PID_MAX_LIMIT
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("4700000") != std::string::npos);
}

TEST_CASE("kill_cgroup refuses the root cgroup", "[kill]") {
    CHECK_FALSE(enforce::kill_cgroup("").ok);
    CHECK_FALSE(enforce::kill_cgroup("/").ok);
    CHECK(enforce::kill_cgroup("/").error.find("root") != std::string::npos);
}
