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

#include "devices_bpf.h"
#include "tender/fileio.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define HIERARCHIES_MAX 10
#define DESTROY_RETRIES 250 /* x 20 ms: processes leave a cgroup asynchronously */
#define VALUE_MAX 32

enum hierarchy_kind {
        HIER_UNIFIED, /* cgroup2: limits when pure v2; when hybrid, membership and the limits
                         of controllers bound to it rather than to v1 (hugetlb, say) */
        HIER_MEMORY,  /* v1 memory */
        HIER_PIDS,    /* v1 pids */
        HIER_CPU,     /* v1 cpu (created only when CPU limits are set) */
        HIER_CPUSET,  /* v1 cpuset (only with cpus or mems) */
        HIER_DEVICES, /* v1 devices */
        HIER_BLKIO,   /* v1 blkio (only with an I/O weight or throttling) */
        HIER_HUGETLB, /* v1 hugetlb (only with hugepageLimits) */
        HIER_NET_CLS, /* v1 net_cls (only with network.classID) */
        HIER_NET_PRIO /* v1 net_prio (only with network.priorities) */
};

static const char *const v1_names[] = {
        [HIER_MEMORY] = "memory",   [HIER_PIDS] = "pids",       [HIER_CPU] = "cpu",
        [HIER_CPUSET] = "cpuset",   [HIER_DEVICES] = "devices", [HIER_BLKIO] = "blkio",
        [HIER_HUGETLB] = "hugetlb", [HIER_NET_CLS] = "net_cls", [HIER_NET_PRIO] = "net_prio",
};

/* What no rule allows is refused, as with runc and crun: the list starts with "deny all". */
static const struct tender_rt_device_rule deny_all = {false, 'a', -1, -1, "rwm"};

/* Device nodes every container gets (the /dev the runtime builds), after the spec's rules.
 * Unlike runc and crun, no "c *:* m", "b *:* m", /dev/console (5:1) or /dev/net/tun (10:200):
 * a node made on a volume is not guarded by the container's cgroup when a host process opens
 * it (docs/security.md). A config that wants them lists them in linux.resources.devices. */
static const struct tender_rt_device_rule default_device_rules[] = {
        {true, 'c', 1, 3, "rwm"}, {true, 'c', 1, 5, "rwm"},    {true, 'c', 1, 7, "rwm"},
        {true, 'c', 1, 8, "rwm"}, {true, 'c', 1, 9, "rwm"},    {true, 'c', 5, 0, "rwm"},
        {true, 'c', 5, 2, "rwm"}, {true, 'c', 136, -1, "rwm"},
};

#define CARRIES_ALL (~0u)

struct hierarchy {
        enum hierarchy_kind kind;
        char mount[64];
        unsigned carries; /* which limits it carries: bit 1 << HIER_MEMORY and so on */
};

static bool carries(const struct hierarchy *h, enum hierarchy_kind limit) {
        return h->carries & (1u << limit);
}

static bool is_fs(const char *path, long magic) {
        struct statfs fs;
        return statfs(path, &fs) == 0 && fs.f_type == magic;
}

