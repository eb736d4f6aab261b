// Diagnostics: exact file:line:column of errors in broken boundary files.
#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace stockade::policy;
using namespace stockade::policy::test;

namespace {

// The errors of one broken file (which must not load).
std::vector<Diagnostic> errors_of(const std::string& yaml, const std::string& file = "rules/coder.yaml") {
    auto res = load_boundary_text(file, yaml);
    CHECK_FALSE(res.ok());
    CHECK(res.set == nullptr);
    std::vector<Diagnostic> out;
    for (auto& d : res.diagnostics)
        if (d.error) out.push_back(d);
    return out;
}

// Exactly one error, with this text.
void one_error(const std::string& yaml, const std::string& expected) {
    auto errs = errors_of(yaml);
    INFO(all(errs));
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].str() == expected);
}

const std::string kHead = "agent: coder\nmatch:\n  unit: agent-coder.service\n";  // lines 1-3

}  // namespace

TEST_CASE("unknown keys are located and get a suggestion", "[load][errors]") {
    one_error(kHead + "flies:\n  read: [ /repo/** ]\n",
              "rules/coder.yaml:4:1: error: unknown key \"flies\" (did you mean \"files\"?)");
    one_error(kHead + "files:\n  raed: [ /repo/** ]\n",
              "rules/coder.yaml:5:3: error: unknown key \"raed\" in files (did you mean \"read\"?)");
    one_error(kHead + "network:\n  connect:\n    - { cidr: 10.0.0.1, prots: 80 }\n",
              "rules/coder.yaml:6:25: error: unknown key \"prots\" in network.connect[0] (did you mean \"ports\"?)");
    one_error(kHead + "colour: blue\n", "rules/coder.yaml:4:1: error: unknown key \"colour\"");
    one_error(kHead + "mode: enforce\nmode: monitor\n",
              "rules/coder.yaml:5:1: error: duplicate key \"mode\" (first at line 4)");
}

TEST_CASE("bad values are located at the value", "[load][errors]") {
    one_error(kHead + "mode: enforcing\n",
              "rules/coder.yaml:4:7: error: mode must be one of monitor, enforce, not \"enforcing\"");
    one_error(kHead + "on_violation: stop\n",
              "rules/coder.yaml:4:15: error: on_violation must be one of flag, kill, kill-agent, ask, refuse, not \"stop\"");
    one_error(kHead + "on_violation: ask\napproval_timeout: 0\n",
              "rules/coder.yaml:5:19: error: approval_timeout must be an integer in 1-86400");
    one_error(kHead + "on_violation: kill\napproval_timeout: 30\n",
              "rules/coder.yaml:5:19: error: approval_timeout applies only with on_violation: ask (this boundary has kill)");
    one_error(kHead + "on_loss: ignore\n",
              "rules/coder.yaml:4:10: error: on_loss must be one of kill, flag, not \"ignore\"");
    one_error(kHead + "model_prompts: all\n",
              "rules/coder.yaml:4:16: error: model_prompts must be one of digest, full, not \"all\"");
    one_error(kHead + "system_read: maybe\n", "rules/coder.yaml:4:14: error: system_read must be true or false");
    one_error(kHead + "files: [ /repo/** ]\n", "rules/coder.yaml:4:8: error: files must be a mapping, not a list");
    one_error("agent: coder\nmatch:\n  unit: a.service\n  uid: bob\n",
              "rules/coder.yaml:4:8: error: uid must be an integer in 0-4294967294");
    one_error("agent: Coder!\nmatch: { unit: a.service }\n",
              "rules/coder.yaml:1:8: error: agent name \"Coder!\" must match [a-z0-9][a-z0-9._-]*");
}

