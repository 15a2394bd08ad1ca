/* SPDX-License-Identifier: Apache-2.0 */
#include "update.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "cancel.h"
#include "control.h"
#include "gate.h"
#include "health.h"
#include "layer_delta.h"
#include "notify.h"
#include "report.h"
#include "tender/extract.h"
#include "tender/fileio.h"
#include "tender/fscrypt.h"
#include "tender/json.h"
#include "tender/log.h"
#include "trust.h"
#include "userns.h"

#define MESSAGE_MAX (2 * TENDER_ERROR_MESSAGE_MAX)

/* One chunk (one app release) of a deployment. */
struct update {
        struct agent *a;
        struct tender_journal_record *rec;    /* app, version, previous; rewritten per transition */
        const struct tender_ddi_chunk *chunk; /* NULL when replaying */

        char *manifest_data; /* as the TUF target's length and hashes vouch for it */
        size_t manifest_len;
        struct tender_release_manifest *m;
        char id[CONTAINER_ID_MAX];
        int notify_fd; /* held from the start of the container to the end of its gate */

        struct tender_error error;
        char message[MESSAGE_MAX]; /* the final feedback's detail */
        struct tender_log_ctx log;
};

static void update_done(struct update *u) {
        if (u->notify_fd >= 0)
                close(u->notify_fd);
        free(u->manifest_data);
        tender_manifest_free(u->m);
}

static void send_progress(struct update *u, const char *what, bool has_progress, uint64_t cnt,
                          uint64_t of) {
        control_watchdog_ping(); /* progress points are where long steps show they live */
        report_emit(&(struct report_event){.kind = REPORT_PROGRESS,
                                           .app = u->rec->app,
                                           .version = u->rec->version,
                                           .action_id = u->rec->action_id,
                                           .deployment_base = u->rec->deployment_base,
                                           .detail = what,
                                           .has_progress = has_progress,
                                           .cnt = cnt,
                                           .of = of,
                                           .log = &u->log});
}

static enum tender_journal_state fail(struct update *u, const char *fmt, ...) _printf_(2, 3);
static enum tender_journal_state fail(struct update *u, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(u->message, sizeof(u->message), fmt, ap);
        va_end(ap);
        tender_log(LOG_ERR, &u->log, "%s", u->message);
        return TENDER_JOURNAL_FAILED;
}

/* The offered manifest is byte for byte the one stored for the same version. */
static bool same_as_stored(struct update *u) {
        _cleanup_free_ char *stored = NULL;
        size_t len = 0;
        return tender_store_release_manifest_bytes(u->a->store, u->m->app, u->m->version, &stored,
                                                   &len) >= 0 &&
               len == u->manifest_len && memcmp(stored, u->manifest_data, len) == 0;
}

/* The anti-rollback rule: never below the committed counter, except back to the kept previous
 * release, byte for byte. */
static bool counter_allowed(struct update *u) {
        uint64_t committed = 0;
        _cleanup_free_ char *prev = NULL;

        if (tender_store_counter_get(u->a->store, u->m->app, &committed) < 0)
                return false;
        if (u->m->release_counter >= committed)
                return true;
        return tender_store_get_previous(u->a->store, u->m->app, &prev) >= 0 &&
               STREQ(prev, u->m->version) && same_as_stored(u);
}

/* Pins the release, so that GC (and the start-up scan after a crash) keeps its downloads, then
 * checks before the first byte is fetched that the store can hold it. */
static enum tender_journal_state plan_space(struct update *u) {
        struct tender_store_plan_options po = {.budget_bytes = u->a->cfg->store_budget_bytes};
        struct tender_store_plan plan = {0};
        const char *app = u->m->app, *version = u->m->version;

        int r = tender_store_pin(u->a->store, app, u->m);
        if (r < 0)
                return fail(u, "%s %s: cannot pin it in the store: %s", app, version, strerror(-r));
        if (tender_store_plan(u->a->store, u->m, &po, &plan, &u->error) < 0)
                return fail(u, "%s", u->error.message); /* names app, version and figures */
        tender_log(LOG_INFO, &u->log,
                   "Space plan: %llu bytes to download, %llu to extract, %llu margin; %llu free",
                   (unsigned long long) plan.download_bytes,
                   (unsigned long long) plan.extract_bytes, (unsigned long long) plan.margin_bytes,
                   (unsigned long long) plan.available_bytes);
        if (plan.gc_needed) {
                tender_log(LOG_NOTICE, &u->log, "The update fits only after a store cleanup");
                r = tender_store_gc(u->a->store, &u->error);
                if (r < 0)
                        return fail(u, "%s %s: store cleanup before the download: %s", app, version,
                                    u->error.message);
        }
        return TENDER_JOURNAL_DOWNLOADING;
}

/* The manifest of the chosen release through TUF; the server's release.json URL is ignored.
 * A freeze (expired metadata) is its own error: the device is kept from updates, which is
 * not the same as being offered a forged release. */
