// decide() on the channels around the judged syscalls (kernel record SK_SYSCALL), and the
// boundary's io_uring field.
#include <sys/syscall.h>

#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace stockade;
using namespace stockade::policy;
using namespace stockade::policy::test;

namespace {

Event syscall_event(long nr, bool compat = false, uint32_t target = 0) {
    Event e;
    e.action = Action::Syscall;
    e.pid = e.tid = 4242;
    e.syscall_nr = static_cast<uint32_t>(nr);
    e.compat = compat;
    e.target_pid = target;
    return e;
}

const char* kHead = "agent: t\nmode: enforce\nmatch: { cgroup: /stockade/t }\n";

}  // namespace

TEST_CASE("io_uring is a violation unless the boundary allows it", "[decide][syscall]") {
    auto no_set = load_ok(kHead);  // the set owns the boundary: keep it alive
    const Boundary& no = *no_set->find("t");
    for (long nr : {SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register}) {
        Verdict v = decide(no, syscall_event(nr));
        CHECK(v.decision == Decision::Kill);
        CHECK(v.rule_id == "builtin:io_uring");
    }
    CHECK(decide(no, syscall_event(SYS_io_uring_setup)).resolved.find("io_uring_setup") != std::string::npos);
    auto yes_set = load_ok(std::string(kHead) + "io_uring: true\n");
    CHECK(decide(*yes_set->find("t"), syscall_event(SYS_io_uring_setup)).inside());
    // Monitor mode reports what enforce would do.
    auto mon = load_ok("agent: t\nmatch: { cgroup: /stockade/t }\n");
    CHECK(decide(*mon->find("t"), syscall_event(SYS_io_uring_setup)).decision == Decision::WouldDeny);
}

TEST_CASE("32-bit syscalls, opens by handle and cross-process calls are violations", "[decide][syscall]") {
    auto set = load_ok(std::string(kHead) + "io_uring: true\n");
    const Boundary& b = *set->find("t");
    // A 32-bit syscall whose i386 number is io_uring_setup's is still a 32-bit syscall.
    Verdict compat = decide(b, syscall_event(SYS_io_uring_setup, true));
    CHECK(compat.decision == Decision::Kill);
    CHECK(compat.rule_id == "builtin:compat-syscall");
    CHECK(decide(b, syscall_event(SYS_open_by_handle_at)).rule_id == "builtin:open-by-handle");
    for (long nr : {SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_pidfd_getfd}) {
        Verdict v = decide(b, syscall_event(nr, false, 77));
        CHECK(v.decision == Decision::Kill);
        CHECK(v.rule_id == "builtin:cross-process");
        CHECK(v.resolved.find("pid 77") != std::string::npos);
    }
}

TEST_CASE("io_uring must be a boolean, located at the value", "[load][errors][syscall]") {
    auto res = load_boundary_text("rules/t.yaml", std::string(kHead) + "io_uring: sometimes\n");
    CHECK_FALSE(res.ok());
    CHECK(format_diagnostics(res.diagnostics).find("rules/t.yaml:4:11: error: io_uring must be true or false") !=
          std::string::npos);
}

TEST_CASE("the mount family is a violation unless the boundary says mount: true", "[decide][syscall]") {
    auto no_set = load_ok(kHead);
    const Boundary& no = *no_set->find("t");
    CHECK_FALSE(no.mount);
    for (long nr : {SYS_mount, SYS_umount2, SYS_move_mount, SYS_fsopen, SYS_fsmount, SYS_fsconfig, SYS_open_tree,
                    SYS_fspick, SYS_mount_setattr, SYS_pivot_root}) {
        Verdict v = decide(no, syscall_event(nr));
        CHECK(v.decision == Decision::Kill);
        CHECK(v.rule_id == "builtin:mount");
    }
    CHECK(decide(no, syscall_event(SYS_move_mount)).resolved.find("move_mount") != std::string::npos);
    auto yes_set = load_ok(std::string(kHead) + "mount: true\n");
    CHECK(yes_set->find("t")->mount);
    CHECK(decide(*yes_set->find("t"), syscall_event(SYS_mount)).inside());
    // pidfd_open of another process is a cross-process call like pidfd_getfd.
    CHECK(decide(no, syscall_event(SYS_pidfd_open, false, 77)).rule_id == "builtin:cross-process");
}
