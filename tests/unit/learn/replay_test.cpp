// `stockade replay` on a synthetic journal written with the real journal writer: exactly the
// actions whose verdict changes are reported, and the exit code says whether any allowed one
// would now be a violation.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "cli/commands.hpp"
#include "cli/learn.hpp"
#include "journal/reader.hpp"
#include "journal/writer.hpp"
#include "policy/load.hpp"

using namespace stockade;
using namespace stockade::cli;
using journal::Record;

namespace {

struct Scratch {
    std::string dir;
    Scratch() {
        std::string t = (std::filesystem::temp_directory_path() / "stockade-learn-XXXXXX").string();
        REQUIRE(::mkdtemp(t.data()));
        dir = t;
    }
    ~Scratch() { std::filesystem::remove_all(dir); }
    std::string file(const std::string& name, const std::string& text) const {
        std::ofstream(dir + "/" + name) << text;
        return dir + "/" + name;
    }
};

Record rec(const std::string& agent, const std::string& action, const std::string& path, const std::string& verdict,
           const std::string& access = "read") {
    Record r;
    r.agent = agent;
    r.action = action;
    r.path = path;
    r.access = action == "open" ? access : "";
    r.verdict = stockade::journal::verdict_from(verdict).value();
    r.rule = verdict == "allow" ? "old.yaml:files.read[0]" : "old.yaml:default-deny";
    return r;
}

// Seqs 1-8: what the old boundary decided, for two agents.
std::string write_journal(const Scratch& s) {
    journal::WriterOptions o;
    o.path = s.dir + "/journal.jsonl";
    o.group = "";
    o.fsync = journal::FsyncPolicy::Never;
    o.mirror = journal::MirrorPolicy::Off;
    journal::Writer w(o);
    std::vector<Record> v = {
        rec("coder", "open", "/srv/repo/a.c", "allow"),         // 1: stays allowed
        rec("coder", "open", "/srv/repo/secret.key", "allow"),  // 2: now a violation
        rec("coder", "exec", "/usr/bin/git", "allow"),          // 3: stays allowed
        rec("coder", "exec", "/usr/bin/curl", "kill"),          // 4: now allowed
        rec("coder", "open", "/etc/shadow", "kill"),            // 5: stays a violation
        rec("other", "open", "/srv/repo/secret.key", "allow"),  // 6: another agent: not replayed
    };
    Record c = rec("coder", "connect", "", "would-deny");  // 7: now allowed through its host rule
    c.address = "93.184.216.34";
    c.port = 443;
    c.protocol = "tcp";
    c.hostname = "api.example.com";
    v.push_back(c);
    Record g = rec("coder", "open", "/data/x", "allow");  // 8: a task grant allowed it: skipped
    g.task = "t-1";
    g.grant = "t-1/grant[0]";
    g.rule = "task:t-1/grant[0]";
    v.push_back(g);
    for (auto& r : v) w.append(r);
    return o.path;
}

const char* kCandidate =
    "agent: coder\nmode: enforce\nmatch: { unit: agent-coder.service }\n"
    "files:\n  read: [\"/srv/repo/*.c\"]\n  never: [\"**/*.key\"]\n"
    "exec:\n  allow: [/usr/bin/git, /usr/bin/curl]\n"
    "network:\n  connect:\n    - { host: api.example.com, ports: 443, protocol: tcp }\n";

}  // namespace

TEST_CASE("replay reports exactly the actions whose verdict changes, with the rule now deciding", "[learn]") {
    Scratch s;
    std::string j = write_journal(s);
    auto set = policy::load_boundary_text("new.yaml", kCandidate);
    REQUIRE(set.ok());
    journal::Filter f;
    f.agent = "coder";
    auto rr = learn::replay(*set.set->agents().at(0), journal::read_last(j, SIZE_MAX, f));
    CHECK(rr.judged == 6);
    CHECK(rr.skipped == 1);
    REQUIRE(rr.changes.size() == 3);
    CHECK(rr.changes[0].record.seq == 2);
    CHECK(rr.changes[0].was_allowed);
    CHECK(rr.changes[0].now.rule_id == "new.yaml:files.never[0]");
    CHECK(rr.changes[0].now.decision == Decision::Kill);
    CHECK(rr.changes[1].record.seq == 4);
    CHECK_FALSE(rr.changes[1].was_allowed);
    CHECK(rr.changes[1].now.rule_id == "new.yaml:exec.allow[1]");
    CHECK(rr.changes[2].record.seq == 7);
    CHECK(rr.changes[2].now.rule_id == "new.yaml:network.connect[0]");
    CHECK(rr.newly_denied() == 1);
    CHECK(rr.by_rule["new.yaml:files.read[0]"] == std::pair<uint64_t, uint64_t>{1, 0});
    CHECK(rr.by_rule["new.yaml:default-deny"] == std::pair<uint64_t, uint64_t>{0, 1});
    CHECK(rr.by_rule["new.yaml:exec.allow[0]"] == std::pair<uint64_t, uint64_t>{1, 0});
}

TEST_CASE("stockade replay exits 1 when something allowed would now be denied, 0 otherwise", "[learn]") {
    Scratch s;
    std::string j = write_journal(s);
    ReplayOptions o{s.file("new.yaml", kCandidate), j, "", ""};
    CHECK(cmd_replay(o) == kExitNo);
    // Without the never rule only violations turn into allows: nothing new is denied.
    std::string wider = kCandidate;
    wider.replace(wider.find("  never: [\"**/*.key\"]\n"), 22, "");
    wider.replace(wider.find("\"/srv/repo/*.c\""), 15, "\"/srv/repo/*\"");
    o.boundary = s.file("wider.yaml", wider);
    CHECK(cmd_replay(o) == kExitOk);
    o.boundary = s.file("broken.yaml", "agent: coder\nflies: {}\n");
    CHECK(cmd_replay(o) == kExitUsage);
}
