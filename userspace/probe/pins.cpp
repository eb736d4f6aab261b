#include "probe/pins.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"

namespace stockade::probe {

namespace fs = std::filesystem;

namespace {

constexpr long kBpfFsMagic = 0xcafe4a11;

std::string hex(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// .rodata is set per load (and frozen): never shared between loads.
bool pinnable(const bpf_map* map) {
    std::string name = bpf_map__name(map);
    return name.find(".rodata") == std::string::npos && name.find(".kconfig") == std::string::npos;
}

std::string map_path(const std::string& build_dir, const bpf_map* map) {
    return build_dir + "/maps/" + Pins::file_name(bpf_map__name(map));
}

[[noreturn]] void fail(const std::string& what, int err) {
    throw Error(what + ": " + std::strerror(err < 0 ? -err : err));
}

}  // namespace

uint64_t build_id(const void* elf, size_t size, const std::vector<uint64_t>& settings) {
    uint64_t h = 0xcbf29ce484222325ULL;
    auto mix = [&h](const unsigned char* p, size_t n) {
        for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
    };
    mix(static_cast<const unsigned char*>(elf), size);
    for (uint64_t s : settings) mix(reinterpret_cast<const unsigned char*>(&s), sizeof s);
    return h;
}

std::string Pins::file_name(const std::string& link_name) {
    std::string out = link_name;
    for (auto& c : out)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';  // bpffs refuses '.'
    return out.substr(0, 200);
}

namespace {

bool on_bpffs(const std::string& path) {
    struct statfs st {};
    return statfs(path.c_str(), &st) == 0 && st.f_type == kBpfFsMagic;
}

// systemd mounts a bpffs on /sys/fs/bpf at boot; a host without one gets it here, as systemd
// would have (only there: elsewhere the operator chooses what to mount).
void mount_standard_bpffs(const std::string& root) {
    const std::string standard = "/sys/fs/bpf";
    if (root.rfind(standard + "/", 0) != 0 || on_bpffs(standard)) return;
    if (mount("bpf", standard.c_str(), "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") == 0)
        spdlog::info("mounted a bpf file system on {} (none was) for the pins in {}", standard, root);
    else
        spdlog::warn("mounting a bpf file system on {}: {}", standard, std::strerror(errno));
}

}  // namespace

Pins::Pins(const std::string& root, uint64_t build) : root_(root), build_(build) {
    mount_standard_bpffs(root_);
    // The nearest directory that exists decides: nothing is made on another file system.
    std::error_code ec;
    fs::path existing = root_;
    while (!fs::exists(existing, ec) && existing.has_parent_path() && existing != existing.parent_path())
        existing = existing.parent_path();
    if (!on_bpffs(existing))
        throw Error("bpf_pin_dir " + root_ + " is not on a bpf file system (" + existing.string() +
                    " is not): pins there would not hold programs (mount one with `mount -t bpf bpf /sys/fs/bpf`, "
                    "or set bpf_pin_dir: \"\" to run unpinned)");
    fs::create_directories(build_dir() + "/maps", ec);
    if (!ec) fs::create_directories(build_dir() + "/links", ec);
    if (ec) throw Error("bpf_pin_dir " + root_ + ": cannot create " + build_dir() + ": " + ec.message());
}

std::string Pins::build_dir() const { return root_ + "/" + hex(build_); }

std::vector<std::string> Pins::stale_builds() const {
    std::vector<std::string> out;
    if (!enabled()) return out;
    std::error_code ec;
    for (auto& entry : fs::directory_iterator(root_, ec))
        if (entry.path().filename() != hex(build_)) out.push_back(entry.path().string());
    return out;
}

int Pins::reuse_maps(bpf_object* obj) {
    int reused = 0;
    if (!enabled()) return 0;
    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
        if (!pinnable(map)) continue;
        std::string path = map_path(build_dir(), map);
        int fd = bpf_obj_get(path.c_str());
        if (fd < 0) {
            if (errno != ENOENT) fail("opening the pinned map " + path, errno);
            continue;
        }
        int err = bpf_map__reuse_fd(map, fd);
        close(fd);  // reuse_fd keeps a duplicate
        if (err) fail("reusing the pinned map " + path, err);
        ++reused;
    }
    return reused;
}

void Pins::pin_maps(bpf_object* obj) {
    if (!enabled()) return;
    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
        if (!pinnable(map)) continue;
        std::string path = map_path(build_dir(), map);
        if (access(path.c_str(), F_OK) == 0) continue;  // reused: pinned already
        if (int err = bpf_map__pin(map, path.c_str())) fail("pinning map " + path, err);
    }
}

bpf_link* Pins::adopt(const std::string& name) {
    if (!enabled()) return nullptr;
    std::string path = build_dir() + "/links/" + file_name(name);
    if (access(path.c_str(), F_OK) != 0) return nullptr;
    bpf_link* link = bpf_link__open(path.c_str());
    if (!link) fail("opening the pinned link " + path, errno);
    spdlog::debug("adopted pinned link {}", path);
    return link;
}

void Pins::keep(const std::string& name, bpf_link* link) {
    if (!enabled()) return;
    std::string path = build_dir() + "/links/" + file_name(name);
    if (access(path.c_str(), F_OK) == 0 && unlink(path.c_str()) != 0) fail("replacing the pinned link " + path, errno);
    if (int err = bpf_link__pin(link, path.c_str())) fail("pinning link " + path, err);
}

void Pins::drop(const std::string& name, bpf_link* link) {
    if (!enabled()) return;
    if (bpf_link__pin_path(link)) {
        bpf_link__unpin(link);
        return;
    }
    std::string path = build_dir() + "/links/" + file_name(name);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) spdlog::warn("unpinning {}: {}", path, std::strerror(errno));
}

std::vector<std::string> Pins::retire_stale() {
    if (!enabled()) return {};
    auto stale = stale_builds();
    for (auto& dir : stale) {
        std::error_code ec;
        // Links first: their programs stop while the maps they read still exist.
        fs::remove_all(dir + "/links", ec);
        if (!ec) fs::remove_all(dir, ec);
        if (ec) spdlog::error("retiring the stale pins in {}: {}: the old programs may still run", dir, ec.message());
    }
    return stale;
}

size_t Pins::remove_all(const std::string& root) {
    std::error_code ec;
    if (root.empty() || !fs::exists(root, ec)) return 0;
    size_t pins = 0;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (!it->is_directory(ec)) ++pins;
    // Links before maps, in every build directory, so no program outlives a map it reads.
    for (auto& build : fs::directory_iterator(root, ec)) fs::remove_all(build.path() / "links", ec);
    if (!ec) fs::remove_all(root, ec);
    if (ec) throw Error("removing the pins under " + root + ": " + ec.message());
    return pins;
}

}  // namespace stockade::probe
