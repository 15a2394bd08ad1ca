/* SPDX-License-Identifier: Apache-2.0 */
/* tender-server-mock's rollouts (server-mock/rollout.c) and its state file (persist.c): canary
 * rounding, the success and error thresholds, pause, resume and cancel, and a state file that
 * comes back as it was or is refused with an error naming what is wrong. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "persist.h"
#include "rollout.h"
#include "state.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "test.h"

struct fixture {
        struct mock_state *s;
        struct mock_fleet *f;
};

static void fixture_free(struct fixture *x) {
        mock_fleet_free(x->f);
        mock_state_free(x->s);
}

/* n targets d01.., each with configData {"ring": "a" for odd numbers, "b" for even}. */
static int fixture_new(struct fixture *x, unsigned n) {
        *x = (struct fixture){0};
        if (mock_state_new(&x->s) < 0 || mock_fleet_new(&x->f) < 0)
                return -ENOMEM;
        for (unsigned i = 1; i <= n; i++) {
                char id[16];
                struct mock_target *t;
                snprintf(id, sizeof(id), "d%02u", i);
                int r = mock_target_get(x->s, id, true, &t);
                if (r < 0)
                        return r;
                cJSON *cfg = cJSON_CreateObject();
                cJSON_AddStringToObject(cfg, "ring", i % 2 ? "a" : "b");
                r = mock_target_config_apply(t, "merge", cfg);
                cJSON_Delete(cfg);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int group(struct fixture *x, const char *json) {
        struct tender_error err = {0};
        cJSON *body = cJSON_Parse(json);
        int r = body ? mock_group_create(x->f, body, &err) : -EINVAL;
        if (r < 0)
                fprintf(stderr, "  group: %s\n", err.message);
        cJSON_Delete(body);
        return r;
}

static int rollout(struct fixture *x, const char *json, struct mock_rollout **ret,
                   struct tender_error *err) {
        cJSON *body = cJSON_Parse(json);
        int r = body ? mock_rollout_create(x->f, x->s, body, 1000, ret, err) : -EINVAL;
        cJSON_Delete(body);
        return r;
}

/* The number of devices of phase p in the management view. */
static int phase_devices(struct mock_rollout *r, struct mock_state *s, unsigned p) {
        cJSON *o = mock_rollout_to_json(r, s);
        cJSON *ph = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "phases"), (int) p);
        int n = ph ? cJSON_GetObjectItem(ph, "devices")->valueint : -1;
        cJSON_Delete(o);
        return n;
}

/* Closes target's open action with result ("success" or "failure"). */
static int finish(struct fixture *x, const char *target, const char *result) {
        struct mock_action *a = mock_action_open_for(x->s, target);
        if (!a)
                return -ENOENT;
        return mock_action_add_feedback(a, cJSON_CreateObject(), "closed", result);
}

TEST(canary_rounds_up_and_takes_the_front) {
        static const struct {
                unsigned devices, percent, canary;
        } cases[] = {{20, 10, 2}, {15, 10, 2}, {5, 1, 1}, {10, 50, 5}, {3, 99, 3}};
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct fixture x;
                struct mock_rollout *r;
                struct tender_error err = {0};
                char json[256];
                ASSERT_OK(fixture_new(&x, cases[i].devices));
                ASSERT_OK(group(&x, "{\"name\":\"all\",\"attributes\":{\"ring\":\"a\"}}"));
                ASSERT_OK(group(&x, "{\"name\":\"rest\",\"attributes\":{\"ring\":\"b\"}}"));
                snprintf(json, sizeof(json),
                         "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"2.0.0\","
                         "\"groups\":[\"all\",\"rest\"],\"canaryPercent\":%u}",
                         cases[i].percent);
                ASSERT_OK(rollout(&x, json, &r, &err));
                ASSERT_EQ(phase_devices(r, x.s, 0), cases[i].canary);
                /* Only the canary has actions: one each, for the first devices of group 1. */
                ASSERT_TRUE(mock_action_open_for(x.s, "d01") != NULL);
                ASSERT_EQ(mock_action_get(x.s, cases[i].canary + 1) == NULL, true);
                fixture_free(&x);
        }
}

