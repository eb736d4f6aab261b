/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one syscall hook: raw_syscalls:sys_exit. At exit the arguments are still in pt_regs and
 * the result is known, so one hook serves every file and network syscall. x86_64 numbers; a
 * 32-bit syscall of a tracked task goes to channel.bpf.h whatever its number.
 */
#ifndef STOCKADE_SYSCALLS_BPF_H
#define STOCKADE_SYSCALLS_BPF_H

#include "file.bpf.h"
#include "channel.bpf.h"
#include "io.bpf.h"
#include "net.bpf.h"
#include "self.bpf.h"
#include "hold.bpf.h"
#include "track.bpf.h"
#include "taint.bpf.h"

/* The x86_64 syscalls sk_sys_exit looks at; every other one returns at once (self.bpf.h: the mount family). */
static __always_inline bool sk_hooked_nr(__u64 nr)
{
	switch (nr) {
	case NR_open: case NR_creat: case NR_openat: case NR_openat2: case NR_unlink: case NR_unlinkat:
	case NR_rmdir: case NR_rename: case NR_renameat: case NR_renameat2: case NR_mkdir: case NR_mkdirat:
	case NR_chmod: case NR_fchmod: case NR_fchmodat: case NR_fchmodat2: case NR_truncate:
	case NR_ftruncate: case NR_link: case NR_linkat: case NR_symlink: case NR_symlinkat:
	case NR_setxattr: case NR_lsetxattr: case NR_fsetxattr: case NR_removexattr: case NR_lremovexattr:
	case NR_fremovexattr: case NR_setxattrat: case NR_removexattrat:
	case NR_connect: case NR_accept: case NR_accept4: case NR_sendto: case NR_sendmsg: case NR_bind:
	case NR_listen: case NR_kill: case NR_tkill: case NR_tgkill: case NR_pidfd_send_signal: case NR_ptrace:
	case NR_process_vm_readv: case NR_process_vm_writev: case NR_pidfd_getfd: case NR_bpf:
	case NR_read: case NR_write: case NR_recvfrom: case NR_readv: case NR_writev: case NR_recvmsg:
	case NR_open_by_handle_at: case NR_io_uring_setup: case NR_io_uring_enter: case NR_io_uring_register:
	case NR_rt_sigqueueinfo: case NR_rt_tgsigqueueinfo: case NR_pidfd_open:
		return true;
	}
	return sk_is_mount_nr(nr);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sk_sys_exit, struct pt_regs *regs, long ret)
{
	/* A direct load (regs is a trusted BTF pointer in tp_btf): every syscall of the host runs this
	 * line, and a probe-read helper call here measured +30 ns per syscall (docs/performance.md). */
	__u64 nr = regs->orig_ax;
	struct task_struct *task;
	bool compat;

	/* kill-agent: the rest of a doomed agent dies at its next syscall (one load while none is). */
	if (doomed_active) {
		__u64 cg = bpf_get_current_cgroup_id();

		if (bpf_map_lookup_elem(&doomed, &cg)) {
			bpf_send_signal(SIGKILL);
			return 0;
		}
	}
	struct sk_track *t;
	struct sk_args a;
	__u32 tgid;

	/* A 32-bit syscall numbers its calls differently: every one of a tracked task is judged. */
	task = bpf_get_current_task_btf();
	compat = sk_in_compat_syscall(task);
	if (!compat && !sk_hooked_nr(nr))
		return sk_taint_unhooked(regs, nr, ret); /* pwrite, splice ...: labelled writers only */
	tgid = bpf_get_current_pid_tgid() >> 32;
	t = sk_tracked(tgid, task);
	if (!t)
		return 0;
	if (holds_issued && sk_daemon_gone())
		sk_holds_fail_closed(false);
	if (compat)
		return sk_channel_global(nr, 0, 0, ret, 1);
	sk_read_args(regs, &a);
	if (labels_live) /* labels through pipes, sockets and files (taint.bpf.h) */
		sk_taint_call(nr, &a, ret, true);
	if (nr == NR_ptrace && ret >= 0)
		sk_hold_ptrace(a.a[0], a.a[1], tgid);
	/* Data on a pipe or a connection: one call site, so the verifier walks sk_io_event once. */
	if (nr == NR_read || nr == NR_write || nr == NR_recvfrom || nr == NR_readv || nr == NR_writev ||
	    nr == NR_recvmsg || (nr == NR_sendto && !a.a[4]) || nr == NR_sendmsg) {
		const struct iovec *iov = 0;
		__u64 iovcnt = 0;

		if (nr == NR_readv || nr == NR_writev) {
			iov = (const struct iovec *)a.a[1];
			iovcnt = a.a[2];
		} else if (nr == NR_recvmsg || nr == NR_sendmsg) {
			struct user_msghdr mh = {};

			if (bpf_probe_read_user(&mh, sizeof(mh), (void *)a.a[1]))
				return 0;
			if (mh.msg_name) { /* a datagram with an address: the network record below */
				if (nr == NR_recvmsg)
					return 0;
				goto net;
			}
			iov = mh.msg_iov;
			iovcnt = mh.msg_iovlen;
			if (!iov)
				return 0;
		}
		bool write = nr == NR_write || nr == NR_writev || nr == NR_sendto || nr == NR_sendmsg;

		return sk_io_global((a.a[0] & 0xffffffffULL) | ((__u64)write << 63), a.a[1], (__u64)iov, iovcnt, ret);
	}
net:
	/* Aimed at the daemon: self-protection; at another process: a channel (below). */
	if ((sk_is_signal_nr(nr) || sk_is_access_nr(nr) || sk_is_mount_nr(nr) || nr == NR_bpf) &&
	    sk_self_event(task, t, nr, &a, ret))
		return 0;
	if (sk_is_channel_nr(nr))
		return sk_channel_global(nr, a.a[0], a.a[1], ret, 0);
	if (nr == NR_connect || nr == NR_accept || nr == NR_accept4 || nr == NR_sendto || nr == NR_sendmsg ||
	    nr == NR_bind || nr == NR_listen)
		return sk_net_event(task, t, nr, &a, ret);
	return sk_file_event(task, t, nr, &a, ret);
}

#endif
