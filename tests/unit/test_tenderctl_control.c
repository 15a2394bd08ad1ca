/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/escape.h"
#include "tenderctl_control.h"
#include "test.h"

TEST(durations) {
        uint64_t s = 0;
        ASSERT_OK(tenderctl_parse_duration("90", &s));
        ASSERT_EQ(s, 90);
        ASSERT_OK(tenderctl_parse_duration("45s", &s));
        ASSERT_EQ(s, 45);
        ASSERT_OK(tenderctl_parse_duration("30m", &s));
        ASSERT_EQ(s, 1800);
        ASSERT_OK(tenderctl_parse_duration("1h", &s));
        ASSERT_EQ(s, 3600);
        ASSERT_OK(tenderctl_parse_duration("2d", &s));
        ASSERT_EQ(s, 172800);
        ASSERT_ERR(tenderctl_parse_duration("0", &s), EINVAL);
        ASSERT_ERR(tenderctl_parse_duration("-1h", &s), EINVAL);
        ASSERT_ERR(tenderctl_parse_duration("1hh", &s), EINVAL);
        ASSERT_ERR(tenderctl_parse_duration("h", &s), EINVAL);
        ASSERT_ERR(tenderctl_parse_duration("1w", &s), EINVAL);
        ASSERT_ERR(tenderctl_parse_duration("99999999999999999999d", &s), EINVAL);
}

TEST(progress_bar) {
        char line[256];
        tenderctl_progress_bar("blob", 512 * 1024, 1024 * 1024, 10, line, sizeof(line));
        ASSERT_STREQ(line, "blob [#####-----]  50% 0.5/1.0 MiB");
        tenderctl_progress_bar("blob", 0, 0, 4, line, sizeof(line));
        ASSERT_STREQ(line, "blob [----]   0% 0.0/0.0 MiB");
        /* done past total (a resumed .part counted twice) stays at 100 %. */
        tenderctl_progress_bar("blob", 3, 2, 4, line, sizeof(line));
        ASSERT_STREQ(line, "blob [####] 100% 0.0/0.0 MiB");
}

/* A reply quoting server and app text, as a compromised server would have tenderd pass it on:
 * a version with a newline and a terminal title sequence, a note with invalid UTF-8, a log line
 * clearing the screen. */
static const char hostile_reply[] =
        "{\"ok\":true,\"update\":{\"app\":\"hello\",\"version\":\"1.0\\n\\u001b]0;owned\\u0007\","
        "\"deferred\":\"app says \xc0\xaf\xed\xa0\x80\"},\"entries\":[{\"message\":"
        "\"\\u001b[2Jdone\\r\",\"caf\xc3\xa9\\u0085\":\"ok\"}]}";

static bool terminal_clean(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
                        return false;
        return tender_utf8_valid(s, strlen(s));
}

TEST(reply_escaped) {
        _cleanup_(cJSON_Deletep) cJSON *r = cJSON_Parse(hostile_reply);
        ASSERT_TRUE(r != NULL);
        ASSERT_OK(tenderctl_escape_reply(r));
        cJSON *u = cJSON_GetObjectItem(r, "update");
        ASSERT_STREQ(cJSON_GetObjectItem(u, "version")->valuestring, "1.0\\x0a\\x1b]0;owned\\x07");
        ASSERT_STREQ(cJSON_GetObjectItem(u, "deferred")->valuestring,
                     "app says \\xc0\\xaf\\xed\\xa0\\x80");
        cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "entries"), 0);
        ASSERT_STREQ(cJSON_GetObjectItem(e, "message")->valuestring, "\\x1b[2Jdone\\x0d");
        ASSERT_STREQ(e->child->next->string, "caf\xc3\xa9\\xc2\\x85"); /* a member name, C1 NEL */
        _cleanup_free_ char *printed = cJSON_Print(r);
        ASSERT_TRUE(terminal_clean(printed));
}

/* tenderctl_request escapes what it reads: a control socket of the test's own answers. */
TEST(request_escapes_reply) {
        const struct fixture_dir *t = fixture_dir("ctl");
        ASSERT_TRUE(t);
        const char *dir = t->path;
        char path[64];
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(path, sizeof(path), "%s/control.sock", dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(lfd >= 0);
        ASSERT_OK(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)));
        ASSERT_OK(listen(lfd, 1));
        pid_t pid = fork();
        if (pid == 0) {
                int c = accept(lfd, NULL, NULL);
                char buf[256];
                while (c >= 0 && read(c, buf, sizeof(buf)) > 0)
                        ;
                _exit(c >= 0 && write(c, hostile_reply, strlen(hostile_reply)) > 0 ? 0 : 1);
        }
        close(lfd);
        _cleanup_(cJSON_Deletep) cJSON *req = cJSON_CreateObject(), *reply = NULL;
        int r = tenderctl_request(path, req, &reply);
        int status = 0;
        waitpid(pid, &status, 0);
        unlink(path);
        ASSERT_OK(r);
        ASSERT_EQ(status, 0);
        _cleanup_free_ char *printed = cJSON_Print(reply);
        ASSERT_TRUE(terminal_clean(printed));
        ASSERT_CONTAINS(printed, "1.0\\\\x0a\\\\x1b]0;owned");
}

TEST_MAIN()
