// plan_kernel_tables(): files, executables and stockade's own files become inode entries with
// the right flags and rules; what the kernel cannot decide is said; what does not fit refuses
// the set.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace stockade;
using namespace stockade::enforce;
using namespace stockade::enforce::test;

namespace {

InodeKey key_of(uint32_t agent, const std::string& path) {
    struct stat sb {};
    REQUIRE(stat(path.c_str(), &sb) == 0);
    return InodeKey{agent, kernel_dev(sb.st_dev), sb.st_ino};
}

const sk_inode_rule* entry(const KernelPlan& p, uint32_t agent, const std::string& path) {
    auto it = p.inode_rules.find(key_of(agent, path));
    return it == p.inode_rules.end() ? nullptr : &it->second;
}

std::string boundary(const TempDir& d) {
    return "agent: t\nmode: enforce\nsystem_read: false\nmatch: { cgroup: /stockade/t }\n"
           "files:\n"
           "  read: [ { name: data, pattern: " + d / "data/**" + " } ]\n"
           "  write: [ " + d / "out.txt" + " ]\n"
           "  never: [ { name: secret, pattern: " + d / "secret/**" + " } ]\n"
           "exec:\n"
           "  allow: [ { name: tool, pattern: " + d / "bin/tool" + " } ]\n"
           "  deny: [ { name: bad, pattern: " + d / "bin/bad" + " } ]\n";
}

}  // namespace

TEST_CASE("exact files and whole directories become inode entries", "[enforce][plan]") {
    TempDir d;
    d.write("data/a");
    d.write("out.txt");
    d.write("secret/key");
    d.write("bin/tool");
    d.write("bin/bad");
    auto set = load_ok(boundary(d));
    RuleNumbers rules;
    KernelPlan p = plan_for(*set, rules);
    REQUIRE(p.problems.empty());
    REQUIRE(p.inode_rules.size() == 5);
    auto* tool = entry(p, 1, d / "bin/tool");
    REQUIRE(tool);
    CHECK(tool->flags == SK_IR_EXEC_ALLOW);
    CHECK(rules.id(tool->rule) == "t.yaml:tool");
    CHECK(entry(p, 1, d / "bin/bad")->flags == SK_IR_EXEC_DENY);
    CHECK(entry(p, 1, d / "secret")->flags == (SK_IR_FILE_DENY | SK_IR_SUBTREE));
    CHECK(rules.id(entry(p, 1, d / "secret")->rule) == "t.yaml:secret");
    CHECK(entry(p, 1, d / "data")->flags == (SK_IR_READ_ALLOW | SK_IR_SUBTREE));
    CHECK(entry(p, 1, d / "out.txt")->flags == SK_IR_WRITE_ALLOW);
    CHECK(entry(p, 1, d.path()) == nullptr);
    const AgentKernelState& st = p.agents.at(0);
    CHECK(st.exec_strict);
    CHECK(st.file_strict);
    CHECK(st.enforce);
    CHECK(st.userspace_only.empty());
    CHECK(p.agent_cfg.at(1).flags ==
          (SK_AG_ENFORCE | SK_AG_EXEC_STRICT | SK_AG_FILE_STRICT | SK_AG_NET_STRICT | SK_AG_KILL_ON_LOSS |
           SK_AG_EXEC_DENY));  // it has exec.deny rules: a #! script's exec is the daemon's to judge
    CHECK(rules.id(p.agent_cfg.at(1).default_rule) == "t.yaml:default-deny");
}

TEST_CASE("globs and missing paths stay with the daemon, and the kernel is then not strict", "[enforce][plan]") {
    TempDir d;
    d.write("bin/tool");
    auto glob = load_ok("agent: t\nmode: monitor\nsystem_read: false\nmatch: { cgroup: /stockade/t }\n"
                        "exec: { allow: [ " + d / "bin/tool" + ", \"" + d / "bin/*.sh" + "\" ] }\n"
                        "files: { read: [ " + d / "later/**" + " ] }\n");
    RuleNumbers rules;
    KernelPlan p = plan_for(*glob, rules);
    const AgentKernelState& st = p.agents.at(0);
    CHECK_FALSE(st.exec_strict);
    CHECK_FALSE(st.file_strict);
    CHECK_FALSE(st.enforce);
    REQUIRE(st.userspace_only.size() == 2);
    CHECK_THAT(st.userspace_only[0], Catch::Contains("(glob)"));
    CHECK_THAT(st.userspace_only[1], Catch::Contains(d / "later") && Catch::Contains("does not exist yet"));
    CHECK(entry(p, 1, d / "bin/tool")->flags == SK_IR_EXEC_ALLOW);  // still decided where it can be
    // Rules only the daemon evaluates: no kernel allow is final while it is gone (fail closed);
    // the exec glob makes execs wait for the daemon, the missing read rule opens (holds).
    CHECK(p.agent_cfg.at(1).flags == (SK_AG_NET_STRICT | SK_AG_USER_RULES | SK_AG_USER_EXEC | SK_AG_USER_FILE));
}

