/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Network: records from sys_exit (with the result), decisions in the cgroup socket hooks
 * (before anything leaves: a refused connect or sendmsg fails with EPERM).
 */
#ifndef STOCKADE_NET_BPF_H
#define STOCKADE_NET_BPF_H

#include "helpers.bpf.h"
#include "sysnr.bpf.h"

struct sk_sockaddr {
	__u16 family;
	__u16 port; /* network order */
	union {
		__u32 v4;
		struct {
			__u32 flowinfo;
			__u8 v6[16];
		};
		char sun_path[SK_UNIX_MAX];
	};
};

static __always_inline struct socket *sk_fd_socket(struct task_struct *task, long fd)
{
	struct file *f = sk_fd_file(task, fd);
	return f ? (struct socket *)BPF_CORE_READ(f, private_data) : 0;
}

/* The address the caller passed (connect, bind, sendto, sendmsg). */
static __always_inline void sk_put_user_addr(struct sk_event *e, const void *uaddr, __u32 ulen)
{
	struct sk_sockaddr sa = {};

	if (!uaddr)
		return;
	if (ulen > sizeof(sa))
		ulen = sizeof(sa);
	if (bpf_probe_read_user(&sa, sizeof(__u16) * 2, uaddr))
		return;
	e->addr.family = sa.family;
	if (sa.family == AF_INET) {
		bpf_probe_read_user(&sa, 8, uaddr);
		e->addr.port = bpf_ntohs(sa.port);
		__builtin_memcpy(e->addr.addr, &sa.v4, 4);
	} else if (sa.family == AF_INET6) {
		bpf_probe_read_user(&sa, 24, uaddr);
		e->addr.port = bpf_ntohs(sa.port);
		__builtin_memcpy(e->addr.addr, sa.v6, 16);
	} else if (sa.family == AF_UNIX && ulen > 2) {
		__u64 off = e->data_len;
		__u64 n = ulen - 2;
		if (n > SK_UNIX_MAX)
			n = SK_UNIX_MAX;
		barrier_var(n);
		if (off <= SK_DATA_MAX - SK_UNIX_MAX && n > 0 && n <= SK_UNIX_MAX &&
		    bpf_probe_read_user(&e->data[off], n, uaddr + 2) == 0) {
			e->seg_len[2] = n;
			e->data_len = off + n;
		}
	}
}

/* The peer (accept) or the local end (listen) of a socket, from the kernel's struct sock. */
static __always_inline void sk_put_sock_addr(struct sk_event *e, struct socket *sock, bool peer)
{
	struct sock *sk = BPF_CORE_READ(sock, sk);
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);

	e->addr.family = fam;
	if (fam == AF_INET) {
		__u32 a = peer ? BPF_CORE_READ(sk, __sk_common.skc_daddr) : BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__builtin_memcpy(e->addr.addr, &a, 4);
	} else if (fam == AF_INET6) {
		if (peer)
			BPF_CORE_READ_INTO(&e->addr.addr, sk, __sk_common.skc_v6_daddr);
		else
			BPF_CORE_READ_INTO(&e->addr.addr, sk, __sk_common.skc_v6_rcv_saddr);
	}
	e->addr.port = peer ? bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)) : BPF_CORE_READ(sk, __sk_common.skc_num);
}

