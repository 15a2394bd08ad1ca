/* SPDX-License-Identifier: Apache-2.0 */
#include "report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "control.h"
#include "notify.h"
#include "tender/manifest.h"
#include "update.h"

/* configData attributes (docs/mqtt.md, "DDI configData"): hawkBit keeps at most 128 characters
 * in a key and in a value; server-mock at most 256 attributes a target. Two per app. */
#define ATTR_VALUE_MAX 128
#define ATTR_APPS_MAX 100
#define ATTRS_MAX (2 + 2 * ATTR_APPS_MAX)

static struct {
        pthread_mutex_t mutex; /* sinks and transfer */
        struct agent *a;
        struct {
                report_sink_fn fn;
                void *userdata;
        } sinks[REPORT_SINKS_MAX];
        size_t n_sinks;
        struct {
                char what[80];
                uint64_t done, total;
        } transfer;
        struct {
                char app[REPORT_NAME_MAX], version[REPORT_NAME_MAX], state[32];
        } update;            /* app[0] == 0: none */
        uint64_t generation; /* report_generation */
        struct {
                char *href; /* the poll's configData link, NULL: <controller>/configData */
                char *sent; /* the body last accepted by the server */
                bool requested, failed;
        } attrs;
} rep = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static const char *const kind_names[_REPORT_KIND_MAX] = {
        [REPORT_STATE] = "state",   [REPORT_PROGRESS] = "progress", [REPORT_NOTE] = "note",
        [REPORT_HEALTH] = "health", [REPORT_OUTCOME] = "outcome",   [REPORT_IDLE] = "idle",
        [REPORT_STATUS] = "status", [REPORT_FINAL] = "final",       [REPORT_CANCEL] = "cancel",
};

const char *report_kind_name(enum report_kind k) {
        return k < _REPORT_KIND_MAX ? kind_names[k] : "unknown";
}

void report_init(struct agent *a) {
        pthread_mutex_lock(&rep.mutex);
        rep.a = a;
        pthread_mutex_unlock(&rep.mutex);
}

int report_add_sink(report_sink_fn fn, void *userdata) {
        int r = -ENOSPC;
        pthread_mutex_lock(&rep.mutex);
        if (rep.n_sinks < REPORT_SINKS_MAX) {
                rep.sinks[rep.n_sinks].fn = fn;
                rep.sinks[rep.n_sinks++].userdata = userdata;
                r = 0;
        }
        pthread_mutex_unlock(&rep.mutex);
        return r;
}

void report_clear_sinks(void) {
        pthread_mutex_lock(&rep.mutex);
        rep.n_sinks = 0;
        pthread_mutex_unlock(&rep.mutex);
}

static const char *str(const char *s) {
        return s ? s : "";
}

/* The journal (and stderr): what the engine does, with the update's context. */
static void sink_log(const struct report_event *e) {
        switch (e->kind) {
        case REPORT_STATE:
                tender_log(LOG_INFO, e->log, "Update state: %s", str(e->state));
                break;
        case REPORT_NOTE:
                if (e->detail && !e->again)
                        tender_log(LOG_NOTICE, e->log, "Swap deferred: %s", e->detail);
                break;
        case REPORT_HEALTH:
                tender_log(e->healthy ? LOG_NOTICE : LOG_WARNING, e->log, "%s %s: %s: %s",
                           str(e->app), str(e->version), e->healthy ? "healthy" : "unhealthy",
                           str(e->detail));
                break;
        case REPORT_OUTCOME:
                tender_log(e->success ? LOG_NOTICE : LOG_ERR, e->log, "%s", str(e->detail));
                break;
        default:
                break;
        }
}

/* sd_notify STATUS=: the service manager's one-line view (escaped by notify_status). */
static void sink_notify(const struct report_event *e) {
        switch (e->kind) {
        case REPORT_STATE:
                notify_status(false, "%s %s: %s (action %s)", str(e->app), str(e->version),
                              str(e->state), str(e->action_id));
                break;
        case REPORT_NOTE:
                if (e->detail)
                        notify_status(false, "%s %s: swap deferred: %s", str(e->app),
                                      str(e->version), e->detail);
                break;
        case REPORT_IDLE:
                notify_status(false, "polling");
                break;
        default:
                break;
        }
}

/* The control socket's snapshot, for tenderctl status. */
static void sink_control(const struct report_event *e) {
        switch (e->kind) {
        case REPORT_STATE:
                control_publish_update(e->app, e->version, e->state, e->action_id);
                break;
        case REPORT_NOTE:
                if (e->detail)
                        control_publish_update(e->app, e->version, "staging", e->action_id);
                control_publish_note(e->detail);
                break;
        case REPORT_IDLE:
                control_publish_update(NULL, NULL, NULL, NULL);
                break;
        default:
                break;
        }
}

/* DDI `proceeding` feedback. Informative: a lost one must not stop the update, the final
 * feedback (REPORT_FINAL, retried from the journal) tells the outcome. */
