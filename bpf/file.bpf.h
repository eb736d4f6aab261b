/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * File syscalls at their exit (open, unlink, rename, mkdir, chmod, truncate, link, symlink, the
 * xattr writes): the
 * record with the result, and the kernel's verdict on an open from the agent's inode rules.
 */
#ifndef STOCKADE_FILE_BPF_H
#define STOCKADE_FILE_BPF_H

#include "helpers.bpf.h"
#include "sysnr.bpf.h"
#include "self.bpf.h"

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

/* The record kind of a file syscall, or 0 for a syscall this file does not record. */
static __always_inline __u16 sk_file_kind(__u64 nr, struct sk_args *a)
{
	switch (nr) {
	case NR_open: case NR_creat: case NR_openat: case NR_openat2: return SK_OPEN;
	case NR_unlink: return SK_UNLINK;
	case NR_unlinkat: return (a->a[2] & AT_REMOVEDIR) ? SK_RMDIR : SK_UNLINK;
	case NR_rmdir: return SK_RMDIR;
	case NR_rename: case NR_renameat: case NR_renameat2: return SK_RENAME;
	case NR_mkdir: case NR_mkdirat: return SK_MKDIR;
	case NR_chmod: case NR_fchmod: case NR_fchmodat: case NR_fchmodat2: return SK_CHMOD;
	case NR_truncate: case NR_ftruncate: return SK_TRUNCATE;
	case NR_link: case NR_linkat: return SK_LINK;
	case NR_symlink: case NR_symlinkat: return SK_SYMLINK;
	case NR_setxattr: case NR_lsetxattr: case NR_fsetxattr: case NR_removexattr: case NR_lremovexattr:
	case NR_fremovexattr: case NR_setxattrat: case NR_removexattrat: return SK_XATTR;
	}
	return 0;
}

/* The open flags of open/creat/openat/openat2, and the path and directory it is relative to. */
static __always_inline long sk_open_args(__u64 nr, struct sk_args *a, const char **upath, long *dirfd)
{
	__u64 how_flags = 0;

	*dirfd = AT_FDCWD;
	if (nr == NR_open) {
		*upath = (const char *)a->a[0];
		return a->a[1];
	}
	if (nr == NR_creat) {
		*upath = (const char *)a->a[0];
		return O_CREAT | O_TRUNC | 1;
	}
	*dirfd = (int)a->a[0];
	*upath = (const char *)a->a[1];
	if (nr == NR_openat)
		return a->a[2];
	bpf_probe_read_user(&how_flags, sizeof(how_flags), (void *)a->a[2]);
	return how_flags;
}

/* The SK_ACC_* bits that open flags ask for (creation is known only from the result). */
static __always_inline __u32 sk_open_access(long flags)
{
	__u32 access;

	if (flags & O_PATH) /* the kernel ignores every other access flag */
		return SK_ACC_PATH;
	switch (flags & O_ACCMODE) {
	case 0: access = SK_ACC_READ; break;
	case 1: access = SK_ACC_WRITE; break;
	default: access = SK_ACC_READ | SK_ACC_WRITE; break;
	}
	if (flags & O_TRUNC)
		access |= SK_ACC_TRUNC;
	if (flags & O_APPEND)
		access |= SK_ACC_APPEND;
	return access;
}

/*
 * A file-strict agent's open that no allow rule covers: every allow rule of the agent is in the
 * inode table, so an open of a regular file or directory that none covers is outside the
 * boundary. Devices, pipes, sockets and /proc are left to the daemon.
 */
static __always_inline bool sk_open_uncovered(struct sk_event *e, struct file *f, struct sk_walk *w)
{
	__u16 mode = BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT;
	unsigned long magic = BPF_CORE_READ(f, f_inode, i_sb, s_magic);
	__u32 need = 0;

	if (e->access & SK_ACC_READ)
		need |= SK_IR_READ_ALLOW;
	if (e->access & (SK_ACC_WRITE | SK_ACC_CREATE | SK_ACC_TRUNC | SK_ACC_APPEND))
		need |= SK_IR_WRITE_ALLOW;
	return (mode == S_IFREG || mode == S_IFDIR) && magic != PROC_SUPER_MAGIC && (w->match_flags & need) != need;
}

