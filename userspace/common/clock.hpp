// CLOCK_BOOTTIME in ns: the clock of the kernel's event timestamps (bpf_ktime_get_boot_ns).
#pragma once

#include <time.h>

#include <cstdint>

namespace stockade {

inline uint64_t boot_ns() {
    timespec ts{};
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

}  // namespace stockade