static void sink_proceeding(struct agent *a, const struct report_event *e) {
        struct tender_error err = {0};
        char detail[TENDER_DDI_DETAIL_MAX];

        if (!e->deployment_base || !e->action_id)
                return;
        if (e->kind == REPORT_NOTE && e->detail && !e->again)
                snprintf(detail, sizeof(detail), "%s %s: downloaded and staged; %s", str(e->app),
                         str(e->version), e->detail);
        else if (e->kind == REPORT_PROGRESS)
                snprintf(detail, sizeof(detail), "%s", str(e->detail));
        else
                return;
        if (ddi_send_proceeding(&a->ddi, e->deployment_base, e->action_id, detail, e->has_progress,
                                e->cnt, e->of, &err) < 0)
                tender_log(LOG_WARNING, e->log, "Failed to send feedback \"%s\": %s", detail,
                           err.message);
}

/* The final `closed` feedback; the caller (update_report_final) keeps the journal record when
 * this fails. */
static int sink_final(struct agent *a, const struct report_event *e) {
        struct tender_error own = {0}, *err = e->err ? e->err : &own;
        if (!e->deployment_base)
                return tender_error_set(err, TENDER_ERR_SERVER, ENOENT, "no URL");
        return ddi_send_feedback_json(&a->ddi, e->deployment_base, e->feedback_json, err);
}

/* "healthy", or "unhealthy: <container status>" (a name from container_status_name). */
static const char *health_value(const cJSON *app, char buf[static ATTR_VALUE_MAX + 1]) {
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(app, "status");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(app, "healthy")))
                return "healthy";
        snprintf(buf, ATTR_VALUE_MAX + 1, "unhealthy: %s",
                 cJSON_IsString(status) && tender_name_valid(status->valuestring)
                         ? status->valuestring
                         : "unknown");
        return buf;
}

/* Attribute buffers: two per app. */
struct attributes {
        struct tender_ddi_attribute attrs[ATTRS_MAX];
        size_t n;
        char keys[ATTR_APPS_MAX][2][REPORT_NAME_MAX + 16];
        char health[ATTR_APPS_MAX][ATTR_VALUE_MAX + 1];
        struct utsname u;
};

/* The attributes from the status document: tender.version, arch, and per app
 * app.<name>.version and app.<name>.health. Names and versions the store holds are valid
 * names (tender_name_valid); anything else is left out rather than sent. */
static void attributes_from(const cJSON *status, struct attributes *t) {
        size_t apps = 0;
        const cJSON *app;
        uname(&t->u);
        t->n = 0;
        t->attrs[t->n++] = (struct tender_ddi_attribute){"tender.version", TENDER_VERSION};
        t->attrs[t->n++] = (struct tender_ddi_attribute){"arch", t->u.machine};
        cJSON_ArrayForEach(app, cJSON_GetObjectItemCaseSensitive(status, "apps")) {
                const cJSON *name = cJSON_GetObjectItemCaseSensitive(app, "name");
                const cJSON *version = cJSON_GetObjectItemCaseSensitive(app, "version");
                if (apps >= ATTR_APPS_MAX || !cJSON_IsString(name) ||
                    !tender_name_valid(name->valuestring))
                        continue;
                char *kv = t->keys[apps][0], *kh = t->keys[apps][1];
                snprintf(kv, sizeof(t->keys[0][0]), "app.%s.version", name->valuestring);
                snprintf(kh, sizeof(t->keys[0][1]), "app.%s.health", name->valuestring);
                if (cJSON_IsString(version) && tender_name_valid(version->valuestring))
                        t->attrs[t->n++] = (struct tender_ddi_attribute){kv, version->valuestring};
                t->attrs[t->n++] =
                        (struct tender_ddi_attribute){kh, health_value(app, t->health[apps])};
                apps++;
        }
}

/* DDI configData: health and versions as target attributes, PUT when they changed since the
 * server last took them, when the server asks for them, or after a failed PUT. Main loop only
 * (status_refresh emits REPORT_STATUS). */
static void sink_attributes(struct agent *a, const struct report_event *e) {
        static struct attributes t; /* main loop only; 30 KB off the stack */
        _cleanup_free_ char *json = NULL, *href = NULL;
        struct tender_error err = {0};
        attributes_from(e->status, &t);
        if (tender_ddi_config_data_json(t.attrs, t.n, &json) < 0)
                return;
        pthread_mutex_lock(&rep.mutex);
        bool send = rep.attrs.requested || rep.attrs.failed || !rep.attrs.sent ||
                    !STREQ(rep.attrs.sent, json);
        href = rep.attrs.href ? strdup(rep.attrs.href) : NULL;
        pthread_mutex_unlock(&rep.mutex);
        if (!send)
                return;
        int r = ddi_send_config_data(&a->ddi, href, t.attrs, t.n, &err);
        if (r < 0)
                log_warning("Failed to send configData (health and versions): %s", err.message);
        else
                log_info("configData sent: %zu attributes (health and versions)", t.n);
        pthread_mutex_lock(&rep.mutex);
        rep.attrs.failed = r < 0;
        if (r >= 0) {
                rep.attrs.requested = false;
                free(rep.attrs.sent);
                rep.attrs.sent = TAKE_PTR(json);
        }
        pthread_mutex_unlock(&rep.mutex);
}

