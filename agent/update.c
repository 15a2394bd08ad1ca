/* SPDX-License-Identifier: Apache-2.0 */
#include "update.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "tender/extract.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/log.h"

#define RELEASE_FILENAME "release.json"
#define SIGNATURE_FILENAME "release.json.sig"
#define MESSAGE_MAX (2 * TENDER_ERROR_MESSAGE_MAX)

enum update_state {
        UPDATE_VERIFYING,
        UPDATE_DOWNLOADING,
        UPDATE_STAGING,
        UPDATE_SWAPPING,
        UPDATE_HEALTH_CHECK,
        UPDATE_COMMITTING,
        UPDATE_ROLLING_BACK,
        UPDATE_SUCCEEDED, /* final */
        UPDATE_FAILED,    /* final */
};

static const char *const state_names[] = {
        [UPDATE_VERIFYING] = "verifying",
        [UPDATE_DOWNLOADING] = "downloading",
        [UPDATE_STAGING] = "staging",
        [UPDATE_SWAPPING] = "swapping",
        [UPDATE_HEALTH_CHECK] = "health-check",
        [UPDATE_COMMITTING] = "committing",
        [UPDATE_ROLLING_BACK] = "rolling-back",
        [UPDATE_SUCCEEDED] = "succeeded",
        [UPDATE_FAILED] = "failed",
};

/* One chunk (one app release) of a deployment. */
struct update {
        struct agent *a;
        const char *deployment_base;
        const char *action_id;
        const struct tender_ddi_chunk *chunk;
        enum update_state state;

        char *manifest_data, *sig_data;
        size_t manifest_len, sig_len;
        struct tender_release_manifest *m;
        char *old_version; /* current release before the swap, NULL if none */
        char id[CONTAINER_ID_MAX];

        struct tender_error error;
        char message[MESSAGE_MAX]; /* the final feedback's detail */
        struct tender_log_ctx log;
};

static void update_done(struct update *u) {
        free(u->manifest_data);
        free(u->sig_data);
        free(u->old_version);
        tender_manifest_free(u->m);
}

static void send_progress(struct update *u, const char *what, bool has_progress, uint64_t cnt,
                          uint64_t of) {
        _cleanup_free_ char *json = NULL;
        struct tender_error err = {0};
        const char *details[] = {what, NULL};
        struct tender_ddi_feedback f = {
                .action_id = u->action_id,
                .execution = TENDER_DDI_PROCEEDING,
                .finished = TENDER_DDI_NONE,
                .has_progress = has_progress,
                .progress_cnt = cnt,
                .progress_of = of,
                .details = details,
        };
        if (tender_ddi_feedback_json(&f, &json) < 0)
                return;
        /* Intermediate feedback is informative: losing one must not stop the update. */
        if (ddi_send_feedback_json(&u->a->ddi, u->deployment_base, json, &err) < 0)
                tender_log(LOG_WARNING, &u->log, "Failed to send feedback \"%s\": %s", what,
                           err.message);
}

static enum update_state fail(struct update *u, const char *fmt, ...) _printf_(2, 3);
static enum update_state fail(struct update *u, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(u->message, sizeof(u->message), fmt, ap);
        va_end(ap);
        tender_log(LOG_ERR, &u->log, "%s", u->message);
        return UPDATE_FAILED;
}