TEST(no_canary_without_percent_and_groups_deduplicated) {
        struct fixture x;
        struct mock_rollout *r;
        struct tender_error err = {0};
        unsigned n;
        ASSERT_OK(fixture_new(&x, 6));
        ASSERT_OK(group(&x, "{\"name\":\"first\",\"targets\":[\"d02\",\"d04\"]}"));
        ASSERT_OK(group(&x, "{\"name\":\"even\",\"attributes\":{\"ring\":\"b\"}}"));
        ASSERT_OK(rollout(&x,
                          "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"2.0.0\","
                          "\"groups\":[\"first\",\"even\"]}",
                          &r, &err));
        ASSERT_EQ(mock_rollout_phase(r, &n), 0);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(phase_devices(r, x.s, 0), 2);
        ASSERT_EQ(phase_devices(r, x.s, 1), 1); /* d06: d02 and d04 were in "first" */
        ASSERT_TRUE(mock_action_open_for(x.s, "d01") == NULL);
        fixture_free(&x);
}

TEST(success_threshold_starts_the_next_phase) {
        struct fixture x;
        struct mock_rollout *r;
        struct tender_error err = {0};
        ASSERT_OK(fixture_new(&x, 10));
        ASSERT_OK(group(&x, "{\"name\":\"a\",\"attributes\":{\"ring\":\"a\"}}"));
        ASSERT_OK(group(&x, "{\"name\":\"b\",\"attributes\":{\"ring\":\"b\"}}"));
        ASSERT_OK(rollout(&x,
                          "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"2.0.0\","
                          "\"groups\":[\"a\",\"b\"],\"successThreshold\":60,"
                          "\"errorThreshold\":20}",
                          &r, &err));
        /* Group a: d01 d03 d05 d07 d09. 2 of 5 is short of 60 %. */
        ASSERT_OK(finish(&x, "d01", "success"));
        ASSERT_OK(finish(&x, "d03", "success"));
        mock_fleet_tick(x.f, x.s, 1001);
        ASSERT_EQ(mock_rollout_phase(r, NULL), 0);
        ASSERT_TRUE(mock_action_open_for(x.s, "d02") == NULL);
        /* One failure of 5 is 20 %: not over the error threshold. */
        ASSERT_OK(finish(&x, "d05", "failure"));
        mock_fleet_tick(x.f, x.s, 1002);
        ASSERT_EQ(mock_rollout_state(r), MOCK_ROLLOUT_RUNNING);
        ASSERT_OK(finish(&x, "d07", "success"));
        mock_fleet_tick(x.f, x.s, 1003);
        ASSERT_EQ(mock_rollout_phase(r, NULL), 1);
        ASSERT_TRUE(mock_action_open_for(x.s, "d02") != NULL);
        ASSERT_TRUE(mock_action_open_for(x.s, "d09") != NULL); /* still running: fine */
        for (unsigned i = 2; i <= 10; i += 2) {
                char id[8];
                snprintf(id, sizeof(id), "d%02u", i);
                ASSERT_OK(finish(&x, id, "success"));
        }
        mock_fleet_tick(x.f, x.s, 1004);
        ASSERT_EQ(mock_rollout_state(r), MOCK_ROLLOUT_FINISHED);
        fixture_free(&x);
}

TEST(error_threshold_stops_before_the_rest) {
        struct fixture x;
        struct mock_rollout *r;
        struct tender_error err = {0};
        ASSERT_OK(fixture_new(&x, 20));
        ASSERT_OK(group(&x, "{\"name\":\"all\",\"attributes\":{\"ring\":\"a\"}}"));
        ASSERT_OK(group(&x, "{\"name\":\"b\",\"attributes\":{\"ring\":\"b\"}}"));
        ASSERT_OK(rollout(&x,
                          "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"3.0.0\","
                          "\"groups\":[\"all\",\"b\"],\"canaryPercent\":10}",
                          &r, &err));
        ASSERT_OK(finish(&x, "d01", "failure"));
        mock_fleet_tick(x.f, x.s, 1001);
        ASSERT_EQ(mock_rollout_state(r), MOCK_ROLLOUT_STOPPED);
        /* Stopped: the other canary's action goes on, nobody else gets one. */
        ASSERT_OK(finish(&x, "d03", "success"));
        mock_fleet_tick(x.f, x.s, 1002);
        ASSERT_EQ(mock_rollout_state(r), MOCK_ROLLOUT_STOPPED);
        for (unsigned i = 4; i <= 20; i++) {
                char id[8];
                snprintf(id, sizeof(id), "d%02u", i);
                ASSERT_TRUE(mock_action_open_for(x.s, id) == NULL);
        }
        ASSERT_TRUE(mock_action_get(x.s, 3) == NULL);
        fixture_free(&x);
}

