// Reading the journal for `stockade tail`: the last N matching records, then following new
// ones across rotation. Readers never lock: lines are appended whole, so a reader sees either
// a complete line or (briefly, or after a crash) a line without its newline, which it skips.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "journal/record.hpp"

namespace stockade::journal {

struct Filter {
    std::optional<std::string> agent, task;
    std::optional<Verdict> verdict;
    std::optional<std::chrono::system_clock::time_point> since;  // records at or after
    bool matches(const Record& r) const;
};

// The last `n` records matching `filter`, oldest first, searched from the live file back
// through its rotated siblings. `path` is the live file or a directory (see
// resolve_live_path). Lines that do not parse are skipped (verify reports them). An allowed
// decision stored without its process's context gets it back from the earlier record of the
// same process in its file (compact.hpp), as does each record follow() delivers.
std::vector<Record> read_last(const std::string& path, size_t n, const Filter& filter);

// Calls on_record for each matching record appended from now on, in order, following the live
// file across rotation (polling every 100 ms). Returns when on_record or keep_going returns
// false. With after_seq, first delivers the already-stored records with a greater seq, so that
// read_last() followed by follow(..., last_seq) misses nothing in between.
void follow(const std::string& path, const Filter& filter,
            std::function<bool(const Record&)> on_record, std::function<bool()> keep_going,
            std::optional<uint64_t> after_seq = std::nullopt);

}  // namespace stockade::journal