static int fetch_artifact(struct update *u, const char *filename, size_t max, char **ret,
                          size_t *ret_len) {
        const struct tender_ddi_artifact *art = tender_ddi_chunk_artifact(u->chunk, filename);
        if (!art || !art->url)
                return tender_error_set(&u->error, TENDER_ERR_SERVER, ENOENT,
                                        "the deployment offers no %s", filename);
        return tender_http_get(u->a->ddi.http, art->url, max, ret, ret_len, &u->error);
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

static enum update_state step_verify(struct update *u) {
        const char *name = u->chunk->name, *version = u->chunk->version;
        uint64_t committed = 0;

        send_progress(u, "verifying", false, 0, 0);
        if (fetch_artifact(u, RELEASE_FILENAME, TENDER_MANIFEST_MAX_SIZE, &u->manifest_data,
                           &u->manifest_len) < 0 ||
            fetch_artifact(u, SIGNATURE_FILENAME, TENDER_SIGNATURE_MAX_SIZE, &u->sig_data,
                           &u->sig_len) < 0)
                return fail(u, "%s %s: %s", name, version, u->error.message);
        /* The signature is checked before a single byte of the manifest is parsed. */
        if (tender_verifier_check(u->a->verifier, u->manifest_data, u->manifest_len, u->sig_data,
                                  u->sig_len, &u->error) < 0)
                return fail(u, "%s %s: %s", name, version, u->error.message);
        if (tender_manifest_parse(u->manifest_data, u->manifest_len, &u->m, &u->error) < 0)
                return fail(u, "%s %s: release manifest: %s", name, version, u->error.message);
        if (!STREQ(u->m->app, name) || !STREQ(u->m->version, version))
                return fail(u, "%s %s: the signed manifest is for %s %s", name, version, u->m->app,
                            u->m->version);
        if (tender_store_get_current(u->a->store, name, &u->old_version) >= 0 &&
            STREQ(u->old_version, version) && same_as_stored(u)) {
                snprintf(u->message, sizeof(u->message), "%s %s is already the current release",
                         name, version);
                return UPDATE_SUCCEEDED;
        }
        if (tender_store_is_bad(u->a->store, name, version))
                return fail(u, "%s %s failed its health check before; not retried", name, version);
        if (!counter_allowed(u)) {
                tender_store_counter_get(u->a->store, name, &committed);
                return fail(u, "%s %s: release counter %llu is lower than the committed %llu", name,
                            version, (unsigned long long) u->m->release_counter,
                            (unsigned long long) committed);
        }
        tender_log(LOG_INFO, &u->log, "Release manifest verified (counter %llu, %zu layers)",
                   (unsigned long long) u->m->release_counter, u->m->n_layers);
        return UPDATE_DOWNLOADING;
}

static int fetch_layer(struct update *u, const struct tender_layer *l) {
        struct tender_store *store = u->a->store;
        char digest[TENDER_DIGEST_STRING_MAX], hex[65];
        _cleanup_free_ char *tmp = NULL, *path = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        tender_digest_format(&l->digest, digest);
        tender_digest_hex(&l->digest, hex);
        fd = tender_store_blob_open(store, &l->digest);
        if (fd == -ENOENT) {
                /* URL from the server; size and digest only from the signed manifest. */
                const struct tender_ddi_artifact *art = tender_ddi_chunk_artifact(u->chunk, digest);
                if (!art || !art->url)
                        return tender_error_set(&u->error, TENDER_ERR_SERVER, ENOENT,
                                                "the deployment offers no artifact %s", digest);
                struct tender_download d = {.url = art->url, .digest = l->digest, .size = l->size};
                tender_log(LOG_INFO, &u->log, "Downloading blob %s (%llu bytes)", digest,
                           (unsigned long long) l->size);
                r = tender_http_download(u->a->ddi.http, &d, tender_store_blobs_fd(store), hex,
                                         &u->error);
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
        r = tender_layer_extract(fd, path, l, &u->error);
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

static enum update_state step_download(struct update *u) {
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
        return UPDATE_STAGING;
}

static enum update_state step_stage(struct update *u) {
        send_progress(u, "staging", false, 0, 0);
        if (tender_store_release_prepare(u->a->store, u->m->app, u->m->version, u->manifest_data,
                                         u->manifest_len, u->sig_data, u->sig_len, &u->error) < 0 ||
            container_write_config(u->a->store, u->m, &u->error) < 0)
                return fail(u, "%s %s: %s", u->m->app, u->m->version, u->error.message);
        return UPDATE_SWAPPING;
}

static enum update_state step_swap(struct update *u) {
        free(u->old_version);
        u->old_version = NULL;
        int r = tender_store_get_current(u->a->store, u->m->app, &u->old_version);
        if (r < 0 && r != -ENOENT)
                return fail(u, "%s: cannot read its current release: %s", u->m->app, strerror(-r));
        if (u->old_version) {
                _cleanup_(tender_manifest_freep) struct tender_release_manifest *old = NULL;
                uint64_t timeout = 10;
                if (tender_store_release_manifest(u->a->store, u->m->app, u->old_version, &old,
                                                  NULL) >= 0)
                        timeout = old->stop_timeout_sec;
                tender_log(LOG_INFO, &u->log, "Stopping %s %s", u->m->app, u->old_version);
                if (container_stop(&u->a->runtime, u->a->store, u->m->app, u->old_version, timeout,
                                   &u->error) < 0) {
                        snprintf(u->message, sizeof(u->message), "%s %s: failed to stop %s: %s",
                                 u->m->app, u->m->version, u->old_version, u->error.message);
                        return UPDATE_ROLLING_BACK;
                }
        }
        tender_log(LOG_INFO, &u->log, "Starting container %s", u->id);
        if (container_start(&u->a->runtime, u->a->store, u->m, &u->error) < 0) {
                snprintf(u->message, sizeof(u->message), "%s %s failed to start: %s", u->m->app,
                         u->m->version, u->error.message);
                return UPDATE_ROLLING_BACK;
        }
        return UPDATE_HEALTH_CHECK;
}

static enum update_state step_health(struct update *u) {
        if (health_gate(&u->a->runtime, u->id, u->m->health_window_sec, &u->error) < 0) {
                snprintf(u->message, sizeof(u->message), "%s %s failed its health check: %s",
                         u->m->app, u->m->version, u->error.message);
                return UPDATE_ROLLING_BACK;
        }
        return UPDATE_COMMITTING;
}

static enum update_state step_commit(struct update *u) {
        uint64_t committed = 0;
        struct tender_error err = {0};
        int r;

        r = tender_store_set_current(u->a->store, u->m->app, u->m->version);
        if (r >= 0)
                r = tender_store_counter_get(u->a->store, u->m->app, &committed);
        if (r >= 0 && u->m->release_counter > committed)
                r = tender_store_counter_set(u->a->store, u->m->app, u->m->release_counter);
        if (r < 0) {
                /* The new release runs but the store could not record it: report, it is still
                 * the running one; the next start picks whatever current says. */
                return fail(u, "%s %s: commit failed: %s", u->m->app, u->m->version, strerror(-r));
        }
        r = tender_store_gc(u->a->store, &err);
        if (r < 0)
                tender_log(LOG_WARNING, &u->log, "Store cleanup failed: %s", err.message);
        else
                tender_log(LOG_INFO, &u->log, "Committed; %d old entries removed", r);
        snprintf(u->message, sizeof(u->message), "%s %s running and healthy for %llu s", u->m->app,
                 u->m->version, (unsigned long long) u->m->health_window_sec);
        return UPDATE_SUCCEEDED;
}

static enum update_state step_rollback(struct update *u) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *old = NULL;
        struct tender_error err = {0};
        char old_id[CONTAINER_ID_MAX];
        size_t n = strlen(u->message);

        tender_log(LOG_ERR, &u->log, "%s", u->message);
        if (container_stop(&u->a->runtime, u->a->store, u->m->app, u->m->version, 0, &err) < 0)
                tender_log(LOG_WARNING, &u->log, "Failed to remove %s: %s", u->id, err.message);
        if (tender_store_mark_bad(u->a->store, u->m->app, u->m->version) < 0)
                tender_log(LOG_WARNING, &u->log, "Failed to mark %s bad", u->id);
        if (!u->old_version) {
                snprintf(u->message + n, sizeof(u->message) - n, "; no previous release to run");
                return UPDATE_FAILED;
        }
        container_id(u->m->app, u->old_version, old_id);
        if (tender_store_release_manifest(u->a->store, u->m->app, u->old_version, &old, &err) < 0 ||
            container_start(&u->a->runtime, u->a->store, old, &err) < 0 ||
            health_gate(&u->a->runtime, old_id, old->health_window_sec, &err) < 0) {
                snprintf(u->message + n, sizeof(u->message) - n, "; rollback to %s failed: %s",
                         u->old_version, err.message);
                return UPDATE_FAILED;
        }
        snprintf(u->message + n, sizeof(u->message) - n, "; rolled back to %s", u->old_version);
        /* The failed release is marked bad and never retried: its files can go now. */
        if (tender_store_gc(u->a->store, &err) < 0)
                tender_log(LOG_WARNING, &u->log, "Store cleanup failed: %s", err.message);
        return UPDATE_FAILED;
}

static enum update_state update_step(struct update *u) {
        switch (u->state) {
        case UPDATE_VERIFYING:
                return step_verify(u);
        case UPDATE_DOWNLOADING:
                return step_download(u);
        case UPDATE_STAGING:
                return step_stage(u);
        case UPDATE_SWAPPING:
                return step_swap(u);
        case UPDATE_HEALTH_CHECK:
                return step_health(u);
        case UPDATE_COMMITTING:
                return step_commit(u);
        case UPDATE_ROLLING_BACK:
                return step_rollback(u);
        default:
                return u->state;
        }
}

/* Runs one chunk to a final state; its message goes to the final feedback. */
static bool update_chunk(struct agent *a, const char *base, const char *action_id,
                         const struct tender_ddi_chunk *chunk, char *message, size_t size) {
        struct update u = {
                .a = a,
                .deployment_base = base,
                .action_id = action_id,
                .chunk = chunk,
                .state = UPDATE_VERIFYING,
                .log = {.app = chunk->name, .version = chunk->version, .deployment = action_id},
        };
        container_id(chunk->name, chunk->version, u.id);
        while (u.state != UPDATE_SUCCEEDED && u.state != UPDATE_FAILED) {
                u.log.state = state_names[u.state];
                tender_log(LOG_INFO, &u.log, "Update step: %s", state_names[u.state]);
                /* Each transition is where a journal record will be written. */
                u.state = update_step(&u);
        }
        u.log.state = state_names[u.state];
        tender_log(u.state == UPDATE_SUCCEEDED ? LOG_NOTICE : LOG_ERR, &u.log, "%s", u.message);
        snprintf(message, size, "%s", u.message);
        bool ok = u.state == UPDATE_SUCCEEDED;
        update_done(&u);
        return ok;
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
        r = ddi_send_feedback_json(&a->ddi, base, json, &err);
        if (r < 0)
                log_error("Failed to send feedback for action %s: %s", action_id, err.message);
        return r;
}

int update_handle(struct agent *a, const char *base) {
        _cleanup_(tender_ddi_deployment_freep) struct tender_ddi_deployment *d = NULL;
        _cleanup_free_ char *last = NULL, *json = NULL;
        struct tender_error err = {0};
        char messages[TENDER_DDI_MAX_CHUNKS][MESSAGE_MAX];
        const char *details[TENDER_DDI_MAX_CHUNKS + 1] = {0};
        bool ok = true;
        int r;

        r = ddi_get_deployment(&a->ddi, base, &d, &err);
        if (r < 0) {
                log_error("Failed to fetch deployment %s: %s", base, err.message);
                return r;
        }
        if (tender_store_last_action_get(a->store, &last) >= 0 && STREQ(last, d->id))
                return resend_final(a, base, d->id);
        if (d->update == TENDER_DDI_SKIP || d->download == TENDER_DDI_SKIP) {
                log_info("Action %s: the server says skip for now", d->id);
                return 0;
        }
        log_info("Action %s: %zu release(s) offered", d->id, d->n_chunks);

        /* Chunks one after the other; the first failure ends the deployment. */
        size_t n = 0;
        for (; n < d->n_chunks && ok; n++) {
                ok = update_chunk(a, base, d->id, &d->chunks[n], messages[n], sizeof(messages[n]));
                details[n] = messages[n];
        }
        struct tender_ddi_feedback f = {
                .action_id = d->id,
                .execution = TENDER_DDI_CLOSED,
                .finished = ok ? TENDER_DDI_SUCCESS : TENDER_DDI_FAILURE,
                .details = details,
        };
        r = tender_ddi_feedback_json(&f, &json);
        if (r < 0)
                return r;
        r = ddi_send_feedback_json(&a->ddi, base, json, &err);
        if (r < 0) {
                log_error("Failed to send the final feedback of action %s: %s", d->id, err.message);
                return r;
        }
        if (tender_store_last_feedback_set(a->store, json) < 0 ||
            tender_store_last_action_set(a->store, d->id) < 0)
                log_warning("Failed to record action %s as handled", d->id);
        return 0;
}

int agent_recover(struct agent *a) {
        char **apps = NULL;
        int r = tender_store_list_apps(a->store, &apps);
        if (r < 0)
                return r;
        for (size_t i = 0; apps[i]; i++) {
                _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
                _cleanup_free_ char *cur = NULL;
                struct tender_error err = {0};
                struct container_state st;
                char id[CONTAINER_ID_MAX];

                if (tender_store_get_current(a->store, apps[i], &cur) < 0)
                        continue;
                struct tender_log_ctx ctx = {.app = apps[i], .version = cur, .state = "recover"};
                container_id(apps[i], cur, id);
                if (container_state(&a->runtime, id, &st, &err) >= 0 &&
                    st.status == CONTAINER_RUNNING)
                        continue;
                tender_log(LOG_NOTICE, &ctx, "Container %s is not running, starting it", id);
                if (tender_store_release_manifest(a->store, apps[i], cur, &m, &err) < 0 ||
                    container_start(&a->runtime, a->store, m, &err) < 0)
                        tender_log(LOG_ERR, &ctx, "Failed to start %s: %s", id, err.message);
        }
        tender_strv_free(apps);
        return 0;
}
