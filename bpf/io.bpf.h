/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Tool-call capture at the syscall hook: what a tracked process reads from or writes to a pipe
 * or socket (JSON-RPC for MCP, HTTP/1.x in plaintext), the kernel's MCP tool-name check at the
 * server's read, and the HTTP judgement at the client's write (http.bpf.h). sk_io_global() is
 * its one entry point from sk_sys_exit (syscalls.bpf.h).
 */
#ifndef STOCKADE_IO_BPF_H
#define STOCKADE_IO_BPF_H

#include "http.bpf.h"
#include "sysnr.bpf.h"
#include "tlsseen.bpf.h"

/*
 * The kernel's check of an MCP tools/call as the server reads it: find `"name"`, then the string
 * value after the colon, hash it (FNV-1a) and look it up. Two bpf_loop() passes over the copied
 * bytes: the verifier checks each step once.
 */
struct sk_tool_scan {
	__u32 len;   /* bytes in e->data */
	__u32 pos;   /* where `"name"` ends (0 = not found) */
	__u32 state; /* value scan: 0 before the opening quote, 1 inside, 2 done */
	__u32 nlen;
	__u64 hash;
};

static long sk_find_name(__u32 i, void *arg)
{
	struct sk_tool_scan *s = arg;
	__u32 zero = 0;
	struct sk_event *e = bpf_map_lookup_elem(&scratch, &zero);

	__u64 at = i;

	if (!e || at + 6 > s->len)
		return 1;
	at &= SK_IO_MAX - 1; /* a no-op (len <= SK_IO_MAX): the bound the verifier needs */
	if (e->data[at] == '"' && e->data[at + 1] == 'n' && e->data[at + 2] == 'a' && e->data[at + 3] == 'm' &&
	    e->data[at + 4] == 'e' && e->data[at + 5] == '"') {
		s->pos = at + 6;
		return 1;
	}
	return 0;
}

static long sk_hash_value(__u32 i, void *arg)
{
	struct sk_tool_scan *s = arg;
	__u32 zero = 0;
	__u64 at = (__u64)s->pos + i;
	struct sk_event *e = bpf_map_lookup_elem(&scratch, &zero);
	__u8 ch;

	if (!e || at >= s->len)
		return 1;
	at &= SK_IO_MAX - 1; /* a no-op (at < len <= SK_IO_MAX): the bound the verifier needs */
	ch = e->data[at];
	if (s->state == 0) {
		if (ch == '"')
			s->state = 1;
		else if (ch != ':' && ch != ' ' && ch != '\t')
			return 1; /* not a string value */
		return 0;
	}
	if (ch == '"' || ch == '\\') {
		s->state = ch == '"' ? 2 : 3; /* 3: an escape, give up (userspace still judges) */
		return 1;
	}
	s->hash = sk_fnv(s->hash, ch);
	if (++s->nlen > SK_TOOL_NAME_MAX)
		return 1;
	return 0;
}

/* Returns the rule of a denied tool named in the scratch record's data[0..len), 0 if none.
 * A global function, verified on its own. */
__noinline __u32 sk_denied_tool(__u32 agent, __u32 len)
{
	struct sk_tool_scan s = {.len = len, .hash = SK_FNV_OFFSET};
	struct sk_tool_key key = {};
	__u32 *rule;

	bpf_loop(SK_IO_MAX, sk_find_name, &s, 0);
	if (!s.pos)
		return 0;
	bpf_loop(SK_TOOL_NAME_MAX + 8, sk_hash_value, &s, 0);
	if (s.state != 2 || !s.nlen)
		return 0;
	key.agent_id = agent;
	key.name_hash = s.hash;
	rule = bpf_map_lookup_elem(&tool_deny, &key);
	return rule ? *rule : 0;
}

/* The first four bytes of a socket write or read that starts an HTTP/1.x message (little endian). */
#define SK_W4(a, b, c, d) ((__u32)(a) | (__u32)(b) << 8 | (__u32)(c) << 16 | (__u32)(d) << 24)
static __always_inline int sk_http_start(__u32 head)
{
	switch (head) {
	case SK_W4('P', 'O', 'S', 'T'): case SK_W4('P', 'U', 'T', ' '): case SK_W4('P', 'A', 'T', 'C'):
		return 2; /* a request with a body: the writes after it are captured too */
	case SK_W4('G', 'E', 'T', ' '): case SK_W4('H', 'E', 'A', 'D'): case SK_W4('D', 'E', 'L', 'E'):
	case SK_W4('O', 'P', 'T', 'I'): case SK_W4('H', 'T', 'T', 'P'):
		return 1;
	}
	return 0;
}

