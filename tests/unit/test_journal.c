/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/fileio.h"
#include "tender/journal.h"
#include "tender/json.h"
#include "test.h"

TEST(state_names_round_trip) {
        for (int s = 0; s < _TENDER_JOURNAL_STATE_MAX; s++) {
                enum tender_journal_state back;
                ASSERT_OK(tender_journal_state_from_name(tender_journal_state_name(s), &back));
                ASSERT_EQ((int) back, s);
        }
        enum tender_journal_state x;
        ASSERT_ERR(tender_journal_state_from_name("committing", &x), EINVAL);
        ASSERT_TRUE(tender_journal_state_is_final(TENDER_JOURNAL_ROLLED_BACK));
        ASSERT_FALSE(tender_journal_state_is_final(TENDER_JOURNAL_ROLLING_BACK));
        ASSERT_TRUE(tender_journal_state_needs_rollback(TENDER_JOURNAL_TESTING));
        ASSERT_FALSE(tender_journal_state_needs_rollback(TENDER_JOURNAL_STAGING));
        ASSERT_FALSE(tender_journal_state_needs_rollback(TENDER_JOURNAL_COMMITTED));
}

TEST(ids) {
        ASSERT_TRUE(tender_journal_id_valid("42"));
        ASSERT_TRUE(tender_journal_id_valid("a-b_c.1"));
        ASSERT_FALSE(tender_journal_id_valid(""));
        ASSERT_FALSE(tender_journal_id_valid(".hidden"));
        ASSERT_FALSE(tender_journal_id_valid("../x"));
        ASSERT_FALSE(tender_journal_id_valid("a/b"));
        char longid[TENDER_JOURNAL_ID_MAX + 2];
        memset(longid, 'a', sizeof(longid) - 1);
        longid[sizeof(longid) - 1] = '\0';
        ASSERT_FALSE(tender_journal_id_valid(longid));
}

TEST(write_read_list_remove) {
        int fd = fixture_dir_fd("journal", NULL);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(tender_journal_init(fd));
        char *details[] = {"web 1.0 running", NULL};
        struct tender_journal_record rec = {
                .action_id = "17",
                .deployment_base = "http://127.0.0.1/DEFAULT/controller/v1/d/deploymentBase/17",
                .chunk = 1,
                .n_chunks = 2,
                .app = "hello",
                .version = "2.0.0",
                .previous = "1.0.0",
                .state = TENDER_JOURNAL_TESTING,
                .details = details,
        };
        ASSERT_OK(tender_journal_write(fd, &rec));
        rec.state = TENDER_JOURNAL_ROLLED_BACK;
        rec.message = "hello 2.0.0 failed; rolled back to 1.0.0";
        rec.result = TENDER_JOURNAL_RESULT_FAILURE;
        ASSERT_OK(tender_journal_write(fd, &rec));
        /* A temp file left by a crash mid-write is ignored and removed. */
        ASSERT_OK(tender_write_file_atomic_at(fd, "journal/.#18.json.0123", "{", 1, 0600));

        char **ids = NULL;
        ASSERT_OK(tender_journal_list(fd, &ids));
        ASSERT_TRUE(ids[0] && STREQ(ids[0], "17") && !ids[1]);
        tender_strv_free(ids);
        ASSERT_TRUE(faccessat(fd, "journal/.#18.json.0123", F_OK, AT_SYMLINK_NOFOLLOW) < 0);

        struct tender_journal_record *back = NULL;
        ASSERT_OK(tender_journal_read(fd, "17", &back, NULL));
        ASSERT_STREQ(back->app, "hello");
        ASSERT_STREQ(back->previous, "1.0.0");
        ASSERT_EQ((int) back->state, TENDER_JOURNAL_ROLLED_BACK);
        ASSERT_EQ((int) back->result, TENDER_JOURNAL_RESULT_FAILURE);
        ASSERT_EQ(back->chunk, 1);
        ASSERT_STREQ(back->details[0], "web 1.0 running");
        ASSERT_STREQ(back->message, rec.message);
        tender_journal_record_free(back);

        ASSERT_OK(tender_journal_remove(fd, "17"));
        ASSERT_OK(tender_journal_remove(fd, "17"));
        back = NULL;
        ASSERT_ERR(tender_journal_read(fd, "17", &back, NULL), ENOENT);
        ASSERT_OK(tender_journal_list(fd, &ids));
        ASSERT_TRUE(ids[0] == NULL);
        tender_strv_free(ids);
        ASSERT_ERR(tender_journal_write(fd, &(struct tender_journal_record){.action_id = "../x",
                                                                            .app = "a",
                                                                            .version = "1"}),
                   EINVAL);
        close(fd);
}

TEST(parse_refuses) {
        struct tender_journal_record *r = NULL;
        struct tender_error err = {0};
        const char *bad_state = "{\"action\":\"1\",\"chunk\":0,\"chunks\":1,\"app\":\"a\","
                                "\"version\":\"1\",\"state\":\"exploded\",\"result\":\"none\"}";
        ASSERT_ERR(tender_journal_record_parse(bad_state, strlen(bad_state), &r, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "state");
        const char *unknown = "{\"action\":\"1\",\"chunk\":0,\"chunks\":1,\"app\":\"a\","
                              "\"version\":\"1\",\"state\":\"queued\",\"result\":\"none\","
                              "\"extra\":1}";
        ASSERT_TRUE(tender_journal_record_parse(unknown, strlen(unknown), &r, &err) < 0);
        ASSERT_TRUE(tender_journal_record_parse("[]", 2, &r, &err) < 0);
        const char *ok = "{\"action\":\"1\",\"chunk\":0,\"chunks\":1,\"app\":\"a\","
                         "\"version\":\"1\",\"state\":\"queued\",\"result\":\"none\"}";
        ASSERT_OK(tender_journal_record_parse(ok, strlen(ok), &r, &err));
        ASSERT_TRUE(r->previous == NULL && r->details == NULL && r->message == NULL);
        ASSERT_TRUE(!r->by_operator && !r->commit_failed && r->gate == NULL &&
                    r->app_lock_since == 0);
        tender_journal_record_free(r);
}

/* The swap gate's and the rollbacks' fields survive a write and a read. */
TEST(gate_fields_round_trip) {
        struct tender_journal_record rec = {.action_id = "9",
                                            .app = "hello",
                                            .version = "2.0.0",
                                            .n_chunks = 1,
                                            .state = TENDER_JOURNAL_STAGING,
                                            .by_operator = true,
                                            .commit_failed = true,
                                            .gate = "app-lock",
                                            .app_lock_since = 1700000000};
        _cleanup_free_ char *json = NULL;
        struct tender_journal_record *back = NULL;
        ASSERT_OK(tender_journal_record_to_json(&rec, &json));
        ASSERT_OK(tender_journal_record_parse(json, strlen(json), &back, NULL));
        ASSERT_TRUE(back->by_operator);
        ASSERT_TRUE(back->commit_failed);
        ASSERT_STREQ(back->gate, "app-lock");
        ASSERT_EQ(back->app_lock_since, 1700000000);
        tender_journal_record_free(back);
        const char *bad = "{\"action\":\"1\",\"chunk\":0,\"chunks\":1,\"app\":\"a\","
                          "\"version\":\"1\",\"state\":\"queued\",\"result\":\"none\","
                          "\"appLockSince\":\"soon\"}";
        ASSERT_TRUE(tender_journal_record_parse(bad, strlen(bad), &back, NULL) < 0);
}

TEST_MAIN()
