#include "common/clock.hpp"
#include "journal/writer.hpp"

#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "journal/fields.hpp"
#include "journal/hashchain.hpp"
#include "journal/journald.hpp"
#include "journal/json.hpp"
#include "journal/timefmt.hpp"

namespace fs = std::filesystem;
using namespace std::chrono;

namespace stockade::journal {
using detail::Fd;
using detail::throw_errno;

namespace {

constexpr mode_t kMode = 0640;  // root writes, group "stockade" (operators, `stockade tail`) reads

std::string local_hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return "";
    return buf;
}

uint64_t boottime_ns() { return boot_ns(); }

// cereal reads strings up to the first NUL, so a NUL would make the stored line fail to read
// back (and fail verification). Process data cannot contain NULs anyway; if a caller's string
// does, it is stored as U+FFFD.
void replace_nuls(Record& r) {
    auto fix = [](std::string& s) {
        for (size_t i; (i = s.find('\0')) != std::string::npos;) s.replace(i, 1, "\xEF\xBF\xBD");
    };
    for_each_field(r, [&](const char*, auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) fix(v);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>)
            for (auto& s : v) fix(s);
        else if constexpr (std::is_same_v<T, std::vector<ToolUse>>)
            for (auto& t : v)
                for (std::string* s : {&t.id, &t.name, &t.input_sha256, &t.command}) fix(*s);
    });
}

// The set-aside bytes as printable ASCII for the torn record's detail (the exact bytes are in
// the .torn file).
std::string escape_preview(std::string_view bytes, size_t max) {
    std::string out;
    for (size_t i = 0; i < bytes.size() && i < max; ++i) {
        unsigned char c = static_cast<unsigned char>(bytes[i]);
        if (c == '\\') out += "\\\\";
        else if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
        else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    if (bytes.size() > max) out += "...";
    return out;
}

int fdatasync_retry(int fd) {
    int rc;
    do rc = ::fdatasync(fd);
    while (rc != 0 && errno == EINTR);
    return rc;
}

}  // namespace

Writer::Writer(WriterOptions options) : opt_(std::move(options)), host_(local_hostname()) {
    if (opt_.path.empty()) throw Error("The journal path is empty.");
    fs::path p(opt_.path);
    if (p.has_parent_path()) {
        std::error_code ec;
        fs::create_directories(p.parent_path(), ec);
        if (ec) throw Error("Cannot create the journal directory " + p.parent_path().string() + ": " +
                            ec.message() + ".");
    }
    // One writer per journal: two would interleave seqs and break the chain.
    std::string lock_path = opt_.path + ".lock";
    lock_ = Fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kMode));
    if (!lock_) throw_errno("Cannot open the journal lock " + lock_path);
    if (::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            throw Error("Another process is already writing the journal " + opt_.path +
                        " (it holds " + lock_path + ").");
        throw_errno("Cannot lock " + lock_path);
    }

    open_live();
    std::optional<Record> torn = recover();
    read_first_record();
    last_sync_ = steady_clock::now();
    if (torn) {  // verdict "" is not "allow": synced before append returns
        spdlog::warn("journal {}: {}", opt_.path, torn->detail);
        append(*torn);
    }
    // Started last: a constructor that throws must not leave a joinable thread behind.
    if (opt_.fsync == FsyncPolicy::Interval) flusher_ = std::thread([this] { flusher(); });
}

Writer::~Writer() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (flusher_.joinable()) flusher_.join();
    if (file_ && fdatasync_retry(file_->get()) != 0)
        spdlog::error("journal {}: final fdatasync failed: {}", opt_.path, std::strerror(errno));
    if (opt_.mirror != MirrorPolicy::Off && last_seq_ > 0)
        mirror_chain_head(opt_.path, last_seq_, last_hash_);
}

void Writer::open_live() {
    int fd = ::open(opt_.path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, kMode);
    if (fd < 0) throw_errno("Cannot open the journal " + opt_.path);
    file_ = std::make_shared<Fd>(fd);
    if (::fchmod(fd, kMode) != 0) throw_errno("Cannot set mode 0640 on " + opt_.path);  // umask
    adopt_group(fd, opt_.path);
    size_ = detail::file_size(fd);
    detail::fsync_parent_dir(opt_.path);  // the file may be new: make its name durable
}

void Writer::adopt_group(int fd, const std::string& path) {
    if (opt_.group.empty()) return;
    group gr{}, *found = nullptr;
    std::vector<char> buf(16384);
    ::getgrnam_r(opt_.group.c_str(), &gr, buf.data(), buf.size(), &found);
    if (!found) {
        if (!std::exchange(group_warned_, true))
            spdlog::warn("journal: group \"{}\" does not exist; {} keeps its owner and group "
                         "(root:root), mode 0640",
                         opt_.group, path);
        return;
    }
    if (::fchown(fd, static_cast<uid_t>(-1), found->gr_gid) != 0 && !std::exchange(group_warned_, true))
        spdlog::warn("journal: cannot give {} to group \"{}\": {}", path, opt_.group,
                     std::strerror(errno));
}

