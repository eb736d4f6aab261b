/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one definition of every record and map key that crosses the kernel/user boundary.
 * Included by the BPF programs (after vmlinux.h) and by C++ (which static_asserts every size
 * and offset in userspace/probe/record.cpp). Fixed-width types and explicit padding only:
 * never `packed`, so both compilers lay the structs out identically.
 */
#ifndef STOCKADE_EVENTS_H
#define STOCKADE_EVENTS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Limits, documented in docs/architecture.md. */
#define SK_PATH_MAX 1024     /* bytes of resolved path kept (components, NUL separated) */
#define SK_NAME_MAX 256      /* one path component (NAME_MAX + NUL) */
#define SK_PATH_DEPTH 32     /* path components walked towards the root */
#define SK_ARGV_MAX 512      /* bytes of argv kept (NUL separated) */
#define SK_UNIX_MAX 108      /* sun_path */
#define SK_DATA_MAX (2 * SK_PATH_MAX + SK_NAME_MAX + SK_ARGV_MAX)
#define SK_COMM_LEN 16
#define SK_IO_MAX 2048       /* bytes of one read/write record kept for tool-call capture */
#define SK_IO_CHUNKS 32      /* records one write is captured in (SK_F_IO_MORE): 64 KiB */

enum sk_kind {
	SK_EXEC = 1,
	SK_FORK = 2,
	SK_EXIT = 3,
	SK_OPEN = 4,
	SK_UNLINK = 5,
	SK_RENAME = 6,
	SK_MKDIR = 7,
	SK_RMDIR = 8,
	SK_CHMOD = 9,
	SK_TRUNCATE = 10,
	SK_LINK = 11,
	SK_SYMLINK = 12,
	SK_CONNECT = 13,
	SK_BIND = 14,
	SK_LISTEN = 15,
	SK_ACCEPT = 16,
	SK_SEND = 17,
	SK_SIGNAL = 18, /* a signal aimed at any thread of stockaded, by any route (self-protection):
			 * arg0 = the target thread, arg1 = the signal */
	SK_PTRACE = 19, /* ptrace, process_vm_*, pidfd_open/getfd or /proc/PID/{mem,environ,...} aimed
			 * at stockaded: arg0 = the target, arg1 = the syscall number */
	SK_BPF = 20,    /* any bpf() call by an agent */
	SK_IO = 21,     /* a read/write on a pipe or socket whose first bytes look like JSON-RPC or HTTP */
	SK_TLS = 22,    /* plaintext of a TLS library's write / read (uprobes; arg0 SK_TLS_WRITE, arg1 = the
			 * connection object, access = SK_STACK_*), or a ClientHello written to a socket by a
			 * process whose TLS stack no uprobe saw (arg0 SK_TLS_HELLO, arg1 = the fd) */
	SK_CGROUP = 23, /* a cgroup v2 directory named like an agent's unit or cgroup was made: now
			 * tracked; arg0 = its id, seg 2 = its path (the record precedes its processes') */
	SK_SYSCALL = 24, /* a syscall that reaches files, processes or the network around the hooked
			  * ones: io_uring, a 32-bit syscall, open_by_handle_at, ptrace, process_vm_*
			  * or pidfd_getfd on a process outside the agent; a mount-family syscall (rule
			  * SK_RULE_SELF: self-protection). arg0 = its number (i386 for a 32-bit one),
			  * arg1 = SK_SC_*, arg2 = the target pid */
	SK_XATTR = 25,  /* setxattr/removexattr and their l-, f- and -at forms: a write of the file's
			 * metadata. arg0 = the syscall number, seg 3 = the attribute's name */
	SK_LABEL = 26,  /* a sequence's label passed to this process through data (bpf/taint.bpf.h): it read
			 * a pipe, unix socket or file a labelled process of its agent wrote. rule = the
			 * sequence, arg0 = SK_THROUGH_* of the object, arg1 = the writer's tgid, arg2 = the
			 * object's inode; seg 0 = a file's path */
	SK_KIND_MAX = 27,
};