TEST_CASE("which kernel allows a daemon-only rule keeps waiting: execs, opens, or both", "[enforce][plan]") {
    TempDir d;
    d.write("bin/tool");
    d.write("data/x");
    // exec_deny, never: extra entries of those lists; tail: more top-level sections.
    auto flags = [&](const std::string& exec_deny, const std::string& never, const std::string& tail = "") {
        auto set = load_ok("agent: t\nmode: enforce\nsystem_read: false\nmatch: { cgroup: /stockade/t }\n"
                           "exec: { allow: [ " + d / "bin/tool" + " ], deny: [ " + exec_deny + " ] }\n"
                           "files: { read: [ " + d / "data/**" + " ], never: [ " + never + " ] }\n" + tail);
        RuleNumbers rules;
        return plan_for(*set, rules).agent_cfg.at(1).flags & (SK_AG_USER_FILE | SK_AG_USER_EXEC);
    };
    CHECK(flags("", "") == 0);  // every rule in the kernel: its allows are final, nothing is held
    CHECK(flags("\"" + d / "bin/*.sh" + "\"", "") == SK_AG_USER_EXEC);
    CHECK(flags("", "\"**/*.pem\"") == (SK_AG_USER_FILE | SK_AG_USER_EXEC));  // never covers both
    // A sequence is judged by the daemon over later actions of every kind.
    CHECK(flags("", "", "sequences:\n  - name: s\n    after: { read: [ " + d / "data/**" +
                            " ] }\n    forbid:\n      connect_except: [ { cidr: 127.0.0.1, ports: 8000 } ]\n") ==
          (SK_AG_USER_FILE | SK_AG_USER_EXEC));
}

TEST_CASE("on_loss: the kernel kills at a loss only in enforce mode, by default unless on_violation is flag",
          "[enforce][plan]") {
    auto flags = [](const std::string& head) {
        auto set = load_ok("agent: t\n" + head + "system_read: false\nmatch: { cgroup: /stockade/t }\n");
        RuleNumbers rules;
        return plan_for(*set, rules).agent_cfg.at(1).flags & SK_AG_KILL_ON_LOSS;
    };
    CHECK(flags("mode: enforce\n"));                                // on_violation kill: on_loss kill
    CHECK(flags("mode: enforce\non_violation: kill-agent\n"));
    CHECK_FALSE(flags("mode: enforce\non_violation: flag\n"));     // flag: on_loss flag
    CHECK(flags("mode: enforce\non_violation: flag\non_loss: kill\n"));
    CHECK_FALSE(flags("mode: enforce\non_loss: flag\n"));
    CHECK_FALSE(flags("mode: monitor\non_loss: kill\n"));          // monitor stops nothing
}

TEST_CASE("self-protection covers stockade's files and directories, not their parents", "[enforce][plan]") {
    TempDir d;
    std::string journal = d.write("shared/journal.jsonl");
    d.write("shared/sibling.txt");
    d.write("agents/t.yaml", "");
    std::string agents_dir = d / "agents";
    auto set = load_ok(boundary(d));
    RuleNumbers rules;
    KernelPlan p = plan_for(*set, rules, {journal, agents_dir, d / "no-such-socket"});
    auto* j = entry(p, 1, journal);
    REQUIRE(j);
    CHECK(j->flags == SK_IR_PROTECT);  // a file: no subtree
    CHECK(j->rule == SK_RULE_SELF);
    auto* a = entry(p, 1, agents_dir);
    REQUIRE(a);
    CHECK(a->flags == (SK_IR_PROTECT | SK_IR_SUBTREE));
    CHECK(entry(p, 1, d / "shared") == nullptr);
    CHECK(entry(p, 1, d / "shared/sibling.txt") == nullptr);
    CHECK(entry(p, 1, d.path()) == nullptr);
}

