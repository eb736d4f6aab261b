// Where the files of one journal live and small POSIX helpers shared by the writer, the
// verifier and the readers. A journal is the live file (e.g. journal.jsonl) plus its rotated
// siblings "<live>.<seq of their first record, 20 digits>", which sort in journal order.
// "<live>.torn.<unix-seconds>" (set-aside torn tails) and "<live>.lock" are not part of it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stockade::journal {

// "<live>.<first_seq zero-padded to 20 digits>"
std::string rotated_name(const std::string& live, uint64_t first_seq);

// True if the file name ends in ".<20 digits>".
bool is_rotated_file(std::string_view path);

// The rotated siblings of `live`, oldest first (empty if the directory does not exist).
std::vector<std::string> rotated_files(const std::string& live);

// Rotated siblings then the live file if it exists: the journal in order.
std::vector<std::string> journal_files(const std::string& live);

// A path an operator gave: a directory is replaced by the live file of the journal in it
// ("journal.jsonl" if present, else the only *.jsonl journal); anything else is returned as is.
// Throws stockade::Error if a directory holds no journal or several.
std::string resolve_live_path(const std::string& path_or_dir);

namespace detail {

[[noreturn]] void throw_errno(const std::string& what);

// Owns one file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { int f = fd_; fd_ = -1; return f; }

private:
    int fd_ = -1;
};

// Opens read-only; throws stockade::Error with the path and errno text.
Fd open_read(const std::string& path);
uint64_t file_size(int fd);
std::string pread_exact(int fd, uint64_t offset, size_t len);
// write(2) until done; throws on error. For files other than the journal itself.
void write_all(int fd, std::string_view data, const std::string& path);
// Makes a create/rename/unlink in the directory of `path` durable.
void fsync_parent_dir(const std::string& path);

// Lines of a file read backwards from `end` (normally the file size). If the byte before `end`
// is not '\n', the first line returned is that unfinished last line.
class ReverseLines {
public:
    ReverseLines(int fd, uint64_t end) : fd_(fd), end_(end), buf_off_(end) {}
    // The previous line without its '\n', and the offset where it starts; false at the start.
    bool next(std::string& line, uint64_t& offset);

private:
    bool load_more();  // prepends up to one chunk to buf_
    int fd_;
    uint64_t end_;      // lines before this offset are still to be returned
    uint64_t buf_off_;  // buf_ holds the bytes [buf_off_, end_)
    std::string buf_;
};

}  // namespace detail
}  // namespace stockade::journal
