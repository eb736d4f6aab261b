// The only code that writes the journal. One Writer per journal (a lock file enforces it).
// append() hands each record to the kernel with a single write(2) on an O_APPEND descriptor:
// when it returns the record is in the page cache and survives the daemon being SIGKILLed;
// what survives a power loss depends on the fsync policy (docs/journal-format.md, Durability).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "journal/files.hpp"
#include "journal/compact.hpp"
#include "journal/record.hpp"

namespace stockade::journal {

enum class FsyncPolicy {
    EveryRecord,  // fdatasync before every append returns
    Interval,     // a background thread fdatasyncs dirty data within fsync_interval
    Never,        // leave it to kernel writeback (tests, tmpfs)
};

enum class MirrorPolicy { Off, UnlessAllow, All };  // which records go to journald too

struct WriterOptions {
    std::string path = "/var/log/stockade/journal.jsonl";
    uint64_t max_bytes = 64ull << 20;             // rotate before exceeding; 0 = never by size
    std::chrono::seconds max_age{24 * 3600};      // rotate on the first append after; 0 = never
    size_t keep = 10;                             // rotated files kept; older ones are deleted
    FsyncPolicy fsync = FsyncPolicy::Interval;
    std::chrono::milliseconds fsync_interval{200};
    bool fsync_unless_allow = true;  // Interval: also fdatasync before returning from append()
                                     // for any record whose verdict is not "allow"
    std::string group = "stockade";  // group owner of the files; "" = leave ownership alone
    MirrorPolicy mirror = MirrorPolicy::UnlessAllow;
};

class Writer {
public:
    // Opens (creating if needed) the journal and recovers a torn tail (see the docs). Throws
    // stockade::Error if the journal cannot be opened or another Writer holds it.
    explicit Writer(WriterOptions options);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    // Fills seq, prev, hash, and time/host/mono_ns when empty, writes the record, returns its
    // seq. Thread-safe. Throws stockade::Error if the record could not be written (then nothing
    // of it is in the journal and its seq is not used).
    uint64_t append(Record& r);

    // fdatasync now.
    void sync();

    uint64_t last_seq() const;
    std::string last_hash() const;
    const std::string& path() const { return opt_.path; }

private:
    void open_live();
    std::optional<Record> recover();  // returns the "torn" record to append, if any
    Record set_aside(uint64_t from, const std::string& why);
    void read_first_record();
    void adopt_group(int fd, const std::string& path);
    bool should_rotate(size_t line_len, std::chrono::system_clock::time_point now) const;
    void rotate();
    void apply_retention();
    void flusher();

    WriterOptions opt_;
    std::string host_;
    detail::Fd lock_;
    mutable std::mutex mu_;
    std::shared_ptr<detail::Fd> file_;  // shared with the flusher while it syncs
    uint64_t size_ = 0;                 // bytes in the live file as we wrote them
    uint64_t first_seq_ = 0;            // seq of the live file's first record (0 = empty)
    std::chrono::system_clock::time_point born_{};  // time of the live file's first record
    std::chrono::steady_clock::time_point next_rotate_try_{};
    uint64_t last_seq_ = 0;
    std::string last_hash_;
    bool damaged_ = false;  // a failed write left bytes we could not truncate yet
    ContextOnce context_;   // processes whose context the live file holds (compact.hpp)
    bool group_warned_ = false;

    // Interval fsync.
    std::condition_variable cv_;
    bool dirty_ = false, stop_ = false;
    std::chrono::steady_clock::time_point last_sync_{};
    std::thread flusher_;
};

}  // namespace stockade::journal
