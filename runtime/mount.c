/* SPDX-License-Identifier: Apache-2.0 */
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#define PROC_FD_PATH_MAX 64

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

static const struct {
        const char *target;
        const char *name;
} dev_links[] = {
        {"pts/ptmx", "ptmx"},          {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
};

struct proc_path {
        char s[PROC_FD_PATH_MAX];
};

/* Mounting on /proc/self/fd/N acts on exactly the file the descriptor holds, so a symlink
 * swapped in after the check cannot redirect the mount. */
static struct proc_path fd_path(int fd) {
        struct proc_path p;
        snprintf(p.s, sizeof(p.s), "/proc/self/fd/%d", fd);
        return p;
}

/* Resolves rel beneath rootfd: symlinks are followed as if rootfd were "/". Without openat2
 * (before Linux 5.6) every component is opened with O_NOFOLLOW and symlinks are refused.
 * Not lib's tender_open_beneath, which refuses every symlink: a container's mount destination
 * may legitimately pass through a symlink of its image (/var/run -> /run), and RESOLVE_IN_ROOT
 * follows it the way the container itself will see the path. */
static int resolve(int rootfd, const char *rel, int flags) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int) syscall(SYS_openat2, rootfd, rel[0] ? rel : ".", &how, sizeof(how));
        if (fd >= 0 || errno != ENOSYS)
                return fd < 0 ? -errno : fd;

        char buf[PATH_MAX];
        if (strlen(rel) >= sizeof(buf))
                return -ENAMETOOLONG;
        strcpy(buf, rel);
        int cur = openat(rootfd, ".", O_PATH | O_CLOEXEC);
        char *save = NULL;
        for (char *c = strtok_r(buf, "/", &save); c && cur >= 0; c = strtok_r(NULL, "/", &save)) {
                if (STREQ(c, ".."))
                        return close(cur), -EPERM;
                int next = openat(cur, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                int saved = errno;
                close(cur);
                if (next < 0)
                        return -saved;
                struct stat st;
                if (fstat(next, &st) < 0 || S_ISLNK(st.st_mode))
                        return close(next), -ELOOP;
                cur = next;
        }
        if (cur < 0 || !(flags & ~(O_PATH | O_DIRECTORY | O_NOFOLLOW)))
                return cur;
        struct proc_path p = fd_path(cur);
        fd = open(p.s, flags | O_CLOEXEC);
        int saved = errno;
        close(cur);
        return fd < 0 ? -saved : fd;
}

/* Opens (O_PATH) the mount point dest beneath rootfd, creating missing directories, and the
 * last component as an empty file when as_file is set. */
static int make_target(int rootfd, const char *dest, bool as_file) {
        char rel[PATH_MAX];
        const char *d = dest + strspn(dest, "/");
        if (strlen(d) >= sizeof(rel))
                return -ENAMETOOLONG;
        strcpy(rel, d);
        size_t len = strlen(rel);
        while (len > 0 && rel[len - 1] == '/')
                rel[--len] = '\0';

        int fd = resolve(rootfd, rel, O_PATH);
        if (fd != -ENOENT)
                return fd;
        for (size_t i = 0; i <= len; i++) {
                if (rel[i] != '/' && rel[i] != '\0')
                        continue;
                char saved = rel[i];
                rel[i] = '\0';
                fd = resolve(rootfd, rel, O_PATH);
                if (fd == -ENOENT) {
                        char *slash = strrchr(rel, '/');
                        const char *name = slash ? slash + 1 : rel;
                        if (slash)
                                *slash = '\0';
                        _cleanup_close_ int parent =
                                resolve(rootfd, slash ? rel : "", O_PATH | O_DIRECTORY);
                        if (slash)
                                *slash = '/';
                        if (parent < 0)
                                return parent;
                        int r;
                        if (saved == '\0' && as_file) {
                                r = openat(parent, name,
                                           O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                                           0644);
                                if (r >= 0)
                                        close(r);
                        } else {
                                r = mkdirat(parent, name, 0755);
                        }
                        if (r < 0 && errno != EEXIST)
                                return -errno;
                        fd = resolve(rootfd, rel, O_PATH);
                }
                rel[i] = saved;
                if (fd < 0)
                        return fd;
                if (saved != '\0')
                        close(fd);
        }
        return fd;
}

static int mount_error(struct tender_error *err, const char *what, const char *dest) {
        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "%s %s", what, dest);
}