/* The kernel's verdict on an open that succeeded, from the inode rules its path walk met. */
static __always_inline void sk_open_verdict(struct sk_event *e, struct file *f, struct sk_walk *w,
					    struct sk_agent_cfg *cfg)
{
	if (w->label_rule && (e->access & SK_ACC_READ)) {
		/* The first step of a sequence: from now on its connects are limited. */
		struct sk_label lb = {.rule = w->label_rule, .through = w->label_through};
		__u32 tgid = e->pid;
		bpf_map_update_elem(&labels, &tgid, &lb, BPF_NOEXIST);
		if (!labels_live)
			labels_live = 1;
	}
	if ((w->protect_rule && (e->access & (SK_ACC_WRITE | SK_ACC_CREATE | SK_ACC_TRUNC))) ||
	    sk_self_proc_open(e, f)) {
		/* Self-protection: whatever the agent's mode. */
		e->rule = SK_RULE_SELF;
		bpf_send_signal(SIGKILL);
		e->flags |= SK_F_KILLED;
		sk_count(SK_CNT_KILLS);
	} else if (w->deny_rule) {
		e->rule = w->deny_rule;
		/* An O_PATH descriptor reads nothing: the daemon flags it, nobody is killed for it. */
		if (cfg && (cfg->flags & SK_AG_ENFORCE) && e->access != SK_ACC_PATH) {
			/* The descriptor exists but the process never returns to use it. */
			sk_kill(e, cfg);
		}
	} else if (cfg && (cfg->flags & SK_AG_FILE_STRICT) && (cfg->flags & SK_AG_ENFORCE)) {
		if (sk_open_uncovered(e, f, w)) {
			e->rule = cfg->default_rule;
			if (!(cfg->flags & SK_AG_ASK)) /* ask: held for a person instead (sk_hold_scratch) */
				sk_kill(e, cfg);
		} else {
			e->flags |= SK_F_KALLOW;
		}
	}
}

/*
 * An open's record: the opened file's path and verdict when it succeeded, the named path when it
 * failed. Returns false when the record is dropped (the new descriptor cannot be found).
 */
static __always_inline bool sk_open_record(struct sk_event *e, struct task_struct *task, struct sk_track *t,
					   struct sk_agent_cfg *cfg, __u64 nr, struct sk_args *a, long ret)
{
	const char *upath;
	long dirfd;
	long flags = sk_open_args(nr, a, &upath, &dirfd);

	e->arg0 = flags;
	e->access = sk_open_access(flags);
	if (ret >= 0) {
		struct file *f = sk_fd_file(task, ret);
		struct sk_walk w = {};
		struct path fp;

		if (!f)
			return false;
		if (BPF_CORE_READ(f, f_mode) & FMODE_CREATED)
			e->access |= SK_ACC_CREATE;
		w.agent_id = t->agent_id;
		fp = BPF_CORE_READ(f, f_path);
		sk_put_path(e, 0, &fp, &w);
		sk_open_verdict(e, f, &w, cfg);
	} else {
		if (flags & O_CREAT)
			e->access |= SK_ACC_CREATE;
		sk_put_named(e, task, 0, dirfd, upath);
	}
	return true;
}

/* fchmod/ftruncate: the path of the descriptor they change. */
static __always_inline void sk_fd_change_record(struct sk_event *e, struct task_struct *task, struct sk_args *a)
{
	struct file *f = sk_fd_file(task, a->a[0]);
	if (f) {
		struct path fp = BPF_CORE_READ(f, f_path);
		sk_put_path(e, 0, &fp, 0);
	}
	e->arg1 = a->a[1];
	e->access = SK_ACC_WRITE;
}

/* unlink, rmdir, mkdir, chmod, truncate, rename, link, symlink: the one or two paths they name. */
static __always_inline void sk_named_change_record(struct sk_event *e, struct task_struct *task, __u64 nr,
						   __u16 kind, struct sk_args *a)
{
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

/*
 * setxattr/removexattr and their forms: the file (named, or by descriptor; an -at call with an
 * empty path and AT_EMPTY_PATH names its dirfd, and the empty name resolves to it) and the
 * attribute's name (seg 3). A write of the file, judged by the daemon like chmod.
 */
static __always_inline void sk_xattr_record(struct sk_event *e, struct task_struct *task, __u64 nr,
					    struct sk_args *a)
{
	const char *name = (const char *)a->a[1];

	e->arg0 = nr;
	e->access = SK_ACC_WRITE;
	if (nr == NR_fsetxattr || nr == NR_fremovexattr) {
		struct file *f = sk_fd_file(task, a->a[0]);

		if (f) {
			struct path fp = BPF_CORE_READ(f, f_path);
			sk_put_path(e, 0, &fp, 0);
		}
	} else if (nr == NR_setxattrat || nr == NR_removexattrat) {
		name = (const char *)a->a[3];
		sk_put_named(e, task, 0, (int)a->a[0], (const char *)a->a[1]);
	} else {
		sk_put_named(e, task, 0, AT_FDCWD, (const char *)a->a[0]);
	}
	sk_put_user_str(e, 3, name);
}

static __always_inline int sk_file_event(struct task_struct *task, struct sk_track *t, __u64 nr,
					 struct sk_args *a, long ret)
{
	struct sk_agent_cfg *cfg = sk_cfg(t->agent_id);
	struct sk_event *e;
	__u16 kind = sk_file_kind(nr, a);

	if (!kind)
		return 0;
	e = sk_event_init(kind, task, t->agent_id);
	if (!e)
		return 0;
	e->ret = ret;

	if (kind == SK_OPEN) {
		if (!sk_open_record(e, task, t, cfg, nr, a, ret))
			return 0;
	} else if (nr == NR_fchmod || nr == NR_ftruncate) {
		sk_fd_change_record(e, task, a);
	} else if (kind == SK_XATTR) {
		sk_xattr_record(e, task, nr, a);
	} else {
		sk_named_change_record(e, task, nr, kind, a);
	}
	sk_submit(e, sk_prompt(cfg));
	return 0;
}

#endif
