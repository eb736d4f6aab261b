/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * File syscalls at their exit (open, unlink, rename, mkdir, chmod, truncate, link, symlink): the
 * record with the result, and the kernel's verdict on an open from the agent's inode rules.
 */
#ifndef STOCKADE_FILE_BPF_H
#define STOCKADE_FILE_BPF_H

#include "helpers.bpf.h"
#include "sysnr.bpf.h"

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

#endif
