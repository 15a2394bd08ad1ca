/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer extraction in one pass: a "raw" libarchive reader decompresses the blob; a second
 * reader parses tar from the first one's output through source_read(), which hashes and counts
 * every byte on the way. So the diff_id is known when the last entry is written, and reading
 * stops the moment the stream grows past the manifest's size (a compression bomb is cut off
 * there). A stream that fails verification has already written entries: they are removed
 * again before returning (the destination is a staging dir of the store).
 *
 * Entries are written with plain *at() calls beneath the destination fd, never through a path
 * string: parents are opened with tender_open_beneath (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS,
 * or its equally strict walk where openat2 is missing), and the last component is created with
 * O_EXCL/O_NOFOLLOW semantics. libarchive's own disk writer is not used: it works on path
 * strings and cannot shift owners or filter entries the way the store needs.
 */
#include "tender/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tender/fileio.h"
#include "tender/log.h"

#define EXTRACT_BLOCK_SIZE (64 * 1024)
#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"
/* Directories the archive does not list but its entries need. */
#define IMPLICIT_DIR_MODE 0755

struct dir_meta {
        char *rel;
        mode_t mode;
        struct timespec times[2];
};

struct extract {
        const struct tender_layer *layer;
        struct tender_extract_options opt;
        char diff[TENDER_DIGEST_STRING_MAX];
        int rootfd;
        bool can_chown;
        struct tender_error *err;

        /* the uncompressed stream: from the raw reader, or from a caller's source */
        struct archive *raw, *in;
        tender_extract_source_fn source;
        void *source_data;
        struct tender_sha256 *hash;
        uint64_t total, cap, entries_size;
        bool over_cap;
        char buf[EXTRACT_BLOCK_SIZE];

        /* the entry being written */
        const char *path;

        /* last parent dir opened: tar lists siblings together */
        char *parent_rel;
        int parent_fd;

        /* modes and times of directories, applied at the end (creating children changes
         * mtime, and a read-only mode would get in the way) */
        struct dir_meta *dirs;
        size_t n_dirs, cap_dirs;
};

static void archive_read_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

_printf_(3, 4) static int entry_fail(struct extract *x, int errnum, const char *fmt, ...) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return tender_error_set(x->err, TENDER_ERR_EXTRACT, errnum,
                                "layer %s: entry \"%.200s\": %s", x->diff, x->path, msg);
}

/* entry_fail with ": strerror" for a failed system call (errnum positive or negative). */
static int entry_fail_errno(struct extract *x, int errnum, const char *what) {
        errnum = errnum < 0 ? -errnum : errnum;
        return entry_fail(x, errnum, "%s: %s", what, strerror(errnum));
}

static int archive_fail(struct extract *x, struct archive *a, const char *what) {
        if (x->over_cap)
                return tender_error_set(x->err, TENDER_ERR_VERIFY, EBADMSG,
                                        "layer %s: uncompressed size mismatch (expected %llu "
                                        "bytes, got more)",
                                        x->diff, (unsigned long long) x->layer->uncompressed_size);
        return tender_error_set(x->err, TENDER_ERR_EXTRACT, EBADMSG, "layer %s: %s: %s", x->diff,
                                what, archive_error_string(a) ? archive_error_string(a) : "error");
}

/* ---- the stream ---- */

/* Only compressions libarchive decodes in-process: filter_all would also run external
 * programs (lzop, lrzip, ...) for formats the library was built without. */
static struct archive *raw_reader_new(void) {
        struct archive *a = archive_read_new();
        if (!a)
                return NULL;
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_xz(a);
        archive_read_support_format_raw(a);
        return a;
}

