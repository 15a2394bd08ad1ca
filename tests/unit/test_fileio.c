/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/fileio.h"
#include "tender/macro.h"
#include "test.h"

TEST(write_and_read) {
        const struct fixture_dir *t = fixture_dir("fileio");
        ASSERT_TRUE(t);

        ASSERT_OK(tender_write_file_atomic_at(t->fd, "a.json", "{\"x\":1}", 7, 0640));
        char *data = NULL;
        size_t len = 0;
        ASSERT_OK(tender_read_file_at(t->fd, "a.json", 1024, &data, &len));
        ASSERT_EQ(len, 7);
        ASSERT_STREQ(data, "{\"x\":1}");
        free(data);
        struct stat st;
        ASSERT_EQ(fstatat(t->fd, "a.json", &st, 0), 0);
        ASSERT_EQ(st.st_mode & 07777, 0640);

        /* Replace: new content and mode, no temp file left behind. */
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "a.json", "new", 3, 0600));
        ASSERT_OK(tender_read_file_at(t->fd, "a.json", 1024, &data, NULL));
        ASSERT_STREQ(data, "new");
        free(data);
        ASSERT_EQ(fstatat(t->fd, "a.json", &st, 0), 0);
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_EQ(fixture_count_entries(t->fd, "."), 1);

        /* Empty file, a subdirectory path, AT_FDCWD with an absolute path. */
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "empty", "", 0, 0644));
        ASSERT_OK(tender_read_file_at(t->fd, "empty", 0, &data, &len));
        ASSERT_EQ(len, 0);
        ASSERT_STREQ(data, "");
        free(data);
        ASSERT_EQ(mkdirat(t->fd, "sub", 0755), 0);
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "sub/b", "bb", 2, 0644));
        char abs[PATH_MAX];
        snprintf(abs, sizeof(abs), "%s/sub/b", t->path);
        ASSERT_OK(tender_read_file_at(AT_FDCWD, abs, 2, &data, &len));
        ASSERT_STREQ(data, "bb");
        free(data);
        ASSERT_OK(tender_write_file_atomic_at(AT_FDCWD, abs, "ccc", 3, 0644));
        ASSERT_OK(tender_read_file_at(t->fd, "sub/b", 3, &data, &len));
        ASSERT_STREQ(data, "ccc");
        free(data);

        ASSERT_ERR(tender_write_file_atomic_at(t->fd, "missing/x", "a", 1, 0644), ENOENT);
        ASSERT_ERR(tender_write_file_atomic_at(t->fd, "sub/", "a", 1, 0644), EINVAL);
        ASSERT_ERR(tender_write_file_atomic_at(t->fd, "", "a", 1, 0644), EINVAL);
}

TEST(write_long_name) {
        const struct fixture_dir *t = fixture_dir("fileio");
        ASSERT_TRUE(t);
        /* The temp name must still fit when the target name uses all of NAME_MAX. */
        char name[NAME_MAX + 2];
        memset(name, 'n', NAME_MAX);
        name[NAME_MAX] = '\0';
        ASSERT_OK(tender_write_file_atomic_at(t->fd, name, "x", 1, 0644));
        ASSERT_TRUE(fixture_exists_at(t->fd, name));
        ASSERT_EQ(fixture_count_entries(t->fd, "."), 1);
        name[NAME_MAX] = 'n';
        name[NAME_MAX + 1] = '\0';
        ASSERT_ERR(tender_write_file_atomic_at(t->fd, name, "x", 1, 0644), ENAMETOOLONG);
}

