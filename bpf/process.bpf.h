/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Process lifecycle from the sched tracepoints: exec (resolved image, argv, cwd; the exec
 * allow-list, killed at exec; held for the daemon's TLS uprobes, gotls.bpf.h, or for its verdict
 * on what the image runs: a loader's program, a script), fork (tracking
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

/* The image's interpreter entry (map interp_names), by its real file's name less the version
 * digits and dots at its end (python3.12 -> python), as probe/interpreters.cpp names it. */
static __always_inline struct sk_interp *sk_interp_of(struct linux_binprm *bprm)
{
	struct sk_interp_key key = {};
	const unsigned char *name = BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name);
	long n = bpf_probe_read_kernel_str(key.name, sizeof key.name, name);
	int i;

	if (n <= 1 || n >= (long)sizeof key.name) /* longer than any interpreter's name */
		return 0;
	for (i = SK_INTERP_NAME_MAX - 2; i > 0; i--) {
		char c = key.name[i];

		if (i > n - 2)
			continue;
		if ((c < '0' || c > '9') && c != '.')
			break;
		key.name[i] = 0;
	}
	return bpf_map_lookup_elem(&interp_names, &key);
}

/*
 * Whether an interpreter's argv (segment 2, from data offset `off`) may name a script file: not
 * when it is argv[0] alone (the program is stdin), nor when argv[1] is `-` and option letters
 * without a value reaching a code letter (`sh -c`, `bash -lc`, `python3 -c`, `perl -le`): then
 * the exec need not wait for the daemon. Anything else may (held; the daemon parses argv fully,
 * probe/interpreters.cpp, and finds no script wherever this finds code).
 */
static __always_inline bool sk_interp_script(struct sk_event *e, const struct sk_interp *in, __u64 off)
{
	__u64 len = e->seg_len[2], a1 = 0, i;
	const __u8 *argv;

	if (len > SK_ARGV_MAX || off > SK_DATA_MAX - SK_ARGV_MAX)
		return true;
	argv = &e->data[off]; /* SK_ARGV_MAX bytes from here are in the record */
	for (i = 0; i < 64 && i < len; i++)
		if (argv[i] == 0) {
			a1 = i + 1;
			break;
		}
	if (!a1 || a1 > 64)
		return true; /* argv[0] of 64 bytes or more: not read here */
	if (a1 >= len)
		return (e->flags & SK_F_TRUNC_ARGV) != 0;
	if (argv[a1] != '-')
		return true;
	for (i = 1; i < 8; i++) {
		char c;
		int bit = -1;

		if (a1 + i >= len)
			return true;
		c = argv[a1 + i];
		if (c && (c == in->code[0] || c == in->code[1] || c == in->code[2] || c == in->code[3]))
			return false;
		if (c >= 'a' && c <= 'z')
			bit = c - 'a';
		else if (c >= 'A' && c <= 'Z')
			bit = 26 + c - 'A';
		else if (c >= '0' && c <= '9')
			bit = 52 + c - '0';
		if (bit < 0 || !(in->flags & (1ull << bit)))
			return true;
	}
	return true;
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
	struct sk_interp *in;
	__u64 argv_off;
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
	argv_off = e->data_len;
	sk_exec_argv(e, p);
	sk_exec_script(e, bprm); /* segments in the data area: 0, 2, 1, 3 */
	sk_exec_cwd(e, p);
	if (sk_is_loader(bprm))
		e->flags |= SK_F_LOADER;
	if (cfg && (cfg->flags & SK_AG_EXEC_DENY) && (in = sk_interp_of(bprm)) && sk_interp_script(e, in, argv_off))
		e->flags |= SK_F_INTERP;
	/* What really runs is a name to the kernel (a loader's program, a denied script, an interpreter's
	 * script): the kernel's allow of the image is not final, the daemon judges that name while the
	 * exec is held. */
	indirect = (e->flags & (SK_F_LOADER | SK_F_INTERP)) ||
		   ((e->flags & SK_F_SCRIPT) && cfg && (cfg->flags & SK_AG_EXEC_DENY));

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
