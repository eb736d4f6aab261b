// Checks a journal's hash chain (docs/journal-format.md, "Verifying"). Detects edited,
// removed, reordered and inserted records and torn lines, as long as the attacker did not
// recompute the chain from the damage onwards; the chain head in journald is the anchor
// against that and against truncating the newest records.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stockade::journal {

enum class Problem {
    Unparsable,   // not a journal record at all
    Edited,       // the hash does not match the content (or the line is not canonical)
    BrokenLink,   // prev is not the previous record's hash: removed, reordered or inserted
    SeqGap,       // links correctly but seq does not increase by one
    TornTail,     // the last line of a file has no newline
};
const char* to_string(Problem p);

struct BrokenRecord {
    std::string file;
    uint64_t line = 0;  // 1-based line in that file
    uint64_t seq = 0;   // 0 if the line does not parse
    Problem problem = Problem::Unparsable;
    std::string why;    // one sentence
};

struct VerifyResult {
    bool ok = true;
    uint64_t records = 0;  // lines that parsed
    uint64_t files = 0;
    uint64_t first_seq = 0, last_seq = 0;
    std::string last_hash;               // the chain head: compare with STOCKADE_HASH in journald
    std::optional<BrokenRecord> broken;  // the first broken record
    std::vector<std::string> notes;      // true but not failures (e.g. older files retired)
};

// `path` may be the live file or a directory (the whole journal: rotated siblings in order,
// then the live file, links across files checked) or a rotated file (that file alone).
// Throws stockade::Error if there is nothing to verify or a file cannot be read.
VerifyResult verify(const std::string& path);

// Verifies exactly these files as consecutive parts of one journal.
VerifyResult verify_files(const std::vector<std::string>& files);

}  // namespace stockade::journal
