/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer extraction. Each test builds its tar in memory with libarchive's writer (plain, or
 * gzip-compressed through the "raw" format), extracts it into <tmp>/root and looks at the
 * result; <tmp> itself must stay free of anything but "root" (nothing written outside).
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/extract.h"
#include "tender/fileio.h"
#include "test.h"

#define TAR_MAX (4 * 1024 * 1024)

struct ent {
        const char *path;
        unsigned type; /* AE_IFREG when 0 */
        unsigned perm; /* 0644 (files) / 0755 (dirs) when 0 */
        const char *data;
        const char *symlink;
        const char *hardlink;
        const char *xattr; /* "name=value" */
        unsigned uid;
};

struct blob {
        char *tar;
        size_t tar_len;
        char *gz;
        size_t gz_len;
};

static void blob_free(struct blob *b) {
        free(b->tar);
        free(b->gz);
}

static int build_tar(const struct ent *ents, size_t n, struct blob *b) {
        struct archive *a = archive_write_new();
        size_t used = 0;
        b->tar = malloc(TAR_MAX);
        if (!a || !b->tar)
                return -ENOMEM;
        archive_write_set_format_pax_restricted(a);
        if (archive_write_open_memory(a, b->tar, TAR_MAX, &used) != ARCHIVE_OK)
                return -EIO;
        for (size_t i = 0; i < n; i++) {
                const struct ent *x = &ents[i];
                struct archive_entry *e = archive_entry_new();
                unsigned type = x->type ? x->type : x->symlink ? AE_IFLNK : AE_IFREG;
                archive_entry_set_pathname(e, x->path);
                archive_entry_set_filetype(e, type);
                archive_entry_set_perm(e, x->perm ? x->perm : type == AE_IFDIR ? 0755 : 0644);
                archive_entry_set_uid(e, x->uid);
                archive_entry_set_gid(e, x->uid);
                archive_entry_set_mtime(e, 1700000000, 0);
                if (x->symlink)
                        archive_entry_set_symlink(e, x->symlink);
                if (x->hardlink)
                        archive_entry_set_hardlink(e, x->hardlink);
                if (type == AE_IFCHR)
                        archive_entry_set_rdev(e, makedev(1, 3));
                if (x->xattr) {
                        const char *eq = strchr(x->xattr, '=');
                        char name[64];
                        snprintf(name, sizeof(name), "%.*s", (int) (eq - x->xattr), x->xattr);
                        archive_entry_xattr_add_entry(e, name, eq + 1, strlen(eq + 1));
                }
                size_t len = x->data ? strlen(x->data) : 0;
                archive_entry_set_size(e, type == AE_IFREG && !x->hardlink ? (la_int64_t) len : 0);
                if (archive_write_header(a, e) != ARCHIVE_OK)
                        return -EIO;
                if (len && archive_write_data(a, x->data, len) != (la_ssize_t) len)
                        return -EIO;
                archive_entry_free(e);
        }
        if (archive_write_free(a) != ARCHIVE_OK)
                return -EIO;
        b->tar_len = used;

        /* The same bytes gzip-compressed: one "raw" entry through the gzip filter. */
        a = archive_write_new();
        b->gz = malloc(TAR_MAX);
        used = 0;
        if (!a || !b->gz)
                return -ENOMEM;
        archive_write_add_filter_gzip(a);
        archive_write_set_format_raw(a);
        if (archive_write_open_memory(a, b->gz, TAR_MAX, &used) != ARCHIVE_OK)
                return -EIO;
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t) b->tar_len);
        if (archive_write_header(a, e) != ARCHIVE_OK ||
            archive_write_data(a, b->tar, b->tar_len) != (la_ssize_t) b->tar_len)
                return -EIO;
        archive_entry_free(e);
        if (archive_write_free(a) != ARCHIVE_OK)
                return -EIO;
        b->gz_len = used;
        return 0;
}

static int memfd_with(const void *data, size_t len) {
        int fd = memfd_create("blob", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, data, len) != (ssize_t) len) {
                close(fd);
                return -EIO;
        }
        return fd;
}

struct fixture {
        char tmp[64];
        char root[96];
        int rootfd;
        struct tender_layer layer;
        struct blob blob;
        struct tender_error err;
};

static void fixture_free(struct fixture *f) {
        if (f->rootfd >= 0)
                close(f->rootfd);
        blob_free(&f->blob);
}

