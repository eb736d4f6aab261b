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
 *   tp_btf/tcp_sendmsg_locked + cgroup_skb/egress   a labelled process's send on a socket
 *                               connected before its label: socket doomed, sender killed, its
 *                               packets dropped (labelsend.bpf.h)
 *   uprobe SSL_write/_ex, SSL_read/_ex (+ uretprobe)   HTTPS plaintext; kills a denied request
 *                               before it is encrypted (tls.bpf.h, http.bpf.h)
 *   uprobe crypto/tls.(*Conn).Write, per agent process   the same for Go (gotls.bpf.h)
 *   a ClientHello from a process whose TLS stack no uprobe saw   builtin:unseen-tls (tlsseen.bpf.h)
 *
 * Records are batched: submitted without a wake-up unless they carry a kernel action, belong to
 * an agent in enforce mode (userspace may have to kill), or the ring passes a fill threshold.
 */

/* Each program header stands alone; this file only puts them in one object. */
#include "process.bpf.h"
#include "cgroup.bpf.h"
#include "net.bpf.h"
#include "labelsend.bpf.h"
#include "tls.bpf.h"
#include "gotls.bpf.h"
#include "syscalls.bpf.h"
