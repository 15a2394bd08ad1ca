/* SPDX-License-Identifier: Apache-2.0 */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "tender/fileio.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define HIERARCHIES_MAX 7
#define DESTROY_RETRIES 250 /* x 20 ms: processes leave a cgroup asynchronously */
#define VALUE_MAX 32

enum hierarchy_kind {
        HIER_UNIFIED, /* cgroup2: limits when pure v2, membership only when hybrid */
        HIER_MEMORY,  /* v1 memory */
        HIER_PIDS,    /* v1 pids */
        HIER_CPU,     /* v1 cpu (created only when CPU limits are set) */
        HIER_CPUSET,  /* v1 cpuset (only with cpus or mems) */
        HIER_DEVICES, /* v1 devices (only with device rules) */
        HIER_BLKIO,   /* v1 blkio (only with an I/O weight) */
};

/* Device nodes every container gets (the /dev the runtime builds), after the spec's rules. */
static const char *const default_device_rules[] = {
        "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
        "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm",
};

struct hierarchy {
        enum hierarchy_kind kind;
        char mount[64];
        bool limits; /* does this hierarchy carry the limits? */
};

static bool is_fs(const char *path, long magic) {
        struct statfs fs;
        return statfs(path, &fs) == 0 && fs.f_type == magic;
}

static size_t detect(struct hierarchy h[HIERARCHIES_MAX]) {
        size_t n = 0;
        if (is_fs(CGROUP_ROOT, CGROUP2_SUPER_MAGIC)) {
                h[n++] = (struct hierarchy){HIER_UNIFIED, CGROUP_ROOT, true};
                return n;
        }
        if (is_fs(CGROUP_ROOT "/memory", CGROUP_SUPER_MAGIC))
                h[n++] = (struct hierarchy){HIER_MEMORY, CGROUP_ROOT "/memory", true};
        if (is_fs(CGROUP_ROOT "/pids", CGROUP_SUPER_MAGIC))
                h[n++] = (struct hierarchy){HIER_PIDS, CGROUP_ROOT "/pids", true};
        if (is_fs(CGROUP_ROOT "/cpu", CGROUP_SUPER_MAGIC))
                h[n++] = (struct hierarchy){HIER_CPU, CGROUP_ROOT "/cpu", true};
        if (is_fs(CGROUP_ROOT "/cpuset", CGROUP_SUPER_MAGIC))
                h[n++] = (struct hierarchy){HIER_CPUSET, CGROUP_ROOT "/cpuset", true};
        if (is_fs(CGROUP_ROOT "/devices", CGROUP_SUPER_MAGIC))
                h[n++] = (struct hierarchy){HIER_DEVICES, CGROUP_ROOT "/devices", true};
        if (is_fs(CGROUP_ROOT "/blkio", CGROUP_SUPER_MAGIC))
                h[n++] = (struct hierarchy){HIER_BLKIO, CGROUP_ROOT "/blkio", true};
        if (is_fs(CGROUP_ROOT "/unified", CGROUP2_SUPER_MAGIC))
                h[n++] = (struct hierarchy){HIER_UNIFIED, CGROUP_ROOT "/unified", false};
        return n;
}

static int write_at(int dirfd, const char *file, const char *value) {
        _cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        size_t len = strlen(value);
        ssize_t n = write(fd, value, len);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

static const char *relative(const char *path) {
        return path + strspn(path, "/");
}

/* Pure v2: a controller is usable in a cgroup only when every ancestor delegates it. */
static void enable_controllers(int mountfd, const char *rel, bool cpu, bool cpuset, bool io) {
        char prefix[1024];
        size_t len = strlen(rel);
        if (len >= sizeof(prefix))
                return;
        for (size_t i = 0; i <= len; i++) {
                if (i != 0 && rel[i] != '/' && rel[i] != '\0')
                        continue;
                if (i == len)
                        break; /* the leaf itself delegates nothing */
                memcpy(prefix, rel, i);
                prefix[i] = '\0';
                _cleanup_close_ int fd =
                        openat(mountfd, i ? prefix : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return;
                (void) write_at(fd, "cgroup.subtree_control", "+memory");
                (void) write_at(fd, "cgroup.subtree_control", "+pids");
                if (cpu)
                        (void) write_at(fd, "cgroup.subtree_control", "+cpu");
                if (cpuset)
                        (void) write_at(fd, "cgroup.subtree_control", "+cpuset");
                if (io)
                        (void) write_at(fd, "cgroup.subtree_control", "+io");
        }
}

static int set_limit(int fd, const struct hierarchy *h, const char *file, int64_t value,
                     const char *field, struct tender_error *err) {
        char text[VALUE_MAX];
        snprintf(text, sizeof(text), "%" PRId64, value);
        int r = write_at(fd, file, text);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "%s: write %s in %s",
                                              field, file, h->mount);
        return 0;
}

static bool cpu_limited(const struct tender_rt_cpu *c) {
        return c && (c->shares || c->quota > 0 || c->period);
}

static bool cpuset_limited(const struct tender_rt_cpu *c) {
        return c && (c->cpus || c->mems);
}

/* Is this hierarchy used for these limits? The v1 cpu, cpuset and devices hierarchies only
 * when asked: a v1 cpuset cgroup, for one, takes no process until cpus and mems are set. */
static bool wanted(const struct hierarchy *h, const struct tender_rt_cgroup_limits *l) {
        switch (h->kind) {
        case HIER_CPU:
                return cpu_limited(l->cpu);
        case HIER_CPUSET:
                return cpuset_limited(l->cpu);
        case HIER_DEVICES:
                return l->has_device_rules;
        case HIER_BLKIO:
                return l->blkio_weight != 0;
        default:
                return true;
        }
}

static int set_string(int fd, const struct hierarchy *h, const char *file, const char *value,
                      const char *field, struct tender_error *err) {
        int r = write_at(fd, file, value);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                              "%s: write \"%s\" to %s in %s", field, value, file,
                                              h->mount);
        return 0;
}

