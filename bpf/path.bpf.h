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

#define SK_MNT_FROM_VFSMNT(v) ((struct mount *)((void *)(v) - bpf_core_field_offset(struct mount, mnt)))

struct sk_walk {
	__u32 agent_id;       /* 0: do not consult the rule table */
	__u32 match_flags;    /* OR of the rule flags met on the way (leaf: all; ancestors: SUBTREE ones) */
	__u32 deny_rule;      /* first FILE_DENY rule met */
	__u32 exec_rule;      /* first EXEC_ALLOW rule met */
};

static __always_inline void sk_walk_rule(struct sk_walk *w, struct dentry *d, bool leaf)
{
	struct sk_inode_key key = {};
	struct sk_inode_rule *r;

	key.agent_id = w->agent_id;
	key.dev = BPF_CORE_READ(d, d_sb, s_dev);
	key.ino = BPF_CORE_READ(d, d_inode, i_ino);
	r = bpf_map_lookup_elem(&inode_rules, &key);
	if (!r)
		return;
	if (!leaf && !(r->flags & SK_IR_SUBTREE))
		return;
	if ((r->flags & SK_IR_FILE_DENY) && !w->deny_rule)
		w->deny_rule = r->rule;
	if ((r->flags & SK_IR_EXEC_ALLOW) && !w->exec_rule)
		w->exec_rule = r->rule;
	w->match_flags |= r->flags;
}

/*
 * Writes the components of `p` at e->data[off...]. Returns the bytes written; sets *trunc when
 * the depth or size limit cut the path short.
 */
static __always_inline __u32 sk_path_write(struct sk_event *e, __u32 off, const struct path *p,
					   struct sk_walk *w, bool *trunc)
{
	struct dentry *dentry = BPF_CORE_READ(p, dentry);
	struct vfsmount *vfsmnt = BPF_CORE_READ(p, mnt);
	struct mount *mnt = SK_MNT_FROM_VFSMNT(vfsmnt);
	struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
	__u32 len = 0;
	bool leaf = true;
	int i;

	for (i = 0; i < SK_PATH_DEPTH; i++) {
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		const unsigned char *name;
		__u32 pos;
		long n;

		if (w && w->agent_id)
			sk_walk_rule(w, dentry, leaf);
		if (dentry == mnt_root || dentry == parent) {
			if (mnt == mnt_parent)
				return len; /* reached the root of the mount namespace */
			/* Continue from where this mount is attached in its parent. */
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			vfsmnt = (struct vfsmount *)((void *)mnt + bpf_core_field_offset(struct mount, mnt));
			leaf = false;
			continue;
		}
		pos = off + len;
		if (pos > SK_DATA_MAX - SK_NAME_MAX || len > SK_PATH_MAX - SK_NAME_MAX) {
			*trunc = true;
			return len;
		}
		name = BPF_CORE_READ(dentry, d_name.name);
		n = bpf_probe_read_kernel_str(&e->data[pos], SK_NAME_MAX, name);
		if (n <= 0)
			return len;
		len += n;
		dentry = parent;
		leaf = false;
	}
	*trunc = true;
	return len;
}

#endif
