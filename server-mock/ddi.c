/* SPDX-License-Identifier: Apache-2.0 */
/* hawkBit Direct Device Integration resources, as a device sees them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server.h"
#include "tender/json.h"
#include "tender/log.h"

#define ACTION_ID_DIGITS_MAX 19
#define HISTORY_MESSAGES_MAX 100 /* actionHistory.messages: the most recent details */
#define URL_MAX 4096

static bool is_get(const struct mock_request *req) {
        return STREQ(req->method, "GET") || STREQ(req->method, "HEAD");
}

/* hawkBit's two token schemes: a target's own token, or the tenant's gateway token. */
static bool authorized(const struct mock *m, const struct mock_request *req) {
        if (!m->target_token && !m->gateway_token)
                return true;
        const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION);
        return mock_token_matches(h, "TargetToken", m->target_token) ||
               mock_token_matches(h, "GatewayToken", m->gateway_token);
}

/* Decimal action id >= 1; the whole string must be digits. */
static bool parse_action_id(const char *s, size_t len, uint64_t *ret) {
        if (len == 0 || len > ACTION_ID_DIGITS_MAX)
                return false;
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        if (v == 0)
                return false;
        *ret = v;
        return true;
}

static void controller_url(const struct mock *m, const char *tenant, const char *cid,
                           const char *suffix, char buf[static URL_MAX]) {
        snprintf(buf, URL_MAX, "%s/%s/controller/v1/%s%s", m->base_url, tenant, cid, suffix);
}

static bool add_link(cJSON *links, const char *name, const char *href) {
        cJSON *l = cJSON_AddObjectToObject(links, name);
        return l && cJSON_AddStringToObject(l, "href", href);
}

/* The "c" query parameter changes with the action's state, as hawkBit's does, so that a
 * device caching by URL sees a new resource. FNV-1a. */
static uint32_t action_hash(const struct mock_action *a) {
        char s[64];
        snprintf(s, sizeof(s), "%" PRIu64 "-%s-%s-%s-%d", a->id, mock_action_history_status(a),
                 a->update, a->window, (int) a->cancel);
        uint32_t h = 2166136261u;
        for (const char *p = s; *p; p++)
                h = (h ^ (unsigned char) *p) * 16777619u;
        return h;
}

static void poll_base(struct mock *m, const char *tenant, const char *cid,
                      struct mock_reply *reply) {
        if (m->outage_polls) {
                m->outage_polls--;
                mock_reply_error(reply, MHD_HTTP_SERVICE_UNAVAILABLE, "mock.outage",
                                 "Simulated outage (/mock/outage): %" PRIu64 " more poll(s)",
                                 m->outage_polls);
                return;
        }
        struct mock_target *t;
        int r = mock_target_get(m->state, cid, true, &t);
        if (r < 0) {
                mock_reply_error(reply,
                                 r == -ENOSPC ? MHD_HTTP_INSUFFICIENT_STORAGE
                                              : MHD_HTTP_INTERNAL_SERVER_ERROR,
                                 "mock.targets", "Cannot register %s: %s", cid, strerror(-r));
                return;
        }
        t->last_poll = (int64_t) time(NULL);

        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON *config = cJSON_AddObjectToObject(o, "config");
        cJSON *polling = cJSON_AddObjectToObject(config, "polling");
        cJSON *links = cJSON_AddObjectToObject(o, "_links");
        bool ok = polling && links && cJSON_AddStringToObject(polling, "sleep", m->poll_sleep);

        char url[URL_MAX], suffix[128];
        struct mock_action *a = mock_action_open_for(m->state, cid);
        if (a && a->cancel == MOCK_CANCEL_REQUESTED) {
                /* As hawkBit: while a cancel waits for the device, it replaces the deployment. */
                snprintf(suffix, sizeof(suffix), "/cancelAction/%" PRIu64, a->id);
                controller_url(m, tenant, cid, suffix, url);
                ok = ok && add_link(links, "cancelAction", url);
        } else if (a) {
                snprintf(suffix, sizeof(suffix), "/deploymentBase/%" PRIu64 "?c=%" PRIu32, a->id,
                         action_hash(a));
                controller_url(m, tenant, cid, suffix, url);
                ok = ok && add_link(links, "deploymentBase", url);
        }
        struct mock_action *installed = mock_action_installed_for(m->state, cid);
        if (installed) {
                snprintf(suffix, sizeof(suffix), "/installedBase/%" PRIu64, installed->id);
                controller_url(m, tenant, cid, suffix, url);
                ok = ok && add_link(links, "installedBase", url);
        }
        if (!t->config_data) {
                controller_url(m, tenant, cid, "/configData", url);
                ok = ok && add_link(links, "configData", url);
        }
        mock_reply_json(reply, MHD_HTTP_OK, ok ? TAKE_PTR(o) : NULL);
}

