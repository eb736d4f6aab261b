#include "journal/reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <thread>
#include <unordered_map>

#include "common/error.hpp"
#include "journal/compact.hpp"
#include "journal/files.hpp"
#include "journal/json.hpp"
#include "journal/timefmt.hpp"

namespace stockade::journal {
using detail::Fd;

bool Filter::matches(const Record& r) const {
    if (agent && r.agent != *agent) return false;
    if (task && r.task != *task) return false;
    if (verdict && r.verdict != *verdict) return false;
    if (since) {
        auto t = parse_rfc3339(r.time);
        if (!t || *t < *since) return false;
    }
    return true;
}

namespace {

std::optional<Record> parse_or_skip(std::string_view line) {
    try {
        return from_json_line(line);
    } catch (const Error&) {
        return std::nullopt;  // verify reports damaged lines; tail shows what it can
    }
}

// Opens a file that may have been deleted by retention meanwhile (empty Fd then).
Fd open_if_exists(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd && errno != ENOENT) detail::throw_errno("Cannot open journal file " + path);
    return fd;
}

uint64_t seq_in_name(const std::string& rotated) {
    return std::strtoull(rotated.c_str() + rotated.size() - 20, nullptr, 10);
}

}  // namespace

std::vector<Record> read_last(const std::string& path, size_t n, const Filter& filter) {
    std::vector<Record> out;
    if (n == 0) return out;
    auto files = journal_files(resolve_live_path(path));
    for (auto f = files.rbegin(); f != files.rend() && out.size() < n; ++f) {
        Fd fd = open_if_exists(*f);
        if (!fd) continue;
        uint64_t size = detail::file_size(fd.get());
        detail::ReverseLines lines(fd.get(), size);
        std::string line;
        uint64_t off = 0;
        if (size > 0 && detail::pread_exact(fd.get(), size - 1, 1) != "\n")
            lines.next(line, off);  // an incomplete last line: being written, or torn
        // Allowed decisions found without their process's context (compact.hpp): it is on an
        // earlier line of this file, so reading goes on until each has found it.
        std::unordered_map<std::string, std::vector<size_t>> pending;
        while ((out.size() < n || !pending.empty()) && lines.next(line, off)) {
            auto r = parse_or_skip(line);
            if (!r) continue;
            if (!pending.empty() && has_context(*r)) {
                if (auto it = pending.find(r->exec_id); it != pending.end()) {
                    for (size_t i : it->second) copy_context(*r, out[i]);
                    pending.erase(it);
                }
            }
            if (out.size() >= n || !filter.matches(*r)) continue;
            if (lacks_context(*r)) pending[r->exec_id].push_back(out.size());
            out.push_back(std::move(*r));
        }
    }
    std::reverse(out.begin(), out.end());
    return out;
}

namespace {

class Follower {
public:
    Follower(std::string live, const Filter& filter, std::function<bool(const Record&)> on_record)
        : live_(std::move(live)), filter_(filter), on_record_(std::move(on_record)) {}

    // Records already stored with seq > after: the rotated files that can hold them, then the
    // live file from its start.
    bool catch_up(uint64_t after) {
        min_seq_ = after + 1;
        auto rotated = rotated_files(live_);
        for (size_t i = 0; i < rotated.size(); ++i) {
            bool may_hold = i + 1 == rotated.size() || seq_in_name(rotated[i + 1]) > min_seq_;
            if (may_hold && !read_whole(rotated[i])) return false;
        }
        return open_live(false) && drain();
    }

    bool start_at_end() { return open_live(true); }

    // One poll: new lines of the live file, then rotation. False when on_record said stop.
    bool poll() {
        if (!fd_) return open_live(false) && drain();
        if (!drain()) return false;
        struct stat st {};
        if (::stat(live_.c_str(), &st) == 0 && st.st_ino == ino_ && st.st_dev == dev_) {
            if (static_cast<uint64_t>(st.st_size) < offset_) {  // torn tail truncated at start-up
                offset_ = static_cast<uint64_t>(st.st_size);
                partial_.clear();
            }
            return true;
        }
        // Rotated (or replaced). The writer renames only after its last write to the old file,
        // so draining it now gets everything; a line still without newline there never ends.
        if (!drain()) return false;
        partial_.clear();
        auto rotated = rotated_files(live_);
        auto ours = std::find_if(rotated.begin(), rotated.end(), [&](const std::string& f) {
            struct stat rs {};
            return ::stat(f.c_str(), &rs) == 0 && rs.st_ino == ino_ && rs.st_dev == dev_;
        });
        fd_ = Fd();
        if (ours != rotated.end())  // files rotated in between (several rotations in one poll)
            for (auto it = ours + 1; it != rotated.end(); ++it)
                if (!read_whole(*it)) return false;
        return open_live(false) && drain();
    }

private:
    bool open_live(bool at_end) {
        fd_ = open_if_exists(live_);
        offset_ = 0;
        partial_.clear();
        if (!fd_) return true;  // not (re)created yet: try again at the next poll
        struct stat st {};
        if (::fstat(fd_.get(), &st) != 0) detail::throw_errno("Cannot stat " + live_);
        ino_ = st.st_ino;
        dev_ = st.st_dev;
        if (at_end) {  // start after the last complete line; a partial one is being written
            detail::ReverseLines lines(fd_.get(), static_cast<uint64_t>(st.st_size));
            std::string line;
            offset_ = static_cast<uint64_t>(st.st_size);
            if (offset_ > 0 && detail::pread_exact(fd_.get(), offset_ - 1, 1) != "\n")
                lines.next(line, offset_);
        }
        return true;
    }

    bool drain() {
        if (!fd_) return true;
        for (;;) {
            std::string chunk = detail::pread_exact(fd_.get(), offset_, 64 * 1024);
            if (chunk.empty()) return true;
            offset_ += chunk.size();
            if (!feed(chunk)) return false;
        }
    }

    bool read_whole(const std::string& path) {
        Fd fd = open_if_exists(path);
        partial_.clear();
        for (uint64_t off = 0; fd;) {
            std::string chunk = detail::pread_exact(fd.get(), off, 64 * 1024);
            if (chunk.empty()) break;
            off += chunk.size();
            if (!feed(chunk)) return false;
        }
        partial_.clear();
        return true;
    }

    bool feed(std::string_view data) {
        partial_ += data;
        size_t start = 0;
        for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
            auto r = parse_or_skip(std::string_view(partial_).substr(start, nl - start));
            if (!r) continue;
            context_.apply(*r);
            if (r->seq < min_seq_ || !filter_.matches(*r)) continue;
            if (!on_record_(*r)) return false;
        }
        partial_.erase(0, start);
        return true;
    }

    std::string live_;
    const Filter& filter_;
    std::function<bool(const Record&)> on_record_;
    uint64_t min_seq_ = 0;
    Fd fd_;
    ino_t ino_ = 0;
    dev_t dev_ = 0;
    uint64_t offset_ = 0;   // bytes of the live file consumed (complete lines + partial_)
    std::string partial_;   // bytes after the last newline seen
    ContextJoin context_;   // allowed decisions get their process's context back
};

}  // namespace

void follow(const std::string& path, const Filter& filter,
            std::function<bool(const Record&)> on_record, std::function<bool()> keep_going,
            std::optional<uint64_t> after_seq) {
    Follower f(resolve_live_path(path), filter, std::move(on_record));
    if (after_seq ? !f.catch_up(*after_seq) : !f.start_at_end()) return;
    while (keep_going()) {
        if (!f.poll()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace stockade::journal
