// The hash chain that makes the journal tamper-evident (docs/journal-format.md, "Chain"):
//   canonical body = to_json_line(record with hash = "")
//   hash           = lowercase hex SHA-256 of (prev || canonical body)
// where prev is the previous record's hash as its 64 ASCII hex characters ("" for the first
// record of a brand-new journal). prev is also inside the body; hashing it in front as well
// keeps the definition independent of the JSON layout.
#pragma once

#include <string>
#include <string_view>

#include "common/digest.hpp"
#include "journal/record.hpp"

namespace stockade::journal {

// Lowercase hex SHA-256 (common/digest.hpp), the chain's hash.
using stockade::sha256_hex;

// to_json_line of `r` with its hash field emptied.
std::string canonical_body(const Record& r);

// The hash `r` must carry given its own prev field.
std::string compute_hash(const Record& r);

// Sets r.prev = prev and r.hash accordingly.
void seal(Record& r, const std::string& prev);

// seal(), returning the stored line too: the record is serialised once, as its canonical body,
// and the hash is then written into that body's empty "hash" field.
std::string seal_to_line(Record& r, const std::string& prev);

// One stored line checked on its own (its links to neighbours are the verifier's business).
enum class LineStatus {
    Ok,
    Unparsable,    // not JSON, or a field missing or mistyped
    NotCanonical,  // parses, but is not byte for byte what the writer would have written
    HashMismatch,  // its hash does not match its content: the record was edited
};
struct LineCheck {
    LineStatus status = LineStatus::Ok;
    Record record;    // valid unless Unparsable
    std::string why;  // empty when Ok
};
LineCheck check_line(std::string_view line);

}  // namespace stockade::journal
