/* SPDX-License-Identifier: Apache-2.0 */
/* Escape attempts, one per argument: prints "<name>: denied (<why>)" or "<name>: ALLOWED".
 * Built static by tests/lib/escape.sh; run inside a container by tests/integration/
 * runtime-escape.sh (the runtime's default spec) and tests/e2e/hardened.sh (an app tenderd
 * deployed). "loopback" connects to 127.0.0.1:$PORT. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static long try(const char *name, int *special) {
        if (!strcmp(name, "module")) {
                int fd = open("/bin/busybox", O_RDONLY);
                return syscall(SYS_finit_module, fd, "", 0);
        }
        if (!strcmp(name, "ptrace"))
                return ptrace(PTRACE_ATTACH, getppid(), 0, 0);
        if (!strcmp(name, "keyctl"))
                return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1);
        if (!strcmp(name, "add_key"))
                return syscall(SYS_add_key, "user", "x", "y", 1, KEY_SPEC_SESSION_KEYRING);
        if (!strcmp(name, "request_key"))
                return syscall(SYS_request_key, "user", "x", NULL, KEY_SPEC_SESSION_KEYRING);
        if (!strcmp(name, "raw_socket"))
                return socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
        if (!strcmp(name, "packet_socket"))
                return socket(AF_PACKET, SOCK_RAW, 0);
        if (!strcmp(name, "af_alg"))
                return socket(38 /* AF_ALG */, SOCK_SEQPACKET, 0);
        if (!strcmp(name, "af_vsock"))
                return socket(40 /* AF_VSOCK */, SOCK_STREAM, 0);
        if (!strcmp(name, "mount"))
                return mount("none", "/tmp", "tmpfs", 0, NULL);
        if (!strcmp(name, "unshare_user"))
                return unshare(CLONE_NEWUSER);
        if (!strcmp(name, "unshare_net"))
                return unshare(CLONE_NEWNET);
        if (!strcmp(name, "clone_newuser")) {
                long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
                if (r == 0)
                        _exit(0);
                return r;
        }
        if (!strcmp(name, "clone3")) {
                *special = ENOSYS; /* must fail with exactly this */
                return syscall(SYS_clone3, NULL, 0);
        }
        if (!strcmp(name, "userfaultfd"))
                return syscall(SYS_userfaultfd, 0);
        if (!strcmp(name, "io_uring")) {
                char params[120] = {0};
                return syscall(SYS_io_uring_setup, 1, params);
        }
        if (!strcmp(name, "kexec"))
                return syscall(SYS_kexec_load, 0, 0, NULL, 0);
        if (!strcmp(name, "pivot_root"))
                return syscall(SYS_pivot_root, "/", "/");
        if (!strcmp(name, "swapon"))
                return syscall(SYS_swapon, "/dev/null", 0);
        if (!strcmp(name, "setns")) {
                int fd = open("/proc/self/ns/net", O_RDONLY);
                return setns(fd, 0);
        }
        if (!strcmp(name, "kcore")) {
                char buf[16];
                int fd = open("/proc/kcore", O_RDONLY);
                long n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
                if (n == 0) { /* masked: /dev/null */
                        errno = ENODATA;
                        return -1;
                }
                return n;
        }
        if (!strcmp(name, "loopback")) {
                struct sockaddr_in a = {.sin_family = AF_INET,
                                        .sin_port = htons((unsigned short) atoi(getenv("PORT")))};
                a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                int fd = socket(AF_INET, SOCK_STREAM, 0);
                return connect(fd, (struct sockaddr *) &a, sizeof(a));
        }
        errno = EINVAL;
        *special = -1;
        return -1;
}

int main(int argc, char **argv) {
        int allowed = 0;
        for (int i = 1; i < argc; i++) {
                int special = 0;
                long r = try(argv[i], &special);
                int e = errno;
                if (special < 0)
                        printf("%s: unknown attempt\n", argv[i]), allowed = 1;
                else if (r >= 0 || (special && e != special))
                        printf("%s: ALLOWED\n", argv[i]), allowed = 1;
                else
                        printf("%s: denied (%s)\n", argv[i], strerror(e));
        }
        fflush(stdout);
        return allowed;
}
