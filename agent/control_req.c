/* SPDX-License-Identifier: Apache-2.0 */
#include "control_req.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "lock.h"
#include "report.h"
#include "status.h"
#include "tender/escape.h"
#include "tender/log.h"
#include "update.h"
#include "userns.h"

#define LOG_LINES_DEFAULT 50
#define LOG_FIELD_MAX 4096 /* one journal field copied into a reply */

cJSON *control_ok(const char *message) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", true);
        if (message)
                cJSON_AddStringToObject(o, "message", message);
        return o;
}

static void add_str_or_null(cJSON *o, const char *key, const char *v) {
        if (v && *v)
                cJSON_AddStringToObject(o, key, v);
        else
                cJSON_AddNullToObject(o, key);
}

static cJSON *app_json(struct agent *a, const char *app) {
        _cleanup_free_ char *current = NULL, *previous = NULL;
        struct container_state st = {.status = CONTAINER_ABSENT};
        int root_fd = tender_store_root_fd(a->store);
        struct lock_operator op;
        uint64_t counter = 0;
        char id[CONTAINER_ID_MAX];

        tender_store_get_current(a->store, app, &current);
        tender_store_get_previous(a->store, app, &previous);
        tender_store_counter_get(a->store, app, &counter);
        if (current) {
                container_id(app, current, id);
                container_state(&a->runtime, id, &st, NULL);
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", app);
        add_str_or_null(o, "current", current);
        add_str_or_null(o, "previous", previous);
        cJSON_AddNumberToObject(o, "releaseCounter", (double) counter);
        cJSON_AddStringToObject(o, "status", container_status_name(st.status));
        if (st.pid > 0)
                cJSON_AddNumberToObject(o, "pid", st.pid);
        if (st.status == CONTAINER_STOPPED && st.has_exit_status) /* restart policy: why */
                cJSON_AddNumberToObject(o, "exitStatus", st.exit_status);
        if (lock_operator_get(root_fd, app, (uint64_t) time(NULL), &op) >= 0) {
                cJSON *l = cJSON_AddObjectToObject(o, "lock");
                cJSON_AddNumberToObject(l, "until", (double) op.until);
                cJSON_AddNumberToObject(l, "uid", op.uid);
                cJSON_AddStringToObject(l, "reason", op.reason);
        } else
                cJSON_AddNullToObject(o, "lock");
        cJSON_AddBoolToObject(o, "appLock", lock_app_held(root_fd, app) > 0);
        return o;
}

/* The transfer in progress, as the download code reported it (report.h). */
static void add_progress(cJSON *root) {
        uint64_t done, total;
        char what[80];
        if (!report_transfer_get(what, sizeof(what), &done, &total)) {
                cJSON_AddNullToObject(root, "progress");
                return;
        }
        cJSON *p = cJSON_AddObjectToObject(root, "progress");
        cJSON_AddStringToObject(p, "what", what);
        cJSON_AddNumberToObject(p, "done", (double) done);
        cJSON_AddNumberToObject(p, "total", (double) total);
}

cJSON *control_req_status(struct agent *a, const struct control_snapshot *snap) {
        char **apps = NULL;
        int r = tender_store_list_apps(a->store, &apps);
        if (r < 0)
                return control_error("cannot list apps: %s", strerror(-r));
        cJSON *root = control_ok(NULL);
        cJSON *arr = cJSON_AddArrayToObject(root, "apps");
        for (size_t i = 0; apps[i]; i++)
                cJSON_AddItemToArray(arr, app_json(a, apps[i]));
        tender_strv_free(apps);
        if (snap->app[0]) {
                cJSON *u = cJSON_AddObjectToObject(root, "update");
                cJSON_AddStringToObject(u, "app", snap->app);
                cJSON_AddStringToObject(u, "version", snap->version);
                cJSON_AddStringToObject(u, "state", snap->state);
                cJSON_AddStringToObject(u, "action", snap->action_id);
                add_str_or_null(u, "deferred", snap->note);
        } else
                cJSON_AddNullToObject(root, "update");
        add_progress(root);
        /* How the apps are isolated (userns.h): a fallback or no isolation must show. */
        cJSON *ns = cJSON_AddObjectToObject(root, "userNamespaces");
        cJSON_AddStringToObject(ns, "mode", userns_mode_name(userns_mode()));
        add_str_or_null(ns, "reason", userns_reason());
        cJSON_AddItemToObject(root, "device", status_json(a));
        return root;
}

cJSON *control_req_lock(struct agent *a, const cJSON *req, uid_t uid, bool lock) {
        int root_fd = tender_store_root_fd(a->store);
        struct tender_error err = {0};
        const char *app = NULL, *reason = NULL;
        uint64_t ttl = 3600;

        if (tender_json_get_string(req, "", "app", true, &app, NULL) < 0)
                return control_error("expected \"app\"");
        if (!lock) {
                int r = lock_operator_clear(root_fd, app);
                if (r == -ENOENT)
                        return control_error("%s is not locked", app);
                if (r < 0)
                        return control_error("unlock %s: %s", app, strerror(-r));
                log_notice("Operator lock of %s removed by uid %u", app, (unsigned) uid);
                return control_ok("unlocked");
        }
        if (tender_json_get_u64(req, "", "ttlSeconds", false, &ttl, NULL) < 0 ||
            tender_json_get_string(req, "", "reason", false, &reason, NULL) < 0)
                return control_error("expected \"ttlSeconds\" (number) and \"reason\" (string)");
        if (lock_operator_set(root_fd, app, ttl, reason, uid, &err) < 0)
                return control_error("lock %s: %s", app, err.message);
        log_notice("Operator lock of %s for %llu s by uid %u%s%s", app, (unsigned long long) ttl,
                   (unsigned) uid, reason ? ": " : "", reason ? reason : "");
        return control_ok("locked");
}

static cJSON *journal_entry(sd_journal *j) {
        static const char *const fields[][2] = {
                {"MESSAGE", "message"},          {"TENDER_APP", "app"},
                {"TENDER_VERSION", "version"},   {"TENDER_STATE", "state"},
                {"SYSLOG_IDENTIFIER", "source"}, {"PRIORITY", "priority"},
        };
        uint64_t usec = 0;
        cJSON *o = cJSON_CreateObject();
        if (sd_journal_get_realtime_usec(j, &usec) >= 0)
                cJSON_AddNumberToObject(o, "time", (double) (usec / 1000000));
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const void *data;
                size_t len, klen = strlen(fields[i][0]) + 1;
                if (sd_journal_get_data(j, fields[i][0], &data, &len) < 0 || len < klen)
                        continue;
                len -= klen;
                if (len > LOG_FIELD_MAX)
                        len = LOG_FIELD_MAX;
                /* An app's output may be anything: the reply stays valid UTF-8 JSON (cJSON
                 * escapes the control characters; tenderctl escapes again for the terminal). */
                _cleanup_free_ char *v = tender_json_text_dup((const char *) data + klen, len);
                if (v)
                        cJSON_AddStringToObject(o, fields[i][1], v);
        }
        return o;
}

