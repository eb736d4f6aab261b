// Reads a file with 32-bit syscalls (int $0x80: open = 5, read = 3, write = 4 in i386
// numbering) from a 64-bit process, and writes it to stdout. Built static and not
// position-independent so that its buffers lie below 4 GiB, where 32-bit pointers reach.
// Usage: adv_compat_read PATH   (PATH is copied to a low buffer first)
#include <string.h>

static char path[4096];
static char buf[4096];

static long sys32(long nr, long a, long b, long c) {
    long ret = nr;
    __asm__ volatile("int $0x80" : "+a"(ret) : "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

int main(int argc, char** argv) {
    if (argc != 2 || strlen(argv[1]) >= sizeof path) return 2;
    strcpy(path, argv[1]);
    long fd = sys32(5, (long)path, 0, 0);
    if (fd < 0) return 3;
    long n = sys32(3, fd, (long)buf, sizeof buf);
    if (n < 0) return 4;
    return sys32(4, 1, (long)buf, n) == n ? 0 : 5;
}
