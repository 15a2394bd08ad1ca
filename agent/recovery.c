/* SPDX-License-Identifier: Apache-2.0 */
/* tenderd's start: replay of the deployment journal, then the apps' current releases. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "container.h"
#include "report.h"
#include "tender/json.h"
#include "tender/log.h"
#include "update.h"
#include "userns.h"

typedef int (*record_fn)(struct agent *a, struct tender_journal_record *rec, void *userdata);

/* Calls fn for every readable record; unreadable ones are logged and removed (a record is
 * written atomically, so only a foreign or damaged file can be unreadable). */
static void for_each_record(struct agent *a, record_fn fn, void *userdata) {
        int root = tender_store_root_fd(a->store);
        char **ids = NULL;
        int r = tender_journal_list(root, &ids);
        if (r < 0) {
                log_error("Failed to list the journal: %s", strerror(-r));
                return;
        }
        for (size_t i = 0; ids[i]; i++) {
                _cleanup_(tender_journal_record_freep) struct tender_journal_record *rec = NULL;
                struct tender_error err = {0};
                r = tender_journal_read(root, ids[i], &rec, &err);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        log_error("Removing unreadable journal record: %s", err.message);
                        tender_journal_remove(root, ids[i]);
                        continue;
                }
                fn(a, rec, userdata);
        }
        tender_strv_free(ids);
}

/* Drops the pin of rec's update when it is still there: a pin would keep its downloads until
 * the app's next update ends. */
static void unpin_record(struct agent *a, const struct tender_journal_record *rec) {
        _cleanup_free_ char *pinned = NULL;
        if (tender_store_get_pin(a->store, rec->app, &pinned) >= 0 && STREQ(pinned, rec->version))
                tender_store_unpin(a->store, rec->app);
}

static int replay_one(struct agent *a, struct tender_journal_record *rec, void *userdata) {
        _cleanup_free_ char *last = NULL;
        struct tender_log_ctx ctx = {.app = rec->app,
                                     .version = rec->version,
                                     .state = tender_journal_state_name(rec->state),
                                     .deployment = rec->action_id};
        (void) userdata;

        /* Reported, but stopped before the record was removed. */
        if (tender_store_last_action_get(a->store, &last) >= 0 && STREQ(last, rec->action_id)) {
                tender_journal_remove(tender_store_root_fd(a->store), rec->action_id);
                return 0;
        }
        if (tender_journal_state_needs_rollback(rec->state)) {
                /* After the swap and before the commit: the new release never proved itself. */
                if (rec->state != TENDER_JOURNAL_ROLLING_BACK || !rec->message) {
                        char msg[TENDER_ERROR_MESSAGE_MAX];
                        snprintf(msg, sizeof(msg), "%s %s: tenderd was stopped while %s", rec->app,
                                 rec->version, tender_journal_state_name(rec->state));
                        free(rec->message);
                        rec->message = strdup(msg);
                }
                tender_log(LOG_WARNING, &ctx, "Interrupted after the swap: rolling back");
                update_run(a, rec, NULL, TENDER_JOURNAL_ROLLING_BACK);
        } else if (rec->state == TENDER_JOURNAL_ROLLED_BACK) {
                /* Its GC may have been cut: the bad release's layers go now, not at the next
                 * commit. */
                update_run(a, rec, NULL, TENDER_JOURNAL_ROLLED_BACK);
        } else if (rec->state == TENDER_JOURNAL_COMMITTED) {
                /* The commit's effects are idempotent: run them again in case they were cut. */
                tender_log(LOG_NOTICE, &ctx, "Finishing the commit");
                update_run(a, rec, NULL, TENDER_JOURNAL_COMMITTED);
        } else if (!tender_journal_state_is_final(rec->state)) {
                tender_log(LOG_NOTICE, &ctx,
                           "Interrupted before the swap; resumes when the server offers it again");
                return 0;
        } else if (rec->state == TENDER_JOURNAL_FAILED) {
                /* Killed before its unpin; what the pin kept goes at the next GC. */
                unpin_record(a, rec);
        }
        if (rec->result != TENDER_JOURNAL_RESULT_NONE)
                update_report_final(a, rec);
        return 0;
}