TEST(read_limits_and_refusals) {
        const struct fixture_dir *t = fixture_dir("fileio");
        ASSERT_TRUE(t);
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "ten", "0123456789", 10, 0644));
        char *data = (char *) "untouched";
        size_t len = 99;
        ASSERT_ERR(tender_read_file_at(t->fd, "ten", 9, &data, &len), EFBIG);
        ASSERT_STREQ(data, "untouched");
        ASSERT_EQ(len, 99);
        ASSERT_OK(tender_read_file_at(t->fd, "ten", 10, &data, &len));
        ASSERT_EQ(len, 10);
        free(data);

        /* A final symlink is not followed. */
        ASSERT_EQ(symlinkat("ten", t->fd, "link"), 0);
        ASSERT_ERR(tender_read_file_at(t->fd, "link", 100, &data, &len), ELOOP);
        ASSERT_EQ(mkdirat(t->fd, "dir", 0755), 0);
        ASSERT_ERR(tender_read_file_at(t->fd, "dir", 100, &data, &len), EISDIR);
        /* A FIFO neither blocks nor is read. */
        ASSERT_EQ(mkfifoat(t->fd, "fifo", 0644), 0);
        ASSERT_ERR(tender_read_file_at(t->fd, "fifo", 100, &data, &len), EBADFD);
        ASSERT_ERR(tender_read_file_at(t->fd, "nope", 100, &data, &len), ENOENT);
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
        const struct fixture_dir *t = fixture_dir("fileio");
        ASSERT_TRUE(t);
        ASSERT_OK(tender_fsync_dir_at(t->fd, "."));
        ASSERT_OK(tender_fsync_dir_at(AT_FDCWD, t->path));
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "f", "x", 1, 0644));
        ASSERT_ERR(tender_fsync_dir_at(t->fd, "f"), ENOTDIR);
        ASSERT_ERR(tender_fsync_dir_at(t->fd, "none"), ENOENT);
}

TEST(mkdir_p) {
        const struct fixture_dir *t = fixture_dir("fileio");
        ASSERT_TRUE(t);
        ASSERT_OK(tender_mkdir_p_at(t->fd, "a/b/c", 0750));
        struct stat st;
        ASSERT_EQ(fstatat(t->fd, "a/b/c", &st, AT_SYMLINK_NOFOLLOW), 0);
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        /* Existing directories are fine; redundant slashes and "." too. */
        ASSERT_OK(tender_mkdir_p_at(t->fd, "a/b/c", 0750));
        ASSERT_OK(tender_mkdir_p_at(t->fd, "a//b/./d/", 0750));
        ASSERT_TRUE(fixture_exists_at(t->fd, "a/b/d"));
        ASSERT_OK(tender_mkdir_p_at(t->fd, ".", 0750));
        char abs[PATH_MAX];
        snprintf(abs, sizeof(abs), "%s/x/y", t->path);
        ASSERT_OK(tender_mkdir_p_at(AT_FDCWD, abs, 0755));
        ASSERT_TRUE(fixture_exists_at(t->fd, "x/y"));

        ASSERT_ERR(tender_mkdir_p_at(t->fd, "a/../escape", 0755), EINVAL);
        ASSERT_FALSE(fixture_exists_at(t->fd, "escape"));
        ASSERT_ERR(tender_mkdir_p_at(t->fd, "/abs", 0755), EINVAL);

        /* A file in the way. */
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "a/file", "x", 1, 0644));
        ASSERT_ERR(tender_mkdir_p_at(t->fd, "a/file/sub", 0755), ENOTDIR);
}

TEST(mkdir_p_refuses_symlink) {
        const struct fixture_dir *t = fixture_dir("fileio"), *outside = fixture_dir("fileio");
        ASSERT_TRUE(t && outside);
        ASSERT_OK(tender_mkdir_p_at(t->fd, "a", 0755));
        ASSERT_EQ(symlinkat(outside->path, t->fd, "a/link"), 0);

        int r = tender_mkdir_p_at(t->fd, "a/link/b/c", 0755);
        ASSERT_TRUE(r == -ELOOP || r == -ENOTDIR);
        ASSERT_EQ(fixture_count_entries(outside->fd, "."), 0);
        /* A symlink as the last component is refused too. */
        r = tender_mkdir_p_at(t->fd, "a/link", 0755);
        ASSERT_TRUE(r == -ELOOP || r == -ENOTDIR);
        /* A relative symlink to a directory inside is refused all the same. */
        ASSERT_OK(tender_mkdir_p_at(t->fd, "real", 0755));
        ASSERT_EQ(symlinkat("../real", t->fd, "a/rel"), 0);
        r = tender_mkdir_p_at(t->fd, "a/rel/z", 0755);
        ASSERT_TRUE(r == -ELOOP || r == -ENOTDIR);
        ASSERT_FALSE(fixture_exists_at(t->fd, "real/z"));
}

