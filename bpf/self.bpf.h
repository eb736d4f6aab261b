/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Self-protection: what a tracked agent aims at stockaded itself, whatever its boundary says.
 *
 *   - a signal to any thread of stockaded, by any route (kill of a pid, a tid, the process group
 *     or the session, tkill, tgkill, rt_sigqueueinfo, pidfd_send_signal, F_SETOWN, PTRACE_ATTACH's
 *     SIGSTOP): seen at tp_btf/signal_generate, in the sender's context, for every thread the
 *     kernel sends it to. The sender is killed before it returns to user space; the signal itself
 *     has been queued by then (no tracing hook can refuse it: a Landlock signal scope, for agents
 *     launched with --landlock, makes it fail with EPERM instead). Catchable signals from agents
 *     are ignored by the daemon (it finds the sender in `agent_signals`), and a stop is cancelled
 *     at tp_btf/signal_deliver (below), so only SIGKILL still lands;
 *   - ptrace of any thread, process_vm_readv/writev, pidfd_open and pidfd_getfd aimed at it, and
 *     an open of /proc/<its pid or a tid>/ for writing or of its mem or environ: killed at the
 *     call's exit, before the new descriptor or attachment can be used;
 *   - the mount family (mount, umount2, move_mount, open_tree, fsopen, fsconfig, fsmount, fspick,
 *     mount_setattr, pivot_root): from the number alone the kernel cannot tell what a mount
 *     covers, so an agent may not mount at all unless its boundary says `mount: true`;
 *   - any bpf() call.
 * A call the kernel refused anyway (a Landlock domain, permissions) reached nothing: it is
 * recorded as denied, not killed.
 */
#ifndef STOCKADE_SELF_BPF_H
#define STOCKADE_SELF_BPF_H

#include "helpers.bpf.h"
#include "channel.bpf.h"
#include "hold.bpf.h"
#include "sysnr.bpf.h"
#include "track.bpf.h"

#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22
#define SK_PF_EXITING 0x00000004 /* include/linux/sched.h */

/* Whether `pid` is stockaded or one of its threads. */
static __always_inline bool sk_is_daemon_thread(__u32 pid)
{
	return daemon_tgid && pid && (pid == daemon_tgid || sk_tgid_of(pid) == daemon_tgid);
}

static __always_inline bool sk_is_signal_nr(__u64 nr)
{
	return nr == NR_kill || nr == NR_tkill || nr == NR_tgkill || nr == NR_rt_sigqueueinfo ||
	       nr == NR_rt_tgsigqueueinfo || nr == NR_pidfd_send_signal;
}

static __always_inline bool sk_is_access_nr(__u64 nr)
{
	return nr == NR_ptrace || nr == NR_process_vm_readv || nr == NR_process_vm_writev || nr == NR_pidfd_open ||
	       nr == NR_pidfd_getfd;
}

static __always_inline bool sk_is_mount_nr(__u64 nr)
{
	switch (nr) {
	case NR_mount: case NR_umount2: case NR_pivot_root: case NR_open_tree: case NR_move_mount:
	case NR_fsopen: case NR_fsconfig: case NR_fsmount: case NR_fspick: case NR_mount_setattr:
	case NR_open_tree_attr:
		return true;
	}
	return false;
}

/* The thread a signal syscall names and its signal; 0 for a group (signal_generate sees those). */
static __always_inline __u32 sk_signal_target(struct task_struct *task, __u64 nr, struct sk_args *a, __u64 *sig)
{
	switch (nr) {
	case NR_kill: *sig = a->a[1]; return (int)a->a[0] > 0 ? (__u32)a->a[0] : 0;
	case NR_tkill: case NR_rt_sigqueueinfo: *sig = a->a[1]; return (__u32)a->a[0];
	case NR_tgkill: case NR_rt_tgsigqueueinfo: *sig = a->a[2]; return (__u32)a->a[1];
	case NR_pidfd_send_signal: *sig = a->a[1]; return sk_pidfd_pid(task, a->a[0]);
	}
	return 0;
}

/* The thread a ptrace, process_vm_*, pidfd_open or pidfd_getfd aims at (0: none). */
static __always_inline __u32 sk_access_target(struct task_struct *task, __u64 nr, struct sk_args *a)
{
	switch (nr) {
	case NR_ptrace: return a->a[0] == SK_PTRACE_TRACEME ? 0 : (__u32)a->a[1];
	case NR_process_vm_readv: case NR_process_vm_writev: case NR_pidfd_open: return (__u32)a->a[0];
	case NR_pidfd_getfd: return sk_pidfd_pid(task, a->a[0]);
	}
	return 0;
}

/* A record of self-protection: killed when the call went through (or `always`), denied when it
 * was refused. */
static __always_inline void sk_self_submit(struct sk_event *e, long ret, bool always)
{
	e->ret = ret;
	e->rule = SK_RULE_SELF;
	if (ret < 0 && !always) {
		e->flags |= SK_F_DENIED;
	} else {
		bpf_send_signal(SIGKILL);
		e->flags |= SK_F_KILLED;
		sk_count(SK_CNT_KILLS);
	}
	sk_submit(e, true);
}

/*
 * At a tracked agent's syscall exit. Returns 1 when the call was self-protection's (recorded, or
 * left to signal_generate), 0 to let the caller judge it.
 */
