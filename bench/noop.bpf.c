// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The floor for stockade's syscall hook: a tp_btf/sys_exit program that returns at once. Attaching
 * it puts every task of the host on the syscall slow path, which is the least any syscall hook
 * costs; the benchmarks show stockade's figures beside it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sys_exit")
int BPF_PROG(bench_noop_sys_exit, struct pt_regs *regs, long ret)
{
	return 0;
}
