// Never pins on files in a temporary directory: no privileges needed.
#include "enforce/never_pins.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "../temp_dir.hpp"
#include "probe/file_id.hpp"

using stockade::enforce::NeverPins;

namespace {

bool is_open(int fd) {
    return fcntl(fd, F_GETFD) != -1;
}

}  // namespace

TEST_CASE("a pin names the file's inode and holds it until the file has no name left", "[enforce][pins]") {
    stockade::test::TempDir dir;
    std::string secret = dir.write("secret", "key");
    std::string other_name = dir.file("copy");
    REQUIRE(link(secret.c_str(), other_name.c_str()) == 0);
    auto id = stockade::probe::kernel_file_id(secret);
    REQUIRE(id);

    NeverPins pins;
    NeverPins::Released evicted;
    REQUIRE(pins.pin("", other_name, "coder", "coder.yaml:files.never[0]", evicted));
    CHECK(evicted.empty());
    REQUIRE(pins.pinned().size() == 1);
    CHECK(pins.pinned()[0].agent == "coder");
    CHECK(pins.pinned()[0].dev == id->dev);
    CHECK(pins.pinned()[0].ino == id->ino);
    CHECK_FALSE(pins.pinned()[0].dir);
    CHECK(pins.pinned()[0].rule == "coder.yaml:files.never[0]");

    CHECK(pins.drop_gone().empty());  // both names exist
    REQUIRE(unlink(other_name.c_str()) == 0);
    CHECK(pins.drop_gone().empty());  // one name left
    REQUIRE(unlink(secret.c_str()) == 0);
    int fd = -1;
    {
        NeverPins::Released gone = pins.drop_gone();
        REQUIRE(gone.size() == 1);
        fd = gone.fds()[0];
        CHECK(pins.pinned().empty());
        CHECK(is_open(fd));  // still held: the tables without it are not in force yet
    }
    CHECK_FALSE(is_open(fd));
}

TEST_CASE("a pin is looked up under the process's root first, and a directory pins its tree", "[enforce][pins]") {
    stockade::test::TempDir dir;
    dir.write("root/etc/keys/a", "k");
    NeverPins pins;
    NeverPins::Released evicted;
    REQUIRE(pins.pin(dir.file("root"), "/etc/keys", "coder", "r", evicted));
    REQUIRE(pins.pinned().size() == 1);
    CHECK(pins.pinned()[0].dir);
    CHECK(pins.pinned()[0].ino == stockade::probe::kernel_file_id(dir.file("root/etc/keys"))->ino);
    // Not found under either: nothing pinned.
    CHECK_FALSE(pins.pin(dir.file("root"), "/no/such/file", "coder", "r", evicted));
    CHECK(pins.pinned().size() == 1);
}

TEST_CASE("past the limit the oldest pin makes room, its descriptor handed back", "[enforce][pins]") {
    stockade::test::TempDir dir;
    NeverPins pins(2);
    NeverPins::Released evicted;
    for (const char* name : {"a", "b"}) REQUIRE(pins.pin("", dir.write(name), "coder", name, evicted));
    CHECK(evicted.empty());
    REQUIRE(pins.pin("", dir.write("c"), "coder", "c", evicted));
    REQUIRE(evicted.size() == 1);
    CHECK(is_open(evicted.fds()[0]));
    REQUIRE(pins.pinned().size() == 2);
    CHECK(pins.pinned()[0].rule == "b");
    CHECK(pins.pinned()[1].rule == "c");
}
