// Loading: directories, all-or-nothing, duplicates, warnings, ~ and symlink resolution,
// rule ids and the parsed contents other stages read.
#include <pwd.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace stockade;
using namespace stockade::policy;
using namespace stockade::policy::test;

namespace {

std::string agent_yaml(const std::string& name) { return "agent: " + name + "\nmatch: { unit: " + name + ".service }\n"; }

std::vector<Diagnostic> warnings_of(const LoadResult& res) {
    std::vector<Diagnostic> out;
    for (const auto& d : res.diagnostics)
        if (!d.error) out.push_back(d);
    return out;
}

}  // namespace

TEST_CASE("a directory loads every *.yaml and *.yml file, sorted", "[load]") {
    TempDir dir;
    dir.write("b.yml", agent_yaml("bee"));
    dir.write("a.yaml", agent_yaml("ant"));
    dir.write("notes.txt", "not a boundary: ignored");
    dir.write("sub/c.yaml", "broken: [ in a subdirectory, ignored");
    auto res = load_boundaries({dir.path()});
    INFO(all(res.diagnostics));
    REQUIRE(res.ok());
    REQUIRE(res.set);
    REQUIRE(res.set->agents().size() == 2);
    CHECK(res.set->agents()[0]->name == "ant");
    CHECK(res.set->agents()[1]->name == "bee");
    CHECK(res.files == 2);
    REQUIRE(res.set->find("bee"));
    CHECK(res.set->find("bee")->file == dir / "b.yml");
    CHECK(res.set->find("bee")->file_name == "b.yml");
    CHECK(res.set->find("nobody") == nullptr);
}

TEST_CASE("an empty directory is a valid empty set", "[load]") {
    TempDir dir;
    auto res = load_boundaries({dir.path()});
    CHECK(res.ok());
    REQUIRE(res.set);
    CHECK(res.set->agents().empty());
    CHECK(res.diagnostics.empty());
}

TEST_CASE("one broken file means no set at all", "[load]") {
    TempDir dir;
    dir.write("a.yaml", agent_yaml("ant"));
    dir.write("b.yaml", "agent: bee\nmatch: { unit: b.service }\nmode: sometimes\n");
    dir.write("c.yaml", agent_yaml("cat"));
    auto res = load_boundaries({dir.path()});
    CHECK_FALSE(res.ok());
    CHECK(res.set == nullptr);
    REQUIRE(res.diagnostics.size() == 1);
    CHECK(res.diagnostics[0].file == dir / "b.yaml");
    CHECK(res.diagnostics[0].line == 3);
    // check_paths reports the same without a set
    CHECK(check_paths({dir.path()}).size() == 1);
}

TEST_CASE("a missing path is an error", "[load]") {
    TempDir dir;
    auto res = load_boundaries({dir / "nope.yaml"});
    CHECK(res.set == nullptr);
    REQUIRE(res.diagnostics.size() == 1);
    CHECK(res.diagnostics[0].str() == dir / "nope.yaml" + ": error: cannot read: No such file or directory");
}

TEST_CASE("duplicate agent names across files name both files", "[load]") {
    TempDir dir;
    std::string first = dir.write("a.yaml", agent_yaml("twin"));
    std::string second = dir.write("b.yaml", "# the same agent again\n" + agent_yaml("twin"));
    auto res = load_boundaries({dir.path()});
    CHECK(res.set == nullptr);
    REQUIRE(res.diagnostics.size() == 1);
    CHECK(res.diagnostics[0].str() == second + ":2:8: error: agent \"twin\" is already defined in " + first + ":1:8");
    // the same file named twice is loaded once
    auto once = load_boundaries({first, dir.path() + "/./a.yaml"});
    CHECK(once.ok());
    CHECK(once.set->agents().size() == 1);
}

