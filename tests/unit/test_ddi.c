/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "tender/ddi.h"
#include "tender/escape.h"
#include "tender/json.h"
#include "test.h"

#define BASE "http://127.0.0.1:8080/DEFAULT/controller/v1/dev01"

/* Shaped like hawkBit's DDI documentation, with fields tender does not use. */
static const char poll_doc[] =
        "{\"config\":{\"polling\":{\"sleep\":\"12:00:00\"}},"
        "\"_links\":{\"deploymentBase\":{\"href\":\"" BASE "/deploymentBase/3?c=-2129030598\"},"
        "\"installedBase\":{\"href\":\"" BASE "/installedBase/1\"},"
        "\"configData\":{\"href\":\"" BASE "/configData\"},"
        "\"cancelAction\":{\"href\":\"" BASE "/cancelAction/5\"}}}";

static const char deployment_doc[] =
        "{\"id\":\"8\",\"deployment\":{\"download\":\"forced\",\"update\":\"attempt\","
        "\"maintenanceWindow\":\"available\",\"chunks\":[{\"part\":\"bApp\",\"version\":\"2.0.0\","
        "\"name\":\"hello\",\"metadata\":[{\"key\":\"k\",\"value\":\"v\"}],\"artifacts\":["
        "{\"filename\":\"release.json\",\"hashes\":{\"sha1\":"
        "\"2d86c2a659e364e9abba49ea6ffcd53dd5559f05\","
        "\"md5\":\"0d1b08c34858921bc7c662b228acb7ba\",\"sha256\":"
        "\"a03b221c6c6eae7122ca51695d456d5222e524889136394944b2f9763b483615\"},\"size\":3,"
        "\"_links\":{\"download\":{\"href\":\"https://cdn.example/release.json\"},"
        "\"download-http\":{\"href\":\"http://127.0.0.1:8080/a/release.json\"},"
        "\"md5sum-http\":{\"href\":\"http://127.0.0.1:8080/a/release.json.MD5SUM\"}}},"
        "{\"filename\":\"release.json.sig\",\"size\":120,"
        "\"_links\":{\"download\":{\"href\":\"https://cdn.example/release.json.sig\"}}}]}]},"
        "\"actionHistory\":{\"status\":\"RUNNING\",\"messages\":[\"Started download\"]}}";

static int parse_poll(const char *s, struct tender_ddi_poll **ret, struct tender_error *err) {
        return tender_ddi_poll_parse(s, strlen(s), ret, err);
}

static int parse_dep(const char *s, struct tender_ddi_deployment **ret, struct tender_error *err) {
        return tender_ddi_deployment_parse(s, strlen(s), ret, err);
}

TEST(poll_documented) {
        _cleanup_(tender_ddi_poll_freep) struct tender_ddi_poll *p = NULL;
        struct tender_error err = {0};
        ASSERT_OK(parse_poll(poll_doc, &p, &err));
        ASSERT_EQ(p->sleep_sec, 12 * 3600);
        ASSERT_STREQ(p->deployment_base, BASE "/deploymentBase/3?c=-2129030598");
        ASSERT_STREQ(p->config_data, BASE "/configData");
        ASSERT_STREQ(p->cancel_action, BASE "/cancelAction/5");
        ASSERT_STREQ(p->installed_base, BASE "/installedBase/1");
}

TEST(poll_without_links) {
        _cleanup_(tender_ddi_poll_freep) struct tender_ddi_poll *p = NULL;
        ASSERT_OK(parse_poll("{\"config\":{\"polling\":{\"sleep\":\"00:05:00\"}},\"_links\":{}}",
                             &p, NULL));
        ASSERT_EQ(p->sleep_sec, 300);
        ASSERT_TRUE(p->deployment_base == NULL);
        ASSERT_TRUE(p->config_data == NULL);
        ASSERT_TRUE(p->cancel_action == NULL);
        ASSERT_TRUE(p->installed_base == NULL);
}