/* io_open values: why a stream's next writes (or reads) pass the prefilter. */
#define SK_IO_READ_STREAM (1ULL << 31) /* in an io_open key: the read side of (tgid, fd) */
#define SK_IO_OPEN_JSON 1 /* a JSON-RPC message not ended yet */
#define SK_IO_OPEN_BODY 2 /* the body of an HTTP request */

/*
 * Copying a readv/writev/sendmsg/recvmsg buffer list into e->data: one bpf_loop step copies up
 * to SK_IOV_CHUNK bytes of the current iovec, so the verifier can bound every destination
 * (offset < SK_IO_MAX, size <= SK_IOV_CHUNK, and SK_IO_MAX + SK_IOV_CHUNK <= SK_DATA_MAX).
 */
#define SK_IOV_CHUNK 768
#define SK_IOV_MAX 16 /* iovecs looked at; bytes in later ones are counted as cut */
/* The copy's progress: struct sk_iov_copy in the per-CPU map iov_copy (maps.bpf.h). */

static long sk_iov_step(__u32 i, void *arg)
{
	__u32 zero = 0;
	struct sk_iov_copy *c = bpf_map_lookup_elem(&iov_copy, &zero);
	struct sk_event *e = bpf_map_lookup_elem(&scratch, &zero);
	struct iovec v = {};
	__u64 n, off;

	if (!c || !e || !c->left || c->idx >= c->cnt || c->idx >= SK_IOV_MAX || c->off >= SK_IO_MAX)
		return 1;
	if (bpf_probe_read_user(&v, sizeof(v), &((const struct iovec *)c->iov)[c->idx]))
		return 1;
	if (c->pos >= v.iov_len) {
		c->idx++;
		c->pos = 0;
		return 0;
	}
	n = v.iov_len - c->pos;
	if (n > c->left)
		n = c->left;
	if (n > SK_IOV_CHUNK)
		n = SK_IOV_CHUNK;
	off = c->off & (SK_IO_MAX - 1);
	barrier_var(n);
	if (n > SK_IOV_CHUNK)
		return 1;
	if (bpf_probe_read_user(&e->data[off], n, (const char *)v.iov_base + c->pos))
		return 1;
	c->off += n;
	c->pos += n;
	c->left -= n;
	return 0;
}

/* The first buffer of an iovec list (for the prefilter), or null. */
static __always_inline const char *sk_iov_first(const struct iovec *iov, __u64 cnt, __u64 *len)
{
	struct iovec v = {};

	if (!iov || !cnt || bpf_probe_read_user(&v, sizeof(v), iov))
		return 0;
	*len = v.iov_len;
	return v.iov_base;
}

/*
 * A write on one end of a unix socket pair is read from the other end, which has its own inode
 * (Node gives a child its stdio as socket pairs): the peer's inode names the reader. 0 when the
 * socket is not AF_UNIX or has no connected peer.
 */
static __always_inline __u64 sk_unix_peer_ino(struct file *f)
{
	struct socket *sock = (struct socket *)BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	struct sock *peer;

	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_UNIX)
		return 0;
	peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
	return peer ? BPF_CORE_READ(peer, sk_socket, file, f_inode, i_ino) : 0;
}

/*
 * A write longer than SK_IO_MAX (an MCP tools/list answer is often 10+ KiB) is captured in up to
 * SK_IO_CHUNKS records: the first as usual, the rest SK_F_IO_MORE records carrying the next
 * bytes, which userspace appends to the same stream. One bpf_loop step builds and submits one.
 */
struct sk_io_more {
	__u64 buf;   /* the user buffer of the write */
	__u64 total; /* bytes written */
	__u64 off;   /* bytes captured so far */
	bool prompt;
};

static long sk_io_more_step(__u32 i, void *arg)
{
	struct sk_io_more *m = arg;
	struct sk_event *e = sk_scratch();
	__u64 n;

	if (!e || m->off >= m->total)
		return 1;
	n = m->total - m->off;
	/* Only the write's last record holds: the daemon judges the message once it is whole. */
	e->flags = SK_F_IO_MORE | (n > SK_IO_MAX ? SK_F_NO_HOLD : 0);
	e->rule = 0;
	e->access = m->off;
	e->seg_len[2] = 0;
	e->data_len = 0;
	sk_put_user_data(e, (const void *)(m->buf + m->off), n);
	if (!e->data_len)
		return 1;
	m->off += e->data_len;
	e->flags &= ~SK_F_TRUNC_ARGV; /* only a write that fits in SK_IO_CHUNKS records gets here */
	sk_submit(e, m->prompt && m->off >= m->total);
	return 0;
}

