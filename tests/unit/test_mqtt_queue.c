/* SPDX-License-Identifier: Apache-2.0 */
/* The MQTT store-and-forward queue (agent/mqtt_queue.c): order, bound, durability across a
 * reopen (what a restart or a power cut leaves), the drop counter and the numbering. */
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "fixture.h"
#include "mqtt_queue.h"
#include "tender/fileio.h"
#include "tender/macro.h"
#include "test.h"

static void push_str(struct mqtt_queue *q, const char *s) {
        if (mqtt_queue_push(q, s, strlen(s)) < 0)
                TEST_FAIL_("push %s failed", s);
}

/* Peeks, checks and pops the head. */
static bool pop_expect(struct mqtt_queue *q, const char *want, uint64_t want_seq) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        uint64_t seq;
        if (mqtt_queue_peek(q, &data, &len, &seq) < 0)
                return false;
        bool ok = STREQ(data, want) && seq == want_seq && len == strlen(want);
        return mqtt_queue_pop(q, seq) >= 0 && ok;
}

TEST(order_and_durability) {
        int root = fixture_dir_fd("mqttq", NULL);
        struct mqtt_queue *q = NULL;
        ASSERT_TRUE(root >= 0);
        ASSERT_OK(mqtt_queue_open(root, 10, &q));
        push_str(q, "a");
        push_str(q, "b");
        push_str(q, "c");
        ASSERT_TRUE(pop_expect(q, "a", 0));
        mqtt_queue_free(q);
        /* A torn push: the temp file of an interrupted write goes at the next open. */
        ASSERT_OK(tender_write_file_atomic_at(root, MQTT_QUEUE_DIR "/.#00000000000000000003.x",
                                              "torn", 4, 0600));
        ASSERT_OK(mqtt_queue_open(root, 10, &q));
        ASSERT_EQ(mqtt_queue_length(q), 2);
        ASSERT_FALSE(faccessat(root, MQTT_QUEUE_DIR "/.#00000000000000000003.x", F_OK, 0) == 0);
        ASSERT_TRUE(pop_expect(q, "b", 1));
        ASSERT_TRUE(pop_expect(q, "c", 2));
        ASSERT_EQ(mqtt_queue_length(q), 0);
        mqtt_queue_free(q);
        /* Empty now: the numbering goes on after a restart. */
        ASSERT_OK(mqtt_queue_open(root, 10, &q));
        ASSERT_EQ(mqtt_queue_next_seq(q), 3);
        push_str(q, "d");
        ASSERT_TRUE(pop_expect(q, "d", 3));
        mqtt_queue_free(q);
        close(root);
}

TEST(full_drops_oldest_and_counts) {
        int root = fixture_dir_fd("mqttq", NULL);
        struct mqtt_queue *q = NULL;
        ASSERT_TRUE(root >= 0);
        ASSERT_OK(mqtt_queue_open(root, 3, &q));
        push_str(q, "1");
        push_str(q, "2");
        push_str(q, "3");
        push_str(q, "4");
        push_str(q, "5");
        ASSERT_EQ(mqtt_queue_length(q), 3);
        ASSERT_EQ(mqtt_queue_dropped(q), 2);
        mqtt_queue_free(q);
        ASSERT_OK(mqtt_queue_open(root, 3, &q));
        ASSERT_EQ(mqtt_queue_dropped(q), 2); /* durable */
        ASSERT_TRUE(pop_expect(q, "3", 2));
        ASSERT_TRUE(pop_expect(q, "4", 3));
        ASSERT_TRUE(pop_expect(q, "5", 4));
        ASSERT_ERR(mqtt_queue_push(q, "x", MQTT_QUEUE_ENTRY_MAX + 1), EFBIG);
        mqtt_queue_free(q);
        close(root);
}

TEST_MAIN()
