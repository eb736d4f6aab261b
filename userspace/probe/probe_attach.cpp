// Attaching the programs (part of class Probe, probe.hpp): each link is adopted from its pin when
// a previous daemon of this build left one (the program never stopped), else attached and pinned.
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "probe/probe.hpp"
#include "probe/tls_targets.hpp"
#include "stockade_bpf.skel.h"

namespace stockade::probe {

bpf_link* Probe::attach_pinned(const std::string& name, const std::function<bpf_link*()>& attach) {
    if (bpf_link* adopted = pins_.adopt(name)) {
        ++takeover_.links_adopted;
        return adopted;
    }
    bpf_link* l = attach();
    if (!l) return nullptr;
    try {
        pins_.keep(name, l);
    } catch (...) {
        bpf_link__destroy(l);
        throw;
    }
    return l;
}

// Unpinned first: destroying the link then detaches its program.
void Probe::release_link(const std::string& name, bpf_link* link) {
    pins_.drop(name, link);
    bpf_link__destroy(link);
}

void Probe::attach_all() {
    // Tracepoints: these see every task; each program returns after one map lookup for the rest.
    struct {
        const char* name;
        bpf_program* prog;
    } tps[] = {
        {"sched_process_exec", skel_->progs.sk_exec},
        {"sched_process_fork", skel_->progs.sk_fork},
        {"sched_process_exit", skel_->progs.sk_exit},
        {"cgroup_mkdir", skel_->progs.sk_cgroup_mkdir},
        // Self-protection (bpf/self.bpf.h): signals are rare, so these cost the host nothing.
        {"signal_generate", skel_->progs.sk_signal_generate},
        {"signal_deliver", skel_->progs.sk_signal_deliver},
        // A labelled process's TCP sends (bpf/labelsend.bpf.h): a global load per send segment
        // until some process is labelled. Not loaded before Linux 6.16.
        {"tcp_sendmsg_locked", features_.tcp_send_tracepoint ? skel_->progs.sk_tcp_send : nullptr},
    };
    for (auto& tp : tps) {
        if (!tp.prog) continue;
        std::string name = std::string("tp_btf/") + tp.name;
        bpf_link* l = attach_pinned(name, [&] { return bpf_program__attach(tp.prog); });
        if (!l) detail::fail_libbpf("attaching " + name, errno);
        links_.emplace_back(name, l);
    }
    // Socket hooks on the cgroup v2 root: they cover every task, tracked or not, and cost an
    // untracked connect one map lookup.
    cgroup_root_fd_ = open(features_.cgroup2_mount.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup_root_fd_ < 0) detail::fail_libbpf("opening the cgroup v2 root " + features_.cgroup2_mount, errno);
    struct {
        const char* name;
        bpf_program* prog;
    } cgs[] = {
        {"cgroup/connect4", skel_->progs.sk_connect4},
        {"cgroup/connect6", skel_->progs.sk_connect6},
        {"cgroup/sendmsg4", skel_->progs.sk_sendmsg4},
        {"cgroup/sendmsg6", skel_->progs.sk_sendmsg6},
        // Drops the packets of a socket a labelled process was killed for sending on: a global
        // load per packet until then (bpf/labelsend.bpf.h).
        {"cgroup_skb/egress", skel_->progs.sk_egress},
    };
    for (auto& cg : cgs) {
        bpf_link* l = attach_pinned(cg.name, [&] { return bpf_program__attach_cgroup(cg.prog, cgroup_root_fd_); });
        if (!l) detail::fail_libbpf(std::string("attaching ") + cg.name + " to " + features_.cgroup2_mount, errno);
        links_.emplace_back(cg.name, l);
    }
}

// A previous daemon of this build left the syscall hook attached (something was tracked): keep it
// and its TLS uprobes.
void Probe::adopt_syscall_hook() {
    sys_exit_link_ = pins_.adopt("tp_btf/sys_exit");
    if (!sys_exit_link_) return;
    ++takeover_.links_adopted;
    attach_tls();
}

// The syscall hook puts every task of the host on the syscall slow path (DESIGN.md): it is
// attached only while something is tracked, so an idle host pays nothing for it.
void Probe::ensure_syscall_hook() {
    if (sys_exit_link_) return;
    sys_exit_link_ = attach_pinned("tp_btf/sys_exit", [&] { return bpf_program__attach(skel_->progs.sk_sys_exit); });
    if (!sys_exit_link_) detail::fail_libbpf("attaching tp_btf/sys_exit", errno);
    attach_tls();
    spdlog::info("syscall hook attached: agents are tracked");
}

// Uprobes on OpenSSL, attached with the syscall hook: an untracked process that calls SSL_write
// then pays a trap (docs/performance.md), so only while some agent is tracked. A file without
// one of the symbols (a program exporting SSL_write but not SSL_write_ex) keeps the others.
void Probe::attach_tls() {
    for (auto& file : tls_files_) {
        TlsPlan plan = plan_tls_probes(file);
        if (!plan.internal)
            spdlog::info("tls: {}: probing the exported SSL_write/SSL_read entries ({}); a uprobe on an entry "
                         "that starts with an instruction the kernel single-steps costs ~10x (docs/performance.md)",
                         file, plan.note);
        int attached = 0;
        for (auto& pt : plan.points) {
            using K = TlsProbePoint::Kind;
            bpf_program* entry = pt.kind == K::WriteInt    ? skel_->progs.sk_ssl_write
                                 : pt.kind == K::Write     ? skel_->progs.sk_ssl_write_ex
                                 : pt.kind == K::Read      ? skel_->progs.sk_ssl_read
                                 : pt.kind == K::Handshake ? skel_->progs.sk_ssl_handshake
                                                           : skel_->progs.sk_ssl_read_ex;
            bool is_read = pt.kind == K::Read || pt.kind == K::ReadEx;
            for (int ret = 0; ret <= (is_read ? 1 : 0); ++ret) {
                LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = ret == 1,
                            .func_name = pt.symbol.empty() ? nullptr : pt.symbol.c_str());
                std::string name = std::string(ret ? "uretprobe:" : "uprobe:") + file + ":" + pt.name;
                bpf_link* l = attach_pinned(name, [&] {
                    return bpf_program__attach_uprobe_opts(ret ? skel_->progs.sk_ssl_read_ret : entry, -1,
                                                           file.c_str(), pt.symbol.empty() ? pt.offset : 0, &o);
                });
                if (!l) {
                    spdlog::warn("no uprobe on {} in {}: {}", pt.name, file, std::strerror(errno));
                    continue;
                }
                ++attached;
                tls_links_.emplace_back(name, l);
            }
        }
        if (!attached) spdlog::warn("{} carries no OpenSSL SSL_write/SSL_read: TLS there is not seen", file);
    }
}

void Probe::detach_tls() {
    for (auto& [name, link] : tls_links_) release_link(name, link);
    tls_links_.clear();
}

void Probe::release_syscall_hook_if_idle() {
    if (!sys_exit_link_) return;
    uint64_t cg;
    uint32_t tgid;
    if (bpf_map__get_next_key(skel_->maps.agent_cgroups, nullptr, &cg, sizeof cg) == 0) return;
    if (bpf_map__get_next_key(skel_->maps.tracked, nullptr, &tgid, sizeof tgid) == 0) return;
    release_link("tp_btf/sys_exit", sys_exit_link_);
    sys_exit_link_ = nullptr;
    detach_tls();
    spdlog::info("syscall hook detached: nothing is tracked");
}

}  // namespace stockade::probe
