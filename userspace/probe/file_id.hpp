// A file as the kernel names it: (superblock dev in the kernel's encoding, inode number), the
// pair BPF programs read from a dentry (d_sb->s_dev, d_inode->i_ino).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace stockade::probe {

struct KernelFileId {
    uint64_t dev = 0;  // MKDEV(major, minor) as the kernel packs it: major << 20 | minor
    uint64_t ino = 0;
};

// The kernel's (dev, ino) of `path` (symlinks followed), or nullopt when it cannot be stat'ed.
// On overlayfs and btrfs stat's st_dev is not the superblock's: that one comes from mountinfo.
std::optional<KernelFileId> kernel_file_id(const std::string& path);

}  // namespace stockade::probe