/* sk_event.flags */
#define SK_F_TRUNC_PATH0 (1u << 0) /* path 0 hit SK_PATH_MAX or SK_PATH_DEPTH */
#define SK_F_TRUNC_PATH1 (1u << 1)
#define SK_F_TRUNC_ARGV (1u << 2)
#define SK_F_THREAD (1u << 3)      /* fork: a new thread, not a new process */
#define SK_F_REL_PATH0 (1u << 4)   /* path 0 = base dir (kernel) + user string, see seg_user */
#define SK_F_REL_PATH1 (1u << 5)
#define SK_F_KILLED (1u << 6)      /* the kernel sent SIGKILL for this event */
#define SK_F_DENIED (1u << 7)      /* the kernel refused the operation (EPERM) */
#define SK_F_WAKE (1u << 8)        /* producer asked for a prompt wake-up */
#define SK_F_KALLOW (1u << 9)      /* a kernel allow rule under a strict switch covered it */
#define SK_F_NO_DAEMON (1u << 10)  /* refused because no daemon was there to judge it (fail closed) */
#define SK_F_IO_MORE (1u << 11)    /* io: more bytes of the previous record's write (same pid, fd and
				    * inode): data[] holds them from byte offset `access` of the write */
#define SK_F_HELD (1u << 12)       /* the kernel stopped the process (SIGSTOP) until the daemon's verdict:
				    * sk_event.hold numbers the hold (map `held`) */
#define SK_F_NO_HOLD (1u << 13)    /* not held for itself: a response read (no verdict to wait for), or
				    * a write captured in several records but the last (which holds) */
#define SK_F_TLS_HELD (1u << 14)   /* exec: stopped (SIGSTOP) until the daemon has put its TLS uprobes on
				    * the new image for this process (tls_held) */
#define SK_F_ASK (1u << 15)        /* connect: outside the boundary of an on_violation: ask agent, let
				    * through by the cgroup hook to be held at the call's exit for a person */
#define SK_F_SCRIPT (1u << 16)     /* exec: the image is an interpreter (`#!`, binfmt_misc); segment 1
				    * holds the name the exec was given (bprm->filename), a C string */
#define SK_F_LOADER (1u << 17)     /* exec: the image is a dynamic loader (map elf_loaders) run as a
				    * program: argv names the program it runs */
#define SK_F_INTERP (1u << 18)     /* exec: the image is an interpreter known by name (map interp_names)
				    * whose argv may name a script, in an agent with exec.deny rules: the
				    * daemon judges that script while the exec is held */

/* sk_event.arg0 of an SK_TLS record */
#define SK_TLS_READ 0
#define SK_TLS_WRITE 1
#define SK_TLS_HELLO 2
/* TLS stacks stockade probes: sk_event.access of an SK_TLS record, bits of map tls_seen */
#define SK_STACK_OPENSSL (1u << 0)
#define SK_STACK_GO (1u << 1)
/* Values of map tls_images: what the daemon found in an executable */
#define SK_IMG_PLAIN 1 /* no TLS stack stockade attaches per process */
#define SK_IMG_TLS 2   /* Go crypto/tls: each exec by an agent with tools.http waits for its uprobes */

/* sk_event.access (open / truncate / chmod / xattr) */
#define SK_ACC_READ (1u << 0)
#define SK_ACC_WRITE (1u << 1)
#define SK_ACC_CREATE (1u << 2)
#define SK_ACC_TRUNC (1u << 3)
#define SK_ACC_APPEND (1u << 4)
#define SK_ACC_PATH (1u << 5) /* O_PATH: the open only locates the file; it reads and writes nothing */

