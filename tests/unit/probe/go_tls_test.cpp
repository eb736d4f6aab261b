// Go binaries: the build-info version, the register-ABI check and the prologue decoding that
// place the crypto/tls uprobes (synthetic bytes); the plan for a file that is not Go.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "probe/go_tls.hpp"

using namespace stockade::probe;

namespace {

// A go1.18+ .go.buildinfo section: 14-byte magic, pointer size, flags (2 = inline strings),
// padding to 32 bytes, then uvarint-length-prefixed version and module info.
std::vector<uint8_t> buildinfo(const std::string& version, uint8_t flags = 0x2) {
    std::string magic = "\xff Go buildinf:";
    std::vector<uint8_t> s(magic.begin(), magic.end());
    s.push_back(8);
    s.push_back(flags);
    s.resize(32, 0);
    s.push_back(static_cast<uint8_t>(version.size()));
    s.insert(s.end(), version.begin(), version.end());
    s.push_back(0);
    return s;
}

}  // namespace

TEST_CASE("the Go version comes from the inline build info only", "[tls][go]") {
    CHECK(go_buildinfo_version(buildinfo("go1.19.8")) == "go1.19.8");
    CHECK(go_buildinfo_version(buildinfo("go1.19.8", 0x0)).empty());  // go1.17-: pointers, not read
    auto cut = buildinfo("go1.22.1");
    cut.resize(36);
    CHECK(go_buildinfo_version(cut).empty());
    auto bad = buildinfo("go1.19.8");
    bad[1] = 'X';
    CHECK(go_buildinfo_version(bad).empty());
    CHECK(go_buildinfo_version({}).empty());
}

TEST_CASE("the register ABI starts with go1.17", "[tls][go]") {
    CHECK(go_register_abi("go1.17"));
    CHECK(go_register_abi("go1.19.8"));
    CHECK(go_register_abi("go1.22.0"));
    CHECK(go_register_abi("devel go1.23-abc"));
    CHECK_FALSE(go_register_abi("go1.16.15"));
    CHECK_FALSE(go_register_abi("gccgo"));
}

TEST_CASE("the uprobe goes after the stack check, which a call passes once", "[tls][go]") {
    // cmp 0x10(%r14),%rsp; jbe rel32; push %rbp
    const uint8_t small[] = {0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x10, 0x01, 0x00, 0x00, 0x55, 0x48, 0x89, 0xe5};
    CHECK(go_prologue_end(small, sizeof small) == 10);
    // ... jbe rel8
    const uint8_t short_jump[] = {0x49, 0x3b, 0x66, 0x10, 0x76, 0x20, 0x55};
    CHECK(go_prologue_end(short_jump, sizeof short_jump) == 6);
    // lea -0x28(%rsp),%r12; cmp 0x10(%r14),%r12; jbe rel32; push %rbp
    const uint8_t big[] = {0x4c, 0x8d, 0x64, 0x24, 0xd8, 0x4d, 0x3b, 0x66, 0x10,
                           0x0f, 0x86, 0x00, 0x02, 0x00, 0x00, 0x55};
    CHECK(go_prologue_end(big, sizeof big) == 15);
    // lea with a 32-bit displacement
    const uint8_t huge[] = {0x4c, 0x8d, 0xa4, 0x24, 0x00, 0xf0, 0xff, 0xff, 0x4d, 0x3b, 0x66, 0x10, 0x76, 0x05, 0x55};
    CHECK(go_prologue_end(huge, sizeof huge) == 14);
    // go1.19's Write: lea -0x68(%rsp),%r12; cmp 0x10(%r14),%r12; jbe rel32; sub $0xe8,%rsp
    const uint8_t go119[] = {0x4c, 0x8d, 0x64, 0x24, 0x98, 0x4d, 0x3b, 0x66, 0x10, 0x0f,
                             0x86, 0x64, 0x07, 0x00, 0x00, 0x48, 0x81, 0xec, 0xe8, 0x00};
    CHECK(go_prologue_end(go119, sizeof go119) == 15);
    // No check at all, or cut short: the entry.
    const uint8_t nosplit[] = {0x55, 0x48, 0x89, 0xe5};
    CHECK(go_prologue_end(nosplit, sizeof nosplit) == 0);
    CHECK(go_prologue_end(small, 8) == 0);
}

TEST_CASE("a program that is not Go gets no Go uprobes", "[tls][go]") {
    auto plan = plan_go_tls("/bin/sh");
    CHECK_FALSE(plan.go);
    CHECK_FALSE(plan.write);
    auto none = plan_go_tls("/nonexistent-stockade/prog");
    CHECK_FALSE(none.go);
}
