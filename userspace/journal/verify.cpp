#include "journal/verify.hpp"

#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "journal/files.hpp"
#include "journal/hashchain.hpp"

namespace stockade::journal {

const char* to_string(Problem p) {
    switch (p) {
    case Problem::Unparsable: return "unparsable line";
    case Problem::Edited: return "edited";
    case Problem::BrokenLink: return "broken link";
    case Problem::SeqGap: return "seq gap";
    case Problem::TornTail: return "torn tail";
    }
    return "?";
}

namespace {

struct Chain {
    VerifyResult result;
    std::optional<std::string> prev_hash;  // unknown before the first record
    std::optional<uint64_t> prev_seq;

    void fail(const std::string& file, uint64_t line, uint64_t seq, Problem p, std::string why) {
        result.ok = false;
        if (!result.broken) result.broken = BrokenRecord{file, line, seq, p, std::move(why)};
    }

    // Why `r` does not follow the previous record, or "" if it does.
    std::optional<std::pair<Problem, std::string>> link_problem(const Record& r) const {
        auto s = [](uint64_t v) { return std::to_string(v); };
        if (!prev_hash) {  // the first record we see
            if (r.seq == 1 && !r.prev.empty())
                return std::pair{Problem::BrokenLink, "seq 1 must have an empty prev"};
            if (r.seq != 1 && r.prev.empty())
                return std::pair{Problem::BrokenLink,
                                 "seq " + s(r.seq) + " has an empty prev: only seq 1 may start a chain"};
            return std::nullopt;
        }
        if (r.prev != *prev_hash) {
            if (r.seq > *prev_seq + 1)
                return std::pair{Problem::BrokenLink, "prev does not match the previous record (seq " +
                                                          s(*prev_seq) + "): records " + s(*prev_seq + 1) +
                                                          ".." + s(r.seq - 1) + " were removed"};
            if (r.seq <= *prev_seq)
                return std::pair{Problem::BrokenLink, "prev does not match the previous record: seq " +
                                                          s(r.seq) + " follows seq " + s(*prev_seq) +
                                                          " (records reordered or inserted)"};
            return std::pair{Problem::BrokenLink,
                             "prev does not match the previous record (seq " + s(*prev_seq) +
                                 "): a record before this one was replaced, inserted or removed"};
        }
        if (r.seq != *prev_seq + 1)
            return std::pair{Problem::SeqGap, "seq " + s(r.seq) + " follows seq " + s(*prev_seq)};
        return std::nullopt;
    }

    void check_file(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw Error("Cannot read the journal file " + path + ".");
        ++result.files;
        std::string line;
        uint64_t n = 0;
        bool first_in_file = true;
        while (std::getline(in, line)) {
            ++n;
            bool torn = in.eof();  // getline stopped at end of file, not at a newline
            LineCheck c = check_line(line);
            if (c.status != LineStatus::Unparsable) ++result.records;
            uint64_t seq = c.status == LineStatus::Unparsable ? 0 : c.record.seq;
            if (torn) {
                fail(path, n, seq, Problem::TornTail,
                     "the last line (" + std::to_string(line.size()) +
                         " bytes) has no newline: a write torn by a crash");
            } else if (c.status == LineStatus::Unparsable) {
                fail(path, n, 0, Problem::Unparsable, c.why);
            } else if (c.status != LineStatus::Ok) {
                fail(path, n, seq, Problem::Edited, c.why);
            } else if (auto p = link_problem(c.record)) {
                fail(path, n, seq, p->first, p->second);
            }
            if (c.status == LineStatus::Unparsable) {
                prev_hash.reset();  // nothing to link the next record to
                prev_seq.reset();
                continue;
            }
            const Record& r = c.record;
            if (first_in_file && is_rotated_file(path) && rotated_name("", r.seq) !=
                                                              path.substr(path.size() - 21))
                result.notes.push_back(path + " is named for a different first seq than its first "
                                              "record (" + std::to_string(r.seq) + ")");
            if (result.records == 1) {
                result.first_seq = r.seq;
                if (r.seq != 1)
                    result.notes.push_back("the journal starts at seq " + std::to_string(r.seq) +
                                           ": older records were retired by rotation (or this is "
                                           "one file); the link before it cannot be checked");
            }
            first_in_file = false;
            prev_hash = r.hash;
            prev_seq = r.seq;
            result.last_seq = r.seq;
            result.last_hash = r.hash;
        }
        if (in.bad()) throw Error("Error while reading the journal file " + path + ".");
    }
};

}  // namespace

VerifyResult verify_files(const std::vector<std::string>& files) {
    Chain chain;
    for (auto& f : files) chain.check_file(f);
    return chain.result;
}

VerifyResult verify(const std::string& path) {
    std::string live = resolve_live_path(path);
    std::error_code ec;
    if (is_rotated_file(live) && std::filesystem::is_regular_file(live, ec)) return verify_files({live});
    auto files = journal_files(live);
    if (files.empty()) throw Error("There is no journal at " + path + ".");
    return verify_files(files);
}

}  // namespace stockade::journal
