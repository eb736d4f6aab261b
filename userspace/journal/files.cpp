#include "journal/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "common/error.hpp"

namespace fs = std::filesystem;

namespace stockade::journal {

constexpr size_t kSeqDigits = 20;

std::string rotated_name(const std::string& live, uint64_t first_seq) {
    std::string digits = std::to_string(first_seq);
    return live + "." + std::string(kSeqDigits - digits.size(), '0') + digits;
}

bool is_rotated_file(std::string_view path) {
    if (path.size() < kSeqDigits + 2) return false;
    auto tail = path.substr(path.size() - kSeqDigits - 1);
    return tail[0] == '.' &&
           std::all_of(tail.begin() + 1, tail.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> rotated_files(const std::string& live) {
    fs::path p(live);
    fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    std::string prefix = p.filename().string() + ".";
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name.size() == prefix.size() + kSeqDigits && name.starts_with(prefix) &&
            is_rotated_file(name))
            out.push_back((dir / name).string());
    }
    std::sort(out.begin(), out.end());  // zero padding makes name order journal order
    return out;
}

std::vector<std::string> journal_files(const std::string& live) {
    auto files = rotated_files(live);
    std::error_code ec;
    if (fs::exists(live, ec)) files.push_back(live);
    return files;
}

std::string resolve_live_path(const std::string& path_or_dir) {
    std::error_code ec;
    if (!fs::is_directory(path_or_dir, ec)) return path_or_dir;
    std::set<std::string> bases;
    for (fs::directory_iterator it(path_or_dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (is_rotated_file(name)) name.resize(name.size() - kSeqDigits - 1);
        if (name.ends_with(".jsonl")) bases.insert(name);
    }
    if (bases.count("journal.jsonl")) return (fs::path(path_or_dir) / "journal.jsonl").string();
    if (bases.size() == 1) return (fs::path(path_or_dir) / *bases.begin()).string();
    if (bases.empty()) throw Error("The directory " + path_or_dir + " holds no *.jsonl journal.");
    std::string names;
    for (auto& b : bases) names += " " + b;
    throw Error("The directory " + path_or_dir + " holds several journals (" + names.substr(1) +
                "); name the live file.");
}

namespace detail {

void throw_errno(const std::string& what) { throw Error(what + ": " + std::strerror(errno) + "."); }

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

Fd open_read(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("Cannot open journal file " + path);
    return Fd(fd);
}

uint64_t file_size(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno("Cannot stat a journal file");
    return static_cast<uint64_t>(st.st_size);
}

std::string pread_exact(int fd, uint64_t offset, size_t len) {
    std::string out(len, '\0');
    size_t done = 0;
    while (done < len) {
        ssize_t n = ::pread(fd, out.data() + done, len - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("Cannot read a journal file");
        if (n == 0) break;  // the file shrank under us: return what is there
        done += static_cast<size_t>(n);
    }
    out.resize(done);
    return out;
}

void write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("Cannot write " + path);
        data.remove_prefix(static_cast<size_t>(n));
    }
}

void fsync_parent_dir(const std::string& path) {
    fs::path p(path);
    std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd || ::fsync(fd.get()) != 0) throw_errno("Cannot fsync the journal directory " + dir);
}

bool ReverseLines::load_more() {
    if (buf_off_ == 0) return false;
    constexpr uint64_t kChunk = 64 * 1024;
    uint64_t len = std::min(kChunk, buf_off_);
    std::string chunk = pread_exact(fd_, buf_off_ - len, static_cast<size_t>(len));
    if (chunk.size() != len) throw Error("A journal file shrank while it was being read.");
    buf_off_ -= len;
    buf_.insert(0, chunk);
    return true;
}

bool ReverseLines::next(std::string& line, uint64_t& offset) {
    if (end_ == 0) return false;
    if (buf_.empty()) load_more();
    uint64_t line_end = end_ - (buf_.back() == '\n' ? 1 : 0);
    for (;;) {  // find the '\n' that ends the line before this one, loading chunks as needed
        size_t rel = static_cast<size_t>(line_end - buf_off_);
        size_t pos = rel == 0 ? std::string::npos : buf_.rfind('\n', rel - 1);
        if (pos != std::string::npos) {
            offset = buf_off_ + pos + 1;
            break;
        }
        if (!load_more()) {
            offset = 0;
            break;
        }
    }
    size_t start = static_cast<size_t>(offset - buf_off_);
    line = buf_.substr(start, static_cast<size_t>(line_end - offset));
    buf_.resize(start);
    end_ = offset;
    return true;
}

}  // namespace detail
}  // namespace stockade::journal