/* The file mode of descriptor fd when it is a pipe or socket, else 0. */
static __always_inline __u16 sk_io_pipe_or_socket(struct task_struct *task, __u64 fd, struct file **f)
{
	__u16 mode;

	*f = sk_fd_file(task, fd);
	if (!*f)
		return 0;
	mode = BPF_CORE_READ(*f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFIFO && (mode & S_IFMT) != S_IFSOCK)
		return 0;
	return mode;
}

/*
 * The prefilter: whether the first bytes (head; first is its first byte) make this I/O worth a
 * record. A write passes when its stream is open, or it starts JSON-RPC or an HTTP message.
 */
static __always_inline bool sk_io_wanted(bool write, __u16 mode, __u32 head, char first, int http, __u8 *open,
					 __u64 stream)
{
	if (write)
		return open || http || first == '{' || first == 'C';
	if (open || first == '{' || first == 'C')
		return true;
	/* A socket read that starts an HTTP response, or carries the body of one just read. */
	return (mode & S_IFMT) == S_IFSOCK &&
	       sk_follow_read(SK_FOLLOW_PLAIN | stream, head == SK_W4('H', 'T', 'T', 'P'));
}

/* Copies the ret bytes of a vectored call into e->data. Returns false when the record is dropped. */
static __always_inline bool sk_io_copy_iov(struct sk_event *e, const struct iovec *iov, __u64 iovcnt, long ret)
{
	__u32 zero = 0;
	struct sk_iov_copy *c = bpf_map_lookup_elem(&iov_copy, &zero);
	__u64 n;

	if (!c)
		return false;
	c->iov = (__u64)iov;
	c->cnt = iovcnt;
	c->idx = c->pos = c->off = 0;
	c->left = ret > SK_IO_MAX ? SK_IO_MAX : ret;
	if (ret > SK_IO_MAX)
		e->flags |= SK_F_TRUNC_ARGV;
	bpf_loop(SK_IO_MAX / SK_IOV_CHUNK + SK_IOV_MAX + 2, sk_iov_step, 0, 0);
	if (c->left)
		e->flags |= SK_F_TRUNC_ARGV; /* more iovecs than looked at, or unreadable */
	n = c->off;
	if (n > SK_IO_MAX)
		n = SK_IO_MAX;
	e->seg_len[2] = n;
	e->data_len = n;
	return true;
}

/* After a write: whether its stream's next writes pass the prefilter (io_open). */
static __always_inline void sk_io_track_stream(struct sk_event *e, __u64 stream, __u8 *open, int http, char first,
					       long ret)
{
	__u8 v = 0;

	if (http) {
		v = http == 2 ? SK_IO_OPEN_BODY : 0;
	} else if (!open || *open == SK_IO_OPEN_JSON) {
		/* A message split across writes: keep the stream open until a write ends a line. */
		__u64 at = e->data_len - 1;
		char last = 0;

		if (e->data_len == (__u64)ret && at < SK_IO_MAX)
			last = e->data[at];
		v = last == '\n' && first != 'C' ? 0 : SK_IO_OPEN_JSON;
	} else {
		v = SK_IO_OPEN_BODY;
	}
	if (v)
		bpf_map_update_elem(&io_open, &stream, &v, BPF_ANY);
	else if (open)
		bpf_map_delete_elem(&io_open, &stream);
}

/* The kernel's verdict on the captured bytes: an HTTP request written, or an MCP tool call read. */
static __always_inline void sk_io_judge(struct sk_event *e, struct sk_track *t, struct sk_agent_cfg *cfg, bool write,
					int http)
{
	__u32 rule = 0;

	if (e->data_len && write && http) {
		rule = sk_http_judge(t->agent_id, e->data_len);
	} else if (e->data_len && !write && !http) {
		/* The server dies in this read: it never runs the denied call. */
		rule = cfg && (cfg->flags & SK_AG_ENFORCE) ? sk_denied_tool(t->agent_id, e->data_len) : 0;
	}
	if (rule) {
		e->rule = rule;
		sk_kill(e, cfg);
	}
}

/* A write to a unix socket names the peer end's inode: the daemon finds the server behind a
 * socketpair (Node's child_process stdio) by either end. */
static __always_inline void sk_io_note_peer(struct sk_event *e, struct file *f)
{
	__u64 peer = sk_unix_peer_ino(f);

	if (peer) {
		e->addr.family = AF_UNIX;
		__builtin_memcpy(e->addr.addr, &peer, sizeof(peer));
	}
}

/*
 * Tool calls: what a tracked process reads from or writes to a pipe or socket (read/write,
 * send/recv on a connected socket, readv/writev, sendmsg/recvmsg without an address), when the
 * first bytes say JSON-RPC ('{', or Content-Length framing 'C') or, on a socket, HTTP/1.x (a
 * method or "HTTP/"). Other I/O costs one descriptor lookup and one 4-byte read, and only for
 * tracked processes. A plaintext request an enforcing boundary refuses is killed at the exit of
 * its write: the bytes have left, but the process never reads the reply (docs/architecture.md).
 * `iov`: the buffer list of the vectored calls (then a->a[1] is not the buffer).
 */
