/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "lock.h"
#include "tender/fileio.h"
#include "test.h"

static const char *dir; /* the test's fixture dir */

static int setup(void) {
        return fixture_dir_fd("lock", &dir);
}

TEST(operator_lock_lease) {
        struct tender_error err = {0};
        struct lock_operator l;
        uint64_t now = (uint64_t) time(NULL);
        int fd = setup();
        ASSERT_TRUE(fd >= 0);

        ASSERT_ERR(lock_operator_get(fd, "hello", now, &l), ENOENT);
        ASSERT_OK(lock_operator_set(fd, "hello", 60, "maintenance", 1000, &err));
        ASSERT_OK(lock_operator_get(fd, "hello", now, &l));
        ASSERT_STREQ(l.reason, "maintenance");
        ASSERT_EQ(l.uid, 1000);
        ASSERT_TRUE(l.until >= now + 60 && l.until <= now + 62);
        /* A lease ends by itself: past its expiry it is not in force. */
        ASSERT_ERR(lock_operator_get(fd, "hello", l.until, &l), ENOENT);
        /* Other apps are not locked. */
        ASSERT_ERR(lock_operator_get(fd, "other", now, &l), ENOENT);
        /* Durable and visible as a file, so that a restarted tenderd sees it. */
        ASSERT_OK(faccessat(fd, "locks/hello.json", F_OK, 0));
        ASSERT_OK(lock_operator_clear(fd, "hello"));
        ASSERT_ERR(lock_operator_clear(fd, "hello"), ENOENT);
        ASSERT_ERR(lock_operator_get(fd, "hello", now, &l), ENOENT);
        close(fd);
}

TEST(operator_lock_limits) {
        struct tender_error err = {0};
        char reason[LOCK_REASON_MAX + 2];
        int fd = setup();
        ASSERT_TRUE(fd >= 0);

        memset(reason, 'x', sizeof(reason) - 1);
        reason[sizeof(reason) - 1] = 0;
        ASSERT_ERR(lock_operator_set(fd, "hello", 0, NULL, 0, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "TTL");
        ASSERT_ERR(lock_operator_set(fd, "hello", LOCK_TTL_MAX + 1, NULL, 0, &err), EINVAL);
        ASSERT_ERR(lock_operator_set(fd, "hello", 10, reason, 0, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "reason");
        /* App names become file names: nothing that leaves locks/. */
        ASSERT_ERR(lock_operator_set(fd, "../x", 10, NULL, 0, &err), EINVAL);
        ASSERT_ERR(lock_operator_set(fd, ".hidden", 10, NULL, 0, &err), EINVAL);
        ASSERT_ERR(lock_operator_set(fd, "", 10, NULL, 0, &err), EINVAL);
        ASSERT_ERR(lock_operator_clear(fd, "a/b"), EINVAL);
        /* A damaged lock file is reported, not taken for a lock. */
        ASSERT_OK(tender_mkdir_p_at(fd, "locks", 0700));
        ASSERT_OK(
                tender_write_file_atomic_at(fd, "locks/bad.json", "{\"until\": \"x\"}", 14, 0600));
        struct lock_operator l;
        ASSERT_ERR(lock_operator_get(fd, "bad", 0, &l), EBADMSG);
        close(fd);
}

/* Holds a POSIX lock on path in a child until the pipe closes; returns its pid. */
static pid_t posix_holder(const char *path, int *ret_pipe) {
        int p[2], q[2];
        if (pipe(p) < 0 || pipe(q) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                close(p[1]);
                close(q[0]);
                int fd = open(path, O_RDWR);
                struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
                char c = fcntl(fd, F_SETLK, &fl) == 0 ? 'y' : 'n';
                (void) !write(q[1], &c, 1);
                (void) !read(p[0], &c, 1);
                _exit(0);
        }
        close(p[0]);
        close(q[1]);
        char c = 0;
        (void) !read(q[0], &c, 1);
        close(q[0]);
        *ret_pipe = p[1];
        return c == 'y' ? pid : -1;
}

TEST(app_lock_held_and_released) {
        _cleanup_free_ char *path = NULL;
        int fd = setup();
        ASSERT_TRUE(fd >= 0);

        ASSERT_EQ(lock_app_held(fd, "hello"), 0); /* no file yet */
        ASSERT_OK(lock_app_path(fd, dir, "hello", &path));
        ASSERT_CONTAINS(path, "/locks/app/hello");
        struct stat st;
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 07777, 0644);
        ASSERT_EQ(lock_app_held(fd, "hello"), 0);

        /* flock, taken through a read-only descriptor as an unprivileged app would. */
        int h = open(path, O_RDONLY | O_CLOEXEC);
        ASSERT_OK(flock(h, LOCK_SH));
        ASSERT_EQ(lock_app_held(fd, "hello"), 1);
        close(h); /* the holder's descriptor goes: so does the lock */
        ASSERT_EQ(lock_app_held(fd, "hello"), 0);

        /* OFD read lock. */
        h = open(path, O_RDONLY | O_CLOEXEC);
        struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
        ASSERT_OK(fcntl(h, F_OFD_SETLK, &fl));
        ASSERT_EQ(lock_app_held(fd, "hello"), 1);
        close(h);
        ASSERT_EQ(lock_app_held(fd, "hello"), 0);

        /* A classic POSIX lock of another process, which dies. */
        int keep = -1;
        pid_t pid = posix_holder(path, &keep);
        ASSERT_TRUE(pid > 0);
        ASSERT_EQ(lock_app_held(fd, "hello"), 1);
        close(keep);
        waitpid(pid, NULL, 0);
        ASSERT_EQ(lock_app_held(fd, "hello"), 0);
        close(fd);
}

TEST_MAIN()