TEST(rm_rf) {
        const struct fixture_dir *t = fixture_dir("fileio");
        ASSERT_TRUE(t);
        ASSERT_OK(tender_mkdir_p_at(t->fd, "tree/a/b/c", 0755));
        ASSERT_OK(tender_mkdir_p_at(t->fd, "tree/empty", 0755));
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "tree/f", "x", 1, 0644));
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "tree/a/b/c/g", "y", 1, 0644));
        ASSERT_EQ(mkfifoat(t->fd, "tree/a/fifo", 0644), 0);
        /* A directory without permissions: unlink rights are on the parent only. */
        ASSERT_OK(tender_mkdir_p_at(t->fd, "tree/locked", 0755));
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "tree/locked/h", "z", 1, 0644));
        ASSERT_EQ(fchmodat(t->fd, "tree/locked", 0700, 0), 0);

        ASSERT_OK(tender_rm_rf_at(t->fd, "tree"));
        ASSERT_FALSE(fixture_exists_at(t->fd, "tree"));
        ASSERT_EQ(fixture_count_entries(t->fd, "."), 0);

        /* Missing is success; a plain file and a symlink are unlinked. */
        ASSERT_OK(tender_rm_rf_at(t->fd, "tree"));
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "file", "x", 1, 0644));
        ASSERT_OK(tender_rm_rf_at(t->fd, "file"));
        ASSERT_FALSE(fixture_exists_at(t->fd, "file"));
        ASSERT_ERR(tender_rm_rf_at(t->fd, "."), EINVAL);
        ASSERT_ERR(tender_rm_rf_at(t->fd, ""), EINVAL);
}

TEST(rm_rf_does_not_follow_symlinks) {
        const struct fixture_dir *t = fixture_dir("fileio"), *outside = fixture_dir("fileio");
        ASSERT_TRUE(t && outside);
        ASSERT_OK(tender_mkdir_p_at(outside->fd, "keep/deep", 0755));
        ASSERT_OK(tender_write_file_atomic_at(outside->fd, "keep/deep/precious", "p", 1, 0644));

        ASSERT_OK(tender_mkdir_p_at(t->fd, "tree/sub", 0755));
        char target[PATH_MAX];
        snprintf(target, sizeof(target), "%s/keep", outside->path);
        ASSERT_EQ(symlinkat(target, t->fd, "tree/sub/link"), 0);
        ASSERT_EQ(symlinkat(target, t->fd, "toplink"), 0);

        ASSERT_OK(tender_rm_rf_at(t->fd, "tree"));
        ASSERT_FALSE(fixture_exists_at(t->fd, "tree"));
        /* The path itself being a symlink to a directory: only the link goes. */
        ASSERT_OK(tender_rm_rf_at(t->fd, "toplink"));
        ASSERT_FALSE(fixture_exists_at(t->fd, "toplink"));

        ASSERT_TRUE(fixture_exists_at(outside->fd, "keep/deep/precious"));
}

/* Runs check(fd of t) in a child with its own mount namespace in which t/src is bind-mounted
 * on t/dst (a bind mount of the same file system: same st_dev, known by its mount root), so
 * that the test mount never leaks. Returns the child's exit status, 77 where mounting is not
 * possible. The fd is opened in the new namespace: lookups from one opened before unshare stay
 * in the old namespace's mounts. */
static int with_bind_mount(const struct fixture_dir *t, const char *src, const char *dst,
                           int (*check)(int fd)) {
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 ||
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(77);
                char s[PATH_MAX], d[PATH_MAX];
                snprintf(s, sizeof(s), "%s/%s", t->path, src);
                snprintf(d, sizeof(d), "%s/%s", t->path, dst);
                if (mount(s, d, NULL, MS_BIND, NULL) < 0)
                        _exit(77);
                int fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _exit(fd < 0 ? 9 : check(fd));
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
                return -1;
        return WEXITSTATUS(status);
}

static int rm_rf_check(int fd) {
        if (tender_rm_rf_at(fd, "tree") != -EXDEV)
                return 10;
        if (!fixture_exists_at(fd, "src/precious") || !fixture_exists_at(fd, "tree/mnt/precious"))
                return 11;
        if (fixture_exists_at(fd, "tree/other")) /* the rest was removed */
                return 12;
        if (tender_rm_rf_at(fd, "tree/mnt") != -EBUSY) /* the mount point itself is refused */
                return 13;
        return fixture_exists_at(fd, "src/precious") ? 0 : 14;
}

TEST(rm_rf_does_not_cross_mounts) {
        if (geteuid() != 0)
                SKIP("needs root for a mount namespace");
        const struct fixture_dir *t = fixture_dir("fileio");
        ASSERT_TRUE(t);
        ASSERT_OK(tender_mkdir_p_at(t->fd, "tree/mnt", 0755));
        ASSERT_OK(tender_mkdir_p_at(t->fd, "tree/other", 0755));
        ASSERT_OK(tender_mkdir_p_at(t->fd, "src", 0755));
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "src/precious", "p", 1, 0644));
        int status = with_bind_mount(t, "src", "tree/mnt", rm_rf_check);
        if (status == 77)
                SKIP("mount namespaces unavailable");
        ASSERT_EQ(status, 0);
        ASSERT_TRUE(fixture_exists_at(t->fd, "src/precious"));
}

