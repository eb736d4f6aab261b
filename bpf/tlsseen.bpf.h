/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Blind spots: TLS that no uprobe sees. A TLS client's first write on a TCP socket is its
 * ClientHello (a handshake record, 0x16 0x03 0x00..0x04, two length bytes, then handshake type
 * 0x01). When a tracked process of an agent with tools.http_unseen_tls (flag or deny) writes one
 * and no uprobe of a TLS stack stockade probes has fired in that process since its exec
 * (tls_seen), its requests will not be seen: the record says so (rule SK_RULE_UNSEEN_TLS), and
 * with deny in enforce mode the writer dies at the exit of that write, before it can complete the
 * handshake and send a request over it (the hello itself has left: it carries no request, only
 * the server's name; TLS 1.3 early data in the same write would have left with it).
 */
#ifndef STOCKADE_TLSSEEN_BPF_H
#define STOCKADE_TLSSEEN_BPF_H

#include "net.bpf.h"
#include "tls.bpf.h"

static __always_inline bool sk_is_client_hello(const __u8 *h)
{
	return h[0] == 0x16 && h[1] == 0x03 && h[2] <= 0x04 && h[5] == 0x01;
}

/* A global function (verified on its own): called by sk_io_event for a socket write whose first
 * byte is 0x16. Returns 1 when the write was a ClientHello of an unseen stack (recorded). */
__noinline int sk_tls_hello(__u64 fd, __u64 buf, __s64 len)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task = bpf_get_current_task_btf();
	struct sk_track *t = bpf_map_lookup_elem(&tracked, &tgid);
	struct sk_agent_cfg *cfg;
	struct sk_event *e;
	__u8 h[6] = {};
	__u64 *seen;

	if (!t || len < 6 || !buf)
		return 0;
	cfg = sk_cfg(t->agent_id);
	if (!cfg || !(cfg->flags & SK_AG_TLS_UNSEEN))
		return 0;
	if (bpf_probe_read_user(h, sizeof(h), (const void *)buf) || !sk_is_client_hello(h))
		return 0;
	seen = bpf_map_lookup_elem(&tls_seen, &tgid);
	if (seen && *seen)
		return 0;
	e = sk_event_init(SK_TLS, task, t->agent_id);
	if (!e)
		return 0;
	e->ret = len;
	e->arg0 = SK_TLS_HELLO;
	e->arg1 = fd;
	e->rule = SK_RULE_UNSEEN_TLS;
	sk_put_sock_addr(e, sk_fd_socket(task, fd), true);
	sk_put_user_data(e, (const void *)buf, len); /* the server name is in it */
	if ((cfg->flags & SK_AG_TLS_UNSEEN_DENY) && (cfg->flags & SK_AG_ENFORCE))
		sk_kill(e, cfg);
	sk_submit(e, sk_prompt(cfg));
	return 1;
}

#endif
