/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helpers every program uses: counters, the kernel kill, building a record in the per-CPU
 * scratch event and submitting it to the ring, and copying paths, strings and buffers into it.
 */
#ifndef STOCKADE_HELPERS_BPF_H
#define STOCKADE_HELPERS_BPF_H

#include "maps.bpf.h"
#include "path.bpf.h"

static __always_inline void sk_count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		*c += 1;
}

/* One byte of FNV-1a 64: the hash of every hashed name table (userspace: probe::kernel_hash). */
static __always_inline __u64 sk_fnv(__u64 h, __u8 ch)
{
	return (h ^ ch) * SK_FNV_PRIME;
}

/*
 * The kernel's kill for a violation: the current process dies before it returns to user space.
 * With on_violation: kill-agent its cgroup is doomed too (see `doomed`), and the record's time
 * is when that took effect.
 */
static __always_inline void sk_kill(struct sk_event *e, struct sk_agent_cfg *cfg)
{
	bpf_send_signal(SIGKILL);
	e->flags |= SK_F_KILLED;
	sk_count(SK_CNT_KILLS);
	if (cfg && (cfg->flags & SK_AG_KILL_AGENT)) {
		__u64 cg = bpf_get_current_cgroup_id();
		__u8 one = 1;

		if (!bpf_map_update_elem(&doomed, &cg, &one, BPF_NOEXIST)) {
			__sync_fetch_and_add(&doomed_active, 1);
			/* The record's time is the moment the doom became visible: from then on, each
			 * of the agent's tasks dies at its next syscall exit (a test can hold it to that). */
			e->ktime_ns = bpf_ktime_get_boot_ns();
		}
	}
}

static __always_inline struct sk_agent_cfg *sk_cfg(__u32 agent_id)
{
	return bpf_map_lookup_elem(&agent_cfg, &agent_id);
}