TEST(symlink_atomic) {
        const struct fixture_dir *t = fixture_dir("fileio");
        ASSERT_TRUE(t);
        ASSERT_OK(tender_mkdir_p_at(t->fd, "apps/x/releases/1", 0755));
        ASSERT_OK(tender_mkdir_p_at(t->fd, "apps/x/releases/2", 0755));

        char buf[PATH_MAX];
        ASSERT_OK(tender_symlink_atomic_at(t->fd, "releases/1", "apps/x/current"));
        ssize_t n = readlinkat(t->fd, "apps/x/current", buf, sizeof(buf) - 1);
        ASSERT_TRUE(n > 0);
        buf[n] = '\0';
        ASSERT_STREQ(buf, "releases/1");

        ASSERT_OK(tender_symlink_atomic_at(t->fd, "releases/2", "apps/x/current"));
        n = readlinkat(t->fd, "apps/x/current", buf, sizeof(buf) - 1);
        ASSERT_TRUE(n > 0);
        buf[n] = '\0';
        ASSERT_STREQ(buf, "releases/2");

        /* Only releases/ and current remain: no temp link left over. */
        int xfd = openat(t->fd, "apps/x", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(xfd >= 0);
        ASSERT_EQ(fixture_count_entries(xfd, "."), 2);
        /* A directory in the way is not replaced. */
        int r = tender_symlink_atomic_at(xfd, "releases/1", "releases");
        ASSERT_TRUE(r == -EISDIR || r == -ENOTDIR);
        ASSERT_EQ(fixture_count_entries(xfd, "."), 2);
        close(xfd);
        ASSERT_ERR(tender_symlink_atomic_at(t->fd, "", "apps/x/current"), EINVAL);
}

/* The openat2 stand-ins' errno: a symlink where a directory was wanted is ELOOP, as with
 * RESOLVE_NO_SYMLINKS, a file stays ENOTDIR, a missing name keeps its errno. */
TEST(nofollow_errno) {
        const struct fixture_dir *t = fixture_dir("fileio");
        ASSERT_TRUE(t);
        ASSERT_OK(tender_mkdir_p_at(t->fd, "dir", 0755));
        ASSERT_TRUE(symlinkat("dir", t->fd, "link") == 0);
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "file", "x", 1, 0644));
        const char *names[] = {"link", "file"};
        const int want[] = {ELOOP, ENOTDIR};
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                ASSERT_TRUE(openat(t->fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW) < 0);
                ASSERT_EQ(tender_nofollow_errno(t->fd, names[i], errno), want[i]);
        }
        ASSERT_EQ(tender_nofollow_errno(t->fd, "missing", ENOENT), ENOENT);
}

TEST_MAIN()

/* tender_open_beneath: the unit tests run once with openat2 and once with the walk that stands
 * in for it (TENDER_TEST_NO_OPENAT2, tests/CMakeLists.txt); both must refuse the same ways out
 * with the same errno. */
/* Whether tender_open_beneath walks: forced by the test switch, or openat2 is missing (as
 * under qemu-user, which answers ENOSYS). */
static bool walk_forced(void) {
        if (getenv("TENDER_TEST_NO_OPENAT2"))
                return true;
        struct open_how how = {.flags = O_RDONLY | O_DIRECTORY, .resolve = RESOLVE_BENEATH};
        long fd = syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));
        if (fd >= 0)
                close((int) fd);
        return fd < 0 && (errno == ENOSYS || errno == EPERM);
}

