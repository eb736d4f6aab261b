/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * x86_64 numbers of the syscalls the kernel side hooks (bpf/syscalls.bpf.h). BPF programs cannot
 * include the libc headers that define them, so they are written out here, once; C++ checks each
 * against <sys/syscall.h> at compile time (userspace/probe/record.cpp), so a typo cannot build.
 */
#ifndef STOCKADE_SYSNR_H
#define STOCKADE_SYSNR_H

enum sk_nr {
	NR_open = 2, NR_creat = 85, NR_openat = 257, NR_openat2 = 437,
	NR_unlink = 87, NR_unlinkat = 263, NR_rmdir = 84,
	NR_rename = 82, NR_renameat = 264, NR_renameat2 = 316,
	NR_mkdir = 83, NR_mkdirat = 258,
	NR_chmod = 90, NR_fchmod = 91, NR_fchmodat = 268, NR_fchmodat2 = 452,
	NR_truncate = 76, NR_ftruncate = 77,
	NR_setxattr = 188, NR_lsetxattr = 189, NR_fsetxattr = 190,
	NR_removexattr = 197, NR_lremovexattr = 198, NR_fremovexattr = 199,
	NR_setxattrat = 463, NR_removexattrat = 466, /* Linux 6.13 */
	NR_link = 86, NR_linkat = 265, NR_symlink = 88, NR_symlinkat = 266,
	NR_connect = 42, NR_accept = 43, NR_sendto = 44, NR_recvfrom = 45, NR_sendmsg = 46, NR_bind = 49,
	NR_listen = 50, NR_accept4 = 288,
	NR_kill = 62, NR_tkill = 200, NR_tgkill = 234, NR_pidfd_send_signal = 424,
	NR_ptrace = 101, NR_process_vm_readv = 310, NR_process_vm_writev = 311, NR_bpf = 321,
	NR_pidfd_getfd = 438,
	NR_read = 0, NR_write = 1, NR_readv = 19, NR_writev = 20, NR_recvmsg = 47,
	NR_open_by_handle_at = 304,
	NR_pwrite64 = 18, NR_pwritev = 296, NR_pwritev2 = 328, NR_sendfile = 40, NR_splice = 275, NR_tee = 276,
	NR_vmsplice = 278, NR_copy_file_range = 326,
	NR_io_uring_setup = 425, NR_io_uring_enter = 426, NR_io_uring_register = 427,
	NR_rt_sigqueueinfo = 129, NR_rt_tgsigqueueinfo = 297, NR_pidfd_open = 434,
	NR_mount = 165, NR_umount2 = 166, NR_pivot_root = 155, NR_open_tree = 428, NR_move_mount = 429,
	NR_fsopen = 430, NR_fsconfig = 431, NR_fsmount = 432, NR_fspick = 433, NR_mount_setattr = 442,
	NR_open_tree_attr = 467, /* Linux 6.15 */
};

#endif
