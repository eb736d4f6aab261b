#include "enforce/landlock.hpp"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <map>

#include "common/error.hpp"

namespace stockade::enforce {

namespace {

// The uapi header of Debian 12 stops at ABI 3; these are the kernel's values for later ABIs.
constexpr uint64_t kFsExecute = 1ull << 0, kFsWriteFile = 1ull << 1, kFsReadFile = 1ull << 2,
                   kFsReadDir = 1ull << 3, kFsRemoveDir = 1ull << 4, kFsRemoveFile = 1ull << 5,
                   kFsMakeChar = 1ull << 6, kFsMakeDir = 1ull << 7, kFsMakeReg = 1ull << 8,
                   kFsMakeSock = 1ull << 9, kFsMakeFifo = 1ull << 10, kFsMakeBlock = 1ull << 11,
                   kFsMakeSym = 1ull << 12, kFsRefer = 1ull << 13, kFsTruncate = 1ull << 14;
constexpr uint64_t kNetBindTcp = 1ull << 0, kNetConnectTcp = 1ull << 1;
constexpr uint64_t kScopeSignal = 1ull << 1;
constexpr int kRulePathBeneath = 1, kRuleNetPort = 2;

struct RulesetAttr {  // struct landlock_ruleset_attr, ABI 6 layout
    uint64_t handled_access_fs, handled_access_net, scoped;
};
struct PathBeneathAttr {  // struct landlock_path_beneath_attr (packed in the uapi)
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));
struct NetPortAttr {  // struct landlock_net_port_attr
    uint64_t allowed_access, port;
};

constexpr uint64_t kFileOnly = kFsExecute | kFsWriteFile | kFsReadFile | kFsTruncate;
constexpr uint64_t kRead = kFsReadFile | kFsReadDir;
constexpr uint64_t kWrite = kFsWriteFile | kFsTruncate;
constexpr uint64_t kCreate = kFsMakeReg | kFsMakeDir | kFsMakeSym | kFsMakeSock | kFsMakeFifo;
constexpr uint64_t kDelete = kFsRemoveFile | kFsRemoveDir;

// The directory (or file) a rule's pattern covers, widened to what Landlock can name: the
// longest leading part without a wildcard that exists.
std::string anchor(const std::string& pattern) {
    std::string p = pattern.substr(0, pattern.find_first_of("*?["));
    // "dir/" and "dir" are one object: one rule with the union of their rights, not two.
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    while (!p.empty()) {
        struct stat sb {};
        if (stat(p.c_str(), &sb) == 0) return p;
        auto slash = p.find_last_of('/');
        if (slash == std::string::npos) return "";
        p = slash == 0 ? "/" : p.substr(0, slash);
        if (p == "/") return p;
    }
    return "";
}

}  // namespace

int landlock_abi() {
    long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi > 0 ? static_cast<int>(abi) : 0;
}