static int fixture_init(struct fixture *f, const struct ent *ents, size_t n) {
        int r = build_tar(ents, n, &f->blob);
        if (r < 0)
                return r;
        const struct fixture_dir *d = fixture_dir("extract");
        if (!d)
                return -EIO;
        snprintf(f->tmp, sizeof(f->tmp), "%s", d->path);
        snprintf(f->root, sizeof(f->root), "%s/root", f->tmp);
        if (mkdir(f->root, 0755) < 0)
                return -errno;
        f->rootfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (f->rootfd < 0)
                return -errno;
        tender_sha256_buffer(f->blob.tar, f->blob.tar_len, &f->layer.diff_id);
        f->layer.uncompressed_size = f->blob.tar_len;
        return 0;
}

#define SETUP(f, ...)                                                                              \
        static const struct ent ents_[] = {__VA_ARGS__};                                           \
        _cleanup_(fixture_free) struct fixture f = {.rootfd = -1};                                 \
        ASSERT_OK(fixture_init(&f, ents_, ELEMENTSOF(ents_)))

static int extract(struct fixture *f, bool gzip) {
        _cleanup_close_ int fd = gzip ? memfd_with(f->blob.gz, f->blob.gz_len)
                                      : memfd_with(f->blob.tar, f->blob.tar_len);
        if (fd < 0)
                return fd;
        tender_error_clear(&f->err);
        return tender_layer_extract(fd, f->root, &f->layer, &f->err);
}

static int extract_opts(struct fixture *f, const struct tender_extract_options *opts) {
        _cleanup_close_ int fd = memfd_with(f->blob.tar, f->blob.tar_len);
        if (fd < 0)
                return fd;
        tender_error_clear(&f->err);
        return tender_layer_extract_at(fd, f->rootfd, &f->layer, opts, &f->err);
}

static bool file_has(int dirfd, const char *path, const char *content) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        return tender_read_file_at(dirfd, path, 4096, &data, &len) >= 0 && len == strlen(content) &&
               memcmp(data, content, len) == 0;
}

