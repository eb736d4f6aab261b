// Interpreters run with a script file as their program: which argument is the script
// (probe/interpreters.hpp), and the kernel's shortcut (map interp_names) never lets through unheld
// an exec whose argv the daemon reads as naming a script.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "probe/interpreters.hpp"

using namespace stockade::probe;
using V = std::vector<std::string>;

namespace {

V scripts(const std::string& image, const V& argv, bool truncated = false) {
    return scripts_of(image, argv, truncated).candidates;
}

// The kernel's test (bpf/process.bpf.h, sk_interp_script) on argv, in C++: false = no script
// can run, the exec is not held.
bool kernel_may_run_script(const KernelInterpreter& k, const V& argv) {
    if (argv.size() < 2) return false;
    const std::string& a = argv[1];
    if (a.empty() || a[0] != '-') return true;
    for (size_t i = 1; i < 8 && i < a.size(); ++i) {
        char c = a[i];
        if (std::memchr(k.value.code, c, sizeof k.value.code)) return false;
        int bit = option_bit(c);
        if (bit < 0 || !(k.value.flags & (1ull << bit))) return true;
    }
    return true;
}

}  // namespace

TEST_CASE("interpreters are known by their real file's name, version digits dropped", "[exec][interp]") {
    CHECK(interpreter_name("python3.12") == "python");
    CHECK(interpreter_name("perl5.36.0") == "perl");
    CHECK(interpreter_name("ksh93") == "ksh");
    CHECK(interpreter_of("/usr/bin/dash") != nullptr);
    CHECK(interpreter_of("/usr/bin/python3.11")->family == "python");
    CHECK(interpreter_of("/usr/local/bin/node")->family == "node");
    CHECK(interpreter_of("/usr/bin/touch") == nullptr);
    CHECK(interpreter_of("/usr/bin/python3-config") == nullptr);  // not an interpreter
    CHECK(scripts("/usr/bin/touch", {"touch", "/srv/x"}).empty());
}

TEST_CASE("shells: the first operand is the script; -c, -s, stdin are not", "[exec][interp]") {
    const std::string sh = "/usr/bin/dash";
    CHECK(scripts(sh, {"sh", "/srv/hx/dtools/evil2"}) == V{"/srv/hx/dtools/evil2"});
    CHECK(scripts(sh, {"sh", "evil2", "arg"}) == V{"evil2"});  // relative: the caller resolves it
    CHECK(scripts("/usr/bin/bash", {"bash", "-e", "-x", "run.sh", "-c"}) == V{"run.sh"});
    CHECK(scripts("/usr/bin/bash", {"bash", "-o", "pipefail", "+O", "extglob", "run.sh"}) == V{"run.sh"});
    CHECK(scripts("/usr/bin/bash", {"bash", "--rcfile", "/tmp/rc", "--norc", "run.sh"}) == V{"run.sh"});
    CHECK(scripts(sh, {"sh", "--", "-odd"}) == V{"-odd"});
    CHECK(scripts(sh, {"sh", "-", "run.sh"}) == V{"run.sh"});  // "-" ends a shell's options
    CHECK(scripts(sh, {"sh", "-c", "/srv/hx/dtools/evil2"}).empty());
    CHECK(scripts("/usr/bin/bash", {"bash", "-lc", "make"}).empty());
    CHECK(scripts("/usr/bin/bash", {"bash", "-c", "-l", "make"}).empty());
    CHECK(scripts("/usr/bin/bash", {"bash", "-x", "-c", "evil.sh"}).empty());
    CHECK(scripts(sh, {"sh", "-s", "run.sh"}).empty());
    CHECK(scripts(sh, {"sh"}).empty());
    CHECK(scripts(sh, {"sh", "-e"}).empty());
    // An unknown option may take a value: the operand after the first is judged too.
    CHECK(scripts("/usr/bin/bash", {"bash", "-D", "a.sh", "b.sh"}) == V{"a.sh", "b.sh"});
}

