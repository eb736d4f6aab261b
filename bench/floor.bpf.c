// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark-only programs on tp_btf/sys_exit, attached one at a time beside stockade's numbers.
 *
 *   floor_noop             returns at once: the floor, what any syscall hook costs every task
 *   floor_nr_core          + stockade's first step: syscall number read with BPF_CORE_READ
 *                            (a bpf_probe_read_kernel call) and the switch over the hooked numbers
 *   floor_nr_direct        the same with a direct (BTF) load of regs->orig_ax
 *   floor_untracked_direct stockade's whole "not tracked" path (number filter, tgid hash lookup,
 *                            cgroup id, cgroup hash lookup; both maps empty) with direct loads
 *   floor_reads_core       for tasks of one cgroup only: 16 task-field reads with BPF_CORE_READ
 *   floor_reads_direct     the same 16 reads as direct BTF loads
 *
 * The last two price one BPF_CORE_READ against a direct load, to explain the tracked figures.
 * floor_uprobe_noop and floor_uretprobe_noop (at the end) are the floor of the TLS uprobes.
 *
 * On tp_btf/sys_enter, attached beside floor_noop: what checking a call before it runs would add
 * to every task (issue 17: refusing chmod, xattr writes and O_TRUNC opens at entry).
 *   floor_enter_noop       returns at once: the floor of a second syscall hook
 *   floor_enter_untracked  the untracked path of an entry-time check of the chmod, xattr and
 *                          open families (number filter, tgid and cgroup lookups; maps empty)
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "sysnr.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u64 target_cgroup = 0;
__u64 sink = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} bench_tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} bench_cgroups SEC(".maps");

/* stockade's hooked syscall numbers (bpf/syscalls.bpf.h, sk_sys_exit) */
static __always_inline bool hooked(__u64 nr)
{
	switch (nr) {
	case NR_open: case NR_creat: case NR_openat: case NR_openat2: case NR_unlink: case NR_unlinkat:
	case NR_rmdir: case NR_rename: case NR_renameat: case NR_renameat2: case NR_mkdir: case NR_mkdirat:
	case NR_chmod: case NR_fchmod: case NR_fchmodat: case NR_fchmodat2: case NR_truncate:
	case NR_ftruncate: case NR_link: case NR_linkat: case NR_symlink: case NR_symlinkat:
	case NR_connect: case NR_accept: case NR_accept4: case NR_sendto: case NR_sendmsg: case NR_bind:
	case NR_listen: case NR_kill: case NR_tkill: case NR_tgkill: case NR_pidfd_send_signal: case NR_ptrace:
	case NR_process_vm_readv: case NR_process_vm_writev: case NR_pidfd_getfd: case NR_bpf:
	case NR_read: case NR_write: case NR_recvfrom: case NR_readv: case NR_writev: case NR_recvmsg:
	case NR_open_by_handle_at: case NR_io_uring_setup: case NR_io_uring_enter: case NR_io_uring_register:
	case NR_setxattr: case NR_lsetxattr: case NR_fsetxattr: case NR_removexattr: case NR_lremovexattr:
	case NR_fremovexattr: case NR_setxattrat: case NR_removexattrat:
		return true;
	default:
		return false;
	}
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_noop, struct pt_regs *regs, long ret)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_nr_core, struct pt_regs *regs, long ret)
{
	__u64 nr = BPF_CORE_READ(regs, orig_ax);

	if (hooked(nr))
		sink++;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_nr_direct, struct pt_regs *regs, long ret)
{
	__u64 nr = regs->orig_ax;

	if (hooked(nr))
		sink++;
	return 0;
}

/* The "is it tracked?" question an untracked process pays: by tgid, then by cgroup. */
static __always_inline int track_lookup(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 cg;

	if (bpf_map_lookup_elem(&bench_tracked, &tgid))
		return 0;
	cg = bpf_get_current_cgroup_id();
	if (bpf_map_lookup_elem(&bench_cgroups, &cg))
		sink++;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_untracked_direct, struct pt_regs *regs, long ret)
{
	__u64 nr = regs->orig_ax;
	struct task_struct *task = bpf_get_current_task_btf();
	/* stockade judges every 32-bit syscall of a tracked task (thread_info.status & TS_COMPAT) */
	if (!(task->thread_info.status & 0x0002) && !hooked(nr))
		return 0;
	return track_lookup();
}

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_enter_noop, struct pt_regs *regs, long id)
{
	return 0;
}

/* The calls an entry-time check would look at: they change a file before their exit. */
static __always_inline bool mutating(__u64 nr)
{
	switch (nr) {
	case NR_open: case NR_creat: case NR_openat: case NR_openat2: case NR_truncate: case NR_ftruncate:
	case NR_chmod: case NR_fchmod: case NR_fchmodat: case NR_fchmodat2:
	case NR_setxattr: case NR_lsetxattr: case NR_fsetxattr: case NR_removexattr: case NR_lremovexattr:
	case NR_fremovexattr: case NR_setxattrat: case NR_removexattrat:
		return true;
	default:
		return false;
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_enter_untracked, struct pt_regs *regs, long id)
{
	if (!mutating(id))
		return 0;
	return track_lookup();
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_reads_core, struct pt_regs *regs, long ret)
{
	struct task_struct *t;
	__u64 acc = 0;

	if (bpf_get_current_cgroup_id() != target_cgroup)
		return 0;
	t = bpf_get_current_task_btf();
	/* 16 bpf_probe_read_kernel calls, the kind stockade makes for each tracked event */
	acc += BPF_CORE_READ(t, tgid);                                   /* 1 */
	acc += BPF_CORE_READ(t, pid);                                    /* 1 */
	acc += BPF_CORE_READ(t, real_parent, tgid);                      /* 2 */
	acc += BPF_CORE_READ(t, group_leader, start_boottime);           /* 2 */
	acc += BPF_CORE_READ(t, real_parent, group_leader, start_boottime); /* 3 */
	acc += BPF_CORE_READ(t, files, fdt, max_fds);                    /* 3 */
	acc += BPF_CORE_READ(t, fs, umask);                              /* 2 */
	acc += BPF_CORE_READ(t, mm, arg_start);                          /* 2 */
	sink += acc;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_reads_direct, struct pt_regs *regs, long ret)
{
	struct task_struct *t;
	__u64 acc = 0;

	if (bpf_get_current_cgroup_id() != target_cgroup)
		return 0;
	t = bpf_get_current_task_btf();
	/* the same 16 loads, as direct BTF pointer dereferences */
	acc += t->tgid;
	acc += t->pid;
	acc += t->real_parent->tgid;
	acc += t->group_leader->start_boottime;
	acc += t->real_parent->group_leader->start_boottime;
	acc += t->files->fdt->max_fds;
	acc += t->fs->umask;
	acc += t->mm->arg_start;
	sink += acc;
	return 0;
}

/* The floor of the TLS benchmark (bench/tls.cpp): attached as a uprobe (and a uretprobe) on
 * each OpenSSL function stockade probes, they return at once: what the trap alone costs. */
SEC("uprobe")
int floor_uprobe_noop(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_uretprobe_noop(struct pt_regs *ctx)
{
	return 0;
}
