/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What every file of stockade's kernel side starts from: the kernel's types (vmlinux.h, made at
 * build time), libbpf's helper headers, the records shared with userspace, and the few uapi
 * constants vmlinux.h does not carry (they are macros, not types).
 */
#ifndef STOCKADE_DEFS_BPF_H
#define STOCKADE_DEFS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "stockade/events.h"

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SIGKILL 9
#define SIGCONT 18
#define SIGSTOP 19
#define EPERM 1
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_PATH 010000000
#define O_ACCMODE 3
#define AT_FDCWD -100
#define FMODE_READ 0x1
#define FMODE_CREATED 0x100000
#define S_IFMT 0170000
#define S_IFIFO 0010000
#define S_IFSOCK 0140000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define PROC_SUPER_MAGIC 0x9fa0

#endif
