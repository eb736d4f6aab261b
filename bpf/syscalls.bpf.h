/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one syscall hook: raw_syscalls:sys_exit. At exit the arguments are still in pt_regs and
 * the result is known, so one hook serves every file and network syscall. x86_64 numbers.
 */
#ifndef STOCKADE_SYSCALLS_BPF_H
#define STOCKADE_SYSCALLS_BPF_H

#define S_IFMT 0170000
#define S_IFIFO 0010000
#define S_IFSOCK 0140000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define PROC_SUPER_MAGIC 0x9fa0

/*
 * A path the caller named (unlink, rename, mkdir ...): the object may be gone after the call,
 * so the kernel resolves the directory it is relative to (cwd or dirfd) and the user string
 * is appended by userspace. seg is 0 or 1; the user string goes to seg + 2.
 */
static __always_inline void sk_put_named(struct sk_event *e, struct task_struct *task, int seg, long dirfd,
					 const char *ustr)
{
	char first = 0;
	struct path base;

	bpf_probe_read_user(&first, 1, ustr);
	if (first != '/') {
		if (dirfd == AT_FDCWD) {
			base = BPF_CORE_READ(task, fs, pwd);
		} else {
			struct file *f = sk_fd_file(task, dirfd);
			if (!f)
				goto user;
			base = BPF_CORE_READ(f, f_path);
		}
		sk_put_path(e, seg, &base, 0);
		e->flags |= seg == 0 ? SK_F_REL_PATH0 : SK_F_REL_PATH1;
	}
user:
	sk_put_user_str(e, seg + 2, ustr);
}

static __always_inline int sk_file_event(struct task_struct *task, struct sk_track *t, __u64 nr,
					 struct sk_args *a, long ret)
{
	struct sk_agent_cfg *cfg = sk_cfg(t->agent_id);
	struct sk_event *e;
	__u16 kind;

	switch (nr) {
	case NR_open: case NR_creat: case NR_openat: case NR_openat2: kind = SK_OPEN; break;
	case NR_unlink: kind = SK_UNLINK; break;
	case NR_unlinkat: kind = (a->a[2] & AT_REMOVEDIR) ? SK_RMDIR : SK_UNLINK; break;
	case NR_rmdir: kind = SK_RMDIR; break;
	case NR_rename: case NR_renameat: case NR_renameat2: kind = SK_RENAME; break;
	case NR_mkdir: case NR_mkdirat: kind = SK_MKDIR; break;
	case NR_chmod: case NR_fchmod: case NR_fchmodat: case NR_fchmodat2: kind = SK_CHMOD; break;
	case NR_truncate: case NR_ftruncate: kind = SK_TRUNCATE; break;
	case NR_link: case NR_linkat: kind = SK_LINK; break;
	case NR_symlink: case NR_symlinkat: kind = SK_SYMLINK; break;
	default: return 0;
	}
	e = sk_event_init(kind, task, t->agent_id);
	if (!e)
		return 0;
	e->ret = ret;