TEST(poll_refused) {
        struct tender_ddi_poll *p = NULL;
        struct tender_error err = {0};
        ASSERT_TRUE(parse_poll("{\"config\":{\"polling\":{\"sleep\":\"5 min\"}}}", &p, &err) < 0);
        ASSERT_CONTAINS(err.message, "config.polling.sleep");
        ASSERT_TRUE(
                parse_poll("{\"_links\":{\"deploymentBase\":{\"href\":\"file:///etc/passwd\"}}}",
                           &p, &err) < 0);
        ASSERT_CONTAINS(err.message, "_links.deploymentBase");
        ASSERT_TRUE(parse_poll("{\"_links\":{\"deploymentBase\":{}}}", &p, &err) < 0);
        ASSERT_CONTAINS(err.message, "href");
        ASSERT_TRUE(parse_poll("[1]", &p, &err) < 0);
        ASSERT_TRUE(parse_poll("{\"config\":", &p, &err) < 0);
        ASSERT_TRUE(p == NULL);
}

TEST(sleep_parse) {
        uint64_t s = 0;
        ASSERT_OK(tender_ddi_parse_sleep("00:00:30", &s));
        ASSERT_EQ(s, 30);
        ASSERT_OK(tender_ddi_parse_sleep("01:02:03", &s));
        ASSERT_EQ(s, 3723);
        ASSERT_OK(tender_ddi_parse_sleep("00:00:00", &s));
        ASSERT_EQ(s, 1); /* never a busy loop */
        ASSERT_OK(tender_ddi_parse_sleep("999:59:59", &s));
        ASSERT_EQ(s, TENDER_DDI_SLEEP_MAX_SEC);
        ASSERT_ERR(tender_ddi_parse_sleep("00:60:00", &s), EINVAL);
        ASSERT_ERR(tender_ddi_parse_sleep("00:00:60", &s), EINVAL);
        ASSERT_ERR(tender_ddi_parse_sleep("1000:00:00", &s), EINVAL);
        ASSERT_ERR(tender_ddi_parse_sleep("-1:00:00", &s), EINVAL);
        ASSERT_ERR(tender_ddi_parse_sleep(" 1:00:00", &s), EINVAL);
        ASSERT_ERR(tender_ddi_parse_sleep("00:00", &s), EINVAL);
        ASSERT_ERR(tender_ddi_parse_sleep("00:00:01x", &s), EINVAL);
        ASSERT_ERR(tender_ddi_parse_sleep("", &s), EINVAL);
        ASSERT_ERR(tender_ddi_parse_sleep(NULL, &s), EINVAL);
}

TEST(deployment_documented) {
        _cleanup_(tender_ddi_deployment_freep) struct tender_ddi_deployment *d = NULL;
        struct tender_error err = {0};
        ASSERT_OK(parse_dep(deployment_doc, &d, &err));
        ASSERT_STREQ(d->id, "8");
        ASSERT_EQ(d->download, TENDER_DDI_FORCED);
        ASSERT_EQ(d->update, TENDER_DDI_ATTEMPT);
        ASSERT_EQ(d->n_chunks, 1);
        const struct tender_ddi_chunk *c = &d->chunks[0];
        ASSERT_STREQ(c->part, "bApp");
        ASSERT_STREQ(c->name, "hello");
        ASSERT_STREQ(c->version, "2.0.0");
        ASSERT_EQ(c->n_artifacts, 2);
        const struct tender_ddi_artifact *a = tender_ddi_chunk_artifact(c, "release.json");
        ASSERT_TRUE(a != NULL);
        ASSERT_EQ(a->size, 3);
        ASSERT_STREQ(a->url, "https://cdn.example/release.json");
        ASSERT_STREQ(a->url_http, "http://127.0.0.1:8080/a/release.json");
        /* From an https server only the https link; from an http one download-http first. */
        ASSERT_STREQ(tender_ddi_artifact_url(a, false), "https://cdn.example/release.json");
        ASSERT_STREQ(tender_ddi_artifact_url(a, true), "http://127.0.0.1:8080/a/release.json");
        a = tender_ddi_chunk_artifact(c, "release.json.sig");
        ASSERT_TRUE(a != NULL);
        ASSERT_STREQ(tender_ddi_artifact_url(a, false), "https://cdn.example/release.json.sig");
        ASSERT_STREQ(tender_ddi_artifact_url(a, true), "https://cdn.example/release.json.sig");
        ASSERT_TRUE(tender_ddi_chunk_artifact(c, "sha256:00") == NULL);
}

