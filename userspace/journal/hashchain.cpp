#include "journal/hashchain.hpp"

#include "common/error.hpp"
#include "journal/json.hpp"

namespace stockade::journal {

std::string canonical_body(const Record& r) {
    Record copy = r;
    copy.hash.clear();
    return to_json_line(copy);
}

std::string compute_hash(const Record& r) { return sha256_hex(r.prev + canonical_body(r)); }

void seal(Record& r, const std::string& prev) {
    r.prev = prev;
    r.hash = compute_hash(r);
}

std::string seal_to_line(Record& r, const std::string& prev) {
    r.prev = prev;
    r.hash.clear();
    std::string line = to_json_line(r);
    r.hash = sha256_hex(prev + line);
    // "seq" (a number) and "prev" (hex) come first, so the first match is the hash field itself.
    constexpr std::string_view kEmptyHash = "\"hash\":\"\"";
    auto at = line.find(kEmptyHash);
    if (at == std::string::npos) throw Error("journal: a serialised record has no empty hash field");
    line.insert(at + kEmptyHash.size() - 1, r.hash);
    return line;
}

LineCheck check_line(std::string_view line) {
    LineCheck c;
    try {
        c.record = from_json_line(line);
    } catch (const Error& e) {
        c.status = LineStatus::Unparsable;
        c.why = e.what();
        return c;
    }
    // Hashing the re-serialised record is only sound if it is the stored line itself; anything
    // else (reordered keys, added fields, changed escapes) was not written by a Writer.
    if (to_json_line(c.record) != line) {
        c.status = LineStatus::NotCanonical;
        c.why = "the line is not in the writer's canonical form: it was edited";
        return c;
    }
    if (compute_hash(c.record) != c.record.hash) {
        c.status = LineStatus::HashMismatch;
        c.why = "hash mismatch: the record's content was edited after it was written";
    }
    return c;
}

}  // namespace stockade::journal