static __always_inline struct sk_event *sk_event_init(__u16 kind, struct task_struct *task, __u32 agent_id)
{
	__u32 zero = 0;
	struct sk_event *e = bpf_map_lookup_elem(&scratch, &zero);
	__u64 ugid = bpf_get_current_uid_gid();

	if (!e)
		return 0;
	e->kind = kind;
	e->seg_len[0] = e->seg_len[1] = e->seg_len[2] = e->seg_len[3] = 0;
	e->hold = 0;
	e->flags = 0;
	e->data_len = 0;
	/* Direct BTF loads (a probe-read helper call costs ~25 ns more each; docs/performance.md). */
	e->pid = task->tgid;
	e->tid = task->pid;
	e->ppid = task->real_parent->tgid;
	e->uid = (__u32)ugid;
	e->gid = ugid >> 32;
	e->agent_id = agent_id;
	e->ktime_ns = bpf_ktime_get_boot_ns();
	e->start_ns = task->group_leader->start_boottime;
	e->parent_start_ns = task->real_parent->group_leader->start_boottime;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->ret = 0;
	e->arg0 = e->arg1 = e->arg2 = 0;
	e->access = 0;
	e->rule = 0;
	__builtin_memset(&e->addr, 0, sizeof(e->addr));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/*
 * A record the ring had no room for: userspace will never judge it. Counted for its agent; with
 * on_loss: kill (set only in enforce mode) its process dies now instead of acting unjudged.
 */
static __always_inline void sk_lost(struct sk_event *e)
{
	__u32 id = e->agent_id;
	__u64 *n = bpf_map_lookup_elem(&agent_lost, &id);
	struct sk_agent_cfg *cfg = sk_cfg(id);

	if (n)
		__sync_fetch_and_add(n, 1);
	if (cfg && (cfg->flags & SK_AG_KILL_ON_LOSS) && !(e->flags & SK_F_KILLED)) {
		bpf_send_signal(SIGKILL);
		e->flags |= SK_F_KILLED;
		sk_count(SK_CNT_LOSS_KILLS);
	}
}

/* No daemon to judge what the kernel leaves to it: dead (the exit hook cleared the beat) or hung. */
static __always_inline bool sk_daemon_gone(void)
{
	__u64 beat = daemon_beat_ns;

	return !beat || bpf_ktime_get_ns() - beat > SK_DAEMON_STALE_NS;
}

/* Whether a kernel allow is final for this agent while the daemon is gone. */
static __always_inline bool sk_kernel_allow_final(struct sk_event *e, struct sk_agent_cfg *cfg)
{
	return (e->flags & SK_F_KALLOW) && !(cfg->flags & SK_AG_USER_RULES);
}

/*
 * Whether a record carries an action the daemon still has to judge: not process lifecycle nor a
 * label passed through data (no verdict: the kernel already applied it), not inet connects and sends (the cgroup hooks decided them, and refuse them while the
 * daemon is gone), not a failed call (it did nothing), not what the kernel refused or killed.
 */
static __always_inline bool sk_awaits_verdict(struct sk_event *e)
{
	/* A connect let through to be asked about: held, also while a non-blocking one is under way. */
	if ((e->flags & SK_F_ASK) && (e->ret >= 0 || e->ret == -115 /* EINPROGRESS */))
		return true;
	if (e->kind == SK_FORK || e->kind == SK_EXIT || e->kind == SK_CGROUP || e->kind == SK_LABEL || e->ret < 0 ||
	    (e->flags & (SK_F_KILLED | SK_F_DENIED)))
		return false;
	return !((e->kind == SK_CONNECT || e->kind == SK_SEND) &&
		 (e->addr.family == AF_INET || e->addr.family == AF_INET6));
}

/*
 * Fail closed: while no daemon is there, an enforce agent's action that the kernel neither
 * refused nor allowed for good would go unjudged, so it is refused the kernel's way (killed before
 * the process returns to user space).
 */
static __always_inline void sk_fail_closed(struct sk_event *e)
{
	struct sk_agent_cfg *cfg;

	if (!sk_awaits_verdict(e) || !sk_daemon_gone())
		return;
	cfg = bpf_map_lookup_elem(&agent_cfg, &e->agent_id);
	if (!cfg || !(cfg->flags & SK_AG_ENFORCE) || sk_kernel_allow_final(e, cfg))
		return;
	e->rule = SK_RULE_NO_DAEMON;
	e->flags |= SK_F_NO_DAEMON;
	sk_kill(e, cfg);
}

/*
 * Hold: an enforce agent's action that only the daemon can judge (a glob rule, an MCP tool call,
 * an HTTP route, a sequence) stops its process here, before it returns to user space to use what
 * the call gave it: bpf_send_signal(SIGSTOP) is taken on the way out, before one more user
 * instruction. The daemon releases it (SIGCONT) or kills it (hold.bpf.h guards the release).
 * A traced process's stop would go to its tracer, which could let it run on: it is killed instead,
 * and so is one the map has no room for (fail closed). The stop is queued before the record is
 * submitted, so the daemon's SIGCONT can never come first. The record is the per-CPU scratch
 * event (every record is built there); a global function, verified once, not at every submit.
 */
__noinline int sk_hold_scratch(void)
{
	__u32 zero = 0;
	struct sk_event *e = bpf_map_lookup_elem(&scratch, &zero);
	struct task_struct *task = bpf_get_current_task_btf();
	struct sk_agent_cfg *cfg;
	struct sk_hold fresh = {}, *h;
	__u32 tgid;

	if (!e || (e->flags & SK_F_NO_HOLD) || !sk_awaits_verdict(e))
		return 0;
	tgid = e->pid;
	cfg = bpf_map_lookup_elem(&agent_cfg, &e->agent_id);
	if (!cfg || !(cfg->flags & SK_AG_ENFORCE))
		return 0;
	/* The kernel's allow is final unless a daemon-only rule could still refuse this kind. */
	if ((e->flags & SK_F_KALLOW) &&
	    !(cfg->flags & (e->kind == SK_EXEC ? SK_AG_USER_EXEC : SK_AG_USER_FILE)))
		return 0;
	h = bpf_map_lookup_elem(&held, &tgid);
	if (!h) {
		bpf_map_update_elem(&held, &tgid, &fresh, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&held, &tgid);
	}
	if (!h || task->ptrace) {
		e->rule = SK_RULE_HOLD_RELEASE;
		sk_kill(e, cfg);
		return 0;
	}
	e->hold = (__u16)__sync_add_and_fetch(&h->holds, 1);
	h->since_ns = e->ktime_ns;
	h->state = SK_HOLD_HELD;
	e->flags |= SK_F_HELD;
	bpf_send_signal(SIGSTOP);
	if (!holds_issued)
		holds_issued = 1;
	sk_count(SK_CNT_HOLDS);
	return 0;
}

static __always_inline void sk_submit(struct sk_event *e, bool prompt)
{
	__u64 size = (__u64)e->data_len + SK_EVENT_HDR_SIZE;
	__u64 flags = BPF_RB_NO_WAKEUP;

	sk_fail_closed(e);
	sk_hold_scratch();

	/* Keep the bound visible to the verifier at the call. */
	barrier_var(size);
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (e->flags & (SK_F_TRUNC_PATH0 | SK_F_TRUNC_PATH1 | SK_F_TRUNC_ARGV))
		sk_count(SK_CNT_TRUNC);
	ring_pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	if (prompt || (e->flags & (SK_F_KILLED | SK_F_DENIED | SK_F_HELD)) || ring_pending > wake_threshold)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, e, size, flags)) {
		sk_count(SK_CNT_LOST);
		sk_lost(e);
		/* A hold whose record never reaches the daemon would never be released: fail closed. */
		if ((e->flags & (SK_F_HELD | SK_F_KILLED)) == SK_F_HELD) {
			bpf_send_signal(SIGKILL);
			sk_count(SK_CNT_KILLS);
		}
	} else
		sk_count(SK_CNT_EVENTS);
}

