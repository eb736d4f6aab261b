// The builtin system access and failed syscalls: what runtimes read to start is allowed, nothing
// more; a failed file syscall outside the boundary is an attempt (flag), files.never still kills.
#include <errno.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include "helpers.hpp"

using namespace stockade;
using namespace stockade::policy;
using namespace stockade::policy::test;

namespace {

const char* kSmall = R"(
agent: t
mode: enforce
home: /home/t
match: { unit: t.service }
files:
  read: [ "/repo/**" ]
  never: [ "~/.ssh/**" ]
)";

Event failed(Event e, int err) {
    e.result = -err;
    return e;
}

}  // namespace

TEST_CASE("the builtin system read covers what runtimes read to start", "[decide][builtin]") {
    auto set = load_ok(kSmall);
    const Boundary& b = *set->find("t");
    for (const char* p : {"/sys/kernel/mm/transparent_hugepage/hpage_pmd_size",  // every Go binary
                          "/sys/kernel/mm/transparent_hugepage/enabled", "/proc/cgroups",  // the JVM
                          "/sys/fs/cgroup/user.slice/memory.max", "/proc/self/cgroup", "/proc/meminfo",  // Node
                          "/proc/sys/vm/overcommit_memory",  // glibc's malloc in threaded programs
                          "/proc/sys/vm/mmap_min_addr",      // Bun (Claude Code)
                          "/etc/ld.so.cache", "/etc/ssl/openssl.cnf", "/usr/lib/python3.11/os.py"}) {
        INFO(p);
        Verdict v = decide(b, open_event(p, kRead));
        CHECK(v.inside());
        CHECK(v.rule_id == "builtin:system-read");
    }
    // A probe of a library that does not exist, named under the /lib symlink as the program gave
    // it (the kernel cannot resolve a missing path): a system read, not a violation.
    Verdict lib = decide(b, failed(open_event("/lib/x86_64-linux-gnu/libnuma.so.1", kRead), ENOENT));
    CHECK(lib.inside());
    CHECK(lib.rule_id == "builtin:system-read");
    // Debian's Python imports sitecustomize.py from /etc/python3.<N> (the link's target), when
    // this host has one.
    for (auto& dir : std::filesystem::directory_iterator("/etc")) {
        std::string name = dir.path().filename().string();
        if (name.rfind("python3", 0) != 0 || !dir.is_directory()) continue;
        Verdict v = decide(b, open_event(dir.path().string() + "/sitecustomize.py", kRead));
        CHECK(v.rule_id == "builtin:system-read");
    }
    // A shell opens its terminal read-write; output goes to /dev/null.
    CHECK(decide(b, open_event("/dev/tty", kRead | kWrite)).rule_id == "builtin:system-write");
    CHECK(decide(b, open_event("/dev/null", kWrite)).inside());
}

TEST_CASE("the builtin system access is nothing more", "[decide][builtin]") {
    auto set = load_ok(kSmall);
    const Boundary& b = *set->find("t");
    for (const char* p : {"/etc/shadow", "/etc/ssh/ssh_host_ed25519_key", "/sys/kernel/mm/ksm/run",
                          "/proc/1/environ", "/root/.bash_history", "/var/lib/dpkg/status",
                          "/proc/sys/kernel/core_pattern", "/proc/sys/vm/swappiness"}) {
        INFO(p);
        CHECK_FALSE(decide(b, open_event(p, kRead)).inside());
    }
    for (const char* p : {"/etc/passwd", "/usr/bin/ls", "/dev/urandom", "/sys/kernel/mm/transparent_hugepage/enabled",
                          "/lib/x86_64-linux-gnu/libc.so.6"}) {
        INFO(p);
        CHECK_FALSE(decide(b, open_event(p, kWrite)).inside());
        CHECK_FALSE(decide(b, file_event(Action::Unlink, p)).inside());
    }
    // system_read: false takes all of it away.
    auto bare = load_ok("agent: t\nmode: enforce\nsystem_read: false\nmatch: { unit: t.service }\n");
    CHECK_FALSE(decide(*bare->find("t"), open_event("/dev/null", kWrite)).inside());
    CHECK_FALSE(decide(*bare->find("t"), open_event("/usr/lib/os-release", kRead)).inside());
}

TEST_CASE("a failed file syscall is an attempt: flagged with its errno, files.never still kills", "[decide]") {
    auto set = load_ok(kSmall);
    const Boundary& b = *set->find("t");
    Verdict v = decide(b, failed(open_event("/home/t/.curlrc", kRead), ENOENT));
    CHECK(v.decision == Decision::Flag);
    CHECK(v.rule_id == "t.yaml:default-deny");
    CHECK(v.resolved.find("failed with ENOENT") != std::string::npos);
    CHECK(decide(b, failed(file_event(Action::Unlink, "/etc/hosts"), EACCES)).decision == Decision::Flag);
    // The same open succeeding is a violation.
    CHECK(decide(b, open_event("/home/t/.curlrc", kRead)).decision == Decision::Kill);
    // files.never: the attempt itself is the violation.
    Verdict secret = decide(b, failed(open_event("/home/t/.ssh/id_rsa", kRead), EACCES));
    CHECK(secret.decision == Decision::Kill);
    CHECK(secret.rule_id == "t.yaml:files.never[0]");
    // failed_syscalls: violation judges failed ones like the rest.
    auto strict = load_ok(std::string(kSmall) + "failed_syscalls: violation\n");
    CHECK(decide(*strict->find("t"), failed(open_event("/home/t/.curlrc", kRead), ENOENT)).decision == Decision::Kill);
    // A bad value is a located error.
    auto bad = load_boundary_text("t.yaml", std::string(kSmall) + "failed_syscalls: ignore\n");
    CHECK_FALSE(bad.ok());
}
