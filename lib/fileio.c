/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "tender/macro.h"

/* How often a temp name is retried when it collides with an existing entry. */
#define TEMP_NAME_ATTEMPTS 16
/* Room taken in a temp name by the ".#" prefix, the '.' separator and 16 hex digits. */
#define TEMP_NAME_OVERHEAD (2 + 1 + 16)
/* Nesting limit of tender_rm_rf_at: each level holds one open directory fd. */
#define RM_RF_MAX_DEPTH 256
/* Initial buffer when a file's size is unknown (procfs, sysfs report 0). */
#define READ_CHUNK 4096

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x2000
#endif

static void closedirp(DIR **d) {
        if (*d) {
                int saved = errno;
                closedir(*d);
                errno = saved;
        }
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Splits path into the directory it lives in (opened, following symlinks there like any path
 * lookup) and its last component. The last component must be a real name. */
static int open_parent(int dirfd, const char *path, int *ret_fd, const char **ret_base) {
        if (!path || !*path)
                return -EINVAL;
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        if (!*base || STREQ(base, ".") || STREQ(base, ".."))
                return -EINVAL;
        if (strlen(base) > NAME_MAX)
                return -ENAMETOOLONG;

        int fd;
        if (!slash) {
                fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        } else if (slash == path) {
                fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        } else {
                _cleanup_free_ char *dir = strndup(path, (size_t) (slash - path));
                if (!dir)
                        return -ENOMEM;
                fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        *ret_base = base;
        return 0;
}

/* A name unlikely to collide with anything else in the directory, starting with ".#" so that
 * leftovers after a crash are recognisable and hidden. */
static void temp_name(const char *base, char *buf, size_t size) {
        static unsigned counter;
        uint64_t rnd;
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd)) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                rnd = ((uint64_t) getpid() << 32) ^ (uint64_t) ts.tv_nsec ^
                      ((uint64_t) ts.tv_sec << 20) ^ __atomic_add_fetch(&counter, 1, 0);
        }
        int keep = (int) (NAME_MAX - TEMP_NAME_OVERHEAD);
        snprintf(buf, size, ".#%.*s.%016llx", keep, base, (unsigned long long) rnd);
}

static int write_all(int fd, const void *data, size_t len) {
        const uint8_t *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Writes and fsyncs the temp file; the caller renames it. */
static int fill_temp(int fd, const void *data, size_t len, mode_t mode) {
        /* The requested mode exactly, whatever the umask. */
        if (fchmod(fd, mode) < 0)
                return -errno;
        int r = write_all(fd, data, len);
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

int tender_write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len,
                                mode_t mode) {
        _cleanup_close_ int pfd = -1;
        const char *base;
        int r = open_parent(dirfd, path, &pfd, &base);
        if (r < 0)
                return r;

        char tmp[NAME_MAX + 1];
        _cleanup_close_ int fd = -1;
        for (int i = 0; i < TEMP_NAME_ATTEMPTS && fd < 0; i++) {
                temp_name(base, tmp, sizeof(tmp));
                fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                            mode & 07777);
                if (fd < 0 && errno != EEXIST)
                        return -errno;
        }
        if (fd < 0)
                return -EEXIST;

        r = fill_temp(fd, data, len, mode & 07777);
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = -errno;
        if (r >= 0 && renameat(pfd, tmp, pfd, base) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(pfd, tmp, 0);
                return r;
        }
        if (fsync(pfd) < 0)
                return -errno;
        return 0;
}

