/* SPDX-License-Identifier: Apache-2.0 */
#include "health.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "probe.h"
#include "tender/log.h"

static void sleep_until_ms(uint64_t deadline) {
        uint64_t t = tender_now_ms();
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
        const struct runtime *rt;
        const char *id;
        uint64_t window_ms, start_period_ms, interval_ms, timeout_ms, retries;
        enum tender_health_probe probe;
        uint16_t port;
        const char *path;
        char *const *exec;
        int notify_fd; /* -1: READY=1 not asked for */
};

/* What the gate saw so far. */
struct gate_run {
        uint64_t start, next_probe;
        uint64_t failures; /* in a row */
        uint64_t counted;  /* in all, after the start period and READY=1 */
        bool last_ok;
        int first_pid;
        struct notify_state notify;
        struct tender_error probe_err;
};

static double since(const struct gate_run *s) {
        return (double) (tender_now_ms() - s->start) / 1000.0;
}

static int run_probe(const struct gate *g, int pid, struct tender_error *err) {
        if (g->probe == TENDER_HEALTH_PROBE_EXEC)
                return probe_exec(g->rt, g->id, g->exec, g->timeout_ms, err);
        return probe_run(pid, g->probe, g->port, g->path, g->timeout_ms, err);
}

/* One probe. Failures count once the start period is over and, when READY=1 is asked for,
 * once it came: before, the app says it is not up yet. `retries` failures in a row fail the
 * gate, and so does a flapping probe: 2 x retries failures in all during the window. */
static int probe_step(const struct gate *g, struct gate_run *s, int pid, struct tender_error *err) {
        s->last_ok = run_probe(g, pid, &s->probe_err) >= 0;
        if (s->last_ok) {
                s->failures = 0;
                return 0;
        }
        if (tender_now_ms() - s->start < g->start_period_ms ||
            (g->notify_fd >= 0 && !s->notify.ready))
                return 0;
        s->failures++;
        s->counted++;
        if (s->failures >= g->retries)
                return tender_error_set(err, TENDER_ERR_HEALTH, EIO,
                                        "probe failed %llu time(s) in a row after %.1f s: %s",
                                        (unsigned long long) s->failures, since(s),
                                        s->probe_err.message);
        if (s->counted >= 2 * g->retries)
                return tender_error_set(err, TENDER_ERR_HEALTH, EIO,
                                        "probe flapping: failed %llu times in %.1f s: %s",
                                        (unsigned long long) s->counted, since(s),
                                        s->probe_err.message);
        return 0;
}

/* The container must be running with the pid of the first look: a new pid is a restart. */
static int check_running(const struct gate *g, struct gate_run *s, int *ret_pid,
                         struct tender_error *err) {
        struct container_state st;
        int r = container_state(g->rt, g->id, &st, err);
        if (r < 0)
                return r;
        if (st.status != CONTAINER_RUNNING)
                return not_running(&st, since(s), err);
        if (!s->first_pid)
                s->first_pid = st.pid;
        else if (st.pid != s->first_pid)
                return tender_error_set(err, TENDER_ERR_HEALTH, EIO,
                                        "restarted after %.1f s (pid %d, then %d)", since(s),
                                        s->first_pid, st.pid);
        *ret_pid = st.pid;
        return 0;
}

static int window_end(const struct gate *g, const struct gate_run *s, struct tender_error *err) {
        double window = (double) g->window_ms / 1000.0;
        if (g->notify_fd >= 0 && !s->notify.ready)
                return tender_error_set(err, TENDER_ERR_HEALTH, EIO,
                                        "no READY=1 on the notify socket within the %.0f s "
                                        "window%s%s%s",
                                        window, s->notify.status[0] ? " (last STATUS=" : "",
                                        s->notify.status, s->notify.status[0] ? ")" : "");
        if (!s->last_ok)
                return tender_error_set(err, TENDER_ERR_HEALTH, EIO,
                                        "not healthy at the end of the %.0f s window: %s", window,
                                        s->probe_err.message);
        return 0;
}

static int run_gate(const struct gate *g, struct tender_error *err) {
        struct gate_run s = {.last_ok = g->probe == TENDER_HEALTH_PROBE_NONE};
        s.start = s.next_probe = tender_now_ms();
        uint64_t end = s.start + g->window_ms;

        for (uint64_t next = s.start;; next += HEALTH_POLL_INTERVAL_MS) {
                int pid = 0;
                int r = check_running(g, &s, &pid, err);
                if (r < 0)
                        return r;
                if (g->notify_fd >= 0 && notify_drain(g->notify_fd, pid, &s.notify) > 0 &&
                    s.notify.dropped)
                        log_debug("%s: %u notify message(s) dropped", g->id, s.notify.dropped);
                uint64_t t = tender_now_ms();
                if (g->probe != TENDER_HEALTH_PROBE_NONE && t >= s.next_probe) {
                        s.next_probe = t + g->interval_ms;
                        r = probe_step(g, &s, pid, err);
                        if (r < 0)
                                return r;
                        t = tender_now_ms();
                }
                if (t >= end)
                        return window_end(g, &s, err);
                uint64_t wake = next + HEALTH_POLL_INTERVAL_MS;
                sleep_until_ms(wake < end ? wake : end);
        }
}

int health_gate(const struct runtime *rt, const char *id, uint64_t window_sec,
                struct tender_error *err) {
        struct gate g = {.rt = rt, .id = id, .window_ms = window_sec * 1000, .notify_fd = -1};
        return run_gate(&g, err);
}

int health_gate_notify(const struct runtime *rt, const char *id,
                       const struct tender_release_manifest *m, int notify_fd,
                       struct tender_error *err) {
        struct gate g = {
                .rt = rt,
                .id = id,
                .window_ms = m->health_window_sec * 1000,
                .start_period_ms = m->health_start_period_sec * 1000,
                .interval_ms = (m->health_interval_sec ? m->health_interval_sec
                                                       : TENDER_HEALTH_INTERVAL_DEFAULT) *
                               1000,
                .timeout_ms = (m->health_timeout_sec ? m->health_timeout_sec
                                                     : TENDER_HEALTH_TIMEOUT_DEFAULT) *
                              1000,
                .retries = m->health_retries ? m->health_retries : TENDER_HEALTH_RETRIES_DEFAULT,
                .probe = m->health_probe,
                .port = m->health_port,
                .path = m->health_http_path,
                .exec = m->health_exec,
                .notify_fd = m->health_notify ? notify_fd : -1,
        };
        if (m->health_notify && notify_fd < 0)
                return tender_error_set(err, TENDER_ERR_HEALTH, EBADF,
                                        "%s asks for READY=1 but has no notify socket", id);
        if (g.probe == TENDER_HEALTH_PROBE_EXEC && !g.exec)
                return tender_error_set(err, TENDER_ERR_HEALTH, EINVAL,
                                        "%s: exec probe without "
                                        "a command",
                                        id);
        return run_gate(&g, err);
}

int health_gate_release(const struct runtime *rt, const char *id,
                        const struct tender_release_manifest *m, struct tender_error *err) {
        return health_gate_notify(rt, id, m, -1, err);
}
