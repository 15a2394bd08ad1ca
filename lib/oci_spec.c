/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hardened default OCI config (include/tender/oci_spec.h): `tender-runtime spec` writes it
 * whole with every namespace including user (container root is host uid 100000), loopback-only
 * network, read-only rootfs, noNewPrivileges and limits; tenderd's bundles take its parts.
 */
#include "tender/oci_spec.h"

#include <stdbool.h>
#include <string.h>

#include "tender/json.h"
#include "tender/macro.h"

#define ID_MAP_HOST 100000
#define ID_MAP_SIZE 65536
#define MEMORY_LIMIT 268435456
#define PIDS_LIMIT 1024
#define NOFILE_LIMIT 1024
/* clone(2) flags that create namespaces: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|
 * NEWNET (0x7E020000); clone is allowed only without them. */
#define CLONE_NS_MASK 2114060288
#define AF_ALG_NUMBER 38 /* AF_ALG; AF_VSOCK is 40: both and everything above are denied */
#define SOCK_TYPE_MASK 15
#define ENOSYS_NUMBER 38
#define AF_NETLINK_NUMBER 16 /* any type: `ip` and libc's getifaddrs use SOCK_RAW netlink */

const char *const tender_oci_default_caps[] = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",    "CAP_AUDIT_WRITE",
};
const size_t tender_oci_n_default_caps = ELEMENTSOF(tender_oci_default_caps);

/* Every capability by number (linux/capability.h). */
static const char *const cap_names[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};

static const char *const namespaces[] = {"pid", "network", "ipc", "uts", "mount", "user", "cgroup"};

static const char *const masked_paths[] = {
        "/proc/asound",
        "/proc/acpi",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
};

static const char *const readonly_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                             "/proc/sysrq-trigger"};

/* Docker's unconditional allowlist, less what the issue denies: keyctl, add_key, request_key,
 * userfaultfd, io_uring_*, kexec_*, pivot_root, swapon/swapoff; mount, umount, unshare, setns,
 * ptrace and the other capability-gated calls are absent because their capabilities are. Names
 * that do not exist on the running architecture are skipped by the runtime. */
