// Where stockade's kernel side outlives the daemon: every map and link pinned under bpffs, in
// one directory (config `bpf_pin_dir`, default /sys/fs/bpf/stockade), one subdirectory per
// build of the BPF object:
//
//   <root>/<build>/maps/<map>     every map but .rodata (its values are set per load)
//   <root>/<build>/links/<link>   every attached program's link
//
// <build> is a hash of the object's bytes and of the load-time settings that shape its maps
// (ring size, wake threshold). A restarted daemon of the same build reuses the pinned maps
// before it loads (tables, tracked processes, the ring with what it still holds) and adopts
// the pinned links as they are: the programs never stop. A daemon of another build loads with
// maps of its own, attaches its links beside the old ones and, once its tables are in, retires
// the old build's directory: both run for a moment, none is ever missing (docs/architecture.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct bpf_object;
struct bpf_link;

namespace stockade::probe {

class Pins {
public:
    Pins() = default;  // pinning off: everything lives as long as the daemon's descriptors
    // Throws stockade::Error when `root` exists but is not on a bpffs, or cannot be made.
    Pins(const std::string& root, uint64_t build);

    bool enabled() const { return !root_.empty(); }
    const std::string& root() const { return root_; }
    std::string build_dir() const;
    // Build directories under root that are not ours (another build's pins, or a half-done
    // takeover): retired by retire_stale().
    std::vector<std::string> stale_builds() const;

    // Before load: every map pinned by this build is reused. Returns how many were.
    int reuse_maps(bpf_object* obj);
    // After load: pins every map that is not pinned yet.
    void pin_maps(bpf_object* obj);
    // The pinned link `name` of this build, or nullptr (not pinned).
    bpf_link* adopt(const std::string& name);
    // Pins a link just attached / takes its pin away (before it is destroyed to detach it).
    void keep(const std::string& name, bpf_link* link);
    void drop(const std::string& name, bpf_link* link);
    // Removes the stale builds' pins: their links detach (no one else holds them), their maps go
    // with their last program. Returns the directories removed.
    std::vector<std::string> retire_stale();

    // Removes everything under `root` and `root` itself (`stockaded --unpin`). Returns the number
    // of pins removed; throws stockade::Error if one cannot be.
    static size_t remove_all(const std::string& root);
    // A file name for a map or link name ("tp_btf/sys_exit" -> "tp_btf_sys_exit"; bpffs refuses
    // names with a dot: "stockade.bss" -> "stockade_bss").
    static std::string file_name(const std::string& link_name);

private:
    std::string root_;
    uint64_t build_ = 0;
};

// The build id of an object: FNV-1a 64 over its bytes and the given load-time settings.
uint64_t build_id(const void* elf, size_t size, const std::vector<uint64_t>& settings);

}  // namespace stockade::probe
