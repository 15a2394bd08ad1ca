/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tender/fileio.h"
#include "tender/macro.h"
#include "test.h"

/* A fresh scratch directory, opened; removed again by cleanup_tmp. */
struct tmp {
        char path[64];
        int fd;
};

static bool make_tmp(struct tmp *t) {
        snprintf(t->path, sizeof(t->path), "/tmp/tender-fileio-XXXXXX");
        if (!mkdtemp(t->path))
                return false;
        t->fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return t->fd >= 0;
}

static void cleanup_tmp(struct tmp *t) {
        if (t->fd >= 0)
                close(t->fd);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->path);
        if (system(cmd) != 0)
                fprintf(stderr, "  could not remove %s\n", t->path);
}
#define _cleanup_tmp_ _cleanup_(cleanup_tmp)

static size_t count_entries(int dirfd) {
        int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fdopendir(fd);
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static bool exists_at(int dirfd, const char *path) {
        struct stat st;
        return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

TEST(write_and_read) {
        _cleanup_tmp_ struct tmp t = {.fd = -1};
        ASSERT_TRUE(make_tmp(&t));

        ASSERT_OK(tender_write_file_atomic_at(t.fd, "a.json", "{\"x\":1}", 7, 0640));
        char *data = NULL;
        size_t len = 0;
        ASSERT_OK(tender_read_file_at(t.fd, "a.json", 1024, &data, &len));
        ASSERT_EQ(len, 7);
        ASSERT_STREQ(data, "{\"x\":1}");
        free(data);
        struct stat st;
        ASSERT_EQ(fstatat(t.fd, "a.json", &st, 0), 0);
        ASSERT_EQ(st.st_mode & 07777, 0640);

        /* Replace: new content and mode, no temp file left behind. */
        ASSERT_OK(tender_write_file_atomic_at(t.fd, "a.json", "new", 3, 0600));
        ASSERT_OK(tender_read_file_at(t.fd, "a.json", 1024, &data, NULL));
        ASSERT_STREQ(data, "new");
        free(data);
        ASSERT_EQ(fstatat(t.fd, "a.json", &st, 0), 0);
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_EQ(count_entries(t.fd), 1);

        /* Empty file, a subdirectory path, AT_FDCWD with an absolute path. */
        ASSERT_OK(tender_write_file_atomic_at(t.fd, "empty", "", 0, 0644));
        ASSERT_OK(tender_read_file_at(t.fd, "empty", 0, &data, &len));
        ASSERT_EQ(len, 0);
        ASSERT_STREQ(data, "");
        free(data);
        ASSERT_EQ(mkdirat(t.fd, "sub", 0755), 0);
        ASSERT_OK(tender_write_file_atomic_at(t.fd, "sub/b", "bb", 2, 0644));
        char abs[PATH_MAX];
        snprintf(abs, sizeof(abs), "%s/sub/b", t.path);
        ASSERT_OK(tender_read_file_at(AT_FDCWD, abs, 2, &data, &len));
        ASSERT_STREQ(data, "bb");
        free(data);
        ASSERT_OK(tender_write_file_atomic_at(AT_FDCWD, abs, "ccc", 3, 0644));
        ASSERT_OK(tender_read_file_at(t.fd, "sub/b", 3, &data, &len));
        ASSERT_STREQ(data, "ccc");
        free(data);

        ASSERT_ERR(tender_write_file_atomic_at(t.fd, "missing/x", "a", 1, 0644), ENOENT);
        ASSERT_ERR(tender_write_file_atomic_at(t.fd, "sub/", "a", 1, 0644), EINVAL);
        ASSERT_ERR(tender_write_file_atomic_at(t.fd, "", "a", 1, 0644), EINVAL);
}

TEST(write_long_name) {
        _cleanup_tmp_ struct tmp t = {.fd = -1};
        ASSERT_TRUE(make_tmp(&t));
        /* The temp name must still fit when the target name uses all of NAME_MAX. */
        char name[NAME_MAX + 2];
        memset(name, 'n', NAME_MAX);
        name[NAME_MAX] = '\0';
        ASSERT_OK(tender_write_file_atomic_at(t.fd, name, "x", 1, 0644));
        ASSERT_TRUE(exists_at(t.fd, name));
        ASSERT_EQ(count_entries(t.fd), 1);
        name[NAME_MAX] = 'n';
        name[NAME_MAX + 1] = '\0';
        ASSERT_ERR(tender_write_file_atomic_at(t.fd, name, "x", 1, 0644), ENAMETOOLONG);
}

TEST(read_limits_and_refusals) {
        _cleanup_tmp_ struct tmp t = {.fd = -1};
        ASSERT_TRUE(make_tmp(&t));
        ASSERT_OK(tender_write_file_atomic_at(t.fd, "ten", "0123456789", 10, 0644));
        char *data = (char *) "untouched";
        size_t len = 99;
        ASSERT_ERR(tender_read_file_at(t.fd, "ten", 9, &data, &len), EFBIG);
        ASSERT_STREQ(data, "untouched");
        ASSERT_EQ(len, 99);
        ASSERT_OK(tender_read_file_at(t.fd, "ten", 10, &data, &len));
        ASSERT_EQ(len, 10);
        free(data);

        /* A final symlink is not followed. */
        ASSERT_EQ(symlinkat("ten", t.fd, "link"), 0);
        ASSERT_ERR(tender_read_file_at(t.fd, "link", 100, &data, &len), ELOOP);
        ASSERT_EQ(mkdirat(t.fd, "dir", 0755), 0);
        ASSERT_ERR(tender_read_file_at(t.fd, "dir", 100, &data, &len), EISDIR);
        /* A FIFO neither blocks nor is read. */
        ASSERT_EQ(mkfifoat(t.fd, "fifo", 0644), 0);
        ASSERT_ERR(tender_read_file_at(t.fd, "fifo", 100, &data, &len), EBADFD);
        ASSERT_ERR(tender_read_file_at(t.fd, "nope", 100, &data, &len), ENOENT);
}

TEST(read_unknown_size) {
        /* procfs reports size 0; the content must still be read, and the cap enforced. */
        char *data = NULL;
        size_t len = 0;
        if (tender_read_file_at(AT_FDCWD, "/proc/self/status", 1 << 20, &data, &len) < 0)
                SKIP("/proc/self/status not readable");
        ASSERT_TRUE(len > 0);
        ASSERT_CONTAINS(data, "Name:");
        free(data);
        ASSERT_ERR(tender_read_file_at(AT_FDCWD, "/proc/self/status", 16, &data, &len), EFBIG);
}

TEST(fsync_dir) {
        _cleanup_tmp_ struct tmp t = {.fd = -1};
        ASSERT_TRUE(make_tmp(&t));
        ASSERT_OK(tender_fsync_dir_at(t.fd, "."));
        ASSERT_OK(tender_fsync_dir_at(AT_FDCWD, t.path));
        ASSERT_OK(tender_write_file_atomic_at(t.fd, "f", "x", 1, 0644));
        ASSERT_ERR(tender_fsync_dir_at(t.fd, "f"), ENOTDIR);
        ASSERT_ERR(tender_fsync_dir_at(t.fd, "none"), ENOENT);
}

TEST(mkdir_p) {
        _cleanup_tmp_ struct tmp t = {.fd = -1};
        ASSERT_TRUE(make_tmp(&t));
        ASSERT_OK(tender_mkdir_p_at(t.fd, "a/b/c", 0750));
        struct stat st;
        ASSERT_EQ(fstatat(t.fd, "a/b/c", &st, AT_SYMLINK_NOFOLLOW), 0);
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        /* Existing directories are fine; redundant slashes and "." too. */
        ASSERT_OK(tender_mkdir_p_at(t.fd, "a/b/c", 0750));
        ASSERT_OK(tender_mkdir_p_at(t.fd, "a//b/./d/", 0750));
        ASSERT_TRUE(exists_at(t.fd, "a/b/d"));
        ASSERT_OK(tender_mkdir_p_at(t.fd, ".", 0750));
        char abs[PATH_MAX];
        snprintf(abs, sizeof(abs), "%s/x/y", t.path);
        ASSERT_OK(tender_mkdir_p_at(AT_FDCWD, abs, 0755));
        ASSERT_TRUE(exists_at(t.fd, "x/y"));

        ASSERT_ERR(tender_mkdir_p_at(t.fd, "a/../escape", 0755), EINVAL);
        ASSERT_FALSE(exists_at(t.fd, "escape"));
        ASSERT_ERR(tender_mkdir_p_at(t.fd, "/abs", 0755), EINVAL);

        /* A file in the way. */
        ASSERT_OK(tender_write_file_atomic_at(t.fd, "a/file", "x", 1, 0644));
        ASSERT_ERR(tender_mkdir_p_at(t.fd, "a/file/sub", 0755), ENOTDIR);
}

TEST(mkdir_p_refuses_symlink) {
        _cleanup_tmp_ struct tmp t = {.fd = -1}, outside = {.fd = -1};
        ASSERT_TRUE(make_tmp(&t));
        ASSERT_TRUE(make_tmp(&outside));
        ASSERT_OK(tender_mkdir_p_at(t.fd, "a", 0755));
        ASSERT_EQ(symlinkat(outside.path, t.fd, "a/link"), 0);

        int r = tender_mkdir_p_at(t.fd, "a/link/b/c", 0755);
        ASSERT_TRUE(r == -ELOOP || r == -ENOTDIR);
        ASSERT_EQ(count_entries(outside.fd), 0);
        /* A symlink as the last component is refused too. */
        r = tender_mkdir_p_at(t.fd, "a/link", 0755);
        ASSERT_TRUE(r == -ELOOP || r == -ENOTDIR);
        /* A relative symlink to a directory inside is refused all the same. */
        ASSERT_OK(tender_mkdir_p_at(t.fd, "real", 0755));
        ASSERT_EQ(symlinkat("../real", t.fd, "a/rel"), 0);
        r = tender_mkdir_p_at(t.fd, "a/rel/z", 0755);
        ASSERT_TRUE(r == -ELOOP || r == -ENOTDIR);
        ASSERT_FALSE(exists_at(t.fd, "real/z"));
}

TEST(rm_rf) {
        _cleanup_tmp_ struct tmp t = {.fd = -1};
        ASSERT_TRUE(make_tmp(&t));
        ASSERT_OK(tender_mkdir_p_at(t.fd, "tree/a/b/c", 0755));
        ASSERT_OK(tender_mkdir_p_at(t.fd, "tree/empty", 0755));
        ASSERT_OK(tender_write_file_atomic_at(t.fd, "tree/f", "x", 1, 0644));
        ASSERT_OK(tender_write_file_atomic_at(t.fd, "tree/a/b/c/g", "y", 1, 0644));
        ASSERT_EQ(mkfifoat(t.fd, "tree/a/fifo", 0644), 0);
        /* A directory without permissions: unlink rights are on the parent only. */
        ASSERT_OK(tender_mkdir_p_at(t.fd, "tree/locked", 0755));
        ASSERT_OK(tender_write_file_atomic_at(t.fd, "tree/locked/h", "z", 1, 0644));
        ASSERT_EQ(fchmodat(t.fd, "tree/locked", 0700, 0), 0);

        ASSERT_OK(tender_rm_rf_at(t.fd, "tree"));
        ASSERT_FALSE(exists_at(t.fd, "tree"));
        ASSERT_EQ(count_entries(t.fd), 0);

        /* Missing is success; a plain file and a symlink are unlinked. */
        ASSERT_OK(tender_rm_rf_at(t.fd, "tree"));
        ASSERT_OK(tender_write_file_atomic_at(t.fd, "file", "x", 1, 0644));
        ASSERT_OK(tender_rm_rf_at(t.fd, "file"));
        ASSERT_FALSE(exists_at(t.fd, "file"));
        ASSERT_ERR(tender_rm_rf_at(t.fd, "."), EINVAL);
        ASSERT_ERR(tender_rm_rf_at(t.fd, ""), EINVAL);
}

TEST(rm_rf_does_not_follow_symlinks) {
        _cleanup_tmp_ struct tmp t = {.fd = -1}, outside = {.fd = -1};
        ASSERT_TRUE(make_tmp(&t));
        ASSERT_TRUE(make_tmp(&outside));
        ASSERT_OK(tender_mkdir_p_at(outside.fd, "keep/deep", 0755));
        ASSERT_OK(tender_write_file_atomic_at(outside.fd, "keep/deep/precious", "p", 1, 0644));

        ASSERT_OK(tender_mkdir_p_at(t.fd, "tree/sub", 0755));
        char target[PATH_MAX];
        snprintf(target, sizeof(target), "%s/keep", outside.path);
        ASSERT_EQ(symlinkat(target, t.fd, "tree/sub/link"), 0);
        ASSERT_EQ(symlinkat(target, t.fd, "toplink"), 0);

        ASSERT_OK(tender_rm_rf_at(t.fd, "tree"));
        ASSERT_FALSE(exists_at(t.fd, "tree"));
        /* The path itself being a symlink to a directory: only the link goes. */
        ASSERT_OK(tender_rm_rf_at(t.fd, "toplink"));
        ASSERT_FALSE(exists_at(t.fd, "toplink"));

        ASSERT_TRUE(exists_at(outside.fd, "keep/deep/precious"));
}

/* Run in a child with its own mount namespace so that the test mount never leaks. */
TEST(rm_rf_does_not_cross_mounts) {
        if (geteuid() != 0)
                SKIP("needs root for a mount namespace");
        _cleanup_tmp_ struct tmp t = {.fd = -1};
        ASSERT_TRUE(make_tmp(&t));
        ASSERT_OK(tender_mkdir_p_at(t.fd, "tree/mnt", 0755));
        ASSERT_OK(tender_mkdir_p_at(t.fd, "tree/other", 0755));
        ASSERT_OK(tender_mkdir_p_at(t.fd, "src", 0755));
        ASSERT_OK(tender_write_file_atomic_at(t.fd, "src/precious", "p", 1, 0644));

        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 ||
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(77);
                char src[PATH_MAX], dst[PATH_MAX];
                snprintf(src, sizeof(src), "%s/src", t.path);
                snprintf(dst, sizeof(dst), "%s/tree/mnt", t.path);
                /* A bind mount of the same file system: same st_dev, caught as a mount root. */
                if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
                        _exit(77);
                /* Lookups from an fd opened before unshare stay in the old namespace's mount;
                 * the new one is needed to see the bind mount. */
                close(t.fd);
                t.fd = open(t.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (t.fd < 0)
                        _exit(9);
                int r = tender_rm_rf_at(t.fd, "tree");
                if (r != -EXDEV)
                        _exit(10);
                if (!exists_at(t.fd, "src/precious") || !exists_at(t.fd, "tree/mnt/precious"))
                        _exit(11);
                /* The rest was removed. */
                if (exists_at(t.fd, "tree/other"))
                        _exit(12);
                /* The mount point itself as the target is refused. */
                if (tender_rm_rf_at(t.fd, "tree/mnt") != -EBUSY)
                        _exit(13);
                if (!exists_at(t.fd, "src/precious"))
                        _exit(14);
                _exit(0);
        }
        int status;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                SKIP("mount namespaces unavailable");
        ASSERT_EQ(WEXITSTATUS(status), 0);
        ASSERT_TRUE(exists_at(t.fd, "src/precious"));
}

TEST(symlink_atomic) {
        _cleanup_tmp_ struct tmp t = {.fd = -1};
        ASSERT_TRUE(make_tmp(&t));
        ASSERT_OK(tender_mkdir_p_at(t.fd, "apps/x/releases/1", 0755));
        ASSERT_OK(tender_mkdir_p_at(t.fd, "apps/x/releases/2", 0755));

        char buf[PATH_MAX];
        ASSERT_OK(tender_symlink_atomic_at(t.fd, "releases/1", "apps/x/current"));
        ssize_t n = readlinkat(t.fd, "apps/x/current", buf, sizeof(buf) - 1);
        ASSERT_TRUE(n > 0);
        buf[n] = '\0';
        ASSERT_STREQ(buf, "releases/1");

        ASSERT_OK(tender_symlink_atomic_at(t.fd, "releases/2", "apps/x/current"));
        n = readlinkat(t.fd, "apps/x/current", buf, sizeof(buf) - 1);
        ASSERT_TRUE(n > 0);
        buf[n] = '\0';
        ASSERT_STREQ(buf, "releases/2");

        /* Only releases/ and current remain: no temp link left over. */
        int xfd = openat(t.fd, "apps/x", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(xfd >= 0);
        ASSERT_EQ(count_entries(xfd), 2);
        /* A directory in the way is not replaced. */
        int r = tender_symlink_atomic_at(xfd, "releases/1", "releases");
        ASSERT_TRUE(r == -EISDIR || r == -ENOTDIR);
        ASSERT_EQ(count_entries(xfd), 2);
        close(xfd);
        ASSERT_ERR(tender_symlink_atomic_at(t.fd, "", "apps/x/current"), EINVAL);
}

/* The openat2 stand-ins' errno: a symlink where a directory was wanted is ELOOP, as with
 * RESOLVE_NO_SYMLINKS, a file stays ENOTDIR, a missing name keeps its errno. */
TEST(nofollow_errno) {
        _cleanup_tmp_ struct tmp t = {.fd = -1};
        ASSERT_TRUE(make_tmp(&t));
        ASSERT_OK(tender_mkdir_p_at(t.fd, "dir", 0755));
        ASSERT_TRUE(symlinkat("dir", t.fd, "link") == 0);
        ASSERT_OK(tender_write_file_atomic_at(t.fd, "file", "x", 1, 0644));
        const char *names[] = {"link", "file"};
        const int want[] = {ELOOP, ENOTDIR};
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                ASSERT_TRUE(openat(t.fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW) < 0);
                ASSERT_EQ(tender_nofollow_errno(t.fd, names[i], errno), want[i]);
        }
        ASSERT_EQ(tender_nofollow_errno(t.fd, "missing", ENOENT), ENOENT);
}

TEST_MAIN()