static int verify_release(struct update *u) {
        const char *name = u->chunk->name, *version = u->chunk->version;
        struct trust_release tr = {0};
        int r = trust_fetch_release(u->a, name, version, &tr, &u->error);
        if (r == -ESTALE)
                fail(u,
                     "%s %s: freeze: the update repository's metadata has expired, no update "
                     "is accepted until it is fresh again: %s",
                     name, version, u->error.message);
        else if (r < 0)
                fail(u, "%s %s: TUF verification failed: %s", name, version, u->error.message);
        if (r < 0)
                return r;
        u->manifest_data = tr.data;
        u->manifest_len = tr.len;
        u->m = tr.manifest;
        return 0;
}

static void free_others(struct tender_policy_app *others, char **versions, size_t n) {
        for (size_t i = 0; i < n; i++) {
                tender_resources_done(&others[i].resources);
                free(versions[i]);
        }
        free(others);
        free(versions);
}

/* The device's policy before anything is fetched: the release's privileges, its resources
 * per app and summed with the other apps' current releases. */
static int policy_allows(struct update *u) {
        const struct tender_policy *p = &u->a->cfg->policy;
        char **apps = NULL, **versions = NULL;
        struct tender_policy_app *others = NULL;
        size_t n = 0;
        int r = tender_store_list_apps(u->a->store, &apps);
        if (r < 0)
                return tender_error_set_errno(&u->error, TENDER_ERR_SYSTEM, r, "list apps");
        others = calloc(tender_strv_length(apps) + 1, sizeof(*others));
        versions = calloc(tender_strv_length(apps) + 1, sizeof(char *));
        if (!others || !versions)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && apps[i]; i++) {
                _cleanup_(tender_manifest_freep) struct tender_release_manifest *om = NULL;
                _cleanup_free_ char *version = NULL;
                if (STREQ(apps[i], u->m->app) ||
                    tender_store_get_current(u->a->store, apps[i], &version) < 0 ||
                    tender_store_release_manifest(u->a->store, apps[i], version, &om, NULL) < 0)
                        continue;
                others[n].app = apps[i];
                others[n].version = versions[n] = TAKE_PTR(version);
                r = tender_policy_resources(p, om, &others[n++].resources);
        }
        if (r >= 0)
                r = tender_policy_check(p, u->m, others, n, &u->error);
        free_others(others, versions, n);
        tender_strv_free(apps);
        return r;
}

static enum tender_journal_state step_verify(struct update *u) {
        const char *name = u->chunk->name, *version = u->chunk->version;
        _cleanup_free_ char *current = NULL;
        uint64_t committed = 0;

        send_progress(u, "verifying", false, 0, 0);
        if (verify_release(u) < 0)
                return TENDER_JOURNAL_FAILED;
        if (tender_store_get_current(u->a->store, name, &current) >= 0 && STREQ(current, version) &&
            same_as_stored(u)) {
                snprintf(u->message, sizeof(u->message), "%s %s is already the current release",
                         name, version);
                return TENDER_JOURNAL_COMMITTED;
        }
        if (tender_store_is_bad(u->a->store, name, version))
                return fail(u, "%s %s failed its health check before; not retried", name, version);
        if (!counter_allowed(u)) {
                tender_store_counter_get(u->a->store, name, &committed);
                return fail(u, "%s %s: release counter %llu is lower than the committed %llu", name,
                            version, (unsigned long long) u->m->release_counter,
                            (unsigned long long) committed);
        }
        tender_log(LOG_INFO, &u->log,
                   "Release manifest verified through TUF (counter %llu, %zu layers)",
                   (unsigned long long) u->m->release_counter, u->m->n_layers);
        if (policy_allows(u) < 0)
                return fail(u, "%s", u->error.message); /* names the request and policy key */
        return plan_space(u);
}

/* True when the layer came through a delta (layer_delta.c). A failed delta is reported in the
 * progress feedback, and the full layer is fetched instead. */
static bool fetch_layer_delta(struct update *u, const struct tender_layer *l) {
        struct layer_delta_request req = {
                .a = u->a, .chunk = u->chunk, .rec = u->rec, .m = u->m, .log = &u->log};
        struct tender_error err = {0};
        char what[MESSAGE_MAX];
        int r = layer_delta_fetch(&req, l, &err);
        if (r >= 0)
                return r > 0;
        snprintf(what, sizeof(what), "falling back to the full layer: %s", err.message);
        tender_log(LOG_WARNING, &u->log, "%s", what);
        send_progress(u, what, false, 0, 0);
        return false;
}