static size_t detect(struct hierarchy h[HIERARCHIES_MAX]) {
        size_t n = 0;
        if (is_fs(CGROUP_ROOT, CGROUP2_SUPER_MAGIC)) {
                h[n++] = (struct hierarchy){HIER_UNIFIED, CGROUP_ROOT, CARRIES_ALL};
                return n;
        }
        for (int k = HIER_MEMORY; k <= HIER_NET_PRIO; k++) {
                struct hierarchy v1 = {(enum hierarchy_kind) k, "", 1u << k};
                snprintf(v1.mount, sizeof(v1.mount), CGROUP_ROOT "/%s", v1_names[k]);
                if (is_fs(v1.mount, CGROUP_SUPER_MAGIC))
                        h[n++] = v1;
        }
        if (is_fs(CGROUP_ROOT "/unified", CGROUP2_SUPER_MAGIC))
                h[n++] = (struct hierarchy){HIER_UNIFIED, CGROUP_ROOT "/unified", 0};
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

static bool throttled(const struct tender_rt_device_limits *d) {
        for (size_t k = 0; d && k < TENDER_RT_THROTTLE_KINDS; k++)
                if (d->n_throttle[k])
                        return true;
        return false;
}

/* Is this hierarchy used for these limits? The v1 cpu and cpuset hierarchies only when asked:
 * a v1 cpuset cgroup, for one, takes no process until cpus and mems are set. The devices
 * hierarchy always: without rules of its own a container still gets the default ones. */
static bool wanted(const struct hierarchy *h, const struct tender_rt_cgroup_limits *l) {
        switch (h->kind) {
        case HIER_CPU:
                return cpu_limited(l->cpu);
        case HIER_CPUSET:
                return cpuset_limited(l->cpu);
        case HIER_BLKIO:
                return l->blkio_weight != 0 || throttled(l->dev);
        case HIER_HUGETLB:
                return l->dev && l->dev->n_hugepages;
        case HIER_NET_CLS:
                return l->dev && l->dev->has_class_id;
        case HIER_NET_PRIO:
                return l->dev && l->dev->n_priorities;
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

/* Deny all, the spec's rules, then the runtime's default nodes, then linux.devices: the list
 * both the v1 controller and the v2 program apply. *ret is malloc'd. */
static int device_rules(const struct tender_rt_cgroup_limits *l, struct tender_rt_device_rule **ret,
                        size_t *n) {
        size_t max = 1 + l->n_device_rules + ELEMENTSOF(default_device_rules) + l->n_devices;
        struct tender_rt_device_rule *rules = calloc(max + 1, sizeof(*rules));
        if (!rules)
                return -ENOMEM;
        *n = 0;
        rules[(*n)++] = deny_all;
        for (size_t i = 0; i < l->n_device_rules; i++)
                rules[(*n)++] = l->device_rules[i];
        for (size_t i = 0; i < ELEMENTSOF(default_device_rules); i++)
                rules[(*n)++] = default_device_rules[i];
        for (size_t i = 0; i < l->n_devices; i++) {
                const struct tender_rt_device *d = &l->devices[i];
                if (d->type != 'p')
                        rules[(*n)++] = (struct tender_rt_device_rule){
                                true, d->type == 'u' ? 'c' : d->type, d->major, d->minor, "rwm"};
        }
        *ret = rules;
        return 0;
}

static int set_devices(int fd, const struct hierarchy *h, const struct tender_rt_cgroup_limits *l,
                       struct tender_error *err) {
        _cleanup_free_ struct tender_rt_device_rule *rules = NULL;
        char text[4 * VALUE_MAX];
        size_t n = 0;
        int r = device_rules(l, &rules, &n);
        if (r < 0)
                return r;
        if (h->kind == HIER_UNIFIED)
                return tender_rt_devices_bpf_attach(fd, rules, n, err);
        for (size_t i = 0; i < n; i++) {
                device_rule_text(&rules[i], text, sizeof(text));
                if ((r = set_string(fd, h, rules[i].allow ? "devices.allow" : "devices.deny", text,
                                    i > 0 && i <= l->n_device_rules ? "linux.resources.devices"
                                                                    : "linux.devices",
                                    err)) < 0)
                        return r;
        }
        return 0;
}

/* Soft limit, memory plus swap, swappiness and the OOM killer. v1 needs swap accounting
 * (memory.memsw.*); v2 counts swap apart (memory.swap.max = swap - limit) and has neither
 * swappiness nor a switch for the OOM killer (check_coverage refuses those first). */
static int set_memory_extra(int fd, const struct hierarchy *h,
                            const struct tender_rt_cgroup_limits *l, struct tender_error *err) {
        bool v2 = h->kind == HIER_UNIFIED;
        int r = 0;
        if (l->memory_reservation >= 0)
                r = set_limit(fd, h, v2 ? "memory.low" : "memory.soft_limit_in_bytes",
                              l->memory_reservation, "linux.resources.memory.reservation", err);
        if (r >= 0 && l->memory_swappiness >= 0)
                r = set_limit(fd, h, "memory.swappiness", l->memory_swappiness,
                              "linux.resources.memory.swappiness", err);
        if (r >= 0 && l->disable_oom_killer)
                r = set_string(fd, h, "memory.oom_control", "1",
                               "linux.resources.memory.disableOOMKiller", err);
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
static int set_blkio_weight(int fd, const struct hierarchy *h, uint64_t weight,
                            struct tender_error *err) {
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

/* Throttling: v1 blkio.throttle.<kind>_device takes "major:minor rate", v2 io.max takes
 * "major:minor rbps=rate" (and wbps, riops, wiops). */
static int set_throttle(int fd, const struct hierarchy *h, const struct tender_rt_device_limits *d,
                        struct tender_error *err) {
        static const char *const v1_files[] = {
                "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
                "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
        static const char *const v2_keys[] = {"rbps", "wbps", "riops", "wiops"};
        bool v2 = h->kind == HIER_UNIFIED;
        char text[4 * VALUE_MAX], field[96];
        for (size_t k = 0; k < TENDER_RT_THROTTLE_KINDS; k++)
                for (size_t i = 0; i < d->n_throttle[k]; i++) {
                        const struct tender_rt_throttle *t = &d->throttle[k][i];
                        snprintf(field, sizeof(field), "linux.resources.blockIO.%s[%zu]",
                                 tender_rt_throttle_names[k], i);
                        if (v2)
                                snprintf(text, sizeof(text), "%u:%u %s=%" PRIu64, t->major,
                                         t->minor, v2_keys[k], t->rate);
                        else
                                snprintf(text, sizeof(text), "%u:%u %" PRIu64, t->major, t->minor,
                                         t->rate);
                        int r = set_string(fd, h, v2 ? "io.max" : v1_files[k], text, field, err);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int set_blkio(int fd, const struct hierarchy *h, const struct tender_rt_cgroup_limits *l,
                     struct tender_error *err) {
        int r = 0;
        if (l->blkio_weight)
                r = set_blkio_weight(fd, h, l->blkio_weight, err);
        if (r >= 0 && throttled(l->dev))
                r = set_throttle(fd, h, l->dev, err);
        return r;
}

/* hugetlb.<size>.limit_in_bytes (v1) or hugetlb.<size>.max (v2): a page size the kernel does
 * not have has no file. */
static int set_hugetlb(int fd, const struct hierarchy *h, const struct tender_rt_device_limits *d,
                       struct tender_error *err) {
        char file[64], field[64];
        for (size_t i = 0; i < d->n_hugepages; i++) {
                snprintf(file, sizeof(file), "hugetlb.%s.%s", d->hugepages[i].page_size,
                         h->kind == HIER_UNIFIED ? "max" : "limit_in_bytes");
                snprintf(field, sizeof(field), "linux.resources.hugepageLimits[%zu]", i);
                if (faccessat(fd, file, F_OK, 0) < 0)
                        return tender_error_set(err, TENDER_ERR_RUNTIME, ENOTSUP,
                                                "%s.pageSize: no %s in %s (no %s pages)", field,
                                                file, h->mount, d->hugepages[i].page_size);
                int r = set_limit(fd, h, file, (int64_t) d->hugepages[i].limit, field, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int set_network(int fd, const struct hierarchy *h, const struct tender_rt_device_limits *d,
                       struct tender_error *err) {
        char text[TENDER_RT_IFNAME_MAX + VALUE_MAX];
        if (h->kind == HIER_NET_CLS)
                return set_limit(fd, h, "net_cls.classid", d->class_id,
                                 "linux.resources.network.classID", err);
        for (size_t i = 0; i < d->n_priorities; i++) {
                snprintf(text, sizeof(text), "%s %u", d->priorities[i].name,
                         d->priorities[i].priority);
                int r = set_string(fd, h, "net_prio.ifpriomap", text,
                                   "linux.resources.network.priorities", err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int set_limits(int mountfd, int fd, const struct hierarchy *h, const char *rel,
                      const struct tender_rt_cgroup_limits *l, struct tender_error *err) {
        bool v2 = h->kind == HIER_UNIFIED;
        int r = 0;
        if (l->memory >= 0 && carries(h, HIER_MEMORY) &&
            (r = set_limit(fd, h, v2 ? "memory.max" : "memory.limit_in_bytes", l->memory,
                           "linux.resources.memory.limit", err)) < 0)
                return r;
        if (carries(h, HIER_MEMORY) && (r = set_memory_extra(fd, h, l, err)) < 0)
                return r;
        if (carries(h, HIER_BLKIO) && (r = set_blkio(fd, h, l, err)) < 0)
                return r;
        if (l->dev && l->dev->n_hugepages && carries(h, HIER_HUGETLB) &&
            (r = set_hugetlb(fd, h, l->dev, err)) < 0)
                return r;
        if (h->kind == HIER_NET_CLS || h->kind == HIER_NET_PRIO)
                return set_network(fd, h, l->dev, err);
        if (l->pids >= 0 && carries(h, HIER_PIDS) &&
            (r = set_limit(fd, h, "pids.max", l->pids, "linux.resources.pids.limit", err)) < 0)
                return r;
        if (cpu_limited(l->cpu) && carries(h, HIER_CPU) && (r = set_cpu(fd, h, l->cpu, err)) < 0)
                return r;
        if (cpuset_limited(l->cpu) && carries(h, HIER_CPUSET) &&
            (r = set_cpuset(mountfd, fd, h, rel, l->cpu, err)) < 0)
                return r;
        if (carries(h, HIER_DEVICES) && (r = set_devices(fd, h, l, err)) < 0)
                return r;
        return 0;
}

/* A limit and the controller that carries it: v1 hierarchy, v2 controller (NULL: none in v2). */
struct need {
        const char *field;
        enum hierarchy_kind v1;
        const char *v2;
};

static const char *memory_field(const struct tender_rt_cgroup_limits *l) {
        return l->memory >= 0               ? "linux.resources.memory.limit"
               : l->memory_reservation >= 0 ? "linux.resources.memory.reservation"
               : l->memory_swap >= 0        ? "linux.resources.memory.swap"
               : l->memory_swappiness >= 0  ? "linux.resources.memory.swappiness"
               : l->disable_oom_killer      ? "linux.resources.memory.disableOOMKiller"
                                            : NULL;
}

/* The limits the config sets, with their controllers. Returns how many. */
static size_t needs(const struct tender_rt_cgroup_limits *l, struct need out[10]) {
        const struct tender_rt_device_limits *d = l->dev;
        size_t n = 0;
        if (memory_field(l))
                out[n++] = (struct need){memory_field(l), HIER_MEMORY, "memory"};
        if (l->pids >= 0)
                out[n++] = (struct need){"linux.resources.pids.limit", HIER_PIDS, "pids"};
        if (cpu_limited(l->cpu))
                out[n++] = (struct need){"linux.resources.cpu", HIER_CPU, "cpu"};
        if (cpuset_limited(l->cpu))
                out[n++] = (struct need){"linux.resources.cpu.cpus", HIER_CPUSET, "cpuset"};
        if (l->has_device_rules)
                out[n++] = (struct need){"linux.resources.devices", HIER_DEVICES, ""};
        if (l->blkio_weight || throttled(d))
                out[n++] = (struct need){"linux.resources.blockIO", HIER_BLKIO, "io"};
        if (d && d->n_hugepages)
                out[n++] = (struct need){"linux.resources.hugepageLimits", HIER_HUGETLB, "hugetlb"};
        if (d && d->has_class_id)
                out[n++] = (struct need){"linux.resources.network.classID", HIER_NET_CLS, NULL};
        if (d && d->n_priorities)
                out[n++] = (struct need){"linux.resources.network.priorities", HIER_NET_PRIO, NULL};
        return n;
}

static bool has_word(const char *list, const char *word) {
        size_t len = strlen(word);
        for (const char *p = list; (p = strstr(p, word)); p += len)
                if ((p == list || p[-1] == ' ') && strchr(" \n", p[len]))
                        return true;
        return false;
}

/* The controllers a cgroup2 mount offers (its root's cgroup.controllers), "" when unreadable. */
static char *v2_controllers(const struct hierarchy *h) {
        char path[sizeof(h->mount) + 32];
        char *list = NULL;
        size_t len;
        snprintf(path, sizeof(path), "%s/cgroup.controllers", h->mount);
        if (tender_read_file_at(AT_FDCWD, path, 4096, &list, &len) < 0)
                return strdup("");
        list[strcspn(list, "\n")] = '\0';
        return list;
}

/* Memory knobs of v1 that cgroup v2's memory controller lacks: refused, as crun does. */
static int v2_memory_refusals(const struct tender_rt_cgroup_limits *l, struct tender_error *err) {
        if (l->memory_swappiness >= 0)
                return tender_error_set(err, TENDER_ERR_RUNTIME, ENOTSUP,
                                        "linux.resources.memory.swappiness: cgroup v2 has no "
                                        "swappiness in its memory controller");
        if (l->disable_oom_killer)
                return tender_error_set(err, TENDER_ERR_RUNTIME, ENOTSUP,
                                        "linux.resources.memory.disableOOMKiller: cgroup v2's "
                                        "memory controller cannot disable the OOM killer");
        return 0;
}

/* Pure v2: the root's cgroup.controllers must list each controller the limits need. */
static int check_v2(const struct hierarchy *h, const struct need *need, size_t n,
                    const struct tender_rt_cgroup_limits *l, struct tender_error *err) {
        int r = v2_memory_refusals(l, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *controllers = v2_controllers(h);
        if (!controllers)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!need[i].v2)
                        return tender_error_set(err, TENDER_ERR_RUNTIME, ENOTSUP,
                                                "%s: cgroup v2 has no %s controller", need[i].field,
                                                v1_names[need[i].v1]);
                if (need[i].v2[0] && !has_word(controllers, need[i].v2))
                        return tender_error_set(
                                err, TENDER_ERR_RUNTIME, ENOTSUP,
                                "%s: no %s cgroup controller (%s/cgroup.controllers "
                                "lists \"%s\")",
                                need[i].field, need[i].v2, h->mount, controllers);
        }
        return 0;
}

/* v1 or hybrid: each limit goes to its v1 hierarchy; in the hybrid layout, a controller bound
 * to the unified hierarchy instead (listed in its cgroup.controllers; device rules as a BPF
 * program) carries it there. The first limit left without a controller is named. */
static int check_v1(struct hierarchy *h, size_t n, const struct need *need, size_t n_need,
                    const struct tender_rt_cgroup_limits *l, struct tender_error *err) {
        struct hierarchy *unified = n && h[n - 1].kind == HIER_UNIFIED ? &h[n - 1] : NULL;
        _cleanup_free_ char *controllers = unified ? v2_controllers(unified) : strdup("");
        if (!controllers)
                return -ENOMEM;
        for (size_t k = 0; k < n_need; k++) {
                bool found = false;
                for (size_t i = 0; i < n && !found; i++)
                        found = h[i].kind == need[k].v1;
                if (found)
                        continue;
                if (unified && need[k].v2 &&
                    (!need[k].v2[0] || has_word(controllers, need[k].v2))) {
                        unified->carries |= 1u << need[k].v1;
                        continue;
                }
                return tender_error_set(err, TENDER_ERR_RUNTIME, ENOTSUP,
                                        "%s: no %s cgroup controller (no v1 hierarchy %s/%s%s)",
                                        need[k].field, v1_names[need[k].v1], CGROUP_ROOT,
                                        v1_names[need[k].v1],
                                        unified ? ", none in the unified hierarchy" : "");
        }
        return unified && carries(unified, HIER_MEMORY) ? v2_memory_refusals(l, err) : 0;
}

/* Every limit the config sets needs its controller. Marks which hierarchy carries what. */
static int check_coverage(struct hierarchy *h, size_t n, const struct tender_rt_cgroup_limits *l,
                          struct tender_error *err) {
        struct need need[10];
        size_t n_need = needs(l, need);
        if (n && h[0].kind == HIER_UNIFIED && h[0].carries == CARRIES_ALL)
                return check_v2(&h[0], need, n_need, l, err);
        return check_v1(h, n, need, n_need, l, err);
}

/* Pure v2: a controller is usable in a cgroup only when every ancestor delegates it: memory and
 * pids always (their statistics), and the controller of each limit. */
static void enable_controllers(int mountfd, const char *rel, const struct need *need, size_t n) {
        char prefix[1024], add[VALUE_MAX];
        size_t len = strlen(rel);
        if (len >= sizeof(prefix))
                return;
        for (size_t i = 0; i < len; i++) {
                if (i != 0 && rel[i] != '/')
                        continue;
                memcpy(prefix, rel, i);
                prefix[i] = '\0';
                _cleanup_close_ int fd =
                        openat(mountfd, i ? prefix : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return;
                (void) write_at(fd, "cgroup.subtree_control", "+memory");
                (void) write_at(fd, "cgroup.subtree_control", "+pids");
                for (size_t k = 0; k < n; k++)
                        if (need[k].v2 && need[k].v2[0]) {
                                snprintf(add, sizeof(add), "+%s", need[k].v2);
                                (void) write_at(fd, "cgroup.subtree_control", add);
                        }
        }
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
                if (!h[i].carries)
                        continue;
                /* After the mkdir: the ancestors it made must exist to delegate (before it, a
                 * new "/tender" of "/tender/<id>" delegated nothing and the leaf had no
                 * memory.max; the device test tier found it, scripts/vm-test). */
                if (h[i].kind == HIER_UNIFIED) {
                        struct need need[10];
                        enable_controllers(mountfd, rel, need, needs(limits, need));
                }
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
                /* cgroup2 (Linux 5.14) kills the whole cgroup at once, forks in flight too. */
                snprintf(procs, sizeof(procs), "%s/%s", h[i].mount, relative(path));
                _cleanup_close_ int fd = open(procs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (h[i].kind == HIER_UNIFIED && fd >= 0 && write_at(fd, "cgroup.kill", "1") == 0)
                        continue;
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
