/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Path resolution in the kernel, from a struct path (an opened file, an exec'd image, a
 * cwd): walks dentries towards the root, crossing mount points, and writes the component
 * names leaf first, each NUL terminated, into the event's data area. Userspace reverses them
 * (userspace/probe/decode.cpp). Working from the kernel's dentries rather than the user's
 * string means symlinks, "..", and dirfd-relative names are already resolved, and the name
 * cannot change between check and use.
 *
 * On the way it looks each (dev, inode) up in the kernel rule table of the agent, so that an
 * exact-file or whole-subtree rule is decided in the same walk.
 */
#ifndef STOCKADE_PATH_BPF_H
#define STOCKADE_PATH_BPF_H

#include "maps.bpf.h"

#define SK_MNT_FROM_VFSMNT(v) ((struct mount *)((void *)(v) - bpf_core_field_offset(struct mount, mnt)))

/*
 * The walk keeps its pointers in the bpf_loop context, where they are plain numbers to the
 * verifier. bpf_rdonly_cast() makes one a read-only kernel pointer again, so the fields are read
 * with direct loads (each a single instruction with a fault fix-up) rather than a probe-read
 * helper call per field: about 7 helper calls per path component fewer (docs/performance.md).
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define SK_RO(type, p) ((type *)bpf_rdonly_cast((p), bpf_core_type_id_kernel(type)))

struct sk_walk {
	__u32 agent_id;       /* 0: do not consult the rule table */
	__u32 match_flags;    /* OR of the rule flags met on the way (leaf: all; ancestors: SUBTREE ones) */
	__u32 deny_rule;      /* first FILE_DENY rule met */
	__u32 exec_rule;      /* first EXEC_ALLOW rule met */
	__u32 exec_deny_rule; /* first EXEC_DENY rule met */
	__u32 protect_rule;   /* first PROTECT rule met */
	__u32 label_rule;     /* first LABEL rule met */
	__u32 label_through;  /* its SK_THROUGH_* */
};

static __always_inline void sk_walk_rule(struct sk_walk *w, struct dentry *d, bool leaf)
{
	struct sk_inode_key key = {};
	struct sk_inode_rule *r;
	struct inode *inode = d->d_inode;

	key.agent_id = w->agent_id;
	key.dev = d->d_sb->s_dev;
	key.ino = inode ? inode->i_ino : 0;
	r = bpf_map_lookup_elem(&inode_rules, &key);
	if (!r)
		return;
	if (!leaf && !(r->flags & SK_IR_SUBTREE))
		return;
	if ((r->flags & SK_IR_FILE_DENY) && !w->deny_rule)
		w->deny_rule = r->rule;
	if ((r->flags & SK_IR_LABEL) && !w->label_rule) {
		w->label_rule = r->label;
		w->label_through = r->label_through;
	}
	if ((r->flags & SK_IR_PROTECT) && !w->protect_rule)
		w->protect_rule = r->rule;
	if ((r->flags & SK_IR_EXEC_DENY) && !w->exec_deny_rule)
		w->exec_deny_rule = r->rule;
	if ((r->flags & SK_IR_EXEC_ALLOW) && !w->exec_rule)
		w->exec_rule = r->rule;
	w->match_flags |= r->flags;
}

struct sk_walk_ctx {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct mount *mnt_parent;
	struct sk_walk w;
	__u32 off;
	__u32 len;
	bool leaf;
	bool trunc;
	bool use_rules;
};

/* One step towards the root; bpf_loop() callback so the verifier checks it once. */
static long sk_walk_step(__u32 i, void *arg)
{
	struct sk_walk_ctx *c = arg;
	struct vfsmount *vfsmnt = SK_RO(struct vfsmount, c->vfsmnt);
	struct dentry *dentry = SK_RO(struct dentry, c->dentry);
	struct mount *mnt = SK_RO(struct mount, c->mnt);
	struct dentry *mnt_root = vfsmnt->mnt_root;
	struct dentry *parent = dentry->d_parent;
	const unsigned char *name;
	struct sk_event *e;
	__u32 zero = 0;
	__u64 pos;
	long n;

	/* A dentry that is its own parent but not its mount's root: a pseudo file (memfd) or a
	 * disconnected dentry (opened by handle). Its own name is all there is to write. */
	bool orphan = (void *)dentry == (void *)parent && (void *)dentry != (void *)mnt_root;

	if (c->use_rules)
		sk_walk_rule(&c->w, dentry, c->leaf);
	if (!orphan && ((void *)dentry == (void *)mnt_root || (void *)dentry == (void *)parent)) {
		struct mount *up = c->mnt_parent;

		if ((void *)c->mnt == (void *)up)
			return 1; /* reached the root of the mount namespace */
		/* Continue from where this mount is attached in its parent. */
		c->dentry = mnt->mnt_mountpoint;
		c->mnt = up;
		c->mnt_parent = SK_RO(struct mount, up)->mnt_parent;
		c->vfsmnt = (struct vfsmount *)((void *)up + bpf_core_field_offset(struct mount, mnt));
		c->leaf = false;
		return 0;
	}
	if (c->len > SK_PATH_MAX - SK_NAME_MAX) {
		c->trunc = true;
		return 1;
	}
	pos = (__u64)c->off + c->len;
	barrier_var(pos);
	if (pos > SK_DATA_MAX - SK_NAME_MAX) {
		c->trunc = true;
		return 1;
	}
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 1;
	name = dentry->d_name.name;
	n = bpf_probe_read_kernel_str(&e->data[pos], SK_NAME_MAX, name);
	if (n <= 0)
		return 1;
	c->len += n;
	if (orphan)
		return 1;
	c->dentry = parent;
	c->leaf = false;
	if (i == SK_PATH_DEPTH - 1)
		c->trunc = true;
	return 0;
}

/*
 * Writes the components of `p` at e->data[off...] (e is the per-CPU scratch record). Returns
 * the bytes written; sets *trunc when the depth or size limit cut the path short.
 */
static __always_inline __u32 sk_path_write(struct sk_event *e, __u32 off, const struct path *p,
					   struct sk_walk *w, bool *trunc)
{
	struct sk_walk_ctx c = {};
	struct vfsmount *vfsmnt = BPF_CORE_READ(p, mnt);
	struct mount *mnt = SK_MNT_FROM_VFSMNT(vfsmnt);

	c.dentry = BPF_CORE_READ(p, dentry);
	c.vfsmnt = vfsmnt;
	c.mnt = mnt;
	c.mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
	c.off = off;
	c.leaf = true;
	if (w && w->agent_id) {
		c.use_rules = true;
		c.w = *w;
	}
	bpf_loop(SK_PATH_DEPTH, sk_walk_step, &c, 0);
	if (w)
		*w = c.w;
	if (c.trunc)
		*trunc = true;
	return c.len;
}

#endif
