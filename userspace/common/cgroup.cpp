#include "common/cgroup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/error.hpp"

namespace stockade::cgroup {

namespace fs = std::filesystem;

const std::string& root() {
    static const std::string r = [] {
        std::ifstream mounts("/proc/mounts");
        std::string dev, dir, type, rest;
        while (mounts >> dev >> dir >> type) {
            std::getline(mounts, rest);
            if (type == "cgroup2") return dir;
        }
        return std::string();
    }();
    return r;
}

std::string dir_of(const std::string& rel) {
    if (root().empty()) throw Error("no cgroup v2 hierarchy is mounted");
    if (rel.empty() || rel == "/") return root();
    return root() + (rel.front() == '/' ? "" : "/") + rel;
}

uint64_t id_of(const std::string& rel) {
    struct stat st {};
    std::string d = dir_of(rel);
    if (stat(d.c_str(), &st) != 0) throw Error("cgroup " + rel + " (" + d + "): " + std::strerror(errno));
    return st.st_ino;  // on cgroup v2 the directory's inode number is the kernel's cgroup id
}

std::string rel_of_id(uint64_t id) {
    const std::string& r = root();
    if (r.empty()) return "";
    int mnt = open(r.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mnt < 0) return "";
    struct {
        struct file_handle fh;
        uint64_t id;
    } h{};
    h.fh.handle_bytes = sizeof h.id;
    h.fh.handle_type = 0xfe;  // FILEID_KERNFS: the handle of a kernfs node is its 64-bit id
    std::memcpy(h.fh.f_handle, &id, sizeof id);
    int fd = open_by_handle_at(mnt, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(mnt);
    if (fd < 0) return "";
    char buf[4096];
    ssize_t n = readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return "";
    std::string abs(buf, static_cast<size_t>(n));
    if (abs == r) return "/";
    if (abs.rfind(r + "/", 0) != 0) return "";
    return abs.substr(r.size());
}

std::string of_pid(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/cgroup");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("0::", 0) == 0) return line.substr(3);
    return "";
}

uint64_t create(const std::string& rel) {
    std::error_code ec;
    fs::create_directories(dir_of(rel), ec);
    if (ec) throw Error("creating cgroup " + rel + ": " + ec.message());
    return id_of(rel);
}

static bool write_file(const std::string& path, const std::string& value) {
    std::ofstream f(path);
    if (!f) return false;
    f << value;
    f.flush();
    return static_cast<bool>(f);
}

void move(const std::string& rel, pid_t pid) {
    if (!write_file(dir_of(rel) + "/cgroup.procs", std::to_string(pid)))
        throw Error("moving pid " + std::to_string(pid) + " into cgroup " + rel + ": " + std::strerror(errno));
}

bool kill_all(const std::string& rel) { return write_file(dir_of(rel) + "/cgroup.kill", "1"); }

bool remove(const std::string& rel, int timeout_ms) {
    std::string d = dir_of(rel);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
        if (rmdir(d.c_str()) == 0 || errno == ENOENT) return true;
        if (errno != EBUSY || std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

std::string unit_of(const std::string& rel) {
    // The innermost path component that names a unit (service or scope).
    std::string unit;
    size_t pos = 0;
    while (pos < rel.size()) {
        size_t end = rel.find('/', pos);
        if (end == std::string::npos) end = rel.size();
        std::string part = rel.substr(pos, end - pos);
        auto ends_with = [&](const char* sfx) {
            size_t n = std::strlen(sfx);
            return part.size() > n && part.compare(part.size() - n, n, sfx) == 0;
        };
        if (ends_with(".service") || ends_with(".scope")) unit = part;
        pos = end + 1;
    }
    return unit;
}

}  // namespace stockade::cgroup
