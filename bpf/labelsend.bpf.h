/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A labelled process's sends on an inet socket connected before its label. The cgroup connect
 * hook limits what a labelled process connects to (net.bpf.h); a socket it connected, accepted
 * or was given before the label (python connects, then reads the secret from a pipe or a copy,
 * then sends) is judged here, at its first byte after the label:
 *
 *   tp_btf/tcp_sendmsg_locked   in the sender's own context, once per segment and before the
 *       segment's bytes are copied or pushed: a labelled sender whose peer its sequence's
 *       connect_except does not cover has the socket marked doomed (bpf_sk_storage) and is
 *       killed (SIGKILL, taken on its way out of the call);
 *   cgroup_skb/egress (cgroup v2 root)   drops every packet of a doomed socket, whoever sends
 *       it and from whatever context (the copy of that last send, a retransmit, the FIN after
 *       the kill): not one byte of it leaves.
 *
 * Connected UDP (its sends pass no sendmsg4 hook) and a TCP Fast Open SYN that carries the first
 * send's bytes (it passes no tracepoint) are judged in the egress hook, where such a packet is
 * still in its sender's context. Cost: an unlabelled process pays a global load per TCP
 * send call segment until some process is labelled, then one `labels` lookup; every packet of the
 * host pays the egress program's dispatch and a global load until some socket is doomed, then an
 * sk_storage lookup (no storage on a socket: a pointer check). A labelled sender pays an LPM
 * lookup per segment.
 */
#ifndef STOCKADE_LABELSEND_BPF_H
#define STOCKADE_LABELSEND_BPF_H

#include "helpers.bpf.h"
#include "net.bpf.h"

/* The LPM key of a socket's peer for the sequence's exceptions; an IPv4-mapped IPv6 peer is
 * IPv4 (as the connect hook judges it). False for a family the sequences do not limit. */
static __always_inline bool sk_peer_key(const struct sock *sk, __u32 rule, struct sk_net_key *key)
{
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u32 a6[4];

	key->agent_id = SK_NET_LOCK_ID(rule);
	if (fam == AF_INET) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		key->family = AF_INET;
		key->prefixlen = 64 + 32;
		__builtin_memcpy(key->addr, &a, 4);
		return true;
	}
	if (fam != AF_INET6)
		return false;
	BPF_CORE_READ_INTO(&a6, sk, __sk_common.skc_v6_daddr);
	if (a6[0] == 0 && a6[1] == 0 && a6[2] == bpf_htonl(0xffff)) {
		key->family = AF_INET;
		key->prefixlen = 64 + 32;
		__builtin_memcpy(key->addr, &a6[3], 4);
		return true;
	}
	key->family = AF_INET6;
	key->prefixlen = 64 + 128;
	__builtin_memcpy(key->addr, a6, 16);
	return true;
}

/* The record of a refused send: SK_SEND to the peer, the sequence's rule, killed or (monitor) only
 * marked; the daemon journals it with the chain of the label. */
static __always_inline void sk_labelled_send_record(struct sk_net_key *key, __u16 port, __u32 agent, __u32 rule,
						    __u32 sotype, struct sk_agent_cfg *cfg, bool enforce)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct sk_event *e = sk_event_init(SK_SEND, task, agent);

	if (enforce) {
		if (e)
			sk_kill(e, cfg);
		else
			bpf_send_signal(SIGKILL); /* no record, but no byte either */
	}
	if (!e)
		return;
	e->arg1 = -1; /* no descriptor: the call may be a sendfile, a splice, a write */
	e->rule = rule;
	e->addr.family = key->family;
	e->addr.sotype = sotype;
	e->addr.port = port;
	if (key->family == AF_INET)
		__builtin_memcpy(e->addr.addr, key->addr, 4);
	else
		__builtin_memcpy(e->addr.addr, key->addr, 16);
	sk_submit(e, true);
}

/*
 * A labelled process (label `lb`) is about to send on `sk`: doomed and killed (enforce) or
 * reported once (monitor) unless the sequence's connect_except covers the peer. `sk` is the
 * tracepoint's (trusted) argument, as bpf_sk_storage_get needs. Returns 1 when it is doomed.
 */
static __always_inline int sk_labelled_send(struct sock *sk, __u32 rule, __u32 sotype)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct sk_track *t = bpf_map_lookup_elem(&tracked, &tgid);
	struct sk_net_key key = {};
	struct sk_sock_mark *mark;
	struct sk_agent_cfg *cfg;
	__u16 port;
	__u32 covering;
	bool enforce;

	if (!t || !sk || !sk_peer_key(sk, rule, &key))
		return 0;
	port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	mark = bpf_sk_storage_get(&sock_marks, sk, 0, 0);
	if (mark && mark->sender == tgid)
		return mark->state == SK_SOCK_DOOMED; /* this process was judged at an earlier segment */
	if (sk_rule_covers(bpf_map_lookup_elem(&net_allow, &key), port, sotype, &covering))
		return 0;
	cfg = sk_cfg(t->agent_id);
	enforce = cfg && (cfg->flags & SK_AG_ENFORCE);
	if (!mark)
		mark = bpf_sk_storage_get(&sock_marks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (mark) {
		mark->rule = rule;
		mark->sender = tgid;
		if (mark->state != SK_SOCK_DOOMED)
			mark->state = enforce ? SK_SOCK_DOOMED : SK_SOCK_REPORTED;
	}
	if (enforce && !socks_doomed)
		socks_doomed = 1;
	sk_labelled_send_record(&key, port, t->agent_id, rule, sotype, cfg, enforce);
	return enforce;
}

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(sk_tcp_send, struct sock *sk, struct msghdr *msg, struct sk_buff *skb, int size_goal)
{
	__u32 tgid;
	struct sk_label *lb;

	if (!labels_live)
		return 0;
	tgid = bpf_get_current_pid_tgid() >> 32;
	lb = bpf_map_lookup_elem(&labels, &tgid);
	if (lb)
		sk_labelled_send(sk, lb->rule, SOCK_STREAM);
	return 0;
}

