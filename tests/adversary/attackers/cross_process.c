// Reaches into another process's memory: writes by ptrace (PTRACE_SEIZE, PTRACE_INTERRUPT, then
// PTRACE_POKEDATA) or by process_vm_writev, printing "written" when it got through; or reads 8
// bytes by process_vm_readv and prints them.
// Usage: adv_cross_process ptrace|vm|vmread PID HEX_ADDRESS
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

int main(int argc, char** argv) {
    if (argc != 4) return 2;
    pid_t pid = (pid_t)atoi(argv[2]);
    unsigned long addr = strtoul(argv[3], NULL, 16);
    static char evil[8] = "HACKED!";
    if (strcmp(argv[1], "vmread") == 0) {
        char got[9] = {0};
        struct iovec local = {got, 8}, remote = {(void*)addr, 8};
        if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != 8) {
            perror("process_vm_readv");
            return 3;
        }
        printf("read %s\n", got);
        return 0;
    }
    if (strcmp(argv[1], "vm") == 0) {
        struct iovec local = {evil, 8}, remote = {(void*)addr, 8};
        if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != 8) {
            perror("process_vm_writev");
            return 3;
        }
    } else {
        if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) {
            perror("PTRACE_SEIZE");
            return 3;
        }
        ptrace(PTRACE_INTERRUPT, pid, 0, 0);
        waitpid(pid, NULL, __WALL);
        long word;
        memcpy(&word, evil, sizeof word);
        if (ptrace(PTRACE_POKEDATA, pid, (void*)addr, (void*)word) != 0) return 4;
        ptrace(PTRACE_DETACH, pid, 0, 0);
    }
    printf("written\n");
    return 0;
}