static __always_inline int sk_net_event(struct task_struct *task, struct sk_track *t, __u64 nr, struct sk_args *a,
					long ret)
{
	struct sk_agent_cfg *cfg;
	struct sk_event *e;
	struct socket *sock;
	__u32 tid, *denied;
	__u16 kind;

	switch (nr) {
	case NR_connect: kind = SK_CONNECT; break;
	case NR_bind: kind = SK_BIND; break;
	case NR_listen: kind = SK_LISTEN; break;
	case NR_accept: case NR_accept4: kind = SK_ACCEPT; break;
	case NR_sendto:
		if (!a->a[4])
			return 0; /* data on a connected socket: the connect was the decision */
		kind = SK_SEND;
		break;
	default: /* sendmsg */
		kind = SK_SEND;
		break;
	}
	if (nr == NR_sendmsg) {
		void *name = 0;
		bpf_probe_read_user(&name, sizeof(name), (void *)a->a[1]);
		if (!name)
			return 0;
	}
	if (kind == SK_ACCEPT && ret < 0)
		return 0; /* EAGAIN on a non-blocking listener says nothing */
	cfg = sk_cfg(t->agent_id);
	e = sk_event_init(kind, task, t->agent_id);
	if (!e)
		return 0;
	e->ret = ret;
	e->arg1 = kind == SK_ACCEPT ? ret : a->a[0]; /* the socket's fd */
	sock = sk_fd_socket(task, kind == SK_ACCEPT ? ret : (long)a->a[0]);
	if (sock)
		e->addr.sotype = BPF_CORE_READ(sock, type);

	switch (nr) {
	case NR_connect: case NR_bind: sk_put_user_addr(e, (void *)a->a[1], a->a[2]); break;
	case NR_sendto: sk_put_user_addr(e, (void *)a->a[4], a->a[5]); break;
	case NR_sendmsg: {
		struct {
			void *name;
			int namelen;
		} mh = {};
		bpf_probe_read_user(&mh, sizeof(mh), (void *)a->a[1]);
		sk_put_user_addr(e, mh.name, mh.namelen);
		break;
	}
	case NR_accept: case NR_accept4:
		if (sock)
			sk_put_sock_addr(e, sock, true);
		break;
	case NR_listen:
		if (sock)
			sk_put_sock_addr(e, sock, false);
		break;
	}

	tid = (__u32)bpf_get_current_pid_tgid();
	denied = bpf_map_lookup_elem(&net_denied, &tid);
	if (denied) {
		if (kind == SK_CONNECT && (*denied & SK_NET_ASKED)) {
			e->rule = *denied & ~SK_NET_ASKED;
			e->flags |= SK_F_ASK;
		} else if (kind == SK_CONNECT || kind == SK_SEND) {
			e->rule = *denied;
			e->flags |= SK_F_DENIED;
		}
		bpf_map_delete_elem(&net_denied, &tid);
	}
	sk_submit(e, sk_prompt(cfg));
	return 0;
}

/* ---- cgroup socket hooks: the synchronous network decision ---------------------------- */

static __always_inline __u32 sk_current_agent(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct sk_track *t = bpf_map_lookup_elem(&tracked, &tgid);
	__u64 cg;
	__u32 *agent;

	if (t)
		return t->agent_id;
	cg = bpf_get_current_cgroup_id();
	agent = bpf_map_lookup_elem(&agent_cgroups, &cg);
	return agent && !(*agent & SK_CG_UNARMED) ? *agent : 0;
}

/* The first span of an LPM entry covering (port, sotype): true, and its rule in *rule. */
static __always_inline bool sk_rule_covers(struct sk_net_rule *r, __u16 port, __u32 sotype, __u32 *rule)
{
	if (!r)
		return false;
	for (__u32 i = 0; i < SK_NET_SPANS_MAX; i++) {
		struct sk_port_span *s;

		if (i >= r->count)
			break;
		s = &r->spans[i];
		if (port >= s->port_lo && port <= s->port_hi && (!s->sotype || s->sotype == sotype)) {
			*rule = s->rule;
			return true;
		}
	}
	return false;
}

/* Returns 1 to let the operation through, 0 to refuse it with EPERM. A connect (not a send: its
 * bytes would leave) of an on_violation: ask agent that only the default deny refuses is let
 * through and marked, to be held at the call's exit until a person decides. */
