/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* x86_64 syscall numbers of the calls stockade records (stockade/sysnr.h), and the argument registers. */
#ifndef STOCKADE_SYSNR_BPF_H
#define STOCKADE_SYSNR_BPF_H

#include "defs.bpf.h"
#include "stockade/sysnr.h"

#define AT_REMOVEDIR 0x200

struct sk_args {
	unsigned long a[6];
};

static __always_inline void sk_read_args(struct pt_regs *regs, struct sk_args *a)
{
	a->a[0] = regs->di;
	a->a[1] = regs->si;
	a->a[2] = regs->dx;
	a->a[3] = regs->r10;
	a->a[4] = regs->r8;
	a->a[5] = regs->r9;
}

#endif