/* Restart policy (docs/agent.md, "Running apps"): a current release whose container stopped is
 * started again as its manifest's deployment.restart asks, the delay doubling after each start
 * (1 s up to RESTART_BACKOFF_MAX_SEC). The delay resets once the container was seen running
 * RESTART_RESET_SEC after its start: a crash after a long run is not a crash loop. */
#define RESTART_BACKOFF_MAX_SEC 300
#define RESTART_RESET_SEC 60
/* Between polls the containers are checked this often, so that a stop is seen early. */
#define RESTART_CHECK_SEC AGENT_CHECK_SEC
#define RESTART_TRACKED_APPS 64

static struct restart_track {
        char app[TENDER_NAME_MAX + 1], version[TENDER_NAME_MAX + 1];
        uint64_t delay_sec, next_ms, started_ms;
        uint64_t window_start_ms, window_count; /* restarts counted against maxRestarts */
        bool waiting;                           /* stopped, to be started at next_ms */
        bool stays_stopped_logged, crash_logged;
        bool unhealthy;              /* reported stopped (report.h), until it runs again */
        uint64_t restarts;           /* since tenderd started, for the status */
        struct container_state seen; /* at the last check, seen_ms (0: never) */
        uint64_t seen_ms;
} tracked[RESTART_TRACKED_APPS];

/* The status document's threads (control socket, monitor) read a slot's names, restarts and
 * what was seen; the main loop writes them under this lock. */
static pthread_mutex_t tracked_mutex = PTHREAD_MUTEX_INITIALIZER;

static uint64_t last_check_ms;

/* The app's slot; a new current version starts with a fresh one. */
static struct restart_track *track(const char *app, const char *version) {
        struct restart_track *free_slot = NULL;
        for (size_t i = 0; i < ELEMENTSOF(tracked); i++) {
                if (STREQ(tracked[i].app, app)) {
                        if (STREQ(tracked[i].version, version))
                                return &tracked[i];
                        free_slot = &tracked[i];
                        break;
                }
                if (!free_slot && !tracked[i].app[0])
                        free_slot = &tracked[i];
        }
        if (free_slot) {
                pthread_mutex_lock(&tracked_mutex);
                *free_slot = (struct restart_track){0};
                snprintf(free_slot->app, sizeof(free_slot->app), "%s", app);
                snprintf(free_slot->version, sizeof(free_slot->version), "%s", version);
                pthread_mutex_unlock(&tracked_mutex);
        }
        return free_slot;
}

static void describe_exit(const struct container_state *st, char *buf, size_t size) {
        if (st->status != CONTAINER_STOPPED)
                snprintf(buf, size, "%s", container_status_name(st->status));
        else if (st->has_exit_status)
                snprintf(buf, size, "exited with status %d", st->exit_status);
        else
                snprintf(buf, size, "stopped, exit status unknown");
}

/* Whether the policy starts this container again. A container the runtime does not know (after
 * a reboot, or a start that failed) is always started: that is not the app's own exit. */
static bool policy_restarts(const struct tender_release_manifest *m,
                            const struct container_state *st) {
        if (st->status != CONTAINER_STOPPED)
                return true;
        switch (m->restart_policy) {
        case TENDER_RESTART_NO:
                return false;
        case TENDER_RESTART_ON_FAILURE:
                /* The runtime reports 128 + signal for a killed init: non-zero too. An unknown
                 * exit counts as a failure. */
                return !st->has_exit_status || st->exit_status != 0;
        default:
                return true;
        }
}

/* Counts a restart in the manifest's window; past maxRestarts the app is crash-looping. */
static void count_restart(struct restart_track *t, const struct tender_release_manifest *m,
                          const struct tender_log_ctx *ctx, uint64_t now) {
        if (!t->window_start_ms || now - t->window_start_ms >= m->restart_window_sec * 1000) {
                t->window_start_ms = now;
                t->window_count = 0;
                t->crash_logged = false;
        }
        t->window_count++;
        pthread_mutex_lock(&tracked_mutex);
        t->restarts++;
        pthread_mutex_unlock(&tracked_mutex);
        if (m->restart_max && t->window_count > m->restart_max && !t->crash_logged) {
                t->crash_logged = true;
                tender_log(LOG_CRIT, ctx,
                           "%s %s is crash-looping: %llu restarts within %llu s; still restarting "
                           "it every %d s at most",
                           ctx->app, ctx->version, (unsigned long long) t->window_count,
                           (unsigned long long) m->restart_window_sec, RESTART_BACKOFF_MAX_SEC);
        }
}

