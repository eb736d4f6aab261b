#include "probe/exec_names.hpp"

#include <climits>
#include <cstdlib>
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

std::string real_path(const std::string& p) {
    char buf[PATH_MAX];
    if (!realpath(p.c_str(), buf)) return {};
    return buf;
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
    std::string lexical = join_normalize(cwd.empty() ? "/" : cwd, name);
    // Through /proc/PID/root: the process's own root (a container's), with its symlinks.
    std::string root_link = "/proc/" + std::to_string(pid) + "/root";
    std::string root = real_path(root_link);
    // Not the lexical form: ".." after a symlink is the parent of its target, as for the kernel.
    std::string given = !name.empty() && name.front() == '/' ? name : (cwd.empty() ? "/" : cwd) + "/" + name;
    std::string full = real_path(root_link + given);
    if (root.empty() || full.empty()) return lexical;
    if (root == "/") return full;
    if (full.size() > root.size() && full.compare(0, root.size(), root) == 0 && full[root.size()] == '/')
        return full.substr(root.size());
    return lexical;
}

}  // namespace stockade::probe