static int fetch_layer(struct update *u, const struct tender_layer *l) {
        struct tender_store *store = u->a->store;
        char digest[TENDER_DIGEST_STRING_MAX];
        _cleanup_free_ char *tmp = NULL, *path = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (fetch_layer_delta(u, l))
                return 0;
        tender_digest_format(&l->digest, digest);
        fd = tender_store_blob_open(store, &l->digest);
        if (fd == -ENOENT) {
                struct blob_request br = {
                        .chunk = u->chunk, .rec = u->rec, .layer = l, .log = &u->log};
                r = blob_fetch(u->a, &br, &u->error);
                if (r < 0)
                        return r;
                fd = tender_store_blob_open(store, &l->digest);
        }
        if (fd < 0)
                return tender_error_set_errno(&u->error, TENDER_ERR_SYSTEM, fd, "open blob %s",
                                              digest);
        r = tender_store_make_tmp_dir(store, &tmp);
        if (r < 0)
                return tender_error_set_errno(&u->error, TENDER_ERR_SYSTEM, r, "staging dir");
        if (asprintf(&path, "%s/%s", tender_store_root(store), tmp) < 0)
                return -ENOMEM;
        /* Owned by the layers' owner (userns.h): 0, or the device-wide range's root. */
        struct tender_extract_options xo = {.uid_offset = userns_layer_offset(),
                                            .gid_offset = userns_layer_offset(),
                                            .id_range = userns_layer_range()};
        _cleanup_close_ int dest = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        r = dest < 0 ? tender_error_set_errno(&u->error, TENDER_ERR_SYSTEM, errno, "open %s", path)
                     : tender_layer_extract_at(fd, dest, l, &xo, &u->error);
        if (r < 0) {
                tender_rm_rf_at(tender_store_root_fd(store), tmp);
                return r;
        }
        r = tender_store_commit_layer(store, tmp, &l->diff_id);
        if (r < 0)
                return tender_error_set_errno(&u->error, TENDER_ERR_SYSTEM, r,
                                              "move layer into place");
        return 0;
}

static enum tender_journal_state step_download(struct update *u) {
        size_t missing = 0, done = 0;

        for (size_t i = 0; i < u->m->n_layers; i++)
                if (!tender_store_has_layer(u->a->store, &u->m->layers[i].diff_id))
                        missing++;
        send_progress(u, "downloading", true, 0, missing);
        for (size_t i = 0; i < u->m->n_layers; i++) {
                const struct tender_layer *l = &u->m->layers[i];
                if (tender_store_has_layer(u->a->store, &l->diff_id))
                        continue;
                if (fetch_layer(u, l) < 0)
                        return fail(u, "%s %s: %s", u->m->app, u->m->version, u->error.message);
                send_progress(u, "downloading", true, ++done, missing);
        }
        tender_log(LOG_INFO, &u->log, "%zu of %zu layers fetched, the others were in the store",
                   missing, u->m->n_layers);
        return TENDER_JOURNAL_STAGING;
}

static enum tender_journal_state step_stage(struct update *u) {
        _cleanup_free_ char *current = NULL;
        send_progress(u, "staging", false, 0, 0);
        if (tender_store_release_prepare(u->a->store, u->m->app, u->m->version, u->manifest_data,
                                         u->manifest_len, NULL, 0, &u->error) < 0 ||
            container_write_config(u->a->store, u->m, &u->a->cfg->policy, &u->error) < 0)
                return fail(u, "%s %s: %s", u->m->app, u->m->version, u->error.message);
        /* What runs now is what a rollback returns to: it goes into the swapping record. */
        int r = tender_store_get_current(u->a->store, u->m->app, &current);
        if (r < 0 && r != -ENOENT)
                return fail(u, "%s: cannot read its current release: %s", u->m->app, strerror(-r));
        free(u->rec->previous);
        u->rec->previous = TAKE_PTR(current);
        return TENDER_JOURNAL_SWAPPING;
}

/* Stops a release's container: SIGTERM, then SIGKILL after its own stop timeout. */
static int stop_release(struct update *u, const char *version, struct tender_error *err) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *om = NULL;
        uint64_t timeout = 10;
        if (tender_store_release_manifest(u->a->store, u->rec->app, version, &om, NULL) >= 0)
                timeout = om->stop_timeout_sec;
        tender_log(LOG_INFO, &u->log, "Stopping %s %s", u->rec->app, version);
        return container_stop(&u->a->runtime, u->a->store, u->rec->app, version, timeout, err);
}

/* Starts m's container; with health.notify, binds its notify socket first so that an early
 * READY=1 waits for the gate. *notify_fd is closed by the caller. */
static int start_release(struct update *u, const struct tender_release_manifest *m, int *notify_fd,
                         struct tender_error *err) {
        if (m->health_notify) {
                int r = notify_open(u->a->store, m->app, m->version, notify_fd, err);
                if (r < 0)
                        return r;
        }
        return container_start(&u->a->runtime, u->a->store, m, &u->a->cfg->policy, err);
}

/* stop-start: the old container stops, then the new one starts. start-stop (hand-over): the
 * new one starts next to the old one, which is stopped only at the commit. */