/* Reads the next block of uncompressed tar; 0 at the end. */
static ssize_t stream_next(struct extract *x, const void **ret_buf) {
        const void *buf = x->buf;
        la_ssize_t n;
        if (x->source)
                n = x->source(x->source_data, &buf);
        else if (!x->raw)
                return 0; /* an empty blob */
        else
                n = archive_read_data(x->raw, x->buf, sizeof(x->buf));
        if (n <= 0)
                return n < 0 ? -1 : 0;
        x->total += (uint64_t) n;
        if (x->total > x->cap) {
                x->over_cap = true;
                return -1;
        }
        tender_sha256_update(x->hash, buf, (size_t) n);
        *ret_buf = buf;
        return n;
}

static la_ssize_t source_read(struct archive *a, void *data, const void **ret_buf) {
        struct extract *x = data;
        ssize_t n = stream_next(x, ret_buf);
        if (n < 0)
                archive_set_error(a, EBADMSG, "%s",
                                  x->over_cap ? "stream larger than the layer's size"
                                  : x->raw    ? archive_error_string(x->raw)
                                              : "source failed");
        return n;
}

static int stream_open(struct extract *x, int blob_fd) {
        struct archive_entry *e;
        if (lseek(blob_fd, 0, SEEK_SET) < 0)
                return tender_error_set_errno(x->err, TENDER_ERR_SYSTEM, errno,
                                              "layer %s: seek blob", x->diff);
        x->raw = raw_reader_new();
        if (!x->raw)
                return tender_error_set(x->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        if (archive_read_open_fd(x->raw, blob_fd, EXTRACT_BLOCK_SIZE) != ARCHIVE_OK)
                return archive_fail(x, x->raw, "open blob");
        int r = archive_read_next_header(x->raw, &e);
        if (r == ARCHIVE_EOF) {
                archive_read_free(TAKE_PTR(x->raw)); /* an empty stream */
                return 0;
        }
        if (r < ARCHIVE_WARN)
                return archive_fail(x, x->raw, "read blob");
        return 0;
}

/* After the tar's end: the rest of the stream (padding) counts for the diff_id too. Then the
 * size and digest must be the layer's. */
static int stream_verify(struct extract *x) {
        const void *buf;
        ssize_t n;
        while ((n = stream_next(x, &buf)) > 0)
                ;
        if (n < 0 && !x->raw)
                return tender_error_set(x->err, TENDER_ERR_EXTRACT, EBADMSG,
                                        "layer %s: the stream's source failed", x->diff);
        if (n < 0)
                return archive_fail(x, x->raw, "decompress blob");
        if (x->total != x->layer->uncompressed_size)
                return tender_error_set(x->err, TENDER_ERR_VERIFY, EBADMSG,
                                        "layer %s: uncompressed size mismatch (expected %llu "
                                        "bytes, got %llu)",
                                        x->diff, (unsigned long long) x->layer->uncompressed_size,
                                        (unsigned long long) x->total);
        struct tender_digest got;
        tender_sha256_final(x->hash, &got);
        if (!tender_digest_equal(&got, &x->layer->diff_id)) {
                char gs[TENDER_DIGEST_STRING_MAX];
                return tender_error_set(x->err, TENDER_ERR_VERIFY, EBADMSG,
                                        "layer %s: diff_id mismatch (got %s)", x->diff,
                                        tender_digest_format(&got, gs));
        }
        return 0;
}

/* ---- paths ---- */

/* Normalizes an archive path into rel ("a/b", "" for the root): drops "." and empty components;
 * absolute paths, ".." components and over-long names are refused. */
static int normalize_path(struct extract *x, const char *path, char *rel, size_t size) {
        size_t len = 0;
        if (strlen(path) > x->opt.max_path)
                return entry_fail(x, ENAMETOOLONG, "path longer than %zu bytes", x->opt.max_path);
        if (path[0] == '/')
                return entry_fail(x, EINVAL, "absolute path \"%.100s\" refused", path);
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return entry_fail(x, EINVAL, "\"..\" component in \"%.100s\" refused",
                                          path);
                if (n > NAME_MAX)
                        return entry_fail(x, ENAMETOOLONG, "component longer than %d bytes",
                                          NAME_MAX);
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (len + n + 2 > size)
                                return entry_fail(x, ENAMETOOLONG, "path too long");
                        if (len > 0)
                                rel[len++] = '/';
                        memcpy(rel + len, p, n);
                        len += n;
                }
                p += n;
                p += strspn(p, "/");
        }
        rel[len] = '\0';
        return 0;
}

