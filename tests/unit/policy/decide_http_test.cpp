// tools.http: which HTTP requests an agent may make, per host.
#include <catch2/catch.hpp>

#include "policy/policy.hpp"

using namespace stockade;
using namespace stockade::policy;

namespace {

std::shared_ptr<const PolicySet> http_set(const std::string& tools, const std::string& head = "mode: enforce\n") {
    auto res = load_boundary_text("t.yaml", "agent: a\n" + head + "match: { cgroup: /x }\n" + tools);
    INFO(format_diagnostics(res.diagnostics));
    REQUIRE(res.ok());
    return res.set;
}

const std::string kGithub =
    "tools:\n  http:\n    - name: github-read\n      host: api.github.com\n"
    "      allow: [ \"GET /repos/**\", \"HEAD /repos/**\", \"* /user\" ]\n"
    "      deny:  [ \"* /repos/*/admin/**\", \"DELETE /**\" ]\n"
    "    - host: \"*.example.com\"\n      allow: [ \"POST /v1/*\" ]\n";

}  // namespace

TEST_CASE("http: deny beats allow, methods, host globs, every decision named", "[tools][http]") {
    auto set = http_set(kGithub);
    const Boundary& b = *set->find("a");
    auto ok = decide_http(b, "api.github.com", "GET", "/repos/x/y");
    CHECK(ok.inside());
    CHECK(ok.rule_id == "t.yaml:github-read");
    CHECK(ok.resolved == "tools.http[0].allow GET /repos/** matched GET api.github.com/repos/x/y");
    CHECK(decide_http(b, "api.github.com", "GET", "/repos").inside());  // `/repos/**` includes /repos itself

    auto admin = decide_http(b, "api.github.com", "GET", "/repos/x/admin/keys");  // allowed by GET /repos/** too
    CHECK(admin.decision == Decision::Kill);
    CHECK(admin.rule_id == "t.yaml:github-read");
    CHECK(admin.resolved == "tools.http[0].deny * /repos/*/admin/** matched GET api.github.com/repos/x/admin/keys");
    CHECK(decide_http(b, "api.github.com", "DELETE", "/repos/x").resolved.find(".deny DELETE /**") !=
          std::string::npos);

    // `*` matches any method; a named method is exact and case-sensitive.
    CHECK(decide_http(b, "api.github.com", "PATCH", "/user").inside());
    CHECK(decide_http(b, "api.github.com", "BREW", "/user").inside());
    auto lower = decide_http(b, "api.github.com", "get", "/repos/x");
    CHECK(lower.decision == Decision::Kill);
    CHECK(lower.resolved == "no tools.http[0].allow matched get api.github.com/repos/x");

    CHECK(decide_http(b, "uploads.example.com", "POST", "/v1/files").inside());
    CHECK(decide_http(b, "uploads.example.com", "POST", "/v1/files").rule_id == "t.yaml:tools.http[1]");
    CHECK(decide_http(b, "a.b.example.com", "POST", "/v1/files").inside());  // a host `*` crosses dots
    CHECK_FALSE(decide_http(b, "uploads.example.com", "POST", "/v1/files/x").inside());  // `*` stays in a component
    auto apex = decide_http(b, "example.com", "POST", "/v1/files");                      // `*.` needs a label before it
    CHECK(apex.rule_id == "t.yaml:http-default-deny");
    CHECK(apex.resolved == "no tools.http rule names host example.com");
}

TEST_CASE("http: default deny with and without a host match", "[tools][http]") {
    auto set = http_set(kGithub);
    const Boundary& b = *set->find("a");
    auto listed = decide_http(b, "api.github.com", "POST", "/gists");
    CHECK(listed.decision == Decision::Kill);
    CHECK(listed.rule_id == "t.yaml:github-read");
    auto other = decide_http(b, "evil.test", "GET", "/repos/x");
    CHECK(other.decision == Decision::Kill);
    CHECK(other.rule_id == "t.yaml:http-default-deny");
}

TEST_CASE("http: monitor, flag and kill decisions; no rules means not judged", "[tools][http]") {
    const std::string rules = "tools:\n  http:\n    - allow: [ \"GET /ok\" ]\n";
    auto mon = http_set(rules, "mode: monitor\n");
    auto m = decide_http(*mon->find("a"), "h", "GET", "/no");
    CHECK(m.decision == Decision::WouldDeny);
    CHECK(m.rule_id == "t.yaml:tools.http[0]");
    auto flag = http_set(rules, "mode: enforce\non_violation: flag\n");
    auto f = decide_http(*flag->find("a"), "h", "GET", "/no");
    CHECK(f.decision == Decision::Flag);
    CHECK(f.on_violation == OnViolation::Flag);
    auto kill = http_set(rules, "mode: enforce\non_violation: kill-agent\n");
    auto k = decide_http(*kill->find("a"), "h", "GET", "/no");
    CHECK(k.decision == Decision::Kill);
    CHECK(k.on_violation == OnViolation::KillAgent);
    CHECK(decide_http(*kill->find("a"), "any.host", "GET", "/ok").inside());  // no host: = any host

    auto none = http_set("");
    auto n = decide_http(*none->find("a"), "h", "DELETE", "/../x");
    CHECK(n.inside());
    CHECK(n.rule_id == "builtin:http-not-judged");
}