/* Address of a network event, in network byte order as the kernel holds it. */
struct sk_addr {
	__u16 family; /* AF_INET, AF_INET6, AF_UNIX, 0 = none */
	__u16 port;   /* host byte order */
	__u16 sotype; /* SOCK_STREAM, SOCK_DGRAM ... 0 = unknown */
	__u16 pad0;
	__u8 addr[16]; /* v4 in the first 4 bytes */
};

/*
 * One record in the ring buffer: this fixed part, then `data_len` bytes of data[].
 * data[] holds up to four segments back to back; seg_len[i] gives each one's size:
 *   seg 0: path 0, components leaf first, each NUL terminated (userspace reverses them)
 *   seg 1: path 1 (rename/link target), same encoding; exec with SK_F_SCRIPT: the script's name
 *   seg 2: argv (exec, NUL separated) or a user-supplied name (relative path tail, unix path)
 *   seg 3: cwd (exec) or user-supplied name for path 1
 */
struct sk_event {
	__u16 kind;
	__u16 seg_len[4];
	__u16 hold;     /* with SK_F_HELD: the low 16 bits of the process's hold count (sk_hold.holds) */
	__u32 flags;
	__u32 data_len;
	__u32 pid;  /* tgid */
	__u32 tid;
	__u32 ppid; /* real parent's tgid */
	__u32 uid;
	__u32 gid;
	__u32 agent_id; /* kernel tracking tag, 0 = matched by cgroup only */
	__u64 ktime_ns; /* bpf_ktime_get_boot_ns() */
	__u64 start_ns; /* group leader start_boottime: (pid, start_ns) names a process */
	__u64 parent_start_ns;
	__u64 cgroup_id; /* cgroup v2 id */
	__s64 ret;       /* syscall result, exit code, or child pid */
	__u64 arg0;      /* kind specific: open flags, exec/child start, exit signal ... */
	__u64 arg1;      /* kind specific: mode, fd ... */
	__u64 arg2;      /* kind specific: io: the pipe's or socket's inode (a write on a unix socket:
			  * addr.family AF_UNIX and its peer's inode, what the reader reads, in addr.addr[0..8)) */
	__u32 access;    /* SK_ACC_* */
	__u32 rule;      /* kernel rule id that decided (0 = none) */
	struct sk_addr addr;
	char comm[SK_COMM_LEN];
	__u8 data[SK_DATA_MAX];
};

#define SK_EVENT_HDR_SIZE (sizeof(struct sk_event) - SK_DATA_MAX)

/* sk_event.arg1 of an SK_SYSCALL record */
#define SK_SC_COMPAT (1u << 0) /* made through the 32-bit entry (int 0x80, sysenter): i386 numbering */

/* Map values / keys shared with userspace. */
struct sk_track {
	__u32 agent_id;
	__u32 flags; /* SK_TR_* */
	__u64 start_ns;
};
#define SK_TR_COMPAT_SEEN (1u << 0) /* a monitored process's first 32-bit syscall was recorded */

/* Kernel counters, one per CPU, summed by userspace. */
enum sk_counter {
	SK_CNT_EVENTS = 0,  /* records submitted */
	SK_CNT_LOST = 1,    /* records the ring buffer had no room for */
	SK_CNT_TRUNC = 2,   /* records with a truncated field */
	SK_CNT_KILLS = 3,   /* SIGKILLs sent by BPF */
	SK_CNT_DENIES = 4,  /* operations refused by BPF */
	SK_CNT_LOSS_KILLS = 5, /* processes killed because their record was lost (on_loss: kill) */
	SK_CNT_HOLDS = 6,      /* processes stopped until the daemon's verdict */
	SK_CNT_HOLD_BREAKS = 7, /* held processes killed: released by another (SIGCONT, ptrace), or no daemon */
	SK_CNT_MAX = 8,
};

/*
 * A process held until the daemon's verdict (map `held`, by tgid): the kernel stopped it with
 * SIGSTOP at the exit of an action only the daemon can judge (bpf/hold.bpf.h). The daemon's
 * SIGCONT, carrying the hold number it judged as its sigqueue value, is the only release: any
 * other (a SIGCONT from anyone else, a ptrace of it) kills the held process.
 */
