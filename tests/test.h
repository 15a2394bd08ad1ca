/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Minimal unit-test helpers. Each test file is one executable:
 *
 *     TEST(digest_parse) { ASSERT_OK(tender_digest_parse(s, &d)); ASSERT_EQ(x, 3); }
 *     TEST_MAIN()
 *
 * A failing assertion reports file:line and returns from the test. The run ends with
 * "N passed, N failed" and exits 1 when anything failed, 77 when every test skipped.
 */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(void);

struct test_case {
        const char *name;
        test_fn fn;
};

#define TEST_MAX 512
extern struct test_case test_cases[TEST_MAX];
extern size_t test_count;
extern int test_failed_current;
extern int test_skipped_current;

#define TEST(name)                                                                                 \
        static void test_##name(void);                                                             \
        __attribute__((constructor)) static void test_register_##name(void) {                      \
                if (test_count < TEST_MAX)                                                         \
                        test_cases[test_count++] = (struct test_case){#name, test_##name};         \
        }                                                                                          \
        static void test_##name(void)

#define TEST_FAIL_(...)                                                                            \
        do {                                                                                       \
                fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                  \
                fprintf(stderr, __VA_ARGS__);                                                      \
                fputc('\n', stderr);                                                               \
                test_failed_current = 1;                                                           \
                return;                                                                            \
        } while (0)

#define SKIP(...)                                                                                  \
        do {                                                                                       \
                fprintf(stderr, "  skipped: ");                                                    \
                fprintf(stderr, __VA_ARGS__);                                                      \
                fputc('\n', stderr);                                                               \
                test_skipped_current = 1;                                                          \
                return;                                                                            \
        } while (0)

#define ASSERT_TRUE(x)                                                                             \
        do {                                                                                       \
                if (!(x))                                                                          \
                        TEST_FAIL_("expected true: %s", #x);                                       \
        } while (0)
#define ASSERT_FALSE(x) ASSERT_TRUE(!(x))

/* r >= 0 (0 or a count), as the project's functions return. */
#define ASSERT_OK(expr)                                                                            \
        do {                                                                                       \
                long long _r = (long long) (expr);                                                 \
                if (_r < 0)                                                                        \
                        TEST_FAIL_("%s failed: %lld (%s)", #expr, _r, strerror((int) -_r));        \
        } while (0)

/* expr returns exactly -err. */
#define ASSERT_ERR(expr, err)                                                                      \
        do {                                                                                       \
                long long _r = (long long) (expr);                                                 \
                if (_r != -(long long) (err))                                                      \
                        TEST_FAIL_("%s returned %lld, expected -%s", #expr, _r, #err);             \
        } while (0)

#define ASSERT_EQ(a, b)                                                                            \
        do {                                                                                       \
                long long _a = (long long) (a), _b = (long long) (b);                              \
                if (_a != _b)                                                                      \
                        TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, _a, _b);                      \
        } while (0)

#define ASSERT_STREQ(a, b)                                                                         \
        do {                                                                                       \
                const char *_a = (a), *_b = (b);                                                   \
                if (!_a || !_b || strcmp(_a, _b) != 0)                                             \
                        TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, _a ? _a : "(null)",       \
                                   _b ? _b : "(null)");                                            \
        } while (0)

/* The haystack contains needle (error messages name what was wrong). */
#define ASSERT_CONTAINS(hay, needle)                                                               \
        do {                                                                                       \
                const char *_h = (hay), *_n = (needle);                                            \
                if (!_h || !strstr(_h, _n))                                                        \
                        TEST_FAIL_("\"%s\" does not contain \"%s\"", _h ? _h : "(null)", _n);      \
        } while (0)

#define TEST_MAIN()                                                                                \
        struct test_case test_cases[TEST_MAX];                                                     \
        size_t test_count;                                                                         \
        int test_failed_current;                                                                   \
        int test_skipped_current;                                                                  \
        int main(int argc, char **argv) {                                                          \
                unsigned passed = 0, failed = 0, skipped = 0;                                      \
                for (size_t i = 0; i < test_count; i++) {                                          \
                        if (argc > 1 && strcmp(argv[1], test_cases[i].name) != 0)                  \
                                continue;                                                          \
                        test_failed_current = test_skipped_current = 0;                            \
                        test_cases[i].fn();                                                        \
                        const char *verdict = test_failed_current    ? "FAIL"                      \
                                              : test_skipped_current ? "SKIP"                      \
                                                                     : "ok";                       \
                        fprintf(stderr, "%-4s %s\n", verdict, test_cases[i].name);                 \
                        if (test_failed_current)                                                   \
                                failed++;                                                          \
                        else if (test_skipped_current)                                             \
                                skipped++;                                                         \
                        else                                                                       \
                                passed++;                                                          \
                }                                                                                  \
                printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);             \
                if (failed)                                                                        \
                        return 1;                                                                  \
                return passed == 0 && skipped > 0 ? 77 : 0;                                        \
        }
