/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * HTTPS at the TLS library: uprobes on OpenSSL's SSL_write / SSL_write_ex (the plaintext before
 * it is encrypted) and SSL_read / SSL_read_ex (the plaintext after decryption, at return); Go's
 * crypto/tls in gotls.bpf.h. Every uprobe that fires in a tracked process notes its stack in
 * tls_seen: a ClientHello from a process with none is unseen TLS (tlsseen.bpf.h).
 * (BPF_KPROBE / BPF_KRETPROBE read the arguments from pt_regs, which is the same for uprobes.)
 * userspace attaches them to libssl.so.3 and to any binary configured to carry OpenSSL, only
 * while something is tracked. An untracked caller pays the uprobe trap and one map lookup.
 *
 * A request that an enforcing agent's boundary refuses (http.bpf.h) is killed here: the signal
 * is taken when the uprobe returns to user space, before SSL_write runs a single instruction,
 * so nothing of the request is encrypted or sent.
 */
#ifndef STOCKADE_TLS_BPF_H
#define STOCKADE_TLS_BPF_H

#include "http.bpf.h"
#include "track.bpf.h"

/* A uprobe of `stack` fired in a tracked process: its TLS is seen (tlsseen.bpf.h). */
static __always_inline void sk_tls_mark(__u32 tgid, __u64 stack)
{
	__u64 *seen = bpf_map_lookup_elem(&tls_seen, &tgid);

	if (!seen)
		bpf_map_update_elem(&tls_seen, &tgid, &stack, BPF_NOEXIST);
	else if (!(*seen & stack))
		__sync_fetch_and_or(seen, stack); /* 64-bit: the atomic BPF has without cpu=v3 */
	if (!seen && (seen = bpf_map_lookup_elem(&tls_seen, &tgid)) && !(*seen & stack))
		__sync_fetch_and_or(seen, stack); /* another thread made the entry first */
}

static __always_inline int sk_tls_write(void *ssl, const void *buf, __u64 num, __u32 stack)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task = bpf_get_current_task_btf();
	struct sk_track *t = sk_tracked(tgid, task);
	struct sk_agent_cfg *cfg;
	struct sk_event *e;
	__u32 rule;

	if (!t)
		return 0;
	sk_tls_mark(tgid, stack);
	if (!buf || !num)
		return 0;
	e = sk_event_init(SK_TLS, task, t->agent_id);
	if (!e)
		return 0;
	e->ret = num;
	e->arg0 = SK_TLS_WRITE;
	e->arg1 = (__u64)ssl;
	e->access = stack;
	sk_put_user_data(e, buf, num);
	cfg = sk_cfg(t->agent_id);
	rule = e->data_len ? sk_http_judge(t->agent_id, e->data_len) : 0;
	if (rule) {
		e->rule = rule;
		sk_kill(e, cfg);
	}
	sk_submit(e, sk_prompt(cfg));
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(sk_ssl_write, void *ssl, const void *buf, int num)
{
	return sk_tls_write(ssl, buf, num > 0 ? num : 0, SK_STACK_OPENSSL);
}

SEC("uprobe")
int BPF_KPROBE(sk_ssl_write_ex, void *ssl, const void *buf, __u64 num)
{
	return sk_tls_write(ssl, buf, num, SK_STACK_OPENSSL);
}

/* SSL_do_handshake (SSL_connect calls it): the ClientHello an OpenSSL client is about to write is
 * seen, though its requests come later through SSL_write. */
SEC("uprobe")
int BPF_KPROBE(sk_ssl_handshake)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (bpf_map_lookup_elem(&tracked, &tgid))
		sk_tls_mark(tgid, SK_STACK_OPENSSL);
	return 0;
}

static __always_inline int sk_tls_read_enter(void *ssl, void *buf, __u64 readbytes)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sk_tls_read r = {.ssl = (__u64)ssl, .buf = (__u64)buf, .readbytes = readbytes};

	if (!bpf_map_lookup_elem(&tracked, &(__u32){id >> 32}))
		return 0;
	sk_tls_mark(id >> 32, SK_STACK_OPENSSL); /* a first SSL_read may run the handshake */
	bpf_map_update_elem(&tls_reads, &id, &r, BPF_ANY);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(sk_ssl_read, void *ssl, void *buf, int num)
{
	return sk_tls_read_enter(ssl, buf, 0);
}

SEC("uprobe")
int BPF_KPROBE(sk_ssl_read_ex, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	return sk_tls_read_enter(ssl, buf, (__u64)readbytes);
}

/* At return: responses only (a read that starts with "HTTP/", and the few reads after it that
 * carry its body), the first SK_IO_MAX bytes of each. */
SEC("uretprobe")
int BPF_KRETPROBE(sk_ssl_read_ret, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sk_tls_read *r = bpf_map_lookup_elem(&tls_reads, &id);
	struct task_struct *task;
	struct sk_track *t;
	struct sk_event *e;
	char head[5] = {};
	__u64 n, buf;

	if (!r)
		return 0;
	buf = r->buf;
	n = ret > 0 ? ret : 0;
	if (r->readbytes) {
		n = 0;
		if (ret == 1)
			bpf_probe_read_user(&n, sizeof(n), (void *)r->readbytes);
	}
	e = 0;
	task = bpf_get_current_task_btf();
	t = bpf_map_lookup_elem(&tracked, &(__u32){id >> 32});
	if (t && n > 0) {
		bool is_head = n >= 5 && bpf_probe_read_user(head, 5, (void *)buf) == 0 && head[0] == 'H' &&
			       head[1] == 'T' && head[2] == 'T' && head[3] == 'P' && head[4] == '/';
		if (sk_follow_read(r->ssl, is_head))
			e = sk_event_init(SK_TLS, task, t->agent_id);
	}
	if (e) {
		e->ret = n;
		e->arg0 = SK_TLS_READ;
		e->arg1 = r->ssl;
		e->access = SK_STACK_OPENSSL;
		sk_put_user_data(e, (void *)buf, n);
		e->flags |= SK_F_NO_HOLD; /* a response: nothing waits for its verdict */
		sk_submit(e, false);
	}
	bpf_map_delete_elem(&tls_reads, &id);
	return 0;
}

#endif