struct sk_hold {
	__u64 holds;    /* holds so far (the last one's number) */
	__u64 since_ns; /* bpf_ktime_get_boot_ns() of the last hold */
	__u32 state;    /* SK_HOLD_* */
	__u32 breaker;  /* SK_HOLD_BROKEN: the tgid that released it (0: the kernel, no daemon) */
};
#define SK_HOLD_HELD 1     /* stopped, waiting for the daemon */
#define SK_HOLD_RELEASED 2 /* the daemon released the last hold */
#define SK_HOLD_BROKEN 3   /* released by someone else, or its daemon died: killed by the kernel */

/* An MCP tool name the kernel refuses (map tool_deny): FNV-1a 64 of the name's bytes. */
struct sk_tool_key {
	__u32 agent_id;
	__u32 pad0;
	__u64 name_hash;
};
#define SK_TOOL_NAME_MAX 64
#define SK_FNV_OFFSET 0xcbf29ce484222325ULL
#define SK_FNV_PRIME 0x100000001b3ULL

/* Map cgroup_names: FNV-1a 64 of an agent's cgroup path ("/a/b") or unit name ("x.service"),
 * tagged so the two cannot collide -> the agent's kernel id. */
#define SK_CG_PATH 1
#define SK_CG_LEAF 2
struct sk_cgroup_name {
	__u32 kind; /* SK_CG_PATH or SK_CG_LEAF */
	__u32 pad0;
	__u64 hash;
};
#define SK_CGROUP_PATH_MAX 512
/* In agent_cgroups: a cgroup the mkdir hook tagged, whose processes become agents only from the
 * first exec in it (before that, the code running there is the service manager's). */
#define SK_CG_UNARMED 0x80000000u

/* Rule number the kernel reports for self-protection ("builtin:self-protection"). */
#define SK_RULE_SELF 1
/* ... and for an HTTP request whose path it cannot judge ("builtin:http-unclear-path"). */
#define SK_RULE_HTTP_UNCLEAR 2
/* ... and for an enforce agent's action refused while no daemon was there ("builtin:no-daemon"). */
#define SK_RULE_NO_DAEMON 3
/* ... and for a held process killed because another process released it ("builtin:hold-release"). */
#define SK_RULE_HOLD_RELEASE 4
/* ... and for a ClientHello from a TLS stack no uprobe saw ("builtin:unseen-tls"). */
#define SK_RULE_UNSEEN_TLS 5

/* The daemon is gone when its heartbeat (global daemon_beat_ns, CLOCK_MONOTONIC, written each
 * turn of its main loop) is older than this, or 0 (it exited: the exit hook clears it, so a dead
 * daemon is seen at once; stops are cancelled by self-protection). Staleness is left for a wedged
 * daemon. A turn lasts ~60 ms when the daemon has a CPU, but with every core busy its loop was
 * seen to miss 1 s (agents then killed under builtin:no-daemon while it ran): 5 s bounds how long
 * a wedged daemon leaves undecided actions unjudged without killing agents of a slow one. */
#define SK_DAEMON_STALE_NS 5000000000ULL

/* An HTTP route the kernel decides (map http_rules); see bpf/http.bpf.h for the hashes. */
#define SK_HTTP_EXACT 1  /* path_hash is the whole path */
#define SK_HTTP_PREFIX 2 /* path_hash is a prefix ending in '/' */
struct sk_http_key {
	__u32 agent_id;
	__u32 tag;          /* SK_HTTP_EXACT or SK_HTTP_PREFIX */
	__u64 route_hash;   /* FNV-1a 64 of "METHOD\nhost" ("*" for any method or host) */
	__u64 path_hash;    /* FNV-1a 64 of the decoded path (prefix) */
};
#define SK_HTTP_DENY (1u << 0)
#define SK_HTTP_ALLOW (1u << 1)
struct sk_http_rule {
	__u32 flags; /* SK_HTTP_DENY | SK_HTTP_ALLOW */
	__u32 rule;  /* the deny route's rule, else the allow route's */
};

