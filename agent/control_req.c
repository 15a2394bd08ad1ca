/* SPDX-License-Identifier: Apache-2.0 */
#include "control_req.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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
#define LOG_FIELD_MAX 4096           /* one journal field (or output line) copied into a reply */
#define OUTPUT_TAIL_MAX (256 * 1024) /* bytes read from the end of each output file */

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

/* "locked until <UTC time> (<ttl> s)", with the expiry as read back from the lock file. */
static cJSON *lock_reply(int root_fd, const char *app) {
        struct lock_operator op;
        char when[32] = "?", msg[128];
        uint64_t now = (uint64_t) time(NULL);
        if (lock_operator_get(root_fd, app, now, &op) < 0)
                return control_error("lock %s: the lock was not in force when read back", app);
        time_t t = (time_t) op.until;
        struct tm tm;
        if (gmtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        snprintf(msg, sizeof(msg), "%s locked until %s (in %llu s)", app, when,
                 (unsigned long long) (op.until > now ? op.until - now : 0));
        cJSON *o = control_ok(msg);
        cJSON_AddNumberToObject(o, "until", (double) op.until);
        return o;
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
        /* A lock on a misspelt name would defer nothing while the operator thinks it does. */
        _cleanup_free_ char *current = NULL;
        if (!tender_name_valid(app) || tender_store_get_current(a->store, app, &current) < 0)
                return control_error("lock %s: no such app (no installed release of that name)",
                                     app);
        if (lock_operator_set(root_fd, app, ttl, reason, uid, &err) < 0)
                return control_error("lock %s: %s", app, err.message);
        log_notice("Operator lock of %s for %llu s by uid %u%s%s", app, (unsigned long long) ttl,
                   (unsigned) uid, reason ? ": " : "", reason ? reason : "");
        return lock_reply(root_fd, app);
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

/* Up to OUTPUT_TAIL_MAX bytes from the end of path appended to *buf; a missing file adds
 * nothing. */
static int read_tail(const char *path, char **buf, size_t *len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return -EINVAL;
        size_t want =
                (uint64_t) st.st_size > OUTPUT_TAIL_MAX ? OUTPUT_TAIL_MAX : (size_t) st.st_size;
        char *p = realloc(*buf, *len + want + 1);
        if (!p)
                return -ENOMEM;
        *buf = p;
        ssize_t n = pread(fd, p + *len, want, st.st_size - (off_t) want);
        if (n < 0)
                return -errno;
        /* Cut into the middle of the file: the first line is partial. */
        size_t skip = 0;
        if ((off_t) want < st.st_size) {
                char *nl = memchr(p + *len, '\n', (size_t) n);
                skip = nl ? (size_t) (nl - (p + *len)) + 1 : (size_t) n;
        }
        memmove(p + *len, p + *len + skip, (size_t) n - skip);
        *len += (size_t) n - skip;
        p[*len] = 0;
        return 1;
}

/* The last `lines` lines the app's current container wrote (runtime_output_path and the
 * megabyte before it), each made valid UTF-8 for the reply (tenderctl escapes them for the
 * terminal). */
static int add_output(struct agent *a, const char *app, uint64_t lines, cJSON *root) {
        _cleanup_free_ char *current = NULL, *data = NULL;
        char id[CONTAINER_ID_MAX], path[PATH_MAX], old[PATH_MAX + 2];
        size_t len = 0;
        if (tender_store_get_current(a->store, app, &current) < 0)
                return -ENOENT;
        container_id(app, current, id);
        if (runtime_output_path(&a->runtime, id, path, sizeof(path)) < 0)
                return -ENAMETOOLONG;
        /* The megabyte before only when the current file's tail is all of it: no gap between. */
        struct stat st;
        bool whole = stat(path, &st) < 0 || st.st_size < OUTPUT_TAIL_MAX;
        snprintf(old, sizeof(old), "%s.1", path);
        int r = whole ? read_tail(old, &data, &len) : 0;
        int r2 = r >= 0 ? read_tail(path, &data, &len) : r;
        if (r2 < 0)
                return r2;
        cJSON_AddStringToObject(root, "outputFile", path);
        cJSON *arr = cJSON_AddArrayToObject(root, "output");
        if (r == 0 && r2 == 0) {
                cJSON_AddStringToObject(root, "outputNote",
                                        "no output file: the runtime sends the app's output "
                                        "elsewhere (the journal, when it runs)");
                return 0;
        }
        size_t end = len && data[len - 1] == '\n' ? len - 1 : len, start = end;
        for (uint64_t n = 0; start > 0; start--)
                if (data[start - 1] == '\n' && ++n == lines)
                        break;
        for (char *p = data + start; len && p <= data + end;) {
                char *nl = memchr(p, '\n', (size_t) (data + end - p));
                size_t l = nl ? (size_t) (nl - p) : (size_t) (data + end - p);
                _cleanup_free_ char *v =
                        tender_json_text_dup(p, l > LOG_FIELD_MAX ? LOG_FIELD_MAX : l);
                if (v)
                        cJSON_AddItemToArray(arr, cJSON_CreateString(v));
                p += l + 1;
        }
        return 0;
}

cJSON *control_req_logs(struct agent *a, const cJSON *req) {
        _cleanup_(journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *current = NULL;
        char match[TENDER_NAME_MAX + 16], id_match[CONTAINER_ID_MAX + 24];
        const char *app = NULL;
        uint64_t lines = LOG_LINES_DEFAULT;

        if (tender_json_get_string(req, "", "app", false, &app, NULL) < 0 ||
            tender_json_get_u64(req, "", "lines", false, &lines, NULL) < 0)
                return control_error("expected \"app\" (string) and \"lines\" (number)");
        if (lines == 0 || lines > CONTROL_LOG_LINES_MAX)
                lines = CONTROL_LOG_LINES_MAX;
        if (app && *app &&
            (!tender_name_valid(app) || tender_store_get_current(a->store, app, &current) < 0))
                return control_error("logs %s: no such app (no installed release)", app);
        bool journal = access("/run/systemd/journal/socket", F_OK) >= 0 &&
                       sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY) >= 0;
        /* Without journald tenderd logs to stderr, which only its supervisor sees; an app's
         * output is in its output file. */
        if (!journal && !current)
                return control_error("no systemd journal on this device: tenderd logs to stderr "
                                     "(see the output of tenderd's supervisor); tenderctl logs "
                                     "APP shows an app's output");
        cJSON *root = control_ok(NULL);
        cJSON *arr = cJSON_AddArrayToObject(root, "entries");
        if (journal) {
                if (current) {
                        char id[CONTAINER_ID_MAX];
                        container_id(app, current, id);
                        snprintf(match, sizeof(match), "TENDER_APP=%s", app);
                        snprintf(id_match, sizeof(id_match), "SYSLOG_IDENTIFIER=%s", id);
                } else
                        snprintf(match, sizeof(match), "SYSLOG_IDENTIFIER=tenderd");
                /* tenderd's entries about the app, or what the container wrote to the journal. */
                if (sd_journal_add_match(j, match, 0) < 0 ||
                    (current && (sd_journal_add_disjunction(j) < 0 ||
                                 sd_journal_add_match(j, id_match, 0) < 0)) ||
                    sd_journal_seek_tail(j) < 0) {
                        cJSON_Delete(root);
                        return control_error("cannot read the journal");
                }
                uint64_t n = 0;
                while (n < lines && sd_journal_previous(j) > 0)
                        n++;
                for (uint64_t i = 0; i < n; i++) {
                        if (i > 0 && sd_journal_next(j) <= 0)
                                break;
                        cJSON_AddItemToArray(arr, journal_entry(j));
                }
        }
        int r = current ? add_output(a, app, lines, root) : 0;
        if (r < 0) {
                cJSON_Delete(root);
                return control_error("logs %s: cannot read its output file: %s", app, strerror(-r));
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

/* The action id and state of an unfinished deployment of app in the journal: 1 when there is
 * one, 0 when none, negative errno when the journal cannot be listed (then nobody knows). */
static int update_in_flight(struct agent *a, const char *app, char *action, size_t size,
                            const char **ret_state) {
        int root = tender_store_root_fd(a->store);
        char **ids = NULL;
        int found = 0;
        int r = tender_journal_list(root, &ids);
        if (r < 0)
                return r;
        for (size_t i = 0; ids[i] && !found; i++) {
                _cleanup_(tender_journal_record_freep) struct tender_journal_record *rec = NULL;
                if (tender_journal_read(root, ids[i], &rec, NULL) < 0 || !rec->app ||
                    !STREQ(rec->app, app) || tender_journal_state_is_final(rec->state))
                        continue;
                snprintf(action, size, "%s", rec->action_id);
                *ret_state = tender_journal_state_name(rec->state);
                found = 1;
        }
        tender_strv_free(ids);
        return found;
}

/* Stops every container of app's releases and unmounts their rootfs: nothing of app may run or
 * stay mounted before its files go. */
static int stop_releases(struct agent *a, const char *app, char *const *versions,
                         struct tender_error *err) {
        for (size_t i = 0; versions[i]; i++) {
                _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
                uint64_t timeout =
                        tender_store_release_manifest(a->store, app, versions[i], &m, NULL) >= 0
                                ? m->stop_timeout_sec
                                : TENDER_STOP_TIMEOUT_DEFAULT;
                int r = container_stop(&a->runtime, a->store, app, versions[i], timeout, err);
                if (r < 0)
                        return tender_error_prefix(err, "stop %s %s", app, versions[i]);
        }
        return 0;
}

cJSON *control_req_remove(struct agent *a, const char *app, bool keep_volumes, uid_t uid) {
        _cleanup_free_ char *current = NULL;
        struct tender_error err = {0};
        char action[TENDER_JOURNAL_ID_MAX + 1];
        const char *state = NULL;
        char **versions = NULL;

        if (!tender_name_valid(app) || tender_store_list_releases(a->store, app, &versions) < 0)
                return control_error("remove %s: no such app", app);
        bool installed = tender_store_get_current(a->store, app, &current) >= 0 || versions[0];
        if (!installed) {
                tender_strv_free(versions);
                return control_error("remove %s: no such app (no installed release)", app);
        }
        int r = update_in_flight(a, app, action, sizeof(action), &state);
        if (r != 0) {
                tender_strv_free(versions);
                if (r < 0)
                        return control_error("remove %s: cannot read the journal: %s; nothing "
                                             "was removed",
                                             app, strerror(-r));
                return control_error("remove %s: an update of it is in flight (action %s, %s); "
                                     "cancel it on the server or let it end first",
                                     app, action, state);
        }
        r = stop_releases(a, app, versions, &err);
        tender_strv_free(versions);
        if (r < 0)
                return control_error("remove %s: %s; nothing was removed", app, err.message);
        r = tender_store_remove_app(a->store, app, keep_volumes);
        if (r < 0)
                return control_error("remove %s: %s (stopped; run remove again)", app,
                                     strerror(-r));
        (void) lock_operator_clear(tender_store_root_fd(a->store), app);
        if (tender_store_gc(a->store, &err) < 0)
                log_warning("After removing %s: garbage collection failed: %s", app, err.message);
        log_notice("%s removed by uid %u: stopped, its releases deleted, its volumes %s", app,
                   (unsigned) uid, keep_volumes ? "kept" : "deleted");
        report_emit(&(struct report_event){.kind = REPORT_IDLE});
        return control_ok(keep_volumes ? "removed; its volumes are kept (remove --delete-volumes "
                                         "deletes them)"
                                       : "removed, with its volumes");
}