LandlockPlan plan_landlock(const policy::Boundary& b, int abi) {
    LandlockPlan plan;
    plan.abi = abi;
    if (abi <= 0) return plan;
    plan.handled_fs = kFsExecute | kFsWriteFile | kFsReadFile | kFsReadDir | kDelete | kFsMakeChar | kCreate |
                      kFsMakeBlock | (abi >= 2 ? kFsRefer : 0) | (abi >= 3 ? kFsTruncate : 0);
    std::map<std::string, uint64_t> acc;
    auto add = [&](const std::vector<policy::PathRule>& rules, uint64_t rights) {
        for (auto& r : rules) {
            std::string a = anchor(r.pattern);
            if (a.empty()) continue;
            if (a == "/" && r.pattern != "/**") plan.notes.push_back(r.id + ": only / exists of " + r.pattern);
            acc[a] |= rights;
        }
    };
    add(b.system_rules, kRead);
    add(b.system_write_rules, kRead | kWrite);
    add(b.files.read, kRead);
    add(b.files.write, kWrite | (abi >= 2 ? kFsRefer : 0));
    add(b.files.create, kCreate | kWrite | (abi >= 2 ? kFsRefer : 0));
    add(b.files.remove, kDelete | (abi >= 2 ? kFsRefer : 0));
    add(b.exec.allow, kFsExecute | kFsReadFile);
    // exec opens the ELF interpreter for execution too: every allowed dynamic executable needs it.
    for (const char* ld : {"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1", "/lib/ld-linux.so.2"}) {
        char real[PATH_MAX];
        if (realpath(ld, real)) acc[real] |= kFsExecute | kFsReadFile;
    }
    for (auto& [path, rights] : acc) {
        struct stat sb {};
        uint64_t r = rights & plan.handled_fs;
        if (stat(path.c_str(), &sb) == 0 && !S_ISDIR(sb.st_mode)) r &= kFileOnly;
        if (r) plan.paths.push_back({path, r});
    }

    if (abi >= 4) {
        // A port range wider than this is left unhandled rather than listed port by port.
        constexpr int kMaxPorts = 1024;
        auto ports_of = [&](const std::vector<policy::PortRange>& ranges, std::vector<uint16_t>& out) {
            if (ranges.empty()) return false;  // any port
            for (auto& pr : ranges) {
                if (pr.hi - pr.lo >= kMaxPorts) return false;
                for (uint32_t p = pr.lo; p <= pr.hi; ++p) out.push_back(static_cast<uint16_t>(p));
            }
            return true;
        };
        plan.handle_connect = true;
        for (auto& r : b.network.connect) {
            if (r.protocol == policy::Protocol::Udp) continue;
            if (!ports_of(r.ports, plan.connect_ports)) {
                plan.handle_connect = false;
                plan.notes.push_back(r.id + ": any port, so TCP connect is not restricted by Landlock");
                break;
            }
        }
        if (!plan.handle_connect) plan.connect_ports.clear();
        plan.handle_bind = true;
        for (auto& r : b.network.bind) {
            if (!ports_of({r.ports}, plan.bind_ports)) {
                plan.handle_bind = false;
                break;
            }
        }
        if (!plan.handle_bind) plan.bind_ports.clear();
    }
    plan.scope_signal = abi >= 6;
    if (b.on_violation == OnViolation::Ask) {
        // What Landlock refuses never reaches a person: files, execs and connects are left to the
        // kernel's hold; binds and the signal scope stay.
        plan.handled_fs = 0;
        plan.paths.clear();
        plan.handle_connect = false;
        plan.connect_ports.clear();
        plan.notes.push_back("on_violation: ask: files, execs and TCP connects are not restricted by Landlock, "
                             "so that what is outside the allow lists can be held for approval");
    }
    return plan;
}

int build_landlock_ruleset(const LandlockPlan& plan) {
    if (plan.abi <= 0) throw Error("this kernel has no Landlock (or it is disabled): --landlock cannot be applied");
    RulesetAttr attr{};
    attr.handled_access_fs = plan.handled_fs;
    attr.handled_access_net = (plan.handle_connect ? kNetConnectTcp : 0) | (plan.handle_bind ? kNetBindTcp : 0);
    attr.scoped = plan.scope_signal ? kScopeSignal : 0;
    size_t size = plan.abi >= 6 ? sizeof attr : plan.abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
    int rs = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, size, 0));
    if (rs < 0) throw Error(std::string("landlock_create_ruleset: ") + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() {
            if (fd >= 0) close(fd);
        }
    } closer{rs};
    for (auto& p : plan.paths) {
        int fd = open(p.path.c_str(), O_PATH | O_CLOEXEC);
        if (fd < 0) continue;  // vanished since planning
        PathBeneathAttr pb{p.access, fd};
        long rc = syscall(SYS_landlock_add_rule, rs, kRulePathBeneath, &pb, 0);
        int err = errno;
        close(fd);
        if (rc != 0) throw Error("landlock rule for " + p.path + ": " + std::strerror(err));
    }
    auto add_ports = [&](const std::vector<uint16_t>& ports, uint64_t right) {
        for (auto port : ports) {
            NetPortAttr np{right, port};
            if (syscall(SYS_landlock_add_rule, rs, kRuleNetPort, &np, 0) != 0)
                throw Error("landlock rule for port " + std::to_string(port) + ": " + std::strerror(errno));
        }
    };
    add_ports(plan.connect_ports, kNetConnectTcp);
    add_ports(plan.bind_ports, kNetBindTcp);
    closer.fd = -1;
    return rs;
}

void restrict_to_ruleset(int ruleset_fd) {
    struct Closer {
        int fd;
        ~Closer() { close(fd); }
    } closer{ruleset_fd};
    // Without CAP_SYS_ADMIN Landlock requires no_new_privs; agents never need setuid anyway.
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        throw Error(std::string("prctl(PR_SET_NO_NEW_PRIVS): ") + std::strerror(errno));
    if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) != 0)
        throw Error(std::string("landlock_restrict_self: ") + std::strerror(errno));
}

void apply_landlock(const LandlockPlan& plan) { restrict_to_ruleset(build_landlock_ruleset(plan)); }

}  // namespace stockade::enforce
