// From monitor to enforce through the real daemon: learn a git session in monitor mode, suggest
// a boundary, enforce it, replay the same session (nothing journaled as a violation), step
// outside (killed), and replay an edited boundary.
#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "daemon_harness.hpp"
#include "journal/timefmt.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

// A fresh repository with three files (made by the test, not the agent).
void fresh_repo(const std::string& repo) {
    fs::remove_all(repo);
    for (const char* f : {"a.txt", "b.txt", "c.txt"}) write_file(repo + "/" + f, std::string("hello from ") + f + "\n");
}

std::string git_session(const ScratchDir& d) {
    return "set -e\ncd " + d / "work/repo" + "\nexport HOME=" + d / "work/home" +
           " GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t "
           "GIT_COMMITTER_EMAIL=t@example.com GIT_AUTHOR_DATE=2026-01-01T00:00:00Z "
           "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z\n"
           "git init -q -b main .\ngit add a.txt b.txt c.txt\ngit commit -q -m first\ngit log --oneline\n"
           "grep -n hello a.txt b.txt c.txt\ncat a.txt\n";
}

uint64_t last_seq(const Daemon& daemon) {
    auto all = daemon.records();
    return all.empty() ? 0 : all.back().seq;
}

// Waits until the session's last action (cat reading a.txt) after `mark` is journaled.
bool session_done(const Daemon& daemon, const ScratchDir& d, uint64_t mark) {
    return daemon
        .wait_record([&](const Record& r) {
            return r.seq > mark && r.exe == "/usr/bin/cat" && r.path == d / "work/repo/a.txt";
        })
        .has_value();
}

}  // namespace

TEST_CASE("suggest from a monitored git session, enforce it, replay an edited boundary", "[learn]") {
    ScratchDir d("learn");
    fs::create_directories(d / "work/home");
    write_file(d / "work/secret.txt", "never read while learning\n");
    std::string learning = "agent: learner\nmode: monitor\njournal_allowed: full\nmatch:\n  cgroup: /stockade-it-unused-learner\n";
    write_file(d / "agents.d/learner.yaml", learning);
    std::string out;

    // 1. Learn: monitor mode, every allowed action journaled.
    {
        Daemon daemon(d);
        daemon.start();
        fresh_repo(d / "work/repo");
        int st = daemon.run_as("learner", {"/bin/sh", "-c", git_session(d)}, &out);
        INFO(out);
        REQUIRE(WIFEXITED(st));
        REQUIRE(WEXITSTATUS(st) == 0);
        CHECK(out.find("a.txt:1:hello from a.txt") != std::string::npos);
        REQUIRE(session_done(daemon, d, 0));
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    std::string journal = d / "journal/journal.jsonl";
    int st = run_command({bin("stockade"), "--journal", journal, "suggest", "--agent", "learner", "--boundary",
                          d / "agents.d/learner.yaml", "-o", d / "suggested.yaml"},
                         &out);
    std::string suggested = Daemon::slurp(d / "suggested.yaml");
    INFO(out << "\n" << suggested);
    REQUIRE(WEXITSTATUS(st) == 0);
    CHECK(suggested.find("mode: enforce") != std::string::npos);
    CHECK(suggested.find("cgroup: [\"/stockade-it-unused-learner\"]") != std::string::npos);
    CHECK(suggested.find("- \"/usr/bin/git\"  # ") != std::string::npos);
    CHECK(suggested.find(d / "work/secret.txt") == std::string::npos);
    CHECK(suggested.find("\"/**\"") == std::string::npos);
    st = run_command({bin("stockade"), "check", d / "suggested.yaml"}, &out);
    CHECK(WEXITSTATUS(st) == 0);

    // 2. Enforce the suggestion (allowed actions journaled in full, for the replay below).
    write_file(d / "agents.d/learner.yaml", suggested + "journal_allowed: full\n");
    Daemon daemon(d);
    daemon.start();
    uint64_t mark = last_seq(daemon);
    std::string since = stockade::journal::format_rfc3339(std::chrono::system_clock::now());
    fresh_repo(d / "work/repo");
    st = daemon.run_as("learner", {"/bin/sh", "-c", git_session(d)}, &out);
    INFO(out);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    REQUIRE(session_done(daemon, d, mark));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::string violations;
    for (auto& r : daemon.records())
        if (r.seq > mark && r.agent == "learner" && r.type == jr::RecordType::Decision &&
            r.verdict != jr::Verdict::Allow)
            violations += r.action + " " + r.access + " " + r.path + r.address + " -> " +
                          std::string(jr::to_string(r.verdict)) + "\n";
    CHECK(violations.empty());

    // 3. A step outside what was learned: reading a file never read before is a kill. The shell
    // keeps busy after the open so the kill finds it alive.
    st = daemon.run_as("learner", {"/bin/sh", "-c", "exec 3< " + d / "work/secret.txt" +
                                                        "; i=0; while [ $i -lt 1000000 ]; do i=$((i+1)); done"},
                       &out);
    CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));
    auto killed = daemon.wait_record([&](const Record& r) { return r.seq > mark && r.path == d / "work/secret.txt"; });
    REQUIRE(killed);
    CHECK(killed->verdict == jr::Verdict::Kill);
    CHECK(killed->rule == "learner.yaml:default-deny");

    // 4. Replay: the suggestion itself changes nothing it decided; without its rule for cat,
    // exactly the exec records of cat change, and the exit code says something allowed would
    // now be denied.
    auto replay = [&](const std::string& file) {
        return run_command({bin("stockade"), "--journal", journal, "replay", "--boundary", file, "--agent", "learner",
                            "--since", since},
                           &out);
    };
    st = replay(d / "suggested.yaml");
    INFO(out);
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(out.find("changed: 0 ") != std::string::npos);

    std::string edited;
    std::istringstream lines(suggested);
    for (std::string line; std::getline(lines, line);)
        if (line.find("- \"/usr/bin/cat\"") == std::string::npos) edited += line + "\n";
    REQUIRE(edited.size() < suggested.size());
    write_file(d / "edited.yaml", edited);
    st = replay(d / "edited.yaml");
    INFO(out);
    CHECK(WEXITSTATUS(st) == 1);
    std::set<uint64_t> expected, reported;
    for (auto& r : daemon.records())
        if (r.seq > mark && r.agent == "learner" && r.action == "exec" && r.path == "/usr/bin/cat") expected.insert(r.seq);
    std::istringstream rep(out);
    for (std::string line; std::getline(rep, line);)
        if (line.rfind("  seq ", 0) == 0) {
            reported.insert(std::stoull(line.substr(6)));
            CHECK(line.find("exec /usr/bin/cat: allow (") != std::string::npos);
            CHECK(line.find("-> kill (edited.yaml:default-deny)") != std::string::npos);
        }
    CHECK(expected.size() == 1);  // the git session runs cat once
    CHECK(reported == expected);
}

