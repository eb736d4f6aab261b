/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Labels through data (boundary `sequences[].through`, docs/boundary.md): a pipe, connected unix
 * socket or regular file that a labelled process writes is marked in `taints` with its label; a
 * process of the same agent that then reads it (or opens the file for reading) gets the label
 * with the same sequence, so the sequence's connect limit holds for it in the cgroup hook too.
 * That stops `cat secret | (curl --data-binary @- ...)` and `cat secret > copy` followed by
 * another process's `curl --data-binary @copy`, where the sender is no child of the reader.
 *
 * Cost: untracked processes reach none of this for the calls the hook already looks at. The data
 * calls it does not otherwise look at (pwrite, sendfile, splice, tee, vmsplice,
 * copy_file_range) cost every process one global load, and once some process is labelled one
 * `labels` lookup: only a labelled writer writes the map. A tracked process pays a `labels`
 * lookup per read, write and open once some process is labelled, and while it is unlabelled a
 * descriptor lookup and a `taints` lookup per read and open once some object is tainted.
 */
#ifndef STOCKADE_TAINT_BPF_H
#define STOCKADE_TAINT_BPF_H

#include "io.bpf.h"

/* The data calls sk_sys_exit looks at only for labels (not in sk_hooked_nr). */
static __always_inline bool sk_taint_nr(__u64 nr)
{
	switch (nr) {
	case NR_pwrite64: case NR_pwritev: case NR_pwritev2: case NR_sendfile: case NR_splice: case NR_tee:
	case NR_vmsplice: case NR_copy_file_range:
		return true;
	}
	return false;
}

/*
 * The descriptors a call read from (*in) and wrote to (*out), -1 for none; false when it moved
 * no data. An open's new descriptor counts as read from: opening a tainted file for reading
 * labels the opener (it may mmap it and never call read).
 */
static __always_inline bool sk_taint_fds(__u64 nr, struct sk_args *a, long ret, __s64 *in, __s64 *out)
{
	*in = *out = -1;
	switch (nr) {
	case NR_open: case NR_creat: case NR_openat: case NR_openat2:
		if (ret >= 0)
			*in = ret;
		break;
	case NR_read: case NR_readv: case NR_recvfrom: case NR_recvmsg:
		if (ret >= 0) /* an end of file too: the writer's hook ran before it closed the pipe */
			*in = (int)a->a[0];
		break;
	case NR_write: case NR_writev: case NR_sendto: case NR_sendmsg: case NR_pwrite64: case NR_pwritev:
	case NR_pwritev2: case NR_vmsplice:
		if (ret > 0)
			*out = (int)a->a[0];
		break;
	case NR_sendfile:
		if (ret > 0) {
			*in = (int)a->a[1];
			*out = (int)a->a[0];
		}
		break;
	case NR_splice: case NR_copy_file_range:
		if (ret > 0) {
			*in = (int)a->a[0];
			*out = (int)a->a[2];
		}
		break;
	case NR_tee:
		if (ret > 0) {
			*in = (int)a->a[0];
			*out = (int)a->a[1];
		}
		break;
	}
	return *in >= 0 || *out >= 0;
}

/*
 * The object behind f as a `taints` key (dev, ino; the caller sets the agent) and its kind
 * (SK_THROUGH_*), 0 for one that carries no label. A unix socket is keyed by the end that reads
 * what is written: the writer's peer, the reader's own.
 */
static __always_inline __u32 sk_taint_key(struct file *f, bool write, struct sk_inode_key *key)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	__u16 mode = BPF_CORE_READ(inode, i_mode) & S_IFMT;

	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key->ino = BPF_CORE_READ(inode, i_ino);
	if (mode == S_IFIFO)
		return SK_THROUGH_PIPE;
	if (mode == S_IFREG)
		return SK_THROUGH_FILE;
	if (mode != S_IFSOCK)
		return 0;
	if (write)
		key->ino = sk_unix_peer_ino(f);
	return key->ino ? SK_THROUGH_SOCKET : 0;
}

/* The reader takes the writer's label, and the daemon hears where it came from (it journals the
 * label record and judges the reader's later actions by the sequence). */