TEST(open_beneath_opens_within) {
        const struct fixture_dir *t = fixture_dir("fileio");
        ASSERT_TRUE(t);
        ASSERT_OK(tender_mkdir_p_at(t->fd, "a/b", 0755));
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "a/b/f", "x", 1, 0644));
        _cleanup_close_ int fd = tender_open_beneath(t->fd, "a//./b/f", O_RDONLY);
        ASSERT_OK(fd);
        char c = 0;
        ASSERT_EQ(read(fd, &c, 1), 1);
        ASSERT_EQ(c, 'x');
        _cleanup_close_ int dfd = tender_open_beneath(t->fd, "a/b/", O_RDONLY | O_DIRECTORY);
        ASSERT_OK(dfd);
        ASSERT_ERR(tender_open_beneath(t->fd, "a/b/f/", O_RDONLY), ENOTDIR);
        ASSERT_ERR(tender_open_beneath(t->fd, "a/missing", O_RDONLY), ENOENT);
        ASSERT_ERR(tender_open_beneath(t->fd, "", O_RDONLY), ENOENT);
        ASSERT_ERR(tender_open_beneath(t->fd, "a/b/f/g", O_RDONLY), ENOTDIR);
        ASSERT_ERR(tender_open_beneath(t->fd, "a/new", O_RDONLY | O_CREAT), EINVAL);
        /* openat2 allows a ".." that stays beneath; the walk refuses every "..". */
        int r = tender_open_beneath(t->fd, "a/../a/b/f", O_RDONLY);
        if (walk_forced())
                ASSERT_EQ(r, -EXDEV);
        else
                ASSERT_OK(r);
        if (r >= 0)
                close(r);
}

TEST(open_beneath_refuses_ways_out) {
        const struct fixture_dir *t = fixture_dir("fileio");
        ASSERT_TRUE(t);
        ASSERT_OK(tender_mkdir_p_at(t->fd, "root/d", 0755));
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "secret", "s", 1, 0644));
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "root/d/f", "f", 1, 0644));
        ASSERT_OK(symlinkat("../secret", t->fd, "root/up"));
        ASSERT_OK(symlinkat("/", t->fd, "root/abs"));
        ASSERT_OK(symlinkat("d", t->fd, "root/inside"));
        ASSERT_OK(symlinkat("f", t->fd, "root/d/lnk"));
        _cleanup_close_ int root = openat(t->fd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_OK(root);

        ASSERT_ERR(tender_open_beneath(root, "../secret", O_RDONLY), EXDEV);
        ASSERT_ERR(tender_open_beneath(root, "d/../../secret", O_RDONLY), EXDEV);
        ASSERT_ERR(tender_open_beneath(root, "/etc/passwd", O_RDONLY), EXDEV);
        ASSERT_ERR(tender_open_beneath(root, "..", O_RDONLY | O_DIRECTORY), EXDEV);
        /* Any symlink is refused with ELOOP: last or not, in or out, whatever the flags. */
        ASSERT_ERR(tender_open_beneath(root, "up", O_RDONLY), ELOOP);
        ASSERT_ERR(tender_open_beneath(root, "abs/etc/passwd", O_RDONLY), ELOOP);
        ASSERT_ERR(tender_open_beneath(root, "abs", O_RDONLY | O_DIRECTORY), ELOOP);
        ASSERT_ERR(tender_open_beneath(root, "inside/f", O_RDONLY), ELOOP);
        ASSERT_ERR(tender_open_beneath(root, "inside", O_RDONLY | O_DIRECTORY), ELOOP);
        ASSERT_ERR(tender_open_beneath(root, "d/lnk", O_RDONLY), ELOOP);
        ASSERT_ERR(tender_open_beneath(root, "d/lnk", O_PATH), ELOOP);
        ASSERT_ERR(tender_open_beneath(root, "d/lnk", O_PATH | O_NOFOLLOW), ELOOP);
}

static int open_beneath_mount_check(int fd) {
        _cleanup_close_ int root = openat(fd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return 9;
        if (tender_open_beneath(root, "mnt/f", O_RDONLY) != -EXDEV)
                return 10;
        return tender_open_beneath(root, "mnt", O_RDONLY | O_DIRECTORY) != -EXDEV ? 11 : 0;
}

TEST(open_beneath_does_not_cross_mounts) {
        if (geteuid() != 0)
                SKIP("needs root for a mount namespace");
        const struct fixture_dir *t = fixture_dir("fileio");
        ASSERT_TRUE(t);
        ASSERT_OK(tender_mkdir_p_at(t->fd, "root/mnt", 0755));
        ASSERT_OK(tender_mkdir_p_at(t->fd, "src", 0755));
        ASSERT_OK(tender_write_file_atomic_at(t->fd, "src/f", "p", 1, 0644));
        int status = with_bind_mount(t, "src", "root/mnt", open_beneath_mount_check);
        if (status == 77)
                SKIP("mount namespaces unavailable");
        ASSERT_EQ(status, 0);
}
