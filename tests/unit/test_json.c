/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/json.h"
#include "test.h"

#define MAX_SIZE 4096

static cJSON *parse(const char *s, struct tender_error *err) {
        cJSON *j = NULL;
        if (tender_json_parse(s, strlen(s), MAX_SIZE, TENDER_JSON_MAX_DEPTH_DEFAULT, &j, err) < 0)
                return NULL;
        return j;
}

TEST(parse_valid) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *j =
                parse(" {\"a\": [1, 2, {\"b\": \"x\"}], \"c\": null}\n\t", &err);
        ASSERT_TRUE(j);
        ASSERT_TRUE(cJSON_IsObject(j));
        _cleanup_(cJSON_Deletep) cJSON *s = parse("\"just a string\"", &err);
        ASSERT_TRUE(cJSON_IsString(s));
        /* Not NUL-terminated: only len bytes are read. */
        const char buf[] = {'[', '1', ']', 'x', 'y'};
        cJSON *a = NULL;
        ASSERT_OK(tender_json_parse(buf, 3, MAX_SIZE, 4, &a, &err));
        ASSERT_EQ(cJSON_GetArraySize(a), 1);
        cJSON_Delete(a);
        /* Same keys in different objects are not duplicates. */
        _cleanup_(cJSON_Deletep) cJSON *d =
                parse("{\"a\":{\"k\":1},\"b\":{\"k\":2},\"k\":3}", &err);
        ASSERT_TRUE(d);
}