static __always_inline void sk_taint_take(struct task_struct *task, __u32 tgid, __u32 agent, struct sk_taint *v,
					  __u64 ino, struct file *f)
{
	struct sk_label lb = {.rule = v->rule, .through = v->through};
	struct sk_event *e;

	if (bpf_map_update_elem(&labels, &tgid, &lb, BPF_NOEXIST))
		return; /* another thread labelled it first */
	e = sk_event_init(SK_LABEL, task, agent);
	if (!e)
		return;
	e->rule = v->rule;
	e->arg0 = v->kind;
	e->arg1 = v->writer;
	e->arg2 = ino;
	if (v->kind == SK_THROUGH_FILE) {
		struct path fp = BPF_CORE_READ(f, f_path);

		sk_put_path(e, 0, &fp, 0);
	}
	sk_submit(e, true);
}

/* A tracked, unlabelled reader of descriptor fd: labelled when what it reads is tainted. */
static __always_inline void sk_taint_read(struct task_struct *task, __u32 tgid, __s64 fd)
{
	struct sk_track *t = bpf_map_lookup_elem(&tracked, &tgid);
	struct sk_inode_key key = {};
	struct sk_taint *v;
	struct file *f;
	__u32 kind;

	if (!t)
		return;
	f = sk_fd_file(task, fd);
	if (!f || !(BPF_CORE_READ(f, f_mode) & FMODE_READ))
		return;
	kind = sk_taint_key(f, false, &key);
	if (!kind)
		return;
	key.agent_id = t->agent_id;
	v = bpf_map_lookup_elem(&taints, &key);
	if (v && v->kind == kind)
		sk_taint_take(task, tgid, t->agent_id, v, key.ino, f);
}

/* A labelled writer of descriptor fd: what it wrote to is tainted, if its sequence says so. */
static __always_inline void sk_taint_write(struct task_struct *task, __u32 tgid, struct sk_label *lb, __s64 fd)
{
	struct sk_track *t = bpf_map_lookup_elem(&tracked, &tgid);
	struct sk_inode_key key = {};
	struct sk_taint nv = {};
	struct sk_taint *v;
	struct file *f;
	__u32 kind;

	if (!t)
		return;
	f = sk_fd_file(task, fd);
	if (!f)
		return;
	kind = sk_taint_key(f, true, &key);
	if (!(kind & lb->through))
		return;
	key.agent_id = t->agent_id;
	v = bpf_map_lookup_elem(&taints, &key);
	if (v && v->rule == lb->rule && v->writer == tgid)
		return; /* this writer's earlier write tainted it already: no map write per write */
	nv.rule = lb->rule;
	nv.through = lb->through;
	nv.writer = tgid;
	nv.kind = kind;
	bpf_map_update_elem(&taints, &key, &nv, BPF_ANY);
	if (!taints_live)
		taints_live = 1;
}

/*
 * One data call's labels: the read side first (a call that reads a tainted pipe and writes a
 * file passes the label on in the same call), then the write side. A global function, verified
 * on its own; `in` is -1 unless the caller is known to be tracked.
 */
__noinline int sk_taint_global(__s64 in, __s64 out)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task = bpf_get_current_task_btf();
	struct sk_label *lb = bpf_map_lookup_elem(&labels, &tgid);

	if (!lb && in >= 0 && taints_live) {
		sk_taint_read(task, tgid, in);
		lb = bpf_map_lookup_elem(&labels, &tgid);
	}
	if (lb && out >= 0 && lb->through)
		sk_taint_write(task, tgid, lb, out);
	return 0;
}

/* sk_sys_exit's labels step for a data call; `tracked`: the caller is known to be tracked (only
 * then is the read side looked at: an untracked caller pays no lookup for it). */
static __always_inline void sk_taint_call(__u64 nr, struct sk_args *a, long ret, bool tracked)
{
	__s64 in, out;

	if (sk_taint_fds(nr, a, ret, &in, &out))
		sk_taint_global(tracked ? in : -1, out);
}

/* A call sk_hooked_nr() leaves alone: pwrite, splice ... matter only once some process is
 * labelled, and then only for a labelled writer (sk_taint_global looks up `labels` first). */
static __always_inline int sk_taint_unhooked(struct pt_regs *regs, __u64 nr, long ret)
{
	struct sk_args a;

	if (!sk_taint_nr(nr) || !labels_live)
		return 0;
	sk_read_args(regs, &a);
	sk_taint_call(nr, &a, ret, false);
	return 0;
}

#endif