static void check_tree(struct fixture *f) {
        struct stat st, st2;
        char target[64];
        ssize_t n;

        ASSERT_TRUE(file_has(f->rootfd, "etc/hello", "hi\n"));
        ASSERT_OK(fstatat(f->rootfd, "etc/hello", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_mode & 07777, 0640);
        ASSERT_EQ(st.st_mtime, 1700000000);
        ASSERT_OK(fstatat(f->rootfd, "etc", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_EQ(st.st_mode & 07777, 0750);
        ASSERT_OK(fstatat(f->rootfd, "bin/tool", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_mode & 07777, 0755);
        ASSERT_TRUE(file_has(f->rootfd, "bin/tool", "#!/bin/sh\n"));
        ASSERT_TRUE(file_has(f->rootfd, "dot/x", "x"));
        ASSERT_TRUE(file_has(f->rootfd, "empty", ""));

        n = readlinkat(f->rootfd, "etc/link", target, sizeof(target) - 1);
        ASSERT_EQ(n, 5);
        target[n] = '\0';
        ASSERT_STREQ(target, "hello");
        n = readlinkat(f->rootfd, "abs", target, sizeof(target) - 1);
        ASSERT_TRUE(n > 0);
        target[n] = '\0';
        ASSERT_STREQ(target, "/etc/passwd");

        ASSERT_OK(fstatat(f->rootfd, "etc/hello", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_OK(fstatat(f->rootfd, "etc/hard", &st2, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_ino, st2.st_ino);
        ASSERT_EQ(st.st_nlink, 2);
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f->tmp), 1);
}

#define TREE                                                                                       \
        {.path = "./", .type = AE_IFDIR}, {.path = "etc/", .type = AE_IFDIR, .perm = 0750},        \
                {.path = "etc/hello", .perm = 0640, .data = "hi\n"},                               \
                {.path = "bin/tool", .perm = 0755, .data = "#!/bin/sh\n"},                         \
                {.path = "etc/link", .symlink = "hello"},                                          \
                {.path = "abs", .symlink = "/etc/passwd"},                                         \
                {.path = "etc/hard", .hardlink = "etc/hello"}, {.path = "./dot//x", .data = "x"},  \
        {                                                                                          \
                .path = "empty"                                                                    \
        }

TEST(extract_plain) {
        SETUP(f, TREE);
        ASSERT_OK(extract(&f, false));
        check_tree(&f);
}

TEST(extract_gzip) {
        SETUP(f, TREE);
        ASSERT_TRUE(f.blob.gz_len < f.blob.tar_len);
        ASSERT_OK(extract(&f, true));
        check_tree(&f);
}

TEST(extract_zstd) {
        SETUP(f, TREE);
        size_t cap = f.blob.tar_len + 4096, used = 0;
        _cleanup_free_ char *zst = malloc(cap);
        struct archive *a = archive_write_new();
        ASSERT_TRUE(zst && a);
        if (archive_write_add_filter_zstd(a) != ARCHIVE_OK) {
                archive_write_free(a);
                SKIP("libarchive without zstd");
        }
        archive_write_set_format_raw(a);
        ASSERT_EQ(archive_write_open_memory(a, zst, cap, &used), ARCHIVE_OK);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t) f.blob.tar_len);
        ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
        archive_entry_free(e);
        ASSERT_EQ(archive_write_data(a, f.blob.tar, f.blob.tar_len), (la_ssize_t) f.blob.tar_len);
        ASSERT_EQ(archive_write_free(a), ARCHIVE_OK);
        ASSERT_TRUE(used > 4 && (uint8_t) zst[0] == 0x28 && (uint8_t) zst[1] == 0xb5);
        _cleanup_close_ int fd = memfd_with(zst, used);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(tender_layer_extract(fd, f.root, &f.layer, &f.err));
        check_tree(&f);
}

TEST(wrong_diff_id) {
        SETUP(f, {.path = "a", .data = "a"});
        char want[TENDER_DIGEST_STRING_MAX];
        f.layer.diff_id.bytes[0] ^= 1;
        tender_digest_format(&f.layer.diff_id, want);
        ASSERT_ERR(extract(&f, true), EBADMSG);
        ASSERT_CONTAINS(f.err.message, want);
        ASSERT_CONTAINS(f.err.message, "diff_id mismatch");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
}

TEST(size_mismatch) {
        SETUP(f, {.path = "a", .data = "a"});
        char want[TENDER_DIGEST_STRING_MAX];
        tender_digest_format(&f.layer.diff_id, want);
        f.layer.uncompressed_size = f.blob.tar_len - 1;
        ASSERT_ERR(extract(&f, false), EBADMSG);
        ASSERT_CONTAINS(f.err.message, want);
        ASSERT_CONTAINS(f.err.message, "size mismatch");
        f.layer.uncompressed_size = f.blob.tar_len + 1;
        ASSERT_ERR(extract(&f, true), EBADMSG);
        ASSERT_CONTAINS(f.err.message, "size mismatch");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
}

TEST(not_an_archive) {
        SETUP(f, {.path = "a", .data = "a"});
        /* A valid diff_id over bytes that are no tar. */
        memset(f.blob.tar, 'z', f.blob.tar_len);
        tender_sha256_buffer(f.blob.tar, f.blob.tar_len, &f.layer.diff_id);
        ASSERT_TRUE(extract(&f, false) < 0);
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
}

TEST(dotdot_refused) {
        SETUP(f, {.path = "ok", .data = "1"}, {.path = "../evil", .data = "x"});
        ASSERT_ERR(extract(&f, false), EINVAL);
        ASSERT_CONTAINS(f.err.message, "\"../evil\"");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.tmp), 1);
}

TEST(absolute_refused) {
        SETUP(f, {.path = "/abs-tender-test", .data = "x"});
        ASSERT_ERR(extract(&f, false), EINVAL);
        ASSERT_CONTAINS(f.err.message, "\"/abs-tender-test\"");
        ASSERT_FALSE(fixture_exists_at(AT_FDCWD, "/abs-tender-test"));
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
}

TEST(inner_dotdot_refused) {
        SETUP(f, {.path = "a/", .type = AE_IFDIR}, {.path = "a/../../b", .data = "x"});
        ASSERT_ERR(extract(&f, true), EINVAL);
        ASSERT_CONTAINS(f.err.message, "\"a/../../b\"");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.tmp), 1);
        ASSERT_FALSE(fixture_exists_at(f.rootfd, "b"));
}

TEST(through_symlink_refused) {
        SETUP(f, {.path = "link", .symlink = "/"},
              {.path = "link/tender-test-escaped", .data = "x"});
        ASSERT_TRUE(extract(&f, false) < 0);
        ASSERT_CONTAINS(f.err.message, "\"link/tender-test-escaped\"");
        ASSERT_FALSE(fixture_exists_at(AT_FDCWD, "/tender-test-escaped"));
}

TEST(through_relative_symlink_refused) {
        SETUP(f, {.path = "up", .symlink = ".."}, {.path = "up/escaped", .data = "x"});
        ASSERT_TRUE(extract(&f, false) < 0);
        ASSERT_CONTAINS(f.err.message, "\"up/escaped\"");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.tmp), 1);
}

