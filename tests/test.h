/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Minimal unit-test helpers. Each test file is one executable:
 *
 *     TEST(digest_parse) { ASSERT_OK(tender_digest_parse(s, &d)); ASSERT_EQ(x, 3); }
 *     TEST_MAIN()
 *
 * A failing assertion reports file:line and returns from the test; what the test registered
 * with test_defer (tests/fixture.h's temp dirs) is undone after it, whether it passed, failed or
 * skipped. The run ends with "N passed, N failed, N skipped" and exits
 * - 1 when anything failed, or when the file holds more than TEST_MAX tests (none is run then:
 *   raise TEST_MAX rather than lose tests silently);
 * - 77 (ctest: skipped) when every test skipped;
 * - 0 otherwise. A file that mixes passes and skips passes (what could be checked here was),
 *   but never silently: the last line names each skipped test, and with TENDER_TEST_NO_SKIP=1
 *   in the environment (a machine that must run everything) a skip counts as a failure.
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
extern size_t test_overflow;

#define TEST_DEFER_MAX 64
struct test_deferred {
        void (*fn)(void *);
        void *arg;
};
extern struct test_deferred test_deferred[TEST_DEFER_MAX];
extern size_t test_n_deferred;

/* Runs fn(arg) when the current test ends, however it ends; the last registered runs first. */
static inline void test_defer(void (*fn)(void *), void *arg) {
        if (test_n_deferred == TEST_DEFER_MAX) {
                fprintf(stderr, "test_defer: more than %d cleanups in one test\n", TEST_DEFER_MAX);
                abort();
        }
        test_deferred[test_n_deferred++] = (struct test_deferred){fn, arg};
}

static inline void test_run_deferred(void) {
        while (test_n_deferred > 0) {
                struct test_deferred d = test_deferred[--test_n_deferred];
                d.fn(d.arg);
        }
}

#define TEST(name)                                                                                 \
        static void test_##name(void);                                                             \
        __attribute__((constructor)) static void test_register_##name(void) {                      \
                if (test_count < TEST_MAX)                                                         \
                        test_cases[test_count++] = (struct test_case){#name, test_##name};         \
                else                                                                               \
                        test_overflow++;                                                           \
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

/* The last line: the counts, then each skipped test's name (its reason is printed above). */
static inline int test_summary(unsigned passed, unsigned failed, unsigned skipped,
                               const char *skipped_names) {
        printf("%u passed, %u failed, %u skipped%s%s\n", passed, failed, skipped,
               skipped ? ":" : "", skipped_names);
        if (failed)
                return 1;
        if (skipped && getenv("TENDER_TEST_NO_SKIP")) {
                printf("TENDER_TEST_NO_SKIP is set: a skip is a failure\n");
                return 1;
        }
        return passed == 0 && skipped > 0 ? 77 : 0;
}

#define TEST_MAIN()                                                                                \
        struct test_case test_cases[TEST_MAX];                                                     \
        size_t test_count, test_overflow;                                                          \
        int test_failed_current;                                                                   \
        int test_skipped_current;                                                                  \
        struct test_deferred test_deferred[TEST_DEFER_MAX];                                        \
        size_t test_n_deferred;                                                                    \
        int main(int argc, char **argv) {                                                          \
                unsigned passed = 0, failed = 0, skipped = 0;                                      \
                char names[4096] = "";                                                             \
                if (test_overflow) {                                                               \
                        printf("%zu tests past TEST_MAX (%d) in this file: raise TEST_MAX\n",      \
                               test_overflow, TEST_MAX);                                           \
                        return 1;                                                                  \
                }                                                                                  \
                for (size_t i = 0; i < test_count; i++) {                                          \
                        if (argc > 1 && strcmp(argv[1], test_cases[i].name) != 0)                  \
                                continue;                                                          \
                        test_failed_current = test_skipped_current = 0;                            \
                        test_cases[i].fn();                                                        \
                        test_run_deferred();                                                       \
                        const char *verdict = test_failed_current    ? "FAIL"                      \
                                              : test_skipped_current ? "SKIP"                      \
                                                                     : "ok";                       \
                        fprintf(stderr, "%-4s %s\n", verdict, test_cases[i].name);                 \
                        if (test_failed_current) {                                                 \
                                failed++;                                                          \
                        } else if (test_skipped_current) {                                         \
                                skipped++;                                                         \
                                size_t n = strlen(names);                                          \
                                snprintf(names + n, sizeof(names) - n, " %s", test_cases[i].name); \
                        } else {                                                                   \
                                passed++;                                                          \
                        }                                                                          \
                }                                                                                  \
                return test_summary(passed, failed, skipped, names);                               \
        }
