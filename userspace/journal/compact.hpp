// Allowed decisions are most of a journal with `journal_allowed: full` (a coding agent makes
// thousands of opens a second), and each used to repeat its process's whole context. The writer
// keeps that context on the first record of each process (exec_id) in a journal file, and on
// every record that is not an allowed decision; later allowed decisions of the same process in
// the same file carry only what is new. A reader joins them on exec_id (docs/journal-format.md).
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "journal/record.hpp"

namespace stockade::journal {

// What an allowed decision leaves out once its process's context is in the file.
struct ProcessContext {
    std::string exe;
    std::vector<std::string> argv;
    std::string cgroup;
    uint32_t ppid = 0;
    uint32_t uid = 0;
    std::string resolved;
    bool taken = false;
};

class ContextOnce {
public:
    // Moves out of `r` what an earlier record of the same process in this file already holds
    // (nothing for other records, which then hold the context for the records after them).
    ProcessContext take_known(Record& r);
    // Puts back what take_known moved out.
    static void put_back(Record& r, ProcessContext&& c);
    // A new journal file: it holds no context yet.
    void new_file() { written_.clear(); }
    // The record `r` (not compacted) starts its process's context in this file.
    void note_written(const Record& r);

private:
    static constexpr size_t kMaxProcesses = 1 << 16;  // then start over: contexts are written again
    std::unordered_set<std::string> written_;
};

// Readers put the context back: an allowed decision without one takes it from a record of the
// same process (exec_id) that has it, which the writer put earlier in the same file.
bool lacks_context(const Record& r);
bool has_context(const Record& r);
void copy_context(const Record& from, Record& to);

// For readers that go forward through the journal (tail -f): the context of each process seen.
class ContextJoin {
public:
    // Learns r's context, or fills r in from what was learnt.
    void apply(Record& r);

private:
    static constexpr size_t kMaxProcesses = 1 << 16;
    std::unordered_map<std::string, Record> known_;  // exec_id -> a record holding its context
};

}  // namespace stockade::journal
