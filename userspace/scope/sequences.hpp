// Chained-action rules (boundary `sequences:`): labels attached to processes by what they did,
// inherited by their children, and the actions a labelled process may no longer take; and
// windowed counts ("more than N distinct secret files within T").
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/event.hpp"
#include "common/verdict.hpp"
#include "identity/process_table.hpp"
#include "policy/boundary.hpp"

namespace stockade::scope {

// One earlier step of a chain, as journaled when the label was attached.
struct Label {
    std::string sequence;  // rule id of the sequence
    uint64_t at_ns = 0;    // CLOCK_BOOTTIME of the labelling action
    std::string time;      // wall clock of its journal record
    uint64_t seq = 0;      // its journal record
    std::string hash;
    std::string step;      // "read /home/a/.env"
};

class SequenceTracker {
public:
    // Sequences whose `after` this (allowed) event satisfies.
    std::vector<const policy::SequenceRule*> labels_for(const policy::Boundary& b, const Event& e) const;

    void add_label(const identity::ProcessKey& k, Label l);
    const std::vector<Label>* labels(const identity::ProcessKey& k) const;
    void on_fork(const identity::ProcessKey& parent, const identity::ProcessKey& child);
    void on_exit(const identity::ProcessKey& k) { labels_.erase(k); }

    // A labelled process doing what its sequence forbids, or a count rule passing its limit.
    // Returns the violation (rule id = the sequence) and fills *chain with the earlier steps.
    std::optional<Verdict> check(const policy::Boundary& b, const identity::ProcessKey& k, const Event& e,
                                 uint64_t now_ns, std::string* chain);

    size_t labelled() const { return labels_.size(); }

private:
    std::map<identity::ProcessKey, std::vector<Label>, bool (*)(const identity::ProcessKey&, const identity::ProcessKey&)>
        labels_{[](const identity::ProcessKey& a, const identity::ProcessKey& b) {
            return a.pid != b.pid ? a.pid < b.pid : a.start_ticks < b.start_ticks;
        }};
    // count rules: (agent file + sequence id) -> recent (time, path) reads
    std::map<std::string, std::deque<std::pair<uint64_t, std::string>>> windows_;
};

// The decision for a sequence violation, by the boundary's mode and on_violation.
Verdict sequence_violation(const policy::Boundary& b, const policy::SequenceRule& s, std::string resolved);

}  // namespace stockade::scope
