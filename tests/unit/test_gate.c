/* SPDX-License-Identifier: Apache-2.0 */
/* The swap gate's decision (agent/gate.c): reasons in order, re-check times, the app lock's
 * TTL counted from its first sight. */
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "gate.h"
#include "lock.h"
#include "tender/fileio.h"
#include "test.h"

static const char *dir; /* the test's fixture dir */

static int setup(void) {
        return fixture_dir_fd("gate", &dir);
}

static struct tender_config config(void) {
        return (struct tender_config){.app_lock_ttl_sec = 3600, .lock_retry_sec = 10};
}

TEST(server_reasons_first) {
        struct tender_config cfg = config();
        struct gate_input in = {.cfg = &cfg,
                                .root_fd = -1,
                                .app = "hello",
                                .update = TENDER_DDI_SKIP,
                                .window = TENDER_DDI_WINDOW_UNAVAILABLE,
                                .now = time(NULL)};
        struct gate_verdict v;
        uint64_t since = 0;

        ASSERT_EQ(gate_check(&in, &since, &v), 1);
        ASSERT_EQ((int) v.reason, GATE_SERVER_SKIP);
        ASSERT_EQ(v.recheck_sec, 0); /* only the server lifts it: at the next poll */
        ASSERT_CONTAINS(v.why, "skip the update");
        in.update = TENDER_DDI_FORCED;
        ASSERT_EQ(gate_check(&in, &since, &v), 1);
        ASSERT_EQ((int) v.reason, GATE_SERVER_WINDOW);
        ASSERT_CONTAINS(v.why, "waiting for maintenance window");
        in.window = TENDER_DDI_WINDOW_AVAILABLE;
        ASSERT_EQ(gate_check(&in, &since, &v), 0);
        ASSERT_EQ((int) v.reason, GATE_OPEN);
        ASSERT_STREQ(gate_reason_name(GATE_APP_LOCK), "app-lock");
}

TEST(config_window_recheck_when_it_opens) {
        struct tender_config cfg = config();
        struct tender_maintenance_window w;
        struct tm tm;
        time_t now = time(NULL);
        ASSERT_TRUE(localtime_r(&now, &tm) != NULL);
        /* A window that opens two hours from now, every day, one hour long. */
        char spec[32];
        int start = (tm.tm_hour * 60 + tm.tm_min + 120) % 1440, end = (start + 60) % 1440;
        snprintf(spec, sizeof(spec), "%02d:%02d-%02d:%02d", start / 60, start % 60,
                 end ? end / 60 : 24, end % 60);
        ASSERT_OK(tender_maintenance_window_parse(spec, &w));
        cfg.maintenance_windows = &w;
        cfg.n_maintenance_windows = 1;
        struct gate_input in = {.cfg = &cfg,
                                .root_fd = -1,
                                .app = "hello",
                                .update = TENDER_DDI_ATTEMPT,
                                .now = now};
        struct gate_verdict v;
        uint64_t since = 0;

        ASSERT_EQ(gate_check(&in, &since, &v), 1);
        ASSERT_EQ((int) v.reason, GATE_CONFIG_WINDOW);
        ASSERT_CONTAINS(v.why, "outside maintenance.windows");
        ASSERT_CONTAINS(v.why, "opens in 120 min");
        /* Two hours away, but looked at again within the hour (a DST change on the way). */
        ASSERT_EQ(v.recheck_sec, GATE_WINDOW_RECHECK_MAX_SEC);
        /* Inside the window, the swap goes; a forced update ignores the window. */
        in.now = now + 2 * 3600 + 60;
        ASSERT_EQ(gate_check(&in, &since, &v), 0);
        in.now = now;
        in.update = TENDER_DDI_FORCED;
        ASSERT_EQ(gate_check(&in, &since, &v), 0);
}

TEST(operator_lock_then_app_lock) {
        struct tender_config cfg = config();
        struct tender_error err = {0};
        struct gate_verdict v;
        uint64_t since = 0;
        int fd = setup();
        ASSERT_TRUE(fd >= 0);
        struct gate_input in = {.cfg = &cfg,
                                .root_fd = fd,
                                .app = "hello",
                                .update = TENDER_DDI_FORCED,
                                .now = time(NULL)};

        ASSERT_EQ(gate_check(&in, &since, &v), 0);
        /* The operator lock binds forced updates; re-checked at the retry interval, or at its
         * expiry when that comes first. */
        ASSERT_OK(lock_operator_set(fd, "hello", 5, "field test", 0, &err));
        ASSERT_EQ(gate_check(&in, &since, &v), 1);
        ASSERT_EQ((int) v.reason, GATE_OPERATOR_LOCK);
        ASSERT_CONTAINS(v.why, "field test");
        ASSERT_TRUE(v.recheck_sec >= 1 && v.recheck_sec <= 5);
        ASSERT_OK(lock_operator_clear(fd, "hello"));

        /* The app lock: held by an open file description of ours. */
        _cleanup_free_ char *path = NULL;
        ASSERT_OK(lock_app_path(fd, dir, "hello", &path));
        int holder = open(path, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(holder >= 0);
        ASSERT_OK(flock(holder, LOCK_SH));
        ASSERT_EQ(gate_check(&in, &since, &v), 1);
        ASSERT_EQ((int) v.reason, GATE_APP_LOCK);
        ASSERT_EQ(since, (uint64_t) in.now); /* first sight, kept by the caller */
        ASSERT_EQ(v.recheck_sec, 10);
        /* Later: the TTL counts from the first sight, not from this look. */
        in.now += 3599;
        ASSERT_EQ(gate_check(&in, &since, &v), 1);
        ASSERT_EQ(v.recheck_sec, 1);
        ASSERT_CONTAINS(v.why, "held for 3599 s");
        in.now += 1;
        ASSERT_EQ(gate_check(&in, &since, &v), 0);
        ASSERT_EQ(v.app_lock_held_sec, 3600);
        /* Released: open, and the first sight stays (a lock taken again goes on counting). */
        close(holder);
        in.now -= 3000;
        ASSERT_EQ(gate_check(&in, &since, &v), 0);
        ASSERT_EQ(v.app_lock_held_sec, 0);
        ASSERT_TRUE(since != 0);
        /* A clock set back before the first sight counts from now. */
        holder = open(path, O_RDONLY | O_CLOEXEC);
        ASSERT_OK(flock(holder, LOCK_EX));
        in.now = (time_t) since - 100;
        ASSERT_EQ(gate_check(&in, &since, &v), 1);
        ASSERT_EQ(since, (uint64_t) in.now);
        close(holder);
        close(fd);
}

TEST_MAIN()
