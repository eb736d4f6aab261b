// Pin names and build ids (probe/pins.hpp), without a kernel: bpffs refuses names with a dot or
// a slash, and the build id must change with anything that changes the maps' shape.
#include <catch2/catch.hpp>
#include <string>

#include "probe/pins.hpp"

using stockade::probe::build_id;
using stockade::probe::Pins;

TEST_CASE("pin file names carry no dot and no slash", "[pins]") {
    CHECK(Pins::file_name("stockade.bss") == "stockade_bss");
    CHECK(Pins::file_name("tp_btf/sys_exit") == "tp_btf_sys_exit");
    std::string tls = Pins::file_name("uprobe:/usr/lib/x86_64-linux-gnu/libssl.so.3:ssl_write_internal@0x355e0");
    CHECK(tls.find_first_of("./:@") == std::string::npos);
    CHECK(Pins::file_name(std::string(300, 'a')).size() <= 200);
}

TEST_CASE("the build id follows the object's bytes and the settings that shape its maps", "[pins]") {
    std::string elf(4096, '\x7f');
    uint64_t base = build_id(elf.data(), elf.size(), {8u << 20, 256u << 10});
    CHECK(build_id(elf.data(), elf.size(), {8u << 20, 256u << 10}) == base);
    CHECK(build_id(elf.data(), elf.size(), {4u << 20, 256u << 10}) != base);  // another ring size
    elf[100] = 0;
    CHECK(build_id(elf.data(), elf.size(), {8u << 20, 256u << 10}) != base);  // another object
}
