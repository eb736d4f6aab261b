#include "identity/procfs.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/cgroup.hpp"
#include "common/container.hpp"

namespace stockade::identity {

namespace {
constexpr uint64_t kNsPerTick = 10'000'000;

std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}
}  // namespace

std::optional<Process> read_proc(pid_t pid) {
    std::string base = "/proc/" + std::to_string(pid);
    std::string stat = slurp(base + "/stat");
    size_t rp = stat.rfind(')');
    if (rp == std::string::npos) return std::nullopt;
    Process p;
    p.comm = stat.substr(stat.find('(') + 1, rp - stat.find('(') - 1);
    std::istringstream rest(stat.substr(rp + 2));
    std::vector<std::string> f{"", "", ""};  // fields 1..2 consumed above; index = field number
    std::string tok;
    while (rest >> tok) f.push_back(tok);
    if (f.size() <= 22) return std::nullopt;
    uint32_t ppid = static_cast<uint32_t>(std::stoul(f[4]));
    uint64_t start_ns = std::stoull(f[22]) * kNsPerTick;
    p.key = key_of(static_cast<uint32_t>(pid), start_ns);
    p.start_ns = start_ns;
    p.ppid = ppid;
    if (auto par = read_proc_start(ppid)) p.parent = key_of(ppid, *par);
    std::istringstream status(slurp(base + "/status"));
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Uid:", 0) == 0) p.uid = static_cast<uint32_t>(std::stoul(line.substr(4)));
        if (line.rfind("Gid:", 0) == 0) p.gid = static_cast<uint32_t>(std::stoul(line.substr(4)));
    }
    char buf[4096];
    ssize_t n = readlink((base + "/exe").c_str(), buf, sizeof buf - 1);
    if (n > 0) p.exe.assign(buf, static_cast<size_t>(n));
    std::string cmd = slurp(base + "/cmdline");
    size_t pos = 0;
    while (pos < cmd.size()) {
        size_t end = cmd.find('\0', pos);
        if (end == std::string::npos) end = cmd.size();
        p.argv.push_back(cmd.substr(pos, end - pos));
        pos = end + 1;
    }
    p.cgroup = cgroup::of_pid(pid);
    return p;
}

std::optional<uint64_t> read_proc_start(uint32_t pid) {
    std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    size_t rp = stat.rfind(')');
    if (rp == std::string::npos) return std::nullopt;
    std::istringstream rest(stat.substr(rp + 2));
    std::string tok;
    for (int i = 3; rest >> tok; ++i)
        if (i == 22) return std::stoull(tok) * kNsPerTick;
    return std::nullopt;
}

std::vector<Process> read_cgroup_procs(const std::string& cgroup_rel) {
    std::vector<Process> out;
    std::ifstream f(cgroup::dir_of(cgroup_rel) + "/cgroup.procs");
    pid_t pid;
    while (f >> pid)
        if (auto p = read_proc(pid)) out.push_back(std::move(*p));
    return out;
}

std::vector<std::string> container_cgroups(const std::string& root) {
    namespace fs = std::filesystem;
    // A container's own cgroup: not one below a container's (those are found through it).
    auto is_container_root = [](const std::string& rel) {
        return container::of_cgroup(rel) && !container::of_cgroup(fs::path(rel).parent_path().string());
    };
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it.depth() >= 5) it.disable_recursion_pending();
        if (!it->is_directory(ec)) continue;
        std::string rel = it->path().string().substr(root.size());
        if (!is_container_root(rel)) continue;
        it.disable_recursion_pending();
        out.push_back(rel);
    }
    return out;
}

bool is_runtime_init(const Process& p) {
    auto named = [](const std::string& s) {
        return s.find("runc") != std::string::npos || s.find("crun") != std::string::npos;
    };
    return named(p.exe) || (!p.argv.empty() && named(std::filesystem::path(p.argv[0]).filename().string()));
}

}  // namespace stockade::identity
