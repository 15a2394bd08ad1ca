/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
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

TEST_MAIN()