TEST(deployment_documented_extras) {
        _cleanup_(tender_ddi_deployment_freep) struct tender_ddi_deployment *d = NULL;
        ASSERT_OK(parse_dep(deployment_doc, &d, NULL));
        ASSERT_EQ(d->window, TENDER_DDI_WINDOW_AVAILABLE);
        const struct tender_ddi_chunk *c = &d->chunks[0];
        ASSERT_EQ(c->n_metadata, 1);
        ASSERT_STREQ(tender_ddi_chunk_metadata(c, "k"), "v");
        ASSERT_TRUE(tender_ddi_chunk_metadata(c, "v") == NULL);
        ASSERT_FALSE(c->encrypted);
        const struct tender_ddi_artifact *a = tender_ddi_chunk_artifact(c, "release.json");
        ASSERT_STREQ(a->sha1, "2d86c2a659e364e9abba49ea6ffcd53dd5559f05");
        ASSERT_STREQ(a->md5, "0d1b08c34858921bc7c662b228acb7ba");
        ASSERT_STREQ(a->sha256, "a03b221c6c6eae7122ca51695d456d5222e524889136394944b2f9763b483615");
        a = tender_ddi_chunk_artifact(c, "release.json.sig");
        ASSERT_TRUE(a->sha1 == NULL && a->md5 == NULL && a->sha256 == NULL);
}

/* A deployment that defers the update to a closed maintenance window, as hawkBit documents it:
 * download forced, update skip, window unavailable; an encrypted chunk without metadata. */
TEST(deployment_window_unavailable) {
        _cleanup_(tender_ddi_deployment_freep) struct tender_ddi_deployment *d = NULL;
        static const char doc[] =
                "{\"id\":\"9\",\"deployment\":{\"download\":\"forced\",\"update\":\"skip\","
                "\"maintenanceWindow\":\"unavailable\",\"chunks\":[{\"part\":\"os\","
                "\"version\":\"1.1\",\"name\":\"fw\",\"encrypted\":true,\"artifacts\":[]}]},"
                "\"actionHistory\":{\"status\":\"SCHEDULED\",\"messages\":[]}}";
        ASSERT_OK(parse_dep(doc, &d, NULL));
        ASSERT_EQ(d->download, TENDER_DDI_FORCED);
        ASSERT_EQ(d->update, TENDER_DDI_SKIP);
        ASSERT_EQ(d->window, TENDER_DDI_WINDOW_UNAVAILABLE);
        ASSERT_TRUE(d->chunks[0].encrypted);
        ASSERT_EQ(d->chunks[0].n_metadata, 0);
}

/* installedBase: the deploymentBase's shape, for the last action installed. */
/* A hostile server's "download" link may be plain http: never taken from an https server. */
TEST(artifact_url_never_downgrades) {
        struct tender_ddi_artifact a = {.url = (char *) "http://cdn.example/x"};
        ASSERT_TRUE(tender_ddi_artifact_url(&a, false) == NULL);
        ASSERT_STREQ(tender_ddi_artifact_url(&a, true), "http://cdn.example/x");
        a = (struct tender_ddi_artifact){.url_http = (char *) "http://cdn.example/x"};
        ASSERT_TRUE(tender_ddi_artifact_url(&a, false) == NULL);
        a = (struct tender_ddi_artifact){.url = (char *) "HTTPS://cdn.example/x"};
        ASSERT_TRUE(tender_ddi_artifact_url(&a, false) == NULL); /* get_link refuses it anyway */
}

/* The id of a deploymentBase tenderd cannot use, so that it can still be reported. */
TEST(action_id_of_an_unusable_document) {
        static const char broken[] = "{\"id\":\"77\",\"deployment\":{\"chunks\":5}}";
        _cleanup_(tender_ddi_deployment_freep) struct tender_ddi_deployment *d = NULL;
        _cleanup_free_ char *id = NULL, *num = NULL;
        char *none = NULL;
        ASSERT_TRUE(parse_dep(broken, &d, NULL) < 0);
        ASSERT_OK(tender_ddi_action_id(broken, strlen(broken), &id));
        ASSERT_STREQ(id, "77");
        ASSERT_OK(tender_ddi_action_id("{\"id\":12}", 9, &num));
        ASSERT_STREQ(num, "12");
        ASSERT_ERR(tender_ddi_action_id("<html>", 6, &none), EINVAL);
        ASSERT_ERR(tender_ddi_action_id("{\"id\":{}}", 9, &none), EINVAL);
        ASSERT_ERR(tender_ddi_action_id("[1]", 3, &none), EINVAL);
        ASSERT_TRUE(none == NULL);
}

