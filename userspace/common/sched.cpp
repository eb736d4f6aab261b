#include "common/sched.hpp"

#include <sys/syscall.h>
#include <unistd.h>

namespace stockade {

bool set_sched_slice(pid_t tid, uint64_t ns) {
    struct {  // struct sched_attr (uapi), not in glibc 2.36's headers
        uint32_t size, policy;
        uint64_t flags;
        int32_t nice;
        uint32_t priority;
        uint64_t runtime, deadline, period;
        uint32_t util_min, util_max;
    } attr{};
    attr.size = sizeof attr;
    attr.policy = 0;  // SCHED_OTHER
    attr.runtime = ns;
    return syscall(SYS_sched_setattr, tid, &attr, 0) == 0;
}

}  // namespace stockade
