/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Self-protection at syscall exit: signals, ptrace and bpf() aimed at the daemon. */
#ifndef STOCKADE_SELF_BPF_H
#define STOCKADE_SELF_BPF_H

#include "helpers.bpf.h"
#include "sysnr.bpf.h"

/*
 * Self-protection: an agent that signals or traces the daemon, or calls bpf() at all, is killed
 * here whatever its boundary says. This runs at syscall exit: a signal has been delivered by
 * then (launchers add a Landlock signal scope to refuse it synchronously; docs/architecture.md).
 * Returns 1 when the call was aimed at the daemon (or was bpf()), 0 to let the caller judge it.
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
	case NR_tkill: case NR_tgkill: case NR_process_vm_readv: case NR_process_vm_writev:
		target = (__u32)a->a[0];
		kind = nr == NR_process_vm_readv || nr == NR_process_vm_writev ? SK_PTRACE : SK_SIGNAL;
		break;
	case NR_pidfd_getfd:
		target = sk_pidfd_pid(task, a->a[0]);
		kind = SK_PTRACE;
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
		return 1;
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
	return 1;
}

#endif
