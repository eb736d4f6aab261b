// Capture: real programs, real children, events checked field by field.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "harness.hpp"

using namespace stockade;
using sktest::Child;
using sktest::Collector;
using sktest::TestCgroup;
namespace fs = std::filesystem;

TEST_CASE("exec, open and exit of a tracked child are captured with resolved paths", "[capture]") {
    probe::Probe probe;
    TestCgroup cg("capture1");
    probe.track_cgroup(cg.id(), 7);
    Collector col;

    Child child(cg, {"/bin/sh", "-c", "cat /etc/hostname > /dev/null; exit 3"});
    REQUIRE(child.wait() != -1);

    auto* exec_sh = col.wait_for(probe, [&](const Event& e) {
        return e.action == Action::Exec && e.pid == (uint32_t)child.pid();
    });
    REQUIRE(exec_sh);
    // /bin is a symlink to usr/bin on Debian 12: the kernel reports the resolved image.
    CHECK(exec_sh->path == fs::canonical("/bin/sh").string());
    REQUIRE(exec_sh->argv.size() == 3);
    CHECK(exec_sh->argv[0] == "/bin/sh");
    CHECK(exec_sh->argv[2] == "cat /etc/hostname > /dev/null; exit 3");
    CHECK(exec_sh->kernel_agent == 7);
    CHECK(exec_sh->cgroup_id == cg.id());

    auto* exec_cat = col.wait_for(probe, [&](const Event& e) {
        return e.action == Action::Exec && e.path == fs::canonical("/usr/bin/cat").string();
    });
    REQUIRE(exec_cat);
    CHECK(exec_cat->ppid == (uint32_t)child.pid());  // lineage: cat is the shell's child

    auto* open = col.wait_for(probe, [&](const Event& e) {
        return e.action == Action::Open && e.path == fs::canonical("/etc/hostname").string();
    });
    REQUIRE(open);
    CHECK(open->pid == exec_cat->pid);
    CHECK((open->access & kRead));
    CHECK(open->result >= 0);

    auto* exit = col.wait_for(probe, [&](const Event& e) {
        return e.action == Action::Exit && e.pid == (uint32_t)child.pid();
    });
    REQUIRE(exit);
    CHECK(exit->result == 3);
    CHECK(exit->exit_signal == 0);
    CHECK(col.bad.empty());
}

TEST_CASE("untracked processes produce no events", "[capture]") {
    probe::Probe probe;
    Collector col;
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/cat", "cat", "/etc/hostname", (char*)nullptr);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    col.wait_for(probe, [](const Event&) { return false; }, 300);
    CHECK(col.of_pid(pid).empty());
}