static cJSON *artifact_json(const struct mock *m, const struct mock_artifact *art) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        char url[URL_MAX], md5url[URL_MAX];
        snprintf(url, sizeof(url), "%s/repo/%s", m->base_url, art->path);
        snprintf(md5url, sizeof(md5url), "%s.MD5SUM", url);
        cJSON *hashes = cJSON_AddObjectToObject(o, "hashes");
        cJSON *links = NULL;
        bool ok = cJSON_AddStringToObject(o, "filename", art->filename) && hashes &&
                  cJSON_AddStringToObject(hashes, "sha1", art->hashes.sha1) &&
                  cJSON_AddStringToObject(hashes, "md5", art->hashes.md5) &&
                  cJSON_AddStringToObject(hashes, "sha256", art->hashes.sha256) &&
                  cJSON_AddNumberToObject(o, "size", (double) art->size) &&
                  (links = cJSON_AddObjectToObject(o, "_links")) &&
                  add_link(links, "download-http", url) && add_link(links, "md5sum-http", md5url);
        return ok ? TAKE_PTR(o) : NULL;
}

/* The last max details of the action's feedback, oldest first. */
static cJSON *history_messages(const struct mock_action *a, size_t max) {
        _cleanup_(cJSON_Deletep) cJSON *msgs = cJSON_CreateArray();
        size_t total = 0;
        const cJSON *fb, *d;
        cJSON_ArrayForEach(fb, a->feedback) {
                cJSON_ArrayForEach(d, cJSON_GetObjectItem(cJSON_GetObjectItem(fb, "status"),
                                                          "details")) total++;
        }
        size_t skip = total > max ? total - max : 0;
        cJSON_ArrayForEach(fb, a->feedback) {
                cJSON_ArrayForEach(
                        d, cJSON_GetObjectItem(cJSON_GetObjectItem(fb, "status"), "details")) {
                        if (skip > 0) {
                                skip--;
                                continue;
                        }
                        cJSON *s = cJSON_CreateString(cJSON_GetStringValue(d));
                        if (!s)
                                return NULL;
                        cJSON_AddItemToArray(msgs, s);
                }
        }
        return TAKE_PTR(msgs);
}

/* Action id of controller cid; with cancel, only while a cancel of it is asked for. Otherwise
 * replies 404 and returns NULL. */
static struct mock_action *find_action(struct mock *m, const char *cid, uint64_t id, bool cancel,
                                       struct mock_reply *reply) {
        struct mock_action *a = mock_action_get(m->state, id);
        if (a && STREQ(a->target, cid) && (!cancel || a->cancel != MOCK_CANCEL_NONE))
                return a;
        mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.actionNotFound",
                         cancel ? "No cancel of action %" PRIu64 " for %s"
                                : "Action %" PRIu64 " does not exist for %s",
                         id, cid);
        return NULL;
}

/* ?actionHistory=N, as hawkBit reads it: absent or 0 leaves actionHistory out, N > 0 asks for
 * the last N messages and N < 0 for as many as the server keeps (HISTORY_MESSAGES_MAX). Sets
 * *ret to the number of messages; false (and a 400 reply) when N is not an integer. */
static bool history_count(const struct mock_request *req, size_t *ret, struct mock_reply *reply) {
        const char *v =
                MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "actionHistory");
        *ret = 0;
        if (!v)
                return true;
        char *end = NULL;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || end == v || *end) {
                mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badRequest",
                                 "actionHistory: expected an integer");
                return false;
        }
        *ret = n < 0 || n > HISTORY_MESSAGES_MAX ? HISTORY_MESSAGES_MAX : (size_t) n;
        return true;
}

/* actionHistory {status, messages} of the last max messages; hawkBit leaves it out when there
 * are none (max 0 included). Returns false on ENOMEM only. */