	if (kind == SK_OPEN) {
		long flags;
		const char *upath;
		long dirfd = AT_FDCWD;

		if (nr == NR_open) {
			upath = (const char *)a->a[0];
			flags = a->a[1];
		} else if (nr == NR_creat) {
			upath = (const char *)a->a[0];
			flags = O_CREAT | O_TRUNC | 1;
		} else if (nr == NR_openat) {
			dirfd = (int)a->a[0];
			upath = (const char *)a->a[1];
			flags = a->a[2];
		} else {
			__u64 how_flags = 0;
			dirfd = (int)a->a[0];
			upath = (const char *)a->a[1];
			bpf_probe_read_user(&how_flags, sizeof(how_flags), (void *)a->a[2]);
			flags = how_flags;
		}
		e->arg0 = flags;
		switch (flags & O_ACCMODE) {
		case 0: e->access = SK_ACC_READ; break;
		case 1: e->access = SK_ACC_WRITE; break;
		default: e->access = SK_ACC_READ | SK_ACC_WRITE; break;
		}
		if (flags & O_TRUNC)
			e->access |= SK_ACC_TRUNC;
		if (flags & O_APPEND)
			e->access |= SK_ACC_APPEND;
		if (ret >= 0) {
			struct file *f = sk_fd_file(task, ret);
			struct sk_walk w = {};
			struct path fp;

			if (!f)
				return 0;
			if (BPF_CORE_READ(f, f_mode) & FMODE_CREATED)
				e->access |= SK_ACC_CREATE;
			w.agent_id = t->agent_id;
			fp = BPF_CORE_READ(f, f_path);
			sk_put_path(e, 0, &fp, &w);
			if (w.label_rule && (e->access & SK_ACC_READ)) {
				/* The first step of a sequence: from now on its connects are limited. */
				struct sk_label lb = {.rule = w.label_rule};
				__u32 tgid = e->pid;
				bpf_map_update_elem(&labels, &tgid, &lb, BPF_NOEXIST);
			}
			if (w.protect_rule && (e->access & (SK_ACC_WRITE | SK_ACC_CREATE | SK_ACC_TRUNC))) {
				/* Self-protection: whatever the agent's mode. */
				e->rule = w.protect_rule;
				bpf_send_signal(SIGKILL);
				e->flags |= SK_F_KILLED;
				sk_count(SK_CNT_KILLS);
			} else if (w.deny_rule) {
				e->rule = w.deny_rule;
				if (cfg && (cfg->flags & SK_AG_ENFORCE)) {
					/* The descriptor exists but the process never returns to use it. */
					sk_kill(e, cfg);
				}
			} else if (cfg && (cfg->flags & SK_AG_FILE_STRICT) && (cfg->flags & SK_AG_ENFORCE)) {
				/* Every allow rule of the agent is in the inode table: an open of a regular
				 * file or directory that none covers is outside the boundary. Devices, pipes,
				 * sockets and /proc are left to the daemon. */
				__u16 mode = BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT;
				unsigned long magic = BPF_CORE_READ(f, f_inode, i_sb, s_magic);
				__u32 need = 0;

				if (e->access & SK_ACC_READ)
					need |= SK_IR_READ_ALLOW;
				if (e->access & (SK_ACC_WRITE | SK_ACC_CREATE | SK_ACC_TRUNC | SK_ACC_APPEND))
					need |= SK_IR_WRITE_ALLOW;
				if ((mode == S_IFREG || mode == S_IFDIR) && magic != PROC_SUPER_MAGIC &&
				    (w.match_flags & need) != need) {
					e->rule = cfg->default_rule;
					sk_kill(e, cfg);
				}
			}
		} else {
			if (flags & O_CREAT)
				e->access |= SK_ACC_CREATE;
			sk_put_named(e, task, 0, dirfd, upath);
		}
	} else if (nr == NR_fchmod || nr == NR_ftruncate) {
		struct file *f = sk_fd_file(task, a->a[0]);
		if (f) {
			struct path fp = BPF_CORE_READ(f, f_path);
			sk_put_path(e, 0, &fp, 0);
		}
		e->arg1 = a->a[1];
		e->access = SK_ACC_WRITE;
	} else {
		long d0 = AT_FDCWD, d1 = AT_FDCWD;
		const char *p0 = 0, *p1 = 0;

		switch (nr) {
		case NR_unlink: case NR_rmdir: case NR_mkdir: case NR_chmod: case NR_truncate:
			p0 = (const char *)a->a[0];
			e->arg1 = a->a[1];
			break;
		case NR_unlinkat: case NR_mkdirat: case NR_fchmodat: case NR_fchmodat2:
			d0 = (int)a->a[0];
			p0 = (const char *)a->a[1];
			e->arg1 = a->a[2];
			break;
		case NR_rename: case NR_link:
			p0 = (const char *)a->a[0];
			p1 = (const char *)a->a[1];
			break;
		case NR_renameat: case NR_renameat2: case NR_linkat:
			d0 = (int)a->a[0];
			p0 = (const char *)a->a[1];
			d1 = (int)a->a[2];
			p1 = (const char *)a->a[3];
			break;
		case NR_symlink: /* symlink(target, linkpath): the new name is linkpath */
			p0 = (const char *)a->a[1];
			p1 = (const char *)a->a[0];
			break;
		case NR_symlinkat: /* symlinkat(target, newdirfd, linkpath) */
			d0 = (int)a->a[1];
			p0 = (const char *)a->a[2];
			p1 = (const char *)a->a[0];
			break;
		}
		if (kind == SK_TRUNCATE || kind == SK_CHMOD)
			e->access = SK_ACC_WRITE;
		sk_put_named(e, task, 0, d0, p0);
		if (p1) {
			if (kind == SK_SYMLINK)
				sk_put_user_str(e, 3, p1); /* the link's content, not a path to resolve */
			else
				sk_put_named(e, task, 1, d1, p1);
		}
	}
	sk_submit(e, sk_prompt(cfg));
	return 0;
}

/* The pid a pidfd refers to, in the initial pid namespace. */
static __always_inline __u32 sk_pidfd_pid(struct task_struct *task, long fd)
{
	struct file *f = sk_fd_file(task, fd);
	struct pid *p;

	if (!f)
		return 0;
	p = (struct pid *)BPF_CORE_READ(f, private_data);
	return p ? BPF_CORE_READ(p, numbers[0].nr) : 0;
}

