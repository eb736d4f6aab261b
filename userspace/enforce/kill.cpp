#include "enforce/kill.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/cgroup.hpp"
#include "identity/procfs.hpp"

namespace stockade::enforce {

namespace {
constexpr uint64_t kNsPerTick = 10'000'000;

struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

// Sends `sig` (with `info`, or none) to the process (pid, start_ns), never to a recycled pid.
KillResult signal_process(uint32_t pid, uint64_t start_ns, int sig, siginfo_t* info) {
    Fd pidfd{static_cast<int>(syscall(SYS_pidfd_open, pid, 0))};
    if (pidfd.fd < 0) return {false, "pidfd_open(" + std::to_string(pid) + "): " + std::strerror(errno)};
    // The pidfd now refers to whichever process holds the pid; make sure it is ours.
    uint64_t st = identity::read_proc_start(pid).value_or(0);
    if (st / kNsPerTick != start_ns / kNsPerTick)
        return {false, "pid " + std::to_string(pid) + " now belongs to another process"};
    if (syscall(SYS_pidfd_send_signal, pidfd.fd, sig, info, 0) != 0)
        return {false, "pidfd_send_signal(" + std::to_string(pid) + "): " + std::strerror(errno)};
    return {true, ""};
}
}  // namespace

KillResult kill_process(uint32_t pid, uint64_t start_ns) { return signal_process(pid, start_ns, SIGKILL, nullptr); }

KillResult continue_process(uint32_t pid, uint64_t start_ns, uint16_t hold) {
    siginfo_t si{};
    si.si_signo = SIGCONT;
    si.si_code = SI_QUEUE;  // a queued signal: the kernel passes si_value to signal_generate
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = hold;
    return signal_process(pid, start_ns, SIGCONT, &si);
}

KillResult shut_down_socket(uint32_t pid, uint64_t start_ns, int fd) {
    Fd pidfd{static_cast<int>(syscall(SYS_pidfd_open, pid, 0))};
    if (pidfd.fd < 0) return {false, "pidfd_open(" + std::to_string(pid) + "): " + std::strerror(errno)};
    uint64_t st = identity::read_proc_start(pid).value_or(0);
    if (st / kNsPerTick != start_ns / kNsPerTick)
        return {false, "pid " + std::to_string(pid) + " now belongs to another process"};
    Fd sock{static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.fd, fd, 0))};
    if (sock.fd < 0)
        return {false, "pidfd_getfd(" + std::to_string(pid) + ", " + std::to_string(fd) + "): " + std::strerror(errno)};
    // Shut down, not closed: the descriptor stays the process's, the connection is gone for both.
    if (::shutdown(sock.fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
        return {false, "shutdown of fd " + std::to_string(fd) + " of pid " + std::to_string(pid) + ": " +
                           std::strerror(errno)};
    return {true, ""};
}

KillResult kill_cgroup(const std::string& rel) {
    if (rel.empty() || rel == "/") return {false, "refusing to kill the root cgroup"};
    if (!cgroup::kill_all(rel)) return {false, "cgroup.kill of " + rel + ": " + std::strerror(errno)};
    return {true, ""};
}

}  // namespace stockade::enforce