static enum tender_journal_state step_swap(struct update *u) {
        const char *old = u->rec->previous;
        bool handover =
                u->m->strategy == TENDER_SWAP_START_STOP && old && !STREQ(old, u->m->version);
        uint64_t t0 = tender_now_ms();
        if (old && !handover && stop_release(u, old, &u->error) < 0) {
                snprintf(u->message, sizeof(u->message), "%s %s: failed to stop %s: %s", u->m->app,
                         u->m->version, old, u->error.message);
                return TENDER_JOURNAL_ROLLING_BACK;
        }
        uint64_t t1 = tender_now_ms();
        tender_log(LOG_INFO, &u->log, "Starting container %s%s%s", u->id,
                   handover ? ", hand-over from " : "", handover ? old : "");
        if (start_release(u, u->m, &u->notify_fd, &u->error) < 0) {
                snprintf(u->message, sizeof(u->message), "%s %s failed to start: %s", u->m->app,
                         u->m->version, u->error.message);
                return TENDER_JOURNAL_ROLLING_BACK;
        }
        /* bench/swap reads this line: the time the app was not running, in two parts. */
        uint64_t t2 = tender_now_ms();
        tender_log(LOG_INFO, &u->log, "Swap to %s: old stopped in %llu ms, new started in %llu ms",
                   u->id, (unsigned long long) (t1 - t0), (unsigned long long) (t2 - t1));
        return TENDER_JOURNAL_TESTING;
}

static enum tender_journal_state step_health(struct update *u) {
        int r = health_gate_notify(&u->a->runtime, u->id, u->m, u->notify_fd, &u->error);
        if (u->notify_fd >= 0) {
                close(u->notify_fd);
                u->notify_fd = -1;
        }
        if (r < 0) {
                snprintf(u->message, sizeof(u->message), "%s %s failed its health check: %s",
                         u->m->app, u->m->version, u->error.message);
                return TENDER_JOURNAL_ROLLING_BACK;
        }
        snprintf(u->message, sizeof(u->message), "%s %s running and healthy for %llu s", u->m->app,
                 u->m->version, (unsigned long long) u->m->health_window_sec);
        return TENDER_JOURNAL_COMMITTED;
}

/* The update ended (committed, rolled back or failed): its pin goes, then what it kept. */
static void gc(struct update *u) {
        struct tender_error err = {0};
        int r = tender_store_unpin(u->a->store, u->rec->app);
        if (r < 0 && r != -ENOENT)
                tender_log(LOG_WARNING, &u->log, "Failed to unpin: %s", strerror(-r));
        r = tender_store_gc(u->a->store, &err);
        if (r < 0)
                tender_log(LOG_WARNING, &u->log, "Store cleanup failed: %s", err.message);
        else
                tender_log(LOG_INFO, &u->log, "%d old store entries removed", r);
}

/* The effects of "committed"; idempotent, so that a replay can run them again. */
static int commit(struct update *u) {
        const char *app = u->rec->app, *version = u->rec->version, *prev = u->rec->previous;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *loaded = NULL;
        const struct tender_release_manifest *m = u->m;
        uint64_t committed = 0;
        int r;

        if (!m) {
                r = tender_store_release_manifest(u->a->store, app, version, &loaded, &u->error);
                if (r < 0)
                        return r;
                m = loaded;
        }
        r = tender_store_set_current(u->a->store, app, version);
        if (r >= 0)
                r = tender_store_counter_get(u->a->store, app, &committed);
        if (r >= 0 && m->release_counter > committed)
                r = tender_store_counter_set(u->a->store, app, m->release_counter);
        if (r < 0)
                return tender_error_set_errno(&u->error, TENDER_ERR_SYSTEM, r, "commit");
        /* The end of a hand-over: the old release ran until the new one proved itself. Stopping
         * an already stopped container only unmounts, so a replay may run this again. */
        if (m->strategy == TENDER_SWAP_START_STOP && prev && !STREQ(prev, version)) {
                struct tender_error err = {0};
                if (stop_release(u, prev, &err) < 0)
                        tender_log(LOG_WARNING, &u->log, "Failed to stop %s %s: %s", app, prev,
                                   err.message);
        }
        gc(u);
        return 0;
}

/* Brings the previous release back and health-checks it. After an interrupted hand-over it
 * may still run: it is kept, and gated on its probes only (its READY=1 went out long ago). */
static int restore_previous(struct update *u, const char *prev, struct tender_error *err) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *old = NULL;
        _cleanup_close_ int notify_fd = -1;
        char old_id[CONTAINER_ID_MAX];
        struct container_state st;

        container_id(u->rec->app, prev, old_id);
        int r = tender_store_release_manifest(u->a->store, u->rec->app, prev, &old, err);
        if (r < 0)
                return r;
        if (container_state(&u->a->runtime, old_id, &st, NULL) >= 0 &&
            st.status == CONTAINER_RUNNING) {
                tender_log(LOG_INFO, &u->log, "%s is still running, keeping it", old_id);
                old->health_notify = false;
        } else {
                r = start_release(u, old, &notify_fd, err);
                if (r < 0)
                        return r;
        }
        return health_gate_notify(&u->a->runtime, old_id, old, notify_fd, err);
}

static enum tender_journal_state step_rollback(struct update *u) {
        const char *app = u->rec->app, *version = u->rec->version, *prev = u->rec->previous;
        struct tender_error err = {0};
        size_t n = strlen(u->message);