static void journal_closep(sd_journal **j) {
        if (*j)
                sd_journal_close(*j);
}

cJSON *control_req_logs(const cJSON *req) {
        _cleanup_(journal_closep) sd_journal *j = NULL;
        char match[TENDER_NAME_MAX + 16];
        const char *app = NULL;
        uint64_t lines = LOG_LINES_DEFAULT;

        if (tender_json_get_string(req, "", "app", false, &app, NULL) < 0 ||
            tender_json_get_u64(req, "", "lines", false, &lines, NULL) < 0)
                return control_error("expected \"app\" (string) and \"lines\" (number)");
        if (lines == 0 || lines > CONTROL_LOG_LINES_MAX)
                lines = CONTROL_LOG_LINES_MAX;
        /* Without journald tenderd logs to stderr, which only its supervisor sees. */
        if (access("/run/systemd/journal/socket", F_OK) < 0 ||
            sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY) < 0)
                return control_error("no systemd journal on this device: tenderd and the apps log "
                                     "to stderr (see the output of tenderd's supervisor)");
        if (app && *app)
                snprintf(match, sizeof(match), "TENDER_APP=%s", app);
        else
                snprintf(match, sizeof(match), "SYSLOG_IDENTIFIER=tenderd");
        if (strlen(match) > TENDER_NAME_MAX + 11 || sd_journal_add_match(j, match, 0) < 0 ||
            sd_journal_seek_tail(j) < 0)
                return control_error("cannot read the journal");
        uint64_t n = 0;
        while (n < lines && sd_journal_previous(j) > 0)
                n++;
        cJSON *root = control_ok(NULL);
        cJSON *arr = cJSON_AddArrayToObject(root, "entries");
        for (uint64_t i = 0; i < n; i++) {
                if (i > 0 && sd_journal_next(j) <= 0)
                        break;
                cJSON_AddItemToArray(arr, journal_entry(j));
        }
        return root;
}

cJSON *control_req_rollback(struct agent *a, const char *app, uid_t uid) {
        _cleanup_free_ char *current = NULL, *previous = NULL, *message = NULL;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        char action[TENDER_JOURNAL_ID_MAX + 1];

        if (tender_store_get_current(a->store, app, &current) < 0)
                return control_error("%s: no such app, or it has no current release", app);
        if (tender_store_get_previous(a->store, app, &previous) < 0 || STREQ(previous, current))
                return control_error("%s: no previous release kept to roll back to", app);
        if (tender_store_release_manifest(a->store, app, previous, &m, NULL) < 0)
                return control_error("%s: the files of %s are gone from the store", app, previous);
        snprintf(action, sizeof(action), "rollback-%s-%llu", app, (unsigned long long) time(NULL));
        if (asprintf(&message, "%s %s: rollback to %s asked by uid %u", app, current, previous,
                     (unsigned) uid) < 0)
                return control_error("out of memory");
        struct tender_journal_record rec = {
                .action_id = action,
                .app = (char *) app,
                .version = current,
                .previous = previous,
                .n_chunks = 1,
                .message = TAKE_PTR(message),
                .by_operator = true, /* not a health failure: current is not marked bad */
        };
        /* current first: from here a crash replays "rolling-back" (or supervision restarts
         * previous), never the release the operator rolled away from. */
        int r = tender_store_set_current(a->store, app, previous);
        if (r < 0) {
                free(rec.message);
                return control_error("%s: cannot make %s current: %s", app, previous, strerror(-r));
        }
        enum tender_journal_state s = update_run(a, &rec, NULL, TENDER_JOURNAL_ROLLING_BACK);
        tender_journal_remove(tender_store_root_fd(a->store), action);
        cJSON *reply = s == TENDER_JOURNAL_ROLLED_BACK ? control_ok(rec.message)
                                                       : control_error("%s", rec.message);
        free(rec.message);
        report_emit(&(struct report_event){.kind = REPORT_IDLE});
        return reply;
}
