// Where the daemon joins stages that do not know each other: scope's task grants become the
// kernel tables' overlays.
#pragma once

#include <cstdint>
#include <vector>

#include "enforce/kernel_tables.hpp"
#include "scope/tasks.hpp"

namespace stockade::daemon {

std::vector<enforce::KernelOverlay> kernel_overlays(const scope::TaskRegistry& tasks, uint64_t now);

}  // namespace stockade::daemon
