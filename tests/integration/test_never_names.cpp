// A files.never file is never under any name. A dir/** rule is held in the kernel by the
// directory's inode, met on the way up from the name opened: another name for one of its files
// (a hard link made beforehand, or one the agent makes, or a rename out of the tree) would not
// pass that directory. The attacks read the secret through such a name; no byte may arrive.
#include <catch2/catch.hpp>
#include <thread>

#include "daemon_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

std::string boundary(const ScratchDir& d) {
    fs::create_directories(d / "work");
    return "agent: names\nmode: enforce\non_violation: kill\nmatch:\n  cgroup: /stockade-it-unused-names\n"
           "files:\n  read: [\"" + d / "**" + "\"]\n  write: [\"" + d / "work/**" + "\"]\n  create: [\"" +
           d / "work/**" + "\"]\n  delete: [\"" + d / "**" + "\"]\n  never: [\"" + d / "vault/**" +
           "\", \"**/.env\"]\nexec:\n  allow: [/usr/bin/cat, /usr/bin/dash, /usr/bin/mv, /usr/bin/ln]\n";
}

std::string dump(const Daemon& daemon) {
    std::string s;
    for (auto& r : daemon.records())
        if (r.verdict != jr::Verdict::None && r.verdict != jr::Verdict::Allow)
            s += r.action + " " + r.path + " -> " + r.path2 + " " + std::string(jr::to_string(r.verdict)) + " " +
                 r.rule + " [" + std::string(jr::to_string(r.enforcement)) + "]\n";
    return s;
}

}  // namespace

TEST_CASE("a hard link made beforehand to a file below a never directory is that file: reading it is killed in the kernel",
          "[enforce][names]") {
    ScratchDir d("names-pre");
    write_file(d / "vault/key", "TOPSECRET\n");
    write_file(d / "agents.d/n.yaml", boundary(d));
    bool before = true;
    SECTION("made before the daemon started") {}
    SECTION("made while the daemon runs") { before = false; }
    // Made by someone else (root): a name outside the vault.
    auto make_link = [&] { REQUIRE(link((d / "vault/key").c_str(), (d / "work/innocent.txt").c_str()) == 0); };
    if (before) make_link();
    Daemon daemon(d);
    daemon.start();
    if (!before) {
        make_link();  // the vault's link count changed: the daemon plans its tables again
        bool replanned = false;
        for (int i = 0; i < 100 && !replanned; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            replanned = Daemon::slurp(daemon.log()).find("kernel tables planned again") != std::string::npos;
        }
        REQUIRE(replanned);
    }
    // Landlock allows the read (work/ is readable); only the kernel's inode table can tell.
    for (bool landlock : {false, true}) {
        INFO("landlock " << landlock);
        fs::remove(d / "work/copy");
        std::vector<std::string> cmd{bin("stockade"), "--socket", daemon.socket(), "run", "--agent", "names"};
        if (!landlock) cmd.insert(cmd.begin() + 4, "--no-landlock");
        cmd.insert(cmd.end(), {"--", "/usr/bin/dash", "-c", "/usr/bin/cat " + d / "work/innocent.txt" + " > " + d / "work/copy"});
        run_command(cmd);
        REQUIRE(fs::exists(d / "work/copy"));
        CHECK(fs::file_size(d / "work/copy") == 0);  // cat died in its open
        auto r = daemon.wait_record([&](const Record& r) { return r.action == "open" && r.path == d / "work/innocent.txt"; });
        INFO(dump(daemon));
        REQUIRE(r);
        CHECK(r->verdict == jr::Verdict::Kill);
        CHECK(r->rule == "n.yaml:files.never[0]");
        CHECK(r->enforcement == jr::Enforcement::KilledInKernel);
    }
}

TEST_CASE("a never file the agent renames or links keeps being never under its new name", "[enforce][names]") {
    ScratchDir d("names-new");
    write_file(d / "vault/key", "TOPSECRET\n");
    write_file(d / "work/.env", "API_KEY=ENVSECRET\n");
    write_file(d / "agents.d/n.yaml", boundary(d));
    Daemon daemon(d);
    daemon.start();
    // The step that gives the new name is killed (it broke the never rule), but it ran: the shell
    // goes on to read the file by that name. Without Landlock: the probes alone.
    std::string from, tool, rule;
    SECTION("mv out of a never directory") { from = d / "vault/key", tool = "/usr/bin/mv", rule = "n.yaml:files.never[0]"; }
    SECTION("ln out of a never directory") { from = d / "vault/key", tool = "/usr/bin/ln", rule = "n.yaml:files.never[0]"; }
    SECTION("mv of a file a never glob names") { from = d / "work/.env", tool = "/usr/bin/mv", rule = "n.yaml:files.never[1]"; }
    SECTION("ln of a file a never glob names") { from = d / "work/.env", tool = "/usr/bin/ln", rule = "n.yaml:files.never[1]"; }
    std::string secret = Daemon::slurp(from);
    std::string to = d / "work/notes.txt";
    std::string script = tool + " " + from + " " + to + "; /usr/bin/cat " + to + " > " + d / "work/copy" +
                         "; echo ran-on > " + d / "work/marker";
    std::string out;
    daemon.run_as("names", {"/usr/bin/dash", "-c", script}, &out);
    INFO(out << dump(daemon));
    REQUIRE(fs::exists(d / "work/marker"));  // the shell went on: only the offending steps died
    REQUIRE(fs::exists(d / "work/copy"));
    CHECK(fs::file_size(d / "work/copy") == 0);  // not a byte of the secret under its new name
    CHECK(out.find(secret.substr(0, 8)) == std::string::npos);
    auto moved = daemon.wait_record([&](const Record& r) {
        return (r.action == "rename" || r.action == "link") && r.path == from;
    });
    REQUIRE(moved);
    CHECK(moved->rule == rule);
    CHECK(moved->verdict == jr::Verdict::Kill);
    auto read = daemon.wait_record([&](const Record& r) { return r.action == "open" && r.path == to; });
    REQUIRE(read);
    CHECK(read->verdict == jr::Verdict::Kill);
    CHECK(read->rule == rule);
    CHECK(read->enforcement == jr::Enforcement::KilledInKernel);
    // Deleted (every name of it), the file leaves the tables: its inode number could go to a new file.
    fs::remove(to);
    fs::remove(from);
    bool dropped = false;
    for (int i = 0; i < 60 && !dropped; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        dropped = Daemon::slurp(daemon.log()).find("pinned never file(s) deleted") != std::string::npos;
    }
    CHECK(dropped);
}

TEST_CASE("renaming an allowed file does not pin it: it stays readable under its new name", "[enforce][names]") {
    ScratchDir d("names-benign");
    write_file(d / "work/draft.txt", "DRAFT\n");
    write_file(d / "agents.d/n.yaml", boundary(d));
    Daemon daemon(d);
    daemon.start();
    std::string out;
    int st = daemon.run_as("names", {"/usr/bin/dash", "-c",
                                     "/usr/bin/mv " + d / "work/draft.txt" + " " + d / "work/final.txt" + " && /usr/bin/cat " +
                                         d / "work/final.txt"},
                           &out);
    INFO(out << dump(daemon));
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    CHECK(out.find("DRAFT") != std::string::npos);
}
