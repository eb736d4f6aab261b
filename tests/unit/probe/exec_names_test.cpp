// The program a dynamic loader run as a program is given, and names resolved as the agent's
// process would open them (probe/exec_names.hpp).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "../temp_dir.hpp"
#include "probe/exec_names.hpp"

using namespace stockade::probe;
using V = std::vector<std::string>;

TEST_CASE("loader arguments: the program after the loader's own options", "[exec]") {
    const std::string ld = "/lib64/ld-linux-x86-64.so.2";
    CHECK(loader_program_arg({ld, "/usr/bin/perl", "-e", "1"}, false) == "/usr/bin/perl");
    CHECK(loader_program_arg({ld, "./tool"}, false) == "./tool");
    // Options that take an argument skip it, even when it looks like a program.
    CHECK(loader_program_arg({ld, "--library-path", "/opt/x", "--preload", "/lib/a.so", "--argv0", "/usr/bin/true",
                              "--inhibit-cache", "--audit", "/a.so", "--inhibit-rpath", "x", "/usr/bin/perl"},
                             false) == "/usr/bin/perl");
    CHECK(loader_program_arg({ld, "--glibc-hwcaps-prepend", "x", "--glibc-hwcaps-mask", "y", "--verify", "/bin/p"}, false) ==
          "/bin/p");
    CHECK(loader_program_arg({ld, "--list", "/usr/bin/ls"}, false) == "/usr/bin/ls");
    // argv[0] is the caller's choice, never the program.
    CHECK(loader_program_arg({"/usr/bin/true", "/usr/bin/perl"}, false) == "/usr/bin/perl");
}

TEST_CASE("loader arguments: no program when it cannot be told for sure", "[exec]") {
    const std::string ld = "ld.so";
    CHECK_FALSE(loader_program_arg({ld}, false));                              // usage
    CHECK_FALSE(loader_program_arg({ld, "--library-path"}, false));            // its argument missing
    CHECK_FALSE(loader_program_arg({ld, "--library-path", "/x"}, false));      // no program
    CHECK_FALSE(loader_program_arg({ld, "perl"}, false));                      // searched in the library path
    CHECK_FALSE(loader_program_arg({ld, "--", "/usr/bin/perl"}, false));       // "--" is not glibc's
    CHECK_FALSE(loader_program_arg({ld, "--new-option", "/usr/bin/perl"}, false));
    CHECK_FALSE(loader_program_arg({ld, "--help"}, false));
    CHECK_FALSE(loader_program_arg({ld, "--list-tunables"}, false));
    CHECK_FALSE(loader_program_arg({ld, "-x/usr/bin/perl"}, false));
    // argv cut at the kernel's limit: its last element may be cut too.
    CHECK_FALSE(loader_program_arg({ld, "--preload", "/a.so", "/usr/bin/pe"}, true));
    CHECK(loader_program_arg({ld, "/usr/bin/perl", "-e"}, true) == "/usr/bin/perl");
}

TEST_CASE("exec names are resolved from the exec's cwd, symlinks and .. included", "[exec]") {
    stockade::test::TempDir t;
    t.write("tools/evil", "#!/bin/sh\n");
    std::filesystem::create_directories(t / "work/sub");
    std::filesystem::create_symlink(t / "tools/evil", t / "work/innocent");
    std::filesystem::create_symlink(t / "tools", t / "work/link");
    std::string real = std::filesystem::canonical(t / "tools/evil").string();
    auto pid = static_cast<uint32_t>(getpid());
    CHECK(resolve_exec_name(pid, t / "work", "./innocent") == real);
    CHECK(resolve_exec_name(pid, "/", t / "work/innocent") == real);
    // ".." after a symlink is the parent of its target, not lexically the link's parent.
    CHECK(resolve_exec_name(pid, t / "work", "link/../tools/evil") == real);
    CHECK(resolve_exec_name(pid, t / "work/sub", "../innocent") == real);
    // A name that reaches nothing: the lexical join.
    CHECK(resolve_exec_name(pid, t / "work", "./gone/../x") == std::filesystem::path(t / "work/x").lexically_normal().string());
}

TEST_CASE("exec names through /proc/self and /dev/fd are the process's own descriptors", "[exec]") {
    stockade::test::TempDir t;
    std::string file = t.write("denied/perl", "x");
    std::string real = std::filesystem::canonical(file).string();
    std::filesystem::create_directories(t / "work");
    std::filesystem::create_symlink("/proc/self/fd/100", t / "work/viafd");
    close(100);  // this process has no descriptor 100: only the child's can be found
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        int fd = open(file.c_str(), O_RDONLY);
        dup2(fd, 100);
        (void)!write(ready[1], "r", 1);
        pause();
        _exit(0);
    }
    char c;
    REQUIRE(read(ready[0], &c, 1) == 1);
    auto pid = static_cast<uint32_t>(child);
    CHECK(resolve_exec_name(pid, "/", "/proc/self/fd/100") == real);
    CHECK(resolve_exec_name(pid, "/", "/dev/fd/100") == real);
    CHECK(resolve_exec_name(pid, "/proc/thread-self", "fd/100") == real);
    CHECK(resolve_exec_name(pid, t / "work", "viafd") == real);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    close(ready[0]);
    close(ready[1]);
}