TEST(a_phase_that_ends_short_stops) {
        struct fixture x;
        struct mock_rollout *r;
        struct tender_error err = {0};
        ASSERT_OK(fixture_new(&x, 4));
        ASSERT_OK(group(&x, "{\"name\":\"a\",\"attributes\":{\"ring\":\"a\"}}"));
        ASSERT_OK(group(&x, "{\"name\":\"b\",\"attributes\":{\"ring\":\"b\"}}"));
        ASSERT_OK(rollout(&x,
                          "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"2.0.0\","
                          "\"groups\":[\"a\",\"b\"],\"errorThreshold\":50}",
                          &r, &err));
        ASSERT_OK(finish(&x, "d01", "success"));
        ASSERT_OK(finish(&x, "d03", "failure"));
        mock_fleet_tick(x.f, x.s, 1001);
        ASSERT_EQ(mock_rollout_state(r), MOCK_ROLLOUT_STOPPED);
        ASSERT_TRUE(mock_action_open_for(x.s, "d02") == NULL);
        fixture_free(&x);
}

TEST(pause_resume_cancel) {
        struct fixture x;
        struct mock_rollout *r;
        struct tender_error err = {0};
        ASSERT_OK(fixture_new(&x, 4));
        ASSERT_OK(group(&x, "{\"name\":\"a\",\"attributes\":{\"ring\":\"a\"}}"));
        ASSERT_OK(group(&x, "{\"name\":\"b\",\"attributes\":{\"ring\":\"b\"}}"));
        ASSERT_OK(rollout(&x,
                          "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"2.0.0\","
                          "\"groups\":[\"a\",\"b\"]}",
                          &r, &err));
        ASSERT_ERR(mock_rollout_resume(r, 1001, &err), EBUSY);
        ASSERT_OK(mock_rollout_pause(r, 1001, &err));
        ASSERT_ERR(mock_rollout_pause(r, 1001, &err), EBUSY);
        ASSERT_OK(finish(&x, "d01", "success"));
        ASSERT_OK(finish(&x, "d03", "success"));
        mock_fleet_tick(x.f, x.s, 1002);
        /* Paused: the phase is done, but the next one waits. */
        ASSERT_EQ(mock_rollout_phase(r, NULL), 0);
        ASSERT_TRUE(mock_action_open_for(x.s, "d02") == NULL);
        ASSERT_OK(mock_rollout_resume(r, 1003, &err));
        mock_fleet_tick(x.f, x.s, 1003);
        ASSERT_EQ(mock_rollout_phase(r, NULL), 1);
        struct mock_action *a = mock_action_open_for(x.s, "d02");
        ASSERT_TRUE(a != NULL);
        ASSERT_OK(mock_rollout_cancel(r, x.s, 1004, &err));
        ASSERT_EQ(mock_rollout_state(r), MOCK_ROLLOUT_CANCELED);
        ASSERT_EQ(a->cancel, MOCK_CANCEL_REQUESTED);
        ASSERT_EQ(mock_action_open_for(x.s, "d04")->cancel, MOCK_CANCEL_REQUESTED);
        ASSERT_ERR(mock_rollout_cancel(r, x.s, 1005, &err), EBUSY);
        ASSERT_ERR(mock_rollout_resume(r, 1005, &err), EBUSY);
        fixture_free(&x);
}