TEST(installed_base_documented) {
        _cleanup_(tender_ddi_deployment_freep) struct tender_ddi_deployment *d = NULL;
        static const char doc[] =
                "{\"id\":\"1\",\"deployment\":{\"download\":\"forced\",\"update\":\"forced\","
                "\"chunks\":[{\"part\":\"bApp\",\"version\":\"1.0.0\",\"name\":\"hello\","
                "\"artifacts\":[{\"filename\":\"release.json\",\"size\":10,\"_links\":{"
                "\"download-http\":{\"href\":\"http://h/release.json\"}}}]}]},"
                "\"actionHistory\":{\"status\":\"FINISHED\",\"messages\":[\"done\"]}}";
        ASSERT_OK(parse_dep(doc, &d, NULL));
        ASSERT_STREQ(d->id, "1");
        ASSERT_EQ(d->window, TENDER_DDI_WINDOW_NONE);
        ASSERT_STREQ(d->chunks[0].version, "1.0.0");
}

TEST(cancel_documented) {
        _cleanup_(tender_ddi_cancel_freep) struct tender_ddi_cancel *c = NULL;
        struct tender_error err = {0};
        static const char doc[] = "{\"id\":\"11\",\"cancelAction\":{\"stopId\":\"11\"}}";
        ASSERT_OK(tender_ddi_cancel_parse(doc, strlen(doc), &c, &err));
        ASSERT_STREQ(c->id, "11");
        ASSERT_STREQ(c->stop_id, "11");
}

TEST(cancel_refused) {
        struct tender_ddi_cancel *c = NULL;
        struct tender_error err = {0};
        static const char *const bad[][2] = {
                {"{\"id\":\"11\"}", "cancelAction"},
                {"{\"id\":\"11\",\"cancelAction\":{}}", "cancelAction.stopId"},
                {"{\"id\":\"11\",\"cancelAction\":{\"stopId\":[]}}", "cancelAction.stopId"},
                {"{\"cancelAction\":{\"stopId\":\"11\"}}", "id"},
                {"[]", "cancelAction"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err = (struct tender_error){0};
                ASSERT_TRUE(tender_ddi_cancel_parse(bad[i][0], strlen(bad[i][0]), &c, &err) < 0);
                ASSERT_TRUE(c == NULL);
                ASSERT_CONTAINS(err.message, bad[i][1]);
        }
        /* Numbers, as older servers send ids. */
        static const char numeric[] = "{\"id\":7,\"cancelAction\":{\"stopId\":7}}";
        ASSERT_OK(tender_ddi_cancel_parse(numeric, strlen(numeric), &c, &err));
        ASSERT_STREQ(c->stop_id, "7");
        tender_ddi_cancel_free(c);
}

TEST(deployment_numeric_id) {
        _cleanup_(tender_ddi_deployment_freep) struct tender_ddi_deployment *d = NULL;
        ASSERT_OK(parse_dep("{\"id\":42,\"deployment\":{\"chunks\":[{\"name\":\"a\",\"version\":"
                            "\"1\"}]}}",
                            &d, NULL));
        ASSERT_STREQ(d->id, "42");
        ASSERT_EQ(d->download, TENDER_DDI_FORCED);
        ASSERT_EQ(d->chunks[0].n_artifacts, 0);
}

/* Replaces the first `from` of deployment_doc with `to` and expects an error naming `field`. */
static void expect_refused(const char *from, const char *to, const char *field) {
        char buf[sizeof(deployment_doc) + 256];
        struct tender_ddi_deployment *d = NULL;
        struct tender_error err = {0};
        const char *p = strstr(deployment_doc, from);
        if (!p) {
                fprintf(stderr, "  fixture lacks %s\n", from);
                test_failed_current = 1;
                return;
        }
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int) (p - deployment_doc), deployment_doc, to,
                 p + strlen(from));
        int r = parse_dep(buf, &d, &err);
        if (r >= 0 || d || !strstr(err.message, field)) {
                fprintf(stderr, "  %s -> %s: r=%d message \"%s\", expected \"%s\"\n", from, to, r,
                        err.message, field);
                test_failed_current = 1;
        }
        tender_ddi_deployment_free(d);
}

