// decide() on execs that run something besides the image: the dynamic loader run as a program
// (judged on its program) and a `#!` script (judged on the script too; deny wins).
#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace stockade;
using namespace stockade::policy;
using namespace stockade::policy::test;

namespace {

const char* kTools = R"(
agent: t
mode: enforce
on_violation: kill
match: { unit: t.service }
files:
  never: [ "/secrets/**" ]
exec:
  allow: [ "/usr/lib/**", "/usr/bin/**", "/work/**" ]
  deny: [ "/usr/bin/perl", "/srv/dtools/**" ]
)";

Event loader(std::string program) {
    Event e = file_event(Action::Exec, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    e.loader_exec = true;
    e.loader_program = std::move(program);
    return e;
}

Event script(std::string path) {
    Event e = file_event(Action::Exec, "/usr/bin/dash");
    e.script_exec = true;
    e.exec_script = std::move(path);
    return e;
}

Event interp(std::vector<std::string> scripts, bool undetermined = false) {
    Event e = file_event(Action::Exec, "/usr/bin/dash");
    e.argv = {"sh"};
    e.argv.insert(e.argv.end(), scripts.begin(), scripts.end());
    e.interp_scripts = std::move(scripts);
    e.interp_undetermined = undetermined;
    return e;
}

}  // namespace

TEST_CASE("the loader run as a program: its program is judged as if exec'd", "[decide][exec]") {
    auto set = load_ok(kTools);
    const Boundary& b = *set->find("t");
    Verdict v = decide(b, loader("/usr/bin/perl"));
    CHECK(v.decision == Decision::Kill);
    CHECK(v.rule_id == "t.yaml:exec.deny[0]");
    CHECK(v.resolved == "the loader's program exec.deny[0] /usr/bin/perl matched /usr/bin/perl");
    CHECK(decide(b, loader("/secrets/tool")).rule_id == "t.yaml:files.never[0]");
    // A program outside exec.allow: the default deny, as its own exec would be.
    v = decide(b, loader("/opt/other/tool"));
    CHECK(v.rule_id == "t.yaml:default-deny");
    CHECK(v.resolved == "no exec.allow rule matched the loader's program /opt/other/tool");
    // An allowed program: the loader's own allow rule.
    v = decide(b, loader("/usr/bin/touch"));
    CHECK(v.decision == Decision::Allow);
    CHECK(v.rule_id == "t.yaml:exec.allow[0]");
}

TEST_CASE("the loader run as a program: no program determined is builtin:loader-exec", "[decide][exec]") {
    auto set = load_ok(kTools);
    Verdict v = decide(*set->find("t"), loader(""));
    CHECK(v.decision == Decision::Kill);
    CHECK(v.rule_id == "builtin:loader-exec");
    // Unless exec.allow names the loader by its exact path (kTools's /usr/lib/** is not enough).
    auto exact = load_ok(R"(
agent: t
mode: enforce
on_violation: kill
match: { unit: t.service }
exec:
  allow: [ "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" ]
)");
    CHECK(decide(*exact->find("t"), loader("")).decision == Decision::Allow);
    // Not a loader exec: the image alone, as before.
    Event plain = loader("");
    plain.loader_exec = false;
    CHECK(decide(*set->find("t"), plain).decision == Decision::Allow);
}

TEST_CASE("a #! script: exec.deny and files.never apply to the script, exec.allow to the interpreter", "[decide][exec]") {
    auto set = load_ok(kTools);
    const Boundary& b = *set->find("t");
    Verdict v = decide(b, script("/srv/dtools/evil2"));
    CHECK(v.decision == Decision::Kill);
    CHECK(v.rule_id == "t.yaml:exec.deny[1]");
    CHECK(v.resolved == "the script exec.deny[1] /srv/dtools/** matched /srv/dtools/evil2");
    CHECK(decide(b, script("/secrets/run.sh")).rule_id == "t.yaml:files.never[0]");
    // A script need not be in exec.allow: its interpreter is.
    v = decide(b, script("/home/t/build.sh"));
    CHECK(v.decision == Decision::Allow);
    CHECK(v.rule_id == "t.yaml:exec.allow[1]");
    // Its name not known (cut by the kernel's limit): refused while exec.deny has rules.
    CHECK(decide(b, script("")).rule_id == "builtin:script-exec");
}

TEST_CASE("an interpreter's script (sh SCRIPT) is judged as if it had been exec'd", "[decide][exec]") {
    auto set = load_ok(kTools);
    const Boundary& b = *set->find("t");
    Verdict v = decide(b, interp({"/srv/dtools/evil2"}));
    CHECK(v.decision == Decision::Kill);
    CHECK(v.rule_id == "t.yaml:exec.deny[1]");
    CHECK(v.resolved == "the interpreter's script exec.deny[1] /srv/dtools/** matched /srv/dtools/evil2");
    v = decide(b, interp({"/secrets/run.sh"}));
    CHECK(v.rule_id == "t.yaml:files.never[0]");
    CHECK(v.resolved.starts_with("the interpreter's script "));
    // The second candidate (an unknown option may have taken the first) is judged too.
    CHECK(decide(b, interp({"/work/a.sh", "/srv/dtools/evil2"})).rule_id == "t.yaml:exec.deny[1]");
    // A script outside the deny rules need not be in exec.allow: the interpreter's allow decides.
    v = decide(b, interp({"/home/t/build.sh"}));
    CHECK(v.decision == Decision::Allow);
    CHECK(v.rule_id == "t.yaml:exec.allow[1]");
    // No script (sh -c, stdin): the interpreter alone.
    CHECK(decide(b, interp({})).decision == Decision::Allow);
    // Its script cut off by the argv limit: refused while exec.deny has rules.
    CHECK(decide(b, interp({}, true)).rule_id == "builtin:script-exec");
    auto no_deny = load_ok(R"(
agent: t
mode: enforce
on_violation: kill
match: { unit: t.service }
exec:
  allow: [ "/usr/bin/**" ]
)");
    CHECK(decide(*no_deny->find("t"), interp({}, true)).decision == Decision::Allow);
}
