/* SPDX-License-Identifier: Apache-2.0 */
#include "health.h"

#include <string.h>
#include <time.h>

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void sleep_until_ms(uint64_t deadline) {
        uint64_t t = now_ms();
        if (t >= deadline)
                return;
        uint64_t ms = deadline - t;
        struct timespec ts = {.tv_sec = (time_t) (ms / 1000),
                              .tv_nsec = (long) (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int health_gate(const struct runtime *rt, const char *id, uint64_t window_sec,
                struct tender_error *err) {
        uint64_t start = now_ms(), end = start + window_sec * 1000;

        for (uint64_t next = start;; next += HEALTH_POLL_INTERVAL_MS) {
                struct container_state st;
                int r = container_state(rt, id, &st, err);
                if (r < 0)
                        return r;
                uint64_t t = now_ms();
                double after = (double) (t - start) / 1000.0;
                if (st.status != CONTAINER_RUNNING) {
                        if (st.has_exit_signal)
                                return tender_error_set(err, TENDER_ERR_HEALTH, EIO,
                                                        "killed by signal %d after %.1f s",
                                                        st.exit_signal, after);
                        if (st.has_exit_status)
                                return tender_error_set(err, TENDER_ERR_HEALTH, EIO,
                                                        "exited with status %d after %.1f s",
                                                        st.exit_status, after);
                        return tender_error_set(
                                err, TENDER_ERR_HEALTH, EIO, "container %s after %.1f s",
                                st.status == CONTAINER_ABSENT ? "disappeared"
                                                              : container_status_name(st.status),
                                after);
                }
                if (t >= end)
                        return 0;
                sleep_until_ms(next + HEALTH_POLL_INTERVAL_MS < end ? next + HEALTH_POLL_INTERVAL_MS
                                                                    : end);
        }
}
