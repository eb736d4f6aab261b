// TLS stockade cannot see behind: the kernel's report of a ClientHello from an unprobed stack
// becomes a "builtin:unseen-tls" record as tools.http_unseen_tls says; TLS records count their
// stack for `stockade agents show`.
#include "harness.hpp"
#include "stockade/events.h"

namespace {

std::string with_http(const std::string& mode, const std::string& unseen) {
    return boundary_yaml(mode, "kill", "off") +
           "tools:\n  http:\n    - { host: localhost, allow: [\"GET /allowed/**\"] }\n" +
           (unseen.empty() ? "" : "  http_unseen_tls: " + unseen + "\n");
}

Event hello_event(bool killed) {
    Event e = base_event(Action::Tls);
    e.tls_hello = true;
    e.io_write = true;
    e.fd = 5;
    e.result = 517;
    e.io_data = std::string("\x16\x03\x01\x00\x10\x01", 6);  // cut: no server name
    REQUIRE(inet_pton(AF_INET, "127.0.0.1", e.net.bytes) == 1);
    e.net.family = AF_INET;
    e.net.port = 8443;
    if (killed) {
        e.kernel_action = KernelAction::Killed;
        e.kernel_rule = SK_RULE_UNSEEN_TLS;
    }
    return e;
}

}  // namespace

TEST_CASE("an unseen ClientHello is judged by tools.http_unseen_tls", "[judge][tls]") {
    SECTION("deny, enforce: the kernel killed it") {
        Harness h(with_http("enforce", "deny"));
        h.pipe.on_event(hello_event(true));
        REQUIRE(h.journal.size() == 1);
        auto& r = h.journal[0];
        CHECK(r.rule == "builtin:unseen-tls");
        CHECK(r.verdict == journal::Verdict::Kill);
        CHECK(r.enforcement == journal::Enforcement::KilledInKernel);
        CHECK(r.action == "tls-handshake");
        CHECK(r.address == "127.0.0.1");
        CHECK(r.port == 8443);
        CHECK(h.kills.empty());  // dead already
        CHECK(h.pipe.counters().at("coder").tls_stacks.counts.size() == 1);
    }
    SECTION("deny, monitor: would-deny") {
        Harness h(with_http("monitor", "deny"));
        h.pipe.on_event(hello_event(false));
        REQUIRE(h.journal.size() == 1);
        CHECK(h.journal[0].verdict == journal::Verdict::WouldDeny);
        CHECK(h.kills.empty());
    }
    SECTION("flag by default: journaled, nothing stopped") {
        Harness h(with_http("enforce", ""));
        h.pipe.on_event(hello_event(false));
        REQUIRE(h.journal.size() == 1);
        CHECK(h.journal[0].verdict == journal::Verdict::Flag);
        CHECK(h.journal[0].enforcement.empty());
        CHECK(h.kills.empty());
    }
    SECTION("allow: nothing journaled") {
        Harness h(with_http("enforce", "allow"));
        h.pipe.on_event(hello_event(false));
        CHECK(h.journal.empty());
    }
}

TEST_CASE("TLS records count the stack that saw them", "[judge][tls]") {
    Harness h(with_http("enforce", ""));
    Event e = base_event(Action::Tls);
    e.io_write = true;
    e.tls_stack = SK_STACK_GO;
    e.io_data = "GET /allowed/x HTTP/1.1\r\nHost: localhost\r\n\r\n";
    h.pipe.on_event(e);
    e.tls_stack = SK_STACK_OPENSSL;
    e.pid += 1;
    h.pipe.on_event(e);
    auto& stacks = h.pipe.counters().at("coder").tls_stacks.counts;
    CHECK(stacks.at("go crypto/tls") == 1);
    CHECK(stacks.at("openssl") == 1);
}
