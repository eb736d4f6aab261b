// decide() on file and exec events: precedence, needed permissions, rule ids, modes.
#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace stockade;
using namespace stockade::policy;
using namespace stockade::policy::test;

namespace {

const char* kRepo = R"(
agent: t
mode: enforce
on_violation: kill
home: /home/t
match: { unit: t.service }
files:
  read: [ "/repo/**", { name: notes, pattern: "~/notes/*.md" } ]
  write: [ "/repo/**", "/scratch/**" ]
  create: [ "/out/**" ]
  delete: [ "/repo/build/**" ]
  never: [ "~/.ssh/**", "**/.env" ]
exec:
  allow: [ "/opt/tools/**", { name: py, pattern: "/opt/py/python3*" } ]
  deny: [ "/opt/tools/curl" ]
)";

}  // namespace

TEST_CASE("files.never beats every allow", "[decide]") {
    auto set = load_ok(kRepo);
    const Boundary& b = *set->find("t");
    Verdict v = decide(b, open_event("/repo/.env", kRead));
    CHECK(v.decision == Decision::Kill);
    CHECK(v.rule_id == "t.yaml:files.never[1]");
    CHECK(v.resolved == "files.never[1] **/.env matched /repo/.env");
    CHECK(v.on_violation == OnViolation::KillProcess);

    v = decide(b, open_event("/home/t/.ssh/id_rsa", kRead));
    CHECK(v.rule_id == "t.yaml:files.never[0]");
    CHECK(v.resolved == "files.never[0] ~/.ssh/** matched /home/t/.ssh/id_rsa");
    // never applies to exec and to every path of a rename
    CHECK(decide(b, file_event(Action::Exec, "/opt/tools/.env")).rule_id == "t.yaml:files.never[1]");
    CHECK(decide(b, file_event(Action::Rename, "/repo/build/a", 0, "/repo/.env")).rule_id == "t.yaml:files.never[1]");
}

TEST_CASE("open needs every permission its access bits ask for", "[decide]") {
    auto set = load_ok(kRepo);
    const Boundary& b = *set->find("t");
    Verdict v = decide(b, open_event("/repo/src/main.cc", kRead));
    CHECK(v.decision == Decision::Allow);
    CHECK(v.rule_id == "t.yaml:files.read[0]");
    CHECK(v.resolved == "files.read[0] /repo/** matched /repo/src/main.cc");

    CHECK(decide(b, open_event("/repo/x", kRead | kWrite)).rule_id == "t.yaml:files.write[0]");
    CHECK(decide(b, open_event("/repo/x", kRead | kWrite)).inside());

    // scratch is writable but not readable: read+write fails on the read
    v = decide(b, open_event("/scratch/x", kRead | kWrite));
    CHECK(v.decision == Decision::Kill);
    CHECK(v.rule_id == "t.yaml:default-deny");
    CHECK(v.resolved == "no files.read rule matched /scratch/x");
    CHECK(decide(b, open_event("/scratch/x", kWrite)).inside());
    CHECK(decide(b, open_event("/scratch/x", kAppend)).inside());
    CHECK(decide(b, open_event("/scratch/x", kTruncate)).inside());

    // create is granted by files.create or files.write
    CHECK(decide(b, open_event("/scratch/new", kWrite | kCreate)).inside());
    CHECK(decide(b, open_event("/out/new", kCreate)).inside());
    v = decide(b, open_event("/out/new", kWrite | kCreate));
    CHECK_FALSE(v.inside());
    CHECK(v.resolved == "no files.write rule matched /out/new");
    v = decide(b, open_event("/elsewhere/new", kCreate));
    CHECK(v.resolved == "no files.create rule matched /elsewhere/new (nor files.write)");

    // ~ in a read pattern, and `*` stays within one component
    CHECK(decide(b, open_event("/home/t/notes/a.md", kRead)).rule_id == "t.yaml:notes");
    CHECK_FALSE(decide(b, open_event("/home/t/notes/sub/a.md", kRead)).inside());
}