static int remount_flags(int rootfd, const struct tender_rt_mount *m, struct tender_error *err) {
        unsigned long extra = m->flags & ~(MS_BIND | MS_REC);
        if (!extra && !m->propagation)
                return 0;
        /* Reopen: the new mount now covers the mount point the first descriptor held. */
        _cleanup_close_ int fd = make_target(rootfd, m->destination, false);
        if (fd < 0) {
                errno = -fd;
                return mount_error(err, "reopen mount point", m->destination);
        }
        struct proc_path p = fd_path(fd);
        if (extra && mount(NULL, p.s, NULL, MS_REMOUNT | MS_BIND | extra, NULL) < 0)
                return mount_error(err, "remount", m->destination);
        if (m->propagation && mount(NULL, p.s, NULL, m->propagation, NULL) < 0)
                return mount_error(err, "set propagation of", m->destination);
        return 0;
}

static int mount_one(int rootfd, const struct tender_rt_spec *spec, const struct tender_rt_mount *m,
                     struct tender_error *err) {
        const char *type = m->type;
        if (!m->bind && (STREQ(type, "cgroup") || STREQ(type, "cgroup2"))) {
                struct statfs fs;
                /* v1 hierarchies are not mounted into containers yet; pure v2 is. */
                if (statfs("/sys/fs/cgroup", &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC)
                        return 0;
                type = "cgroup2";
        }

        _cleanup_free_ char *source = NULL;
        bool is_dir = true;
        if (m->bind) {
                if (m->source[0] != '/' && asprintf(&source, "%s/%s", spec->bundle, m->source) < 0)
                        return -ENOMEM;
                struct stat st;
                if (stat(source ? source : m->source, &st) < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                      "bind source %s", m->source);
                is_dir = S_ISDIR(st.st_mode);
        }
        _cleanup_close_ int fd = make_target(rootfd, m->destination, !is_dir);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, -fd, "create mount point %s",
                                              m->destination);
        struct proc_path p = fd_path(fd);
        if (m->bind) {
                if (mount(source ? source : m->source, p.s, NULL, m->flags & (MS_BIND | MS_REC),
                          NULL) < 0)
                        return mount_error(err, "bind mount on", m->destination);
                return remount_flags(rootfd, m, err);
        }
        if (mount(m->source ? m->source : type, p.s, type, m->flags, m->data) < 0) {
                /* sysfs needs a network namespace owned by our user namespace; without one,
                 * bind the host's /sys instead, as runc and crun do. */
                if (errno == EPERM && STREQ(type, "sysfs") &&
                    tender_rt_spec_namespace(spec, CLONE_NEWUSER)) {
                        struct tender_rt_mount bind = *m;
                        bind.flags = (m->flags & ~(unsigned long) MS_REMOUNT) | MS_BIND | MS_REC;
                        if (mount("/sys", p.s, NULL, MS_BIND | MS_REC, NULL) < 0)
                                return mount_error(err, "bind mount /sys on", m->destination);
                        return remount_flags(rootfd, &bind, err);
                }
                return mount_error(err, "mount", m->destination);
        }
        if (m->propagation) {
                struct tender_rt_mount only = *m;
                only.flags = 0;
                return remount_flags(rootfd, &only, err);
        }
        return 0;
}

static bool spec_has_dev_tmpfs(const struct tender_rt_spec *spec) {
        for (size_t i = 0; i < spec->n_mounts; i++) {
                const struct tender_rt_mount *m = &spec->mounts[i];
                if (!m->bind && STREQ(m->type, "tmpfs") &&
                    STREQ(m->destination + strspn(m->destination, "/"), "dev"))
                        return true;
        }
        return false;
}

/* linux.devices: mknod where we may; in a user namespace (no mknod) a bind mount of the host's
 * node of the same path, as runc and crun do for rootless containers. */
