/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Agent cgroups made after start-up: a cgroup v2 directory named like an agent's unit or cgroup
 * path is tracked from its mkdir (unarmed until the first exec in it: sk_track_cgroup).
 */
#ifndef STOCKADE_CGROUP_BPF_H
#define STOCKADE_CGROUP_BPF_H

#include "helpers.bpf.h"

struct sk_cg_hash {
	__u32 len;
	__u32 pad0;
	__u64 path;
	__u64 leafh;
};

static long sk_cg_hash_step(__u32 i, void *arg)
{
	struct sk_cg_hash *h = arg;
	__u32 zero = 0;
	struct sk_event *e = bpf_map_lookup_elem(&scratch, &zero);
	__u64 at = i;
	__u8 ch;

	if (!e || at >= h->len)
		return 1;
	at &= SK_CGROUP_PATH_MAX - 1;
	ch = e->data[at];
	h->path = sk_fnv(h->path, ch);
	if (ch == '/')
		h->leafh = SK_FNV_OFFSET;
	else
		h->leafh = sk_fnv(h->leafh, ch);
	return 0;
}

/*
 * systemd (or anyone) makes a cgroup named like an agent's unit or cgroup path: track it now, in
 * the mkdir, so the first process that enters it is already tracked (the daemon's directory scan
 * runs once a second). The record goes first in the ring, before any event of its processes.
 * While a boundary selects containers (report_cgroup_mkdir), a cgroup named by no agent is
 * reported too, untagged (agent 0): only the daemon can tell from the runtime's files whose
 * container it is, and it tags it, unarmed, before the container's first exec.
 */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(sk_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	struct sk_cg_hash h = {.path = SK_FNV_OFFSET, .leafh = SK_FNV_OFFSET};
	struct sk_cgroup_name key = {};
	struct task_struct *task;
	struct sk_event *e;
	__u32 *agent;
	__u64 id;
	long n;

	if (BPF_CORE_READ(cgrp, root, hierarchy_id) != 0)
		return 0; /* a cgroup v1 hierarchy: agents are matched on v2 only */
	task = bpf_get_current_task_btf();
	e = sk_event_init(SK_CGROUP, task, 0);
	if (!e)
		return 0;
	n = bpf_probe_read_kernel_str(e->data, SK_CGROUP_PATH_MAX, path);
	if (n <= 1)
		return 0;
	h.len = n - 1;
	bpf_loop(SK_CGROUP_PATH_MAX, sk_cg_hash_step, &h, 0);
	key.kind = SK_CG_PATH;
	key.hash = h.path;
	agent = bpf_map_lookup_elem(&cgroup_names, &key);
	if (!agent) {
		key.kind = SK_CG_LEAF;
		key.hash = h.leafh;
		agent = bpf_map_lookup_elem(&cgroup_names, &key);
	}
	if (!agent && !report_cgroup_mkdir)
		return 0;
	id = BPF_CORE_READ(cgrp, kn, id);
	if (agent) {
		__u32 unarmed = *agent | SK_CG_UNARMED;
		bpf_map_update_elem(&agent_cgroups, &id, &unarmed, BPF_ANY);
	}
	e->agent_id = agent ? *agent : 0;
	e->arg0 = id;
	e->seg_len[2] = h.len;
	e->data_len = h.len;
	sk_submit(e, true);
	return 0;
}

#endif
