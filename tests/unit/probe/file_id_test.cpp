// probe::kernel_file_id: (dev, inode) as BPF programs read them from a dentry.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "probe/file_id.hpp"

using namespace stockade;

TEST_CASE("kernel_file_id packs the device as the kernel does and follows symlinks", "[probe][file_id]") {
    auto dir = std::filesystem::temp_directory_path() / ("stockade-fileid-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "f") << "x";
    std::filesystem::create_symlink(dir / "f", dir / "link");
    struct stat st {};
    REQUIRE(stat((dir / "f").c_str(), &st) == 0);
    struct statfs sf {};
    REQUIRE(statfs(dir.c_str(), &sf) == 0);

    auto id = probe::kernel_file_id(dir / "f");
    REQUIRE(id);
    CHECK(id->ino == st.st_ino);
    if (sf.f_type != 0x794c7630 && sf.f_type != 0x9123683e)  // not overlayfs/btrfs: st_dev is the superblock's
        CHECK(id->dev == ((static_cast<uint64_t>(major(st.st_dev)) << 20) | minor(st.st_dev)));
    auto via_link = probe::kernel_file_id(dir / "link");
    REQUIRE(via_link);
    CHECK(via_link->ino == id->ino);
    CHECK(via_link->dev == id->dev);
    CHECK_FALSE(probe::kernel_file_id(dir / "missing"));
    std::filesystem::remove_all(dir);
}
