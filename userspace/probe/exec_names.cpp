#include "probe/exec_names.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string_view>

#include "probe/record.hpp"

namespace stockade::probe {

namespace {

// glibc's rtld options (elf/rtld.c, dl_main): those that take the next argument, those that
// do not. Anything else starting with "--" ends the loader's run (usage) or is unknown here.
bool takes_argument(std::string_view o) {
    return o == "--library-path" || o == "--inhibit-rpath" || o == "--audit" || o == "--preload" ||
           o == "--argv0" || o == "--glibc-hwcaps-prepend" || o == "--glibc-hwcaps-mask";
}

bool is_flag(std::string_view o) { return o == "--list" || o == "--verify" || o == "--inhibit-cache"; }

std::vector<std::string> components(std::string_view path) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t slash = path.find('/', pos);
        if (slash == std::string_view::npos) slash = path.size();
        if (slash > pos) out.emplace_back(path.substr(pos, slash - pos));
        pos = slash + 1;
    }
    return out;
}

// `path` (absolute in the process's view) followed one component at a time, as the kernel
// would for process `pid`: symlinks are read inside its root (/proc/PID/root), and /proc/self and
// /proc/thread-self are its own, never the daemon's (realpath() would take them as the daemon's,
// and a link to /proc/self/fd/N would name one of the daemon's files). None when a component
// cannot be reached (gone, a deleted file, a pipe) or the links loop.
std::optional<std::string> follow(uint32_t pid, std::string_view path) {
    const std::string self = "/proc/" + std::to_string(pid);
    const std::string root = self + "/root";
    std::vector<std::string> todo = components(path);
    std::reverse(todo.begin(), todo.end());
    std::string done;
    int links = 0;
    while (!todo.empty()) {
        std::string c = std::move(todo.back());
        todo.pop_back();
        if (c == ".") continue;
        if (c == "..") {
            done.resize(done.empty() ? 0 : done.rfind('/'));
            continue;
        }
        std::string next = done + "/" + c;
        if (next == "/proc/self" || next == "/proc/thread-self") {
            done = self;
            continue;
        }
        char buf[PATH_MAX];
        ssize_t n = readlink((root + next).c_str(), buf, sizeof buf);
        if (n < 0) {
            if (errno != EINVAL) return std::nullopt;
            done = std::move(next);  // not a symlink
            continue;
        }
        if (n == sizeof buf || ++links > 40) return std::nullopt;
        std::string_view target(buf, static_cast<size_t>(n));
        if (target.front() == '/') done.clear();
        auto more = components(target);
        todo.insert(todo.end(), more.rbegin(), more.rend());
    }
    struct stat st {};
    if (lstat((root + done).c_str(), &st) != 0) return std::nullopt;
    return done.empty() ? "/" : done;
}

}  // namespace

std::optional<std::string> loader_program_arg(const std::vector<std::string>& argv, bool argv_truncated) {
    size_t i = 1;
    while (i < argv.size()) {
        const std::string& a = argv[i];
        if (is_flag(a)) {
            ++i;
        } else if (takes_argument(a)) {
            i += 2;
        } else if (a.starts_with("-")) {
            return std::nullopt;  // "--", --help, --version, the --list-* ones, or unknown
        } else {
            break;
        }
    }
    if (i >= argv.size()) return std::nullopt;
    // The last element of a cut argv may be cut itself.
    if (argv_truncated && i + 1 >= argv.size()) return std::nullopt;
    if (argv[i].find('/') == std::string::npos) return std::nullopt;
    return argv[i];
}

std::string resolve_exec_name(uint32_t pid, const std::string& cwd, const std::string& name) {
    std::string base = cwd.empty() ? "/" : cwd;
    // Not the lexical form: ".." after a symlink is the parent of its target, as for the kernel.
    std::string given = !name.empty() && name.front() == '/' ? name : base + "/" + name;
    if (auto real = follow(pid, given)) return *real;
    return join_normalize(base, name);
}

}  // namespace stockade::probe