TEST_CASE("bad network entries", "[load][errors]") {
    one_error(kHead + "network:\n  connect:\n    - cidr: 10.0.0.0/33\n",
              "rules/coder.yaml:6:13: error: bad cidr: prefix length \"33\" is not in 0-32");
    one_error(kHead + "network:\n  deny:\n    - cidr: 10.0.0\n",
              "rules/coder.yaml:6:13: error: bad cidr: \"10.0.0\" is not an IPv4 or IPv6 address");
    one_error(kHead + "network:\n  connect:\n    - cidr: 10.0.0.1\n      ports: 9010-9000\n",
              "rules/coder.yaml:7:14: error: port range 9010-9000 is reversed (lo > hi)");
    one_error(kHead + "network:\n  connect:\n    - { cidr: 10.0.0.1, ports: [ 80, 70000 ] }\n",
              "rules/coder.yaml:6:38: error: port 70000 is out of range (0-65535)");
    one_error(kHead + "network:\n  connect:\n    - { cidr: 10.0.0.1, protocol: icmp }\n",
              "rules/coder.yaml:6:35: error: protocol must be one of tcp, udp, any, not \"icmp\"");
    one_error(kHead + "network:\n  connect:\n    - { ports: 80 }\n",
              "rules/coder.yaml:6:7: error: network.connect[0] needs exactly one of cidr: or host:");
    one_error(kHead + "network:\n  bind: [ 80, \"90-10\" ]\n",
              "rules/coder.yaml:5:15: error: port range 90-10 is reversed (lo > hi)");
}

TEST_CASE("bad patterns", "[load][errors]") {
    one_error(kHead + "files:\n  read: [ /ok/**, repo/** ]\n",
              "rules/coder.yaml:5:19: error: files.read: relative pattern \"repo/**\": start it with /, ~/ or **/");
    one_error(kHead + "files:\n  never:\n    - ~/.ssh/**\n",
              "rules/coder.yaml:6:7: error: files.never: \"~/.ssh/**\" uses \"~\" but the home is unknown: set "
              "home:, or match.uid with a passwd entry");
    one_error(kHead + "exec:\n  allow:\n    - { name: x, pattern: \"/usr/bin/[ab\" }\n",
              "rules/coder.yaml:6:27: error: exec.allow: unterminated character class '[' at offset 9 in "
              "\"/usr/bin/[ab\"");
    one_error(kHead + "files:\n  read: [ /a/../b ]\n",
              "rules/coder.yaml:5:11: error: files.read: \"..\" is not allowed in a path pattern; write the path it "
              "leads to");
    one_error(kHead + "files:\n  read: [ { name: a, pattern: /x }, { name: a, pattern: /y } ]\n",
              "rules/coder.yaml:5:45: error: duplicate rule name \"a\" (first at line 5)");
}

TEST_CASE("missing required keys and broken YAML", "[load][errors]") {
    one_error("match: { unit: a.service }\n", "rules/coder.yaml:1:1: error: missing required key \"agent\"");
    one_error("agent: coder\nmode: enforce\n", "rules/coder.yaml:1:1: error: missing required key \"match\"");
    one_error("agent: coder\nmatch:\n  uid: 1000\n",
              "rules/coder.yaml:3:3: error: match needs at least one unit:, cgroup: or container: to recognise the agent");
    one_error("", "rules/coder.yaml:1:1: error: the file is empty; a boundary needs at least agent: and match:");
    one_error("agent: coder\nfiles:\n  read: [ /a, /b\n",
              "rules/coder.yaml:4:1: error: YAML syntax: end of sequence flow not found");
    one_error("agent: coder\n  bad: 1\n", "rules/coder.yaml:2:6: error: YAML syntax: illegal map value");
    one_error("- agent: coder\n", "rules/coder.yaml:1:1: error: the boundary must be a mapping, not a list");
}

TEST_CASE("every error of a file is reported, not only the first", "[load][errors]") {
    auto errs = errors_of("agent: coder\nmode: sometimes\nmatch: { unit: a.service }\nfiles:\n  read: [ x ]\n");
    INFO(all(errs));
    REQUIRE(errs.size() == 2);
    CHECK(errs[0].line == 2);
    CHECK(errs[1].line == 5);
    CHECK(errs[1].column == 11);
    CHECK(errs[1].file == "rules/coder.yaml");
}

