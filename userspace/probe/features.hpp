// What this kernel offers stockade, probed at start-up and reported by `stockade status`.
#pragma once

#include <string>
#include <vector>

namespace stockade::probe {

struct Features {
    bool btf = false;            // /sys/kernel/btf/vmlinux: needed for CO-RE
    bool ringbuf = false;        // BPF_MAP_TYPE_RINGBUF
    bool bpf_lsm_listed = false; // "bpf" in /sys/kernel/security/lsm (when securityfs is mounted)
    bool lsm_programs = false;   // an lsm program type loads (BPF-LSM backend possible)
    int landlock_abi = 0;        // 0 = no Landlock
    std::string cgroup2_mount;   // "" = no cgroup v2 hierarchy
    bool tcp_send_tracepoint = false;  // tcp:tcp_sendmsg_locked (Linux 6.16): labelled sends judged

    // Problems that make the probes impossible, each a sentence with the remedy.
    std::vector<std::string> missing() const;
    std::string summary() const;  // one line per feature, for logs and `stockade status`
};

Features probe_features();

// The cgroup v2 mount point from /proc/mounts ("" if none).
std::string find_cgroup2_mount();

}  // namespace stockade::probe
