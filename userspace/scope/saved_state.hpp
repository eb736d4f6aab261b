// What a restarted stockaded restores, saved under `state_dir` (daemon-state.json) each time it
// changes: the agents' kernel ids (the pinned tables and tracked processes are keyed by them)
// and the tasks with their grants. Written atomically (a temporary file renamed over the old
// one), so a crash leaves the old state or the new one, never a mix. Valid for one boot: task
// times are CLOCK_BOOTTIME and the pins do not survive a reboot either.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scope/tasks.hpp"

namespace stockade::scope {

struct SavedState {
    std::string boot_id;                          // /proc/sys/kernel/random/boot_id when saved
    std::map<std::string, uint32_t> agent_ids;    // agent name -> kernel id
    std::vector<scope::SavedTask> tasks;
    std::vector<std::string> rule_ids;            // kernel rule number n is rule_ids[n - 1]
};

std::string current_boot_id();

std::string encode_state(const SavedState& s);
// Throws stockade::Error naming the file and what is wrong with it.
SavedState decode_state(const std::string& text, const std::string& file);

// Writes `s` to dir/daemon-state.json atomically (temporary file, fsync, rename). Throws Error.
void save_state(const std::string& dir, const SavedState& s);
// The state saved in this boot, or nullopt (none, or from another boot: said in the log).
// A file that does not parse is reported and set aside (renamed *.bad), never fatal.
std::optional<SavedState> load_state(const std::string& dir);

}  // namespace stockade::scope