/* A record needs a prompt wake-up when its agent enforces: userspace may have to kill. */
static __always_inline bool sk_prompt(struct sk_agent_cfg *cfg)
{
	return cfg && (cfg->flags & SK_AG_ENFORCE);
}

static __always_inline void sk_put_path(struct sk_event *e, int seg, const struct path *p, struct sk_walk *w)
{
	bool trunc = false;
	__u32 off = e->data_len;
	__u32 n;

	if (off > SK_DATA_MAX - SK_NAME_MAX)
		return;
	n = sk_path_write(e, off, p, w, &trunc);
	e->seg_len[seg & 3] = n;
	e->data_len = off + n;
	if (trunc)
		e->flags |= seg == 0 ? SK_F_TRUNC_PATH0 : SK_F_TRUNC_PATH1;
}

/* Copies a user string (a path as the caller passed it) into segment `seg`. */
static __always_inline void sk_put_user_str(struct sk_event *e, int seg, const char *ustr)
{
	__u32 off = e->data_len;
	long n;

	if (!ustr || off > SK_DATA_MAX - SK_NAME_MAX)
		return;
	n = bpf_probe_read_user_str(&e->data[off], SK_NAME_MAX, ustr);
	if (n <= 0)
		return;
	e->seg_len[seg & 3] = n;
	e->data_len = off + n;
}

/* Copies the first SK_IO_MAX bytes of a user buffer of `len` bytes (what a tracked process read
 * or wrote) into segment 2, and marks the record cut when there were more. */
static __always_inline void sk_put_user_data(struct sk_event *e, const void *buf, __u64 len)
{
	__u64 n = len;

	if (n > SK_IO_MAX) {
		n = SK_IO_MAX;
		e->flags |= SK_F_TRUNC_ARGV;
	}
	barrier_var(n);
	if (n > 0 && n <= SK_IO_MAX && bpf_probe_read_user(e->data, n, buf) == 0) {
		e->seg_len[2] = n;
		e->data_len = n;
	}
}

static __always_inline struct file *sk_fd_file(struct task_struct *task, long fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file **fds = fdt->fd;
	unsigned int max = fdt->max_fds;
	struct file *f = 0;

	if (fd < 0 || fd >= max)
		return 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
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

/* The per-CPU record the current program builds (bpf_loop callbacks look it up again). */
static __always_inline struct sk_event *sk_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

/* Whether a read on `stream` is captured: a response head starts a follow window. */
static __always_inline bool sk_follow_read(__u64 stream, bool head)
{
	__u8 *left = bpf_map_lookup_elem(&resp_follow, &stream);
	__u8 n = SK_FOLLOW_READS;

	if (head) {
		bpf_map_update_elem(&resp_follow, &stream, &n, BPF_ANY);
		return true;
	}
	if (!left || !*left)
		return false;
	*left -= 1;
	return true;
}

#endif