TEST(bad_rollouts_are_refused) {
        struct fixture x;
        struct mock_rollout *r;
        struct tender_error err = {0};
        ASSERT_OK(fixture_new(&x, 2));
        ASSERT_OK(group(&x, "{\"name\":\"a\",\"targets\":[\"d01\"]}"));
        ASSERT_ERR(group(&x, "{\"name\":\"a\",\"targets\":[\"d02\"]}"), EEXIST);
        ASSERT_ERR(group(&x, "{\"name\":\"c\",\"targets\":[\"d/1\"]}"), EINVAL);
        ASSERT_ERR(group(&x, "{\"name\":\"c\"}"), EINVAL);
        ASSERT_ERR(group(&x, "{\"name\":\"n\",\"attributes\":{\"ring\":\"none\"}}") == 0 ? 0 : 1,
                   0);
        ASSERT_ERR(rollout(&x,
                           "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"1\","
                           "\"groups\":[\"zz\"]}",
                           &r, &err),
                   ENOENT);
        ASSERT_CONTAINS(err.message, "no group zz");
        ASSERT_ERR(rollout(&x,
                           "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"1\","
                           "\"groups\":[\"n\"]}",
                           &r, &err),
                   ENOENT);
        ASSERT_CONTAINS(err.message, "no devices");
        ASSERT_ERR(rollout(&x,
                           "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"1\","
                           "\"groups\":[\"a\"],\"canaryPercent\":101}",
                           &r, &err),
                   EINVAL);
        ASSERT_ERR(rollout(&x,
                           "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"1\","
                           "\"groups\":[\"a\"],\"successThreshold\":0}",
                           &r, &err),
                   EINVAL);
        ASSERT_OK(rollout(&x,
                          "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"1\","
                          "\"groups\":[\"a\"]}",
                          &r, &err));
        ASSERT_ERR(rollout(&x,
                           "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"1\","
                           "\"groups\":[\"a\"]}",
                           &r, &err),
                   EEXIST);
        fixture_free(&x);
}

static char *state_path(char *dir) {
        static char path[300];
        snprintf(path, sizeof(path), "%s/state.json", dir);
        return path;
}

/* A fixture in the middle of a rollout: canary done, phase "b" running. */
static int mid_rollout(struct fixture *x) {
        struct mock_rollout *r;
        struct tender_error err = {0};
        int k;
        if ((k = fixture_new(x, 10)) < 0 ||
            (k = group(x, "{\"name\":\"a\",\"attributes\":{\"ring\":\"a\"}}")) < 0 ||
            (k = group(x, "{\"name\":\"b\",\"targets\":[\"d02\",\"d04\"]}")) < 0 ||
            (k = rollout(x,
                         "{\"name\":\"r\",\"app\":\"hello\",\"version\":\"2.0.0\","
                         "\"groups\":[\"a\",\"b\"],\"canaryPercent\":10}",
                         &r, &err)) < 0 ||
            (k = finish(x, "d01", "success")) < 0)
                return k;
        mock_fleet_tick(x->f, x->s, 1001);
        return 0;
}

TEST(state_file_round_trip) {
        char dir[] = "/tmp/test-rollout.XXXXXX";
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        struct fixture x, y;
        struct tender_error err = {0};
        bool found = true;
        ASSERT_OK(mid_rollout(&x));
        ASSERT_EQ(mock_rollout_phase(mock_rollout_get(x.f, "r"), NULL), 1);
        ASSERT_OK(mock_state_new(&y.s));
        ASSERT_OK(mock_fleet_new(&y.f));
        ASSERT_OK(mock_persist_load(state_path(dir), y.s, y.f, &found, &err));
        ASSERT_FALSE(found); /* no file yet: empty, no error */
        ASSERT_OK(mock_persist_save(state_path(dir), x.s, x.f, &err));
        ASSERT_OK(mock_persist_load(state_path(dir), y.s, y.f, &found, &err));
        ASSERT_TRUE(found);
        /* Where it was: phase 1, the canary's action closed, the group's running. */
        struct mock_rollout *r = mock_rollout_get(y.f, "r");
        ASSERT_TRUE(r != NULL);
        ASSERT_EQ(mock_rollout_phase(r, NULL), 1);
        ASSERT_EQ(mock_rollout_state(r), MOCK_ROLLOUT_RUNNING);
        ASSERT_EQ(mock_state_n_targets(y.s), 10);
        ASSERT_TRUE(mock_action_installed_for(y.s, "d01") != NULL);
        ASSERT_TRUE(mock_action_open_for(y.s, "d03") != NULL);
        ASSERT_TRUE(mock_action_get(y.s, 7) == NULL);
        /* And it goes on from there. */
        struct mock_action *a = mock_action_open_for(y.s, "d03");
        cJSON *fb = cJSON_CreateObject();
        ASSERT_OK(mock_action_add_feedback(a, fb, "closed", "success"));
        for (const char *t = "d05"; t; t = STREQ(t, "d05") ? "d07" : STREQ(t, "d07") ? "d09" : NULL)
                ASSERT_OK(mock_action_add_feedback(mock_action_open_for(y.s, t),
                                                   cJSON_CreateObject(), "closed", "success"));
        mock_fleet_tick(y.f, y.s, 1002);
        ASSERT_EQ(mock_rollout_phase(r, NULL), 2);
        ASSERT_TRUE(mock_action_open_for(y.s, "d02") != NULL);
        fixture_free(&x);
        fixture_free(&y);
        unlink(state_path(dir));
        rmdir(dir);
}

