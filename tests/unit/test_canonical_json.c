/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/canonical_json.h"
#include "test.h"

static char *canon(const char *text, int *ret_r) {
        cJSON *j = NULL;
        char *out = NULL;
        struct tender_error err = {0};
        int r = tender_canonical_json_parse(text, strlen(text), 1 << 20, 32, &j, &err);
        if (r >= 0)
                r = tender_canonical_json(j, &out, NULL, &err);
        cJSON_Delete(j);
        *ret_r = r;
        return out;
}

TEST(sorted_compact) {
        int r;
        _cleanup_free_ char *s = canon("{ \"b\": [1, 2, {\"z\": true, \"a\": null}], \"a\": \"x\","
                                       " \"B\": false, \"\": 0 }",
                                       &r);
        ASSERT_OK(r);
        ASSERT_STREQ(s, "{\"\":0,\"B\":false,\"a\":\"x\",\"b\":[1,2,{\"a\":null,\"z\":true}]}");
}

TEST(strings_escape_quote_and_backslash_only) {
        int r;
        _cleanup_free_ char *s = canon("{\"k\\\"\": \"a\\\\b\\\"c\\n\\u00e9/\"}", &r);
        ASSERT_OK(r);
        /* The newline stays a raw byte and é is its UTF-8 bytes: OLPC escapes nothing else. */
        ASSERT_STREQ(s, "{\"k\\\"\":\"a\\\\b\\\"c\n\xc3\xa9/\"}");
}

TEST(keys_sorted_by_bytes) {
        int r;
        _cleanup_free_ char *s = canon("{\"\\u00e9\": 1, \"z\": 2, \"Z\": 3}", &r);
        ASSERT_OK(r);
        ASSERT_STREQ(s, "{\"Z\":3,\"z\":2,\"\xc3\xa9\":1}");
}

TEST(big_integers) {
        int r;
        _cleanup_free_ char *s = canon("[9007199254740992, 0, 4294967296]", &r);
        ASSERT_OK(r);
        ASSERT_STREQ(s, "[9007199254740992,0,4294967296]");
}

TEST(refused_numbers) {
        static const char *const bad[] = {
                "[1.0]",       "[1e3]", "[1E3]", "[-1]",
                "{\"v\": -0}", "[01]",  "[0.5]", "{\"version\": 9223372036854775808.5}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                cJSON *j = NULL;
                struct tender_error err = {0};
                int r = tender_canonical_json_parse(bad[i], strlen(bad[i]), 1024, 8, &j, &err);
                if (r != -EINVAL)
                        TEST_FAIL_("%s accepted (%d)", bad[i], r);
                ASSERT_CONTAINS(err.message, "integer");
        }
}

TEST(numbers_inside_strings_are_fine) {
        int r;
        _cleanup_free_ char *s = canon("{\"a\": \"-1.5e3\", \"t\": true, \"f\": false}", &r);
        ASSERT_OK(r);
        ASSERT_STREQ(s, "{\"a\":\"-1.5e3\",\"f\":false,\"t\":true}");
}

TEST(encoder_refuses_floats_and_huge) {
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, cJSON_CreateNumber(1.5));
        char *out = NULL;
        struct tender_error err = {0};
        ASSERT_ERR(tender_canonical_json(a, &out, NULL, &err), EINVAL);
        cJSON_Delete(a);
        a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, cJSON_CreateNumber(9223372036854775808.0));
        ASSERT_ERR(tender_canonical_json(a, &out, NULL, &err), EINVAL);
        cJSON_Delete(a);
        ASSERT_TRUE(out == NULL);
}

TEST(duplicate_keys_deep_nesting_size) {
        cJSON *j = NULL;
        struct tender_error err = {0};
        const char *dup = "{\"signed\": {\"version\": 1, \"version\": 2}}";
        ASSERT_ERR(tender_canonical_json_parse(dup, strlen(dup), 1024, 8, &j, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "duplicate key");
        size_t n = 10000;
        char *deep = malloc(2 * n + 1);
        ASSERT_TRUE(deep != NULL);
        memset(deep, '[', n);
        memset(deep + n, ']', n);
        deep[2 * n] = '\0';
        int r = tender_canonical_json_parse(deep, 2 * n, 1 << 20, 32, &j, &err);
        free(deep);
        ASSERT_ERR(r, EINVAL);
        ASSERT_CONTAINS(err.message, "nested deeper");
        ASSERT_ERR(tender_canonical_json_parse("[1,2]", 5, 4, 8, &j, &err), EFBIG);
}

TEST(round_trip_is_stable) {
        int r;
        _cleanup_free_ char *a = canon("{\"x\": {\"b\": [\"\\\\\", {}], \"a\": []}}", &r);
        ASSERT_OK(r);
        _cleanup_free_ char *b = canon(a, &r);
        ASSERT_OK(r);
        ASSERT_STREQ(a, b);
}

TEST_MAIN()