static __always_inline int sk_net_decide(struct bpf_sock_addr *ctx, __u32 family, const void *addr, __u32 alen,
					 bool connect)
{
	__u32 agent = sk_current_agent();
	struct sk_agent_cfg *cfg;
	struct sk_net_key key = {};
	struct sk_net_rule *r;
	__u16 port;
	__u32 rule, tid;

	if (!agent)
		return 1;
	cfg = sk_cfg(agent);
	if (!cfg || !(cfg->flags & SK_AG_ENFORCE))
		return 1;
	port = bpf_ntohs((__u16)ctx->user_port);
	key.prefixlen = 64 + alen * 8;
	key.agent_id = agent;
	key.family = family;
	__builtin_memcpy(key.addr, addr, alen == 4 ? 4 : 16);

	r = bpf_map_lookup_elem(&net_deny, &key);
	if (sk_rule_covers(r, port, ctx->type, &rule))
		goto deny;
	{
		/* A labelled process (it read what a sequence names) may reach only the sequence's
		 * exceptions, whatever its boundary allows. */
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		struct sk_label *lb = bpf_map_lookup_elem(&labels, &tgid);

		if (lb) {
			key.agent_id = SK_NET_LOCK_ID(lb->rule);
			r = bpf_map_lookup_elem(&net_allow, &key);
			key.agent_id = agent;
			if (!sk_rule_covers(r, port, ctx->type, &rule)) {
				rule = lb->rule;
				goto deny;
			}
		}
	}
	if (!(cfg->flags & SK_AG_NET_STRICT)) {
		if (!sk_daemon_gone())
			return 1;
		rule = SK_RULE_NO_DAEMON; /* the daemon would judge it; none is there: fail closed */
		goto deny;
	}
	r = bpf_map_lookup_elem(&net_allow, &key);
	if (sk_rule_covers(r, port, ctx->type, &rule) && (!(cfg->flags & SK_AG_USER_RULES) || !sk_daemon_gone()))
		return 1;
	rule = sk_daemon_gone() ? SK_RULE_NO_DAEMON : cfg->default_rule;
	if (connect && (cfg->flags & SK_AG_ASK) && rule == cfg->default_rule) {
		tid = (__u32)bpf_get_current_pid_tgid();
		rule |= SK_NET_ASKED;
		bpf_map_update_elem(&net_denied, &tid, &rule, BPF_ANY);
		return 1;
	}
deny:
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&net_denied, &tid, &rule, BPF_ANY);
	sk_count(SK_CNT_DENIES);
	return 0;
}

SEC("cgroup/connect4")
int sk_connect4(struct bpf_sock_addr *ctx)
{
	__u32 ip = ctx->user_ip4;
	return sk_net_decide(ctx, AF_INET, &ip, 4, true);
}

SEC("cgroup/sendmsg4")
int sk_sendmsg4(struct bpf_sock_addr *ctx)
{
	__u32 ip = ctx->user_ip4;
	return sk_net_decide(ctx, AF_INET, &ip, 4, false);
}

/* An IPv4-mapped address (::ffff:a.b.c.d) is IPv4 traffic: judged by the IPv4 entries, as the
 * daemon judges it. */
static __always_inline int sk_decide6(struct bpf_sock_addr *ctx, bool connect)
{
	__u32 ip[4];
	ip[0] = ctx->user_ip6[0];
	ip[1] = ctx->user_ip6[1];
	ip[2] = ctx->user_ip6[2];
	ip[3] = ctx->user_ip6[3];
	if (ip[0] == 0 && ip[1] == 0 && ip[2] == bpf_htonl(0xffff)) {
		__u32 v4 = ip[3];
		return sk_net_decide(ctx, AF_INET, &v4, 4, connect);
	}
	return sk_net_decide(ctx, AF_INET6, ip, 16, connect);
}

SEC("cgroup/connect6")
int sk_connect6(struct bpf_sock_addr *ctx)
{
	return sk_decide6(ctx, true);
}

SEC("cgroup/sendmsg6")
int sk_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sk_decide6(ctx, false);
}

#endif