/* Loads text as the state file: the error, or "" when it loaded. */
static const char *load_text(const char *dir, const char *text) {
        static struct tender_error err;
        struct fixture y = {0};
        bool found;
        tender_error_clear(&err);
        if (tender_write_file_atomic_at(AT_FDCWD, state_path((char *) dir), text, strlen(text),
                                        0600) < 0)
                return "cannot write";
        if (mock_state_new(&y.s) < 0 || mock_fleet_new(&y.f) < 0)
                return "ENOMEM";
        int r = mock_persist_load(state_path((char *) dir), y.s, y.f, &found, &err);
        fixture_free(&y);
        return r < 0 ? err.message : "";
}

/* text with the first occurrence of from replaced by to. */
static char *replace(const char *text, const char *from, const char *to) {
        const char *p = strstr(text, from);
        if (!p)
                return NULL;
        char *out = NULL;
        if (asprintf(&out, "%.*s%s%s", (int) (p - text), text, to, p + strlen(from)) < 0)
                return NULL;
        return out;
}

TEST(corrupt_state_file_is_refused_with_a_clear_error) {
        char dir[] = "/tmp/test-rollout.XXXXXX";
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        struct fixture x;
        struct tender_error err = {0};
        ASSERT_OK(mid_rollout(&x));
        ASSERT_OK(mock_persist_save(state_path(dir), x.s, x.f, &err));
        _cleanup_free_ char *good = NULL;
        ASSERT_OK(tender_read_file_at(AT_FDCWD, state_path(dir), 1 << 20, &good, NULL));
        ASSERT_STREQ(load_text(dir, good), "");

        static const struct {
                const char *from, *to, *error;
        } cases[] = {
                {"\"format\":\"tender-server-mock-state\"", "\"format\":\"x\"",
                 "not a tender-server-mock-state file"},
                {"{\"id\":2,", "{\"id\":5,", "state: actions[1].id"},
                {"\"status\":\"open\"", "\"status\":\"half\"", "state: actions["},
                {"\"actionId\":1}", "\"actionId\":99}", "actionId names no action"},
                {"\"state\":\"running\"", "\"state\":\"jogging\"", "rollouts[0]"},
                {"\"controllerId\":\"d01\"", "\"controllerId\":\"d/1\"", "targets[0].controllerId"},
                {"\"groups\":[{", "\"groups\":[7,{", "groups[0]"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *bad = replace(good, cases[i].from, cases[i].to);
                ASSERT_TRUE(bad != NULL);
                const char *msg = load_text(dir, bad);
                ASSERT_CONTAINS(msg, state_path(dir));
                ASSERT_CONTAINS(msg, cases[i].error);
        }
        /* Cut short, or empty: corrupt, not a fresh start. */
        good[strlen(good) / 2] = '\0';
        ASSERT_CONTAINS(load_text(dir, good), "is corrupt");
        ASSERT_CONTAINS(load_text(dir, ""), "is corrupt");
        fixture_free(&x);
        unlink(state_path(dir));
        rmdir(dir);
}

TEST_MAIN()
