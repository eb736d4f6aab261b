// The builtin access every agent gets unless its boundary says `system_read: false`: what the
// runtimes agents use (glibc and coreutils, Go, Node, Python, Rust, Java) read just to start,
// resolve names and print the time, and the two devices a shell opens read-write. Nothing more:
// docs/boundary.md lists them, and tests/unit/policy/builtin_test.cpp holds the list to that.
#include <glob.h>

#include "policy/parse.hpp"
#include "policy/pattern.hpp"

namespace stockade::policy {

namespace {

// One rule per pattern; a pattern below a symlink (/lib -> usr/lib on merged-/usr systems,
// /etc/resolv.conf -> the resolver's stub) also gets a rule for its unresolved form: the kernel
// reports the target of an open that succeeded, but the name as given for one that failed
// (a probe of a missing library under /lib must still be a system read).
std::vector<PathRule> rules_for(const char* id, const char* where, std::initializer_list<const char*> patterns) {
    std::vector<PathRule> out;
    auto add = [&](const std::string& text, const std::string& pattern) {
        PathRule r;
        r.id = id;
        r.where = where;
        r.text = text;
        r.pattern = pattern;
        r.glob = Glob(r.pattern);
        out.push_back(std::move(r));
    };
    for (const char* p : patterns) {
        std::string resolved = resolve_leading_symlinks(p);
        add(p, resolved);
        if (resolved != p) add(p, p);
    }
    return out;
}

// A runtime's configuration directories on this host, as a whole-directory rule each: the
// directories present now (a glob would make every boundary's file rules the daemon's instead
// of the kernel's). Debian links $JAVA_HOME/conf to /etc/java-<N>-openjdk, which the JVM reads to
// start, and /usr/lib/python3.<N>/sitecustomize.py to /etc/python3.<N>/, which Python imports.
std::vector<PathRule> config_dir_rules(const char* dirs) {
    std::vector<PathRule> out;
    glob_t g{};
    if (glob(dirs, GLOB_ONLYDIR, nullptr, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; ++i) {
            std::string dir = std::string(g.gl_pathv[i]) + "/**";
            auto rules = rules_for("builtin:system-read", "system_read", {dir.c_str()});
            out.insert(out.end(), rules.begin(), rules.end());
        }
    globfree(&g);
    return out;
}

}  // namespace

std::vector<PathRule> builtin_system_rules() {
    auto rules = rules_for(
        "builtin:system-read", "system_read",
        {
            "/usr/**", "/lib/**", "/lib64/**", "/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/localtime",
            "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/resolv.conf", "/etc/ssl/**",
            "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/tty", "/dev/pts/**", "/proc/self/**",
            "/proc/thread-self/**", "/sys/devices/system/cpu/**",
            // glibc and coreutils at start-up: locale aliases, name-service and address-selection
            // config, the filesystem list (mkdir, mv), memory and CPU facts (sort, python).
            "/etc/locale.alias", "/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols",
            "/proc/filesystems", "/proc/meminfo", "/proc/cpuinfo", "/proc/stat", "/sys/fs/cgroup/**",
            // glibc's malloc, when a thread's heap shrinks (Node's and the JVM's threads do).
            "/proc/sys/vm/overcommit_memory",
            // Go's runtime (every Go binary, before main) and the JVM: the huge page size and
            // mode; the JVM also lists the huge page sizes and reads the cgroup controllers.
            "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "/sys/kernel/mm/transparent_hugepage/enabled",
            "/sys/kernel/mm/hugepages", "/proc/cgroups",
            // Bun's runtime (JavaScriptCore) at start: Claude Code is a Bun binary.
            "/proc/sys/vm/mmap_min_addr",
        });
    for (const char* dirs : {"/etc/java-*-openjdk", "/etc/python3*"}) {
        auto more = config_dir_rules(dirs);
        rules.insert(rules.end(), more.begin(), more.end());
    }
    return rules;
}

std::vector<PathRule> builtin_system_write_rules() {
    // A shell opens its terminal read-write; output is thrown away into /dev/null; the JVM sets
    // its own core dump filter at start.
    return rules_for("builtin:system-write", "system_read",
                     {"/dev/null", "/dev/tty", "/proc/self/coredump_filter"});
}

}  // namespace stockade::policy