TEST_CASE("a plan that would overflow a map is refused, naming the table and the agent", "[enforce][plan]") {
    TempDir d;
    std::string list;
    for (int i = 0; i < 5; ++i) list += (i ? ", " : "") + d.write("f" + std::to_string(i));
    auto set = load_ok("agent: big\nmode: enforce\nsystem_read: false\nmatch: { cgroup: /stockade/big }\n"
                       "files: { read: [ " + list + " ] }\n");
    RuleNumbers rules;
    KernelPlan p = plan_for(*set, rules);
    CHECK(p.inode_rules.size() == 5);
    KernelCapacity fits;
    check_capacity(p, fits);
    CHECK(p.problems.empty());
    KernelCapacity small;
    small.inode_rules = 4;
    small.agent_cfg = 1;  // id 1 does not fit an array of one
    check_capacity(p, small);
    REQUIRE(p.problems.size() == 2);
    CHECK(p.problems[0] == "inode_rules would hold 5 entries, the map holds 4 (most from big: 5)");
    CHECK(p.problems[1] == "agent_cfg holds kernel ids below 1, big has 1");
}

TEST_CASE("a task's grants are planned under the task's own kernel id", "[enforce][plan]") {
    TempDir d;
    d.write("bin/tool");
    std::string extra = d.write("bin/extra");
    auto set = load_ok(boundary(d) + "network: { connect: [ { cidr: 127.0.0.1, ports: 80 } ] }\n");
    auto more = load_ok("agent: g\nmatch: { cgroup: /g }\nexec: { allow: [ " + extra + " ] }\n"
                        "network: { connect: [ { cidr: 127.0.0.1, ports: 81 } ] }\n");
    const policy::Boundary& grants = *more->find("g");
    PlanInput in;
    in.set = set.get();
    in.ids = {{"t", 1}};
    in.overlays.push_back(policy::TaskRules{77, "t", "task-1", grants.exec.allow, grants.network.connect, {}, {}, {}});
    RuleNumbers rules;
    KernelPlan p = plan_kernel_tables(in, rules);
    REQUIRE(p.agents.size() == 2);
    CHECK(p.agents[1].agent == "t/task-1");
    CHECK(p.owner(77) == "t/task-1");
    CHECK(entry(p, 1, extra) == nullptr);
    CHECK(entry(p, 77, extra)->flags == SK_IR_EXEC_ALLOW);
    CHECK(entry(p, 77, d / "bin/tool")->flags == SK_IR_EXEC_ALLOW);  // the agent's own rules too
    CHECK(kernel_refuses(p, 1, "127.0.0.1", 81, SOCK_STREAM));
    CHECK_FALSE(kernel_refuses(p, 77, "127.0.0.1", 81, SOCK_STREAM));
    CHECK_FALSE(kernel_refuses(p, 77, "127.0.0.1", 80, SOCK_STREAM));
}

TEST_CASE("rule numbers a previous daemon left are restored when they extend the builtins", "[enforce][plan]") {
    RuleNumbers before;
    before.number("coder:files.never[0]");
    uint32_t n = before.number("coder:exec.allow[2]");
    RuleNumbers after;
    REQUIRE(after.restore(before.ids()));
    CHECK(after.id(n) == "coder:exec.allow[2]");
    CHECK(after.number("coder:exec.allow[2]") == n);  // the same id keeps its number
    CHECK(after.number("reviewer:files.read[0]") == n + 1);  // a new id comes after them

    RuleNumbers fresh;
    CHECK_FALSE(fresh.restore({"coder:files.never[0]"}));  // not the builtins first: refused
    CHECK_FALSE(fresh.restore({"builtin:self-protection", "builtin:http-unclear-path", "builtin:no-daemon",
                               "builtin:hold-release", "builtin:unseen-tls", "x", "x"}));  // an id twice: refused
    // Saved by a daemon without the newest builtin (unseen-tls, 5): refused, numbered afresh.
    CHECK_FALSE(fresh.restore({"builtin:self-protection", "builtin:http-unclear-path", "builtin:no-daemon",
                               "builtin:hold-release", "x"}));
    CHECK(fresh.id(SK_RULE_NO_DAEMON) == "builtin:no-daemon");  // and nothing changed
    CHECK(fresh.id(SK_RULE_HOLD_RELEASE) == "builtin:hold-release");
    CHECK(fresh.id(SK_RULE_UNSEEN_TLS) == "builtin:unseen-tls");
    CHECK(fresh.id(6).empty());
}