TEST_CASE("http: the request host is matched lower case without its port", "[tools][http]") {
    auto set = http_set(kGithub);
    const Boundary& b = *set->find("a");
    auto v = decide_http(b, "API.GitHub.COM:443", "GET", "/repos/x");
    CHECK(v.inside());
    CHECK(v.resolved.find("GET api.github.com/repos/x") != std::string::npos);
    CHECK(decide_http(b, "api.github.com.", "GET", "/repos/x").inside());
    CHECK(decide_http(b, "[::1]:8080", "GET", "/repos/x").rule_id == "t.yaml:http-default-deny");
    auto star = http_set("tools:\n  http:\n    - { host: \"*\", deny: [ \"GET /x\" ], allow: [ \"GET /**\" ] }\n");
    CHECK(star->find("a")->http_tools[0].host.empty());  // "*" is stored as any host
    CHECK(decide_http(*star->find("a"), "[::1]:8080", "GET", "/y").inside());
}

TEST_CASE("http: request paths are decoded and normalised before matching", "[tools][http]") {
    std::string path, why;
    CHECK(normalize_http_path("/repos/x?per_page=100#top", path, why));
    CHECK(path == "/repos/x");
    CHECK(normalize_http_path("/%41b%2fc%2F", path, why));
    CHECK(path == "/Ab/c");
    CHECK(normalize_http_path("//a///b/", path, why));
    CHECK(path == "/a/b");
    CHECK(normalize_http_path("/", path, why));
    CHECK(path == "/");
    CHECK(normalize_http_path("/a/..x/.b", path, why));  // dots inside names are fine
    CHECK(path == "/a/..x/.b");

    CHECK_FALSE(normalize_http_path("/repos/%2e%2e/admin", path, why));
    CHECK(why == "a \"..\" component after decoding");
    CHECK_FALSE(normalize_http_path("/a/./b", path, why));
    CHECK(why == "a \".\" component after decoding");
    CHECK_FALSE(normalize_http_path("repos/x", path, why));
    CHECK(why == "the request target does not start with /");
    CHECK_FALSE(normalize_http_path("http://api.github.com/repos", path, why));  // absolute form
    CHECK_FALSE(normalize_http_path("/a%4", path, why));
    CHECK(why == "bad percent-escape at offset 2");
    CHECK_FALSE(normalize_http_path("/a%zz", path, why));
    CHECK_FALSE(normalize_http_path("/a%00b", path, why));
    CHECK(why == "a NUL byte (%00) in the path");
}

TEST_CASE("http: an unclear path is outside whenever rules apply", "[tools][http]") {
    auto set = http_set(kGithub);
    const Boundary& b = *set->find("a");
    auto v = decide_http(b, "api.github.com", "GET", "/repos/x/%2E%2E/%2e%2e/admin");
    CHECK(v.decision == Decision::Kill);
    CHECK(v.rule_id == "builtin:http-unclear-path");
    CHECK(v.resolved.find("a \"..\" component after decoding") != std::string::npos);
    auto escaped = decide_http(b, "api.github.com", "GET", "/repos/x/%61dmin/k");  // decoded: admin
    CHECK(escaped.resolved.find(".deny * /repos/*/admin/**") != std::string::npos);
    CHECK(decide_http(b, "api.github.com", "GET", "/repos/x/").resolved.find("api.github.com/repos/x") !=
          std::string::npos);
}

TEST_CASE("http: an allow route a deny route always beats is a warning", "[tools][http][lint]") {
    auto res = load_boundary_text("t.yaml", "agent: a\nmatch: { cgroup: /x }\n" + kGithub +
                                                "    - { host: api.github.com, allow: [ \"DELETE /repos/x\" ] }\n");
    INFO(format_diagnostics(res.diagnostics));
    REQUIRE(res.ok());
    auto text = format_diagnostics(res.diagnostics);
    CHECK(text.find("t.yaml:11:7: warning: tools.http[2].allow[0] \"DELETE /repos/x\" can never match: "
                    "tools.http[0].deny[1] \"DELETE /**\" denies everything it names") != std::string::npos);
    CHECK(text.find("tools.http[0].allow") == std::string::npos);  // GET /repos/** is only partly denied
}