        tender_log(u->rec->by_operator ? LOG_NOTICE : LOG_ERR, &u->log, "%s", u->message);
        if (container_stop(&u->a->runtime, u->a->store, app, version, 0, &err) < 0)
                tender_log(LOG_WARNING, &u->log, "Failed to remove %s: %s", u->id, err.message);
        /* The operator's choice says nothing about the release's health: it stays eligible,
         * so that the server may deploy it again. */
        if (u->rec->by_operator)
                tender_log(LOG_NOTICE, &u->log,
                           "%s %s rolled back by the operator, not marked bad: it may be "
                           "deployed again",
                           app, version);
        else if (!u->rec->commit_failed && tender_store_mark_bad(u->a->store, app, version) < 0)
                tender_log(LOG_WARNING, &u->log, "Failed to mark %s bad", u->id);
        if (!prev) {
                snprintf(u->message + n, sizeof(u->message) - n, "; no previous release to run");
                return TENDER_JOURNAL_FAILED;
        }
        if (restore_previous(u, prev, &err) < 0) {
                /* Nothing healthy runs: the restart policy keeps trying prev (still current). */
                snprintf(u->message + n, sizeof(u->message) - n,
                         "; rollback to %s failed: %s; critical: no healthy release of %s runs, "
                         "%s is restarted per the restart policy",
                         prev, err.message, app, prev);
                tender_log(LOG_CRIT, &u->log, "%s", u->message);
                return TENDER_JOURNAL_FAILED;
        }
        snprintf(u->message + n, sizeof(u->message) - n, "; rolled back to %s", prev);
        return TENDER_JOURNAL_ROLLED_BACK;
}

int agent_check_store(struct agent *a) {
        struct tender_error err = {0};
        int r = tender_encryption_check(a->cfg->store_root, a->cfg->store_allow_unencrypted, NULL,
                                        &err);
        if (r < 0)
                snprintf(a->staging_refused, sizeof(a->staging_refused), "%s", err.message);
        else
                a->staging_refused[0] = 0;
        return r;
}

static enum tender_journal_state update_step(struct update *u, enum tender_journal_state s) {
        switch (s) {
        case TENDER_JOURNAL_QUEUED:
                if (!u->chunk)
                        return TENDER_JOURNAL_FAILED;
                /* Checked again: the store may have been unlocked since. Apps keep running. */
                if (u->a->staging_refused[0] && agent_check_store(u->a) < 0)
                        return fail(u, "%s %s: refused to stage: %s", u->rec->app, u->rec->version,
                                    u->a->staging_refused);
                return TENDER_JOURNAL_VERIFYING;
        case TENDER_JOURNAL_VERIFYING:
                return step_verify(u);
        case TENDER_JOURNAL_DOWNLOADING:
                return step_download(u);
        case TENDER_JOURNAL_STAGING:
                return step_stage(u);
        case TENDER_JOURNAL_SWAPPING:
                return step_swap(u);
        case TENDER_JOURNAL_TESTING:
                return step_health(u);
        case TENDER_JOURNAL_ROLLING_BACK:
                return step_rollback(u);
        default:
                return s;
        }
}

static struct {
        int state; /* -1: no crash point */
        unsigned nth, seen;
        char name[32]; /* a named kill point (update_crash_named), or empty */
} crash = {.state = -1};

static bool crash_named_point(const char *name) {
        static const char *const names[] = {"migrate-begin", "migrate-file", "migrate-end"};
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (STREQ(name, names[i]))
                        return true;
        return false;
}

void update_crash_init(void) {
        const char *v = getenv("TENDER_TEST_CRASH_AT");
        char name[32];
        unsigned nth = 1;
        enum tender_journal_state s;

        if (!v || !*v)
                return;
        if (sscanf(v, "%31[a-z-]:%u", name, &nth) < 1 || nth == 0 ||
            (tender_journal_state_from_name(name, &s) < 0 && !crash_named_point(name))) {
                log_warning("TENDER_TEST_CRASH_AT=%s: expected <state>[:<n>]; ignored", v);
                return;
        }
        if (crash_named_point(name))
                snprintf(crash.name, sizeof(crash.name), "%s", name);
        else
                crash.state = (int) s;
        crash.nth = nth;
        log_warning("Test hook: tenderd kills itself after journaling \"%s\" #%u", name, nth);
}

static void crash_point(enum tender_journal_state s) {
        if (crash.state != (int) s || ++crash.seen != crash.nth)
                return;
        /* SIGKILL, like a power cut for the process: no atexit, no buffers flushed. */
        kill(getpid(), SIGKILL);
}

void update_crash_named(const char *name) {
        if (!crash.name[0] || !STREQ(crash.name, name) || ++crash.seen != crash.nth)
                return;
        kill(getpid(), SIGKILL);
}