static bool add_history(cJSON *o, const struct mock_action *a, size_t max) {
        cJSON *msgs = max ? history_messages(a, max) : NULL;
        if (max && !msgs)
                return false;
        if (cJSON_GetArraySize(msgs) == 0) {
                cJSON_Delete(msgs);
                return true;
        }
        cJSON *hist = cJSON_AddObjectToObject(o, "actionHistory");
        if (!hist || !cJSON_AddStringToObject(hist, "status", mock_action_history_status(a)) ||
            !cJSON_AddItemToObject(hist, "messages", msgs)) {
                cJSON_Delete(msgs);
                return false;
        }
        return true;
}

/* deploymentBase and installedBase share one shape. */
static void action_base(struct mock *m, const struct mock_request *req, const char *cid,
                        uint64_t id, struct mock_reply *reply) {
        struct mock_action *a = find_action(m, cid, id, false, reply);
        size_t history = 0;
        if (!a || !history_count(req, &history, reply))
                return;

        struct tender_error err = {0};
        _cleanup_free_ struct mock_artifact *arts = NULL;
        size_t n = 0;
        int r = mock_repo_release(m->repo, a->app, a->version, &arts, &n, &err);
        if (r < 0) {
                log_error("Cannot offer %s %s to %s (action %" PRIu64 "): %s", a->app, a->version,
                          cid, id, err.message);
                mock_reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "mock.releaseBroken",
                                 "Release %s %s cannot be offered: %s", a->app, a->version,
                                 err.message);
                return;
        }

        char id_text[32];
        snprintf(id_text, sizeof(id_text), "%" PRIu64, a->id);
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON *dep = NULL, *chunks = NULL, *chunk = NULL, *list = NULL;
        bool ok = cJSON_AddStringToObject(o, "id", id_text) &&
                  (dep = cJSON_AddObjectToObject(o, "deployment")) &&
                  cJSON_AddStringToObject(dep, "download", a->download) &&
                  cJSON_AddStringToObject(dep, "update", a->update) &&
                  (!a->window[0] || cJSON_AddStringToObject(dep, "maintenanceWindow", a->window)) &&
                  (chunks = cJSON_AddArrayToObject(dep, "chunks")) &&
                  (chunk = cJSON_CreateObject()) && cJSON_AddItemToArray(chunks, chunk) &&
                  cJSON_AddStringToObject(chunk, "part", "bApp") &&
                  cJSON_AddStringToObject(chunk, "version", a->version) &&
                  cJSON_AddStringToObject(chunk, "name", a->app) &&
                  (list = cJSON_AddArrayToObject(chunk, "artifacts"));
        for (size_t i = 0; ok && i < n; i++) {
                cJSON *art = artifact_json(m, &arts[i]);
                ok = art && cJSON_AddItemToArray(list, art);
        }
        ok = ok && add_history(o, a, history);
        mock_reply_json(reply, MHD_HTTP_OK, ok ? TAKE_PTR(o) : NULL);
}

static bool one_of(const char *s, const char *const *set) {
        for (; *set; set++)
                if (STREQ(s, *set))
                        return true;
        return false;
}

/* Checks a feedback body against hawkBit's DdiActionFeedback; returns execution and finished
 * (pointers into body). */
static int feedback_validate(const cJSON *body, const char **ret_execution,
                             const char **ret_finished, struct tender_error *err) {
        static const char *const root_keys[] = {"id", "time", "timestamp", "status", NULL};
        static const char *const status_keys[] = {"execution", "result", "code", "details", NULL};
        static const char *const result_keys[] = {"finished", "progress", NULL};
        static const char *const progress_keys[] = {"cnt", "of", NULL};
        static const char *const executions[] = {"proceeding", "closed",     "canceled",
                                                 "rejected",   "resumed",    "scheduled",
                                                 "download",   "downloaded", NULL};
        static const char *const finishes[] = {"success", "failure", "none", NULL};
        const cJSON *status = NULL, *result = NULL, *progress = NULL, *details = NULL;
        const char *execution = NULL, *finished = NULL;
        uint64_t u;
        int r;

        if ((r = tender_json_check_keys(body, "", root_keys, err)) < 0 ||
            (r = tender_json_get_object(body, "", "status", true, &status, err)) < 0 ||
            (r = tender_json_check_keys(status, "status", status_keys, err)) < 0 ||
            (r = tender_json_get_string(status, "status", "execution", true, &execution, err)) <
                    0 ||
            (r = tender_json_get_object(status, "status", "result", true, &result, err)) < 0 ||
            (r = tender_json_check_keys(result, "status.result", result_keys, err)) < 0 ||
            (r = tender_json_get_string(result, "status.result", "finished", true, &finished,
                                        err)) < 0 ||
            (r = tender_json_get_object(result, "status.result", "progress", false, &progress,
                                        err)) < 0 ||
            (r = tender_json_get_array(status, "status", "details", false, &details, err)) < 0)
                return r;
        if (progress &&
            ((r = tender_json_check_keys(progress, "status.result.progress", progress_keys, err)) <
                     0 ||
             (r = tender_json_get_u64(progress, "status.result.progress", "cnt", false, &u, err)) <
                     0 ||
             (r = tender_json_get_u64(progress, "status.result.progress", "of", false, &u, err)) <
                     0))
                return r;
        if (!one_of(execution, executions))
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                        "status.execution: unknown value \"%s\"", execution);
        if (!one_of(finished, finishes))
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                        "status.result.finished: unknown value \"%s\"", finished);
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(status, "code");
        if (code &&
            (!cJSON_IsNumber(code) || code->valuedouble != (double) (int) code->valuedouble))
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                        "status.code: must be an integer");
        const cJSON *d;
        cJSON_ArrayForEach(d, details) {
                if (!cJSON_IsString(d))
                        return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                                "status.details: must hold strings");
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
        if (id && !cJSON_IsString(id) && !cJSON_IsNumber(id))
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                        "id: must be a string or a number");
        *ret_execution = execution;
        *ret_finished = finished;
        return 0;
}