/*
 * Self-protection: an agent that signals or traces the daemon, or calls bpf() at all, is killed
 * here whatever its boundary says. This runs at syscall exit: a signal has been delivered by
 * then (launchers add a Landlock signal scope to refuse it synchronously; docs/architecture.md).
 */
static __always_inline int sk_self_event(struct task_struct *task, struct sk_track *t, __u64 nr, struct sk_args *a,
					 long ret)
{
	struct sk_event *e;
	__u32 target = 0;
	__u16 kind = SK_SIGNAL;

	switch (nr) {
	case NR_kill:
		target = (int)a->a[0] == -1 ? daemon_tgid : (__u32)a->a[0];
		break;
	case NR_tkill: case NR_tgkill: case NR_process_vm_writev:
		target = (__u32)a->a[0];
		kind = nr == NR_process_vm_writev ? SK_PTRACE : SK_SIGNAL;
		break;
	case NR_pidfd_send_signal:
		target = sk_pidfd_pid(task, a->a[0]);
		break;
	case NR_ptrace:
		target = (__u32)a->a[1];
		kind = SK_PTRACE;
		break;
	case NR_bpf:
		kind = SK_BPF;
		break;
	}
	if (kind != SK_BPF && (!daemon_tgid || target != daemon_tgid))
		return 0;
	e = sk_event_init(kind, task, t->agent_id);
	if (!e)
		return 0;
	e->ret = ret;
	e->arg0 = kind == SK_BPF ? a->a[0] : target;
	e->arg1 = nr == NR_kill || nr == NR_tkill ? a->a[1] : nr == NR_tgkill ? a->a[2] : nr == NR_pidfd_send_signal ? a->a[1] : a->a[0];
	e->rule = SK_RULE_SELF;
	if (kind != SK_BPF && ret < 0) {
		/* Refused already (a Landlock signal scope, permissions): nothing reached the daemon. */
		e->flags |= SK_F_DENIED;
	} else {
		bpf_send_signal(SIGKILL);
		e->flags |= SK_F_KILLED;
		sk_count(SK_CNT_KILLS);
	}
	sk_submit(e, true);
	return 0;
}

#include "io.bpf.h"

SEC("tp_btf/sys_exit")
int BPF_PROG(sk_sys_exit, struct pt_regs *regs, long ret)
{
	/* A direct load (regs is a trusted BTF pointer in tp_btf): every syscall of the host runs this
	 * line, and a probe-read helper call here measured +30 ns per syscall (docs/performance.md). */
	__u64 nr = regs->orig_ax;
	struct task_struct *task;

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

	switch (nr) {
	case NR_open: case NR_creat: case NR_openat: case NR_openat2: case NR_unlink: case NR_unlinkat:
	case NR_rmdir: case NR_rename: case NR_renameat: case NR_renameat2: case NR_mkdir: case NR_mkdirat:
	case NR_chmod: case NR_fchmod: case NR_fchmodat: case NR_fchmodat2: case NR_truncate:
	case NR_ftruncate: case NR_link: case NR_linkat: case NR_symlink: case NR_symlinkat:
	case NR_connect: case NR_accept: case NR_accept4: case NR_sendto: case NR_sendmsg: case NR_bind:
	case NR_listen: case NR_kill: case NR_tkill: case NR_tgkill: case NR_pidfd_send_signal: case NR_ptrace:
	case NR_process_vm_writev: case NR_bpf: case NR_read: case NR_write: case NR_recvfrom:
	case NR_readv: case NR_writev: case NR_recvmsg:
		break;
	default:
		return 0;
	}
	tgid = bpf_get_current_pid_tgid() >> 32;
	task = bpf_get_current_task_btf();
	t = sk_tracked(tgid, task);
	if (!t)
		return 0;
	sk_read_args(regs, &a);
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
	if (nr == NR_kill || nr == NR_tkill || nr == NR_tgkill || nr == NR_pidfd_send_signal || nr == NR_ptrace ||
	    nr == NR_process_vm_writev || nr == NR_bpf)
		return sk_self_event(task, t, nr, &a, ret);
	if (nr == NR_connect || nr == NR_accept || nr == NR_accept4 || nr == NR_sendto || nr == NR_sendmsg ||
	    nr == NR_bind || nr == NR_listen)
		return sk_net_event(task, t, nr, &a, ret);
	return sk_file_event(task, t, nr, &a, ret);
}

#endif
