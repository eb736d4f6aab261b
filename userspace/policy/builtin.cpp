// The builtin read access every agent gets unless its boundary says `system_read: false`:
// what a dynamically linked program reads just to start, resolve names and print the time.
#include "policy/parse.hpp"
#include "policy/pattern.hpp"

namespace stockade::policy {

std::vector<PathRule> builtin_system_rules() {
    static constexpr const char* kPatterns[] = {
        "/usr/**", "/lib/**", "/lib64/**", "/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/localtime",
        "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/resolv.conf", "/etc/ssl/**",
        "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/tty", "/dev/pts/**", "/proc/self/**",
        "/proc/thread-self/**", "/sys/devices/system/cpu/**",
        // glibc and coreutils at start-up: locale aliases, name-service and address-selection
        // config, the filesystem list (mkdir, mv), memory and CPU facts (sort, python).
        "/etc/locale.alias", "/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols",
        "/proc/filesystems", "/proc/meminfo", "/proc/cpuinfo", "/proc/stat", "/sys/fs/cgroup/**",
    };
    std::vector<PathRule> out;
    for (size_t i = 0; i < std::size(kPatterns); ++i) {
        PathRule r;
        r.id = "builtin:system-read";
        r.where = "system_read";
        r.text = kPatterns[i];
        // Resolved on this host: /lib -> usr/lib on merged-/usr systems, /etc/resolv.conf -> the
        // resolver's stub file, because the kernel reports those targets.
        r.pattern = resolve_leading_symlinks(r.text);
        r.glob = Glob(r.pattern);
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace stockade::policy
