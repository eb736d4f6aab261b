// Where the TLS uprobes go: the decoding of OpenSSL 3's wrappers (synthetic code bytes), and the
// plan for this host's libssl when it has one.
#include <catch2/catch.hpp>
#include <filesystem>

#include "probe/tls_targets.hpp"

using namespace stockade::probe;

TEST_CASE("an OpenSSL 3 wrapper's call target is decoded, anything else is refused", "[tls]") {
    // sub $0x8,%rsp; call rel32 (-0x479 from the next instruction)
    const uint8_t wrapper[] = {0x48, 0x83, 0xec, 0x08, 0xe8, 0x87, 0xfb, 0xff, 0xff, 0x31, 0xd2};
    auto t = wrapper_call_target(wrapper, sizeof wrapper, 0x35a50);
    REQUIRE(t);
    CHECK(*t == 0x35a50 + 9 - 0x479);
    // The same after endbr64.
    const uint8_t cet[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x83, 0xec, 0x08, 0xe8, 0x10, 0x00, 0x00, 0x00};
    auto t2 = wrapper_call_target(cet, sizeof cet, 0x1000);
    REQUIRE(t2);
    CHECK(*t2 == 0x1000 + 13 + 0x10);
    // push %rbp first: not the wrapper shape.
    const uint8_t other[] = {0x55, 0x48, 0x89, 0xe5, 0xe8, 0x00, 0x00, 0x00, 0x00};
    CHECK_FALSE(wrapper_call_target(other, sizeof other, 0));
    CHECK_FALSE(wrapper_call_target(wrapper, 6, 0x35a50));  // cut short

    CHECK(calls(wrapper, sizeof wrapper, 0x35a50, *t));
    CHECK_FALSE(calls(wrapper, sizeof wrapper, 0x35a50, *t + 1));

    const uint8_t push_r14[] = {0x41, 0x56}, push_rbx[] = {0x53}, sub[] = {0x48, 0x83, 0xec, 0x18};
    CHECK(starts_with_push(push_r14, 2));
    CHECK(starts_with_push(push_rbx, 1));
    CHECK_FALSE(starts_with_push(sub, 4));
}

TEST_CASE("the plan for this host's libssl", "[tls]") {
    const std::string lib = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
    if (!std::filesystem::exists(lib)) {
        WARN("SKIPPED: no " + lib);
        return;
    }
    auto plan = plan_tls_probes(lib);
    INFO(plan.note);
    if (plan.internal) {
        // One write point, one read point for both API forms, and the handshake's exported entry.
        REQUIRE(plan.points.size() == 3);
        CHECK(plan.points[0].kind == TlsProbePoint::Kind::Write);
        CHECK(plan.points[1].kind == TlsProbePoint::Kind::ReadEx);
        CHECK(plan.points[2].kind == TlsProbePoint::Kind::Handshake);
        CHECK(plan.points[2].symbol == "SSL_do_handshake");
        for (size_t i = 0; i < 2; ++i) {
            auto& p = plan.points[i];
            CHECK(p.symbol.empty());
            CHECK(p.offset > 0);
            CHECK(p.offset < std::filesystem::file_size(lib));
        }
    } else {
        CHECK(plan.points.size() == 5);  // the exported entries
        CHECK_FALSE(plan.note.empty());
    }
    auto none = plan_tls_probes("/nonexistent-stockade/libssl.so.3");
    CHECK_FALSE(none.internal);
}