TEST_CASE("builtin system read allows reads only", "[decide]") {
    auto set = load_ok(kRepo);
    const Boundary& b = *set->find("t");
    Verdict v = decide(b, open_event("/usr/share/zoneinfo/UTC", kRead));
    CHECK(v.inside());
    CHECK(v.rule_id == "builtin:system-read");
    CHECK(decide(b, open_event("/dev/null", kRead)).inside());
    CHECK_FALSE(decide(b, open_event("/usr/share/zoneinfo/UTC", kWrite)).inside());
    CHECK_FALSE(decide(b, open_event("/etc/shadow", kRead)).inside());
    CHECK(decide(b, open_event("/etc/shadow", kRead)).resolved == "no files.read rule matched /etc/shadow");
    // the kernel reports /proc/self/status as /proc/<pid>/status: only the event's own pid counts
    CHECK(decide(b, open_event("/proc/4242/status", kRead)).inside());
    CHECK_FALSE(decide(b, open_event("/proc/1/status", kRead)).inside());

    auto off = load_ok("agent: t\nsystem_read: false\nmatch: { unit: t.service }\n");
    CHECK_FALSE(decide(*off->find("t"), open_event("/usr/share/zoneinfo/UTC", kRead)).inside());
    CHECK(off->find("t")->system_rules.empty());
}

TEST_CASE("an xattr change is a write of the file: never kills, outside files.write violates", "[decide]") {
    auto set = load_ok(kRepo);
    const Boundary& b = *set->find("t");
    // path2 is the attribute's name: it is not a path and must not be judged as one.
    Verdict v = decide(b, file_event(Action::Xattr, "/repo/.env", 0, "user.x"));
    CHECK(v.decision == Decision::Kill);
    CHECK(v.rule_id == "t.yaml:files.never[1]");
    v = decide(b, file_event(Action::Xattr, "/home/t/.ssh/id_rsa", 0, "security.selinux"));
    CHECK(v.rule_id == "t.yaml:files.never[0]");
    CHECK(decide(b, file_event(Action::Xattr, "/repo/x", 0, "user.x")).rule_id == "t.yaml:files.write[0]");
    v = decide(b, file_event(Action::Xattr, "/out/x", 0, "user.x"));
    CHECK_FALSE(v.inside());
    CHECK(v.resolved == "no files.write rule matched /out/x");
    // read-only is not enough
    CHECK_FALSE(decide(b, file_event(Action::Xattr, "/home/t/notes/a.md", 0, "user.x")).inside());
}

TEST_CASE("path actions map to files sections", "[decide]") {
    auto set = load_ok(kRepo);
    const Boundary& b = *set->find("t");
    CHECK(decide(b, file_event(Action::Unlink, "/repo/build/x.o")).rule_id == "t.yaml:files.delete[0]");
    CHECK_FALSE(decide(b, file_event(Action::Unlink, "/repo/src/x.cc")).inside());
    CHECK(decide(b, file_event(Action::Unlink, "/repo/src/x.cc")).resolved == "no files.delete rule matched /repo/src/x.cc");
    CHECK(decide(b, file_event(Action::Rmdir, "/repo/build/sub")).inside());
    CHECK(decide(b, file_event(Action::Mkdir, "/out/d")).rule_id == "t.yaml:files.create[0]");
    CHECK(decide(b, file_event(Action::Mkdir, "/repo/d")).rule_id == "t.yaml:files.write[0]");
    CHECK_FALSE(decide(b, file_event(Action::Mkdir, "/etc/d")).inside());
    CHECK(decide(b, file_event(Action::Symlink, "/out/link", 0, "/etc/shadow")).inside());
    CHECK(decide(b, file_event(Action::Chmod, "/repo/x")).inside());
    CHECK_FALSE(decide(b, file_event(Action::Chmod, "/out/x")).inside());
    CHECK(decide(b, file_event(Action::Truncate, "/scratch/x")).inside());

    // rename: delete on the source, create on the target
    CHECK(decide(b, file_event(Action::Rename, "/repo/build/a", 0, "/out/a")).inside());
    Verdict v = decide(b, file_event(Action::Rename, "/repo/src/a", 0, "/out/a"));
    CHECK(v.resolved == "no files.delete rule matched /repo/src/a");
    v = decide(b, file_event(Action::Rename, "/repo/build/a", 0, "/etc/a"));
    CHECK(v.resolved == "no files.create rule matched /etc/a (nor files.write)");

    // link: path2 is the new name; a never source is refused
    CHECK(decide(b, file_event(Action::Link, "/repo/a", 0, "/out/a")).inside());
    CHECK_FALSE(decide(b, file_event(Action::Link, "/repo/a", 0, "/etc/a")).inside());
    CHECK(decide(b, file_event(Action::Link, "/home/t/.ssh/id_rsa", 0, "/out/k")).rule_id == "t.yaml:files.never[0]");

    // a path that climbs out of an allowed tree is judged where it lands
    CHECK_FALSE(decide(b, open_event("/repo/../etc/shadow", kRead)).inside());
}

