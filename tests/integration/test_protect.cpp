// Self-protection covers stockade's own files and directories, never the directories that hold
// them: an agent may use a sibling of the journal while the journal itself stays protected.
#include <catch2/catch.hpp>

#include "daemon_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

TEST_CASE("self-protection: the journal is protected and its directory's other files are not", "[enforce]") {
    ScratchDir d("protect");
    Daemon daemon(d);
    std::string dir = fs::path(daemon.journal()).parent_path().string();
    fs::create_directories(dir);
    // Monitor mode: only self-protection stops anything, and the boundary allows the whole directory.
    write_file(d / "agents.d/p.yaml",
               "agent: protect\nmode: monitor\nmatch:\n  cgroup: /stockade-it-unused-protect\n"
               "files:\n  read: [\"" + dir + "/**\"]\n  write: [\"" + dir + "/**\", /dev/null]\n"
               "  create: [\"" + dir + "/**\"]\nexec:\n  allow: [/usr/bin/python3]\n");
    daemon.start();
    std::string sibling = dir + "/sibling.txt";
    std::string script = "open('" + sibling + "', 'w').write('mine')\nprint('sibling written', flush=True)\n"
                         "f = open('" + daemon.journal() + "', 'a')\nf.write('forged\\n')\nf.close()\n"
                         "print('journal written', flush=True)\n";
    std::string out;
    int st = daemon.run_as("protect", {"/usr/bin/python3", "-I", "-c", script}, &out);
    INFO(out);
    CHECK(out.find("sibling written") != std::string::npos);
    CHECK(Daemon::slurp(sibling) == "mine");
    CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));
    CHECK(out.find("journal written") == std::string::npos);
    auto r = daemon.wait_record([&](const Record& r) { return r.action == "open" && r.path == daemon.journal(); });
    REQUIRE(r);
    CHECK(r->rule == "builtin:self-protection");
    CHECK(r->verdict == jr::Verdict::Kill);
    // Not one byte was appended: every line is still a record (the script's own text, with
    // "forged", is in its exec record's argv).
    std::string text = Daemon::slurp(daemon.journal());
    CHECK(text.find("\nforged\n") == std::string::npos);
    CHECK(text.rfind("forged", 0) != 0);
    CHECK(run_command({bin("stockade"), "verify", daemon.journal()}) == 0);
    // The sibling's write was neither refused nor journaled as a violation.
    for (auto& rec : daemon.records())
        if (rec.path == sibling) CHECK(rec.rule != "builtin:self-protection");
}