static const char *const allowed_syscalls[] = {
        "accept",
        "accept4",
        "access",
        "adjtimex",
        "alarm",
        "arch_prctl",
        "bind",
        "brk",
        "cachestat",
        "capget",
        "capset",
        "chdir",
        "chmod",
        "chown",
        "chown32",
        "chroot",
        "clock_adjtime",
        "clock_adjtime64",
        "clock_getres",
        "clock_getres_time64",
        "clock_gettime",
        "clock_gettime64",
        "clock_nanosleep",
        "clock_nanosleep_time64",
        "close",
        "close_range",
        "connect",
        "copy_file_range",
        "creat",
        "dup",
        "dup2",
        "dup3",
        "epoll_create",
        "epoll_create1",
        "epoll_ctl",
        "epoll_ctl_old",
        "epoll_pwait",
        "epoll_pwait2",
        "epoll_wait",
        "epoll_wait_old",
        "eventfd",
        "eventfd2",
        "execve",
        "execveat",
        "exit",
        "exit_group",
        "faccessat",
        "faccessat2",
        "fadvise64",
        "fadvise64_64",
        "fallocate",
        "fanotify_mark",
        "fchdir",
        "fchmod",
        "fchmodat",
        "fchmodat2",
        "fchown",
        "fchown32",
        "fchownat",
        "fcntl",
        "fcntl64",
        "fdatasync",
        "fgetxattr",
        "flistxattr",
        "flock",
        "fork",
        "fremovexattr",
        "fsetxattr",
        "fstat",
        "fstat64",
        "fstatat64",
        "fstatfs",
        "fstatfs64",
        "fsync",
        "ftruncate",
        "ftruncate64",
        "futex",
        "futex_requeue",
        "futex_time64",
        "futex_wait",
        "futex_waitv",
        "futex_wake",
        "futimesat",
        "getcpu",
        "getcwd",
        "getdents",
        "getdents64",
        "getegid",
        "getegid32",
        "geteuid",
        "geteuid32",
        "getgid",
        "getgid32",
        "getgroups",
        "getgroups32",
        "getitimer",
        "getpeername",
        "getpgid",
        "getpgrp",
        "getpid",
        "getppid",
        "getpriority",
        "getrandom",
        "getresgid",
        "getresgid32",
        "getresuid",
        "getresuid32",
        "getrlimit",
        "get_robust_list",
        "getrusage",
        "getsid",
        "getsockname",
        "getsockopt",
        "get_thread_area",
        "gettid",
        "gettimeofday",
        "getuid",
        "getuid32",
        "getxattr",
        "inotify_add_watch",
        "inotify_init",
        "inotify_init1",
        "inotify_rm_watch",
        "io_cancel",
        "ioctl",
        "io_destroy",
        "io_getevents",
        "io_pgetevents",
        "io_pgetevents_time64",
        "ioprio_get",
        "ioprio_set",
        "io_setup",
        "io_submit",
        "ipc",
        "kill",
        "landlock_add_rule",
        "landlock_create_ruleset",
        "landlock_restrict_self",
        "lchown",
        "lchown32",
        "lgetxattr",
        "link",
        "linkat",
        "listen",
        "listxattr",
        "llistxattr",
        "_llseek",
        "lremovexattr",
        "lseek",
        "lsetxattr",
        "lstat",
        "lstat64",
        "madvise",
        "map_shadow_stack",
        "membarrier",
        "memfd_create",
        "memfd_secret",
        "mincore",
        "mkdir",
        "mkdirat",
        "mknod",
        "mknodat",
        "mlock",
        "mlock2",
        "mlockall",
        "mmap",
        "mmap2",
        "mprotect",
        "mq_getsetattr",
        "mq_notify",
        "mq_open",
        "mq_timedreceive",
        "mq_timedreceive_time64",
        "mq_timedsend",
        "mq_timedsend_time64",
        "mq_unlink",
        "mremap",
        "msgctl",
        "msgget",
        "msgrcv",
        "msgsnd",
        "msync",
        "munlock",
        "munlockall",
        "munmap",
        "name_to_handle_at",
        "nanosleep",
        "newfstatat",
        "_newselect",
        "open",
        "openat",
        "openat2",
        "pause",
        "pidfd_open",
        "pidfd_send_signal",
        "pipe",
        "pipe2",
        "pkey_alloc",
        "pkey_free",
        "pkey_mprotect",
        "poll",
        "ppoll",
        "ppoll_time64",
        "prctl",
        "pread64",
        "preadv",
        "preadv2",
        "prlimit64",
        "process_mrelease",
        "pselect6",
        "pselect6_time64",
        "pwrite64",
        "pwritev",
        "pwritev2",
        "read",
        "readahead",
        "readlink",
        "readlinkat",
        "readv",
        "recv",
        "recvfrom",
        "recvmmsg",
        "recvmmsg_time64",
        "recvmsg",
        "remap_file_pages",
        "removexattr",
        "rename",
        "renameat",
        "renameat2",
        "restart_syscall",
        "rmdir",
        "rseq",
        "rt_sigaction",
        "rt_sigpending",
        "rt_sigprocmask",
        "rt_sigqueueinfo",
        "rt_sigreturn",
        "rt_sigsuspend",
        "rt_sigtimedwait",
        "rt_sigtimedwait_time64",
        "rt_tgsigqueueinfo",
        "sched_getaffinity",
        "sched_getattr",
        "sched_getparam",
        "sched_get_priority_max",
        "sched_get_priority_min",
        "sched_getscheduler",
        "sched_rr_get_interval",
        "sched_rr_get_interval_time64",
        "sched_setaffinity",
        "sched_setattr",
        "sched_setparam",
        "sched_setscheduler",
        "sched_yield",
        "seccomp",
        "select",
        "semctl",
        "semget",
        "semop",
        "semtimedop",
        "semtimedop_time64",
        "send",
        "sendfile",
        "sendfile64",
        "sendmmsg",
        "sendmsg",
        "sendto",
        "setfsgid",
        "setfsgid32",
        "setfsuid",
        "setfsuid32",
        "setgid",
        "setgid32",
        "setgroups",
        "setgroups32",
        "setitimer",
        "setpgid",
        "setpriority",
        "setregid",
        "setregid32",
        "setresgid",
        "setresgid32",
        "setresuid",
        "setresuid32",
        "setreuid",
        "setreuid32",
        "setrlimit",
        "set_robust_list",
        "setsid",
        "setsockopt",
        "set_thread_area",
        "set_tid_address",
        "setuid",
        "setuid32",
        "setxattr",
        "shmat",
        "shmctl",
        "shmdt",
        "shmget",
        "shutdown",
        "sigaltstack",
        "signalfd",
        "signalfd4",
        "sigprocmask",
        "sigreturn",
        "socketpair",
        "splice",
        "stat",
        "stat64",
        "statfs",
        "statfs64",
        "statx",
        "symlink",
        "symlinkat",
        "sync",
        "sync_file_range",
        "syncfs",
        "sysinfo",
        "tee",
        "tgkill",
        "time",
        "timer_create",
        "timer_delete",
        "timer_getoverrun",
        "timer_gettime",
        "timer_gettime64",
        "timer_settime",
        "timer_settime64",
        "timerfd_create",
        "timerfd_gettime",
        "timerfd_gettime64",
        "timerfd_settime",
        "timerfd_settime64",
        "times",
        "tkill",
        "truncate",
        "truncate64",
        "ugetrlimit",
        "umask",
        "uname",
        "unlink",
        "unlinkat",
        "utime",
        "utimensat",
        "utimensat_time64",
        "utimes",
        "vfork",
        "vmsplice",
        "wait4",
        "waitid",
        "waitpid",
        "write",
        "writev",
};

