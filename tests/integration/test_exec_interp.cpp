// An interpreter run with a denied script as its program (`sh SCRIPT`, `python3 SCRIPT`): the
// interpreter's exec is allowed and the script is only read (an allowed read), yet the denied
// script is what runs. The kernel holds the exec, the daemon judges the script as if it had been
// exec'd and kills the process before the script runs one line (issue 17).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "daemon_harness.hpp"
#include "harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

bool killed(int st) { return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL; }

// The shape: dtools/ is readable but under exec.deny; every exec under /usr/bin is allowed.
std::string boundary(const ScratchDir& d, const std::string& name) {
    return "agent: " + name + "\nmode: enforce\non_violation: kill\nmatch:\n  cgroup: /stockade-it-unused-" + name +
           "\nfiles:\n  read: [\"" + d / "**" + "\"]\n  write: [\"" + d / "allowed/**" + "\"]\n  create: [\"" +
           d / "allowed/**" + "\"]\nexec:\n  allow: [\"/usr/bin/**\"]\n  deny: [\"" + d / "dtools/**" + "\"]\n";
}

// Scripts that do their harm without an exec of their own (a redirection, Python's open): only the
// interpreter's exec can stop them.
void make_scripts(const ScratchDir& d) {
    fs::create_directories(d / "allowed");
    write_file(d / "dtools/evil2", "#!/bin/sh\necho harm > " + d / "allowed/marker" + "\n");
    chmod((d / "dtools/evil2").c_str(), 0755);
    write_file(d / "dtools/evil.py", "open('" + d / "allowed/marker" + "', 'w').write('harm')\n");
    write_file(d / "allowed/good.sh", "#!/bin/sh\necho ok > " + d / "allowed/good-marker" + "\n");
    chmod((d / "allowed/good.sh").c_str(), 0755);
    write_file(d / "allowed/good.py", "open('" + d / "allowed/good-marker" + "', 'w').write('ok')\n");
}

}  // namespace

TEST_CASE("an interpreter run with a denied script is killed before the script runs", "[enforce][exec][interp]") {
    ScratchDir d("interp");
    make_scripts(d);
    write_file(d / "agents.d/t.yaml", boundary(d, "interpagent"));
    Daemon daemon(d);
    daemon.start();

    std::vector<std::string> argv;
    std::string image = "/usr/bin/dash", script = d / "dtools/evil2";
    SECTION("sh SCRIPT") { argv = {"/usr/bin/sh", script}; }
    SECTION("sh with options, relative to its cwd") {
        argv = {"/bin/sh", "-c", "cd " + d / "dtools" + " && exec /usr/bin/sh -e -- ./evil2"};
    }
    SECTION("bash with options") {
        argv = {"/usr/bin/bash", "--norc", "-o", "pipefail", script};
        image = "/usr/bin/bash";
    }
    SECTION("python3 SCRIPT") {
        script = d / "dtools/evil.py";
        argv = {"/usr/bin/python3", "-u", script};
        image = fs::canonical("/usr/bin/python3").string();
    }
    int st = daemon.run_as("interpagent", argv);
    CHECK(killed(st));
    // Zero harm: not one line of the script ran.
    CHECK_FALSE(fs::exists(d / "allowed/marker"));
    auto r = daemon.wait_record([&](const Record& r) { return r.action == "exec" && r.rule == "t.yaml:exec.deny[0]"; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Kill);
    CHECK(r->enforcement == jr::Enforcement::KilledWhileHeld);
    CHECK(r->path == image);  // the image is the interpreter; the verdict is its script's
    CHECK(r->resolved == "the interpreter's script exec.deny[0] " + d / "dtools/**" + " matched " + script);
}

TEST_CASE("an interpreter run with an allowed script, or with inline code, runs to completion", "[enforce][exec][interp]") {
    ScratchDir d("interpok");
    make_scripts(d);
    write_file(d / "agents.d/t.yaml", boundary(d, "interpok"));
    Daemon daemon(d);
    daemon.start();

    std::vector<std::string> argv;
    SECTION("sh SCRIPT (held, released)") { argv = {"/usr/bin/sh", d / "allowed/good.sh"}; }
    SECTION("python3 SCRIPT (held, released)") { argv = {"/usr/bin/python3", d / "allowed/good.py"}; }
    SECTION("sh -c naming a denied script as text (not held: inline code)") {
        argv = {"/usr/bin/sh", "-c", "echo " + d / "dtools/evil2" + " > " + d / "allowed/good-marker"};
    }
    std::string out;
    CHECK(daemon.run_as("interpok", argv, &out) == 0);
    CHECK(fs::exists(d / "allowed/good-marker"));
    for (const auto& r : daemon.records()) {
        INFO(r.action << " " << r.path << " " << r.rule << " " << r.resolved);
        CHECK(r.verdict != jr::Verdict::Kill);
    }
}