TEST_CASE("rule ids: file name and section index, or file name and rule name", "[load]") {
    auto set = load_ok(R"(agent: t
match: { unit: u }
files:
  read: [ /a/**, { name: docs, pattern: /docs/** } ]
  never: [ /a/secret ]
exec:
  deny: [ { name: no-curl, pattern: /usr/bin/curl } ]
network:
  connect: [ { cidr: 10.0.0.0/8 }, { name: web, host: example.com, ports: 443 } ]
  bind: [ 80 ]
)", "team-t.yaml");
    const Boundary& b = *set->find("t");
    CHECK(b.files.read[0].id == "team-t.yaml:files.read[0]");
    CHECK(b.files.read[1].id == "team-t.yaml:docs");
    CHECK(b.files.read[1].where == "files.read[1]");
    CHECK(b.files.never[0].id == "team-t.yaml:files.never[0]");
    CHECK(b.exec.deny[0].id == "team-t.yaml:no-curl");
    CHECK(b.network.connect[0].id == "team-t.yaml:network.connect[0]");
    CHECK(b.network.connect[1].id == "team-t.yaml:web");
    CHECK(b.network.bind[0].id == "team-t.yaml:network.bind[0]");
    CHECK(b.default_deny_id() == "team-t.yaml:default-deny");
    CHECK(decide(b, open_event("/elsewhere", kRead)).rule_id == "team-t.yaml:default-deny");
}

TEST_CASE("parsed contents are exposed with their kinds", "[load]") {
    auto set = load_ok(R"(agent: t
description: "a test agent"
mode: enforce
on_violation: kill-agent
journal_allowed: full
model_prompts: full
match:
  unit: [ a.service, b.service ]
  cgroup: stockade/t
  uid: 1234
home: /home/t/
files:
  read: [ /data/**, /data/one.txt, "/data/*.csv", "/x//./y/" ]
network:
  connect: [ { cidr: "2001:db8::/48", ports: [ 443, "8000-8010" ], protocol: udp } ]
)");
    const Boundary& b = *set->find("t");
    CHECK(b.description == "a test agent");
    CHECK(b.mode == Mode::Enforce);
    CHECK(b.on_violation == OnViolation::KillAgent);
    CHECK(b.journal_allowed == JournalAllowed::Full);
    CHECK(b.model_prompts);
    CHECK(b.match.units == std::vector<std::string>{"a.service", "b.service"});
    CHECK(b.match.cgroups == std::vector<std::string>{"/stockade/t"});
    CHECK(b.match.uid == 1234u);
    CHECK_FALSE(b.match.exe.has_value());
    CHECK(b.home == "/home/t");
    CHECK(b.files.read[0].kind() == PatternKind::Subtree);
    CHECK(b.files.read[0].dir() == "/data");
    CHECK(b.files.read[1].kind() == PatternKind::Exact);
    CHECK(b.files.read[2].kind() == PatternKind::Glob);
    CHECK(b.files.read[3].pattern == "/x/y");
    CHECK(b.files.read[3].text == "/x//./y/");
    const NetRule& n = b.network.connect[0];
    CHECK(n.family() == AF_INET6);
    CHECK(n.prefix_len() == 48);
    CHECK(n.address()[0] == 0x20);
    CHECK(n.address()[1] == 0x01);
    REQUIRE(n.ports.size() == 2);
    CHECK(n.ports[1].lo == 8000);
    CHECK(n.ports[1].hi == 8010);
    CHECK(n.protocol == Protocol::Udp);
    CHECK(n.host.empty());
    // defaults
    auto d = load_ok(agent_yaml("d"));
    const Boundary& db = *d->find("d");
    CHECK(db.mode == Mode::Monitor);
    CHECK(db.on_violation == OnViolation::KillProcess);
    CHECK(db.journal_allowed == JournalAllowed::Summary);
    CHECK_FALSE(db.model_prompts);  // digest
    CHECK(db.system_read);
    CHECK_FALSE(db.system_rules.empty());
    CHECK(db.system_rules[0].id == "builtin:system-read");
}

TEST_CASE("~ expands to home:, else to the passwd home of match.uid", "[load]") {
    auto set = load_ok("agent: t\nhome: /home/t\nmatch: { unit: u }\nfiles:\n  never: [ ~/.ssh/**, \"~\" ]\n");
    const Boundary& b = *set->find("t");
    CHECK(b.files.never[0].text == "~/.ssh/**");
    CHECK(b.files.never[0].pattern == "/home/t/.ssh/**");
    CHECK(b.files.never[1].pattern == "/home/t");

    struct passwd* root = ::getpwuid(0);
    REQUIRE(root);
    char resolved[PATH_MAX];
    std::string home = ::realpath(root->pw_dir, resolved) ? resolved : root->pw_dir;
    auto byuid = load_ok("agent: t\nmatch: { unit: u, uid: 0 }\nfiles:\n  read: [ ~/notes/** ]\n");
    CHECK(byuid->find("t")->home == root->pw_dir);
    CHECK(byuid->find("t")->files.read[0].pattern == home + "/notes/**");
}

TEST_CASE("symlinks in the literal part of a pattern are resolved at load", "[load]") {
    TempDir dir;
    std::filesystem::create_directories(dir / "data/sub");
    std::filesystem::create_symlink(dir / "data", dir / "link");
    char buf[PATH_MAX];
    REQUIRE(::realpath(dir.path().c_str(), buf));
    std::string real = buf;  // the temp dir itself may sit behind a symlink

    std::string yaml = "agent: t\nmode: enforce\nmatch: { unit: u }\nfiles:\n  read:\n"
                       "    - " + dir / "link/**" + "\n"
                       "    - " + dir / "link/sub/missing/*.txt" + "\n"
                       "    - " + dir / "link/sub" + "\n";
    auto set = load_ok(yaml);
    const Boundary& b = *set->find("t");
    CHECK(b.files.read[0].text == dir / "link/**");
    CHECK(b.files.read[0].pattern == real + "/data/**");
    CHECK(b.files.read[0].kind() == PatternKind::Subtree);
    CHECK(b.files.read[0].dir() == real + "/data");
    CHECK(b.files.read[1].pattern == real + "/data/sub/missing/*.txt");
    CHECK(b.files.read[2].pattern == real + "/data/sub");
    // the kernel reports the resolved path; that is what must match
    CHECK(decide(b, open_event(real + "/data/x", kRead)).rule_id == "t.yaml:files.read[0]");
    CHECK(decide(b, open_event(real + "/data/sub/missing/a.txt", kRead)).inside());
    Verdict v = decide(b, open_event("/elsewhere/x", kRead));
    CHECK(v.decision == Decision::Kill);
}

TEST_CASE("warnings for rules that can never match do not stop a load", "[load]") {
    auto res = load_boundary_text("w.yaml", R"(agent: w
home: /home/w
match: { unit: u }
files:
  read: [ ~/.ssh/config, /repo/** ]
  write: [ /repo/.env ]
  never: [ ~/.ssh/**, "**/.env" ]
exec:
  allow: [ /usr/bin/env, /no/such/tool-stockade-test, /usr/bin/* ]
  deny: [ /usr/bin/env ]
network:
  connect: [ { cidr: 10.1.0.0/16, ports: 443 }, { cidr: 10.2.0.0/16 } ]
  deny: [ { cidr: 10.0.0.0/8, ports: [ 443, 80 ] } ]
)");
    INFO(all(res.diagnostics));
    CHECK(res.ok());
    CHECK(res.set != nullptr);
    auto w = warnings_of(res);
    REQUIRE(w.size() == 5);
    CHECK(w[0].str() == "w.yaml:5:11: warning: files.read[0] \"~/.ssh/config\" can never match: files.never[0] "
                        "\"~/.ssh/**\" denies everything it names");
    CHECK(w[1].line == 6);  // /repo/.env under **/.env
    CHECK(w[2].str() == "w.yaml:9:12: warning: exec.allow[0] \"/usr/bin/env\" can never match: exec.deny[0] "
                        "\"/usr/bin/env\" denies everything it names");
    CHECK(w[3].str() == "w.yaml:9:26: warning: exec.allow[1] /no/such/tool-stockade-test does not exist on this "
                        "host; the rule can never match");
    CHECK(w[4].line == 12);
    CHECK(w[4].column == 14);
    CHECK(w[4].message.find("network.connect[0]") == 0);
}

TEST_CASE("format_diagnostics prints one line each and a summary", "[load]") {
    std::vector<Diagnostic> d = {{"a.yaml", 3, 5, "bad", true}, {"a.yaml", 4, 1, "odd", false}};
    CHECK(format_diagnostics(d) == "a.yaml:3:5: error: bad\na.yaml:4:1: warning: odd\n");
    CHECK(format_diagnostics(d, 1) == "a.yaml:3:5: error: bad\na.yaml:4:1: warning: odd\n1 error, 1 warning in 1 file\n");
    CHECK(format_diagnostics({}, 2) == "0 errors, 0 warnings in 2 files\n");
}

TEST_CASE("the example boundaries in rules/ load without errors", "[load][examples]") {
    auto res = load_boundaries({STOCKADE_SOURCE_DIR "/rules"});
    INFO(all(res.diagnostics));
    REQUIRE(res.ok());
    REQUIRE(res.set);
    const Boundary* coder = res.set->find("coder");
    const Boundary* researcher = res.set->find("researcher");
    REQUIRE(coder);
    REQUIRE(researcher);
    CHECK(coder->mode == Mode::Enforce);
    CHECK(coder->match.units == std::vector<std::string>{"agent-coder.service"});
    CHECK(researcher->mode == Mode::Monitor);

    // the coder stays in its repository and away from keys
    CHECK(decide(*coder, open_event("/srv/agents/coder/repo/src/main.c", kRead | kWrite)).inside());
    CHECK(decide(*coder, open_event("/srv/agents/coder/repo/.env", kRead)).decision == Decision::Kill);
    CHECK(decide(*coder, open_event("/srv/agents/coder/.ssh/id_ed25519", kRead)).rule_id == "coder.yaml:ssh-keys");
    CHECK(decide(*coder, file_event(Action::Exec, "/usr/bin/nc")).rule_id == "coder.yaml:default-deny");
    CHECK(decide(*coder, net_event(Action::Connect, "127.0.0.1", 8080)).inside());
    CHECK_FALSE(decide(*coder, net_event(Action::Connect, "198.51.100.1", 443)).inside());

    // the researcher only reads outside its output folder and is only watched
    Verdict v = decide(*researcher, open_event("/srv/agents/researcher/prompts/a.txt", kWrite));
    CHECK(v.decision == Decision::WouldDeny);
    CHECK(decide(*researcher, open_event("/srv/agents/researcher/output/r.md", kWrite | kCreate)).rule_id ==
          "researcher.yaml:output");
    CHECK(res.set->hosts() == std::vector<std::string>{"api.anthropic.com", "api.openai.com", "localhost"});

    // the shipped agent boundaries (tests/integration/test_agent_*.cpp run the real agents)
    const Boundary* claude = res.set->find("claude-code");
    REQUIRE(claude);
    CHECK(claude->mode == Mode::Enforce);
    CHECK(decide(*claude, open_event("/home/claude/project/src/a.py", kRead | kWrite)).inside());
    CHECK(decide(*claude, open_event("/home/claude/.ssh/id_ed25519", kRead)).rule_id == "claude-code.yaml:ssh-keys");
    CHECK(decide(*claude, open_event("/etc/shadow", kRead)).decision == Decision::Kill);
    CHECK(decide(*claude, file_event(Action::Exec, "/usr/bin/git")).inside());
    CHECK_FALSE(decide(*claude, file_event(Action::Exec, "/usr/bin/sudo")).inside());
    const Boundary* mcp = res.set->find("mcp-filesystem");
    REQUIRE(mcp);
    CHECK(decide(*mcp, open_event("/srv/agents/mcp/work/notes.txt", kRead)).inside());
    CHECK_FALSE(decide(*mcp, open_event("/srv/agents/mcp/work/notes.txt", kWrite)).inside());
    CHECK_FALSE(decide(*mcp, net_event(Action::Connect, "127.0.0.1", 443)).inside());
}
