/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * HTTPS of Go programs: uprobes in the program's own binary (Go links crypto/tls in), put there
 * by the daemon for each tracked process that execs a Go binary (probe/go_tls.cpp), with the
 * process's pid: a process that is not an agent never traps.
 *
 *   crypto/tls.(*Conn).Write         the plaintext before it is encrypted: judged like SSL_write
 *                                    (http.bpf.h), a refused request is killed before it leaves
 *   crypto/tls.(*Conn).clientHandshake   the ClientHello about to be written is seen
 *
 * Go's register ABI (go1.17+, amd64): the receiver in RAX, a []byte argument as RBX = pointer,
 * RCX = length, RDI = capacity. The uprobe sits after the stack-growth check of the prologue
 * when the daemon found one: that instruction runs once per call, while the entry runs again
 * when the stack grows and the function restarts.
 */
#ifndef STOCKADE_GOTLS_BPF_H
#define STOCKADE_GOTLS_BPF_H

#include "tls.bpf.h"

SEC("uprobe")
int sk_go_tls_write(struct pt_regs *ctx)
{
	return sk_tls_write((void *)ctx->ax, (const void *)ctx->bx, ctx->cx, SK_STACK_GO);
}

SEC("uprobe")
int sk_go_tls_handshake(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (bpf_map_lookup_elem(&tracked, &tgid))
		sk_tls_mark(tgid, SK_STACK_GO);
	return 0;
}

/*
 * At exec, for an agent with tools.http: an image the daemon has not looked at yet, or one it
 * found Go crypto/tls in, is held (SIGSTOP, taken before the new image runs one instruction)
 * until the daemon has attached that process's uprobes and sent SIGCONT (probe/go_tls.cpp).
 * Without a daemon nothing is held: the ClientHello check (tlsseen.bpf.h) still applies.
 * Returns whether the process is held.
 */
static __always_inline bool sk_tls_hold(struct task_struct *p, struct linux_binprm *bprm, struct sk_agent_cfg *cfg)
{
	struct sk_inode_key key = {};
	struct dentry *d;
	__u8 *img;
	__u32 tgid;
	__u64 start;

	if (!tls_hold_execs || !cfg || !(cfg->flags & SK_AG_HTTP) || sk_daemon_gone())
		return false;
	d = BPF_CORE_READ(bprm, file, f_path.dentry);
	key.dev = BPF_CORE_READ(d, d_sb, s_dev);
	key.ino = BPF_CORE_READ(d, d_inode, i_ino);
	img = bpf_map_lookup_elem(&tls_images, &key);
	if (img && *img == SK_IMG_PLAIN)
		return false;
	tgid = BPF_CORE_READ(p, tgid);
	start = BPF_CORE_READ(p, group_leader, start_boottime);
	if (bpf_map_update_elem(&tls_held, &tgid, &start, BPF_ANY))
		return false;
	bpf_send_signal(19 /* SIGSTOP */);
	return true;
}

#endif
