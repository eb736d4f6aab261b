// Real programs under a file-strict enforcing boundary (every file rule exact or a directory, so
// the kernel refuses opens outside them): what fails harmlessly is an attempt, not a kill (curl's
// probe of a missing ~/.curlrc), a denied file that exists is still stopped before a byte is read,
// a file a rule names may be replaced by rename, the runtimes start clean on the builtin system
// read alone, and `stockade run` says on stderr what was stopped and why.
#include <catch2/catch.hpp>
#include <thread>

#include "daemon_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

std::string boundary(const ScratchDir& d) {
    return "agent: tries\nmode: enforce\nmatch:\n  cgroup: /stockade-it-unused-tries\n"
           "files:\n  read: [\"" + d / "work/**" + "\", \"" + d / "conf/settings.txt" + "\"]\n"
           "  write: [\"" + d / "work/**" + "\"]\n"
           "exec:\n  allow: [/usr/bin/curl, /usr/bin/cat, /usr/bin/dash, /usr/bin/node, /usr/bin/python3,\n"
           "          /usr/bin/python3.11, \"/usr/lib/jvm/**\", /usr/bin/go, \"/usr/lib/go-*/**\"]\n";
}

size_t kills(const Daemon& daemon) {
    size_t n = 0;
    for (auto& r : daemon.records()) n += r.verdict == jr::Verdict::Kill;
    return n;
}

std::string dump(const Daemon& daemon) {
    std::string s;
    for (auto& r : daemon.records())
        if (r.verdict != jr::Verdict::None && r.verdict != jr::Verdict::Allow)
            s += r.action + " " + r.path + " " + std::string(jr::to_string(r.verdict)) + " " + r.rule + " [" +
                 std::string(jr::to_string(r.enforcement)) + "] " + std::to_string(r.result) + " " + r.resolved + "\n";
    return s;
}

struct Setup {
    ScratchDir d{"tries"};
    std::unique_ptr<Daemon> daemon;
    Setup() {
        write_file(d / "work/data.txt", "work data\n");
        write_file(d / "conf/settings.txt", "first settings\n");
        write_file(d / "secret/token.txt", "TOKEN-8f3a-never-read\n");
        write_file(d / "agents.d/tries.yaml", boundary(d));
        daemon = std::make_unique<Daemon>(d);
        daemon->start();
    }
};

}  // namespace

TEST_CASE("a failed open is an attempt; a denied existing file is stopped before a byte is read", "[enforce][attempts]") {
    Setup s;
    auto& daemon = *s.daemon;
    // curl looks for ~/.curlrc and ~/.config/curlrc, which do not exist: it runs to the end.
    std::string out;
    int st = daemon.run_as("tries", {"/usr/bin/curl", "-s", "file://" + s.d / "work/data.txt"}, &out);
    INFO(out << dump(daemon));
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(out.find("work data") != std::string::npos);
    CHECK(kills(daemon) == 0);

    // A missing file outside the boundary: the open fails, is journaled with its errno, and cat
    // reports the error itself.
    st = daemon.run_as("tries", {"/usr/bin/cat", s.d / "elsewhere/missing.txt"}, &out);
    INFO(out << dump(daemon));
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 1);
    auto tried = daemon.wait_record([&](const Record& r) { return r.path == s.d / "elsewhere/missing.txt"; });
    REQUIRE(tried);
    CHECK(tried->verdict == jr::Verdict::Flag);
    CHECK(tried->result == -ENOENT);
    CHECK(tried->resolved.find("ENOENT") != std::string::npos);
    CHECK(kills(daemon) == 0);

    // The same for a file that exists: killed in the kernel at the open's exit, before any read.
    st = daemon.run_as("tries", {"/usr/bin/cat", s.d / "secret/token.txt"}, &out);
    INFO(out << dump(daemon));
    CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));
    CHECK(out.find("TOKEN-8f3a") == std::string::npos);  // zero harm: no byte of it came out
    auto stopped = daemon.wait_record([&](const Record& r) { return r.path == s.d / "secret/token.txt"; });
    REQUIRE(stopped);
    CHECK(stopped->verdict == jr::Verdict::Kill);
    CHECK(stopped->enforcement == jr::Enforcement::KilledInKernel);
    // stockade run says which process was stopped, for which action, under which rule.
    CHECK(out.find("stockade run: agent tries: pid " + std::to_string(stopped->pid) + " (/usr/bin/cat") !=
          std::string::npos);
    CHECK(out.find("was stopped (killed-in-kernel) for open (read) " + s.d / "secret/token.txt" + " under rule " +
                   stopped->rule) != std::string::npos);
}

TEST_CASE("a file a rule names, replaced by rename, is followed without a reload", "[enforce][attempts]") {
    Setup s;
    auto& daemon = *s.daemon;
    std::string out;
    int st = daemon.run_as("tries", {"/usr/bin/cat", s.d / "conf/settings.txt"}, &out);
    INFO(out << dump(daemon));
    CHECK(WEXITSTATUS(st) == 0);
    // As a package upgrade does: a new file (a new inode) renamed over the old one.
    write_file(s.d / "conf/settings.txt.new", "second settings\n");
    fs::rename(s.d / "conf/settings.txt.new", s.d / "conf/settings.txt");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    st = daemon.run_as("tries", {"/usr/bin/cat", s.d / "conf/settings.txt"}, &out);
    INFO(out << dump(daemon));
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(out.find("second settings") != std::string::npos);
    CHECK(kills(daemon) == 0);
}

TEST_CASE("runtimes start clean on the builtin system read alone", "[enforce][attempts]") {
    Setup s;
    auto& daemon = *s.daemon;
    std::vector<std::vector<std::string>> runs = {
        {"/usr/bin/dash", "-c", "cat " + s.d / "work/data.txt"},
        {"/usr/bin/python3", "-I", "-c", "import os, json; print(json.dumps(os.cpu_count() > 0))"},
    };
    if (fs::exists("/usr/bin/node")) runs.push_back({"/usr/bin/node", "-e", "console.log(require('os').cpus().length > 0)"});
    if (fs::exists("/usr/bin/java")) runs.push_back({"/usr/bin/java", "-XX:-UsePerfData", "-version"});
    std::string go = fs::exists("/usr/bin/go") ? "/usr/bin/go" : "";
    if (!go.empty()) runs.push_back({go, "version"});  // a Go binary: its runtime reads hpage_pmd_size
    else WARN("no /usr/bin/go (Debian's golang-go, scripts/install-deps.sh): the Go runtime is not tried");
    for (auto& argv : runs) {
        std::string out;
        int st = daemon.run_as("tries", argv, &out);
        INFO(argv[0] << ": " << out << dump(daemon));
        CHECK(WIFEXITED(st));
        CHECK(WEXITSTATUS(st) == 0);
        CHECK(kills(daemon) == 0);
    }
}