/* personality(2) values Docker allows: Linux, UNAME26, PER_LINUX32 and variants, the query. */
static const double personalities[] = {0, 8, 131072, 131080, 4294967295};
/* Socket types allowed: stream, datagram, seqpacket (no SOCK_RAW, SOCK_RDM or SOCK_PACKET). */
static const double socket_types[] = {1, 2, 5};

static cJSON *strings(const char *const *v, size_t n) {
        return cJSON_CreateStringArray(v, (int) n);
}

void tender_oci_add_mount(cJSON *mounts, const char *dest, const char *type, const char *source,
                          const char *const *options) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "destination", dest);
        cJSON_AddStringToObject(m, "type", type);
        cJSON_AddStringToObject(m, "source", source);
        cJSON *o = cJSON_AddArrayToObject(m, "options");
        for (size_t i = 0; options[i]; i++)
                cJSON_AddItemToArray(o, cJSON_CreateString(options[i]));
        cJSON_AddItemToArray(mounts, m);
}

#define MOUNT(mounts, d, t, s, ...)                                                                \
        tender_oci_add_mount(mounts, d, t, s, (const char *const[]){__VA_ARGS__, NULL})

void tender_oci_add_default_mounts(cJSON *m) {
        MOUNT(m, "/proc", "proc", "proc", "nosuid", "noexec", "nodev");
        MOUNT(m, "/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k");
        MOUNT(m, "/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666",
              "mode=0620");
        MOUNT(m, "/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777",
              "size=65536k");
        MOUNT(m, "/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev");
        MOUNT(m, "/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
}

static cJSON *arg(int index, double value, double two, const char *op) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "index", index);
        cJSON_AddNumberToObject(a, "value", value);
        if (two)
                cJSON_AddNumberToObject(a, "valueTwo", two);
        cJSON_AddStringToObject(a, "op", op);
        return a;
}

static cJSON *rule(const char *name, const char *action, cJSON *args) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddItemToObject(r, "names", strings(&name, 1));
        cJSON_AddStringToObject(r, "action", action);
        if (args)
                cJSON_AddItemToObject(r, "args", args);
        return r;
}

cJSON *tender_oci_seccomp(void) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "defaultAction", "SCMP_ACT_ERRNO");
        cJSON *arches = cJSON_AddArrayToObject(s, "architectures");