TEST(deployment_refused) {
        expect_refused("\"id\":\"8\"", "\"id\":\"\"", "id");
        expect_refused("\"id\":\"8\"", "\"id\":true", "id");
        expect_refused("\"download\":\"forced\"", "\"download\":\"now\"", "deployment.download");
        expect_refused("\"update\":\"attempt\"", "\"update\":3", "update");
        expect_refused("\"name\":\"hello\"", "\"nom\":\"hello\"", "deployment.chunks[0].name");
        expect_refused("\"version\":\"2.0.0\"", "\"version\":2", "deployment.chunks[0].version");
        expect_refused("\"filename\":\"release.json.sig\"", "\"filename\":\"\"",
                       "deployment.chunks[0].artifacts[1].filename");
        expect_refused("\"size\":3", "\"size\":-3", "deployment.chunks[0].artifacts[0].size");
        expect_refused("\"href\":\"http://127.0.0.1:8080/a/release.json\"", "\"href\":5",
                       "download-http");
        expect_refused("\"chunks\":[", "\"chunks\":{},\"x\":[", "deployment.chunks");
        expect_refused("\"maintenanceWindow\":\"available\"", "\"maintenanceWindow\":\"later\"",
                       "deployment.maintenanceWindow");
        expect_refused("\"metadata\":[{\"key\":\"k\",", "\"metadata\":[{\"key\":1,",
                       "deployment.chunks[0].metadata[0].key");
        expect_refused("\"metadata\":[", "\"metadata\":[5,", "deployment.chunks[0].metadata[0]");
        expect_refused("\"md5\":\"0d1b", "\"md5\":\"zz1b",
                       "deployment.chunks[0].artifacts[0].hashes.md5");
        expect_refused("\"sha1\":\"2d86", "\"sha1\":\"2d8",
                       "deployment.chunks[0].artifacts[0].hashes.sha1");
        expect_refused("\"part\":\"bApp\",", "\"part\":\"bApp\",\"encrypted\":\"no\",",
                       "deployment.chunks[0].encrypted");
}

/* Names and versions become store paths, TUF target names, log fields and sd_notify text: a
 * chunk is refused at parse time, naming the field and what is wrong, unless both have the name
 * grammar. Action ids go back to the server and name journal files: the journal's grammar. */
TEST(deployment_hostile_strings_refused) {
        static const struct {
                const char *from, *to, *field, *why;
        } cases[] = {
                {"\"name\":\"hello\"", "\"name\":\"../etc\"", "deployment.chunks[0].name",
                 "is not a valid app name"},
                {"\"name\":\"hello\"", "\"name\":\"a\\nWATCHDOG=trigger\"",
                 "deployment.chunks[0].name", "is not a valid app name"},
                {"\"name\":\"hello\"", "\"name\":\"\"", "deployment.chunks[0].name",
                 "is not a valid app name"},
                {"\"name\":\"hello\"", "\"name\":\"h\xc3\xa9llo\"", "deployment.chunks[0].name",
                 "is not a valid app name"},
                {"\"version\":\"2.0.0\"", "\"version\":\"2.0.0\\nREADY=1\"",
                 "deployment.chunks[0].version", "is not a valid version"},
                {"\"version\":\"2.0.0\"", "\"version\":\"\\u001b[2J\"",
                 "deployment.chunks[0].version", "is not a valid version"},
                {"\"version\":\"2.0.0\"", "\"version\":\"2.0.0/x\"", "deployment.chunks[0].version",
                 "is not a valid version"},
                {"\"version\":\"2.0.0\"", "\"version\":\"..\"", "deployment.chunks[0].version",
                 "is not a valid version"},
                {"\"version\":\"2.0.0\"",
                 "\"version\":"
                 "\"12345678901234567890123456789012345678901234567890123456789012345\"",
                 "deployment.chunks[0].version", "1-64 characters"},
                {"\"id\":\"8\"", "\"id\":\"8\\n9\"", "id", "[A-Za-z0-9._-]"},
                {"\"id\":\"8\"", "\"id\":\"8\xff\"", "id", "[A-Za-z0-9._-]"},
                {"\"id\":\"8\"", "\"id\":\"../8\"", "id", "[A-Za-z0-9._-]"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                expect_refused(cases[i].from, cases[i].to, cases[i].field);
                expect_refused(cases[i].from, cases[i].to, cases[i].why);
        }
        /* The longest valid ones pass. */
        char buf[sizeof(deployment_doc) + 256];
        _cleanup_(tender_ddi_deployment_freep) struct tender_ddi_deployment *d = NULL;
        const char *p = strstr(deployment_doc, "2.0.0");
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int) (p - deployment_doc), deployment_doc,
                 "1234567890123456789012345678901234567890123456789012345678901_-.",
                 p + strlen("2.0.0"));
        ASSERT_OK(parse_dep(buf, &d, NULL));
}