TEST_CASE("tools.http_unseen_tls becomes the agent's unseen-TLS switches", "[enforce][plan][tls]") {
    auto flags = [](const std::string& extra, const std::string& mode = "enforce") {
        auto set = load_ok("agent: t\nmode: " + mode + "\nmatch: { cgroup: /stockade/t }\n" + extra);
        RuleNumbers rules;
        KernelPlan p = plan_for(*set, rules);
        REQUIRE(p.agent_cfg.count(1));
        return p.agent_cfg.at(1).flags & (SK_AG_TLS_UNSEEN | SK_AG_TLS_UNSEEN_DENY);
    };
    const std::string http = "tools:\n  http:\n    - { host: localhost, allow: [\"GET /a/**\"] }\n";
    CHECK(flags(http) == SK_AG_TLS_UNSEEN);  // flag by default
    CHECK(flags(http + "  http_unseen_tls: deny\n") == (SK_AG_TLS_UNSEEN | SK_AG_TLS_UNSEEN_DENY));
    CHECK(flags(http + "  http_unseen_tls: deny\n", "monitor") == (SK_AG_TLS_UNSEEN | SK_AG_TLS_UNSEEN_DENY));
    CHECK(flags(http + "  http_unseen_tls: allow\n") == 0);
    CHECK(flags("") == 0);  // no tools.http: nothing to see behind TLS
    RuleNumbers rules;
    CHECK(rules.id(SK_RULE_UNSEEN_TLS) == "builtin:unseen-tls");
}

TEST_CASE("a file below a never directory with another name elsewhere gets an entry of its own", "[enforce][plan]") {
    TempDir d;
    d.write("bin/tool");
    d.write("bin/bad");
    std::string key = d.write("secret/key");
    std::string alone = d.write("secret/alone");
    std::string other = d / "elsewhere";
    REQUIRE(link(key.c_str(), other.c_str()) == 0);
    auto set = load_ok(boundary(d));
    RuleNumbers rules;
    KernelPlan p = plan_for(*set, rules);
    auto* linked = entry(p, 1, other);  // the same inode as secret/key
    REQUIRE(linked);
    CHECK(linked->flags == SK_IR_FILE_DENY);  // the file only, not a tree
    CHECK(rules.id(linked->rule) == "t.yaml:secret");
    CHECK(entry(p, 1, alone) == nullptr);  // one name: the directory's entry covers it
}

TEST_CASE("inodes the daemon pinned are denied for their agent and its tasks, under every name", "[enforce][plan]") {
    TempDir d;
    d.write("bin/tool");
    d.write("bin/bad");
    std::string moved = d.write("work/moved");
    std::string dir = d / "work";
    auto set = load_ok(boundary(d));
    PlanInput in;
    in.set = set.get();
    in.ids = {{"t", 1}};
    in.overlays.push_back(policy::TaskRules{77, "t", "task-1", {}, {}, {}, {}, {}});
    InodeKey f = key_of(0, moved), dk = key_of(0, dir);
    in.pinned.push_back({"t", f.dev, f.ino, false, "t.yaml:secret"});
    in.pinned.push_back({"t", dk.dev, dk.ino, true, "t.yaml:secret"});
    in.pinned.push_back({"someone-else", 1, 2, false, "x.yaml:files.never[0]"});
    RuleNumbers rules;
    KernelPlan p = plan_kernel_tables(in, rules);
    for (uint32_t id : {1u, 77u}) {
        REQUIRE(entry(p, id, moved));
        CHECK(entry(p, id, moved)->flags == SK_IR_FILE_DENY);
        CHECK(rules.id(entry(p, id, moved)->rule) == "t.yaml:secret");
        CHECK(entry(p, id, dir)->flags == (SK_IR_FILE_DENY | SK_IR_SUBTREE));
    }
    CHECK(p.inode_rules.count(InodeKey{1, 1, 2}) == 0);  // another agent's pin is not this one's
}

TEST_CASE("a sequence's kernel label carries what it passes through (through:)", "[enforce][plan]") {
    TempDir d;
    d.write("data/creds.txt");
    d.write("data/keys.txt");
    auto plan = [&](const std::string& through) {
        auto set = load_ok("agent: t\nmode: enforce\nsystem_read: false\nmatch: { cgroup: /stockade/t }\n"
                           "sequences:\n  - name: creds\n    after: { read: [ " + d / "data/creds.txt" + " ] }\n"
                           "    forbid: { connect: any }\n" + through +
                           "  - name: keys\n    after: { read: [ " + d / "data/keys.txt" + " ] }\n"
                           "    forbid: { connect: any }\n    through: [process]\n");
        RuleNumbers rules;
        KernelPlan p = plan_for(*set, rules);
        REQUIRE(p.problems.empty());
        auto* creds = entry(p, 1, d / "data/creds.txt");
        auto* keys = entry(p, 1, d / "data/keys.txt");
        REQUIRE(creds);
        REQUIRE(keys);
        CHECK((creds->flags & SK_IR_LABEL));
        CHECK(rules.id(creds->label) == "t.yaml:creds");
        CHECK(keys->label_through == 0);  // the process line only
        return creds->label_through;
    };
    CHECK(plan("") == (SK_THROUGH_PIPE | SK_THROUGH_SOCKET | SK_THROUGH_FILE));
    CHECK(plan("    through: [process, file]\n") == SK_THROUGH_FILE);
}