TEST_CASE("bad tools.http entries", "[load][errors][http]") {
    const std::string http = kHead + "tools:\n  http:\n";  // lines 4-5, rules from line 6
    const std::string form = "expected \"METHOD /path-glob\", e.g. \"GET /v1/**\"";
    one_error(http + "    - host: api.github.com\n      allow: [ \"get /x\" ]\n",
              "rules/coder.yaml:7:16: error: tools.http[0].allow[0] \"get /x\": the method must be * or upper case "
              "(GET, POST, ...); " +
                  form);
    one_error(http + "    - allow: [ \"GET /a\", \"GET/x\" ]\n",
              "rules/coder.yaml:6:26: error: tools.http[0].allow[1] \"GET/x\": " + form);
    one_error(http + "    - deny:\n        - \"GET /a\"\n        - \"GET  /x\"\n",
              "rules/coder.yaml:8:11: error: tools.http[0].deny[1] \"GET  /x\": exactly one space, between method and "
              "path; " +
                  form);
    one_error(
        http + "    - allow: [ \"GET repos/**\" ]\n",
        "rules/coder.yaml:6:16: error: tools.http[0].allow[0] \"GET repos/**\": the path must start with /; " + form);
    one_error(http + "    - allow: [ \"GET /a//b/\" ]\n",
              "rules/coder.yaml:6:16: error: tools.http[0].allow[0] \"GET /a//b/\": the path is not normalised: write "
              "\"GET /a/b\"");
    one_error(http + "    - allow: [ \"GET /a/../b\" ]\n",
              "rules/coder.yaml:6:16: error: tools.http[0].allow[0] \"GET /a/../b\": \"..\" is not allowed in a path "
              "pattern; write the path it leads to");
    one_error(http + "    - allow: [ \"GET /[ab\" ]\n",
              "rules/coder.yaml:6:16: error: tools.http[0].allow[0] \"GET /[ab\": unterminated character class '[' at "
              "offset 1");
    one_error(http + "    - allow: [ { GET: /x } ]\n",
              "rules/coder.yaml:6:16: error: tools.http[0].allow[0] must be a string; " + form);
}

TEST_CASE("bad tools.http rules and keys", "[load][errors][http]") {
    const std::string http = kHead + "tools:\n  http:\n";
    one_error(http + "    - host: api.github.com\n      alow: [ \"GET /x\" ]\n",
              "rules/coder.yaml:7:7: error: unknown key \"alow\" in tools.http[0] (did you mean \"allow\"?)");
    one_error(http + "    - host: api.github.com\n",
              "rules/coder.yaml:6:7: error: tools.http[0] needs allow: or deny:");
    one_error(http + "    - { host: \"api.github.com:443\", allow: [ \"GET /x\" ] }\n",
              "rules/coder.yaml:6:15: error: tools.http[0].host \"api.github.com:443\": write the host without a port");
    one_error(http + "    - { host: \"api github\", allow: [ \"GET /x\" ] }\n",
              "rules/coder.yaml:6:15: error: tools.http[0].host \"api github\": expected a host name or glob such as "
              "api.github.com or \"*.example.com\"");
    one_error(http + "    - GET /x\n",
              "rules/coder.yaml:6:7: error: tools.http[0] must be a mapping with host:, allow:, deny:");
    one_error(kHead + "tools:\n  htp: []\n",
              "rules/coder.yaml:5:3: error: unknown key \"htp\" in tools (did you mean \"http\"?)");
    one_error(http + "    - { name: gh, allow: [ \"GET /x\" ] }\n    - { name: gh, deny: [ \"GET /y\" ] }\n",
              "rules/coder.yaml:7:15: error: duplicate rule name \"gh\" (first at line 6)");
}

TEST_CASE("match.container: parts, globs and labels are checked where they are written", "[load][errors]") {
    auto set = load_ok("agent: coder\nmatch:\n  container:\n    name: [\"coder-*\", reviewer]\n"
                       "    image: localhost/agent:*\n    label: { team: red }\n");
    const auto& m = set->agents()[0]->match;
    REQUIRE(m.container);
    CHECK(m.container->names == std::vector<std::string>{"coder-*", "reviewer"});
    CHECK(m.container->images == std::vector<std::string>{"localhost/agent:*"});
    CHECK(m.container->labels == std::vector<std::pair<std::string, std::string>>{{"team", "red"}});
    CHECK(m.units.empty());
    one_error("agent: coder\nmatch:\n  container: { names: coder }\n",
              "rules/coder.yaml:3:16: error: unknown key \"names\" in match.container (did you mean \"name\"?)");
    one_error("agent: coder\nmatch:\n  container: {}\n",
              "rules/coder.yaml:3:14: error: match.container needs name:, image: or label:");
    one_error("agent: coder\nmatch:\n  container: { name: \"coder-[ab\" }\n",
              "rules/coder.yaml:3:22: error: match.container.name has a '[' without its ']'");
    one_error("agent: coder\nmatch:\n  container: { label: [team] }\n",
              "rules/coder.yaml:3:23: error: match.container.label must map label names to globs");
}
