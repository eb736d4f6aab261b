/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Every map and every global variable of stockade's kernel side, in one place: userspace
 * (probe/loader, enforce/kernel_tables) reaches them by these names through the skeleton.
 */
#ifndef STOCKADE_MAPS_BPF_H
#define STOCKADE_MAPS_BPF_H

#include "defs.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by userspace before load. */
const volatile __u32 wake_threshold = 256 * 1024; /* bytes pending before a forced wake-up */

/* Writable, not rodata: a restarted daemon adopts the pinned .bss with the programs and links
 * that read it (probe/pins.hpp), and says here who it is now. */
__u32 daemon_tgid = 0;

/* The daemon's heartbeat (bpf_ktime_get_ns() clock), written by each turn of its main loop and
 * cleared by the exit hook when the daemon dies: see SK_DAEMON_STALE_NS and sk_daemon_gone(). */
__u64 daemon_beat_ns = 0;

/* Non-zero while a boundary selects containers: the mkdir hook reports every cgroup v2 it sees
 * made, so the daemon can name a new container's cgroup before its first exec (cgroup.bpf.h). */
__u32 report_cgroup_mkdir = 0;

/* Cgroups in `doomed` (kill-agent): while non-zero, sys_exit checks every task against the map. */
__u64 doomed_active = 0;

/* Stop signals that reached stockaded and were cancelled by a SIGCONT (self.bpf.h): the daemon
 * journals each one it sees the count grow by. */
__u64 self_stops_cancelled = 0;

/* Non-zero once the kernel has held a process (hold.bpf.h): until then no hook looks at `held`. */
__u64 holds_issued = 0;

/* daemon_beat_ns + 1 when the held processes were last killed for want of a daemon (once per
 * stale or dead beat, not at every syscall). */
__u64 holds_swept_beat = 0;

/* Set by userspace: 1 = an exec by an agent with tools.http of an image not in tls_images (or
 * marked SK_IMG_TLS) is held until the daemon has looked at it (tls_go: true). */
__u32 tls_hold_execs = 0;

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

/* Non-zero once a process carried a sequence label (set where a label is written, never
 * cleared): until then no hook spends a lookup on labels flowing through data (taint.bpf.h). */
__u64 labels_live = 0;
/* A TCP socket a labelled process sent on towards a destination its sequence forbids
 * (labelsend.bpf.h): SK_SOCK_DOOMED drops every packet it would send from then on (cgroup_skb
 * egress), SK_SOCK_REPORTED (monitor mode) keeps it from being journaled at every send. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sk_sock_mark);
} sock_marks SEC(".maps");

/* Non-zero once some socket was doomed: until then the egress hook looks nothing up. */
__u64 socks_doomed = 0;
/* Non-zero once a labelled process wrote a pipe, unix socket or file (map `taints`): until then
 * a tracked reader looks nothing up. */
__u64 taints_live = 0;

/* (agent, dev, ino) of a pipe, unix socket (the reading end) or regular file a labelled process
 * wrote -> its label (taint.bpf.h). LRU: under pressure the oldest entry goes, and with it the
 * taint (docs/boundary.md says so). An entry outlives the object (an inode number can be reused:
 * then a new object starts tainted, which errs on the strict side). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sk_inode_key);
	__type(value, struct sk_taint);
} taints SEC(".maps");

/* (tgid << 32 | fd) of a write stream with a JSON-RPC message still open (its last write did
 * not end the message): later writes on it pass the first-byte prefilter. The same for a read
 * stream, with SK_IO_READ_STREAM (bit 31) set in the key. */
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

/* (0, dev, ino) of the service manager's executors (systemd 255+ "systemd-executor"), filled by the
 * daemon from its real paths and the configured service_executors: in a cgroup the mkdir hook
 * tagged, an exec of one of these is still the service manager's, not the agent's. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct sk_inode_key);
	__type(value, __u8);
} service_executors SEC(".maps");

/* (0, dev, ino) of the system's dynamic loaders (the PT_INTERP of /usr/bin/env and the known
 * paths), filled by the daemon at start: an exec of one runs the program its argv names, which
 * the daemon judges (SK_F_LOADER). Known by inode, never by name. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct sk_inode_key);
	__type(value, __u8);
} elf_loaders SEC(".maps");

/* Interpreters by the name of their real file, version digits dropped (struct sk_interp_key):
 * filled once at start from probe/interpreters.cpp; what their first argument may be to mean
 * inline code (`sh -c`) rather than a script file (process.bpf.h, sk_interp_script). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct sk_interp_key);
	__type(value, struct sk_interp);
} interp_names SEC(".maps");

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
 * many of them. A model API streams its answer as server-sent events, often one read each, and
 * puts the token counts in the last ones: 128 reads hold a short answer's whole stream. */
#define SK_FOLLOW_READS 128
#define SK_FOLLOW_PLAIN (1ULL << 63)
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} resp_follow SEC(".maps");

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

/* tgid -> SK_STACK_* of the TLS stacks whose uprobes fired in this tracked process: a ClientHello
 * from a process with none is unseen TLS (tlsseen.bpf.h). Removed on exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} tls_seen SEC(".maps");

/* (0, dev, ino) of an executable the daemon has looked at -> SK_IMG_*. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sk_inode_key);
	__type(value, __u8);
} tls_images SEC(".maps");

/* tgid -> start time of a process stopped at exec until the daemon attached its TLS uprobes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} tls_held SEC(".maps");

/* tgid of an agent process that signalled stockaded -> its agent id. The kernel kills the sender
 * before the daemon reads the signal; the daemon finds the sender here (it is gone from
 * `tracked` by then), ignores the signal, and deletes the entry. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} agent_signals SEC(".maps");

/* tid -> rule of a network operation the cgroup hook refused, for the sys_exit record. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} net_denied SEC(".maps");

/* tgid -> its hold (struct sk_hold): a process stopped until the daemon's verdict. Removed at
 * exit, except a broken hold (the daemon journals it, then removes it). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct sk_hold);
} held SEC(".maps");

/* Records lost (ring buffer full), per kernel id (agent or task): who was not judged. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} agent_lost SEC(".maps");

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

/* The copy's progress lives in a per-CPU map, not on the stack: stack fields that start as
 * constants and change each step make the verifier walk every step of the loop apart. */
struct sk_iov_copy {
	__u64 iov;  /* const struct iovec * in user memory */
	__u64 cnt;
	__u64 idx;  /* current iovec */
	__u64 pos;  /* bytes of it copied */
	__u64 off;  /* bytes copied in all */
	__u64 left; /* bytes still to copy (the syscall's result, capped at SK_IO_MAX) */
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sk_iov_copy);
} iov_copy SEC(".maps");

#endif