static __always_inline int sk_io_event(struct task_struct *task, struct sk_track *t, bool write, struct sk_args *a,
				       long ret, const struct iovec *iov, __u64 iovcnt)
{
	struct file *f;
	struct sk_event *e;
	const char *buf = (const char *)a->a[1];
	__u64 first_len = ret;
	__u32 head = 0;
	__u8 *open = 0;
	__u16 mode;
	int http = 0;
	char first;

	if (ret <= 0)
		return 0;
	mode = sk_io_pipe_or_socket(task, a->a[0], &f);
	if (!mode)
		return 0;
	if (iov) {
		buf = sk_iov_first(iov, iovcnt, &first_len);
		if (!buf || !first_len)
			return 0;
		if (first_len > (__u64)ret)
			first_len = ret;
	}
	if (bpf_probe_read_user(&head, first_len < 4 ? 1 : 4, buf))
		return 0;
	first = head & 0xff;
	if (write && first == 0x16 && (mode & S_IFMT) == S_IFSOCK)
		return sk_tls_hello(a->a[0], (__u64)buf, first_len);
	if ((mode & S_IFMT) == S_IFSOCK && first_len >= 4)
		http = sk_http_start(head);
	__u64 stream = ((__u64)(bpf_get_current_pid_tgid() >> 32) << 32) | (__u32)a->a[0];
	/* A read stream has its own io_open entry: the rest of a JSON-RPC message a server reads in
	 * parts is captured (and held) too, whatever its first byte. */
	__u64 open_key = write ? stream : stream | SK_IO_READ_STREAM;
	open = bpf_map_lookup_elem(&io_open, &open_key);
	if (!sk_io_wanted(write, mode, head, first, http, open, stream))
		return 0;
	bool json_read = !write && (open || first == '{' || first == 'C');
	e = sk_event_init(SK_IO, task, t->agent_id);
	if (!e)
		return 0;
	e->ret = ret;
	e->arg0 = write;
	e->arg1 = a->a[0];
	e->arg2 = BPF_CORE_READ(f, f_inode, i_ino);
	if (write && (mode & S_IFMT) == S_IFSOCK)
		sk_io_note_peer(e, f);
	/* A longer write stays one cut record (SK_F_TRUNC_ARGV): the stream is given up. */
	bool more = write && !iov && ret > SK_IO_MAX && ret <= (long)SK_IO_MAX * SK_IO_CHUNKS;

	if (iov) {
		if (!sk_io_copy_iov(e, iov, iovcnt, ret))
			return 0;
	} else {
		sk_put_user_data(e, buf, ret);
		if (more)
			e->flags &= ~SK_F_TRUNC_ARGV; /* the rest follows in SK_F_IO_MORE records */
	}
	if (write || json_read)
		sk_io_track_stream(e, open_key, open, write ? http : 0, first, ret);
	/* Held at the last record of a longer write; an HTTP response read needs no verdict. */
	if (more || (!write && !json_read))
		e->flags |= SK_F_NO_HOLD;
	struct sk_agent_cfg *cfg = sk_cfg(t->agent_id);

	sk_io_judge(e, t, cfg, write, http);
	/* A request written by an enforcing agent may have to be stopped: wake the daemon now. */
	sk_submit(e, write && sk_prompt(cfg));
	if (more && !(e->flags & SK_F_KILLED)) {
		struct sk_io_more m = {.buf = (__u64)buf, .total = ret, .off = e->data_len, .prompt = sk_prompt(cfg)};

		bpf_loop(SK_IO_CHUNKS - 1, sk_io_more_step, &m, 0);
	}
	return 0;
}

/*
 * sk_io_event as a global (separately verified) function: inlined into sk_sys_exit with all its
 * other paths, the combined state space passed the verifier's 1M-instruction budget. Scalars
 * only cross the call; the task and its tracking record are looked up again inside.
 */
__noinline int sk_io_global(__u64 fd_write, __u64 buf, __u64 iov, __u64 iovcnt, __s64 ret)
{
	bool write = fd_write >> 63; /* BPF calls take five arguments: the flag rides on the fd */
	__u64 fd = fd_write & 0xffffffffULL;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task = bpf_get_current_task_btf();
	struct sk_track *t = bpf_map_lookup_elem(&tracked, &tgid);
	struct sk_args a = {};

	if (!t)
		return 0;
	a.a[0] = fd;
	a.a[1] = buf;
	return sk_io_event(task, t, write, &a, ret, (const struct iovec *)iov, iovcnt);
}

#endif
