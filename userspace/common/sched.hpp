// Scheduler requests: an EEVDF slice for a thread (SCHED_OTHER, Linux >= 6.12; no privilege).
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace stockade {

// Sets the slice of thread `tid` (0 = the caller) to `ns` (0 = the default). False on failure
// (errno says why).
bool set_sched_slice(pid_t tid, uint64_t ns);

}  // namespace stockade