TEST(cancel_hostile_ids_refused) {
        static const char *const docs[] = {
                "{\"id\":\"1\\n2\",\"cancelAction\":{\"stopId\":\"1\"}}",
                "{\"id\":\"1\",\"cancelAction\":{\"stopId\":\"\xf4\x90\x80\x80\"}}",
                "{\"id\":\"1\",\"cancelAction\":{\"stopId\":\".hidden\"}}",
        };
        for (size_t i = 0; i < ELEMENTSOF(docs); i++) {
                struct tender_ddi_cancel *c = NULL;
                struct tender_error err = {0};
                ASSERT_TRUE(tender_ddi_cancel_parse(docs[i], strlen(docs[i]), &c, &err) < 0);
                ASSERT_CONTAINS(err.message, "[A-Za-z0-9._-]");
        }
}

/* Details quote server and app text: what is sent is valid UTF-8 JSON, one line per detail. */
TEST(feedback_details_escaped) {
        _cleanup_free_ char *json = NULL;
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        const char *details[] = {"bad part \"os\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\"",
                                 "app said \"x\ny\x1b[2J\xe2\x82\"", "caf\xc3\xa9 ok", NULL};
        struct tender_ddi_feedback f = {
                .action_id = "8",
                .execution = TENDER_DDI_CLOSED,
                .finished = TENDER_DDI_FAILURE,
                .details = details,
        };
        ASSERT_OK(tender_ddi_feedback_json(&f, &json));
        ASSERT_TRUE(tender_utf8_valid(json, strlen(json)));
        ASSERT_OK(tender_json_parse(json, strlen(json), 4096, 8, &root, NULL));
        cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "status"), "details");
        ASSERT_STREQ(cJSON_GetArrayItem(d, 0)->valuestring,
                     "bad part \"os\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80\"");
        ASSERT_STREQ(cJSON_GetArrayItem(d, 1)->valuestring,
                     "app said \"x\\x0ay\\x1b[2J\\xe2\\x82\"");
        ASSERT_STREQ(cJSON_GetArrayItem(d, 2)->valuestring, "caf\xc3\xa9 ok");
}

TEST(deployment_no_chunks) {
        struct tender_ddi_deployment *d = NULL;
        struct tender_error err = {0};
        ASSERT_TRUE(parse_dep("{\"id\":\"1\",\"deployment\":{\"chunks\":[]}}", &d, &err) < 0);
        ASSERT_CONTAINS(err.message, "deployment.chunks");
        ASSERT_TRUE(parse_dep("{\"id\":\"1\"}", &d, &err) < 0);
        ASSERT_CONTAINS(err.message, "deployment");
}

TEST(feedback_json) {
        _cleanup_free_ char *json = NULL;
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        const char *details[] = {"hello 3.0.0 failed its health check: exited with status 1 after "
                                 "1.2 s; rolled back to 2.0.0",
                                 NULL};
        struct tender_ddi_feedback f = {
                .action_id = "8",
                .execution = TENDER_DDI_CLOSED,
                .finished = TENDER_DDI_FAILURE,
                .details = details,
        };
        ASSERT_OK(tender_ddi_feedback_json(&f, &json));
        ASSERT_OK(tender_json_parse(json, strlen(json), 4096, 8, &root, NULL));
        ASSERT_STREQ(cJSON_GetObjectItem(root, "id")->valuestring, "8");
        cJSON *status = cJSON_GetObjectItem(root, "status");
        ASSERT_STREQ(cJSON_GetObjectItem(status, "execution")->valuestring, "closed");
        cJSON *result = cJSON_GetObjectItem(status, "result");
        ASSERT_STREQ(cJSON_GetObjectItem(result, "finished")->valuestring, "failure");
        ASSERT_TRUE(cJSON_GetObjectItem(result, "progress") == NULL);
        cJSON *d = cJSON_GetObjectItem(status, "details");
        ASSERT_EQ(cJSON_GetArraySize(d), 1);
        ASSERT_STREQ(cJSON_GetArrayItem(d, 0)->valuestring, details[0]);
}