/* Journals the transition into s, before its effects. */
static int transition(struct update *u, enum tender_journal_state s) {
        struct tender_journal_record *rec = u->rec;
        rec->state = s;
        /* From the swap to the end the containers are the update's (control_transfer_tick). */
        u->a->swapping = s >= TENDER_JOURNAL_SWAPPING && !tender_journal_state_is_final(s);
        free(rec->message);
        rec->message = u->message[0] ? strdup(u->message) : NULL;
        if (s == TENDER_JOURNAL_COMMITTED)
                rec->result = rec->chunk + 1 >= rec->n_chunks ? TENDER_JOURNAL_RESULT_SUCCESS
                                                              : TENDER_JOURNAL_RESULT_NONE;
        else if (tender_journal_state_is_final(s))
                rec->result = TENDER_JOURNAL_RESULT_FAILURE;
        else /* rolling back after a failed commit: not a success any more */
                rec->result = TENDER_JOURNAL_RESULT_NONE;
        u->log.state = tender_journal_state_name(s);
        report_emit(&(struct report_event){.kind = REPORT_STATE,
                                           .app = rec->app,
                                           .version = rec->version,
                                           .action_id = rec->action_id,
                                           .deployment_base = rec->deployment_base,
                                           .state = tender_journal_state_name(s),
                                           .log = &u->log});
        control_watchdog_ping();
        int r = tender_journal_write(tender_store_root_fd(u->a->store), rec);
        if (r < 0)
                tender_log(LOG_ERR, &u->log, "Failed to write the journal: %s", strerror(-r));
        crash_point(s);
        return r;
}

/* A step that failed only because tenderd is stopping (its transfer was cut short): not a
 * failure of the update, which stays journaled where it was, like after a power cut. */
static bool stopped(const struct update *u) {
        if (!control_stop_signal() || u->error.errnum != ECANCELED)
                return false;
        tender_log(LOG_NOTICE, &u->log, "Stopping: the update resumes at the next start");
        return true;
}

enum tender_journal_state update_run(struct agent *a, struct tender_journal_record *rec,
                                     const struct tender_ddi_chunk *chunk,
                                     enum tender_journal_state s) {
        struct update u = {
                .a = a,
                .rec = rec,
                .chunk = chunk,
                .notify_fd = -1,
                .log = {.app = rec->app, .version = rec->version, .deployment = rec->action_id},
        };
        if (rec->message)
                snprintf(u.message, sizeof(u.message), "%s", rec->message);
        container_id(rec->app, rec->version, u.id);
        for (;;) {
                /* The swap gate (gate.c): a deferred update stays staged (journal at staging);
                 * the main loop looks again and the deployment runs once more from the start
                 * when the gate opens. */
                if (s == TENDER_JOURNAL_SWAPPING) {
                        if (gate_defer(a, rec, a->deployment, &u.log) > 0) {
                                update_done(&u);
                                return TENDER_JOURNAL_STAGING;
                        }
                        free(rec->gate); /* past the gate: its bookkeeping ends */
                        rec->gate = NULL;
                        rec->app_lock_since = 0;
                }
                if (transition(&u, s) < 0 && s < TENDER_JOURNAL_SWAPPING) {
                        /* Nothing changed on the device yet; without a journal, do not start. */
                        s = fail(&u, "%s %s: cannot write the journal", rec->app, rec->version);
                        transition(&u, s);
                }
                if (tender_journal_state_is_final(s))
                        break;
                s = update_step(&u, s);
                if (s == TENDER_JOURNAL_FAILED && stopped(&u)) {
                        update_done(&u);
                        return rec->state; /* as journaled: it resumes at the next start */
                }
        }
        if (s == TENDER_JOURNAL_COMMITTED && commit(&u) < 0) {
                /* The store did not take the release as current, so the next start would run the
                 * previous one: go back to it now, so that what runs is what the store says. The
                 * release passed its gate: it is not marked bad (journaled with the rollback, so
                 * that a replay after a crash does not mark it either). */
                snprintf(u.message, sizeof(u.message), "%s %s: commit failed: %s", rec->app,
                         rec->version, u.error.message);
                rec->commit_failed = true;
                for (s = TENDER_JOURNAL_ROLLING_BACK;; s = update_step(&u, s)) {
                        transition(&u, s);
                        if (tender_journal_state_is_final(s))
                                break;
                }
        }
        if (s == TENDER_JOURNAL_ROLLED_BACK || s == TENDER_JOURNAL_FAILED)
                /* A failed release is final (a rolled-back one is marked bad): its files can go. */
                gc(&u);
        report_emit(&(struct report_event){
                .kind = REPORT_OUTCOME,
                .app = rec->app,
                .version = rec->version,
                .action_id = rec->action_id,
                .deployment_base = rec->deployment_base,
                .state = tender_journal_state_name(s),
                .detail = u.message,
                .success = s == TENDER_JOURNAL_COMMITTED ||
                           (s == TENDER_JOURNAL_ROLLED_BACK && rec->by_operator),
                .log = &u.log});
        update_done(&u);
        return s;
}

/* The server lost (or we did not get to) the final feedback of an action already handled. */
static int resend_final(struct agent *a, const char *base, const char *action_id) {
        _cleanup_free_ char *json = NULL;
        struct tender_error err = {0};
        int r = tender_store_last_feedback_get(a->store, &json);
        if (r < 0) {
                log_warning("Action %s was handled but its feedback is lost", action_id);
                return 0;
        }
        log_info("Action %s was already handled; sending its final feedback again", action_id);
        r = report_emit(&(struct report_event){.kind = REPORT_FINAL,
                                               .action_id = action_id,
                                               .deployment_base = base,
                                               .feedback_json = json,
                                               .err = &err});
        if (r < 0)
                log_error("Failed to send feedback for action %s: %s", action_id, err.message);
        return r;
}