TEST_CASE("exec: deny beats allow, no match is default-deny", "[decide]") {
    auto set = load_ok(kRepo);
    const Boundary& b = *set->find("t");
    CHECK(decide(b, file_event(Action::Exec, "/opt/tools/git")).rule_id == "t.yaml:exec.allow[0]");
    Verdict v = decide(b, file_event(Action::Exec, "/opt/tools/curl"));
    CHECK(v.decision == Decision::Kill);
    CHECK(v.rule_id == "t.yaml:exec.deny[0]");
    CHECK(v.resolved == "exec.deny[0] /opt/tools/curl matched /opt/tools/curl");
    CHECK(decide(b, file_event(Action::Exec, "/opt/py/python3.12")).rule_id == "t.yaml:py");
    v = decide(b, file_event(Action::Exec, "/usr/bin/nc"));
    CHECK(v.rule_id == "t.yaml:default-deny");
    CHECK(v.resolved == "no exec.allow rule matched /usr/bin/nc");
}

TEST_CASE("fork, exit and accept are always allowed", "[decide]") {
    auto set = load_ok(kRepo);
    for (Action a : {Action::Fork, Action::Exit, Action::Accept}) {
        Verdict v = decide(*set->find("t"), file_event(a, ""));
        CHECK(v.inside());
        CHECK(v.rule_id == "builtin:always");
    }
}

TEST_CASE("mode and on_violation choose the decision outside the boundary", "[decide]") {
    auto make = [](const std::string& extra) {
        return load_ok("agent: t\n" + extra + "match: { unit: t.service }\nfiles: { read: [ /ok/** ] }\n");
    };
    Event outside = open_event("/etc/shadow", kRead);
    Event inside = open_event("/ok/x", kRead);

    auto monitor = make("");  // monitor is the default
    CHECK(monitor->find("t")->mode == Mode::Monitor);
    CHECK(decide(*monitor->find("t"), outside).decision == Decision::WouldDeny);
    CHECK(decide(*monitor->find("t"), outside).rule_id == "t.yaml:default-deny");
    CHECK(decide(*monitor->find("t"), inside).decision == Decision::Allow);

    auto flag = make("mode: enforce\non_violation: flag\n");
    CHECK(decide(*flag->find("t"), outside).decision == Decision::Flag);
    CHECK(decide(*flag->find("t"), outside).on_violation == OnViolation::Flag);

    auto kill = make("mode: enforce\n");  // kill is the default
    CHECK(decide(*kill->find("t"), outside).decision == Decision::Kill);
    CHECK(decide(*kill->find("t"), outside).on_violation == OnViolation::KillProcess);

    auto agent = make("mode: enforce\non_violation: kill-agent\n");
    CHECK(decide(*agent->find("t"), outside).decision == Decision::Kill);
    CHECK(decide(*agent->find("t"), outside).on_violation == OnViolation::KillAgent);

    auto monitor_kill = make("mode: monitor\non_violation: kill-agent\n");
    CHECK(decide(*monitor_kill->find("t"), outside).decision == Decision::WouldDeny);
}

TEST_CASE("an O_PATH open locates a file and reads nothing: allowed, flagged on files.never", "[decide]") {
    auto set = load_ok(kRepo);
    const Boundary& b = *set->find("t");
    // realpath() of a path outside every rule, as runtimes resolve their home and /etc.
    Verdict v = decide(b, open_event("/etc", kPath));
    CHECK(v.inside());
    CHECK(v.rule_id == "builtin:path-only");
    CHECK(decide(b, open_event("/home/t", kPath)).inside());
    // The same path opened for reading is still outside.
    CHECK(decide(b, open_event("/etc", kRead)).decision == Decision::Kill);
    // files.never still names it, as a flag: an agent checks a command's paths before it runs
    // it, and the read that would follow is what is stopped.
    v = decide(b, open_event("/home/t/.ssh/id_rsa", kPath));
    CHECK(v.decision == Decision::Flag);
    CHECK(v.rule_id == "t.yaml:files.never[0]");
    CHECK(decide(b, open_event("/home/t/.ssh/id_rsa", kRead)).decision == Decision::Kill);
    CHECK(access_string(kPath) == "path");
}