int tender_read_file_at(int dirfd, const char *path, size_t max, char **ret_data, size_t *ret_len) {
        if (max >= SIZE_MAX - 1)
                return -EINVAL;
        /* O_NONBLOCK keeps a FIFO planted at path from blocking the open; it is refused below. */
        _cleanup_close_ int fd =
                openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;

        /* The size is a hint only: the file may grow, or report 0 (procfs). One byte beyond max
         * is read to detect a file that is too big. */
        size_t cap = st.st_size > 0 ? (size_t) st.st_size + 1 : READ_CHUNK;
        if (cap > max + 1)
                cap = max + 1;
        _cleanup_free_ char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        size_t len = 0;
        for (;;) {
                if (len == cap) {
                        if (cap == max + 1)
                                return -EFBIG;
                        size_t ncap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
                        char *n = realloc(buf, ncap + 1);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                        cap = ncap;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > max)
                return -EFBIG;
        buf[len] = '\0';
        *ret_data = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int tender_fsync_dir_at(int dirfd, const char *path) {
        _cleanup_close_ int fd =
                openat(dirfd, path ? path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

static int open_dir_nofollow(int dirfd, const char *name) {
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int tender_mkdir_p_at(int dirfd, const char *path, mode_t mode) {
        if (!path)
                return -EINVAL;
        if (strnlen(path, PATH_MAX) >= PATH_MAX)
                return -ENAMETOOLONG;
        /* An absolute path only makes sense against the working directory; "beneath dirfd" is
         * the contract otherwise. */
        if (path[0] == '/' && dirfd != AT_FDCWD)
                return -EINVAL;
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;

        _cleanup_close_ int cur =
                openat(dirfd, path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
                return -errno;

        char *save = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (STREQ(c, "."))
                        continue;
                if (STREQ(c, ".."))
                        return -EINVAL;
                if (mkdirat(cur, c, mode) < 0 && errno != EEXIST)
                        return -errno;
                /* Whatever is there now must be a real directory: a symlink planted here (or
                 * before we created it) is refused rather than followed. */
                int next = open_dir_nofollow(cur, c);
                if (next < 0)
                        return next;
                close(cur);
                cur = next;
        }
        return 0;
}

/* A mount point is recognised by a device change or, for bind mounts of the same file
 * system, by the kernel's mount-root attribute. */
static int check_same_mount(int fd, dev_t dev) {
        struct statx stx;
        if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_INO, &stx) < 0)
                return -errno;
        if (makedev(stx.stx_dev_major, stx.stx_dev_minor) != dev)
                return -EXDEV;
        if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
            (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
                return -EXDEV;
        return 0;
}

/* Empties the directory open as dfd (taking ownership of it). Keeps going after a failure so
 * that as much as possible is removed, and returns the first error. */
static int rm_children(int dfd, dev_t dev, unsigned depth) {
        if (depth >= RM_RF_MAX_DEPTH) {
                close(dfd);
                return -ELOOP;
        }
        _cleanup_closedir_ DIR *d = fdopendir(dfd);
        if (!d) {
                int r = -errno;
                close(dfd);
                return r;
        }
        int ret = 0;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno != 0 && ret == 0)
                                ret = -errno;
                        break;
                }
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                int r = 0;
                if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
                        int cfd = open_dir_nofollow(dirfd(d), de->d_name);
                        if (cfd >= 0) {
                                r = check_same_mount(cfd, dev);
                                if (r < 0)
                                        close(cfd);
                                else
                                        r = rm_children(cfd, dev, depth + 1);
                                if (r >= 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 &&
                                    errno != ENOENT)
                                        r = -errno;
                        } else if (cfd == -ENOTDIR || cfd == -ELOOP) {
                                /* Not a directory (or a symlink to one): unlinked as is. */
                                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                                        r = -errno;
                        } else if (cfd != -ENOENT) {
                                r = cfd;
                        }
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
                        r = -errno;
                }
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

int tender_rm_rf_at(int dirfd, const char *path) {
        if (!path || !*path)
                return -EINVAL;
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        /* "." or ".." as the last component would remove the caller's own directories. */
        if (!*base || STREQ(base, ".") || STREQ(base, ".."))
                return -EINVAL;

        struct stat st;
        if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(dirfd, path, 0) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }
        int fd = open_dir_nofollow(dirfd, path);
        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        /* A mount point at path itself is left alone, like the ones beneath it. */
        struct stat parent;
        _cleanup_close_ int pfd = -1;
        const char *pbase;
        int r = open_parent(dirfd, path, &pfd, &pbase);
        if (r >= 0 && fstat(pfd, &parent) < 0)
                r = -errno;
        if (r >= 0)
                r = check_same_mount(fd, parent.st_dev);
        if (r < 0) {
                close(fd);
                return r == -EXDEV ? -EBUSY : r;
        }
        r = rm_children(fd, st.st_dev, 0);
        if (r < 0)
                return r;
        if (unlinkat(dirfd, path, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int tender_nofollow_errno(int dirfd, const char *name, int e) {
        struct stat st;
        if (e == ENOTDIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
                return ELOOP;
        return e;
}

/* ---- opening beneath a directory ---- */

enum { OPENAT2_UNKNOWN, OPENAT2_WORKS, OPENAT2_ABSENT };
static int openat2_state; /* the memo: read and written with relaxed atomics */

/* Whether the kernel has openat2 and lets us call it: Linux < 5.6 and qemu-user say ENOSYS,
 * a seccomp filter that does not know it says EPERM. Asked once, with a path that opens
 * without touching any file system the caller cares about. TENDER_TEST_NO_OPENAT2 (tests)
 * takes the walk as if openat2 were missing. */
static bool openat2_works(void) {
        int s = __atomic_load_n(&openat2_state, __ATOMIC_RELAXED);
        if (s == OPENAT2_UNKNOWN) {
                struct open_how how = {.flags = O_PATH | O_CLOEXEC};
                long fd = secure_getenv("TENDER_TEST_NO_OPENAT2")
                                  ? (errno = ENOSYS, -1)
                                  : syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
                s = fd < 0 && (errno == ENOSYS || errno == EPERM) ? OPENAT2_ABSENT : OPENAT2_WORKS;
                if (fd >= 0)
                        close((int) fd);
                __atomic_store_n(&openat2_state, s, __ATOMIC_RELAXED);
        }
        return s == OPENAT2_WORKS;
}

/* One step of the walk: opens comp beneath cur without following it, on cur's mount. */
static int walk_step(int cur, const char *comp, int flags, dev_t dev) {
        if (STREQ(comp, ".."))
                return -EXDEV; /* openat2 allows a ".." that stays beneath; the walk none */
        _cleanup_close_ int fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -tender_nofollow_errno(cur, comp, errno);
        int r = check_same_mount(fd, dev);
        if (r < 0)
                return r;
        struct stat st;
        if ((flags & O_PATH) && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode))
                return -ELOOP; /* O_PATH | O_NOFOLLOW opens the symlink itself */
        return TAKE_FD(fd);
}

/* Without openat2: one component at a time with O_NOFOLLOW, each checked to be on dirfd's
 * mount, so that every way out openat2 refuses is refused here too, with the same errno. */
static int open_beneath_walk(int dirfd, const char *path, int flags) {
        struct stat st;
        if (path[0] == '/')
                return -EXDEV;
        if (fstat(dirfd, &st) < 0)
                return -errno;
        _cleanup_close_ int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return -errno;
        for (const char *p = path;;) {
                char comp[NAME_MAX + 1];
                size_t n = strcspn(p, "/");
                const char *rest = p + n + strspn(p + n, "/");
                bool last = *rest == '\0';
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(comp, p, n);
                comp[n] = '\0';
                if (!last && STREQ(comp, ".")) {
                        p = rest;
                        continue;
                }
                int f = !last ? O_PATH | O_DIRECTORY : p[n] == '/' ? flags | O_DIRECTORY : flags;
                int next = walk_step(cur, comp, f, st.st_dev);
                if (next < 0)
                        return next;
                close(cur);
                cur = next;
                if (last)
                        return TAKE_FD(cur);
                p = rest;
        }
}

int tender_open_beneath(int dirfd, const char *path, int flags) {
        if (!path || !*path)
                return -ENOENT;
        if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
                return -EINVAL;
        if (!openat2_works())
                return open_beneath_walk(dirfd, path, flags);
        struct open_how how = {
                /* Not O_NOFOLLOW: RESOLVE_NO_SYMLINKS refuses a last symlink with ELOOP, where
                 * O_NOFOLLOW | O_DIRECTORY would say ENOTDIR (or O_PATH open the link). */
                .flags = (uint64_t) ((flags & ~O_NOFOLLOW) | O_CLOEXEC),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                           RESOLVE_NO_XDEV,
        };
        long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        return fd < 0 ? -errno : (int) fd;
}

int tender_symlink_atomic_at(int dirfd, const char *target, const char *linkpath) {
        if (!target || !*target)
                return -EINVAL;
        _cleanup_close_ int pfd = -1;
        const char *base;
        int r = open_parent(dirfd, linkpath, &pfd, &base);
        if (r < 0)
                return r;

        char tmp[NAME_MAX + 1];
        bool made = false;
        for (int i = 0; i < TEMP_NAME_ATTEMPTS && !made; i++) {
                temp_name(base, tmp, sizeof(tmp));
                if (symlinkat(target, pfd, tmp) == 0)
                        made = true;
                else if (errno != EEXIST)
                        return -errno;
        }
        if (!made)
                return -EEXIST;
        if (renameat(pfd, tmp, pfd, base) < 0) {
                r = -errno;
                (void) unlinkat(pfd, tmp, 0);
                return r;
        }
        if (fsync(pfd) < 0)
                return -errno;
        return 0;
}