/* Kernel-side rule tables, keyed by what the kernel can see cheaply. */

/* (agent, device, inode) of a file or directory named by a boundary. */
struct sk_inode_key {
	__u32 agent_id;
	__u32 pad0;
	__u64 dev;
	__u64 ino;
};

/* An interpreter known by the name of its real file, version digits and dots dropped from the end
 * (python3.12 -> python, perl5.36.0 -> perl): the key of map interp_names, NUL padded. Its value
 * says which first arguments mean inline code (`sh -c`, `bash -lc`, `python3 -c`, `perl -e`), so no
 * script file runs (probe/interpreters.hpp holds the table and reads argv the same way). */
#define SK_INTERP_NAME_MAX 16
struct sk_interp_key {
	char name[SK_INTERP_NAME_MAX];
};
struct sk_interp {
	__u64 flags;   /* bit of each option letter without a value: a-z 0-25, A-Z 26-51, 0-9 52-61 */
	char code[4];  /* option letters whose value is code (NUL padded) */
	__u32 pad0;
};

#define SK_IR_EXEC_ALLOW (1u << 0) /* exact executable or a directory of executables */
#define SK_IR_FILE_DENY (1u << 1)  /* never touch: this file, or anything below this directory */
#define SK_IR_SUBTREE (1u << 2)    /* the rule covers everything below a directory */
#define SK_IR_EXEC_DENY (1u << 3)  /* executable (or directory of them) that must not run */
#define SK_IR_PROTECT (1u << 4)    /* stockade's own state: no agent may write below it */
#define SK_IR_LABEL (1u << 5)      /* reading it attaches a sequence label (rule = the sequence) */
#define SK_IR_READ_ALLOW (1u << 6)  /* files.read (and builtin system reads): exact or subtree */
#define SK_IR_WRITE_ALLOW (1u << 7) /* files.write / files.create: exact or subtree */

/* What a sequence's label passes through besides fork (boundary `through:`): objects a labelled
 * process writes carry the label to the processes of its agent that read them (bpf/taint.bpf.h). */
#define SK_THROUGH_PIPE (1u << 0)   /* pipes and FIFOs */
#define SK_THROUGH_SOCKET (1u << 1) /* connected unix sockets (the peer's end) */
#define SK_THROUGH_FILE (1u << 2)   /* regular files */

/* A process's sequence label (map `labels`, by tgid): its connects are limited to the LPM
 * entries filed under SK_NET_LOCK_ID(rule) in net_allow. */
struct sk_label {
	__u32 rule;
	__u32 through; /* SK_THROUGH_* */
};

/* A pipe, unix socket or file a labelled process wrote (map `taints`, by (agent, dev, ino)). */
struct sk_taint {
	__u32 rule;    /* the sequence */
	__u32 through; /* SK_THROUGH_* of the writer's label */
	__u32 writer;  /* its tgid, for the journal */
	__u32 kind;    /* SK_THROUGH_* of the object */
};
/* A socket a labelled process sent on (map `sock_marks`, bpf_sk_storage): what the kernel did. */
#define SK_SOCK_DOOMED 1u   /* every packet it would send is dropped at egress; the sender was killed */
#define SK_SOCK_REPORTED 2u /* monitor mode: journaled once, nothing dropped */
struct sk_sock_mark {
	__u32 state;  /* SK_SOCK_* */
	__u32 rule;   /* the sequence's rule number */
	__u32 sender; /* the tgid last killed (or reported) for it: once per process, not per segment */
	__u32 pad;
};
#define SK_NET_LOCK_ID(rule) (0x40000000u | (rule))