TEST_CASE("python, perl, ruby, node, php, lua: their own options", "[exec][interp]") {
    const std::string py = "/usr/bin/python3.12";
    CHECK(scripts(py, {"python3", "evil.py"}) == V{"evil.py"});
    CHECK(scripts(py, {"python3", "-u", "-W", "ignore", "-X", "dev", "-Bu", "evil.py", "-c"}) == V{"evil.py"});
    CHECK(scripts(py, {"python3", "-Wignore", "evil.py"}) == V{"evil.py"});
    // -W takes "-c" as its value: the script still runs.
    CHECK(scripts(py, {"python3", "-W", "-c", "evil.py"}) == V{"evil.py"});
    CHECK(scripts(py, {"python3", "-c", "print(1)"}).empty());
    CHECK(scripts(py, {"python3", "-Ic", "print(1)"}).empty());
    CHECK(scripts(py, {"python3", "-m", "http.server"}).empty());
    CHECK(scripts(py, {"python3", "-", "x"}).empty());
    CHECK(scripts("/usr/bin/perl", {"perl", "-w", "-I", "lib", "tool.pl"}) == V{"tool.pl"});
    CHECK(scripts("/usr/bin/perl", {"perl", "-le", "print 1"}).empty());
    CHECK(scripts("/usr/bin/perl", {"perl", "-l0e", "print 1"}).empty());
    CHECK(scripts("/usr/bin/perl", {"perl", "-i.bak", "tool.pl", "f"}) == V{"tool.pl"});
    CHECK(scripts("/usr/bin/ruby3.1", {"ruby", "-r", "json", "t.rb"}) == V{"t.rb"});
    CHECK(scripts("/usr/bin/ruby3.1", {"ruby", "-e", "p 1"}).empty());
    CHECK(scripts("/usr/bin/node", {"node", "--require", "./hook.js", "app.js"}) == V{"app.js"});
    CHECK(scripts("/usr/bin/node", {"node", "--max-old-space-size=4096", "app.js"}) == V{"app.js"});
    CHECK(scripts("/usr/bin/node", {"node", "-e", "1"}).empty());
    CHECK(scripts("/usr/bin/node", {"node", "--eval", "1"}).empty());
    CHECK(scripts("/usr/bin/php8.2", {"php", "-f", "x.php"}) == V{"x.php"});
    CHECK(scripts("/usr/bin/php8.2", {"php", "-qfx.php"}) == V{"x.php"});
    CHECK(scripts("/usr/bin/php8.2", {"php", "-c", "/etc/php.ini", "x.php"}) == V{"x.php"});  // -c: php.ini
    CHECK(scripts("/usr/bin/php8.2", {"php", "-r", "echo 1;"}).empty());
    CHECK(scripts("/usr/bin/lua5.4", {"lua", "-l", "lfs", "s.lua"}) == V{"s.lua"});
    CHECK(scripts("/usr/bin/lua5.4", {"lua", "-e", "x=1", "s.lua"}) == V{"s.lua"});  // runs both
    CHECK(scripts("/usr/bin/php8.2", {"php", "-B", "echo 1;", "x.php"}) == V{"x.php"});
}

TEST_CASE("busybox is a shell through its applet name", "[exec][interp]") {
    CHECK(scripts("/usr/bin/busybox", {"sh", "run.sh"}) == V{"run.sh"});
    CHECK(scripts("/usr/bin/busybox", {"busybox", "ash", "run.sh"}) == V{"run.sh"});
    CHECK(scripts("/usr/bin/busybox", {"busybox", "sh", "-c", "x"}).empty());
    CHECK(scripts("/usr/bin/busybox", {"ls", "run.sh"}).empty());
}

TEST_CASE("a cut argv: the script is undetermined, never guessed", "[exec][interp]") {
    auto r = scripts_of("/usr/bin/dash", {"sh", "/srv/hx/dto"}, true);
    CHECK(r.undetermined);
    CHECK(r.candidates.empty());
    r = scripts_of("/usr/bin/dash", {"sh", "-e"}, true);  // the script may be past the cut
    CHECK(r.undetermined);
    r = scripts_of("/usr/bin/dash", {"sh", "/srv/run.sh", "arg"}, true);  // whole before the cut
    CHECK_FALSE(r.undetermined);
    CHECK(r.candidates == V{"/srv/run.sh"});
    CHECK_FALSE(scripts_of("/usr/bin/dash", {"sh", "-c", "x"}, true).undetermined);
}

TEST_CASE("the kernel lets an exec run unheld only where the daemon finds no script", "[exec][interp]") {
    auto entries = kernel_entries();
    REQUIRE(entries.size() > 10);
    const std::string first_args[] = {"-c", "-lc", "-xc", "-ec", "-cl", "-le", "-l0e", "-00e", "-Ic", "-Wc", "-We", "-pe",
                            "-e", "-r", "-f", "-qf", "-s", "-m", "-", "--", "-oc", "-Oc", "-lfoo", "-b", "-B",
                            "-xe", "-ic", "-Ec", "-Xc", "--eval", "+c", "-10e", "-ce", "-W"};
    for (const auto& k : entries) {
        std::string name(k.key.name);
        std::string image = "/usr/bin/" + name;
        // Every name the kernel knows is one the daemon knows (and so judges).
        if (name != "busybox") REQUIRE(interpreter_of(image) != nullptr);
        for (const auto& first : first_args)
            for (const V& rest : {V{}, V{"/srv/evil"}, V{"/srv/evil", "/srv/evil2"}})
                for (const std::string& argv0 : {name, std::string("sh")}) {  // busybox: its applet
                    V argv{argv0, first};
                    argv.insert(argv.end(), rest.begin(), rest.end());
                    if (kernel_may_run_script(k, argv)) continue;
                    INFO(image << " " << argv0 << " " << first << " +" << rest.size());
                    CHECK(scripts_of(image, argv, false).candidates.empty());
                }
        // argv[0] alone: the program is stdin.
        CHECK_FALSE(kernel_may_run_script(k, {name}));
        CHECK(scripts_of(image, {name}, false).candidates.empty());
        // A plain operand is always held.
        CHECK(kernel_may_run_script(k, {name, "/srv/evil"}));
    }
    // The shortcut covers the common agent shapes.
    for (const auto& k : entries) {
        std::string name(k.key.name);
        if (name == "bash") {
            CHECK_FALSE(kernel_may_run_script(k, {"bash", "-c", "make"}));
            CHECK_FALSE(kernel_may_run_script(k, {"bash", "-lc", "make"}));
        }
        if (name == "python") CHECK_FALSE(kernel_may_run_script(k, {"python3", "-c", "1"}));
        if (name == "perl") CHECK_FALSE(kernel_may_run_script(k, {"perl", "-le", "1"}));
    }
}
