#include "probe/file_id.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace stockade::probe {

namespace {

constexpr long kOverlayfsMagic = 0x794c7630;
constexpr long kBtrfsMagic = 0x9123683e;

// The superblock's device of the mount `path` is on, from /proc/self/mountinfo; st_dev otherwise.
dev_t superblock_dev(const std::string& path, dev_t st_dev) {
    struct statfs sf {};
    if (statfs(path.c_str(), &sf) != 0) return st_dev;
    if (sf.f_type != kOverlayfsMagic && sf.f_type != kBtrfsMagic) return st_dev;
    struct statx sx {};
    if (statx(AT_FDCWD, path.c_str(), 0, STATX_MNT_ID, &sx) != 0 || !(sx.stx_mask & STATX_MNT_ID)) return st_dev;
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mountinfo, line)) {
        std::istringstream fields(line);
        uint64_t id = 0, parent = 0;
        std::string majmin;
        fields >> id >> parent >> majmin;
        unsigned ma = 0, mi = 0;
        if (id == sx.stx_mnt_id && sscanf(majmin.c_str(), "%u:%u", &ma, &mi) == 2) return makedev(ma, mi);
    }
    return st_dev;
}

}  // namespace

std::optional<KernelFileId> kernel_file_id(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return std::nullopt;
    dev_t dev = superblock_dev(path, st.st_dev);
    return KernelFileId{(static_cast<uint64_t>(major(dev)) << 20) | minor(dev), static_cast<uint64_t>(st.st_ino)};
}

}  // namespace stockade::probe
