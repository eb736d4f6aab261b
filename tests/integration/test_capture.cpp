// Capture: real programs, real children, events checked field by field.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
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
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl("/bin/cat", "cat", "/etc/hostname", (char*)nullptr);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    col.wait_for(probe, [](const Event&) { return false; }, 300);
    CHECK(col.of_pid(pid).empty());
}

namespace {

// Finds the one event of `pid` with this action and path.
const Event* find(const Collector& c, uint32_t pid, Action a, const std::string& path) {
    for (auto& e : c.events)
        if (e.pid == pid && e.action == a && e.path == path) return &e;
    return nullptr;
}

uint16_t listen_port(int fd) {
    sockaddr_in6 a{};
    socklen_t len = sizeof a;
    getsockname(fd, (sockaddr*)&a, &len);
    return ntohs(a.sin6_port);
}

}  // namespace

TEST_CASE("file actions arrive with kernel-resolved paths, access and results", "[capture]") {
    probe::Probe probe;
    TestCgroup cg("files");
    probe.track_cgroup(cg.id(), 9);
    Collector col;
    fs::path dir = fs::path("/tmp") / ("stockade-cap-" + std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "real/sub");
    std::ofstream(dir / "real/target.txt") << "hello";
    fs::create_symlink(dir / "real", dir / "link");
    std::string d = dir.string();

    Child child(cg, [&] {
        char buf[8];
        int fd = open((d + "/link/target.txt").c_str(), O_RDONLY);  // through a symlink
        if (fd >= 0 && read(fd, buf, sizeof buf) < 0) _exit(2);
        close(fd);
        int dfd = open((d + "/real/sub").c_str(), O_RDONLY | O_DIRECTORY);
        fd = openat(dfd, "../target.txt", O_RDONLY);  // ".." relative to a dirfd
        close(fd);
        fd = openat(dfd, "new.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (write(fd, "x", 1) != 1) _exit(3);
        close(fd);
        renameat(dfd, "new.txt", dfd, "renamed.txt");
        unlinkat(dfd, "renamed.txt", 0);
        mkdir((d + "/real/dir2").c_str(), 0755);
        rmdir((d + "/real/dir2").c_str());
        chmod((d + "/real/target.txt").c_str(), 0600);
        open((d + "/real/missing").c_str(), O_RDONLY);  // fails: ENOENT
        close(dfd);
    });
    REQUIRE(child.wait() != -1);
    col.wait_for(probe, [&](const Event& e) { return e.action == Action::Exit && e.pid == (uint32_t)child.pid(); });
    uint32_t pid = child.pid();
    std::string real = fs::canonical(dir / "real").string();

    auto* via_link = find(col, pid, Action::Open, real + "/target.txt");
    REQUIRE(via_link);  // the symlink and the ".." both resolve to the real file
    CHECK(via_link->access == kRead);
    CHECK(via_link->result >= 0);
    size_t opens_of_target = 0;
    for (auto& e : col.events)
        if (e.pid == pid && e.action == Action::Open && e.path == real + "/target.txt") ++opens_of_target;
    CHECK(opens_of_target == 2);

    auto* created = find(col, pid, Action::Open, real + "/sub/new.txt");
    REQUIRE(created);
    CHECK((created->access & kWrite));
    CHECK((created->access & kCreate));
    CHECK((created->access & kTruncate));
    CHECK_FALSE((created->access & kRead));

    auto* ren = find(col, pid, Action::Rename, real + "/sub/new.txt");
    REQUIRE(ren);
    CHECK(ren->path2 == real + "/sub/renamed.txt");
    CHECK(ren->result == 0);
    auto* unl = find(col, pid, Action::Unlink, real + "/sub/renamed.txt");
    REQUIRE(unl);
    CHECK(unl->result == 0);
    CHECK(find(col, pid, Action::Mkdir, real + "/dir2"));
    CHECK(find(col, pid, Action::Rmdir, real + "/dir2"));
    auto* ch = find(col, pid, Action::Chmod, real + "/target.txt");
    REQUIRE(ch);
    CHECK(ch->mode == 0600);
    auto* missing = find(col, pid, Action::Open, real + "/missing");
    REQUIRE(missing);
    CHECK(missing->result == -ENOENT);
    CHECK(col.bad.empty());
    fs::remove_all(dir);
}

TEST_CASE("network actions arrive with addresses, results and the caller's lineage", "[capture]") {
    probe::Probe probe;
    TestCgroup cg("net");
    probe.track_cgroup(cg.id(), 11);
    Collector col;
    // Listeners owned by the (untracked) test process: v4 TCP, v6 TCP, v6 UDP.
    int l4 = socket(AF_INET, SOCK_STREAM, 0), l6 = socket(AF_INET6, SOCK_STREAM, 0), u6 = socket(AF_INET6, SOCK_DGRAM, 0);
    sockaddr_in a4{};
    a4.sin_family = AF_INET;
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sockaddr_in6 a6{};
    a6.sin6_family = AF_INET6;
    a6.sin6_addr = in6addr_loopback;
    REQUIRE(bind(l4, (sockaddr*)&a4, sizeof a4) == 0);
    REQUIRE(bind(l6, (sockaddr*)&a6, sizeof a6) == 0);
    REQUIRE(bind(u6, (sockaddr*)&a6, sizeof a6) == 0);
    listen(l4, 4);
    listen(l6, 4);
    uint16_t p4 = listen_port(l4), p6 = listen_port(l6), pu = listen_port(u6);

    pid_t parent_pid = -1;
    Child child(cg, [&] {
        pid_t inner = fork();  // the network work happens in a grandchild: lineage is checked
        if (inner == 0) {
            sockaddr_in c4 = a4;
            c4.sin_port = htons(p4);
            int s = socket(AF_INET, SOCK_STREAM, 0);
            connect(s, (sockaddr*)&c4, sizeof c4);
            close(s);
            sockaddr_in6 c6 = a6;
            c6.sin6_port = htons(p6);
            s = socket(AF_INET6, SOCK_STREAM, 0);
            connect(s, (sockaddr*)&c6, sizeof c6);
            close(s);
            c6.sin6_port = htons(pu);
            s = socket(AF_INET6, SOCK_DGRAM, 0);
            sendto(s, "ping", 4, 0, (sockaddr*)&c6, sizeof c6);
            close(s);
            _exit(0);
        }
        waitpid(inner, nullptr, 0);
    });
    parent_pid = child.pid();
    REQUIRE(child.wait() != -1);
    col.wait_for(probe, [&](const Event& e) { return e.action == Action::Exit && e.pid == (uint32_t)parent_pid; });

    const Event *c4 = nullptr, *c6 = nullptr, *send = nullptr;
    for (auto& e : col.events) {
        if (e.action == Action::Connect && e.net.family == AF_INET && e.net.port == p4) c4 = &e;
        if (e.action == Action::Connect && e.net.family == AF_INET6 && e.net.port == p6) c6 = &e;
        if (e.action == Action::Send && e.net.port == pu) send = &e;
    }
    REQUIRE(c4);
    REQUIRE(c6);
    REQUIRE(send);
    CHECK(c4->net.address() == "127.0.0.1");
    CHECK(c4->net.protocol() == "tcp");
    CHECK(c4->result == 0);
    CHECK(c4->ppid == (uint32_t)parent_pid);  // the grandchild, child of the tracked child
    CHECK(c4->pid != (uint32_t)parent_pid);
    CHECK(c6->net.address() == "::1");
    CHECK(c6->result == 0);
    CHECK(send->net.protocol() == "udp");
    CHECK(send->result == 4);
    char buf[8];
    CHECK(recv(u6, buf, sizeof buf, MSG_DONTWAIT) == 4);  // it really was sent (monitor only)
    close(l4);
    close(l6);
    close(u6);
}

TEST_CASE("the syscall hook is attached only while something is tracked", "[capture]") {
    probe::Probe probe;
    CHECK_FALSE(probe.syscall_hook_attached());  // an idle host pays nothing for it
    auto names = probe.attached();
    CHECK(std::find(names.begin(), names.end(), "tp_btf/sys_exit") == names.end());
    {
        TestCgroup cg("hook");
        probe.track_cgroup(cg.id(), 5);
        CHECK(probe.syscall_hook_attached());
        Collector col;
        Child child(cg, {"/bin/true"});
        REQUIRE(child.wait() != -1);
        col.wait_for(probe, [&](const Event& e) { return e.action == Action::Exit && e.pid == (uint32_t)child.pid(); });
        probe.release_syscall_hook_if_idle();
        CHECK(probe.syscall_hook_attached());  // the cgroup is still tracked
        probe.untrack_cgroup(cg.id());
    }
    probe.release_syscall_hook_if_idle();
    CHECK_FALSE(probe.syscall_hook_attached());
}
