/* SPDX-License-Identifier: Apache-2.0 */
#include "gate.h"

#include <stdio.h>
#include <string.h>

#include "lock.h"
#include "report.h"
#include "tender/maintenance.h"
#include "update.h"

static const char *const reason_names[_GATE_REASON_MAX] = {
        [GATE_OPEN] = "open",
        [GATE_SERVER_SKIP] = "skip",
        [GATE_SERVER_WINDOW] = "server-window",
        [GATE_CONFIG_WINDOW] = "window",
        [GATE_OPERATOR_LOCK] = "operator-lock",
        [GATE_APP_LOCK] = "app-lock",
};

const char *gate_reason_name(enum gate_reason r) {
        return r < _GATE_REASON_MAX ? reason_names[r] : "open";
}

static uint64_t min_u64(uint64_t x, uint64_t y) {
        return x < y ? x : y;
}

static int defer(struct gate_verdict *v, enum gate_reason reason, uint64_t recheck_sec) {
        v->reason = reason;
        v->recheck_sec = recheck_sec;
        return 1;
}

/* Outside every configured window, in local time: the device's own clock and timezone decide,
 * as an operator writing "Mon-Fri 02:00-04:00" means the device's night. A device without a
 * usable clock is never blocked. */
static bool config_window_closed(const struct gate_input *in, struct gate_verdict *v) {
        const struct tender_config *cfg = in->cfg;
        struct tm tm;

        if (cfg->n_maintenance_windows == 0 || !localtime_r(&in->now, &tm))
                return false;
        unsigned m = tender_maintenance_minutes_to_open(cfg->maintenance_windows,
                                                        cfg->n_maintenance_windows, &tm);
        if (m == 0)
                return false;
        uint64_t sec = (uint64_t) m * 60 - (uint64_t) (tm.tm_sec % 60);
        if (m >= TENDER_MAINTENANCE_WEEK_MIN)
                snprintf(v->why, sizeof(v->why),
                         "waiting for maintenance window (outside maintenance.windows; none "
                         "ever opens)");
        else
                snprintf(v->why, sizeof(v->why),
                         "waiting for maintenance window (outside maintenance.windows; the next "
                         "one opens in %u min)",
                         m);
        defer(v, GATE_CONFIG_WINDOW, min_u64(sec ? sec : 1, GATE_WINDOW_RECHECK_MAX_SEC));
        return true;
}

static bool operator_locked(const struct gate_input *in, struct gate_verdict *v) {
        uint64_t now = (uint64_t) in->now;
        struct lock_operator op;

        if (lock_operator_get(in->root_fd, in->app, now, &op) < 0)
                return false;
        snprintf(v->why, sizeof(v->why), "waiting for the operator lock (%llu s more%s%s)",
                 (unsigned long long) (op.until - now), op.reason[0] ? ": " : "", op.reason);
        defer(v, GATE_OPERATOR_LOCK, min_u64(in->cfg->lock_retry_sec, op.until - now));
        return true;
}

static bool app_locked(const struct gate_input *in, uint64_t *since, struct gate_verdict *v) {
        uint64_t now = (uint64_t) in->now, ttl = in->cfg->app_lock_ttl_sec;

        /* A lock that cannot be tested does not defer: a broken lock file must not block
         * updates for ever. */
        if (lock_app_held(in->root_fd, in->app) <= 0)
                return false;
        /* A clock set back since: count from now rather than never. */
        if (!*since || *since > now)
                *since = now;
        uint64_t held = now - *since;
        if (held >= ttl) {
                v->app_lock_held_sec = held ? held : 1;
                return false;
        }
        snprintf(v->why, sizeof(v->why),
                 "waiting for the app lock (held for %llu s, ignored after %llu s)",
                 (unsigned long long) held, (unsigned long long) ttl);
        defer(v, GATE_APP_LOCK, min_u64(in->cfg->lock_retry_sec, ttl - held));
        return true;
}

int gate_check(const struct gate_input *in, uint64_t *app_lock_since, struct gate_verdict *ret) {
        struct gate_verdict v = {.reason = GATE_OPEN};
        int r = 1;

        if (in->update == TENDER_DDI_SKIP) {
                snprintf(v.why, sizeof(v.why), "the server says to skip the update for now");
                defer(&v, GATE_SERVER_SKIP, 0);
        } else if (in->window == TENDER_DDI_WINDOW_UNAVAILABLE) {
                /* The server's window binds forced updates too: it is the operator's explicit
                 * word for this action. */
                snprintf(v.why, sizeof(v.why),
                         "waiting for maintenance window (the server's window is closed)");
                defer(&v, GATE_SERVER_WINDOW, 0);
        } else if (in->update == TENDER_DDI_ATTEMPT && config_window_closed(in, &v)) {
                /* A forced update goes ahead whatever the device's own schedule says. */
        } else if (operator_locked(in, &v) || app_locked(in, app_lock_since, &v)) {
                /* Locks are the device's own word and bind forced updates too; the app lock
                 * only for its TTL. */
        } else
                r = 0;
        if (v.recheck_sec == 0 && (v.reason == GATE_OPERATOR_LOCK || v.reason == GATE_APP_LOCK))
                v.recheck_sec = 1; /* control.lockRetrySeconds 0: as often as the loop goes */
        *ret = v;
        return r;
}