struct sk_inode_rule {
	__u32 flags;
	__u32 rule;  /* rule id reported back in sk_event.rule */
	__u32 label; /* with SK_IR_LABEL: the sequence whose label a read attaches */
	__u32 label_through; /* with SK_IR_LABEL: SK_THROUGH_* of that sequence */
};

/* Per agent switches, indexed by agent id. */
#define SK_AG_ENFORCE (1u << 0)    /* act, not just report */
#define SK_AG_EXEC_STRICT (1u << 1) /* every allowed exec is in the inode table: deny the rest */
#define SK_AG_NET_STRICT (1u << 2)  /* every allowed destination is in the LPM table: deny the rest */
#define SK_AG_FILE_STRICT (1u << 3) /* every file allow rule is in the inode table: kill other opens */
#define SK_AG_HTTP (1u << 4)        /* the agent has HTTP routes in http_rules: judge its requests */
#define SK_AG_HTTP_STRICT (1u << 5) /* every HTTP allow route is in http_rules: kill other requests */
#define SK_AG_KILL_AGENT (1u << 6)  /* on_violation: kill-agent: a kernel kill dooms the whole cgroup */
#define SK_AG_IO_URING (1u << 7)    /* io_uring: true: the boundary allows io_uring */
#define SK_AG_MOUNT (1u << 8)       /* mount: true: the boundary allows the mount syscalls */
#define SK_AG_KILL_ON_LOSS (1u << 9) /* on_loss: kill: a record the ring had no room for kills its process */
#define SK_AG_USER_RULES (1u << 10) /* some rules are the daemon's alone: no kernel allow is final */
#define SK_AG_USER_FILE (1u << 11)  /* some file rules (or sequences) are the daemon's: an open the kernel
				     * allowed still waits for its verdict (held, in enforce mode) */
#define SK_AG_USER_EXEC (1u << 12)  /* the same for execs */
#define SK_AG_TLS_UNSEEN (1u << 13) /* tools.http_unseen_tls flag or deny: report a ClientHello no uprobe saw */
#define SK_AG_TLS_UNSEEN_DENY (1u << 14) /* ... deny: kill its writer (with SK_AG_ENFORCE) */
#define SK_AG_ASK (1u << 15)        /* on_violation: ask: what the default deny would kill or refuse (an
				     * open or exec outside the allow lists, a connect) is held instead */
#define SK_AG_EXEC_DENY (1u << 16)  /* the boundary has exec.deny rules: a `#!` script's exec, and an
				     * interpreter's whose argv may name a script, are the daemon's to
				     * judge (the script's name is a string to the kernel) */
#define SK_NET_ASKED (1u << 31)     /* net_denied value: the connect was let through to be held (SK_F_ASK) */

struct sk_agent_cfg {
	__u32 flags;
	__u32 default_rule; /* rule id reported for a default deny */
	__u32 http_rule;    /* rule id reported for a request no allow route matched */
	__u32 pad0;
};

/* LPM trie key: prefixlen counts agent_id (32 bits) + family (32) + address bits. */
struct sk_net_key {
	__u32 prefixlen;
	__u32 agent_id;
	__u32 family;
	__u8 addr[16];
};

/* One port range of an LPM entry, with the socket type it is for and the rule it comes from. */
struct sk_port_span {
	__u16 port_lo; /* host byte order, inclusive */
	__u16 port_hi;
	__u16 sotype; /* SOCK_STREAM, SOCK_DGRAM, 0 = any */
	__u16 pad0;
	__u32 rule;   /* rule number reported when this span decides */
};

/* The value of an LPM entry: the spans of its own block and of every shorter block of the same
 * table containing it (the lookup returns only the longest match), in rule order, so the first
 * span that covers a port is the rule userspace would name. IPv4 traffic, including IPv4-mapped
 * IPv6 addresses, is looked up as AF_INET. */
#define SK_NET_SPANS_MAX 32
struct sk_net_rule {
	__u32 count;
	__u32 pad0;
	struct sk_port_span spans[SK_NET_SPANS_MAX];
};

#endif