TEST(parse_refuses_malformed) {
        struct tender_error err = {0};
        cJSON *j = (cJSON *) 0x1;
        ASSERT_ERR(tender_json_parse("", 0, MAX_SIZE, 8, &j, &err), EINVAL);
        ASSERT_ERR(tender_json_parse("{", 1, MAX_SIZE, 8, &j, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "malformed JSON");
        ASSERT_EQ(err.domain, TENDER_ERR_JSON);
        ASSERT_ERR(tender_json_parse("{} x", 4, MAX_SIZE, 8, &j, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "offset 3");
        ASSERT_ERR(tender_json_parse("{}{}", 4, MAX_SIZE, 8, &j, &err), EINVAL);
        ASSERT_ERR(tender_json_parse("[1,]", 4, MAX_SIZE, 8, &j, &err), EINVAL);
        ASSERT_ERR(tender_json_parse(NULL, 0, MAX_SIZE, 8, &j, &err), EINVAL);
        /* An embedded NUL would end cJSON's input early and hide what follows. */
        ASSERT_ERR(tender_json_parse("{}\0{", 4, MAX_SIZE, 8, &j, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "NUL");
        ASSERT_ERR(tender_json_parse("{\"a\\u0000b\":1}", 14, MAX_SIZE, 8, &j, &err), EINVAL);
        /* Raw control characters inside a string (cJSON would keep them); escaped they pass. */
        ASSERT_ERR(tender_json_parse("{\"a\":\"x\ny\"}", 11, MAX_SIZE, 8, &j, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "control character 0x0a in a string at offset 7");
        ASSERT_ERR(tender_json_parse("[\"\t\"]", 5, MAX_SIZE, 8, &j, &err), EINVAL);
        ASSERT_ERR(tender_json_parse("{\"\x1f\":1}", 7, MAX_SIZE, 8, &j, &err), EINVAL);
        ASSERT_TRUE(j == (cJSON *) 0x1);
        _cleanup_(cJSON_Deletep) cJSON *escaped = parse("{\"a\":\"x\\ny\\t\"}", &err);
        ASSERT_TRUE(escaped);
        ASSERT_STREQ(cJSON_GetObjectItem(escaped, "a")->valuestring, "x\ny\t");
}

TEST(parse_size_cap) {
        struct tender_error err = {0};
        cJSON *j = NULL;
        ASSERT_ERR(tender_json_parse("[1,2,3]", 7, 6, 8, &j, &err), EFBIG);
        ASSERT_CONTAINS(err.message, "limit of 6");
        ASSERT_OK(tender_json_parse("[1,2,3]", 7, 7, 8, &j, &err));
        cJSON_Delete(j);
}

TEST(parse_depth) {
        struct tender_error err = {0};
        cJSON *j = NULL;
        ASSERT_OK(tender_json_parse("[[[1]]]", 7, MAX_SIZE, 3, &j, &err));
        cJSON_Delete(j);
        ASSERT_ERR(tender_json_parse("[[[[1]]]]", 9, MAX_SIZE, 3, &j, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "deeper than 3");
        ASSERT_ERR(tender_json_parse("{\"a\":{\"b\":[{}]}}", 16, MAX_SIZE, 3, &j, &err), EINVAL);
        /* Brackets inside strings do not count, escaped quotes do not end strings. */
        const char *s = "[\"[[[[\\\"[[[[\", \"{{{{\"]";
        ASSERT_OK(tender_json_parse(s, strlen(s), MAX_SIZE, 1, &j, &err));
        cJSON_Delete(j);
        /* Far deeper than cJSON's own limit: refused by the scan, before any recursion. */
        size_t n = 100000;
        char *deep = malloc(2 * n);
        ASSERT_TRUE(deep);
        memset(deep, '[', n);
        memset(deep + n, ']', n);
        int r = tender_json_parse(deep, 2 * n, 2 * n, TENDER_JSON_MAX_DEPTH_DEFAULT, &j, &err);
        free(deep);
        ASSERT_EQ(r, -EINVAL);
        /* max_depth 0 means the default. */
        char buf[2 * TENDER_JSON_MAX_DEPTH_DEFAULT + 2];
        memset(buf, '[', TENDER_JSON_MAX_DEPTH_DEFAULT + 1);
        memset(buf + TENDER_JSON_MAX_DEPTH_DEFAULT + 1, ']', TENDER_JSON_MAX_DEPTH_DEFAULT + 1);
        ASSERT_ERR(tender_json_parse(buf, sizeof(buf), MAX_SIZE, 0, &j, &err), EINVAL);
        ASSERT_OK(tender_json_parse(buf + 1, sizeof(buf) - 2, MAX_SIZE, 0, &j, &err));
        cJSON_Delete(j);
}

TEST(parse_duplicates) {
        struct tender_error err = {0};
        ASSERT_TRUE(!parse("{\"a\":1,\"b\":2,\"a\":3}", &err));
        ASSERT_CONTAINS(err.message, "duplicate key \"a\"");
        ASSERT_EQ(err.errnum, EINVAL);
        ASSERT_TRUE(!parse(
                "{\"image\":{\"layers\":[{\"digest\":\"x\"},{\"digest\":\"y\",\"digest\":\"z\"}]}}",
                &err));
        ASSERT_CONTAINS(err.message, "image.layers[1]: duplicate key \"digest\"");
        /* The escaped spelling of the same key is the same key. */
        ASSERT_TRUE(!parse("{\"ab\":1,\"a\\u0062\":2}", &err));
        ASSERT_CONTAINS(err.message, "duplicate key \"ab\"");
}

static const char doc[] =
        "{\"name\":\"app\",\"count\":3,\"big\":9007199254740992,\"half\":1.5,"
        "\"neg\":-1,\"huge\":1e300,\"over\":9007199254740994,\"whole\":2.0,"
        "\"flag\":true,\"image\":{\"layers\":[{\"digest\":\"a\"},{\"digest\":5}]},"
        "\"args\":[\"a\",\"b\"],\"mixed\":[\"a\",1],\"none\":null}";

TEST(get_string) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *j = parse(doc, &err);
        ASSERT_TRUE(j);
        const char *s = "untouched";
        ASSERT_OK(tender_json_get_string(j, "", "name", true, &s, &err));
        ASSERT_STREQ(s, "app");
        s = "untouched";
        ASSERT_EQ(tender_json_get_string(j, "", "missing", false, &s, &err), 0);
        ASSERT_STREQ(s, "untouched");
        ASSERT_ERR(tender_json_get_string(j, "", "missing", true, &s, &err), ENOENT);
        ASSERT_STREQ(err.message, "missing: missing");
        ASSERT_ERR(tender_json_get_string(j, "", "count", true, &s, &err), EINVAL);
        ASSERT_STREQ(err.message, "count: expected a string");
        ASSERT_ERR(tender_json_get_string(j, "", "none", false, &s, &err), EINVAL);
        ASSERT_STREQ(s, "untouched");

        const cJSON *image, *layers;
        ASSERT_OK(tender_json_get_object(j, "", "image", true, &image, &err));
        ASSERT_OK(tender_json_get_array(image, "image", "layers", true, &layers, &err));
        const cJSON *l1 = cJSON_GetArrayItem(layers, 1);
        ASSERT_ERR(tender_json_get_string(l1, "image.layers[1]", "digest", true, &s, &err), EINVAL);
        ASSERT_STREQ(err.message, "image.layers[1].digest: expected a string");
        /* Case matters. */
        ASSERT_ERR(tender_json_get_string(j, "", "NAME", true, &s, &err), ENOENT);
        /* NULL obj: an absent optional parent has no members. */
        ASSERT_EQ(tender_json_get_string(NULL, "x", "y", false, &s, &err), 0);
        ASSERT_ERR(tender_json_get_string(NULL, "x", "y", true, &s, &err), ENOENT);
        ASSERT_STREQ(err.message, "x.y: missing");
        /* obj that is not an object */
        ASSERT_ERR(tender_json_get_string(layers, "image.layers", "y", true, &s, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "image.layers: expected an object");
}

TEST(get_u64) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *j = parse(doc, &err);
        ASSERT_TRUE(j);
        uint64_t v = 42;
        ASSERT_OK(tender_json_get_u64(j, "", "count", true, &v, &err));
        ASSERT_EQ(v, 3);
        ASSERT_OK(tender_json_get_u64(j, "", "big", true, &v, &err));
        ASSERT_EQ(v, 9007199254740992ULL);
        ASSERT_OK(tender_json_get_u64(j, "", "whole", true, &v, &err));
        ASSERT_EQ(v, 2);
        v = 42;
        const char *bad[] = {"half", "neg", "huge", "over"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ASSERT_ERR(tender_json_get_u64(j, "", bad[i], true, &v, &err), EINVAL);
                ASSERT_CONTAINS(err.message, bad[i]);
                ASSERT_CONTAINS(err.message, "whole number");
        }
        ASSERT_EQ(v, 42);
        ASSERT_ERR(tender_json_get_u64(j, "", "name", true, &v, &err), EINVAL);
        ASSERT_STREQ(err.message, "name: expected a number");
        ASSERT_EQ(tender_json_get_u64(j, "", "nope", false, &v, &err), 0);
        ASSERT_EQ(v, 42);
}

TEST(get_bool_object_array) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *j = parse(doc, &err);
        ASSERT_TRUE(j);
        bool b = false;
        ASSERT_OK(tender_json_get_bool(j, "", "flag", true, &b, &err));
        ASSERT_TRUE(b);
        ASSERT_ERR(tender_json_get_bool(j, "", "count", true, &b, &err), EINVAL);
        ASSERT_STREQ(err.message, "count: expected true or false");
        const cJSON *o = NULL;
        ASSERT_ERR(tender_json_get_object(j, "", "args", true, &o, &err), EINVAL);
        ASSERT_STREQ(err.message, "args: expected an object");
        ASSERT_ERR(tender_json_get_array(j, "", "image", true, &o, &err), EINVAL);
        ASSERT_STREQ(err.message, "image: expected an array");
        ASSERT_ERR(tender_json_get_object(j, "deploy", "x", true, &o, &err), ENOENT);
        ASSERT_TRUE(o == NULL);
}

TEST(get_strv) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *j = parse(doc, &err);
        ASSERT_TRUE(j);
        char **v = NULL;
        ASSERT_OK(tender_json_get_strv(j, "", "args", true, 8, &v, &err));
        ASSERT_EQ(tender_strv_length(v), 2);
        ASSERT_STREQ(v[0], "a");
        ASSERT_STREQ(v[1], "b");
        ASSERT_TRUE(v[2] == NULL);
        tender_strv_free(v);
        v = NULL;
        ASSERT_ERR(tender_json_get_strv(j, "", "args", true, 1, &v, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "args");
        ASSERT_CONTAINS(err.message, "limit of 1");
        ASSERT_ERR(tender_json_get_strv(j, "cfg", "mixed", true, 8, &v, &err), EINVAL);
        ASSERT_STREQ(err.message, "cfg.mixed[1]: expected a string");
        ASSERT_ERR(tender_json_get_strv(j, "", "name", true, 8, &v, &err), EINVAL);
        ASSERT_EQ(tender_json_get_strv(j, "", "absent", false, 8, &v, &err), 0);
        ASSERT_TRUE(v == NULL);
        ASSERT_EQ(tender_strv_length(NULL), 0);
        tender_strv_free(NULL);

        _cleanup_(cJSON_Deletep) cJSON *e = parse("{\"empty\":[]}", &err);
        ASSERT_OK(tender_json_get_strv(e, "", "empty", true, 0, &v, &err));
        ASSERT_EQ(tender_strv_length(v), 0);
        tender_strv_free(v);
}

TEST(check_keys) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *j = parse("{\"url\":\"x\",\"tennant\":\"y\"}", &err);
        ASSERT_TRUE(j);
        static const char *const ok[] = {"url", "tennant", NULL};
        static const char *const strict[] = {"url", "tenant", NULL};
        ASSERT_OK(tender_json_check_keys(j, "server", ok, &err));
        ASSERT_ERR(tender_json_check_keys(j, "server", strict, &err), EINVAL);
        ASSERT_STREQ(err.message, "server.tennant: unknown key");
        ASSERT_ERR(tender_json_check_keys(j, "", strict, &err), EINVAL);
        ASSERT_STREQ(err.message, "tennant: unknown key");
        ASSERT_OK(tender_json_check_keys(NULL, "server", strict, &err));
        _cleanup_(cJSON_Deletep) cJSON *a = parse("[1]", &err);
        ASSERT_ERR(tender_json_check_keys(a, "server", strict, &err), EINVAL);
}

TEST(null_err_is_fine) {
        cJSON *j = NULL;
        ASSERT_ERR(tender_json_parse("{", 1, MAX_SIZE, 8, &j, NULL), EINVAL);
        ASSERT_ERR(tender_json_parse("{\"a\":1,\"a\":1}", 13, MAX_SIZE, 8, &j, NULL), EINVAL);
        ASSERT_OK(tender_json_parse("{\"a\":1}", 7, MAX_SIZE, 8, &j, NULL));
        const char *s;
        ASSERT_ERR(tender_json_get_string(j, "", "a", true, &s, NULL), EINVAL);
        ASSERT_ERR(tender_json_get_string(j, "", "b", true, &s, NULL), ENOENT);
        cJSON_Delete(j);
}

TEST_MAIN()
