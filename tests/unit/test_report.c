/* SPDX-License-Identifier: Apache-2.0 */
/* The report path (agent/report.c): events reach the added sinks in order, and the transfer in
 * progress crosses threads whole. Built a second time with ThreadSanitizer (test_report_tsan)
 * so that an unlocked access to the transfer record fails the test. */
#include <pthread.h>
#include <stdatomic.h>

#include "report.h"
#include "test.h"

#define ROUNDS 20000

struct seen {
        enum report_kind kinds[8];
        char states[8][32];
        size_t n;
};

static void record(const struct report_event *e, void *userdata) {
        struct seen *s = userdata;
        if (s->n < 8) {
                s->kinds[s->n] = e->kind;
                snprintf(s->states[s->n], sizeof(s->states[0]), "%s", e->state ? e->state : "");
                s->n++;
        }
}

TEST(sinks_get_events_in_order) {
        struct seen s = {0};
        report_init(NULL);
        ASSERT_OK(report_add_sink(record, &s));
        report_emit(&(struct report_event){.kind = REPORT_STATE, .app = "a", .state = "queued"});
        report_emit(&(struct report_event){.kind = REPORT_PROGRESS, .app = "a", .detail = "x"});
        report_emit(&(struct report_event){.kind = REPORT_STATE, .app = "a", .state = "committed"});
        report_emit(&(struct report_event){.kind = REPORT_IDLE});
        report_clear_sinks();
        report_emit(&(struct report_event){.kind = REPORT_IDLE});
        ASSERT_EQ(s.n, 4);
        ASSERT_EQ(s.kinds[0], REPORT_STATE);
        ASSERT_STREQ(s.states[0], "queued");
        ASSERT_EQ(s.kinds[1], REPORT_PROGRESS);
        ASSERT_STREQ(s.states[2], "committed");
        ASSERT_EQ(s.kinds[3], REPORT_IDLE);
        ASSERT_STREQ(report_kind_name(REPORT_HEALTH), "health");
        ASSERT_STREQ(report_kind_name(REPORT_CANCEL), "cancel");
}

TEST(sinks_are_bounded) {
        struct seen s = {0};
        for (int i = 0; i < REPORT_SINKS_MAX; i++)
                ASSERT_OK(report_add_sink(record, &s));
        ASSERT_ERR(report_add_sink(record, &s), ENOSPC);
        report_clear_sinks();
}

/* status.c builds the status document again only when this moved: what may change it moves
 * it, what an idle tenderd emits (the poll's idle, progress, a note again) does not. */
TEST(generation_moves_on_changes_only) {
        report_init(NULL);
        uint64_t g = report_generation();
        report_emit(&(struct report_event){.kind = REPORT_IDLE});
        report_emit(&(struct report_event){.kind = REPORT_PROGRESS, .app = "a", .detail = "x"});
        report_emit(&(struct report_event){.kind = REPORT_NOTE, .detail = "locked", .again = true});
        ASSERT_EQ(report_generation(), g);
        report_emit(&(struct report_event){.kind = REPORT_HEALTH, .app = "a", .healthy = false});
        ASSERT_EQ(report_generation(), g + 1);
        report_emit(&(struct report_event){.kind = REPORT_STATE, .app = "a", .state = "queued"});
        ASSERT_EQ(report_generation(), g + 2);
        /* The update in flight ends: the status's agent.state changes. */
        report_emit(&(struct report_event){.kind = REPORT_IDLE});
        ASSERT_EQ(report_generation(), g + 3);
        report_emit(&(struct report_event){.kind = REPORT_IDLE});
        ASSERT_EQ(report_generation(), g + 3);
}

/* The final feedback goes through the path and its failure comes back to the caller, which
 * keeps the journal record: without an update server it cannot be sent. */
TEST(final_feedback_failure_reaches_the_caller) {
        struct tender_error err = {0};
        struct seen s = {0};
        report_init(NULL);
        ASSERT_OK(report_add_sink(record, &s));
        int r = report_emit(&(struct report_event){
                .kind = REPORT_FINAL, .action_id = "1", .feedback_json = "{}", .err = &err});
        report_clear_sinks();
        ASSERT_TRUE(r < 0);
        ASSERT_CONTAINS(err.message, "no update server");
        ASSERT_EQ(s.n, 1);
        ASSERT_EQ(s.kinds[0], REPORT_FINAL);
        ASSERT_OK(report_emit(&(struct report_event){.kind = REPORT_IDLE}));
}

static atomic_bool stop;

/* The download side: each blob i has total i * 1000 and a text naming i. */
static void *writer(void *arg) {
        (void) arg;
        for (uint64_t i = 1; i <= ROUNDS; i++) {
                char what[32];
                snprintf(what, sizeof(what), "blob %llu", (unsigned long long) i);
                report_transfer_begin(what, i * 1000);
                report_transfer(i * 500, i * 1000);
                report_transfer(i * 1000, i * 1000);
                report_transfer_end();
        }
        atomic_store(&stop, true);
        return NULL;
}

TEST(transfer_crosses_threads_whole) {
        pthread_t t;
        unsigned torn = 0, seen = 0;
        ASSERT_EQ(pthread_create(&t, NULL, writer, NULL), 0);
        while (!atomic_load(&stop)) {
                char what[80];
                uint64_t done, total;
                if (!report_transfer_get(what, sizeof(what), &done, &total))
                        continue;
                seen++;
                unsigned long long n = 0;
                /* What, done and total of one blob, never a mix of two. */
                if (sscanf(what, "blob %llu", &n) != 1 || total != n * 1000 || done > total)
                        torn++;
        }
        pthread_join(t, NULL);
        ASSERT_EQ(torn, 0);
        char what[80];
        uint64_t done, total;
        ASSERT_FALSE(report_transfer_get(what, sizeof(what), &done, &total));
        ASSERT_STREQ(what, "");
        (void) seen;
}

TEST_MAIN()
