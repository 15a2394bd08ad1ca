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
#define HIERARCHIES_MAX 3
#define DESTROY_RETRIES 250 /* x 20 ms: processes leave a cgroup asynchronously */
#define VALUE_MAX 32

enum hierarchy_kind {
        HIER_UNIFIED, /* cgroup2: limits when pure v2, membership only when hybrid */
        HIER_MEMORY,  /* v1 memory */
        HIER_PIDS,    /* v1 pids */
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
static void enable_controllers(int mountfd, const char *rel) {
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

int tender_rt_cgroup_create(const char *path, const struct tender_rt_cgroup_limits *limits,
                            struct tender_error *err) {
        struct hierarchy h[HIERARCHIES_MAX];
        size_t n = detect(h);
        bool memory_done = limits->memory < 0, pids_done = limits->pids < 0;
        const char *rel = relative(path);

        if (n == 0)
                return tender_error_set(err, TENDER_ERR_RUNTIME, ENOENT,
                                        "no cgroup hierarchy under %s", CGROUP_ROOT);
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int mountfd = open(h[i].mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (mountfd < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "open %s",
                                                      h[i].mount);
                if (h[i].kind == HIER_UNIFIED && h[i].limits)
                        enable_controllers(mountfd, rel);
                /* A concurrent delete may remove an emptied parent between the steps of
                 * mkdir -p (see remove_empty_parents); try again then. */
                int r;
                for (int attempt = 0; (r = tender_mkdir_p_at(mountfd, rel, 0755)) == -ENOENT &&
                                      attempt < DESTROY_RETRIES;
                     attempt++)
                        ;
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                                      "create cgroup %s%s", h[i].mount, path);
                if (!h[i].limits)
                        continue;
                _cleanup_close_ int fd = openat(mountfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                      "open cgroup %s%s", h[i].mount, path);
                bool v2 = h[i].kind == HIER_UNIFIED;
                if (limits->memory >= 0 && (v2 || h[i].kind == HIER_MEMORY)) {
                        r = set_limit(fd, &h[i], v2 ? "memory.max" : "memory.limit_in_bytes",
                                      limits->memory, "linux.resources.memory.limit", err);
                        if (r < 0)
                                return r;
                        memory_done = true;
                }
                if (limits->pids >= 0 && (v2 || h[i].kind == HIER_PIDS)) {
                        r = set_limit(fd, &h[i], "pids.max", limits->pids,
                                      "linux.resources.pids.limit", err);
                        if (r < 0)
                                return r;
                        pids_done = true;
                }
        }
        if (!memory_done)
                return tender_error_set(
                        err, TENDER_ERR_RUNTIME, ENOTSUP,
                        "linux.resources.memory.limit: no memory cgroup controller");
        if (!pids_done)
                return tender_error_set(err, TENDER_ERR_RUNTIME, ENOTSUP,
                                        "linux.resources.pids.limit: no pids cgroup controller");
        return 0;
}

int tender_rt_cgroup_enter(const char *path, struct tender_error *err) {
        struct hierarchy h[HIERARCHIES_MAX];
        size_t n = detect(h);
        for (size_t i = 0; i < n; i++) {
                char dir[1200];
                snprintf(dir, sizeof(dir), "%s/%s", h[i].mount, relative(path));
                _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                int r = fd < 0 ? -errno : write_at(fd, "cgroup.procs", "0");
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