/* Splits rel into its parent ("" for top level, written to parent) and its last component. */
static const char *split_parent(const char *rel, char *parent) {
        const char *slash = strrchr(rel, '/');
        size_t n = slash ? (size_t) (slash - rel) : 0;
        memcpy(parent, rel, n);
        parent[n] = '\0';
        return slash ? slash + 1 : rel;
}

/* An overlay whiteout (0/0 character device) that an earlier ".wh." entry made. */
static bool is_whiteout_at(int dfd, const char *name) {
        struct stat st;
        return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
               st.st_rdev == makedev(0, 0);
}

/* Makes directory dfd/name opaque, opened without following links; -1 and errno on failure. */
static int set_opaque_at(int dfd, const char *name) {
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 || fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0 ? -1 : 0;
}

/* Creates the directory dfd/comp that an entry needs but the archive does not list. Where an
 * earlier ".wh.<comp>" of this layer left a whiteout, the layer deletes the lower comp and
 * makes a new one (".wh.x" then "x/f", valid OCI without an "x/" entry): the whiteout becomes
 * an opaque directory, as make_dir does for an explicit "x/". */
static int make_implicit_dir(int dfd, const char *comp, uid_t uid, gid_t gid) {
        bool opaque = is_whiteout_at(dfd, comp);
        if (opaque && unlinkat(dfd, comp, 0) < 0)
                return -errno;
        if (mkdirat(dfd, comp, IMPLICIT_DIR_MODE) < 0)
                return errno == EEXIST ? 0 : -errno;
        /* Best effort: owned by the container's root, like the layer's own. */
        if (fchownat(dfd, comp, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                log_debug("chown implicit directory %s: %m", comp);
        if (opaque && set_opaque_at(dfd, comp) < 0)
                return -errno;
        return 0;
}

/* Opens (creating where missing) each component of rel in turn, through the one resolver. */
static int create_beneath(int rootfd, const char *rel, uid_t uid, gid_t gid) {
        char comp[NAME_MAX + 1];
        _cleanup_close_ int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        for (const char *p = rel; *p;) {
                size_t n = strcspn(p, "/");
                memcpy(comp, p, n);
                comp[n] = '\0';
                int r = make_implicit_dir(fd, comp, uid, gid);
                if (r < 0)
                        return r;
                int next = tender_open_beneath(fd, comp, O_RDONLY | O_DIRECTORY);
                if (next < 0)
                        return next;
                close(fd);
                fd = next;
                p += n;
                p += strspn(p, "/");
        }
        return TAKE_FD(fd);
}

/* Opens directory rel (normalized) beneath rootfd without following any symlink or crossing a
 * mount (tender_open_beneath). Returns the fd, -ENOENT when a component is missing (and
 * !create), -ELOOP or -ENOTDIR when one is a symlink or not a directory. */
static int open_beneath(int rootfd, const char *rel, bool create, uid_t uid, gid_t gid) {
        if (!*rel) {
                int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
                return fd < 0 ? -errno : fd;
        }
        int fd = tender_open_beneath(rootfd, rel, O_RDONLY | O_DIRECTORY);
        /* ENOTDIR: perhaps a whiteout that create_beneath replaces by a directory. */
        if (fd >= 0 || !create || (fd != -ENOENT && fd != -ENOTDIR))
                return fd;
        return create_beneath(rootfd, rel, uid, gid);
}

/* ---- entries ---- */

static int map_id(struct extract *x, const char *what, la_int64_t id, uint32_t offset,
                  uint32_t *ret) {
        if (id < 0 || (x->opt.id_range && (uint64_t) id >= x->opt.id_range) ||
            (uint64_t) id + offset >= UINT32_MAX)
                return entry_fail(x, ERANGE, "%s %lld outside the allowed range", what,
                                  (long long) id);
        *ret = (uint32_t) id + offset;
        return 0;
}

/* The directory the entry goes into, created when missing; cached for its siblings. */
static int parent_fd(struct extract *x, const char *parent) {
        if (x->parent_fd >= 0 && STREQ(x->parent_rel, parent))
                return x->parent_fd;
        int fd = open_beneath(x->rootfd, parent, true, x->opt.uid_offset, x->opt.gid_offset);
        if (fd < 0)
                return entry_fail(x, -fd, "parent is a symlink or not a directory (%s)",
                                  strerror(-fd));
        if (x->parent_fd >= 0)
                close(x->parent_fd);
        x->parent_fd = fd;
        strcpy(x->parent_rel, parent);
        return fd;
}

/* Makes room for a new non-directory at dfd/base: an earlier non-directory entry of the same
 * path is replaced (tar semantics); a directory is not. */
static int replace_existing(struct extract *x, int dfd, const char *base) {
        struct stat st;
        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : entry_fail_errno(x, errno, "stat");
        if (S_ISDIR(st.st_mode))
                return entry_fail(x, EEXIST, "path is both a directory and a non-directory");
        if (unlinkat(dfd, base, 0) < 0)
                return entry_fail_errno(x, errno, "replace");
        return 0;
}

static bool xattr_allowed(const char *name) {
        /* trusted.* and security.* would grant what the signed manifest does not express:
         * overlay metadata (redirects, opaque), file capabilities, LSM labels.
         * user.overlay.* is the same overlay metadata where overlayfs is mounted with
         * "userxattr" (unprivileged overlays): filtered whatever tenderd's mount options are. */
        if (strncmp(name, "user.overlay.", 13) == 0)
                return false;
        return strncmp(name, "user.", 5) == 0 || STREQ(name, "system.posix_acl_access") ||
               STREQ(name, "system.posix_acl_default");
}

static int apply_xattrs(struct extract *x, int fd, struct archive_entry *e) {
        const char *name;
        const void *value;
        size_t size;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (!xattr_allowed(name)) {
                        log_debug("layer %s: %s: dropping xattr %s", x->diff, x->path, name);
                        continue;
                }
                if (fsetxattr(fd, name, value, size, 0) < 0) {
                        if (errno == ENOTSUP || errno == EOPNOTSUPP)
                                continue; /* the store's file system has none */
                        return entry_fail_errno(x, errno, "set xattr");
                }
        }
        return 0;
}

static void entry_times(struct archive_entry *e, struct timespec t[2]) {
        t[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
        t[0] = archive_entry_atime_is_set(e)
                       ? (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)}
                       : t[1];
}

/* Owner, xattrs, mode and times of a file or directory just created and opened as fd. */
static int apply_meta(struct extract *x, int fd, struct archive_entry *e, uid_t uid, gid_t gid,
                      mode_t mode, bool times) {
        if (fchown(fd, uid, gid) < 0 && (x->can_chown || errno != EPERM))
                return entry_fail_errno(x, errno, "chown");
        int r = apply_xattrs(x, fd, e);
        if (r < 0)
                return r;
        /* After chown, which clears setuid/setgid. */
        if (fchmod(fd, mode) < 0)
                return entry_fail_errno(x, errno, "chmod");
        if (times) {
                struct timespec t[2];
                entry_times(e, t);
                if (futimens(fd, t) < 0)
                        return entry_fail_errno(x, errno, "set times");
        }
        return 0;
}

static int write_data(struct extract *x, int fd, la_int64_t size) {
        const void *buf;
        size_t n;
        la_int64_t offset, end = 0;
        int r;
        while ((r = archive_read_data_block(x->in, &buf, &n, &offset)) == ARCHIVE_OK) {
                for (size_t done = 0; done < n;) {
                        ssize_t w = pwrite(fd, (const char *) buf + done, n - done,
                                           (off_t) offset + (off_t) done);
                        if (w < 0)
                                return entry_fail_errno(x, errno, "write");
                        done += (size_t) w;
                }
                if (n > 0 && offset + (la_int64_t) n > end)
                        end = offset + (la_int64_t) n;
        }
        if (r != ARCHIVE_EOF)
                return archive_fail(x, x->in, x->path);
        /* A sparse file's trailing hole. */
        if (end < size && ftruncate(fd, (off_t) size) < 0)
                return entry_fail_errno(x, errno, "truncate");
        return 0;
}

static int make_file(struct extract *x, int dfd, const char *base, struct archive_entry *e,
                     uid_t uid, gid_t gid, mode_t mode) {
        int r = replace_existing(x, dfd, base);
        if (r < 0)
                return r;
        _cleanup_close_ int fd =
                openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return entry_fail_errno(x, errno, "create");
        r = write_data(x, fd, archive_entry_size(e));
        if (r < 0)
                return r;
        return apply_meta(x, fd, e, uid, gid, mode, true);
}

static int defer_dir(struct extract *x, const char *rel, struct archive_entry *e, mode_t mode) {
        if (x->n_dirs == x->cap_dirs) {
                size_t cap = x->cap_dirs ? x->cap_dirs * 2 : 64;
                struct dir_meta *d = realloc(x->dirs, cap * sizeof(*d));
                if (!d)
                        return tender_error_set(x->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
                x->dirs = d;
                x->cap_dirs = cap;
        }
        struct dir_meta *d = &x->dirs[x->n_dirs];
        d->rel = strdup(rel);
        if (!d->rel)
                return tender_error_set(x->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        d->mode = mode;
        entry_times(e, d->times);
        x->n_dirs++;
        return 0;
}

static int make_dir(struct extract *x, int dfd, const char *base, const char *rel,
                    struct archive_entry *e, uid_t uid, gid_t gid, mode_t mode) {
        struct stat st;
        /* ".wh.d" then "d/": the layer deletes the lower d and makes a new one, which overlay
         * expresses as an opaque directory. */
        bool opaque = is_whiteout_at(dfd, base);
        if (opaque && unlinkat(dfd, base, 0) < 0)
                return entry_fail_errno(x, errno, "replace whiteout");
        if (mkdirat(dfd, base, 0700) < 0 && errno != EEXIST)
                return entry_fail_errno(x, errno, "mkdir");
        _cleanup_close_ int fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if ((errno == ENOTDIR || errno == ELOOP) &&
                    fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
                        return entry_fail(x, EEXIST,
                                          "path is both a directory and a non-directory");
                return entry_fail_errno(x, errno, "open directory");
        }
        if (opaque && fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
                return entry_fail_errno(x, errno, "set " OVERLAY_OPAQUE_XATTR);
        /* Owner-only until the end, as the archive's mode may be read-only. */
        int r = apply_meta(x, fd, e, uid, gid, 0700, false);
        if (r < 0)
                return r;
        return defer_dir(x, rel, e, mode);
}

static int make_symlink(struct extract *x, int dfd, const char *base, struct archive_entry *e,
                        uid_t uid, gid_t gid) {
        const char *target = archive_entry_symlink(e);
        if (!target || !*target || strlen(target) > x->opt.max_path)
                return entry_fail(x, EINVAL, "symlink target missing or too long");
        int r = replace_existing(x, dfd, base);
        if (r < 0)
                return r;
        /* The target is only text: nothing resolves it during extraction. */
        if (symlinkat(target, dfd, base) < 0)
                return entry_fail_errno(x, errno, "symlink");
        if (fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 &&
            (x->can_chown || errno != EPERM))
                return entry_fail_errno(x, errno, "chown");
        struct timespec t[2];
        entry_times(e, t);
        if (utimensat(dfd, base, t, AT_SYMLINK_NOFOLLOW) < 0)
                return entry_fail_errno(x, errno, "set times");
        return 0;
}

/* A hardlink names an earlier non-directory entry of this layer, reached without symlinks:
 * the destination started empty, so whatever is beneath it came from this archive. */
static int make_hardlink(struct extract *x, int dfd, const char *base, const char *entry_rel,
                         const char *target) {
        char rel[TENDER_EXTRACT_MAX_PATH + 1], parent[TENDER_EXTRACT_MAX_PATH + 1];
        struct stat st;
        char *rel_buf = strlen(target) < sizeof(rel) ? rel : NULL;
        int r;

        if (!rel_buf || target[0] == '/' || normalize_path(x, target, rel, sizeof(rel)) < 0 ||
            !*rel)
                return entry_fail(x, EINVAL, "hardlink target \"%.100s\" leaves the layer", target);
        const char *tbase = split_parent(rel, parent);
        _cleanup_close_ int tfd = open_beneath(x->rootfd, parent, false, 0, 0);
        if (tfd < 0 || fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
                return entry_fail(x, EINVAL,
                                  "hardlink target \"%.100s\" is not an earlier file of the layer",
                                  target);
        if (STREQ(rel, entry_rel))
                return 0; /* a link to itself */
        r = replace_existing(x, dfd, base);
        if (r < 0)
                return r;
        /* Flags 0: a symlink target is linked itself, never followed. */
        if (linkat(tfd, tbase, dfd, base, 0) < 0)
                return entry_fail_errno(x, errno, "hardlink");
        return 0;
}

static int make_special(struct extract *x, int dfd, const char *base, struct archive_entry *e,
                        uid_t uid, gid_t gid, mode_t mode) {
        unsigned type = archive_entry_filetype(e);
        if (type == AE_IFSOCK || !x->opt.allow_devices) {
                /* Devices come from the runtime's configuration, not from an image. */
                log_debug("layer %s: dropping special file %s", x->diff, x->path);
                return 0;
        }
        int r = replace_existing(x, dfd, base);
        if (r < 0)
                return r;
        if (mknodat(dfd, base, (mode_t) type | mode, archive_entry_rdev(e)) < 0)
                return entry_fail_errno(x, errno, "mknod");
        if (fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 &&
            (x->can_chown || errno != EPERM))
                return entry_fail_errno(x, errno, "chown");
        return 0;
}

/* ".wh.<name>" becomes a 0/0 character device <name>, ".wh..wh..opq" the opaque xattr on the
 * directory. Returns 1 when the entry was a whiteout, 0 when not. */
static int handle_whiteout(struct extract *x, int dfd, const char *base) {
        if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) != 0)
                return 0;
        if (STREQ(base, WHITEOUT_OPAQUE)) {
                if (fsetxattr(dfd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
                        return entry_fail_errno(x, errno, "set " OVERLAY_OPAQUE_XATTR);
                return 1;
        }
        const char *name = base + strlen(WHITEOUT_PREFIX);
        if (strncmp(base, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0 || !*name ||
            STREQ(name, ".") || STREQ(name, ".."))
                return entry_fail(x, EINVAL, "invalid whiteout");
        /* A whiteout only hides lower layers (OCI): an entry of this layer with the same name
         * stays, and a directory of this layer becomes opaque instead. */
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (!S_ISDIR(st.st_mode))
                        return 1;
                if (set_opaque_at(dfd, name) < 0)
                        return entry_fail_errno(x, errno, "set " OVERLAY_OPAQUE_XATTR);
                return 1;
        }
        if (mknodat(dfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
                return entry_fail_errno(x, errno, "create whiteout");
        return 1;
}

static int extract_entry(struct extract *x, struct archive_entry *e) {
        char rel[TENDER_EXTRACT_MAX_PATH + 1], parent[TENDER_EXTRACT_MAX_PATH + 1];
        unsigned type = archive_entry_filetype(e);
        const char *hardlink = archive_entry_hardlink(e);
        uid_t uid = 0;
        gid_t gid = 0;
        int r;

        x->path = archive_entry_pathname(e);
        if (!x->path)
                return tender_error_set(x->err, TENDER_ERR_EXTRACT, EINVAL,
                                        "layer %s: entry without a readable path", x->diff);
        r = normalize_path(x, x->path, rel, sizeof(rel));
        if (r < 0)
                return r;
        if (!*rel) /* "./" is the destination itself, made by the caller */
                return type == AE_IFDIR
                               ? 0
                               : entry_fail(x, EINVAL, "the layer root must be a directory");
        if (archive_entry_size(e) > 0 && !hardlink) {
                x->entries_size += (uint64_t) archive_entry_size(e);
                if (x->entries_size > x->opt.max_total_size)
                        return entry_fail(x, EFBIG, "entries larger than %llu bytes in total",
                                          (unsigned long long) x->opt.max_total_size);
        }
        const char *base = split_parent(rel, parent);
        int dfd = parent_fd(x, parent);
        if (dfd < 0)
                return dfd;
        r = handle_whiteout(x, dfd, base);
        if (r != 0)
                return r < 0 ? r : 0;
        if (hardlink)
                return make_hardlink(x, dfd, base, rel, hardlink);

        r = map_id(x, "uid", archive_entry_uid(e), x->opt.uid_offset, &uid);
        if (r >= 0)
                r = map_id(x, "gid", archive_entry_gid(e), x->opt.gid_offset, &gid);
        if (r < 0)
                return r;
        mode_t mode = archive_entry_perm(e) & 07777;
        if (type != AE_IFDIR && !x->opt.allow_setid)
                mode &= ~(mode_t) (S_ISUID | S_ISGID);

        switch (type) {
        case AE_IFREG:
                return make_file(x, dfd, base, e, uid, gid, mode);
        case AE_IFDIR:
                return make_dir(x, dfd, base, rel, e, uid, gid, mode);
        case AE_IFLNK:
                return make_symlink(x, dfd, base, e, uid, gid);
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
        case AE_IFSOCK:
                return make_special(x, dfd, base, e, uid, gid, mode);
        default:
                return entry_fail(x, EINVAL, "unknown file type %o", type);
        }
}

static int finish_dirs(struct extract *x) {
        for (size_t i = 0; i < x->n_dirs; i++) {
                struct dir_meta *d = &x->dirs[i];
                _cleanup_close_ int fd = open_beneath(x->rootfd, d->rel, false, 0, 0);
                x->path = d->rel;
                if (fd < 0)
                        return entry_fail_errno(x, fd, "reopen directory");
                if (fchmod(fd, d->mode) < 0 || futimens(fd, d->times) < 0)
                        return entry_fail_errno(x, errno, "set directory mode and times");
        }
        return 0;
}

static int extract_entries(struct extract *x) {
        _cleanup_(archive_read_freep) struct archive *in = archive_read_new();
        struct archive_entry *e;
        uint64_t n = 0;
        int r;

        if (!in)
                return tender_error_set(x->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        x->in = in;
        archive_read_support_format_tar(in); /* ustar, pax, gnutar; no second decompression */
        if (archive_read_open(in, x, NULL, source_read, NULL) != ARCHIVE_OK)
                return archive_fail(x, in, "read tar");
        for (;;) {
                r = archive_read_next_header(in, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return archive_fail(x, in, "read tar");
                if (++n > x->opt.max_entries)
                        return tender_error_set(x->err, TENDER_ERR_EXTRACT, E2BIG,
                                                "layer %s: more than %llu entries", x->diff,
                                                (unsigned long long) x->opt.max_entries);
                r = extract_entry(x, e);
                if (r < 0)
                        return r;
        }
        r = finish_dirs(x);
        if (r < 0)
                return r;
        return n > INT_MAX ? INT_MAX : (int) n;
}

/* Empties the destination after a failure, so that nothing of a refused layer stays. */
static void empty_dir(int dirfd) {
        _cleanup_close_ int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d)
                return;
        fd = -1;
        for (struct dirent *de; (de = readdir(d));)
                if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, ".."))
                        (void) tender_rm_rf_at(dirfd, de->d_name);
        closedir(d);
}

static void extract_done(struct extract *x) {
        if (x->raw)
                archive_read_free(x->raw);
        tender_sha256_free(x->hash);
        if (x->parent_fd >= 0)
                close(x->parent_fd);
        free(x->parent_rel);
        for (size_t i = 0; i < x->n_dirs; i++)
                free(x->dirs[i].rel);
        free(x->dirs);
}

/* Extracts from a blob (blob_fd >= 0) or from the caller's source, verifying the diff_id; on
 * failure the destination is emptied again. */
static int extract_run(int blob_fd, tender_extract_source_fn source, void *userdata, int dest_fd,
                       const struct tender_layer *layer, const struct tender_extract_options *opts,
                       struct tender_error *err) {
        _cleanup_free_ struct extract *x = calloc(1, sizeof(*x));
        int r;

        if (!x)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        x->layer = layer;
        x->err = err;
        x->rootfd = dest_fd;
        x->parent_fd = -1;
        x->can_chown = geteuid() == 0;
        if (opts)
                x->opt = *opts;
        if (!x->opt.max_entries)
                x->opt.max_entries = TENDER_EXTRACT_MAX_ENTRIES;
        if (!x->opt.max_path || x->opt.max_path > TENDER_EXTRACT_MAX_PATH)
                x->opt.max_path = TENDER_EXTRACT_MAX_PATH;
        if (!x->opt.max_total_size || x->opt.max_total_size > layer->uncompressed_size)
                x->opt.max_total_size = layer->uncompressed_size;
        x->cap = layer->uncompressed_size;
        x->source = source;
        x->source_data = userdata;
        tender_digest_format(&layer->diff_id, x->diff);

        x->hash = tender_sha256_new();
        x->parent_rel = malloc(TENDER_EXTRACT_MAX_PATH + 1);
        if (!x->hash || !x->parent_rel) {
                extract_done(x);
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        }
        if (source)
                r = extract_entries(x);
        else {
                r = stream_open(x, blob_fd);
                if (r >= 0 && x->raw)
                        r = extract_entries(x);
        }
        if (r >= 0) {
                int v = stream_verify(x);
                r = v < 0 ? v : r;
        }
        extract_done(x);
        if (r < 0)
                empty_dir(dest_fd);
        return r;
}

int tender_layer_extract_at(int blob_fd, int dest_fd, const struct tender_layer *layer,
                            const struct tender_extract_options *opts, struct tender_error *err) {
        return extract_run(blob_fd, NULL, NULL, dest_fd, layer, opts, err);
}

/* For layer deltas (lib/delta_apply.c): the same extraction and verification, with the
 * uncompressed tar coming from the caller's source instead of a blob. */
int tender_layer_extract_source_at(tender_extract_source_fn source, void *userdata, int dest_fd,
                                   const struct tender_layer *layer,
                                   const struct tender_extract_options *opts,
                                   struct tender_error *err) {
        return extract_run(-1, source, userdata, dest_fd, layer, opts, err);
}

int tender_layer_extract(int blob_fd, const char *dest_dir, const struct tender_layer *layer,
                         struct tender_error *err) {
        _cleanup_close_ int fd = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open %s", dest_dir);
        int r = tender_layer_extract_at(blob_fd, fd, layer, NULL, err);
        return r < 0 ? r : 0;
}
