/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Guarding a hold (helpers.bpf.h sk_hold stops the process; map `held` says it waits). A held
 * process is released only by the daemon's SIGCONT, sent with sigqueue's value = the number of
 * the hold it judged. Anything else that would let it run on kills it instead:
 *   - a SIGCONT from any other process (a sibling, the agent's shell, the kernel for an orphaned
 *     process group): seen at tp_btf/signal_generate in the sender's context, siglock held, so
 *     the kill is queued (irq_work) as the lock drops, while the woken task still waits for that
 *     lock to leave its stop;
 *   - a ptrace request of a tracked process aimed at it (an attach would let its tracer resume
 *     it): killed at the ptrace call's exit, before the tracer can make its next request;
 *   - no daemon: when it dies (exit hook) or its heartbeat goes stale, every held process is
 *     killed (fail closed): nothing would ever judge what it did.
 * A daemon SIGCONT for an older hold than the last (another thread held meanwhile, its record
 * not judged yet) stops the process again.
 */
#ifndef STOCKADE_HOLD_BPF_H
#define STOCKADE_HOLD_BPF_H

#include "helpers.bpf.h"
#include "channel.bpf.h"

extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type, __u64 value) __ksym;

/* Sends `sig` to the whole process `tgid` (initial pid namespace). */
static __always_inline void sk_signal_process(__u32 tgid, int sig)
{
	struct task_struct *p = bpf_task_from_pid(tgid);

	if (!p)
		return;
	bpf_send_signal_task(p, sig, PIDTYPE_TGID, 0);
	bpf_task_release(p);
}

/* Kills a held process that something other than the daemon released (breaker: who, 0: none). */
static __always_inline void sk_hold_break(__u32 tgid, struct sk_hold *h, __u32 breaker)
{
	h->state = SK_HOLD_BROKEN;
	h->breaker = breaker;
	sk_signal_process(tgid, SIGKILL);
	sk_count(SK_CNT_HOLD_BREAKS);
}

/* At tp_btf/signal_generate, for every signal of the host: one global load while nothing is held. */
static __always_inline void sk_hold_signal(int sig, struct kernel_siginfo *info, struct task_struct *target)
{
	__u32 sender = bpf_get_current_pid_tgid() >> 32;
	__u32 tgid;
	struct sk_hold *h;
	int value = -1;

	if (!holds_issued || sig != SIGCONT)
		return;
	tgid = target->tgid;
	h = bpf_map_lookup_elem(&held, &tgid);
	if (!h || h->state != SK_HOLD_HELD)
		return;
	if (daemon_tgid && sender == daemon_tgid) {
		/* info is a pointer, or SEND_SIG_NOINFO / SEND_SIG_PRIV (0, 1): read, never dereferenced. */
		BPF_CORE_READ_INTO(&value, info, _sifields._rt._sigval.sival_int);
		if ((__u16)value == (__u16)h->holds)
			h->state = SK_HOLD_RELEASED;
		else
			sk_signal_process(tgid, SIGSTOP);
		return;
	}
	sk_hold_break(tgid, h, sender);
}

/* At the exit of a tracked process's ptrace(request, pid): a held target dies before the tracer
 * can resume it. */
static __always_inline void sk_hold_ptrace(__u64 request, __u64 pid, __u32 tracer)
{
	__u32 tgid;
	struct sk_hold *h;

	if (!holds_issued || request == SK_PTRACE_TRACEME)
		return;
	tgid = sk_tgid_of((__u32)pid);
	h = tgid ? bpf_map_lookup_elem(&held, &tgid) : 0;
	if (h && h->state == SK_HOLD_HELD)
		sk_hold_break(tgid, h, tracer);
}

static long sk_hold_sweep_one(struct bpf_map *map, __u32 *tgid, struct sk_hold *h, void *ctx)
{
	if (h->state == SK_HOLD_HELD)
		sk_hold_break(*tgid, h, 0);
	return 0;
}

/* No daemon (dead: `now`; or its heartbeat stale: once per beat): every held process is killed. */
static __always_inline void sk_holds_fail_closed(bool now)
{
	__u64 mark = daemon_beat_ns + 1;

	if (!holds_issued || (!now && holds_swept_beat == mark))
		return;
	holds_swept_beat = mark;
	bpf_for_each_map_elem(&held, sk_hold_sweep_one, 0, 0);
}

/* A process's exit: its hold goes, unless broken (the daemon journals that, then removes it). */
static __always_inline void sk_hold_exit(__u32 tgid)
{
	struct sk_hold *h;

	if (!holds_issued)
		return;
	h = bpf_map_lookup_elem(&held, &tgid);
	if (h && h->state != SK_HOLD_BROKEN)
		bpf_map_delete_elem(&held, &tgid);
}

#endif