#if defined(__x86_64__)
        cJSON_AddItemToArray(arches, cJSON_CreateString("SCMP_ARCH_X86_64"));
#elif defined(__aarch64__)
        cJSON_AddItemToArray(arches, cJSON_CreateString("SCMP_ARCH_AARCH64"));
#elif defined(__arm__)
        cJSON_AddItemToArray(arches, cJSON_CreateString("SCMP_ARCH_ARM"));
#elif defined(__riscv) && __riscv_xlen == 64
        cJSON_AddItemToArray(arches, cJSON_CreateString("SCMP_ARCH_RISCV64"));
#endif
        cJSON *list = cJSON_AddArrayToObject(s, "syscalls");
        cJSON *all = cJSON_CreateObject();
        cJSON_AddItemToObject(all, "names",
                              strings(allowed_syscalls, ELEMENTSOF(allowed_syscalls)));
        cJSON_AddStringToObject(all, "action", "SCMP_ACT_ALLOW");
        cJSON_AddItemToArray(list, all);
        for (size_t i = 0; i < ELEMENTSOF(personalities); i++) {
                cJSON *a = cJSON_CreateArray();
                cJSON_AddItemToArray(a, arg(0, personalities[i], 0, "SCMP_CMP_EQ"));
                cJSON_AddItemToArray(list, rule("personality", "SCMP_ACT_ALLOW", a));
        }
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, arg(0, CLONE_NS_MASK, 0, "SCMP_CMP_MASKED_EQ"));
        cJSON_AddItemToArray(list, rule("clone", "SCMP_ACT_ALLOW", a));
        /* clone3 hides its flags in memory seccomp cannot read: ENOSYS makes libc fall back
         * to clone, which the rule above checks. */
        cJSON *c3 = rule("clone3", "SCMP_ACT_ERRNO", NULL);
        cJSON_AddNumberToObject(c3, "errnoRet", ENOSYS_NUMBER);
        cJSON_AddItemToArray(list, c3);
        for (size_t i = 0; i < ELEMENTSOF(socket_types); i++) {
                a = cJSON_CreateArray();
                cJSON_AddItemToArray(a, arg(0, AF_ALG_NUMBER, 0, "SCMP_CMP_LT"));
                cJSON_AddItemToArray(a,
                                     arg(1, SOCK_TYPE_MASK, socket_types[i], "SCMP_CMP_MASKED_EQ"));
                cJSON_AddItemToArray(list, rule("socket", "SCMP_ACT_ALLOW", a));
        }
        a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, arg(0, AF_NETLINK_NUMBER, 0, "SCMP_CMP_EQ"));
        cJSON_AddItemToArray(list, rule("socket", "SCMP_ACT_ALLOW", a));
        return s;
}

static cJSON *cap_set(const char *const *extra, size_t n_extra) {
        cJSON *set = strings(tender_oci_default_caps, ELEMENTSOF(tender_oci_default_caps));
        for (size_t i = 0; i < n_extra; i++) {
                bool seen = tender_oci_cap_is_default(extra[i]);
                for (size_t j = 0; j < i && !seen; j++)
                        seen = STREQ(extra[j], extra[i]);
                if (!seen)
                        cJSON_AddItemToArray(set, cJSON_CreateString(extra[i]));
        }
        return set;
}

cJSON *tender_oci_capabilities(const char *const *extra, size_t n_extra) {
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        cJSON *caps = cJSON_CreateObject();
        for (size_t i = 0; i < ELEMENTSOF(sets); i++)
                cJSON_AddItemToObject(caps, sets[i], cap_set(extra, n_extra));
        cJSON_AddArrayToObject(caps, "inheritable");
        cJSON_AddArrayToObject(caps, "ambient");
        return caps;
}

cJSON *tender_oci_masked_paths(void) {
        return strings(masked_paths, ELEMENTSOF(masked_paths));
}

cJSON *tender_oci_readonly_paths(void) {
        return strings(readonly_paths, ELEMENTSOF(readonly_paths));
}

