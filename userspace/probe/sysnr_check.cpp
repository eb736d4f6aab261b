// Compile-time only: the syscall numbers the BPF side hooks (include/stockade/sysnr.h, written
// out because BPF cannot include libc) must be the kernel's. A wrong number fails the build.
#include <sys/syscall.h>

#include "stockade/sysnr.h"

namespace stockade::probe {

#define SK_SAME_NR(name) static_assert(NR_##name == SYS_##name, "stockade/sysnr.h: NR_" #name " is not SYS_" #name)
SK_SAME_NR(open); SK_SAME_NR(creat); SK_SAME_NR(openat); SK_SAME_NR(openat2);
SK_SAME_NR(unlink); SK_SAME_NR(unlinkat); SK_SAME_NR(rmdir);
SK_SAME_NR(rename); SK_SAME_NR(renameat); SK_SAME_NR(renameat2);
SK_SAME_NR(mkdir); SK_SAME_NR(mkdirat);
SK_SAME_NR(chmod); SK_SAME_NR(fchmod); SK_SAME_NR(fchmodat);
#ifdef SYS_fchmodat2  // Linux 6.6; older C library headers do not name it
SK_SAME_NR(fchmodat2);
#endif
SK_SAME_NR(truncate); SK_SAME_NR(ftruncate);
SK_SAME_NR(setxattr); SK_SAME_NR(lsetxattr); SK_SAME_NR(fsetxattr);
SK_SAME_NR(removexattr); SK_SAME_NR(lremovexattr); SK_SAME_NR(fremovexattr);
#ifdef SYS_setxattrat  // Linux 6.13
SK_SAME_NR(setxattrat); SK_SAME_NR(removexattrat);
#endif
SK_SAME_NR(link); SK_SAME_NR(linkat); SK_SAME_NR(symlink); SK_SAME_NR(symlinkat);
SK_SAME_NR(connect); SK_SAME_NR(accept); SK_SAME_NR(sendto); SK_SAME_NR(recvfrom); SK_SAME_NR(sendmsg);
SK_SAME_NR(bind); SK_SAME_NR(listen); SK_SAME_NR(accept4);
SK_SAME_NR(kill); SK_SAME_NR(tkill); SK_SAME_NR(tgkill); SK_SAME_NR(pidfd_send_signal);
SK_SAME_NR(ptrace); SK_SAME_NR(process_vm_readv); SK_SAME_NR(process_vm_writev); SK_SAME_NR(bpf);
SK_SAME_NR(pidfd_getfd);
SK_SAME_NR(read); SK_SAME_NR(write); SK_SAME_NR(readv); SK_SAME_NR(writev); SK_SAME_NR(recvmsg);
SK_SAME_NR(open_by_handle_at);
SK_SAME_NR(pwrite64); SK_SAME_NR(pwritev); SK_SAME_NR(pwritev2); SK_SAME_NR(sendfile); SK_SAME_NR(splice);
SK_SAME_NR(tee); SK_SAME_NR(vmsplice); SK_SAME_NR(copy_file_range);
SK_SAME_NR(io_uring_setup); SK_SAME_NR(io_uring_enter); SK_SAME_NR(io_uring_register);
SK_SAME_NR(rt_sigqueueinfo); SK_SAME_NR(rt_tgsigqueueinfo); SK_SAME_NR(pidfd_open);
SK_SAME_NR(mount); SK_SAME_NR(umount2); SK_SAME_NR(pivot_root); SK_SAME_NR(open_tree); SK_SAME_NR(move_mount);
SK_SAME_NR(fsopen); SK_SAME_NR(fsconfig); SK_SAME_NR(fsmount); SK_SAME_NR(fspick); SK_SAME_NR(mount_setattr);
#ifdef SYS_open_tree_attr  // Linux 6.15
SK_SAME_NR(open_tree_attr);
#endif
#undef SK_SAME_NR

}  // namespace stockade::probe
