// Attacks on stockaded itself, one raw syscall each: prints "CALL <what>" before it and
// "RET <what> <result> <errno name>" after it, so a caller tells "refused" (RET with -1) from
// "killed at the call" (no RET line) from "went through" (RET with a result >= 0).
// Usage: adv_self_attack ATTACK ARGS...
//   kill PID SIG | tkill TID SIG | tgkill TGID TID SIG | killpg PGID SIG | sigqueue PID SIG
//   ptrace_attach TID | ptrace_seize TID | ptrace_seize_exitkill TID
//   vm_read PID | vm_write PID | proc_open PID FILE (read-write) | proc_read PID FILE
//   pidfd_open PID | peer_pidfd_signal SOCKET SIG | peer_pidfd_getfd SOCKET FD
//   mount_tmpfs DIR | fsopen | rename FROM TO | unlink PATH | link FROM TO
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static void call(const char* what) {
    printf("CALL %s\n", what);
    fflush(stdout);
}

static int ret(const char* what, long rc) {
    printf("RET %s %ld %s\n", what, rc, rc < 0 ? strerrorname_np(errno) : "-");
    fflush(stdout);
    return rc < 0 ? 3 : 0;
}

// A readable address of the process: the start of the first mapping /proc/PID/maps lists.
static unsigned long first_mapping(int pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE* f = fopen(path, "r");
    unsigned long start = 0;
    if (f && fgets(line, sizeof line, f)) start = strtoul(line, NULL, 16);
    if (f) fclose(f);
    return start;
}

// A pidfd of the process at the other end of a unix socket, without pidfd_open (Linux 6.5+).
static int peer_pidfd(const char* socket_path) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int s = socket(AF_UNIX, SOCK_STREAM, 0), pidfd = -1;
    socklen_t len = sizeof pidfd;
    strncpy(a.sun_path, socket_path, sizeof a.sun_path - 1);
    if (s < 0 || connect(s, (struct sockaddr*)&a, sizeof a) != 0) return -1;
    if (getsockopt(s, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0) return -1;
    return pidfd;
}

static int signals(int argc, char** argv) {
    const char* a = argv[1];
    int n = atoi(argv[2]), sig = atoi(argv[argc - 1]);
    if (!strcmp(a, "kill")) return call(a), ret(a, kill(n, sig));
    if (!strcmp(a, "tkill")) return call(a), ret(a, syscall(SYS_tkill, n, sig));
    if (!strcmp(a, "tgkill") && argc == 5) return call(a), ret(a, syscall(SYS_tgkill, n, atoi(argv[3]), sig));
    if (!strcmp(a, "killpg")) return call(a), ret(a, kill(-n, sig));
    if (!strcmp(a, "sigqueue")) {
        union sigval v = {.sival_int = 1};
        return call(a), ret(a, sigqueue(n, sig, v));
    }
    if (!strcmp(a, "peer_pidfd_signal")) {
        int pidfd = peer_pidfd(argv[2]);
        if (pidfd < 0) return ret("peer_pidfd", -1);
        return call(a), ret(a, syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0));
    }
    return -1;
}

static int access_process(int argc, char** argv) {
    const char* a = argv[1];
    int pid = atoi(argv[2]);
    char buf[64] = {0};
    if (!strcmp(a, "ptrace_attach")) return call(a), ret(a, ptrace(PTRACE_ATTACH, pid, 0, 0));
    if (!strcmp(a, "ptrace_seize")) return call(a), ret(a, ptrace(PTRACE_SEIZE, pid, 0, 0));
    if (!strcmp(a, "ptrace_seize_exitkill")) return call(a), ret(a, ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_EXITKILL));
    if (!strcmp(a, "vm_read")) {
        struct iovec local = {buf, 8}, remote = {(void*)first_mapping(pid), 8};
        return call(a), ret(a, process_vm_readv(pid, &local, 1, &remote, 1, 0));
    }
    if (!strcmp(a, "vm_write")) {  // no byte: what is refused is the attempt
        struct iovec local = {buf, 0}, remote = {(void*)first_mapping(pid), 0};
        return call(a), ret(a, process_vm_writev(pid, &local, 1, &remote, 1, 0));
    }
    if ((!strcmp(a, "proc_open") || !strcmp(a, "proc_read")) && argc == 4) {
        char path[128];
        snprintf(path, sizeof path, "/proc/%d/%s", pid, argv[3]);
        return call(a), ret(a, open(path, !strcmp(a, "proc_open") ? O_RDWR : O_RDONLY));
    }
    if (!strcmp(a, "pidfd_open")) return call(a), ret(a, syscall(SYS_pidfd_open, pid, 0));
    if (!strcmp(a, "peer_pidfd_getfd") && argc == 4) {
        int pidfd = peer_pidfd(argv[2]);
        if (pidfd < 0) return ret("peer_pidfd", -1);
        call(a);
        long fd = syscall(SYS_pidfd_getfd, pidfd, atoi(argv[3]), 0);
        if (fd >= 0) (void)!write((int)fd, "forged\n", 7);  // only if it was not stopped
        return ret(a, fd);
    }
    return -1;
}

static int files(int argc, char** argv) {
    const char* a = argv[1];
    if (!strcmp(a, "mount_tmpfs") && argc == 3) return call(a), ret(a, mount("none", argv[2], "tmpfs", 0, NULL));
    if (!strcmp(a, "fsopen")) return call(a), ret(a, syscall(SYS_fsopen, "tmpfs", 0));
    if (!strcmp(a, "rename") && argc == 4) return call(a), ret(a, rename(argv[2], argv[3]));
    if (!strcmp(a, "unlink") && argc == 3) return call(a), ret(a, unlink(argv[2]));
    if (!strcmp(a, "link") && argc == 4) return call(a), ret(a, link(argv[2], argv[3]));
    return -1;
}

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    int rc = argc >= 3 ? signals(argc, argv) : -1;
    if (rc < 0 && argc >= 3) rc = access_process(argc, argv);
    if (rc < 0) rc = files(argc, argv);
    if (rc < 0) {
        fprintf(stderr, "adv_self_attack: unknown attack or arguments\n");
        return 2;
    }
    return rc;
}
