// Execs that run a program other than the exec'd image: the dynamic loader run as a program
// (`ld.so PROGRAM`: the program is only opened and mapped) and a `#!` script (the image is its
// interpreter). Both are judged as if the program or the script had been exec'd (issue 17).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "enforce/landlock.hpp"

#include "daemon_harness.hpp"
#include "harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

const char* const kLoader = "/lib64/ld-linux-x86-64.so.2";

bool killed(int st) { return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL; }

// allowed/ is the work area; denied/ holds a copy of touch and dtools/ a script, both under
// exec.deny (whole directories: the kernel's table, so the interpreter's exec is allowed in the kernel).
std::string boundary(const ScratchDir& d, const std::string& name) {
    fs::create_directories(d / "allowed");
    return "agent: " + name + "\nmode: enforce\non_violation: kill\nmatch:\n  cgroup: /stockade-it-unused-" + name +
           "\nfiles:\n  read: [\"" + d / "**" + "\"]\n  write: [\"" + d / "allowed/**" + "\"]\n  create: [\"" +
           d / "allowed/**" + "\"]\nexec:\n  allow: [/usr/bin/dash, /usr/bin/touch, /usr/lib/**, \"" + d / "allowed/**" +
           "\"]\n  deny: [\"" + d / "denied/**" + "\", \"" + d / "dtools/**" + "\"]\n";
}

void make_tools(const ScratchDir& d) {
    fs::create_directories(d / "denied");
    fs::copy_file("/usr/bin/touch", d / "denied/evil-touch");
    write_file(d / "dtools/evil2", "#!/bin/sh\n/usr/bin/touch " + d / "allowed/script-marker" + "\n");
    chmod((d / "dtools/evil2").c_str(), 0755);
    write_file(d / "allowed/good.sh", "#!/bin/sh\n/usr/bin/touch " + d / "allowed/good-marker" + "\n");
    chmod((d / "allowed/good.sh").c_str(), 0755);
}

// `stockade run` with Landlock on (its default).
int run_landlocked(Daemon& daemon, const std::string& agent, std::vector<std::string> argv) {
    std::vector<std::string> cmd{bin("stockade"), "--socket", daemon.socket(), "run", "--agent", agent, "--"};
    cmd.insert(cmd.end(), argv.begin(), argv.end());
    return run_command(cmd, nullptr);
}

}  // namespace

TEST_CASE("the dynamic loader run as a program is judged on the program it runs", "[enforce][exec]") {
    ScratchDir d("ldso");
    make_tools(d);
    write_file(d / "agents.d/t.yaml", boundary(d, "ldagent"));
    Daemon daemon(d);
    daemon.start();
    bool landlock = false;
    std::vector<std::string> argv{kLoader};
    std::string rule = "t.yaml:exec.deny[0]";
    SECTION("the program right after the loader") {}
    SECTION("after the loader's own options") {
        argv.insert(argv.end(), {"--inhibit-cache", "--library-path", "/usr/lib", "--argv0", "touch"});
    }
    SECTION("with Landlock on (it checks the loader's exec, not the program's mapping)") {
        if (stockade::enforce::landlock_abi() < 1) {
            WARN("SKIP: no Landlock");
            return;
        }
        landlock = true;
    }
    SECTION("a program named without a slash (the loader searches its library path): not determined") {
        argv.insert(argv.end(), {"--library-path", d / "denied"});
        rule = "builtin:loader-exec";
    }
    SECTION("the program named through an inherited descriptor (/proc/self/fd/N is the agent's, not the daemon's)") {
        argv = {"/bin/sh", "-c", "exec 3<" + d / "denied/evil-touch" + "; exec " + kLoader + " /proc/self/fd/3 " +
                                     d / "allowed/marker"};
    }
    if (argv[0] == kLoader) {
        argv.push_back(rule == "builtin:loader-exec" ? "evil-touch" : d / "denied/evil-touch");
        argv.push_back(d / "allowed/marker");
    }
    int st = landlock ? run_landlocked(daemon, "ldagent", argv) : daemon.run_as("ldagent", argv);
    CHECK(killed(st));
    CHECK_FALSE(fs::exists(d / "allowed/marker"));  // the denied program never ran
    auto r = daemon.wait_record([&](const Record& r) { return r.action == "exec" && r.rule == rule; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Kill);
    CHECK(r->enforcement == jr::Enforcement::KilledWhileHeld);
    CHECK(r->path == "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");

    // An allowed program through the loader, and the loader's own listing, still run.
    CHECK(daemon.run_as("ldagent", {kLoader, "/usr/bin/touch", d / "allowed/ok"}) == 0);
    CHECK(fs::exists(d / "allowed/ok"));
}

TEST_CASE("a denied #! script is judged by its own path, not only its interpreter's", "[enforce][exec]") {
    ScratchDir d("script");
    make_tools(d);
    write_file(d / "agents.d/t.yaml", boundary(d, "scriptagent"));
    Daemon daemon(d);
    daemon.start();

    std::string cmd = d / "dtools/evil2";
    SECTION("by its absolute path") {}
    SECTION("by a relative path from the shell") { cmd = "cd " + d / "dtools" + " && ./evil2"; }
    SECTION("through a symlink in the work area") {
        fs::create_symlink(d / "dtools/evil2", d / "allowed/innocent");
        cmd = d / "allowed/innocent";
    }
    std::string out;
    int st = daemon.run_as("scriptagent", {"/bin/sh", "-c", cmd + "; echo rc=$?"}, &out);
    CHECK(WIFEXITED(st));
    CHECK(out.find("rc=137") != std::string::npos);  // the script's process died of SIGKILL
    CHECK_FALSE(fs::exists(d / "allowed/script-marker"));
    auto r = daemon.wait_record([&](const Record& r) { return r.action == "exec" && r.rule == "t.yaml:exec.deny[1]"; });
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::Kill);
    CHECK(r->enforcement == jr::Enforcement::KilledWhileHeld);
    CHECK(r->path == "/usr/bin/dash");  // the image is the interpreter; the verdict is the script's

    // A script outside exec.deny runs (a script need not be in exec.allow: its interpreter is).
    CHECK(daemon.run_as("scriptagent", {d / "allowed/good.sh"}) == 0);
    CHECK(fs::exists(d / "allowed/good-marker"));
}

TEST_CASE("a denied #! script under Landlock is refused at its exec", "[enforce][exec]") {
    if (stockade::enforce::landlock_abi() < 1) {
        WARN("SKIP: no Landlock");
        return;
    }
    ScratchDir d("scriptll");
    make_tools(d);
    write_file(d / "agents.d/t.yaml", boundary(d, "scriptll"));
    Daemon daemon(d);
    daemon.start();
    run_landlocked(daemon, "scriptll", {"/bin/sh", "-c", d / "dtools/evil2"});
    CHECK_FALSE(fs::exists(d / "allowed/script-marker"));
    CHECK(run_landlocked(daemon, "scriptll", {d / "allowed/good.sh"}) == 0);
    CHECK(fs::exists(d / "allowed/good-marker"));
}
