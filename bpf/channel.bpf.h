/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Syscalls that reach files, processes or the network around the ones sk_sys_exit judges:
 *   - io_uring_setup/enter/register: the ring's operations (open, read, connect ...) run in the
 *     kernel without passing the syscall hook; refused unless the boundary says io_uring: true;
 *   - any 32-bit syscall (int 0x80, sysenter): other numbers, other argument registers;
 *   - open_by_handle_at: a file reached by handle, with no path for the rules to judge;
 *   - ptrace, process_vm_readv/writev and pidfd_getfd on a process outside the agent: its memory
 *     or descriptors are an unwatched channel, and a way out of the boundary.
 * An enforcing agent is killed at the call's exit, before it returns to user space (an io_uring
 * is killed before it can submit anything); a monitored one is recorded (32-bit: once a process).
 */
#ifndef STOCKADE_CHANNEL_BPF_H
#define STOCKADE_CHANNEL_BPF_H

#include "helpers.bpf.h"
#include "sysnr.bpf.h"

#define SK_TS_COMPAT 0x0002 /* thread_info.status: in a 32-bit syscall (arch/x86 asm/thread_info.h) */
#define SK_PTRACE_TRACEME 0

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

/* The thread group of thread `pid` (initial pid namespace); 0 when there is no such thread. */
static __always_inline __u32 sk_tgid_of(__u32 pid)
{
	struct task_struct *p;
	__u32 tgid;

	if (!pid || (int)pid < 0)
		return 0;
	p = bpf_task_from_pid(pid);
	if (!p)
		return 0;
	tgid = p->tgid;
	bpf_task_release(p);
	return tgid;
}

/* Set by the 32-bit entry for the syscall's duration, cleared on the way back to user space. */
static __always_inline bool sk_in_compat_syscall(struct task_struct *task)
{
	return task->thread_info.status & SK_TS_COMPAT;
}

static __always_inline bool sk_is_channel_nr(__u64 nr)
{
	return nr == NR_io_uring_setup || nr == NR_io_uring_enter || nr == NR_io_uring_register ||
	       nr == NR_open_by_handle_at || nr == NR_ptrace || nr == NR_process_vm_readv ||
	       nr == NR_process_vm_writev || nr == NR_pidfd_getfd;
}

/* Whether thread `pid` (initial pid namespace) is a process tracked under `agent`. */
static __always_inline bool sk_same_agent(__u32 pid, __u32 agent)
{
	struct task_struct *p = bpf_task_from_pid(pid);
	struct sk_track *t;
	__u32 tgid;

	if (!p)
		return false;
	tgid = p->tgid;
	bpf_task_release(p);
	t = bpf_map_lookup_elem(&tracked, &tgid);
	return t && t->agent_id == agent;
}

/* The process a cross-process call aims at, 0 for none; *skip when the call needs no verdict. */
static __always_inline __u32 sk_channel_target(struct task_struct *task, __u64 nr, struct sk_args *a, bool *skip)
{
	switch (nr) {
	case NR_ptrace:
		*skip = a->a[0] == SK_PTRACE_TRACEME; /* its tracer chose to trace it */
		return (__u32)a->a[1];
	case NR_process_vm_readv: case NR_process_vm_writev:
		return (__u32)a->a[0];
	case NR_pidfd_getfd:
		return sk_pidfd_pid(task, a->a[0]);
	}
	return 0;
}

/*
 * A global (separately verified) function, like sk_io_global: scalars cross the call, the task
 * and its tracking record are looked up again inside. a0, a1: the first two arguments.
 */
__noinline int sk_channel_global(__u64 nr, __u64 a0, __u64 a1, __s64 ret, __u64 compat)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task = bpf_get_current_task_btf();
	struct sk_track *t = bpf_map_lookup_elem(&tracked, &tgid);
	struct sk_agent_cfg *cfg;
	struct sk_args a = {};
	bool enforce, skip = false, refused = false;
	struct sk_event *e;
	__u32 target = 0;

	if (!t)
		return 0;
	cfg = sk_cfg(t->agent_id);
	enforce = cfg && (cfg->flags & SK_AG_ENFORCE);
	a.a[0] = a0;
	a.a[1] = a1;
	if (compat) {
		if (!enforce && (t->flags & SK_TR_COMPAT_SEEN))
			return 0;
		t->flags |= SK_TR_COMPAT_SEEN;
	} else if (nr == NR_io_uring_setup || nr == NR_io_uring_enter || nr == NR_io_uring_register) {
		if (cfg && (cfg->flags & SK_AG_IO_URING))
			return 0;
		if (nr == NR_io_uring_setup && ret < 0)
			return 0; /* no ring was made */
		if (nr != NR_io_uring_setup && !enforce)
			return 0; /* monitor mode: the ring's setup was recorded, not each use */
	} else if (nr == NR_open_by_handle_at) {
		if (ret < 0)
			return 0;
	} else {
		target = sk_channel_target(task, nr, &a, &skip);
		/* One within the agent stays inside its boundary. */
		if (skip || sk_same_agent(target, t->agent_id))
			return 0;
		/* Refused already (a Landlock domain, permissions): nothing reached the process. */
		refused = ret < 0;
	}
	e = sk_event_init(SK_SYSCALL, task, t->agent_id);
	if (!e)
		return 0;
	e->ret = ret;
	e->arg0 = nr;
	e->arg1 = compat ? SK_SC_COMPAT : 0;
	e->arg2 = target;
	if (!compat && nr == NR_open_by_handle_at) {
		struct file *f = sk_fd_file(task, ret);

		if (f) {
			struct path fp = BPF_CORE_READ(f, f_path);
			sk_put_path(e, 0, &fp, 0);
		}
	}
	if (refused)
		e->flags |= SK_F_DENIED;
	else if (enforce)
		sk_kill(e, cfg);
	sk_submit(e, true);
	return 0;
}

#endif