/* POST deploymentBase/{id}/feedback, or with cancel cancelAction/{id}/feedback: the same
 * DdiActionFeedback, kept in the action's list of each. */
static void feedback(struct mock *m, const struct mock_request *req, const char *cid, uint64_t id,
                     bool cancel, struct mock_reply *reply) {
        struct mock_action *a = find_action(m, cid, id, cancel, reply);
        if (!a)
                return;
        _cleanup_(cJSON_Deletep) cJSON *body = NULL;
        if (mock_request_json(req, reply, &body) < 0)
                return;
        struct tender_error err = {0};
        const char *execution = NULL, *finished = NULL;
        if (feedback_validate(body, &execution, &finished, &err) < 0) {
                mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badFeedback",
                                 "Invalid feedback: %s", err.message);
                return;
        }
        if (!a->open) {
                mock_reply_error(reply, MHD_HTTP_GONE, "mock.actionClosed",
                                 "Action %" PRIu64 " is closed", id);
                return;
        }
        /* The strings live in body, which the action takes over. */
        char exec_copy[16], fin_copy[16];
        snprintf(exec_copy, sizeof(exec_copy), "%s", execution);
        snprintf(fin_copy, sizeof(fin_copy), "%s", finished);
        int r = cancel ? mock_action_add_cancel_feedback(a, TAKE_PTR(body), exec_copy, fin_copy)
                       : mock_action_add_feedback(a, TAKE_PTR(body), exec_copy, fin_copy);
        if (r < 0) {
                mock_reply_error(reply, MHD_HTTP_INSUFFICIENT_STORAGE, "mock.tooMuchFeedback",
                                 "Action %" PRIu64 " holds %d %sfeedback messages already", id,
                                 MOCK_MAX_FEEDBACK, cancel ? "cancel " : "");
                return;
        }
        if (cancel)
                log_info("Cancel of action %" PRIu64 " (%s): %s/%s, cancel %s", id, cid, exec_copy,
                         fin_copy, mock_cancel_name(a->cancel));
        else
                log_info("Action %" PRIu64 " (%s): %s/%s%s", id, cid, exec_copy, fin_copy,
                         a->open ? "" : ", closed");
        reply->status = MHD_HTTP_OK; /* hawkBit answers feedback with an empty 200 */
}

/* GET cancelAction/{id}: {"id": "<id>", "cancelAction": {"stopId": "<id>"}}. */
static void cancel_action(struct mock *m, const char *cid, uint64_t id, struct mock_reply *reply) {
        struct mock_action *a = find_action(m, cid, id, true, reply);
        if (!a)
                return;
        char id_text[32];
        snprintf(id_text, sizeof(id_text), "%" PRIu64, a->id);
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON *c = NULL;
        bool ok = cJSON_AddStringToObject(o, "id", id_text) &&
                  (c = cJSON_AddObjectToObject(o, "cancelAction")) &&
                  cJSON_AddStringToObject(c, "stopId", id_text);
        mock_reply_json(reply, MHD_HTTP_OK, ok ? TAKE_PTR(o) : NULL);
}