std::optional<Record> Writer::recover() {
    int fd = file_->get();
    std::optional<Record> tail;  // the record the chain continues from
    uint64_t keep = size_;       // bytes of the live file that stay
    std::string why;
    if (size_ > 0) {
        detail::ReverseLines lines(fd, size_);
        std::string line;
        uint64_t off = 0;
        if (detail::pread_exact(fd, size_ - 1, 1) != "\n") {
            lines.next(line, off);  // the bytes after the last newline
            keep = off;
            why = "the last line had no newline (a write torn by a crash)";
        }
        if (lines.next(line, off)) {
            LineCheck c = check_line(line);
            if (c.status == LineStatus::Ok) {
                tail = std::move(c.record);
            } else {
                keep = off;
                why += std::string(why.empty() ? "" : "; ") + "the last complete line failed verification (" +
                       c.why + ")";
            }
        }
        // Continue from the last record that parses; if it is damaged, verify will say so.
        while (!tail && lines.next(line, off)) {
            try {
                tail = from_json_line(line);
            } catch (const Error&) {
            }
        }
    }
    auto rotated = rotated_files(opt_.path);
    for (auto it = rotated.rbegin(); !tail && it != rotated.rend(); ++it) {
        Fd rfd = detail::open_read(*it);
        detail::ReverseLines lines(rfd.get(), detail::file_size(rfd.get()));
        std::string line;
        uint64_t off = 0;
        while (!tail && lines.next(line, off)) {
            try {
                tail = from_json_line(line);
            } catch (const Error&) {
            }
        }
    }
    if (tail) {
        last_seq_ = tail->seq;
        last_hash_ = tail->hash;
    }
    if (keep == size_) return std::nullopt;
    return set_aside(keep, why);
}

Record Writer::set_aside(uint64_t from, const std::string& why) {
    int fd = file_->get();
    std::string bytes = detail::pread_exact(fd, from, static_cast<size_t>(size_ - from));
    std::string base = opt_.path + ".torn." + std::to_string(::time(nullptr));
    std::string name;
    Fd out;
    for (int i = 1; !out; ++i) {  // two crashes within one second must not overwrite evidence
        name = i == 1 ? base : base + "-" + std::to_string(i);
        out = Fd(::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kMode));
        if (!out && (errno != EEXIST || i >= 1000)) throw_errno("Cannot create " + name);
    }
    if (::fchmod(out.get(), kMode) != 0) throw_errno("Cannot set mode 0640 on " + name);
    adopt_group(out.get(), name);
    detail::write_all(out.get(), bytes, name);
    if (::fsync(out.get()) != 0) throw_errno("Cannot fsync " + name);
    detail::fsync_parent_dir(name);
    // Only now that the bytes are durable elsewhere may they leave the journal.
    if (::ftruncate(fd, static_cast<off_t>(from)) != 0 || fdatasync_retry(fd) != 0)
        throw_errno("Cannot truncate the torn tail of " + opt_.path);
    size_ = from;

    Record torn;
    torn.type = RecordType::Torn;
    torn.path = name;
    torn.count = bytes.size();
    torn.detail = "set aside " + std::to_string(bytes.size()) + " bytes from offset " +
                  std::to_string(from) + " of " + opt_.path + " to " + name + " because " + why +
                  "; bytes: " + escape_preview(bytes, 256);
    return torn;
}

void Writer::read_first_record() {
    first_seq_ = 0;
    born_ = system_clock::now();
    if (size_ == 0) return;
    std::string head = detail::pread_exact(file_->get(), 0, static_cast<size_t>(std::min<uint64_t>(size_, 1 << 20)));
    try {
        Record first = from_json_line(head.substr(0, head.find('\n')));
        first_seq_ = first.seq;
        if (auto t = parse_rfc3339(first.time)) born_ = *t;
    } catch (const Error&) {
        // Only used to name the file at rotation; the last seq still sorts after older files.
        first_seq_ = std::max<uint64_t>(last_seq_, 1);
    }
}

bool Writer::should_rotate(size_t line_len, system_clock::time_point now) const {
    if (size_ == 0 || steady_clock::now() < next_rotate_try_) return false;
    if (opt_.max_bytes > 0 && size_ + line_len > opt_.max_bytes) return true;
    return opt_.max_age.count() > 0 && now - born_ >= opt_.max_age;
}

void Writer::rotate() {
    if (fdatasync_retry(file_->get()) != 0)  // the rotated file is complete on disk
        spdlog::error("journal {}: fdatasync before rotation failed: {}", opt_.path, std::strerror(errno));
    std::string target = rotated_name(opt_.path, first_seq_);
    int rc = ::renameat2(AT_FDCWD, opt_.path.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) {  // filesystem without RENAME_NOREPLACE
        if (::access(target.c_str(), F_OK) == 0) errno = EEXIST;
        else rc = ::rename(opt_.path.c_str(), target.c_str());
    }
    // ENOENT: an earlier attempt renamed the file but could not create the new one.
    if (rc != 0 && errno != ENOENT) throw_errno("Cannot rotate " + opt_.path + " to " + target);
    open_live();
    context_.new_file();
    first_seq_ = 0;
    if (opt_.mirror != MirrorPolicy::Off) mirror_chain_head(target, last_seq_, last_hash_);
    apply_retention();
}

