/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Which agent, if any, the current process belongs to: the first question of every program. */
#ifndef STOCKADE_TRACK_BPF_H
#define STOCKADE_TRACK_BPF_H

#include "helpers.bpf.h"

/*
 * systemd 255 and later exec their own "systemd-executor" in the unit's cgroup first, which then
 * execs the unit's program: that exec is still the service manager's, not the agent's. Known by
 * the (dev, inode) of the file, never by its name, which anyone can give a copy of anything.
 */
static __always_inline bool sk_is_service_executor(struct linux_binprm *bprm)
{
	struct sk_inode_key key = {};
	struct dentry *d;

	if (!bprm)
		return false;
	d = BPF_CORE_READ(bprm, file, f_path.dentry);
	key.dev = BPF_CORE_READ(d, d_sb, s_dev);
	key.ino = BPF_CORE_READ(d, d_inode, i_ino);
	return bpf_map_lookup_elem(&service_executors, &key) != 0;
}

/*
 * A container runtime re-executes itself before it execs the container's program: runc 1.1 from
 * a read-only bind mount of its own file (the same inode: a service executor, filled by the
 * daemon) or else from a sealed memfd ("runc_cloned"), runc 1.2 through an unlinked "runc-dmz".
 * That exec can land after the runtime moved its init into the container's cgroup, so it is seen
 * in a cgroup still unarmed. A container's or a unit's program is a file with a name (nlink > 0); an
 * unlinked image there can only come from the code that runs before it, the runtime's. Once the
 * cgroup is armed, an unlinked image is judged like any other (path "/" or its memfd name).
 */
static __always_inline bool sk_is_manager_exec(struct linux_binprm *bprm)
{
	if (!bprm)
		return false;
	if (sk_is_service_executor(bprm))
		return true;
	return BPF_CORE_READ(bprm, file, f_inode, i_nlink) == 0;
}

/*
 * The tracking decision: by tgid first (inherited through fork, survives a cgroup move, set by
 * the daemon for processes it adopts), then by cgroup (the agent's unit or launcher scope),
 * which pins the tgid for next time. A cgroup the mkdir hook tagged is "unarmed" until the first
 * exec in it (sk_tracked_at_exec): between systemd's move of a unit's process into the cgroup
 * and its exec, the code running is systemd's (attaching the child to its other hierarchies,
 * setting up the sandbox) and must not be judged by the agent's boundary.
 */
static __always_inline struct sk_track *sk_track_cgroup(__u32 tgid, struct task_struct *task, bool exec,
						       struct linux_binprm *bprm)
{
	struct sk_track *t = bpf_map_lookup_elem(&tracked, &tgid);
	struct sk_track nt = {};
	__u64 cg;
	__u32 *agent;

	if (t)
		return t;
	cg = bpf_get_current_cgroup_id();
	agent = bpf_map_lookup_elem(&agent_cgroups, &cg);
	if (!agent)
		return 0;
	if (*agent & SK_CG_UNARMED) {
		if (!exec || sk_is_manager_exec(bprm))
			return 0;
		*agent &= ~SK_CG_UNARMED; /* the unit's own program runs: its cgroup is the agent's now */
	}
	nt.agent_id = *agent;
	nt.start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	bpf_map_update_elem(&tracked, &tgid, &nt, BPF_NOEXIST);
	return bpf_map_lookup_elem(&tracked, &tgid);
}

static __always_inline struct sk_track *sk_tracked(__u32 tgid, struct task_struct *task)
{
	return sk_track_cgroup(tgid, task, false, 0);
}

static __always_inline struct sk_track *sk_tracked_at_exec(__u32 tgid, struct task_struct *task,
							   struct linux_binprm *bprm)
{
	return sk_track_cgroup(tgid, task, true, bprm);
}

#endif