#ifndef ETH_P_IP
#define ETH_P_IP 0x0800
#endif

/*
 * A TCP SYN that carries bytes: TCP Fast Open with a deferred connect (TCP_FASTOPEN_CONNECT, or
 * sendto with MSG_FASTOPEN) puts the first send's bytes in the SYN, in the sender's context,
 * without passing the tracepoint (tcp_sendmsg_fastopen runs before its loop).
 */
static __always_inline bool sk_syn_with_data(struct __sk_buff *skb, struct bpf_sock *sk)
{
	__u8 b = 0;
	__u32 nh = 40; /* IPv6: no extension headers on a SYN of ours */

	if (sk->state != BPF_TCP_SYN_SENT)
		return false;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 0, &b, 1))
			return false;
		nh = (b & 0xf) * 4;
	}
	if (bpf_skb_load_bytes(skb, nh + 12, &b, 1))
		return false;
	return skb->len > nh + (b >> 4) * 4;
}

/*
 * A labelled process's packet that passed neither the tracepoint nor a sendmsg4/6 hook: on a
 * connected UDP (or ping) socket, or a Fast Open SYN with data. Judged here, where such a packet
 * is still in its sender's context (the sender's cgroup is the socket's: a packet sent from
 * another context is left alone). The same verdict as a TCP send: the socket doomed, the sender
 * killed, this packet and every later one dropped.
 */
static __always_inline int sk_egress_judge(struct bpf_sock *sk)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct sk_label *lb = bpf_map_lookup_elem(&labels, &tgid);
	struct sk_track *t = bpf_map_lookup_elem(&tracked, &tgid);
	struct sk_net_key key = {};
	struct sk_sock_mark *mark;
	struct sk_agent_cfg *cfg;
	__u16 port = bpf_ntohs(sk->dst_port);
	__u32 covering, a6[4];
	bool enforce;

	if (!lb || !t || bpf_sk_cgroup_id(sk) != bpf_get_current_cgroup_id())
		return 1;
	key.agent_id = SK_NET_LOCK_ID(lb->rule);
	key.family = AF_INET;
	key.prefixlen = 64 + 32;
	if (sk->family == AF_INET) {
		__u32 a = sk->dst_ip4;
		__builtin_memcpy(key.addr, &a, 4);
	} else if (sk->family == AF_INET6) {
		a6[0] = sk->dst_ip6[0];
		a6[1] = sk->dst_ip6[1];
		a6[2] = sk->dst_ip6[2];
		a6[3] = sk->dst_ip6[3];
		if (a6[0] == 0 && a6[1] == 0 && a6[2] == bpf_htonl(0xffff)) {
			__builtin_memcpy(key.addr, &a6[3], 4);
		} else {
			key.family = AF_INET6;
			key.prefixlen = 64 + 128;
			__builtin_memcpy(key.addr, a6, 16);
		}
	} else {
		return 1;
	}
	if (sk_rule_covers(bpf_map_lookup_elem(&net_allow, &key), port, sk->type, &covering))
		return 1;
	cfg = sk_cfg(t->agent_id);
	enforce = cfg && (cfg->flags & SK_AG_ENFORCE);
	mark = bpf_sk_storage_get(&sock_marks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (mark) {
		mark->rule = lb->rule;
		mark->sender = tgid;
		mark->state = enforce ? SK_SOCK_DOOMED : SK_SOCK_REPORTED;
	}
	if (enforce && !socks_doomed)
		socks_doomed = 1;
	sk_labelled_send_record(&key, port, t->agent_id, lb->rule, sk->type, cfg, enforce);
	return enforce ? 0 : 1;
}

SEC("cgroup_skb/egress")
int sk_egress(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct sk_sock_mark *mark;

	if (!sk || !(socks_doomed | labels_live))
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	mark = bpf_sk_storage_get(&sock_marks, sk, 0, 0);
	if (mark)
		return mark->state == SK_SOCK_DOOMED ? 0 : 1;
	if (!labels_live || !sk->dst_port)
		return 1;
	if (sk->protocol != IPPROTO_TCP || sk_syn_with_data(skb, sk))
		return sk_egress_judge(sk);
	return 1;
}

#endif