static void report_health(const struct tender_log_ctx *ctx, bool healthy, const char *why) {
        report_emit(&(struct report_event){.kind = REPORT_HEALTH,
                                           .app = ctx->app,
                                           .version = ctx->version,
                                           .detail = why,
                                           .healthy = healthy,
                                           .log = ctx});
}

uint64_t agent_restart_count(const char *app, const char *version) {
        uint64_t n = 0;
        (void) agent_container_seen(app, version, 0, NULL, &n);
        return n;
}

bool agent_container_seen(const char *app, const char *version, uint64_t max_age_ms,
                          struct container_state *st, uint64_t *restarts) {
        uint64_t now = tender_now_ms();
        bool fresh = false;
        pthread_mutex_lock(&tracked_mutex);
        for (size_t i = 0; i < ELEMENTSOF(tracked); i++) {
                const struct restart_track *t = &tracked[i];
                if (!STREQ(t->app, app) || !STREQ(t->version, version))
                        continue;
                *restarts = t->restarts;
                fresh = st && t->seen_ms && now - t->seen_ms <= max_age_ms;
                if (fresh)
                        *st = t->seen;
                break;
        }
        pthread_mutex_unlock(&tracked_mutex);
        return fresh;
}

/* What the check saw, for the status document (agent_container_seen). */
static void remember(struct restart_track *t, const struct container_state *st) {
        if (!t)
                return;
        pthread_mutex_lock(&tracked_mutex);
        t->seen = *st;
        t->seen_ms = tender_now_ms();
        pthread_mutex_unlock(&tracked_mutex);
}

static void supervise_one(struct agent *a, const char *app, const char *cur, bool backoff) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        struct tender_log_ctx ctx = {.app = app, .version = cur, .state = "recover"};
        struct restart_track *t = track(app, cur);
        struct tender_error err = {0};
        struct container_state st = {.status = CONTAINER_ABSENT}; /* when `state` fails */
        char id[CONTAINER_ID_MAX], why[96];
        uint64_t now = tender_now_ms();

        container_id(app, cur, id);
        if (container_state(&a->runtime, id, &st, &err) < 0)
                st = (struct container_state){.status = CONTAINER_ABSENT};
        remember(t, &st);
        if (st.status == CONTAINER_RUNNING) {
                if (t && t->started_ms && now - t->started_ms >= RESTART_RESET_SEC * 1000)
                        t->delay_sec = 0;
                if (t && t->unhealthy)
                        report_health(&ctx, true, "running again");
                if (t)
                        t->waiting = t->stays_stopped_logged = t->unhealthy = false;
                return;
        }
        if (tender_store_release_manifest(a->store, app, cur, &m, &err) < 0) {
                tender_log(LOG_ERR, &ctx, "Failed to start %s: %s", id, err.message);
                return;
        }
        describe_exit(&st, why, sizeof(why));
        if (t && !t->unhealthy && st.status != CONTAINER_ABSENT) {
                t->unhealthy = true;
                report_health(&ctx, false, why);
        }
        if (!policy_restarts(m, &st)) {
                if (t && !t->stays_stopped_logged)
                        tender_log(LOG_NOTICE, &ctx,
                                   "Container %s %s; restart policy %s: it stays "
                                   "stopped",
                                   id, why,
                                   m->restart_policy == TENDER_RESTART_NO ? "no" : "on-failure");
                if (t)
                        t->stays_stopped_logged = true;
                return;
        }
        if (t)
                t->waiting = true;
        if (backoff && t && now < t->next_ms)
                return;
        if (t) {
                count_restart(t, m, &ctx, now);
                t->delay_sec = t->delay_sec ? t->delay_sec * 2 : 1;
                if (t->delay_sec > RESTART_BACKOFF_MAX_SEC)
                        t->delay_sec = RESTART_BACKOFF_MAX_SEC;
                t->next_ms = now + t->delay_sec * 1000;
                t->started_ms = now;
                t->waiting = false;
        }
        tender_log(LOG_NOTICE, &ctx,
                   "Container %s is not running (%s), starting it (backoff %llu s)", id, why,
                   (unsigned long long) (t ? t->delay_sec : 0));
        if (container_start(&a->runtime, a->store, m, &a->cfg->policy, &err) < 0)
                tender_log(LOG_ERR, &ctx, "Failed to start %s: %s", id, err.message);
}

