/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer extraction in two passes over the blob:
 *
 * 1. decompress only (libarchive "raw" format), hashing and counting the tar stream, so that a
 *    wrong diff_id or size is refused before a single file is written;
 * 2. read it as tar and create the entries with archive_write_disk beneath dest_dir.
 *
 * Two passes cost a second decompression, but keep the code simple and never leave a half
 * written layer for a stream that fails verification. The blob is the caller's verified store
 * file, so it does not change between the passes.
 *
 * Every entry path is normalized and checked here (relative, no "..", no existing symlink or
 * non-directory on the way) before it is rewritten to <realpath of dest_dir>/<path>, and
 * archive_write_disk's own SECURE_SYMLINKS/SECURE_NODOTDOT checks stay on as a second line.
 * (SECURE_NOABSOLUTEPATHS cannot be used: the rewritten paths are absolute by construction.)
 */
#include "tender/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tender/log.h"

#define EXTRACT_BLOCK_SIZE (64 * 1024)
#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

#define EXTRACT_FLAGS                                                                              \
        (ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |                       \
         ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_TIME |                     \
         ARCHIVE_EXTRACT_XATTR)

struct extract {
        const struct tender_layer *layer;
        char diff[TENDER_DIGEST_STRING_MAX];
        char *root; /* realpath of dest_dir */
        int rootfd;
        struct archive *in, *out;
        struct tender_error *err;
};

static void archive_read_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

static void archive_write_freep(struct archive **a) {
        if (*a)
                archive_write_free(*a);
}

/* Only compressions libarchive decodes in-process: filter_all would also run external
 * programs (lzop, lrzip, ...) for formats the library was built without. */
static struct archive *reader_new(bool raw) {
        struct archive *a = archive_read_new();
        if (!a)
                return NULL;
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_xz(a);
        if (raw)
                archive_read_support_format_raw(a);
        else
                archive_read_support_format_tar(a); /* ustar, pax, gnutar */
        return a;
}

/* what: the entry's path as in the archive, or the step that failed. */
static int archive_fail(struct extract *x, struct archive *a, const char *what) {
        /* Reader failures mean a corrupt stream; disk writer failures keep their errno
         * (ENOSPC, EACCES, ...). libarchive uses -1 and EINVAL-like codes for "misc". */
        int e = a == x->out && archive_errno(a) > 0 ? archive_errno(a)
                : a == x->out                       ? EIO
                                                    : EBADMSG;
        return tender_error_set(x->err, TENDER_ERR_EXTRACT, e, "layer %s: %s: %s", x->diff, what,
                                archive_error_string(a) ? archive_error_string(a) : "error");
}

/* Pass 1: the uncompressed stream's size and sha256 against the layer's. */
static int verify_stream(struct extract *x, int blob_fd) {
        _cleanup_(archive_read_freep) struct archive *a = reader_new(true);
        struct tender_digest got;
        struct archive_entry *e;
        uint64_t total = 0, want = x->layer->uncompressed_size;
        char buf[EXTRACT_BLOCK_SIZE];
        int r;

        if (!a)
                return tender_error_set(x->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        struct tender_sha256 *h = tender_sha256_new();
        if (!h)
                return tender_error_set(x->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        if (lseek(blob_fd, 0, SEEK_SET) < 0) {
                tender_sha256_free(h);
                return tender_error_set_errno(x->err, TENDER_ERR_SYSTEM, errno,
                                              "layer %s: seek blob", x->diff);
        }
        if (archive_read_open_fd(a, blob_fd, EXTRACT_BLOCK_SIZE) != ARCHIVE_OK) {
                r = archive_fail(x, a, "open blob");
                goto out;
        }
        r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) {
                r = 0; /* an empty stream */
        } else if (r < ARCHIVE_WARN) {
                r = archive_fail(x, a, "read blob");
                goto out;
        } else {
                ssize_t n;
                while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
                        total += (uint64_t) n;
                        if (total > want) {
                                r = tender_error_set(x->err, TENDER_ERR_VERIFY, EBADMSG,
                                                     "layer %s: uncompressed size mismatch "
                                                     "(expected %llu bytes, got more)",
                                                     x->diff, (unsigned long long) want);
                                goto out;
                        }
                        tender_sha256_update(h, buf, (size_t) n);
                }
                if (n < 0) {
                        r = archive_fail(x, a, "decompress blob");
                        goto out;
                }
                r = 0;
        }
        if (total != want) {
                r = tender_error_set(x->err, TENDER_ERR_VERIFY, EBADMSG,
                                     "layer %s: uncompressed size mismatch (expected %llu bytes, "
                                     "got %llu)",
                                     x->diff, (unsigned long long) want,
                                     (unsigned long long) total);
                goto out;
        }
        tender_sha256_final(h, &got);
        if (!tender_digest_equal(&got, &x->layer->diff_id)) {
                char gs[TENDER_DIGEST_STRING_MAX];
                r = tender_error_set(x->err, TENDER_ERR_VERIFY, EBADMSG,
                                     "layer %s: diff_id mismatch (got %s)", x->diff,
                                     tender_digest_format(&got, gs));
        }
out:
        tender_sha256_free(h);
        return r;
}