static int create_device(int rootfd, const struct tender_rt_device *d, bool userns,
                         struct tender_error *err) {
        if (userns) {
                struct stat st;
                if (stat(d->path, &st) < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                      "linux.devices %s: no such node on the host "
                                                      "to bind in a user namespace",
                                                      d->path);
                _cleanup_close_ int fd = make_target(rootfd, d->path, true);
                if (fd < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, -fd,
                                                      "linux.devices %s", d->path);
                struct proc_path p = fd_path(fd);
                if (mount(d->path, p.s, NULL, MS_BIND, NULL) < 0)
                        return mount_error(err, "linux.devices: bind mount", d->path);
                return 0;
        }
        char rel[PATH_MAX];
        snprintf(rel, sizeof(rel), "%s", d->path + 1);
        char *slash = strrchr(rel, '/');
        const char *name = slash ? slash + 1 : rel;
        if (slash)
                *slash = '\0';
        _cleanup_close_ int parent = -1;
        if (slash) {
                char dir[PATH_MAX];
                snprintf(dir, sizeof(dir), "/%s", rel);
                parent = make_target(rootfd, dir, false);
        } else {
                parent = resolve(rootfd, "", O_PATH | O_DIRECTORY);
        }
        if (parent < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, -parent,
                                              "linux.devices %s: parent directory", d->path);
        _cleanup_close_ int dirfd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
        if (dirfd < 0 || (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT) ||
            mknodat(dirfd, name, type | (d->mode & 07777), makedev(d->major, d->minor)) < 0 ||
            fchownat(dirfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            fchmodat(dirfd, name, d->mode & 07777, 0) < 0)
                return mount_error(err, "linux.devices: create", d->path);
        return 0;
}

static int create_devices(int rootfd, const struct tender_rt_spec *spec, struct tender_error *err) {
        bool userns = tender_rt_spec_namespace(spec, CLONE_NEWUSER) != NULL;
        for (size_t i = 0; i < spec->n_devices; i++) {
                int r = create_device(rootfd, &spec->devices[i], userns, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int setup_dev(int rootfd, struct tender_error *err) {
        _cleanup_close_ int devfd = resolve(rootfd, "dev", O_PATH | O_DIRECTORY);
        if (devfd < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, -devfd, "open /dev");
        for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
                char host[32];
                snprintf(host, sizeof(host), "/dev/%s", dev_nodes[i]);
                int c = openat(devfd, dev_nodes[i],
                               O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
                if (c < 0 && errno != EEXIST)
                        return mount_error(err, "create", host);
                if (c >= 0)
                        close(c);
                _cleanup_close_ int fd =
                        openat(devfd, dev_nodes[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return mount_error(err, "open", host);
                struct proc_path p = fd_path(fd);
                if (mount(host, p.s, NULL, MS_BIND, NULL) < 0)
                        return mount_error(err, "bind mount", host);
        }
        if ((mkdirat(devfd, "pts", 0755) < 0 && errno != EEXIST) ||
            (mkdirat(devfd, "shm", 01777) < 0 && errno != EEXIST))
                return mount_error(err, "create directories in", "/dev");
        for (size_t i = 0; i < ELEMENTSOF(dev_links); i++)
                if (symlinkat(dev_links[i].target, devfd, dev_links[i].name) < 0 && errno != EEXIST)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                      "create symlink /dev/%s", dev_links[i].name);
        return 0;
}

static int do_pivot_root(const char *rootfs, struct tender_error *err) {
        if (chdir(rootfs) < 0)
                return mount_error(err, "chdir", rootfs);
        /* pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." then
         * leaves the new root alone, without needing a directory for the old root. */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return mount_error(err, "pivot_root to", rootfs);
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return mount_error(err, "make old root slave", "/");
        if (umount2(".", MNT_DETACH) < 0)
                return mount_error(err, "detach old root", "/");
        if (chdir("/") < 0)
                return mount_error(err, "chdir", "/");
        return 0;
}

static unsigned long locked_flags(const char *path) {
        struct statvfs s;
        unsigned long flags = 0;
        if (statvfs(path, &s) < 0)
                return 0;
        if (s.f_flag & ST_NOSUID)
                flags |= MS_NOSUID;
        if (s.f_flag & ST_NODEV)
                flags |= MS_NODEV;
        if (s.f_flag & ST_NOEXEC)
                flags |= MS_NOEXEC;
        /* In a user namespace the atime flags of a mount are locked as well. */
        if (s.f_flag & ST_NOATIME)
                flags |= MS_NOATIME;
        if (s.f_flag & ST_NODIRATIME)
                flags |= MS_NODIRATIME;
        if (s.f_flag & ST_RELATIME)
                flags |= MS_RELATIME;
        return flags;
}

static int mask_paths(const struct tender_rt_spec *spec, struct tender_error *err) {
        for (size_t i = 0; spec->masked_paths && spec->masked_paths[i]; i++) {
                const char *p = spec->masked_paths[i];
                struct stat st;
                if (lstat(p, &st) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return mount_error(err, "mask", p);
                }
                int r = S_ISDIR(st.st_mode)
                                ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0,mode=0555")
                                : mount("/dev/null", p, NULL, MS_BIND, NULL);
                if (r < 0)
                        return mount_error(err, "mask", p);
        }
        for (size_t i = 0; spec->readonly_paths && spec->readonly_paths[i]; i++) {
                const char *p = spec->readonly_paths[i];
                if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return mount_error(err, "bind mount read-only", p);
                }
                if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(p), NULL) <
                    0)
                        return mount_error(err, "remount read-only", p);
        }
        return 0;
}

/* The mount point under which path lies: the longest mount point in mountinfo that is path or
 * one of its parents (mount points with escaped characters never match: then "/"). */
static int parent_mount(const char *path, char *out, size_t size) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return -errno;
        char line[4096], mp[PATH_MAX];
        size_t best = 0;
        snprintf(out, size, "/");
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1) {
                        size_t n = strlen(mp);
                        bool under = STREQ(mp, "/") ||
                                     (strncmp(path, mp, n) == 0 && (!path[n] || path[n] == '/'));
                        if (under && n > best) {
                                best = n;
                                snprintf(out, size, "%s", mp);
                        }
                }
        return 0;
}