static int set_cpu(int fd, const struct hierarchy *h, const struct tender_rt_cpu *c,
                   struct tender_error *err) {
        char text[2 * VALUE_MAX];
        int r = 0;
        if (h->kind == HIER_UNIFIED) {
                if (c->shares) {
                        /* The mapping runc and crun use from shares [2, 262144] to weight
                         * [1, 10000]. */
                        uint64_t weight = 1 + ((c->shares - 2) * 9999) / 262142;
                        r = set_limit(fd, h, "cpu.weight", (int64_t) weight,
                                      "linux.resources.cpu.shares", err);
                }
                if (r >= 0 && (c->quota > 0 || c->period)) {
                        if (c->quota > 0)
                                snprintf(text, sizeof(text), "%" PRId64 " %" PRIu64, c->quota,
                                         c->period ? c->period : 100000);
                        else
                                snprintf(text, sizeof(text), "max %" PRIu64, c->period);
                        r = set_string(fd, h, "cpu.max", text, "linux.resources.cpu.quota", err);
                }
                return r;
        }
        if (c->shares)
                r = set_limit(fd, h, "cpu.shares", (int64_t) c->shares,
                              "linux.resources.cpu.shares", err);
        if (r >= 0 && c->period)
                r = set_limit(fd, h, "cpu.cfs_period_us", (int64_t) c->period,
                              "linux.resources.cpu.period", err);
        if (r >= 0 && c->quota > 0)
                r = set_limit(fd, h, "cpu.cfs_quota_us", c->quota, "linux.resources.cpu.quota",
                              err);
        return r;
}

/* v1: a new cpuset cgroup starts with empty cpus and mems, and takes no child limits nor tasks
 * until they are set. The ancestors the path made ("/tender" of "/tender/<id>") get their
 * parent's values, top down; the leaf gets the spec's (set_cpuset). */
static int init_cpuset_ancestors(int mountfd, const char *rel, struct tender_error *err) {
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
        char prefix[1024];
        size_t len = strlen(rel);
        if (len >= sizeof(prefix))
                return 0;
        for (size_t i = 1; i < len; i++) {
                if (rel[i] != '/')
                        continue;
                memcpy(prefix, rel, i);
                prefix[i] = '\0';
                const char *slash = strrchr(prefix, '/');
                _cleanup_free_ char *parent =
                        slash ? strndup(prefix, (size_t) (slash - prefix)) : strdup(".");
                _cleanup_close_ int fd =
                        openat(mountfd, prefix, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int pfd =
                        parent ? openat(mountfd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
                if (fd < 0 || pfd < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                      "open cpuset cgroup %s", prefix);
                for (size_t k = 0; k < ELEMENTSOF(files); k++) {
                        _cleanup_free_ char *mine = NULL, *theirs = NULL;
                        size_t n;
                        if (tender_read_file_at(fd, files[k], TENDER_RT_CPUSET_MAX, &mine, &n) <
                                    0 ||
                            strspn(mine, " \n") != n)
                                continue; /* set already */
                        if (tender_read_file_at(pfd, files[k], TENDER_RT_CPUSET_MAX, &theirs, &n) <
                            0)
                                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                              "read %s of %s's parent", files[k],
                                                              prefix);
                        theirs[strcspn(theirs, "\n")] = '\0';
                        int r = write_at(fd, files[k], theirs);
                        if (r < 0)
                                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                                              "write %s of %s", files[k], prefix);
                }
        }
        return 0;
}

