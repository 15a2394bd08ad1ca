/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Retries of HTTP operations: exponential backoff with jitter, bounded by an attempt count and a
 * time budget, with sleep, clock and randomness injectable so that tests check the schedule
 * without waiting. Which failures are worth retrying is decided by each attempt (for downloads:
 * tender_http_last_retryable, see docs/downloads.md).
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/random.h>
#include <time.h>

#include "tender/http.h"
#include "tender/log.h"

#define RETRY_ATTEMPTS_DEFAULT 5
#define RETRY_INITIAL_MS_DEFAULT 1000
#define RETRY_MAX_DELAY_MS_DEFAULT 60000
#define RETRY_BUDGET_MS_DEFAULT (15 * 60 * 1000)

static void default_sleep_ms(uint64_t ms, _unused_ void *userdata) {
        struct timespec ts = {.tv_sec = (time_t) (ms / 1000),
                              .tv_nsec = (long) (ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static uint64_t default_now_ms(_unused_ void *userdata) {
        return tender_now_ms();
}

static uint32_t default_random(_unused_ void *userdata) {
        uint32_t v = 0;
        /* Jitter only spreads a fleet's retries; a weak value on failure is fine. */
        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
                v = (uint32_t) default_now_ms(NULL) * 2654435761u;
        return v;
}

/* Backoff before attempt n+1 (n >= 1 attempts made): exponential, capped, with jitter in
 * [delay/2, delay] so that devices failing together do not retry together. */
static uint64_t retry_delay(const struct tender_retry_policy *p, unsigned n, uint64_t initial,
                            uint64_t max_delay) {
        uint64_t d = initial;
        for (unsigned i = 1; i < n && d < max_delay; i++)
                d *= 2;
        if (d > max_delay)
                d = max_delay;
        uint32_t rnd = p->random ? p->random(p->userdata) : default_random(NULL);
        return d - (d / 2) * (uint64_t) rnd / UINT32_MAX;
}

int tender_http_retry(struct tender_http *h, const struct tender_retry_policy *policy,
                      tender_http_attempt_fn attempt, void *userdata, unsigned *ret_attempts,
                      struct tender_error *err) {
        static const struct tender_retry_policy defaults = {0};
        const struct tender_retry_policy *p = policy ? policy : &defaults;
        unsigned max_attempts = p->max_attempts ? p->max_attempts : RETRY_ATTEMPTS_DEFAULT;
        uint64_t initial = p->initial_delay_ms ? p->initial_delay_ms : RETRY_INITIAL_MS_DEFAULT;
        uint64_t max_delay = p->max_delay_ms ? p->max_delay_ms : RETRY_MAX_DELAY_MS_DEFAULT;
        uint64_t budget = p->budget_ms ? p->budget_ms : RETRY_BUDGET_MS_DEFAULT;
        uint64_t (*now)(void *) = p->now_ms ? p->now_ms : default_now_ms;
        uint64_t start = now(p->userdata);
        unsigned n = 0;
        int r;

        for (;;) {
                n++;
                bool retryable = false;
                r = attempt(h, userdata, &retryable, err);
                if (ret_attempts)
                        *ret_attempts = n;
                if (r >= 0 || !retryable)
                        return r;
                if (n >= max_attempts)
                        break;
                uint64_t delay = retry_delay(p, n, initial, max_delay);
                /* The server knows best when it will be back, within our own cap. */
                uint64_t asked = tender_http_last_retry_after_ms(h);
                if (asked > delay)
                        delay = asked < max_delay ? asked : max_delay;
                uint64_t elapsed = now(p->userdata) - start;
                if (elapsed > budget || delay > budget - elapsed)
                        break;
                log_debug("attempt %u failed (%s), retrying in %llu ms", n, err ? err->message : "",
                          (unsigned long long) delay);
                if (p->sleep_ms)
                        p->sleep_ms(delay, p->userdata);
                else
                        default_sleep_ms(delay, NULL);
        }
        if (err)
                tender_error_prefix(err, "gave up after %u attempts", n);
        return r;
}

struct download_args {
        const struct tender_download *d;
        int dirfd;
        const char *name;
        bool restarted; /* a resumed download already failed verification once */
};

static int download_attempt(struct tender_http *h, void *userdata, bool *ret_retryable,
                            struct tender_error *err) {
        struct download_args *a = userdata;
        int r = tender_http_download(h, a->d, a->dirfd, a->name, err);
        *ret_retryable = tender_http_last_retryable(h);
        /* A resume spliced onto changed content (a server without validators): the .part is
         * gone now, so one more attempt starts from zero. */
        if (r == -EBADMSG && tender_http_last_resumed(h) && !a->restarted) {
                a->restarted = true;
                *ret_retryable = true;
        }
        return r;
}

int tender_http_download_retry(struct tender_http *h, const struct tender_download *d, int dirfd,
                               const char *name, const struct tender_retry_policy *policy,
                               struct tender_error *err) {
        struct download_args a = {.d = d, .dirfd = dirfd, .name = name};
        return tender_http_retry(h, policy, download_attempt, &a, NULL, err);
}