/* The update server's sinks: feedback and configData. Returns REPORT_FINAL's result. */
static int sink_ddi(struct agent *a, const struct report_event *e) {
        struct tender_error own = {0};
        if (e->kind == REPORT_FINAL || e->kind == REPORT_CANCEL) {
                if (!a)
                        return tender_error_set(e->err ? e->err : &own, TENDER_ERR_SERVER, ENOTCONN,
                                                "no update server");
                if (e->kind == REPORT_FINAL)
                        return sink_final(a, e);
                return ddi_send_cancel_feedback(&a->ddi, e->deployment_base, e->action_id,
                                                e->success ? TENDER_DDI_CANCELED
                                                           : TENDER_DDI_REJECTED,
                                                str(e->detail), e->err ? e->err : &own);
        }
        if (!a)
                return 0;
        if (e->kind == REPORT_STATUS)
                sink_attributes(a, e);
        else
                sink_proceeding(a, e);
        return 0;
}

/* The update in flight, for the status documents (mutex held). */
static void track_update(const struct report_event *e) {
        bool in_flight = e->kind == REPORT_STATE && e->app;
        if (e->kind == REPORT_STATE || e->kind == REPORT_OUTCOME || e->kind == REPORT_HEALTH ||
            (e->kind == REPORT_NOTE && !e->again) || (e->kind == REPORT_IDLE && rep.update.app[0]))
                rep.generation++;
        if (e->kind != REPORT_STATE && e->kind != REPORT_OUTCOME && e->kind != REPORT_IDLE)
                return;
        snprintf(rep.update.app, sizeof(rep.update.app), "%s", in_flight ? e->app : "");
        snprintf(rep.update.version, sizeof(rep.update.version), "%s",
                 in_flight ? str(e->version) : "");
        snprintf(rep.update.state, sizeof(rep.update.state), "%s", in_flight ? str(e->state) : "");
}

bool report_update_get(char app[REPORT_NAME_MAX], char version[REPORT_NAME_MAX], char state[32]) {
        pthread_mutex_lock(&rep.mutex);
        bool any = rep.update.app[0] != 0;
        memcpy(app, rep.update.app, REPORT_NAME_MAX);
        memcpy(version, rep.update.version, REPORT_NAME_MAX);
        memcpy(state, rep.update.state, 32);
        pthread_mutex_unlock(&rep.mutex);
        return any;
}

uint64_t report_generation(void) {
        pthread_mutex_lock(&rep.mutex);
        uint64_t g = rep.generation;
        pthread_mutex_unlock(&rep.mutex);
        return g;
}

void report_attributes_requested(const char *href) {
        char *copy = href ? strdup(href) : NULL;
        pthread_mutex_lock(&rep.mutex);
        rep.attrs.requested = true;
        if (copy) {
                free(rep.attrs.href);
                rep.attrs.href = copy;
        }
        pthread_mutex_unlock(&rep.mutex);
}

bool report_attributes_pending(void) {
        pthread_mutex_lock(&rep.mutex);
        bool pending = rep.attrs.requested || rep.attrs.failed;
        pthread_mutex_unlock(&rep.mutex);
        return pending;
}

int report_emit(const struct report_event *e) {
        sink_log(e);
        sink_notify(e);
        sink_control(e);
        /* The sink table is read under the mutex, the sinks run outside it: a sink may take
         * its own locks (MQTT) and must not hold up report_transfer_get. */
        pthread_mutex_lock(&rep.mutex);
        track_update(e);
        struct agent *a = rep.a;
        size_t n = rep.n_sinks;
        typeof(rep.sinks) sinks;
        memcpy(sinks, rep.sinks, sizeof(sinks));
        pthread_mutex_unlock(&rep.mutex);
        int r = sink_ddi(a, e);
        for (size_t i = 0; i < n; i++)
                sinks[i].fn(e, sinks[i].userdata);
        return r;
}

void report_transfer_begin(const char *what, uint64_t total) {
        pthread_mutex_lock(&rep.mutex);
        snprintf(rep.transfer.what, sizeof(rep.transfer.what), "%s", str(what));
        rep.transfer.done = 0;
        rep.transfer.total = total;
        pthread_mutex_unlock(&rep.mutex);
}

void report_transfer(uint64_t done, uint64_t total) {
        pthread_mutex_lock(&rep.mutex);
        rep.transfer.done = done;
        rep.transfer.total = total;
        pthread_mutex_unlock(&rep.mutex);
}

void report_transfer_end(void) {
        pthread_mutex_lock(&rep.mutex);
        rep.transfer.what[0] = '\0';
        rep.transfer.done = rep.transfer.total = 0;
        pthread_mutex_unlock(&rep.mutex);
}

bool report_transfer_get(char *what, size_t size, uint64_t *done, uint64_t *total) {
        pthread_mutex_lock(&rep.mutex);
        bool any = rep.transfer.done != 0 || rep.transfer.total != 0;
        snprintf(what, size, "%s", rep.transfer.what);
        *done = rep.transfer.done;
        *total = rep.transfer.total;
        pthread_mutex_unlock(&rep.mutex);
        return any;
}
