#include "probe/features.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace stockade::probe {

std::string find_cgroup2_mount() {
    std::ifstream mounts("/proc/mounts");
    std::string dev, dir, type;
    std::string rest;
    while (mounts >> dev >> dir >> type) {
        std::getline(mounts, rest);
        if (type == "cgroup2") return dir;
    }
    return "";
}

Features probe_features() {
    Features f;
    f.btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
    f.ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) == 1;
    f.lsm_programs = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_LSM, nullptr) == 1;
    std::ifstream lsm("/sys/kernel/security/lsm");
    std::string list;
    if (lsm >> list) f.bpf_lsm_listed = ("," + list + ",").find(",bpf,") != std::string::npos;
    long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    f.landlock_abi = abi > 0 ? static_cast<int>(abi) : 0;
    f.cgroup2_mount = find_cgroup2_mount();
    if (btf* vmlinux = btf__load_vmlinux_btf()) {
        f.tcp_send_tracepoint = btf__find_by_name_kind(vmlinux, "btf_trace_tcp_sendmsg_locked", BTF_KIND_TYPEDEF) > 0;
        btf__free(vmlinux);
    }
    return f;
}

std::vector<std::string> Features::missing() const {
    std::vector<std::string> out;
    if (!btf)
        out.push_back("kernel BTF (/sys/kernel/btf/vmlinux) is missing: boot a kernel built with "
                      "CONFIG_DEBUG_INFO_BTF=y");
    if (!ringbuf) out.push_back("the BPF ring buffer is missing: stockade needs Linux 5.8 or newer");
    if (cgroup2_mount.empty())
        out.push_back("no cgroup v2 hierarchy is mounted: mount one (mount -t cgroup2 none /sys/fs/cgroup/unified) "
                      "or boot with systemd.unified_cgroup_hierarchy=1");
    return out;
}

std::string Features::summary() const {
    std::ostringstream s;
    s << "btf=" << (btf ? "yes" : "no") << " ringbuf=" << (ringbuf ? "yes" : "no")
      << " cgroup2=" << (cgroup2_mount.empty() ? "none" : cgroup2_mount)
      << " landlock_abi=" << landlock_abi << " labelled_sends=" << (tcp_send_tracepoint ? "kernel" : "unjudged") << " bpf_lsm=" << (lsm_programs ? "loadable" : (bpf_lsm_listed ? "listed-not-loadable" : "no"));
    return s.str();
}

}  // namespace stockade::probe