int update_report_final(struct agent *a, const struct tender_journal_record *rec) {
        const char *details[TENDER_JOURNAL_MAX_DETAILS + 2] = {0};
        _cleanup_free_ char *json = NULL;
        struct tender_error err = {0};
        size_t n = 0;
        int r;

        for (; rec->details && rec->details[n] && n < TENDER_JOURNAL_MAX_DETAILS; n++)
                details[n] = rec->details[n];
        if (rec->message)
                details[n++] = rec->message;
        struct tender_ddi_feedback f = {
                .action_id = rec->action_id,
                .execution = TENDER_DDI_CLOSED,
                .finished = rec->result == TENDER_JOURNAL_RESULT_SUCCESS ? TENDER_DDI_SUCCESS
                                                                         : TENDER_DDI_FAILURE,
                .details = details,
        };
        r = tender_ddi_feedback_json(&f, &json);
        if (r < 0)
                return r;
        cancel_reject_pending(a, rec);
        r = report_emit(&(struct report_event){.kind = REPORT_FINAL,
                                               .app = rec->app,
                                               .version = rec->version,
                                               .action_id = rec->action_id,
                                               .deployment_base = rec->deployment_base,
                                               .feedback_json = json,
                                               .success = f.finished == TENDER_DDI_SUCCESS,
                                               .err = &err});
        if (r == -EHOSTUNREACH || r == -ETIMEDOUT || r == -EACCES || r == -ENOMEM ||
            r == -ECANCELED) {
                log_warning("Failed to send the final feedback of action %s, will retry: %s",
                            rec->action_id, err.message);
                return r;
        }
        if (r < 0)
                log_warning("The server refused the final feedback of action %s, dropping it: %s",
                            rec->action_id, err.message);
        else if (tender_store_last_feedback_set(a->store, json) < 0 ||
                 tender_store_last_action_set(a->store, rec->action_id) < 0)
                log_warning("Failed to record action %s as handled", rec->action_id);
        r = tender_journal_remove(tender_store_root_fd(a->store), rec->action_id);
        if (r < 0)
                log_warning("Failed to remove the journal record of action %s: %s", rec->action_id,
                            strerror(-r));
        return 0;
}

static int set_chunk(struct tender_journal_record *rec, const struct tender_ddi_deployment *d,
                     size_t i) {
        free(rec->app);
        free(rec->version);
        free(rec->previous);
        free(rec->message);
        rec->app = strdup(d->chunks[i].name);
        rec->version = strdup(d->chunks[i].version);
        rec->previous = rec->message = NULL;
        /* The gate's bookkeeping belongs to the staged chunk it deferred: it goes on when
         * that chunk runs again, and is dropped for another one. */
        if (rec->chunk != i) {
                free(rec->gate);
                rec->gate = NULL;
                rec->app_lock_since = 0;
        }
        rec->chunk = i;
        rec->commit_failed = false;
        rec->state = TENDER_JOURNAL_QUEUED;
        rec->result = TENDER_JOURNAL_RESULT_NONE;
        return rec->app && rec->version ? 0 : -ENOMEM;
}

/* Appends the finished chunk's message to the details of the final feedback. */
static int push_detail(struct tender_journal_record *rec) {
        size_t n = tender_strv_length(rec->details);
        if (n >= TENDER_JOURNAL_MAX_DETAILS || !rec->message)
                return 0;
        char **v = realloc(rec->details, (n + 2) * sizeof(char *));
        if (!v)
                return -ENOMEM;
        rec->details = v;
        v[n] = TAKE_PTR(rec->message);
        v[n + 1] = NULL;
        return 0;
}

/* The journal record to continue with: the stored one when it belongs to the same deployment,
 * else a fresh one at chunk 0. *ret_first is the chunk to run next. */
static int load_record(struct agent *a, const struct tender_ddi_deployment *d, const char *base,
                       struct tender_journal_record **ret, size_t *ret_first) {
        _cleanup_(tender_journal_record_freep) struct tender_journal_record *rec = NULL;
        struct tender_error err = {0};
        size_t first = 0;

        int r = tender_journal_read(tender_store_root_fd(a->store), d->id, &rec, &err);
        if (r < 0 && r != -ENOENT)
                log_warning("Ignoring the journal record of action %s: %s", d->id, err.message);
        if (rec && (rec->n_chunks != d->n_chunks || rec->chunk >= d->n_chunks ||
                    !STREQ(rec->app, d->chunks[rec->chunk].name) ||
                    !STREQ(rec->version, d->chunks[rec->chunk].version))) {
                log_warning("Action %s changed since it was journaled; starting it over", d->id);
                tender_journal_record_free(TAKE_PTR(rec));
        }
        if (rec) {
                first = (size_t) rec->chunk;
                log_notice("Action %s: resuming %s %s after \"%s\"", d->id, rec->app, rec->version,
                           tender_journal_state_name(rec->state));
                if (rec->state == TENDER_JOURNAL_COMMITTED) {
                        if (push_detail(rec) < 0)
                                return -ENOMEM;
                        first++;
                }
        } else {
                rec = calloc(1, sizeof(*rec));
                if (!rec || !(rec->action_id = strdup(d->id)))
                        return -ENOMEM;
                rec->n_chunks = d->n_chunks;
        }
        free(rec->deployment_base);
        rec->deployment_base = strdup(base);
        if (!rec->deployment_base)
                return -ENOMEM;
        *ret = TAKE_PTR(rec);
        *ret_first = first;
        return 0;
}