/* The deferral the main loop waits on. */
static struct {
        bool active;
        char action_id[TENDER_JOURNAL_ID_MAX + 1];
        char app[TENDER_NAME_MAX + 1], version[TENDER_NAME_MAX + 1];
        enum tender_ddi_handling update;
        enum tender_ddi_window window;
        char why[GATE_WHY_MAX];
        uint64_t recheck_ms; /* CLOCK_MONOTONIC; 0: at the next poll only */
} waiting;

/* Why the swap waits, to the report path: every sink when the reason is new (DDI feedback,
 * log, MQTT), else only the status views (control snapshot, sd_notify). */
static void publish(bool again, const char *deployment_base, const struct tender_log_ctx *log) {
        report_emit(&(struct report_event){.kind = REPORT_NOTE,
                                           .app = waiting.app,
                                           .version = waiting.version,
                                           .action_id = waiting.action_id,
                                           .deployment_base = deployment_base,
                                           .detail = waiting.why,
                                           .again = again,
                                           .log = log});
}

static void publish_no_wait(void) {
        report_emit(&(struct report_event){.kind = REPORT_NOTE, .again = true});
}

/* Runs the gate for rec and keeps its bookkeeping: journal, feedback, the main loop's wait. */
static int evaluate(struct agent *a, struct tender_journal_record *rec,
                    enum tender_ddi_handling update, enum tender_ddi_window window,
                    const struct tender_log_ctx *log) {
        struct gate_input in = {
                .cfg = a->cfg,
                .root_fd = tender_store_root_fd(a->store),
                .app = rec->app,
                .update = update,
                .window = window,
                .now = time(NULL),
        };
        struct gate_verdict v;
        uint64_t since = rec->app_lock_since;
        int r = gate_check(&in, &since, &v);

        if (v.app_lock_held_sec)
                tender_log(LOG_WARNING, log,
                           "The app lock of %s was held for %llu s (control.appLockTtlSeconds): "
                           "swapping anyway",
                           rec->app, (unsigned long long) v.app_lock_held_sec);
        if (r == 0) {
                /* rec's gate fields stay until the swap is journaled (update_run): if a lock is
                 * taken again before it, its TTL goes on from the first sight. */
                waiting.active = false;
                publish_no_wait();
                return 0;
        }
        const char *name = gate_reason_name(v.reason);
        bool new_reason = !rec->gate || !STREQ(rec->gate, name);
        if (new_reason || since != rec->app_lock_since) {
                char *dup = strdup(name);
                if (dup) {
                        free(rec->gate);
                        rec->gate = dup;
                }
                rec->app_lock_since = since;
                /* So that a restart neither reports the reason again nor restarts the TTL. */
                int k = tender_journal_write(tender_store_root_fd(a->store), rec);
                if (k < 0)
                        tender_log(LOG_WARNING, log, "Failed to write the journal: %s",
                                   strerror(-k));
        }
        waiting.active = true;
        snprintf(waiting.action_id, sizeof(waiting.action_id), "%s", rec->action_id);
        snprintf(waiting.app, sizeof(waiting.app), "%s", rec->app);
        snprintf(waiting.version, sizeof(waiting.version), "%s", rec->version);
        snprintf(waiting.why, sizeof(waiting.why), "%s", v.why);
        waiting.update = update;
        waiting.window = window;
        waiting.recheck_ms = v.recheck_sec ? tender_now_ms() + v.recheck_sec * 1000 : 0;
        publish(!new_reason, rec->deployment_base, log);
        return 1;
}

int gate_defer(struct agent *a, struct tender_journal_record *rec,
               const struct tender_ddi_deployment *d, const struct tender_log_ctx *log) {
        if (!d)
                return 0;
        return evaluate(a, rec, d->update, d->window, log);
}

void gate_poll_begins(void) {
        waiting.active = false;
}

bool gate_publish(void) {
        if (waiting.active)
                publish(true, NULL, NULL);
        return waiting.active;
}

uint64_t gate_due_sec(void) {
        if (!waiting.active || !waiting.recheck_ms)
                return UINT64_MAX;
        uint64_t now = tender_now_ms();
        return waiting.recheck_ms <= now ? 0 : (waiting.recheck_ms - now + 999) / 1000;
}

bool gate_recheck(struct agent *a) {
        _cleanup_(tender_journal_record_freep) struct tender_journal_record *rec = NULL;
        struct tender_error err = {0};

        /* Reasons only the server can lift are looked at again at the next poll. */
        if (!waiting.active || !waiting.recheck_ms)
                return false;
        if (tender_journal_read(tender_store_root_fd(a->store), waiting.action_id, &rec, &err) <
                    0 ||
            rec->state != TENDER_JOURNAL_STAGING) {
                waiting.active = false; /* canceled, or handled meanwhile */
                publish_no_wait();
                return false;
        }
        struct tender_log_ctx log = {.app = rec->app,
                                     .version = rec->version,
                                     .state = "staging",
                                     .deployment = rec->action_id};
        if (evaluate(a, rec, waiting.update, waiting.window, &log) > 0)
                return false;
        tender_log(LOG_INFO, &log, "The swap gate opened: polling now to swap");
        return true;
}
