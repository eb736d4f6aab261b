// tools.http_unseen_tls: its values, its default, and located errors.
#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace stockade::policy;
using namespace stockade::policy::test;

namespace {

const std::string kHead = "agent: coder\nmatch:\n  unit: agent-coder.service\n";  // lines 1-3
const std::string kHttp = "tools:\n  http:\n    - { host: api.github.com, allow: [\"GET /repos/**\"] }\n";

}  // namespace

TEST_CASE("tools.http_unseen_tls is deny, flag or allow; flag by default", "[load][tls]") {
    CHECK(load_ok(kHead + kHttp)->agents()[0]->unseen_tls == UnseenTls::Flag);
    CHECK(load_ok(kHead + kHttp + "  http_unseen_tls: deny\n")->agents()[0]->unseen_tls == UnseenTls::Deny);
    CHECK(load_ok(kHead + kHttp + "  http_unseen_tls: allow\n")->agents()[0]->unseen_tls == UnseenTls::Allow);
    CHECK(load_ok(kHead + kHttp + "  http_unseen_tls: flag\n")->agents()[0]->unseen_tls == UnseenTls::Flag);
}

TEST_CASE("a bad tools.http_unseen_tls is located", "[load][tls][errors]") {
    auto bad = load_boundary_text("rules/coder.yaml", kHead + kHttp + "  http_unseen_tls: block\n");
    CHECK_FALSE(bad.ok());
    INFO(all(bad.diagnostics));
    CHECK(all(bad.diagnostics).find("rules/coder.yaml:7:20: error: http_unseen_tls must be one of deny, flag, allow, "
                                    "not \"block\"") != std::string::npos);
    auto alone = load_boundary_text("rules/coder.yaml", kHead + "tools:\n  http_unseen_tls: deny\n");
    CHECK_FALSE(alone.ok());
    INFO(all(alone.diagnostics));
    CHECK(all(alone.diagnostics).find("rules/coder.yaml:5:20: error: tools.http_unseen_tls applies to tools.http "
                                      "rules: there are none") != std::string::npos);
}
