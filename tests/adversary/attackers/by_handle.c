// Opens a file by handle: name_to_handle_at (a path lookup, no open) and open_by_handle_at with
// a descriptor of any directory on the same filesystem as the mount reference, then writes the
// file to stdout. Needs CAP_DAC_READ_SEARCH (a root agent).
// Usage: adv_by_handle PATH SAME_FS_DIR
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    struct file_handle* h = malloc(sizeof *h + MAX_HANDLE_SZ);
    int mount_id;
    h->handle_bytes = MAX_HANDLE_SZ;
    if (name_to_handle_at(AT_FDCWD, argv[1], h, &mount_id, 0) != 0) return 3;
    int dir = open(argv[2], O_RDONLY | O_DIRECTORY);
    if (dir < 0) return 4;
    int fd = open_by_handle_at(dir, h, O_RDONLY);
    if (fd < 0) return 5;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    return n > 0 && write(1, buf, (size_t)n) == n ? 0 : 6;
}
