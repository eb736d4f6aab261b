// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * stockade's kernel side. Every program starts with a map lookup that answers "is this task
 * part of a tracked agent?" and returns at once if not, so untracked processes pay one lookup.
 *
 *   tp_btf/sched_process_exec   exec: resolved image, argv, cwd; exec allow-list (kill at exec)
 *   tp_btf/sched_process_fork   fork/clone: tracking inherited by the child
 *   tp_btf/sched_process_exit   exit: code and signal, once per process
 *   tp_btf/sys_exit             file and network syscalls, with their result; kills a denied open
 *                               before the process returns to user space
 *   cgroup/connect4|6, sendmsg4|6   network allow/deny from LPM tables: EPERM, no packet leaves
 *   uprobe SSL_write/_ex, SSL_read/_ex (+ uretprobe)   HTTPS plaintext; kills a denied request
 *                               before it is encrypted (tls.bpf.h, http.bpf.h)
 *
 * Records are batched: submitted without a wake-up unless they carry a kernel action, belong to
 * an agent in enforce mode (userspace may have to kill), or the ring passes a fill threshold.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "stockade/events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SIGKILL 9
#define EPERM 1
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_ACCMODE 3
#define AT_FDCWD -100
#define FMODE_CREATED 0x100000

/* Set by userspace before load. */
const volatile __u32 wake_threshold = 256 * 1024; /* bytes pending before a forced wake-up */
const volatile __u32 daemon_tgid = 0;

/* Cgroups in `doomed` (kill-agent): while non-zero, sys_exit checks every task against the map. */
__u64 doomed_active = 0;

/* Bytes waiting in the ring at the last submit: userspace reports the fill level from it. */
__u64 ring_pending = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* resized by userspace from the config */
} events SEC(".maps");

/* tgid -> tracking record; inherited on fork, removed on exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct sk_track);
} tracked SEC(".maps");

/* cgroup v2 id -> agent id: every task in these cgroups is tracked. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} agent_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct sk_agent_cfg);
} agent_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sk_inode_key);
	__type(value, struct sk_inode_rule);
} inode_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sk_net_key);
	__type(value, struct sk_net_rule);
} net_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sk_net_key);
	__type(value, struct sk_net_rule);
} net_deny SEC(".maps");

/* tgid -> sequence label set by a read (inherited on fork, removed on exit). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct sk_label);
} labels SEC(".maps");

/* (tgid << 32 | fd) of a write stream with a JSON-RPC message still open (its last write did
 * not end the message): later writes on it pass the first-byte prefilter. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} io_open SEC(".maps");

/* (agent, hash of a tool name) -> rule: an MCP tools/call of that tool is refused at the
 * server's read (the server is killed before it returns to user space). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sk_tool_key);
	__type(value, __u32);
} tool_deny SEC(".maps");

/* Names of the cgroups agents are matched by (unit names, cgroup paths) -> agent id: a cgroup
 * made with such a name is tracked from its creation, before any process enters it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sk_cgroup_name);
	__type(value, __u32);
} cgroup_names SEC(".maps");

/* cgroup id -> 1: an agent with on_violation: kill-agent whose process the kernel killed. Every
 * task of the cgroup is killed at its next syscall exit, before it returns to user space; the
 * daemon's cgroup.kill (milliseconds later) gets the ones that make no syscall, then clears it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} doomed SEC(".maps");

/* HTTP routes the kernel decides: see http.bpf.h. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sk_http_key);
	__type(value, struct sk_http_rule);
} http_rules SEC(".maps");

/* A response head was just read on this stream (SSL object, or SK_FOLLOW_PLAIN | tgid << 32 | fd):
 * its body may come in the next reads, which do not start like anything; capture up to this
 * many of them. */
#define SK_FOLLOW_READS 4
#define SK_FOLLOW_PLAIN (1ULL << 63)
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} resp_follow SEC(".maps");

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

/* pid_tgid -> the buffer of an SSL_read in progress (uprobe at entry, read at return). */
struct sk_tls_read {
	__u64 ssl;
	__u64 buf;
	__u64 readbytes; /* SSL_read_ex: where the count goes; 0 for SSL_read */
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct sk_tls_read);
} tls_reads SEC(".maps");

/* tid -> rule of a network operation the cgroup hook refused, for the sys_exit record. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} net_denied SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SK_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sk_event);
} scratch SEC(".maps");

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
 * With on_violation: kill-agent its cgroup is doomed too (see `doomed`).
 */