/* The answers to a cancelAction: carried out, or refused once the update went past its swap. */
TEST(feedback_cancel_executions) {
        static const struct {
                enum tender_ddi_execution e;
                const char *name;
        } cases[] = {{TENDER_DDI_CANCELED, "canceled"},
                     {TENDER_DDI_REJECTED, "rejected"},
                     {TENDER_DDI_PROCEEDING, "proceeding"}};
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *json = NULL;
                _cleanup_(cJSON_Deletep) cJSON *root = NULL;
                struct tender_ddi_feedback f = {
                        .action_id = "11", .execution = cases[i].e, .finished = TENDER_DDI_SUCCESS};
                ASSERT_OK(tender_ddi_feedback_json(&f, &json));
                ASSERT_OK(tender_json_parse(json, strlen(json), 4096, 8, &root, NULL));
                cJSON *status = cJSON_GetObjectItem(root, "status");
                ASSERT_STREQ(cJSON_GetObjectItem(status, "execution")->valuestring, cases[i].name);
        }
        char *json = NULL;
        struct tender_ddi_feedback bad = {.action_id = "1", .execution = 99};
        ASSERT_EQ(tender_ddi_feedback_json(&bad, &json), -EINVAL);
}

TEST(feedback_progress) {
        _cleanup_free_ char *json = NULL;
        const char *details[] = {"downloading", NULL};
        struct tender_ddi_feedback f = {
                .action_id = "8",
                .execution = TENDER_DDI_PROCEEDING,
                .finished = TENDER_DDI_NONE,
                .has_progress = true,
                .progress_cnt = 2,
                .progress_of = 5,
                .details = details,
        };
        ASSERT_OK(tender_ddi_feedback_json(&f, &json));
        ASSERT_STREQ(json, "{\"id\":\"8\",\"status\":{\"execution\":\"proceeding\",\"result\":{"
                           "\"finished\":\"none\",\"progress\":{\"cnt\":2,\"of\":5}},"
                           "\"details\":[\"downloading\"]}}");
        f.action_id = NULL;
        ASSERT_ERR(tender_ddi_feedback_json(&f, &json), EINVAL);
}

TEST(feedback_url) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        ASSERT_OK(tender_ddi_feedback_url(BASE "/deploymentBase/3?c=-2129030598", &a));
        ASSERT_STREQ(a, BASE "/deploymentBase/3/feedback");
        ASSERT_OK(tender_ddi_feedback_url(BASE "/deploymentBase/3/", &b));
        ASSERT_STREQ(b, BASE "/deploymentBase/3/feedback");
}

TEST(config_data_json) {
        _cleanup_free_ char *json = NULL;
        struct tender_ddi_attribute attrs[] = {
                {"tender.version", "0.1.0"}, {"arch", "x86_64"}, {"app.hello.version", "2.0.0"}};
        ASSERT_OK(tender_ddi_config_data_json(attrs, ELEMENTSOF(attrs), &json));
        ASSERT_STREQ(json, "{\"mode\":\"merge\",\"data\":{\"tender.version\":\"0.1.0\","
                           "\"arch\":\"x86_64\",\"app.hello.version\":\"2.0.0\"}}");
}

TEST(controller_url) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        ASSERT_OK(tender_ddi_controller_url("http://127.0.0.1:8080/", "DEFAULT", "dev01", &a));
        ASSERT_STREQ(a, BASE);
        ASSERT_OK(tender_ddi_controller_url("http://127.0.0.1:8080", "DEFAULT", "dev01", &b));
        ASSERT_STREQ(b, BASE);
}

TEST_MAIN()