static void config_data(struct mock *m, const struct mock_request *req, const char *cid,
                        struct mock_reply *reply) {
        static const char *const keys[] = {"mode", "data", "id", "time", "status", NULL};
        static const char *const modes[] = {"merge", "replace", "remove", NULL};
        _cleanup_(cJSON_Deletep) cJSON *body = NULL;
        if (mock_request_json(req, reply, &body) < 0)
                return;
        struct tender_error err = {0};
        const char *mode = "merge";
        const cJSON *data = NULL;
        int r;
        if ((r = tender_json_check_keys(body, "", keys, &err)) < 0 ||
            (r = tender_json_get_string(body, "", "mode", false, &mode, &err)) < 0 ||
            (r = tender_json_get_object(body, "", "data", true, &data, &err)) < 0) {
                mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badConfigData", "%s",
                                 err.message);
                return;
        }
        if (!one_of(mode, modes)) {
                mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badConfigData",
                                 "mode: unknown value \"%s\"", mode);
                return;
        }
        const cJSON *item;
        cJSON_ArrayForEach(item, data) {
                if (!cJSON_IsString(item)) {
                        mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badConfigData",
                                         "data.%s: values must be strings", item->string);
                        return;
                }
        }
        struct mock_target *t;
        r = mock_target_get(m->state, cid, true, &t);
        if (r >= 0)
                r = mock_target_config_apply(t, mode, data);
        if (r < 0) {
                mock_reply_error(
                        reply, r == -ENOSPC ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
                        "mock.badConfigData", "Cannot record configData of %s: %s", cid,
                        r == -ENOSPC ? "too many attributes" : strerror(-r));
                return;
        }
        reply->status = MHD_HTTP_OK;
}

void mock_ddi_handle(struct mock *m, const struct mock_request *req, const char *tenant,
                     const char *rest, struct mock_reply *reply) {
        if (strcasecmp(tenant, m->tenant) != 0) {
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.unknownTenant",
                                 "Unknown tenant %s", tenant);
                return;
        }
        if (!authorized(m, req)) {
                mock_reply_error(reply, MHD_HTTP_UNAUTHORIZED, "mock.unauthorized",
                                 "Missing or wrong \"Authorization: TargetToken\" (or "
                                 "GatewayToken) header");
                return;
        }

        char cid[MOCK_CONTROLLER_ID_MAX + 1];
        size_t cid_len = strcspn(rest, "/");
        if (cid_len > MOCK_CONTROLLER_ID_MAX ||
            (memcpy(cid, rest, cid_len), cid[cid_len] = '\0', !mock_controller_id_valid(cid))) {
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.badControllerId",
                                 "Controller ids are [A-Za-z0-9._-]{1,%d}", MOCK_CONTROLLER_ID_MAX);
                return;
        }
        const char *sub = rest + cid_len;

        const char *after;
        bool get = is_get(req), found = true, method_ok = true;
        uint64_t id;
        if (sub[0] == '\0') {
                if ((method_ok = get))
                        poll_base(m, tenant, cid, reply);
        } else if (STREQ(sub, "/configData")) {
                if ((method_ok = STREQ(req->method, "PUT")))
                        config_data(m, req, cid, reply);
        } else if ((after = strchr(sub + 1, '/')) && (strncmp(sub, "/deploymentBase/", 16) == 0 ||
                                                      strncmp(sub, "/installedBase/", 15) == 0 ||
                                                      strncmp(sub, "/cancelAction/", 14) == 0)) {
                const char *id_text = after + 1;
                size_t id_len = strcspn(id_text, "/");
                const char *tail = id_text + id_len;
                bool deployment = sub[1] == 'd', cancel = sub[1] == 'c';
                if (!parse_action_id(id_text, id_len, &id))
                        found = false;
                else if (tail[0] == '\0') {
                        if ((method_ok = get) && cancel)
                                cancel_action(m, cid, id, reply);
                        else if (method_ok)
                                action_base(m, req, cid, id, reply);
                } else if ((deployment || cancel) && STREQ(tail, "/feedback")) {
                        if ((method_ok = STREQ(req->method, "POST")))
                                feedback(m, req, cid, id, cancel, reply);
                } else
                        found = false;
        } else
                found = false;

        if (!found)
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.notFound", "No resource at %s",
                                 req->path);
        else if (!method_ok)
                mock_reply_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED, "mock.methodNotAllowed",
                                 "%s is not allowed on %s", req->method, req->path);
}