/* Normalizes an archive path into rel ("a/b", "" for the root): drops "." and empty components;
 * absolute paths and ".." components are refused. */
static int normalize_path(struct extract *x, const char *path, char *rel, size_t size) {
        size_t len = 0;
        if (strlen(path) > TENDER_EXTRACT_MAX_PATH)
                return tender_error_set(x->err, TENDER_ERR_EXTRACT, ENAMETOOLONG,
                                        "layer %s: entry \"%.64s...\": path longer than %d bytes",
                                        x->diff, path, TENDER_EXTRACT_MAX_PATH);
        if (path[0] == '/')
                return tender_error_set(x->err, TENDER_ERR_EXTRACT, EINVAL,
                                        "layer %s: entry \"%s\": absolute path refused", x->diff,
                                        path);
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return tender_error_set(x->err, TENDER_ERR_EXTRACT, EINVAL,
                                                "layer %s: entry \"%s\": \"..\" component refused",
                                                x->diff, path);
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (len + n + 2 > size)
                                return tender_error_set(x->err, TENDER_ERR_EXTRACT, ENAMETOOLONG,
                                                        "layer %s: entry \"%s\": path too long",
                                                        x->diff, path);
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

/* Opens directory rel (a normalized path) beneath rootfd, one component at a time with
 * O_NOFOLLOW, creating missing ones when create is set. Returns the fd, -ENOENT when a
 * component is missing (and !create), -ELOOP/-ENOTDIR when one is a symlink or not a dir. */
static int open_dir_beneath(int rootfd, const char *rel, bool create) {
        char comp[NAME_MAX + 1];
        int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        for (const char *p = rel; *p;) {
                size_t n = strcspn(p, "/");
                if (n > NAME_MAX) {
                        close(fd);
                        return -ENAMETOOLONG;
                }
                memcpy(comp, p, n);
                comp[n] = '\0';
                if (create && mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
                        int e = errno;
                        close(fd);
                        return -e;
                }
                int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int e = errno;
                close(fd);
                if (next < 0)
                        return -e;
                fd = next;
                p += n;
                p += strspn(p, "/");
        }
        return fd;
}

/* Splits rel into its parent ("" for top level) and its last component. */
static const char *split_parent(const char *rel, char *parent, size_t size) {
        const char *slash = strrchr(rel, '/');
        size_t n = slash ? (size_t) (slash - rel) : 0;
        if (n >= size)
                n = size - 1;
        memcpy(parent, rel, n);
        parent[n] = '\0';
        return slash ? slash + 1 : rel;
}

/* The entry's existing ancestors beneath the root must be real directories: extraction must
 * never go through a symlink an earlier entry created. */
static int check_parent(struct extract *x, const char *path, const char *rel) {
        char parent[TENDER_EXTRACT_MAX_PATH + 1];
        split_parent(rel, parent, sizeof(parent));
        int fd = open_dir_beneath(x->rootfd, parent, false);
        if (fd >= 0) {
                close(fd);
                return 0;
        }
        if (fd == -ENOENT)
                return 0; /* created as directories by archive_write_disk */
        return tender_error_set(x->err, TENDER_ERR_EXTRACT, fd == -ELOOP ? ELOOP : -fd,
                                "layer %s: entry \"%s\": parent is a symlink or not a directory",
                                x->diff, path);
}

/* ".wh.<name>" → a 0/0 character device <name>; ".wh..wh..opq" → opaque xattr on the dir.
 * Returns 1 when the entry was a whiteout (handled), 0 otherwise. */
static int handle_whiteout(struct extract *x, const char *path, const char *rel) {
        char parent[TENDER_EXTRACT_MAX_PATH + 1];
        const char *base = split_parent(rel, parent, sizeof(parent));
        _cleanup_close_ int dfd = -1;

        if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) != 0)
                return 0;
        bool opaque = STREQ(base, WHITEOUT_OPAQUE);
        const char *name = base + strlen(WHITEOUT_PREFIX);
        if (!opaque && (strncmp(base, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0 ||
                        !*name || STREQ(name, ".") || STREQ(name, "..")))
                return tender_error_set(x->err, TENDER_ERR_EXTRACT, EINVAL,
                                        "layer %s: entry \"%s\": invalid whiteout", x->diff, path);
        dfd = open_dir_beneath(x->rootfd, parent, true);
        if (dfd < 0)
                return tender_error_set_errno(x->err, TENDER_ERR_EXTRACT, dfd,
                                              "layer %s: entry \"%s\": whiteout directory", x->diff,
                                              path);
        if (opaque) {
                if (fsetxattr(dfd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
                        return tender_error_set_errno(x->err, TENDER_ERR_EXTRACT, errno,
                                                      "layer %s: entry \"%s\": set %s", x->diff,
                                                      path, OVERLAY_OPAQUE_XATTR);
        } else if (mknodat(dfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0) {
                return tender_error_set_errno(x->err, TENDER_ERR_EXTRACT, errno,
                                              "layer %s: entry \"%s\": create whiteout", x->diff,
                                              path);
        }
        return 1;
}

/* A hardlink must name an earlier, non-directory entry of this layer, reached without symlinks.
 * Rewrites the entry's link target to the absolute path beneath the root. */
static int rewrite_hardlink(struct extract *x, struct archive_entry *e, const char *path) {
        char rel[TENDER_EXTRACT_MAX_PATH + 1], parent[TENDER_EXTRACT_MAX_PATH + 1];
        char full[PATH_MAX];
        const char *target = archive_entry_hardlink(e);
        struct stat st;
        int r;

        if (!target)
                return 0;
        r = normalize_path(x, target, rel, sizeof(rel));
        if (r < 0)
                return tender_error_set(x->err, TENDER_ERR_EXTRACT, -r,
                                        "layer %s: entry \"%s\": hardlink target \"%.256s\" "
                                        "leaves the layer",
                                        x->diff, path, target);
        const char *base = split_parent(rel, parent, sizeof(parent));
        _cleanup_close_ int dfd = *rel ? open_dir_beneath(x->rootfd, parent, false) : -EISDIR;
        if (dfd < 0 || fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
                return tender_error_set(x->err, TENDER_ERR_EXTRACT, EINVAL,
                                        "layer %s: entry \"%s\": hardlink target \"%s\" is not an "
                                        "earlier file of the layer",
                                        x->diff, path, target);
        if ((size_t) snprintf(full, sizeof(full), "%s/%s", x->root, rel) >= sizeof(full))
                return tender_error_set(x->err, TENDER_ERR_EXTRACT, ENAMETOOLONG,
                                        "layer %s: entry \"%s\": path too long", x->diff, path);
        archive_entry_set_hardlink(e, full);
        /* Never write data through a link: pax allows hardlink entries with contents. */
        archive_entry_set_size(e, 0);
        return 0;
}

/* Drops trusted.* and security.* xattrs: they would grant privileges (file capabilities,
 * overlay metadata, LSM labels) that the signed manifest does not express. */
static int filter_xattrs(struct archive_entry *e) {
        const char *name;
        const void *value;
        size_t size;

        if (archive_entry_xattr_reset(e) == 0)
                return 0;
        struct archive_entry *keep = archive_entry_new();
        if (!keep)
                return -ENOMEM;
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
                if (strncmp(name, "trusted.", 8) != 0 && strncmp(name, "security.", 9) != 0)
                        archive_entry_xattr_add_entry(keep, name, value, size);
        archive_entry_xattr_clear(e);
        archive_entry_xattr_reset(keep);
        while (archive_entry_xattr_next(keep, &name, &value, &size) == ARCHIVE_OK)
                archive_entry_xattr_add_entry(e, name, value, size);
        archive_entry_free(keep);
        return 0;
}

static int copy_data(struct extract *x, const char *path) {
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r;

        while ((r = archive_read_data_block(x->in, &buf, &size, &offset)) == ARCHIVE_OK)
                if (archive_write_data_block(x->out, buf, size, offset) < ARCHIVE_WARN)
                        return archive_fail(x, x->out, path);
        if (r != ARCHIVE_EOF)
                return archive_fail(x, x->in, path);
        return 0;
}

static int extract_entry(struct extract *x, struct archive_entry *e) {
        char rel[TENDER_EXTRACT_MAX_PATH + 1], full[PATH_MAX];
        const char *path = archive_entry_pathname(e);
        int r;

        if (!path)
                return tender_error_set(x->err, TENDER_ERR_EXTRACT, EINVAL,
                                        "layer %s: entry without a readable path", x->diff);
        r = normalize_path(x, path, rel, sizeof(rel));
        if (r < 0)
                return r;
        if (!*rel)
                return 0; /* "./": the layer root is dest_dir, created by the caller */
        r = check_parent(x, path, rel);
        if (r < 0)
                return r;
        r = handle_whiteout(x, path, rel);
        if (r != 0)
                return r < 0 ? r : 0;

        switch (archive_entry_filetype(e)) {
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
        case AE_IFSOCK:
                /* Devices come from the runtime's configuration, never from an image. */
                log_debug("layer %s: skipping special file %s", x->diff, path);
                return 0;
        default:
                break;
        }
        r = rewrite_hardlink(x, e, path);
        if (r < 0)
                return r;
        archive_entry_set_perm(e, archive_entry_perm(e) & ~(mode_t) (S_ISUID | S_ISGID));
        if (filter_xattrs(e) < 0)
                return tender_error_set(x->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        if ((size_t) snprintf(full, sizeof(full), "%s/%s", x->root, rel) >= sizeof(full))
                return tender_error_set(x->err, TENDER_ERR_EXTRACT, ENAMETOOLONG,
                                        "layer %s: entry \"%s\": path too long", x->diff, path);
        archive_entry_set_pathname(e, full);

        r = archive_write_header(x->out, e);
        if (r < ARCHIVE_WARN)
                return archive_fail(x, x->out, path);
        if (r == ARCHIVE_WARN)
                log_debug("layer %s: %s: %s", x->diff, rel, archive_error_string(x->out));
        if (archive_entry_size(e) > 0) {
                r = copy_data(x, path);
                if (r < 0)
                        return r;
        }
        if (archive_write_finish_entry(x->out) < ARCHIVE_WARN)
                return archive_fail(x, x->out, path);
        return 0;
}

/* Pass 2: tar entries onto disk. */
static int extract_entries(struct extract *x, int blob_fd) {
        _cleanup_(archive_read_freep) struct archive *in = reader_new(false);
        _cleanup_(archive_write_freep) struct archive *out = archive_write_disk_new();
        struct archive_entry *e;
        uint64_t n = 0;
        int r;

        if (!in || !out)
                return tender_error_set(x->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        x->in = in;
        x->out = out;
        /* No user/group lookup: owners stay numeric, as the image's ids are. */
        archive_write_disk_set_options(out, EXTRACT_FLAGS);
        if (lseek(blob_fd, 0, SEEK_SET) < 0)
                return tender_error_set_errno(x->err, TENDER_ERR_SYSTEM, errno,
                                              "layer %s: seek blob", x->diff);
        if (archive_read_open_fd(in, blob_fd, EXTRACT_BLOCK_SIZE) != ARCHIVE_OK)
                return archive_fail(x, in, "open blob");
        for (;;) {
                r = archive_read_next_header(in, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return archive_fail(x, in, "read tar");
                if (++n > TENDER_EXTRACT_MAX_ENTRIES)
                        return tender_error_set(x->err, TENDER_ERR_EXTRACT, E2BIG,
                                                "layer %s: more than %d entries", x->diff,
                                                TENDER_EXTRACT_MAX_ENTRIES);
                r = extract_entry(x, e);
                if (r < 0)
                        return r;
        }
        /* Applies the deferred directory modes and times. */
        if (archive_write_close(out) < ARCHIVE_WARN)
                return archive_fail(x, out, "finish");
        return 0;
}

int tender_layer_extract(int blob_fd, const char *dest_dir, const struct tender_layer *layer,
                         struct tender_error *err) {
        struct extract x = {.layer = layer, .rootfd = -1, .err = err};
        int r;

        tender_digest_format(&layer->diff_id, x.diff);
        r = verify_stream(&x, blob_fd);
        if (r < 0)
                return r;

        /* libarchive's symlink checks walk the whole absolute path, so the root must be free of
         * symlinks itself. */
        _cleanup_free_ char *root = realpath(dest_dir, NULL);
        if (!root)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "layer %s: resolve %s",
                                              x.diff, dest_dir);
        _cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rootfd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "layer %s: open %s",
                                              x.diff, root);
        x.root = root;
        x.rootfd = rootfd;
        return extract_entries(&x, blob_fd);
}
