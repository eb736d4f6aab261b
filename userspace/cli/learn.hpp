// Learning a boundary from the journal (`stockade suggest`) and trying a candidate boundary
// on what was recorded (`stockade replay`). docs/fleet.md, "From monitor to enforce".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/event.hpp"
#include "common/verdict.hpp"
#include "journal/record.hpp"
#include "policy/boundary.hpp"

namespace stockade::cli {

struct SuggestOptions {
    std::string agent, since, task, journal, boundary, output;
};
struct ReplayOptions {
    std::string boundary, journal, since, agent;
};

namespace learn {

// How often and when something was seen (times as the journal stores them).
struct Seen {
    uint64_t count = 0;
    std::string first, last;
    void add(const std::string& time, uint64_t n = 1);
    void merge(const Seen& o);
};

struct NetKey {  // one destination as recorded
    std::string address, protocol, hostname;
    uint16_t port = 0;
    auto operator<=>(const NetKey&) const = default;
};

// What an agent did, by the access each action needs (docs/boundary.md, "How an action is judged").
struct Observed {
    std::map<std::string, Seen> read, write, create, remove, exec;
    std::map<NetKey, Seen> connect;
    std::map<uint16_t, Seen> bind;
    uint64_t records = 0;   // decision records used
    uint64_t skipped = 0;   // paths that cannot be written as a pattern
    uint64_t violations = 0;  // records not learned: violations of a deny rule or in enforce mode,
                              // self-protection (learnable())
    uint64_t counted = 0;   // allowed actions journaled only as summaries (not itemised)
    void add(const journal::Record& r);
};

// Whether a decision record may widen a suggested boundary: allowed actions, and what ran outside
// the boundary only because no rule allowed it yet (`default-deny` in monitor mode or flagged).
// Never a violation of a deny rule (files.never, exec.deny, network.deny, sequences, tools),
// nothing stopped in enforce mode, never self-protection. A failed attempt outside the boundary
// (a flag) is learned like what monitor mode let run: it is what the agent does.
bool learnable(const journal::Record& r);

// "read+write+create" -> Access bits.
uint32_t access_bits(const std::string& access);

// A pattern and what it covers.
struct Rule {
    std::string pattern;
    Seen seen;
    size_t paths = 1;  // distinct paths folded into it
};

// Directories to fold into `dir/**`: every directory with at least `min_files` paths used
// directly in it, never "/" nor a top-level directory (/etc, /tmp, /home ...), never below
// /proc, /sys or /dev. Nothing is ever wider than a directory that was actually used.
std::set<std::string> fold_dirs(const std::map<std::string, Seen>& paths, size_t min_files = 3);

// Paths folded into the highest directory of `dirs` above them; the rest stay exact.
// Patterns are escaped (`*`, `?`, `[` become classes). Sorted by pattern.
std::vector<Rule> fold(const std::map<std::string, Seen>& paths, const std::set<std::string>& dirs);

// `path` as a pattern matching exactly it.
std::string escape_pattern(const std::string& path);

struct SuggestInput {
    std::string agent, journal, since, task;
    const policy::Boundary* current = nullptr;  // --boundary: match and system_read copied
    size_t min_files = 3;
};

// The boundary YAML (mode: enforce) that allows everything in `seen`, with a comment on each
// rule saying how often and when it was seen.
std::string suggest_yaml(const Observed& seen, const SuggestInput& in);

// The journal record as the event that produced it; nullopt for actions decide() does not
// judge from a record (signal, ptrace, bpf) or an unknown action.
std::optional<Event> event_from_record(const journal::Record& r);

struct ReplayChange {
    journal::Record record;
    bool was_allowed = false;
    Verdict now;
};

struct ReplayResult {
    uint64_t judged = 0, skipped = 0, counted = 0;
    std::map<std::string, std::pair<uint64_t, uint64_t>> by_rule;  // rule -> (allowed, violations)
    std::vector<ReplayChange> changes;
    size_t newly_denied() const;
};

// Re-decides every decision record with `b`. Records decided by a task grant or confinement
// or by self-protection are skipped: decide() alone does not reproduce them. Host rules match
// the addresses the records show for that host name.
ReplayResult replay(const policy::Boundary& b, const std::vector<journal::Record>& records);

}  // namespace learn
}  // namespace stockade::cli
