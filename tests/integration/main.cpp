// Integration tests need root and a kernel with BTF, the BPF ring buffer and cgroup v2.
// Without them the whole binary skips (exit 77) and says why. A lock file keeps two runs
// (two build trees, two users) from loading probes at the same time.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/cgroup.hpp"
#include "probe/features.hpp"

namespace {

// Cgroups `stockade-it-<pid>` of a run that is gone: a run SIGKILLed by ctest's timeout never
// ran its destructors. Only ours (the prefix), only a dead pid's, deepest first.
void remove_stale_cgroups() {
    namespace fs = std::filesystem;
    const std::string prefix = "stockade-it-";
    std::error_code ec;
    for (auto& top : fs::directory_iterator(stockade::cgroup::root(), ec)) {
        std::string name = top.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        pid_t owner = static_cast<pid_t>(std::atoi(name.c_str() + prefix.size()));
        if (owner <= 0 || kill(owner, 0) == 0 || errno != ESRCH) continue;
        std::vector<std::string> dirs;
        for (auto it = fs::recursive_directory_iterator(top.path(), ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
            if (it->is_directory(ec)) dirs.push_back(it->path().string());
        std::sort(dirs.rbegin(), dirs.rend());  // children sort after their parents
        dirs.push_back(top.path().string());
        for (auto& dir : dirs) {
            std::string rel = dir.substr(stockade::cgroup::root().size());
            stockade::cgroup::kill_all(rel);
            stockade::cgroup::remove(rel, 2000);
        }
        std::printf("removed the cgroups of an earlier run that did not end cleanly: %s\n", name.c_str());
    }
}

}  // namespace

int main(int argc, char** argv) {
    // Line-buffered even into ctest's pipe: a test's fork() must not inherit unwritten output
    // and print it a second time when the child exits.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (geteuid() != 0) {
        std::printf("SKIP: integration tests need root (they load BPF programs and create cgroups)\n");
        return 77;
    }
    auto f = stockade::probe::probe_features();
    auto missing = f.missing();
    if (!missing.empty()) {
        std::printf("SKIP: this kernel lacks what the probes need:\n");
        for (auto& m : missing) std::printf("  - %s\n", m.c_str());
        return 77;
    }
    int lock = open("/run/lock/stockade-integration.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
        std::perror("taking /run/lock/stockade-integration.lock");
        return 1;
    }
    remove_stale_cgroups();  // under the lock: no other run is using its own
    return Catch::Session().run(argc, argv);
}
