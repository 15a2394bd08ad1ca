/* SPDX-License-Identifier: Apache-2.0 */
#include "health.h"

#include <string.h>
#include <time.h>

#include "probe.h"
#include "tender/log.h"

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

static int not_running(const struct container_state *st, double after, struct tender_error *err) {
        if (st->has_exit_signal)
                return tender_error_set(err, TENDER_ERR_HEALTH, EIO,
                                        "killed by signal %d after %.1f s", st->exit_signal, after);
        if (st->has_exit_status)
                return tender_error_set(err, TENDER_ERR_HEALTH, EIO,
                                        "exited with status %d after %.1f s", st->exit_status,
                                        after);
        return tender_error_set(err, TENDER_ERR_HEALTH, EIO, "container %s after %.1f s",
                                st->status == CONTAINER_ABSENT ? "disappeared"
                                                               : container_status_name(st->status),
                                after);
}

struct gate {
        uint64_t window_ms, start_period_ms, interval_ms, timeout_ms, retries;
        enum tender_health_probe probe;
        uint16_t port;
        const char *path;
};

static int run_gate(const struct runtime *rt, const char *id, const struct gate *g,
                    struct tender_error *err) {
        uint64_t start = now_ms(), end = start + g->window_ms, next_probe = start;
        uint64_t failures = 0;
        bool last_ok = g->probe == TENDER_HEALTH_PROBE_NONE;
        struct tender_error probe_err = {0};
        int first_pid = 0;

        for (uint64_t next = start;; next += HEALTH_POLL_INTERVAL_MS) {
                struct container_state st;
                int r = container_state(rt, id, &st, err);
                if (r < 0)
                        return r;
                uint64_t t = now_ms();
                double after = (double) (t - start) / 1000.0;
                if (st.status != CONTAINER_RUNNING)
                        return not_running(&st, after, err);
                if (!first_pid)
                        first_pid = st.pid;
                else if (st.pid != first_pid)
                        return tender_error_set(err, TENDER_ERR_HEALTH, EIO,
                                                "restarted after %.1f s (pid %d, then %d)", after,
                                                first_pid, st.pid);
                if (g->probe != TENDER_HEALTH_PROBE_NONE && t >= next_probe) {
                        next_probe = t + g->interval_ms;
                        last_ok = probe_run(st.pid, g->probe, g->port, g->path, g->timeout_ms,
                                            &probe_err) >= 0;
                        if (last_ok)
                                failures = 0;
                        else if (now_ms() - start >= g->start_period_ms && ++failures >= g->retries)
                                return tender_error_set(
                                        err, TENDER_ERR_HEALTH, EIO,
                                        "probe failed %llu time(s) in a row after %.1f s: %s",
                                        (unsigned long long) failures,
                                        (double) (now_ms() - start) / 1000.0, probe_err.message);
                        t = now_ms();
                }
                if (t >= end) {
                        if (!last_ok)
                                return tender_error_set(err, TENDER_ERR_HEALTH, EIO,
                                                        "not healthy at the end of the %.0f s "
                                                        "window: %s",
                                                        (double) g->window_ms / 1000.0,
                                                        probe_err.message);
                        return 0;
                }
                uint64_t wake = next + HEALTH_POLL_INTERVAL_MS;
                sleep_until_ms(wake < end ? wake : end);
        }
}

int health_gate(const struct runtime *rt, const char *id, uint64_t window_sec,
                struct tender_error *err) {
        struct gate g = {.window_ms = window_sec * 1000};
        return run_gate(rt, id, &g, err);
}

int health_gate_release(const struct runtime *rt, const char *id,
                        const struct tender_release_manifest *m, struct tender_error *err) {
        struct gate g = {
                .window_ms = m->health_window_sec * 1000,
                .start_period_ms = m->health_start_period_sec * 1000,
                .interval_ms = (m->health_interval_sec ? m->health_interval_sec : 1) * 1000,
                .timeout_ms = (m->health_timeout_sec ? m->health_timeout_sec : 1) * 1000,
                .retries = m->health_retries ? m->health_retries : 3,
                .probe = m->health_probe,
                .port = m->health_port,
                .path = m->health_http_path,
        };
        return run_gate(rt, id, &g, err);
}