/* v1 cpuset starts empty: what the spec leaves out is copied from the parent. */
static int set_cpuset(int mountfd, int fd, const struct hierarchy *h, const char *rel,
                      const struct tender_rt_cpu *c, struct tender_error *err) {
        static const char *const files[2][2] = {{"cpuset.cpus", "linux.resources.cpu.cpus"},
                                                {"cpuset.mems", "linux.resources.cpu.mems"}};
        const char *values[2] = {c->cpus, c->mems};
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *parent = NULL;
                const char *v = values[i];
                if (!v && h->kind == HIER_UNIFIED)
                        continue;
                if (!v) {
                        _cleanup_free_ char *dir = strdup(rel), *data = NULL;
                        if (!dir)
                                return -ENOMEM;
                        char *slash = strrchr(dir, '/');
                        if (slash)
                                *slash = '\0';
                        _cleanup_close_ int pfd = openat(mountfd, slash ? dir : ".",
                                                         O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        size_t len;
                        if (pfd < 0 || tender_read_file_at(pfd, files[i][0], TENDER_RT_CPUSET_MAX,
                                                           &data, &len) < 0)
                                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                              "read parent %s", files[i][0]);
                        parent = strndup(data, strcspn(data, "\n"));
                        if (!parent)
                                return -ENOMEM;
                        v = parent;
                }
                int r = set_string(fd, h, files[i][0], v, files[i][1], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void device_rule_text(const struct tender_rt_device_rule *d, char *buf, size_t size) {
        char major[VALUE_MAX] = "*", minor[VALUE_MAX] = "*";
        if (d->type == 'a') {
                snprintf(buf, size, "a");
                return;
        }
        if (d->major >= 0)
                snprintf(major, sizeof(major), "%" PRId64, d->major);
        if (d->minor >= 0)
                snprintf(minor, sizeof(minor), "%" PRId64, d->minor);
        snprintf(buf, size, "%c %s:%s %s", d->type, major, minor, d->access);
}

static int set_devices(int fd, const struct hierarchy *h, const struct tender_rt_cgroup_limits *l,
                       struct tender_error *err) {
        char text[4 * VALUE_MAX];
        int r;
        for (size_t i = 0; i < l->n_device_rules; i++) {
                const struct tender_rt_device_rule *d = &l->device_rules[i];
                device_rule_text(d, text, sizeof(text));
                if ((r = set_string(fd, h, d->allow ? "devices.allow" : "devices.deny", text,
                                    "linux.resources.devices", err)) < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(default_device_rules); i++)
                if ((r = set_string(fd, h, "devices.allow", default_device_rules[i],
                                    "linux.resources.devices", err)) < 0)
                        return r;
        for (size_t i = 0; i < l->n_devices; i++) {
                const struct tender_rt_device *d = &l->devices[i];
                if (d->type == 'p')
                        continue;
                snprintf(text, sizeof(text), "%c %u:%u rwm", d->type == 'u' ? 'c' : d->type,
                         d->major, d->minor);
                if ((r = set_string(fd, h, "devices.allow", text, "linux.devices", err)) < 0)
                        return r;
        }
        return 0;
}

/* Soft limit and memory plus swap. v1 needs swap accounting (memory.memsw.*); v2 counts swap
 * apart (memory.swap.max = swap - limit). */
static int set_memory_extra(int fd, const struct hierarchy *h,
                            const struct tender_rt_cgroup_limits *l, struct tender_error *err) {
        bool v2 = h->kind == HIER_UNIFIED;
        int r = 0;
        if (l->memory_reservation >= 0)
                r = set_limit(fd, h, v2 ? "memory.low" : "memory.soft_limit_in_bytes",
                              l->memory_reservation, "linux.resources.memory.reservation", err);
        if (r < 0 || l->memory_swap < 0)
                return r;
        const char *file = v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
        if (faccessat(fd, file, F_OK, 0) < 0)
                return tender_error_set(
                        err, TENDER_ERR_RUNTIME, ENOTSUP,
                        "linux.resources.memory.swap: no %s in %s (%s)", file, h->mount,
                        v2 ? "no swap controller" : "swap accounting is off: swapaccount=1");
        return set_limit(fd, h, file, v2 ? l->memory_swap - l->memory : l->memory_swap,
                         "linux.resources.memory.swap", err);
}

/* I/O weight: the CFQ era's blkio.weight / io.weight, or BFQ's. Neither (the device's I/O
 * schedulers have no weights, e.g. mq-deadline) is an error, not a silent no-op. */
static int set_blkio(int fd, const struct hierarchy *h, uint64_t weight, struct tender_error *err) {
        bool v2 = h->kind == HIER_UNIFIED;
        const char *files[2] = {v2 ? "io.weight" : "blkio.weight",
                                v2 ? "io.bfq.weight" : "blkio.bfq.weight"};
        for (size_t i = 0; i < 2; i++)
                if (faccessat(fd, files[i], F_OK, 0) == 0)
                        return set_limit(fd, h, files[i], (int64_t) weight,
                                         "linux.resources.blockIO.weight", err);
        return tender_error_set(err, TENDER_ERR_RUNTIME, ENOTSUP,
                                "linux.resources.blockIO.weight: neither %s nor %s in %s (no I/O "
                                "scheduler with weights: BFQ)",
                                files[0], files[1], h->mount);
}

static int set_limits(int mountfd, int fd, const struct hierarchy *h, const char *rel,
                      const struct tender_rt_cgroup_limits *l, struct tender_error *err) {
        bool v2 = h->kind == HIER_UNIFIED;
        int r = 0;
        if (l->memory >= 0 && (v2 || h->kind == HIER_MEMORY) &&
            (r = set_limit(fd, h, v2 ? "memory.max" : "memory.limit_in_bytes", l->memory,
                           "linux.resources.memory.limit", err)) < 0)
                return r;
        if ((v2 || h->kind == HIER_MEMORY) && (r = set_memory_extra(fd, h, l, err)) < 0)
                return r;
        if (l->blkio_weight && (v2 || h->kind == HIER_BLKIO) &&
            (r = set_blkio(fd, h, l->blkio_weight, err)) < 0)
                return r;
        if (l->pids >= 0 && (v2 || h->kind == HIER_PIDS) &&
            (r = set_limit(fd, h, "pids.max", l->pids, "linux.resources.pids.limit", err)) < 0)
                return r;
        if (cpu_limited(l->cpu) && (v2 || h->kind == HIER_CPU) &&
            (r = set_cpu(fd, h, l->cpu, err)) < 0)
                return r;
        if (cpuset_limited(l->cpu) && (v2 || h->kind == HIER_CPUSET) &&
            (r = set_cpuset(mountfd, fd, h, rel, l->cpu, err)) < 0)
                return r;
        if (l->has_device_rules && h->kind == HIER_DEVICES && (r = set_devices(fd, h, l, err)) < 0)
                return r;
        return 0;
}

/* Which limits found no controller to carry them; the first one is named. */
static int check_coverage(const struct hierarchy *h, size_t n,
                          const struct tender_rt_cgroup_limits *l, struct tender_error *err) {
        bool memory = l->memory < 0 && l->memory_reservation < 0 && l->memory_swap < 0,
             pids = l->pids < 0, cpu = !cpu_limited(l->cpu), cpuset = !cpuset_limited(l->cpu),
             devices = !l->has_device_rules, blkio = !l->blkio_weight;
        for (size_t i = 0; i < n; i++) {
                bool v2 = h[i].kind == HIER_UNIFIED && h[i].limits;
                memory |= v2 || h[i].kind == HIER_MEMORY;
                pids |= v2 || h[i].kind == HIER_PIDS;
                cpu |= v2 || h[i].kind == HIER_CPU;
                cpuset |= v2 || h[i].kind == HIER_CPUSET;
                devices |= h[i].kind == HIER_DEVICES;
                blkio |= v2 || h[i].kind == HIER_BLKIO;
        }
        const char *missing = !memory    ? "linux.resources.memory.limit: no memory"
                              : !pids    ? "linux.resources.pids.limit: no pids"
                              : !cpu     ? "linux.resources.cpu: no cpu"
                              : !cpuset  ? "linux.resources.cpu.cpus: no cpuset"
                              : !devices ? "linux.resources.devices: no v1 devices"
                              : !blkio   ? "linux.resources.blockIO: no blkio or io"
                                         : NULL;
        if (missing)
                return tender_error_set(err, TENDER_ERR_RUNTIME, ENOTSUP, "%s cgroup controller",
                                        missing);
        return 0;
}

int tender_rt_cgroup_create(const char *path, const struct tender_rt_cgroup_limits *limits,
                            struct tender_error *err) {
        struct hierarchy h[HIERARCHIES_MAX];
        size_t n = detect(h);
        const char *rel = relative(path);

        if (n == 0)
                return tender_error_set(err, TENDER_ERR_RUNTIME, ENOENT,
                                        "no cgroup hierarchy under %s", CGROUP_ROOT);
        int r = check_coverage(h, n, limits, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (!wanted(&h[i], limits))
                        continue;
                _cleanup_close_ int mountfd = open(h[i].mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (mountfd < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "open %s",
                                                      h[i].mount);
                /* A concurrent delete may remove an emptied parent between the steps of
                 * mkdir -p (see remove_empty_parents); try again then. */
                for (int attempt = 0; (r = tender_mkdir_p_at(mountfd, rel, 0755)) == -ENOENT &&
                                      attempt < DESTROY_RETRIES;
                     attempt++)
                        ;
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                                      "create cgroup %s%s", h[i].mount, path);
                if (!h[i].limits)
                        continue;
                /* After the mkdir: the ancestors it made must exist to delegate (before it, a
                 * new "/tender" of "/tender/<id>" delegated nothing and the leaf had no
                 * memory.max; the device test tier found it, scripts/vm-test). */
                if (h[i].kind == HIER_UNIFIED)
                        enable_controllers(mountfd, rel, cpu_limited(limits->cpu),
                                           cpuset_limited(limits->cpu), limits->blkio_weight);
                if (h[i].kind == HIER_CPUSET && (r = init_cpuset_ancestors(mountfd, rel, err)) < 0)
                        return r;
                _cleanup_close_ int fd = openat(mountfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                      "open cgroup %s%s", h[i].mount, path);
                if ((r = set_limits(mountfd, fd, &h[i], rel, limits, err)) < 0)
                        return r;
        }
        return 0;
}

int tender_rt_cgroup_enter(const char *path, struct tender_error *err) {
        return tender_rt_cgroup_enter_pid(path, 0, err); /* "0" is the writer itself */
}

int tender_rt_cgroup_enter_pid(const char *path, pid_t pid, struct tender_error *err) {
        struct hierarchy h[HIERARCHIES_MAX];
        size_t n = detect(h);
        char text[VALUE_MAX];
        snprintf(text, sizeof(text), "%d", (int) pid);
        for (size_t i = 0; i < n; i++) {
                char dir[1200];
                snprintf(dir, sizeof(dir), "%s/%s", h[i].mount, relative(path));
                _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                /* The optional v1 hierarchies have a cgroup only when their limits are set. */
                if (fd < 0 && errno == ENOENT && h[i].kind >= HIER_CPU)
                        continue;
                int r = fd < 0 ? -errno : write_at(fd, "cgroup.procs", text);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "join cgroup %s",
                                                      dir);
        }
        return 0;
}

void tender_rt_cgroup_kill(const char *path) {
        struct hierarchy h[HIERARCHIES_MAX];
        size_t n = detect(h);
        for (size_t i = 0; i < n; i++) {
                char procs[1200];
                snprintf(procs, sizeof(procs), "%s/%s/cgroup.procs", h[i].mount, relative(path));
                _cleanup_fclose_ FILE *f = fopen(procs, "re");
                long pid;
                while (f && fscanf(f, "%ld", &pid) == 1)
                        if (pid > 1)
                                (void) kill((pid_t) pid, SIGKILL);
        }
}

/* Removes the parents the cgroup path made ("/tender" of "/tender/<id>") once they are empty,
 * so that deleting the last container leaves no cgroup behind. A parent with other children
 * refuses (EBUSY/ENOTEMPTY), which ends the walk. */
static void remove_empty_parents(const char *mount, const char *rel) {
        char dir[1200];
        snprintf(dir, sizeof(dir), "%s/%s", mount, rel);
        size_t root = strlen(mount);
        for (char *slash = strrchr(dir, '/'); slash && (size_t) (slash - dir) > root;
             slash = strrchr(dir, '/')) {
                *slash = '\0';
                if (rmdir(dir) < 0)
                        break;
        }
}

int tender_rt_cgroup_destroy(const char *path, struct tender_error *err) {
        struct hierarchy h[HIERARCHIES_MAX];
        size_t n = detect(h);
        int ret = 0;
        for (size_t i = 0; i < n; i++) {
                char dir[1200];
                snprintf(dir, sizeof(dir), "%s/%s", h[i].mount, relative(path));
                for (int attempt = 0;; attempt++) {
                        if (rmdir(dir) == 0 || errno == ENOENT) {
                                remove_empty_parents(h[i].mount, relative(path));
                                break;
                        }
                        if (errno != EBUSY || attempt >= DESTROY_RETRIES) {
                                ret = tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                             "remove cgroup %s", dir);
                                break;
                        }
                        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
                }
        }
        return ret;
}