static __always_inline int sk_self_event(struct task_struct *task, struct sk_track *t, __u64 nr, struct sk_args *a,
					 long ret)
{
	struct sk_agent_cfg *cfg;
	struct sk_event *e;
	__u64 sig = 0;
	__u32 target;

	if (nr == NR_bpf) {
		e = sk_event_init(SK_BPF, task, t->agent_id);
		if (!e)
			return 1;
		e->arg0 = a->a[0];
		sk_self_submit(e, ret, true); /* any bpf() call */
		return 1;
	}
	if (sk_is_mount_nr(nr)) {
		cfg = sk_cfg(t->agent_id);
		if (cfg && (cfg->flags & SK_AG_MOUNT))
			return 1;
		e = sk_event_init(SK_SYSCALL, task, t->agent_id);
		if (!e)
			return 1;
		e->arg0 = nr;
		sk_self_submit(e, ret, false);
		return 1;
	}
	if (sk_is_signal_nr(nr)) {
		target = sk_signal_target(task, nr, a, &sig);
		if (!sk_is_daemon_thread(target))
			return 0;
		if (ret >= 0 && sig)
			return 1; /* delivered: sk_signal_generate killed the sender and recorded it */
		e = sk_event_init(SK_SIGNAL, task, t->agent_id);
		if (!e)
			return 1;
		e->arg0 = target;
		e->arg1 = sig;
		sk_self_submit(e, ret, false); /* refused, or signal 0: a probe of the daemon */
		return 1;
	}
	target = sk_access_target(task, nr, a);
	if (!sk_is_daemon_thread(target))
		return 0;
	e = sk_event_init(SK_PTRACE, task, t->agent_id);
	if (!e)
		return 1;
	e->arg0 = target;
	e->arg1 = nr;
	sk_self_submit(e, ret, false);
	return 1;
}

/* An open of /proc/<a thread of stockaded>/...: for writing, or of its mem or environ. e's
 * segment 0 holds the opened path, leaf first. */
static __always_inline bool sk_self_proc_open(struct sk_event *e, struct file *f)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	struct proc_inode *pi;
	struct pid *pid;
	__u64 leaf = 0;

	if (!daemon_tgid || BPF_CORE_READ(inode, i_sb, s_magic) != PROC_SUPER_MAGIC)
		return false;
	pi = (struct proc_inode *)((void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode));
	pid = BPF_CORE_READ(pi, pid);
	if (!pid || !sk_is_daemon_thread(BPF_CORE_READ(pid, numbers[0].nr)))
		return false;
	if (e->access & (SK_ACC_WRITE | SK_ACC_CREATE | SK_ACC_TRUNC | SK_ACC_APPEND))
		return true;
	__builtin_memcpy(&leaf, e->data, sizeof(leaf));
	return (leaf & 0xffffffffULL) == 0x006d656dULL /* "mem\0" */ || leaf == 0x006e6f7269766e65ULL /* "environ\0" */;
}

/*
 * Any signal the kernel generates for a thread of stockaded, in the sender's context (siglock
 * held, interrupts off: bpf_send_signal defers to irq_work, which runs as the lock is dropped,
 * still before the sender returns to user space).
 */
SEC("tp_btf/signal_generate")
int BPF_PROG(sk_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *target, int group,
	     int result)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task;
	struct sk_track *t;
	struct sk_event *e;

	sk_hold_signal(sig, info, target); /* a SIGCONT to a held process: only the daemon's releases it */
	if (!daemon_tgid || target->tgid != daemon_tgid || tgid == daemon_tgid)
		return 0;
	task = bpf_get_current_task_btf();
	/* An exiting task's signals are the kernel's (SIGCHLD to its parent, PTRACE_O_EXITKILL): its
	 * tracking is gone already and must not be made again. */
	if (task->flags & SK_PF_EXITING)
		return 0;
	t = sk_tracked(tgid, task);
	if (!t)
		return 0;
	bpf_map_update_elem(&agent_signals, &tgid, &t->agent_id, BPF_ANY);
	e = sk_event_init(SK_SIGNAL, task, t->agent_id);
	if (!e) {
		bpf_send_signal(SIGKILL);
		return 0;
	}
	e->arg0 = target->pid;
	e->arg1 = sig;
	e->arg2 = result;
	sk_self_submit(e, 0, true);
	return 0;
}

/*
 * A stop signal about to stop stockaded (SIGSTOP, or a default-action SIGTSTP/SIGTTIN/SIGTTOU;
 * also the SIGSTOP that PTRACE_ATTACH left once its tracer is gone): a SIGCONT, deferred to the
 * moment the daemon drops its siglock to sleep, wakes it at once. The daemon is never left
 * stopped; it journals the count.
 */
SEC("tp_btf/signal_deliver")
int BPF_PROG(sk_signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	if (!daemon_tgid || (bpf_get_current_pid_tgid() >> 32) != daemon_tgid)
		return 0;
	if (sig != SIGSTOP && !((sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) && !ka->sa.sa_handler))
		return 0;
	bpf_send_signal(SIGCONT);
	__sync_fetch_and_add(&self_stops_cancelled, 1);
	return 0;
}

#endif
