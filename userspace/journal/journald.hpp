// Copies journal records to the systemd journal. This is the outside anchor of the hash chain:
// journald holds STOCKADE_SEQ/STOCKADE_HASH pairs that someone able to rewrite (and re-chain)
// our file cannot change there. Best effort: never throws, never blocks an append on failure.
#pragma once

#include <string_view>

#include <cstdint>
#include <string>

#include "journal/record.hpp"

namespace stockade::journal {

// True when journald is reachable: $JOURNAL_STREAM is set or /run/systemd/journal/socket exists.
bool journald_available();

// Sends one record with structured fields (STOCKADE_AGENT, STOCKADE_VERDICT, STOCKADE_RULE,
// STOCKADE_ACTION, STOCKADE_PATH, STOCKADE_SEQ, STOCKADE_HASH, PRIORITY, MESSAGE, ...), and
// `line`, the record's line exactly as the journal file stores it, as STOCKADE_RECORD: a copy
// collected elsewhere (systemd-journal-remote) is then verifiable with `stockade verify`.
void mirror_to_journald(const Record& r, std::string_view line = {});

// Sends only the chain head (used when a Writer closes or rotates a file).
void mirror_chain_head(const std::string& journal_path, uint64_t seq, const std::string& hash);

}  // namespace stockade::journal
