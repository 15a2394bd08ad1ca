/* SPDX-License-Identifier: Apache-2.0 */
/* notify_status (agent/notify.c) as the service manager sees it: a datagram socket of the test's
 * own stands in for systemd's, named by $NOTIFY_SOCKET. */
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixture.h"
#include "notify.h"
#include "test.h"

static char path[PATH_MAX];

/* A bound datagram socket, NOTIFY_SOCKET naming it. */
static int listen_notify(void) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        const struct fixture_dir *d = fixture_dir("notify");
        if (!d)
                return -1;
        snprintf(path, sizeof(path), "%s/notify", d->path);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -1;
        setenv("NOTIFY_SOCKET", path, 1);
        return fd;
}

static void done(int fd) {
        close(fd);
        unlink(path);
        unsetenv("NOTIFY_SOCKET");
}

/* The next datagram, NUL-terminated; "" when none came. */
static const char *receive(int fd) {
        static char buf[8192];
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        buf[n > 0 ? n : 0] = '\0';
        return buf;
}

static unsigned count_lines(const char *s) {
        unsigned n = 0;
        for (const char *p = s; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
                n++;
        return n;
}

/* A name and a version as a hostile server would offer them: one STATUS= assignment comes out,
 * escaped, and nothing else. */
TEST(status_escaped) {
        int fd = listen_notify();
        if (fd < 0)
                TEST_FAIL_("notify socket: %s", strerror(errno));
        notify_status(false, "%s %s: %s (action %s)", "app\nMAINPID=1",
                      "1.0\nWATCHDOG=trigger\nREADY=1", "verifying", "7\x1b[2J");
        const char *m = receive(fd);
        done(fd);
        ASSERT_STREQ(m, "STATUS=app\\x0aMAINPID=1 1.0\\x0aWATCHDOG=trigger\\x0aREADY=1: verifying "
                        "(action 7\\x1b[2J)");
        ASSERT_EQ(count_lines(m), 1);
}

TEST(ready_and_status) {
        int fd = listen_notify();
        if (fd < 0)
                TEST_FAIL_("notify socket: %s", strerror(errno));
        notify_status(true, "%s", "polling");
        const char *m = receive(fd);
        done(fd);
        ASSERT_STREQ(m, "READY=1\nSTATUS=polling");
}

/* A long status is cut, still one assignment, not longer than the limit. */
TEST(status_bounded) {
        char big[4096];
        memset(big, '\n', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        int fd = listen_notify();
        if (fd < 0)
                TEST_FAIL_("notify socket: %s", strerror(errno));
        notify_status(false, "%s", big);
        const char *m = receive(fd);
        done(fd);
        ASSERT_EQ(count_lines(m), 1);
        ASSERT_TRUE(strlen(m) <= strlen("STATUS=") + NOTIFY_STATUS_TEXT_MAX - 1);
        ASSERT_CONTAINS(m, "\\x0a...");
}

TEST_MAIN()