void Writer::apply_retention() {
    auto rotated = rotated_files(opt_.path);
    for (size_t i = 0; i + opt_.keep < rotated.size(); ++i) {
        if (::unlink(rotated[i].c_str()) == 0)
            spdlog::info("journal: deleted {} (keeping the newest {} rotated files)", rotated[i], opt_.keep);
        else
            spdlog::error("journal: cannot delete {}: {}", rotated[i], std::strerror(errno));
    }
}

uint64_t Writer::append(Record& r) {
    std::unique_lock lk(mu_);
    int fd = file_->get();
    if (damaged_) {
        if (::ftruncate(fd, static_cast<off_t>(size_)) != 0)
            throw_errno("Cannot remove a partial line from the journal " + opt_.path);
        damaged_ = false;
    }
    auto now = system_clock::now();
    Record rec = r;  // r only changes once the record is in the journal
    rec.seq = last_seq_ + 1;
    if (rec.time.empty()) rec.time = format_rfc3339(now);
    if (rec.host.empty()) rec.host = host_;
    if (rec.mono_ns == 0) rec.mono_ns = boottime_ns();
    replace_nuls(rec);
    ProcessContext known = context_.take_known(rec);
    std::string line = seal_to_line(rec, last_hash_);
    line += '\n';

    if (should_rotate(line.size(), now)) {
        try {
            rotate();
            // The new file holds no process's context yet: this record starts its own again.
            ContextOnce::put_back(rec, std::move(known));
            known = context_.take_known(rec);
            line = seal_to_line(rec, last_hash_) + '\n';
        } catch (const Error& e) {
            // Not rotating loses nothing; failing the append would. Retry later.
            spdlog::error("journal: {} Retrying in 60 s.", e.what());
            next_rotate_try_ = steady_clock::now() + seconds(60);
        }
        fd = file_->get();
    }

    // One write(2) on O_APPEND: the line lands whole and after everything before it.
    ssize_t n;
    do n = ::write(fd, line.data(), line.size());
    while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("Cannot append to the journal " + opt_.path);
    if (static_cast<size_t>(n) != line.size()) {
        // A partial line must not stay: the next record would be glued onto it.
        if (::ftruncate(fd, static_cast<off_t>(size_)) != 0) damaged_ = true;
        throw Error("Short write to the journal " + opt_.path + " (" + std::to_string(n) + " of " +
                    std::to_string(line.size()) + " bytes; disk full?); the record was not appended.");
    }
    if (size_ == 0) {
        first_seq_ = rec.seq;
        born_ = now;
    }
    size_ += line.size();
    last_seq_ = rec.seq;
    last_hash_ = rec.hash;

    bool sync_now = opt_.fsync == FsyncPolicy::EveryRecord ||
                    (opt_.fsync == FsyncPolicy::Interval && opt_.fsync_unless_allow && rec.verdict != Verdict::Allow);
    if (sync_now) {
        if (fdatasync_retry(fd) != 0)  // the record is written; report, do not un-acknowledge it
            spdlog::error("journal {}: fdatasync failed: {}", opt_.path, std::strerror(errno));
        dirty_ = false;
        last_sync_ = steady_clock::now();
    } else if (opt_.fsync == FsyncPolicy::Interval) {
        dirty_ = true;
        cv_.notify_one();
    }
    lk.unlock();

    ContextOnce::put_back(rec, std::move(known));  // the caller's record keeps its context
    if (opt_.mirror == MirrorPolicy::All || (opt_.mirror == MirrorPolicy::UnlessAllow && rec.verdict != Verdict::Allow))
        mirror_to_journald(rec, line);
    r = std::move(rec);
    return r.seq;
}

void Writer::flusher() {
    std::unique_lock lk(mu_);
    for (;;) {
        cv_.wait(lk, [&] { return stop_ || dirty_; });
        // At most one background fdatasync per interval: appends after a quiet spell are synced
        // at once, a busy stream in batches.
        if (stop_ || cv_.wait_until(lk, last_sync_ + opt_.fsync_interval, [&] { return stop_; })) return;
        if (!dirty_) continue;
        auto file = file_;  // keeps the descriptor open even if a rotation replaces it meanwhile
        dirty_ = false;
        lk.unlock();
        int rc = fdatasync_retry(file->get());
        int err = errno;
        lk.lock();
        last_sync_ = steady_clock::now();
        if (rc != 0) spdlog::error("journal {}: fdatasync failed: {}", opt_.path, std::strerror(err));
    }
}

void Writer::sync() {
    std::lock_guard lk(mu_);
    if (fdatasync_retry(file_->get()) != 0) throw_errno("Cannot fdatasync the journal " + opt_.path);
    dirty_ = false;
    last_sync_ = steady_clock::now();
}

uint64_t Writer::last_seq() const {
    std::lock_guard lk(mu_);
    return last_seq_;
}

std::string Writer::last_hash() const {
    std::lock_guard lk(mu_);
    return last_hash_;
}

}  // namespace stockade::journal