TEST_CASE("suggest learns nothing from violations: a secret read and a denied connect", "[learn]") {
    ScratchDir d("learnviol");
    write_file(d / "work/notes.txt", "notes\n");
    write_file(d / "secret/key.pem", "PRIVATE KEY\n");
    LoopbackListener listener;
    std::string port = std::to_string(listener.port);
    write_file(d / "agents.d/l.yaml", "agent: learner2\nmode: monitor\njournal_allowed: full\nmatch:\n"
                                      "  cgroup: /stockade-it-unused-learner2\nfiles:\n  never: [\"" + d / "secret/**" +
                                      "\"]\nnetwork:\n  deny:\n    - { cidr: 127.0.0.1/32, ports: " + port + " }\n");
    std::string out;
    {
        Daemon daemon(d);
        daemon.start();
        std::string session = "cat " + d / "work/notes.txt" + "; cat " + d / "secret/key.pem" +
                              "; /usr/bin/curl -s -m 1 -o /dev/null http://127.0.0.1:" + port + "/; true";
        daemon.run_as("learner2", {"/bin/sh", "-c", session}, &out);
        INFO(out);
        REQUIRE(daemon.wait_record([&](const Record& r) { return r.path == d / "secret/key.pem"; }));
        auto connect = daemon.wait_record([&](const Record& r) { return r.action == "connect" && r.port == listener.port; });
        REQUIRE(connect);
        CHECK(connect->verdict == jr::Verdict::WouldDeny);
        CHECK(connect->rule == "l.yaml:network.deny[0]");
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    int st = run_command({bin("stockade"), "--journal", d / "journal/journal.jsonl", "suggest", "--agent", "learner2",
                          "-o", d / "suggested.yaml"},
                         &out);
    std::string suggested = Daemon::slurp(d / "suggested.yaml");
    INFO(out << "\n" << suggested);
    REQUIRE(WEXITSTATUS(st) == 0);
    CHECK(suggested.find(d / "work/notes.txt") != std::string::npos);  // what ran unlisted is learned
    CHECK(suggested.find("- \"/usr/bin/curl\"") != std::string::npos);
    CHECK(suggested.find(d / "secret") == std::string::npos);           // the secret read is not
    CHECK(suggested.find("127.0.0.1") == std::string::npos);            // nor the denied connect
    CHECK(suggested.find("violations (of files.never") != std::string::npos);
}