TEST(file_over_symlink_replaces_it) {
        /* The final component being a symlink must not be followed: the file replaces it. */
        SETUP(f, {.path = "f", .symlink = "/tmp/tender-test-extract-outside"},
              {.path = "f", .data = "inside"}, {.path = "s", .symlink = "/etc/passwd"},
              {.path = "h", .hardlink = "s"});
        struct stat st;
        ASSERT_OK(extract(&f, false));
        ASSERT_OK(fstatat(f.rootfd, "f", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISREG(st.st_mode));
        ASSERT_TRUE(file_has(f.rootfd, "f", "inside"));
        ASSERT_FALSE(fixture_exists_at(AT_FDCWD, "/tmp/tender-test-extract-outside"));
        /* a hardlink to a symlink links the symlink itself */
        ASSERT_OK(fstatat(f.rootfd, "h", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISLNK(st.st_mode));
}

TEST(hardlink_outside_refused) {
        SETUP(f, {.path = "h", .hardlink = "../x"});
        ASSERT_ERR(extract(&f, false), EINVAL);
        ASSERT_CONTAINS(f.err.message, "\"h\"");
        ASSERT_CONTAINS(f.err.message, "../x");
        ASSERT_FALSE(fixture_exists_at(f.rootfd, "h"));
}

TEST(hardlink_absolute_and_through_symlink_refused) {
        SETUP(f, {.path = "h", .hardlink = "/etc/passwd"});
        ASSERT_ERR(extract(&f, false), EINVAL);
        ASSERT_CONTAINS(f.err.message, "/etc/passwd");
        ASSERT_FALSE(fixture_exists_at(f.rootfd, "h"));
}

TEST(hardlink_via_symlinked_dir_refused) {
        SETUP(f, {.path = "etc", .symlink = "/etc"}, {.path = "h", .hardlink = "etc/passwd"});
        ASSERT_ERR(extract(&f, false), EINVAL);
        ASSERT_CONTAINS(f.err.message, "\"h\"");
        ASSERT_FALSE(fixture_exists_at(f.rootfd, "h"));
}

TEST(setuid_cleared) {
        SETUP(f, {.path = "su", .perm = 04755, .data = "x"},
              {.path = "sg", .perm = 02711, .data = "y"},
              {.path = "tmp/", .type = AE_IFDIR, .perm = 01777});
        struct stat st;
        ASSERT_OK(extract(&f, false));
        ASSERT_OK(fstatat(f.rootfd, "su", &st, 0));
        ASSERT_EQ(st.st_mode & 07777, 0755);
        ASSERT_OK(fstatat(f.rootfd, "sg", &st, 0));
        ASSERT_EQ(st.st_mode & 07777, 0711);
        ASSERT_OK(fstatat(f.rootfd, "tmp", &st, 0));
        ASSERT_EQ(st.st_mode & 07777, 01777); /* sticky is kept */
}

TEST(special_files_skipped) {
        SETUP(f, {.path = "dev/", .type = AE_IFDIR}, {.path = "dev/null", .type = AE_IFCHR},
              {.path = "dev/sda", .type = AE_IFBLK}, {.path = "fifo", .type = AE_IFIFO},
              {.path = "after", .data = "z"});
        ASSERT_OK(extract(&f, false));
        ASSERT_FALSE(fixture_exists_at(f.rootfd, "dev/null"));
        ASSERT_FALSE(fixture_exists_at(f.rootfd, "dev/sda"));
        ASSERT_FALSE(fixture_exists_at(f.rootfd, "fifo"));
        ASSERT_TRUE(file_has(f.rootfd, "after", "z"));
}

static ssize_t xattr_at(const struct fixture *f, const char *rel, const char *name, char *v,
                        size_t size) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", f->root, rel);
        return lgetxattr(path, name, v, size);
}

TEST(xattrs_filtered) {
        SETUP(f, {.path = "s", .data = "2", .xattr = "security.capability=xx"},
              {.path = "t", .data = "3", .xattr = "trusted.overlay.opaque=y"},
              {.path = "d/", .type = AE_IFDIR, .xattr = "trusted.overlay.redirect=/etc"});
        char v[16];
        ASSERT_OK(extract(&f, false));
        ASSERT_TRUE(xattr_at(&f, "s", "security.capability", v, sizeof(v)) < 0);
        ASSERT_TRUE(xattr_at(&f, "t", "trusted.overlay.opaque", v, sizeof(v)) < 0);
        ASSERT_TRUE(xattr_at(&f, "d", "trusted.overlay.redirect", v, sizeof(v)) < 0);
}

/* user.* is kept, except overlay metadata (overlayfs mounted with "userxattr" reads it there):
 * filtered whatever the mount options tenderd uses. */
TEST(user_xattrs_kept_overlay_ones_filtered) {
        SETUP(f, {.path = "u", .data = "1", .xattr = "user.tender=ok"},
              {.path = "o", .data = "4", .xattr = "user.overlay.opaque=y"},
              {.path = "r/", .type = AE_IFDIR, .xattr = "user.overlay.redirect=/etc"});
        char v[16];
        if (lsetxattr(f.root, "user.tender-probe", "1", 1, 0) < 0 &&
            (errno == ENOTSUP || errno == EOPNOTSUPP))
                SKIP("user xattrs not supported on /tmp");
        lremovexattr(f.root, "user.tender-probe");
        ASSERT_OK(extract(&f, false));
        ASSERT_EQ(xattr_at(&f, "u", "user.tender", v, sizeof(v)), 2);
        ASSERT_TRUE(memcmp(v, "ok", 2) == 0);
        ASSERT_TRUE(xattr_at(&f, "o", "user.overlay.opaque", v, sizeof(v)) < 0);
        ASSERT_TRUE(xattr_at(&f, "r", "user.overlay.redirect", v, sizeof(v)) < 0);
}

TEST(whiteouts) {
        if (geteuid() != 0)
                SKIP("creating whiteout devices and trusted.* xattrs needs root");
        SETUP(f, {.path = "dir/", .type = AE_IFDIR}, {.path = "dir/.wh..wh..opq"},
              {.path = "dir/.wh.gone"}, {.path = ".wh.top"}, {.path = "new/.wh.x"});
        struct stat st;
        char v[4];
        ASSERT_OK(extract(&f, true));
        ASSERT_OK(fstatat(f.rootfd, "dir/gone", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_EQ(st.st_rdev, makedev(0, 0));
        ASSERT_OK(fstatat(f.rootfd, "top", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_OK(fstatat(f.rootfd, "new/x", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_FALSE(fixture_exists_at(f.rootfd, "dir/.wh.gone"));
        ASSERT_FALSE(fixture_exists_at(f.rootfd, "dir/.wh..wh..opq"));
        char path[160];
        snprintf(path, sizeof(path), "%s/dir", f.root);
        ASSERT_EQ(lgetxattr(path, "trusted.overlay.opaque", v, sizeof(v)), 1);
        ASSERT_EQ(v[0], 'y');
}

static bool opaque(const struct fixture *f, const char *rel) {
        char path[256], v[4];
        snprintf(path, sizeof(path), "%s/%s", f->root, rel);
        return lgetxattr(path, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
}

TEST(whiteout_and_entry_in_same_layer) {
        /* OCI: a whiteout hides only lower layers; the layer's own entry of that name stays. */
        if (geteuid() != 0)
                SKIP("creating whiteout devices and trusted.* xattrs needs root");
        SETUP(f, {.path = ".wh.a"}, {.path = "a/", .type = AE_IFDIR}, {.path = "a/x", .data = "1"},
              {.path = "b/", .type = AE_IFDIR}, {.path = ".wh.b"}, {.path = "c", .data = "c"},
              {.path = ".wh.c"}, {.path = ".wh.d"}, {.path = "d", .data = "d"});
        struct stat st;
        ASSERT_OK(extract(&f, false));
        ASSERT_OK(fstatat(f.rootfd, "a", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_TRUE(opaque(&f, "a"));
        ASSERT_TRUE(file_has(f.rootfd, "a/x", "1"));
        ASSERT_OK(fstatat(f.rootfd, "b", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_TRUE(opaque(&f, "b"));
        ASSERT_TRUE(file_has(f.rootfd, "c", "c"));
        ASSERT_TRUE(file_has(f.rootfd, "d", "d"));
}

/* ".wh.x" then "x/f" without an "x/" entry: valid OCI (the layer deletes the lower x and adds a
 * new x holding f). The parent is made, opaque like an explicit "x/" after its whiteout, beneath
 * the layer; a whiteout deeper down works the same. */
TEST(whiteout_then_implicit_parent) {
        if (geteuid() != 0)
                SKIP("creating whiteout devices and trusted.* xattrs needs root");
        SETUP(f, {.path = ".wh.x"}, {.path = "x/f", .data = "1"}, {.path = "x/g", .data = "2"},
              {.path = "p/", .type = AE_IFDIR}, {.path = "p/.wh.q"},
              {.path = "p/q/r/s", .data = "3"}, {.path = ".wh.n"},
              {.path = "n/m/", .type = AE_IFDIR});
        struct stat st;
        ASSERT_OK(extract(&f, false));
        ASSERT_OK(fstatat(f.rootfd, "x", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_TRUE(opaque(&f, "x"));
        ASSERT_TRUE(file_has(f.rootfd, "x/f", "1"));
        ASSERT_TRUE(file_has(f.rootfd, "x/g", "2"));
        ASSERT_TRUE(opaque(&f, "p/q"));
        ASSERT_FALSE(opaque(&f, "p/q/r")); /* only the directory the whiteout named */
        ASSERT_TRUE(file_has(f.rootfd, "p/q/r/s", "3"));
        ASSERT_TRUE(opaque(&f, "n"));
        ASSERT_OK(fstatat(f.rootfd, "n/m", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
}

/* Only a whiteout is replaced by an implicit parent: a file of the layer is not. */
TEST(file_as_implicit_parent_refused) {
        SETUP(f, {.path = "x", .data = "1"}, {.path = "x/f", .data = "2"});
        ASSERT_ERR(extract(&f, false), ENOTDIR);
}

TEST(bare_whiteout_refused) {
        SETUP(f, {.path = "dir/.wh."});
        ASSERT_ERR(extract(&f, false), EINVAL);
        ASSERT_CONTAINS(f.err.message, "\"dir/.wh.\"");
        ASSERT_FALSE(fixture_exists_at(f.rootfd, "dir"));
}

TEST(path_too_long_refused) {
        static char longpath[TENDER_EXTRACT_MAX_PATH + 16];
        struct ent e[1] = {{.path = longpath, .data = "x"}};
        _cleanup_(fixture_free) struct fixture f = {.rootfd = -1};
        for (size_t i = 0; i + 2 < sizeof(longpath); i += 2)
                memcpy(longpath + i, "a/", 2);
        longpath[sizeof(longpath) - 2] = 'b';
        ASSERT_OK(fixture_init(&f, e, 1));
        ASSERT_ERR(extract(&f, false), ENAMETOOLONG);
        ASSERT_CONTAINS(f.err.message, "a/a/a/");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
}

/* ---- the malicious layers: each refused with the entry named, nothing outside ---- */

TEST(etc_symlink_to_root_then_passwd) {
        SETUP(f, {.path = "etc", .symlink = "/"},
              {.path = "etc/passwd", .data = "root::0:0::/:/bin/sh\n"});
        ASSERT_ERR(extract(&f, false), ELOOP);
        ASSERT_CONTAINS(f.err.message, "\"etc/passwd\"");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root),
                  0); /* the refused layer is emptied again */
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.tmp), 1);
}

TEST(symlink_named_dot_refused) {
        SETUP(f, {.path = ".", .symlink = "/"}, {.path = "x", .data = "x"});
        ASSERT_ERR(extract(&f, false), EINVAL);
        ASSERT_CONTAINS(f.err.message, "\".\"");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
}

TEST(symlinked_parent_within_layer_refused) {
        SETUP(f, {.path = "a/", .type = AE_IFDIR}, {.path = "a/b", .symlink = "../.."},
              {.path = "a/b/c/escaped", .data = "x"});
        ASSERT_ERR(extract(&f, true), ELOOP);
        ASSERT_CONTAINS(f.err.message, "\"a/b/c/escaped\"");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.tmp), 1);
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
}

TEST(whiteout_through_symlinked_parent_refused) {
        char outside[160];
        SETUP(f, {.path = "etc", .symlink = "/tmp"}, {.path = "etc/.wh.tender-test-wh"});
        snprintf(outside, sizeof(outside), "/tmp/tender-test-wh");
        ASSERT_ERR(extract(&f, false), ELOOP);
        ASSERT_CONTAINS(f.err.message, "\"etc/.wh.tender-test-wh\"");
        ASSERT_FALSE(fixture_exists_at(AT_FDCWD, outside));
}

TEST(hardlink_to_directory_refused) {
        SETUP(f, {.path = "d/", .type = AE_IFDIR}, {.path = "h", .hardlink = "d"});
        ASSERT_ERR(extract(&f, false), EINVAL);
        ASSERT_CONTAINS(f.err.message, "\"h\"");
}

TEST(same_path_file_then_directory_refused) {
        SETUP(f, {.path = "a", .data = "file"}, {.path = "a/", .type = AE_IFDIR});
        ASSERT_ERR(extract(&f, false), EEXIST);
        ASSERT_CONTAINS(f.err.message, "\"a/\"");
        ASSERT_CONTAINS(f.err.message, "both a directory and a non-directory");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
}

TEST(same_path_directory_then_file_refused) {
        SETUP(f, {.path = "a/", .type = AE_IFDIR}, {.path = "a/x", .data = "1"},
              {.path = "a", .data = "file"});
        ASSERT_ERR(extract(&f, false), EEXIST);
        ASSERT_CONTAINS(f.err.message, "\"a\"");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
}

TEST(file_as_parent_refused) {
        SETUP(f, {.path = "a", .data = "file"}, {.path = "a/b", .data = "x"});
        ASSERT_ERR(extract(&f, false), ENOTDIR);
        ASSERT_CONTAINS(f.err.message, "\"a/b\"");
}

TEST(oversized_pax_name_refused) {
        static char name[64 * 1024];
        struct ent e[1] = {{.path = name, .data = "x"}};
        _cleanup_(fixture_free) struct fixture f = {.rootfd = -1};
        memset(name, 'n', sizeof(name) - 1);
        ASSERT_OK(fixture_init(&f, e, 1));
        ASSERT_ERR(extract(&f, true), ENAMETOOLONG);
        ASSERT_CONTAINS(f.err.message, "nnnnnnnn");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
}

TEST(long_component_refused) {
        static char name[NAME_MAX + 8];
        struct ent e[1] = {{.path = name, .data = "x"}};
        _cleanup_(fixture_free) struct fixture f = {.rootfd = -1};
        memset(name, 'c', sizeof(name) - 1);
        ASSERT_OK(fixture_init(&f, e, 1));
        ASSERT_ERR(extract(&f, false), ENAMETOOLONG);
        ASSERT_CONTAINS(f.err.message, "component longer");
}

TEST(entry_cap) {
        /* 10^6 entries are refused by the same check, with the cap lowered to keep this fast. */
        static char names[101][8];
        static struct ent ents[101];
        _cleanup_(fixture_free) struct fixture f = {.rootfd = -1};
        for (size_t i = 0; i < ELEMENTSOF(ents); i++) {
                snprintf(names[i], sizeof(names[i]), "f%zu", i);
                ents[i] = (struct ent){.path = names[i]};
        }
        ASSERT_OK(fixture_init(&f, ents, ELEMENTSOF(ents)));
        struct tender_extract_options o = {.max_entries = 100};
        ASSERT_ERR(extract_opts(&f, &o), E2BIG);
        ASSERT_CONTAINS(f.err.message, "more than 100 entries");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
        o.max_entries = 101;
        ASSERT_EQ(extract_opts(&f, &o), 101);
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 101);
}

TEST(gzip_bomb_cut_at_manifest_size) {
        /* 256 MiB of zeros in one entry, gzip-compressed to a few hundred KiB; the manifest
         * claims 1 MiB. Reading must stop right after 1 MiB: the test would take seconds (and
         * the disk) otherwise. */
        const size_t size = 256u << 20, chunk = 1u << 20, out_max = 1u << 20;
        _cleanup_(fixture_free) struct fixture f = {.rootfd = -1};
        static const struct ent none[1] = {{.path = "seed"}};
        ASSERT_OK(fixture_init(&f, none, 1));
        _cleanup_free_ char *gz = malloc(out_max), *zero = calloc(1, chunk);
        size_t used = 0;
        struct archive *a = archive_write_new();
        ASSERT_TRUE(gz && zero && a);
        archive_write_add_filter_gzip(a);
        archive_write_set_format_pax_restricted(a);
        ASSERT_EQ(archive_write_open_memory(a, gz, out_max, &used), ARCHIVE_OK);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, "bomb");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t) size);
        ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
        archive_entry_free(e);
        for (size_t done = 0; done < size; done += chunk)
                ASSERT_EQ(archive_write_data(a, zero, chunk), (la_ssize_t) chunk);
        ASSERT_EQ(archive_write_free(a), ARCHIVE_OK);
        ASSERT_TRUE(used < out_max);

        f.layer.uncompressed_size = 1u << 20;
        _cleanup_close_ int fd = memfd_with(gz, used);
        ASSERT_TRUE(fd >= 0);
        ASSERT_ERR(tender_layer_extract(fd, f.root, &f.layer, &f.err), EFBIG);
        ASSERT_CONTAINS(f.err.message, "\"bomb\"");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
}

TEST(gzip_bomb_after_tar_end_cut) {
        /* A valid tar followed by 64 MiB of zeros inside the same gzip stream: the padding counts
         * for the diff_id, so reading goes on after the tar's end, and must stop at the size. */
        const size_t size = 64u << 20, chunk = 1u << 20, out_max = 1u << 20;
        SETUP(f, {.path = "a", .data = "a"});
        _cleanup_free_ char *gz = malloc(out_max), *zero = calloc(1, chunk);
        size_t used = 0;
        struct archive *a = archive_write_new();
        ASSERT_TRUE(gz && zero && a);
        archive_write_add_filter_gzip(a);
        archive_write_set_format_raw(a);
        ASSERT_EQ(archive_write_open_memory(a, gz, out_max, &used), ARCHIVE_OK);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t) (f.blob.tar_len + size));
        ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
        archive_entry_free(e);
        ASSERT_EQ(archive_write_data(a, f.blob.tar, f.blob.tar_len), (la_ssize_t) f.blob.tar_len);
        for (size_t done = 0; done < size; done += chunk)
                ASSERT_EQ(archive_write_data(a, zero, chunk), (la_ssize_t) chunk);
        ASSERT_EQ(archive_write_free(a), ARCHIVE_OK);
        _cleanup_close_ int fd = memfd_with(gz, used);
        ASSERT_TRUE(fd >= 0);
        ASSERT_ERR(tender_layer_extract(fd, f.root, &f.layer, &f.err), EBADMSG);
        ASSERT_CONTAINS(f.err.message, "uncompressed size mismatch");
        ASSERT_EQ(fixture_count_entries(AT_FDCWD, f.root), 0);
}

TEST(device_and_fifo_allowed_by_option) {
        if (geteuid() != 0)
                SKIP("mknod of a character device needs root");
        SETUP(f, {.path = "null", .type = AE_IFCHR}, {.path = "fifo", .type = AE_IFIFO});
        struct tender_extract_options o = {.allow_devices = true};
        struct stat st;
        ASSERT_OK(extract_opts(&f, &o));
        ASSERT_OK(fstatat(f.rootfd, "null", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_EQ(st.st_rdev, makedev(1, 3));
        ASSERT_OK(fstatat(f.rootfd, "fifo", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(setid_allowed_by_option) {
        SETUP(f, {.path = "su", .perm = 04755, .data = "x"});
        struct tender_extract_options o = {.allow_setid = true};
        struct stat st;
        ASSERT_OK(extract_opts(&f, &o));
        ASSERT_OK(fstatat(f.rootfd, "su", &st, 0));
        ASSERT_EQ(st.st_mode & 07777, 04755);
}

TEST(ownership_shifted) {
        if (geteuid() != 0)
                SKIP("chown to other ids needs root");
        SETUP(f, {.path = "d/", .type = AE_IFDIR, .uid = 0},
              {.path = "d/f", .data = "1", .uid = 33}, {.path = "l", .symlink = "d/f", .uid = 7},
              {.path = "implicit/x", .data = "2"});
        struct tender_extract_options o = {
                .uid_offset = 100000, .gid_offset = 200000, .id_range = 65536};
        struct stat st;
        ASSERT_OK(extract_opts(&f, &o));
        ASSERT_OK(fstatat(f.rootfd, "d", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, 100000);
        ASSERT_EQ(st.st_gid, 200000);
        ASSERT_OK(fstatat(f.rootfd, "d/f", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, 100033);
        ASSERT_EQ(st.st_gid, 200033);
        ASSERT_OK(fstatat(f.rootfd, "l", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, 100007);
        ASSERT_OK(fstatat(f.rootfd, "implicit", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, 100000);
}

TEST(owner_outside_range_refused) {
        SETUP(f, {.path = "f", .data = "1", .uid = 70000});
        struct tender_extract_options o = {
                .uid_offset = 100000, .gid_offset = 100000, .id_range = 65536};
        ASSERT_ERR(extract_opts(&f, &o), ERANGE);
        ASSERT_CONTAINS(f.err.message, "\"f\"");
        ASSERT_CONTAINS(f.err.message, "uid 70000");
}

TEST(readonly_directory_filled_then_moded) {
        SETUP(f, {.path = "ro/", .type = AE_IFDIR, .perm = 0555}, {.path = "ro/f", .data = "1"});
        struct stat st;
        ASSERT_OK(extract(&f, false));
        ASSERT_OK(fstatat(f.rootfd, "ro", &st, 0));
        ASSERT_EQ(st.st_mode & 07777, 0555);
        ASSERT_EQ(st.st_mtime, 1700000000);
        ASSERT_TRUE(file_has(f.rootfd, "ro/f", "1"));
}

TEST(same_file_twice_replaced) {
        SETUP(f, {.path = "a", .data = "old"}, {.path = "a", .data = "new"});
        ASSERT_OK(extract(&f, false));
        ASSERT_TRUE(file_has(f.rootfd, "a", "new"));
}

TEST_MAIN()