/* A deploymentBase tenderd cannot use, whose action id is known: closed with failure and
 * the reason (naming the JSON path), so that the action does not stay open on the server. */
static void report_unusable(struct agent *a, const char *base, const char *id, const char *why) {
        _cleanup_free_ char *json = NULL, *last = NULL;
        struct tender_error err = {0};
        char detail[TENDER_DDI_DETAIL_MAX];
        const char *details[] = {detail, NULL};
        struct tender_ddi_feedback f = {.action_id = id,
                                        .execution = TENDER_DDI_CLOSED,
                                        .finished = TENDER_DDI_FAILURE,
                                        .details = details};

        if (!tender_journal_id_valid(id))
                return;
        if (tender_store_last_action_get(a->store, &last) >= 0 && STREQ(last, id)) {
                (void) resend_final(a, base, id);
                return;
        }
        snprintf(detail, sizeof(detail), "tenderd cannot use this deployment: %s", why);
        if (tender_ddi_feedback_json(&f, &json) < 0)
                return;
        if (report_emit(&(struct report_event){.kind = REPORT_FINAL,
                                               .action_id = id,
                                               .deployment_base = base,
                                               .feedback_json = json,
                                               .err = &err}) < 0) {
                log_warning("Failed to report the unusable action %s: %s", id, err.message);
                return;
        }
        log_notice("Action %s reported as failed: the device cannot use it", id);
        if (tender_store_last_feedback_set(a->store, json) < 0 ||
            tender_store_last_action_set(a->store, id) < 0)
                log_warning("Failed to record action %s as handled", id);
}

int update_handle(struct agent *a, const char *base) {
        _cleanup_(tender_ddi_deployment_freep) struct tender_ddi_deployment *d = NULL;
        _cleanup_(tender_journal_record_freep) struct tender_journal_record *rec = NULL;
        _cleanup_free_ char *last = NULL, *bad_id = NULL;
        struct tender_error err = {0};
        size_t first = 0;
        int r;

        r = ddi_fetch_deployment(&a->ddi, base, &d, &bad_id, &err);
        if (r < 0) {
                log_error("Failed to fetch deployment %s: %s", base, err.message);
                if (bad_id)
                        report_unusable(a, base, bad_id, err.message);
                return r;
        }
        if (tender_store_last_action_get(a->store, &last) >= 0 && STREQ(last, d->id))
                return resend_final(a, base, d->id);
        agent_forget_stale(a, d->id);
        if (!tender_journal_id_valid(d->id) || d->n_chunks == 0) {
                log_error("Action \"%s\": unusable id or no chunks; ignored", d->id);
                return -EINVAL;
        }
        r = load_record(a, d, base, &rec, &first);
        if (r < 0)
                return r;
        if (rec->result != TENDER_JOURNAL_RESULT_NONE)
                return update_report_final(a, rec);
        if (first == 0 && rec->state == TENDER_JOURNAL_QUEUED && d->download == TENDER_DDI_SKIP) {
                log_info("Action %s: the server says skip the download for now", d->id);
                return 0;
        }
        /* Deferred at an earlier poll and still gated: wait quietly (gate.c reports a new
         * reason only). Running it again would send a round of progress feedback per poll,
         * which hawkBit caps per action. */
        if (rec->state == TENDER_JOURNAL_STAGING) {
                struct tender_log_ctx log = {
                        .app = rec->app, .version = rec->version, .deployment = rec->action_id};
                if (gate_defer(a, rec, d, &log) > 0)
                        return 0;
        }
        log_info("Action %s: %zu release(s) offered", d->id, d->n_chunks);

        /* Chunks one after the other; the first failure ends the deployment. */
        for (size_t i = first; i < d->n_chunks; i++) {
                if (set_chunk(rec, d, i) < 0)
                        return -ENOMEM;
                a->deployment = d;
                enum tender_journal_state s =
                        update_run(a, rec, &d->chunks[i], TENDER_JOURNAL_QUEUED);
                a->deployment = NULL;
                if (s == TENDER_JOURNAL_STAGING) /* deferred by the swap gate (gate.c) */
                        return 0;
                if (rec->result != TENDER_JOURNAL_RESULT_NONE)
                        break;
                if (control_stop_signal())
                        return -ECANCELED; /* the journal has the next chunk's start */
                if (push_detail(rec) < 0)
                        return -ENOMEM;
        }
        return update_report_final(a, rec);
}