static __always_inline void sk_kill(struct sk_event *e, struct sk_agent_cfg *cfg)
{
	bpf_send_signal(SIGKILL);
	e->flags |= SK_F_KILLED;
	sk_count(SK_CNT_KILLS);
	if (cfg && (cfg->flags & SK_AG_KILL_AGENT)) {
		__u64 cg = bpf_get_current_cgroup_id();
		__u8 one = 1;

		if (!bpf_map_update_elem(&doomed, &cg, &one, BPF_NOEXIST))
			__sync_fetch_and_add(&doomed_active, 1);
	}
}

/*
 * systemd 255 and later exec their own "systemd-executor" in the unit's cgroup first, which then
 * execs the unit's program: that exec is still the service manager's, not the agent's.
 */
static __always_inline bool sk_is_service_executor(struct linux_binprm *bprm)
{
	static const char name[] = "systemd-executor";
	char got[sizeof(name)] = {};
	const unsigned char *dn;

	if (!bprm)
		return false;
	dn = BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel_str(got, sizeof(got), dn) != sizeof(name))
		return false;
	for (int i = 0; i < (int)sizeof(name); i++)
		if (got[i] != name[i])
			return false;
	return true;
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
		if (!exec || sk_is_service_executor(bprm))
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
	e->pad0 = 0;
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

static __always_inline void sk_submit(struct sk_event *e, bool prompt)
{
	__u64 size = (__u64)e->data_len + SK_EVENT_HDR_SIZE;
	__u64 flags = BPF_RB_NO_WAKEUP;

	/* Keep the bound visible to the verifier at the call. */
	barrier_var(size);
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (e->flags & (SK_F_TRUNC_PATH0 | SK_F_TRUNC_PATH1 | SK_F_TRUNC_ARGV))
		sk_count(SK_CNT_TRUNC);
	ring_pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	if (prompt || (e->flags & (SK_F_KILLED | SK_F_DENIED)) || ring_pending > wake_threshold)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, e, size, flags))
		sk_count(SK_CNT_LOST);
	else
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

/* ---- process lifecycle ---------------------------------------------------------------- */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sk_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct sk_track *t = sk_tracked_at_exec(tgid, p, bprm);
	struct sk_agent_cfg *cfg;
	struct sk_walk w = {};
	struct sk_event *e;
	struct path exe_path, cwd;
	unsigned long arg_start, arg_end;
	__u64 off, n;

	if (!t)
		return 0;
	cfg = sk_cfg(t->agent_id);
	e = sk_event_init(SK_EXEC, p, t->agent_id);
	if (!e)
		return 0;
	w.agent_id = t->agent_id;

	exe_path = BPF_CORE_READ(bprm, file, f_path);
	sk_put_path(e, 0, &exe_path, &w);

	/* argv: the new image's argument block, NUL separated, as the kernel laid it out. */
	arg_start = BPF_CORE_READ(p, mm, arg_start);
	arg_end = BPF_CORE_READ(p, mm, arg_end);
	off = e->data_len;
	n = arg_end > arg_start ? arg_end - arg_start : 0;
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

	cwd = BPF_CORE_READ(p, fs, pwd);
	{
		bool trunc = false;
		__u32 o = e->data_len;
		if (o <= SK_DATA_MAX - SK_NAME_MAX) {
			__u32 m = sk_path_write(e, o, &cwd, 0, &trunc);
			e->seg_len[3] = m;
			e->data_len = o + m;
		}
	}

	/* Deny beats allow; with a strict allow-list, anything not in it is denied. */
	if (w.exec_deny_rule)
		e->rule = w.exec_deny_rule;
	else if (w.exec_rule)
		e->rule = w.exec_rule;
	else if (cfg && (cfg->flags & SK_AG_EXEC_STRICT))
		e->rule = cfg->default_rule;
	if ((w.exec_deny_rule || (!w.exec_rule && cfg && (cfg->flags & SK_AG_EXEC_STRICT))) && cfg &&
	    (cfg->flags & SK_AG_ENFORCE)) {
		/* Killed here, the new image never runs one instruction. */
		sk_kill(e, cfg);
	}
	e->arg0 = old_pid;
	sk_submit(e, sk_prompt(cfg));
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

	if (!t)
		return 0;
	/* signal->live reaches 0 when the last thread of the process exits. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	e = sk_event_init(SK_EXIT, p, t->agent_id);
	bpf_map_delete_elem(&tracked, &tgid);
	bpf_map_delete_elem(&labels, &tgid);
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

#include "cgroup.bpf.h"
#include "sysnr.bpf.h"
#include "net.bpf.h"
#include "tls.bpf.h"
#include "syscalls.bpf.h"
