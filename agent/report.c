/* SPDX-License-Identifier: Apache-2.0 */
#include "report.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "control.h"
#include "notify.h"
#include "update.h"

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
        } update; /* app[0] == 0: none */
} rep = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static const char *const kind_names[_REPORT_KIND_MAX] = {
        [REPORT_STATE] = "state",   [REPORT_PROGRESS] = "progress", [REPORT_NOTE] = "note",
        [REPORT_HEALTH] = "health", [REPORT_OUTCOME] = "outcome",   [REPORT_IDLE] = "idle",
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
 * feedback (update_report_final, with its retries) tells the outcome. */
static void sink_ddi(struct agent *a, const struct report_event *e) {
        struct tender_error err = {0};
        char detail[TENDER_DDI_DETAIL_MAX];

        if (!a || !e->deployment_base || !e->action_id)
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

/* The update in flight, for the status documents (mutex held). */
static void track_update(const struct report_event *e) {
        bool in_flight = e->kind == REPORT_STATE && e->app;
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

void report_emit(const struct report_event *e) {
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
        sink_ddi(a, e);
        for (size_t i = 0; i < n; i++)
                sinks[i].fn(e, sinks[i].userdata);
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