cJSON *tender_oci_idmap(uint32_t host, uint32_t count) {
        cJSON *list = cJSON_CreateArray();
        cJSON *m = cJSON_CreateObject();
        cJSON_AddNumberToObject(m, "containerID", 0);
        cJSON_AddNumberToObject(m, "hostID", host);
        cJSON_AddNumberToObject(m, "size", count);
        cJSON_AddItemToArray(list, m);
        return list;
}

static cJSON *process(void) {
        static const char *const env[] = {
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
        static const char *const args[] = {"sh"};
        cJSON *p = cJSON_CreateObject();
        cJSON_AddBoolToObject(p, "terminal", false);
        cJSON *u = cJSON_AddObjectToObject(p, "user");
        cJSON_AddNumberToObject(u, "uid", 0);
        cJSON_AddNumberToObject(u, "gid", 0);
        cJSON_AddItemToObject(p, "args", strings(args, 1));
        cJSON_AddItemToObject(p, "env", strings(env, ELEMENTSOF(env)));
        cJSON_AddStringToObject(p, "cwd", "/");
        cJSON_AddItemToObject(p, "capabilities", tender_oci_capabilities(NULL, 0));
        cJSON *rl = cJSON_CreateObject();
        cJSON_AddStringToObject(rl, "type", "RLIMIT_NOFILE");
        cJSON_AddNumberToObject(rl, "hard", NOFILE_LIMIT);
        cJSON_AddNumberToObject(rl, "soft", NOFILE_LIMIT);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(p, "rlimits"), rl);
        cJSON_AddBoolToObject(p, "noNewPrivileges", true);
        return p;
}

static cJSON *linux_section(void) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddItemToObject(l, "uidMappings", tender_oci_idmap(ID_MAP_HOST, ID_MAP_SIZE));
        cJSON_AddItemToObject(l, "gidMappings", tender_oci_idmap(ID_MAP_HOST, ID_MAP_SIZE));
        cJSON *res = cJSON_AddObjectToObject(l, "resources");
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(res, "memory"), "limit", MEMORY_LIMIT);
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(res, "pids"), "limit", PIDS_LIMIT);
        cJSON *ns = cJSON_AddArrayToObject(l, "namespaces");
        for (size_t i = 0; i < ELEMENTSOF(namespaces); i++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "type", namespaces[i]);
                cJSON_AddItemToArray(ns, o);
        }
        cJSON_AddItemToObject(l, "maskedPaths", tender_oci_masked_paths());
        cJSON_AddItemToObject(l, "readonlyPaths", tender_oci_readonly_paths());
        cJSON_AddItemToObject(l, "seccomp", tender_oci_seccomp());
        return l;
}

char *tender_oci_spec_default(void) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        if (!o)
                return NULL;
        cJSON_AddStringToObject(o, "ociVersion", TENDER_OCI_VERSION);
        cJSON_AddItemToObject(o, "process", process());
        cJSON *root = cJSON_AddObjectToObject(o, "root");
        cJSON_AddStringToObject(root, "path", "rootfs");
        cJSON_AddBoolToObject(root, "readonly", true);
        cJSON_AddStringToObject(o, "hostname", "tender");
        cJSON *m = cJSON_AddArrayToObject(o, "mounts");
        tender_oci_add_default_mounts(m);
        MOUNT(m, "/tmp", "tmpfs", "tmpfs", "nosuid", "nodev", "mode=1777", "size=65536k");
        cJSON_AddItemToObject(o, "linux", linux_section());
        return cJSON_Print(o);
}

int tender_oci_cap_from_name(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(cap_names); i++)
                if (STREQ(name, cap_names[i]))
                        return (int) i;
        return -1;
}

const char *tender_oci_cap_name(int cap) {
        return cap >= 0 && (size_t) cap < ELEMENTSOF(cap_names) ? cap_names[cap] : NULL;
}

bool tender_oci_cap_is_default(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(tender_oci_default_caps); i++)
                if (STREQ(tender_oci_default_caps[i], name))
                        return true;
        return false;
}
