// Integration tests need root and a kernel with BTF, the BPF ring buffer and cgroup v2.
// Without them the whole binary skips (exit 77) and says why. A lock file keeps two runs
// (two build trees, two users) from loading probes at the same time.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>

#include "probe/features.hpp"

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
    return Catch::Session().run(argc, argv);
}