/* An app whose files must move to another id range (a store of a release before user
 * namespaces, a change of mode) may still run from before tenderd's restart, as host root: it is
 * stopped so that its files can be shifted (userns_app_prepare, when it starts again below). */
static void stop_for_shift(struct agent *a) {
        char **apps = NULL;
        if (tender_store_list_apps(a->store, &apps) < 0)
                return;
        for (size_t i = 0; apps[i]; i++) {
                _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
                _cleanup_free_ char *cur = NULL;
                struct tender_error err = {0};
                if (tender_store_get_current(a->store, apps[i], &cur) < 0 ||
                    !userns_app_needs_shift(a->store, apps[i]))
                        continue;
                uint64_t timeout =
                        tender_store_release_manifest(a->store, apps[i], cur, &m, &err) >= 0
                                ? m->stop_timeout_sec
                                : TENDER_STOP_TIMEOUT_DEFAULT;
                log_notice("%s %s: stopping it to move its files into its user namespace's ids",
                           apps[i], cur);
                if (container_stop(&a->runtime, a->store, apps[i], cur, timeout, &err) < 0)
                        log_error("Failed to stop %s %s: %s", apps[i], cur, err.message);
        }
        tender_strv_free(apps);
}

static void start_current(struct agent *a, bool backoff) {
        char **apps = NULL;
        last_check_ms = tender_now_ms();
        /* Set again below for the apps still there: a removed app must not keep a wake-up. */
        for (size_t i = 0; i < ELEMENTSOF(tracked); i++)
                tracked[i].waiting = false;
        if (tender_store_list_apps(a->store, &apps) < 0)
                return;
        for (size_t i = 0; apps[i]; i++) {
                _cleanup_free_ char *cur = NULL;
                if (tender_store_get_current(a->store, apps[i], &cur) >= 0)
                        supervise_one(a, apps[i], cur, backoff);
        }
        tender_strv_free(apps);
}

void agent_supervise(struct agent *a) {
        start_current(a, true);
}

uint64_t agent_supervise_due_sec(void) {
        uint64_t now = tender_now_ms(), due = last_check_ms + RESTART_CHECK_SEC * 1000;
        for (size_t i = 0; i < ELEMENTSOF(tracked); i++)
                if (tracked[i].app[0] && tracked[i].waiting && tracked[i].next_ms < due)
                        due = tracked[i].next_ms;
        return due <= now ? 0 : (due - now + 999) / 1000;
}

int agent_recover(struct agent *a) {
        int r = tender_journal_init(tender_store_root_fd(a->store));
        if (r < 0)
                log_error("Failed to create the journal directory: %s", strerror(-r));
        for_each_record(a, replay_one, NULL);
        stop_for_shift(a);
        start_current(a, false);
        return 0;
}

static int report_one(struct agent *a, struct tender_journal_record *rec, void *userdata) {
        (void) userdata;
        if (rec->result != TENDER_JOURNAL_RESULT_NONE)
                update_report_final(a, rec);
        return 0;
}

void agent_report_pending(struct agent *a) {
        for_each_record(a, report_one, NULL);
}

static int forget_one(struct agent *a, struct tender_journal_record *rec, void *userdata) {
        const char *keep = userdata;
        if ((keep && STREQ(keep, rec->action_id)) || rec->result != TENDER_JOURNAL_RESULT_NONE ||
            tender_journal_state_needs_rollback(rec->state))
                return 0;
        log_notice("Action %s is no longer offered; forgetting it (%s %s was %s)", rec->action_id,
                   rec->app, rec->version, tender_journal_state_name(rec->state));
        tender_journal_remove(tender_store_root_fd(a->store), rec->action_id);
        unpin_record(a, rec);
        return 0;
}

void agent_forget_stale(struct agent *a, const char *keep) {
        for_each_record(a, forget_one, (void *) keep);
}
