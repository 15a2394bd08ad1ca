/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tender/log.h"
#include "test.h"

/* Runs fn with stderr redirected to a temp file; returns what it wrote (static buffer). */
static const char *capture_stderr(void (*fn)(void)) {
        static char buf[4096];
        char path[] = "/tmp/test_log.XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0)
                return NULL;
        unlink(path);
        fflush(stderr);
        int saved = dup(2);
        dup2(fd, 2);
        fn();
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        return buf;
}

TEST(parse_level) {
        ASSERT_EQ(tender_log_parse_level("error"), LOG_ERR);
        ASSERT_EQ(tender_log_parse_level("warning"), LOG_WARNING);
        ASSERT_EQ(tender_log_parse_level("notice"), LOG_NOTICE);
        ASSERT_EQ(tender_log_parse_level("info"), LOG_INFO);
        ASSERT_EQ(tender_log_parse_level("debug"), LOG_DEBUG);
        ASSERT_ERR(tender_log_parse_level("verbose"), EINVAL);
        ASSERT_ERR(tender_log_parse_level(NULL), EINVAL);
}

static void log_with_context(void) {
        const struct tender_log_ctx ctx = {.app = "hello", .version = "2.0.0", .state = "swap"};
        tender_log(LOG_WARNING, &ctx, "Failed to stop %s", "hello-1_0_0");
}

TEST(stderr_message_and_context) {
        tender_log_setup("test", TENDER_LOG_STDERR);
        tender_log_set_level(LOG_INFO);
        const char *out = capture_stderr(log_with_context);
        ASSERT_CONTAINS(out, "test warning:");
        ASSERT_CONTAINS(out, "[hello 2.0.0 swap]");
        ASSERT_CONTAINS(out, "Failed to stop hello-1_0_0\n");
}

static void log_debug_and_keep_errno(void) {
        errno = EXDEV;
        log_debug("hidden below the level");
        log_info("shown");
        if (errno != EXDEV)
                fprintf(stderr, "errno changed\n");
}

TEST(level_filters_and_errno_kept) {
        tender_log_setup("test", TENDER_LOG_STDERR);
        tender_log_set_level(LOG_INFO);
        const char *out = capture_stderr(log_debug_and_keep_errno);
        ASSERT_TRUE(strstr(out, "hidden") == NULL);
        ASSERT_CONTAINS(out, "shown");
        ASSERT_TRUE(strstr(out, "errno changed") == NULL);
        ASSERT_EQ(tender_log_get_level(), LOG_INFO);
}

static void log_hostile(void) {
        const struct tender_log_ctx ctx = {.app = "app\nFAKE", .version = "1\x1b[2J", .state = "q"};
        tender_log(LOG_ERR, &ctx, "%s: \"%s\"", "deployment.chunks[0].version",
                   "1.0\ninfo: forged line\r\x1b]0;title\x07\xc0\xaf\xe2\x82");
}

/* A message and its context quote server text: one line comes out, escaped. */
TEST(stderr_escaped) {
        tender_log_setup("test", TENDER_LOG_STDERR);
        tender_log_set_level(LOG_INFO);
        const char *out = capture_stderr(log_hostile);
        ASSERT_CONTAINS(out, "[app\\x0aFAKE 1\\x1b[2J q]");
        ASSERT_CONTAINS(out, "\"1.0\\x0ainfo: forged line\\x0d\\x1b]0;title\\x07\\xc0\\xaf"
                             "\\xe2\\x82\"\n");
        ASSERT_TRUE(strchr(out, '\n') == out + strlen(out) - 1);
        ASSERT_TRUE(strchr(out, '\x1b') == NULL && strchr(out, '\r') == NULL);
}

/* Each line of a native journal datagram is KEY=VALUE; a value holding a newline would be sent
 * in the binary form ("KEY\n" and a length), which this refuses. Returns the MESSAGE value. */
static const char *journal_fields_clean(char *buf, size_t n, const char **ret_app) {
        const char *message = NULL;
        buf[n] = '\0';
        for (char *line = buf, *nl; *line; line = nl + 1) {
                nl = strchr(line, '\n');
                if (!nl)
                        return NULL;
                *nl = '\0';
                char *eq = strchr(line, '=');
                if (!eq || eq == line)
                        return NULL;
                for (char *k = line; k < eq; k++)
                        if (!((*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_'))
                                return NULL;
                if (strncmp(line, "FAKE", 4) == 0)
                        return NULL;
                if (strncmp(line, "MESSAGE=", 8) == 0)
                        message = eq + 1;
                if (strncmp(line, "TENDER_APP=", 11) == 0)
                        *ret_app = eq + 1;
        }
        return message;
}

/* In a mount namespace of its own, a datagram socket stands in for journald's: exits 0 when the
 * message arrived as plain KEY=VALUE lines with the text escaped, 2 when it could not set up. */
static int journal_child(void) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        static char buf[16384];
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/run/systemd", "tmpfs", 0, "mode=0755") < 0 ||
            mkdir("/run/systemd/journal", 0755) < 0)
                return 2;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/run/systemd/journal/socket");
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return 2;
        tender_log_setup("test", TENDER_LOG_JOURNAL);
        tender_log_set_level(LOG_INFO);
        log_hostile();
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n <= 0)
                return 3;
        const char *app = NULL, *m = journal_fields_clean(buf, (size_t) n, &app);
        return m && app && strstr(m, "\"1.0\\x0ainfo: forged line\\x0d\\x1b]0;title\\x07") &&
                               STREQ(app, "app\\x0aFAKE")
                       ? 0
                       : 1;
}

/* The journal's fields: the message and the context stay one field each, one line each. */
TEST(journal_escaped) {
        struct stat st;
        if (geteuid() != 0)
                SKIP("a mount namespace for a stand-in journald socket needs root");
        if (stat("/run/systemd", &st) < 0)
                SKIP("no /run/systemd to mount the stand-in journald socket on");
        pid_t pid = fork();
        if (pid == 0)
                _exit(journal_child());
        int status = 0;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
                SKIP("cannot make a mount namespace here");
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
}

TEST_MAIN()
