/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Process lifecycle from the sched tracepoints: exec (resolved image, argv, cwd; the exec
 * allow-list, killed at exec; held for the daemon's TLS uprobes, gotls.bpf.h), fork (tracking
 * inherited by the child), exit (code and signal).
 */
#ifndef STOCKADE_PROCESS_BPF_H
#define STOCKADE_PROCESS_BPF_H

#include "gotls.bpf.h"
#include "track.bpf.h"
#include "hold.bpf.h"

/* The image is one of the system's dynamic loaders (by inode): run as a program, it runs what
 * its argv names, which it only opens and maps (no exec of its own). */
static __always_inline bool sk_is_loader(struct linux_binprm *bprm)
{
	struct sk_inode_key key = {};
	struct dentry *d = BPF_CORE_READ(bprm, file, f_path.dentry);

	key.dev = BPF_CORE_READ(d, d_sb, s_dev);
	key.ino = BPF_CORE_READ(d, d_inode, i_ino);
	return bpf_map_lookup_elem(&elf_loaders, &key) != 0;
}

/* argv: the new image's argument block, NUL separated, as the kernel laid it out (segment 2). */
static __always_inline void sk_exec_argv(struct sk_event *e, struct task_struct *p)
{
	unsigned long arg_start = BPF_CORE_READ(p, mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(p, mm, arg_end);
	__u64 off = e->data_len;
	__u64 n = arg_end > arg_start ? arg_end - arg_start : 0;

	if (n > SK_ARGV_MAX) {
		n = SK_ARGV_MAX;
		e->flags |= SK_F_TRUNC_ARGV;
	}
	barrier_var(n);
	if (off <= SK_DATA_MAX - SK_ARGV_MAX && n > 0 && n <= SK_ARGV_MAX) {
		if (bpf_probe_read_user(&e->data[off], n, (void *)arg_start) == 0) {
			e->seg_len[2] = n;
			e->data_len = off + n;
		}
	}
}

/*
 * A `#!` script (or a binfmt_misc program): the image is its interpreter, and the script itself
 * was opened and put back before this tracepoint, so all that is left of it is the name the exec
 * was given (bprm->filename; bprm->interp points elsewhere once a handler named an interpreter).
 * Segment 1 carries that name; the daemon resolves and judges it.
 */
static __always_inline void sk_exec_script(struct sk_event *e, struct linux_binprm *bprm)
{
	const char *name = BPF_CORE_READ(bprm, filename);
	__u32 off = e->data_len;
	long n;

	if (BPF_CORE_READ(bprm, interp) == name)
		return;
	e->flags |= SK_F_SCRIPT;
	if (off > SK_DATA_MAX - SK_ARGV_MAX)
		return;
	n = bpf_probe_read_kernel_str(&e->data[off], SK_ARGV_MAX, name);
	if (n <= 0)
		return;
	if (n == SK_ARGV_MAX)
		e->flags |= SK_F_TRUNC_PATH1;
	e->seg_len[1] = n;
	e->data_len = off + n;
}

static __always_inline void sk_exec_cwd(struct sk_event *e, struct task_struct *p)
{
	struct path cwd = BPF_CORE_READ(p, fs, pwd);
	bool trunc = false;
	__u32 o = e->data_len;

	if (o <= SK_DATA_MAX - SK_NAME_MAX) {
		__u32 m = sk_path_write(e, o, &cwd, 0, &trunc);
		e->seg_len[3] = m;
		e->data_len = o + m;
	}
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sk_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct sk_track *t = sk_tracked_at_exec(tgid, p, bprm);
	struct sk_agent_cfg *cfg;
	struct sk_walk w = {};
	struct sk_event *e;
	struct path exe_path;
	bool indirect;

	if (!t)
		return 0;
	cfg = sk_cfg(t->agent_id);
	e = sk_event_init(SK_EXEC, p, t->agent_id);
	if (!e)
		return 0;
	w.agent_id = t->agent_id;

	exe_path = BPF_CORE_READ(bprm, file, f_path);
	sk_put_path(e, 0, &exe_path, &w);
	sk_exec_argv(e, p);
	sk_exec_script(e, bprm); /* segments in the data area: 0, 2, 1, 3 */
	sk_exec_cwd(e, p);
	if (sk_is_loader(bprm))
		e->flags |= SK_F_LOADER;
	/* What really runs is a name to the kernel (a loader's program, a denied script): the kernel's
	 * allow of the image is not final, the daemon judges that name while the exec is held. */
	indirect = (e->flags & SK_F_LOADER) || ((e->flags & SK_F_SCRIPT) && cfg && (cfg->flags & SK_AG_EXEC_DENY));

	/* Deny beats allow; with a strict allow-list, anything not in it is denied. */
	if (w.exec_deny_rule)
		e->rule = w.exec_deny_rule;
	else if (w.exec_rule)
		e->rule = w.exec_rule;
	else if (cfg && (cfg->flags & SK_AG_EXEC_STRICT))
		e->rule = cfg->default_rule;
	/* on_violation: ask: an exec outside the allow list is held for a person, not killed. */
	if ((w.exec_deny_rule ||
	     (!w.exec_rule && cfg && (cfg->flags & SK_AG_EXEC_STRICT) && !(cfg->flags & SK_AG_ASK))) && cfg &&
	    (cfg->flags & SK_AG_ENFORCE)) {
		/* Killed here, the new image never runs one instruction. */
		sk_kill(e, cfg);
	} else if (w.exec_rule && cfg && (cfg->flags & SK_AG_EXEC_STRICT) && !indirect) {
		e->flags |= SK_F_KALLOW;
	}
	bpf_map_delete_elem(&tls_seen, &tgid); /* a new image: its TLS stacks are yet to be seen */
	if (!(e->flags & SK_F_KILLED) && sk_tls_hold(p, bprm, cfg))
		e->flags |= SK_F_TLS_HELD;
	e->arg0 = old_pid;
	sk_submit(e, sk_prompt(cfg) || (e->flags & SK_F_TLS_HELD));
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sk_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u32 cpid = BPF_CORE_READ(child, pid);
	struct sk_track *t = sk_tracked(ptgid, parent);
	struct sk_event *e;

	if (!t)
		return 0;
	if (ctgid == cpid) {
		struct sk_track nt = *t;
		struct sk_label *lb = bpf_map_lookup_elem(&labels, &ptgid);

		nt.start_ns = BPF_CORE_READ(child, start_boottime);
		bpf_map_update_elem(&tracked, &ctgid, &nt, BPF_ANY);
		if (lb) {
			struct sk_label copy = *lb;
			bpf_map_update_elem(&labels, &ctgid, &copy, BPF_ANY);
		}
	}
	e = sk_event_init(SK_FORK, parent, t->agent_id);
	if (!e)
		return 0;
	e->ret = ctgid;
	e->arg0 = BPF_CORE_READ(child, start_boottime);
	e->arg1 = cpid;
	if (ctgid != cpid)
		e->flags |= SK_F_THREAD;
	sk_submit(e, false);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sk_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct sk_track *t = bpf_map_lookup_elem(&tracked, &tgid);
	struct sk_event *e;
	int code;

	/* The daemon's main thread exits (crash, SIGKILL, stop): from now on the kernel fails
	 * closed at once, without waiting for the heartbeat to go stale. */
	if (tgid == daemon_tgid && BPF_CORE_READ(p, pid) == tgid) {
		daemon_beat_ns = 0;
		sk_holds_fail_closed(true); /* nothing would ever release them */
	}
	if (!t)
		return 0;
	/* signal->live reaches 0 when the last thread of the process exits. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	e = sk_event_init(SK_EXIT, p, t->agent_id);
	bpf_map_delete_elem(&tracked, &tgid);
	sk_hold_exit(tgid);
	bpf_map_delete_elem(&labels, &tgid);
	bpf_map_delete_elem(&tls_seen, &tgid);
	bpf_map_delete_elem(&tls_held, &tgid);
	if (!e)
		return 0;
	code = BPF_CORE_READ(p, signal, group_exit_code);
	if (!code)
		code = BPF_CORE_READ(p, exit_code);
	e->ret = (code >> 8) & 0xff;
	e->arg0 = code & 0x7f; /* terminating signal */
	sk_submit(e, false);
	return 0;
}

#endif