/* pivot_root refuses a new root whose parent mount is shared (rootfsPropagation "shared"):
 * as runc does, that parent becomes private in our namespace first. */
static int parent_private(const char *rootfs, struct tender_error *err) {
        char mp[PATH_MAX];
        int r = parent_mount(rootfs, mp, sizeof(mp));
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "read mountinfo");
        if (mount(NULL, mp, NULL, MS_PRIVATE, NULL) < 0)
                return mount_error(err, "make private", mp);
        return 0;
}

/* No mount namespace of its own (none listed): the container shares the caller's mounts, as
 * the spec says; its root is the rootfs by chroot, for pivot_root would move the caller's. */
static int enter_root(const struct tender_rt_spec *spec, bool own_ns, struct tender_error *err) {
        if (own_ns)
                return do_pivot_root(spec->rootfs, err);
        if (chdir(spec->rootfs) < 0 || chroot(".") < 0 || chdir("/") < 0)
                return mount_error(err, "chroot to", spec->rootfs);
        return 0;
}

int tender_rt_mount_setup(const struct tender_rt_spec *spec, struct tender_error *err) {
        bool own_ns = tender_rt_spec_namespace(spec, CLONE_NEWNS) != NULL;
        int r;
        if (own_ns && mount(NULL, "/", NULL, spec->rootfs_propagation, NULL) < 0)
                return mount_error(err, "set propagation of", "/");
        /* A recursive slave, private or unbindable / leaves no shared mount above the rootfs;
         * only then is reading mountinfo (costly with many mounts) spared. */
        bool rec_unshared =
                (spec->rootfs_propagation & MS_REC) && !(spec->rootfs_propagation & MS_SHARED);
        if (own_ns && !rec_unshared && (r = parent_private(spec->rootfs, err)) < 0)
                return r;
        if (mount(spec->rootfs, spec->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return mount_error(err, "bind mount rootfs", spec->rootfs);
        /* pivot_root refuses a shared new root. */
        if (own_ns && mount(NULL, spec->rootfs, NULL, MS_PRIVATE, NULL) < 0)
                return mount_error(err, "make private", spec->rootfs);

        _cleanup_close_ int rootfd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return mount_error(err, "open rootfs", spec->rootfs);
        for (size_t i = 0; i < spec->n_mounts; i++)
                if ((r = mount_one(rootfd, spec, &spec->mounts[i], err)) < 0)
                        return r;
        if (spec_has_dev_tmpfs(spec) && (r = setup_dev(rootfd, err)) < 0)
                return r;
        return create_devices(rootfd, spec, err);
}

int tender_rt_mount_enter(const struct tender_rt_spec *spec, struct tender_error *err) {
        bool own_ns = tender_rt_spec_namespace(spec, CLONE_NEWNS) != NULL;
        int r;
        if ((r = enter_root(spec, own_ns, err)) < 0 || (r = mask_paths(spec, err)) < 0)
                return r;
        /* On the new root, now that it is "/" (the bind mount was private until here). */
        if (own_ns && spec->rootfs_propagation_set &&
            mount(NULL, "/", NULL, spec->rootfs_propagation, NULL) < 0)
                return mount_error(err, "set linux.rootfsPropagation of", "/");
        if (spec->readonly &&
            mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags("/"), NULL) < 0)
                return mount_error(err, "remount read-only", "/");
        return 0;
}
