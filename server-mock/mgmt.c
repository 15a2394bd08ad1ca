/* SPDX-License-Identifier: Apache-2.0 */
/* The mock's own management API (not hawkBit's): deployments, actions and targets for
 * tests and demos. Documented in docs/server-mock.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server.h"
#include "stats.h"
#include "tender/json.h"
#include "tender/log.h"
#include "tender/manifest.h"
#include "tender/name.h"

#define ACTION_ID_DIGITS_MAX 19

static bool one_of(const char *s, const char *const *set) {
        for (; *set; set++)
                if (STREQ(s, *set))
                        return true;
        return false;
}

/* download, update and maintenanceWindow of body, each optional, into a (validated first, so
 * that a refused request changes nothing). */
static int apply_handling(struct mock_action *a, const cJSON *body, struct tender_error *err) {
        static const char *const types[] = {"attempt", "forced", "skip", NULL};
        static const char *const windows[] = {"", "available", "unavailable", NULL};
        const char *download = NULL, *update = NULL, *window = NULL;
        int r;
        if ((r = tender_json_get_string(body, "", "download", false, &download, err)) < 0 ||
            (r = tender_json_get_string(body, "", "update", false, &update, err)) < 0 ||
            (r = tender_json_get_string(body, "", "maintenanceWindow", false, &window, err)) < 0)
                return r;
        if ((download && !one_of(download, types)) || (update && !one_of(update, types)))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "download and update: attempt, forced or skip");
        if (window && !one_of(window, windows))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "maintenanceWindow: available, unavailable or \"\"");
        if (download)
                snprintf(a->download, sizeof(a->download), "%s", download);
        if (update)
                snprintf(a->update, sizeof(a->update), "%s", update);
        if (window)
                snprintf(a->window, sizeof(a->window), "%s", window);
        return 0;
}

static void create_deployment(struct mock *m, const struct mock_request *req,
                              struct mock_reply *reply) {
        static const char *const keys[] = {
                "target", "app", "version", "download", "update", "maintenanceWindow", NULL};
        _cleanup_(cJSON_Deletep) cJSON *body = NULL;
        if (mock_request_json(req, reply, &body) < 0)
                return;
        struct tender_error err = {0};
        const char *target = NULL, *app = NULL, *version = NULL;
        if (tender_json_check_keys(body, "", keys, &err) < 0 ||
            tender_json_get_string(body, "", "target", true, &target, &err) < 0 ||
            tender_json_get_string(body, "", "app", true, &app, &err) < 0 ||
            tender_json_get_string(body, "", "version", true, &version, &err) < 0) {
                mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badRequest", "%s", err.message);
                return;
        }
        if (!mock_controller_id_valid(target)) {
                mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badRequest",
                                 "target: not a valid controller id");
                return;
        }
        if (!tender_name_valid(app) || !tender_name_valid(version)) {
                mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badRequest",
                                 "app and version must be valid names");
                return;
        }
        /* Checked before the action exists: a refused request changes nothing. */
        struct mock_action handling = {.download = "forced", .update = "forced"};
        if (apply_handling(&handling, body, &err) < 0) {
                mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badRequest", "%s", err.message);
                return;
        }
        if (!mock_repo_has_release(m->repo, app, version)) {
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.releaseNotFound",
                                 "Release %s %s is not in the repository (apps/%s/%s.json)", app,
                                 version, app, version);
                return;
        }
        struct mock_action *a;
        int r = mock_action_create(m->state, target, app, version, &a);
        if (r < 0) {
                mock_reply_error(reply,
                                 r == -ENOSPC ? MHD_HTTP_INSUFFICIENT_STORAGE
                                              : MHD_HTTP_INTERNAL_SERVER_ERROR,
                                 "mock.actions", "Cannot create the action: %s", strerror(-r));
                return;
        }
        memcpy(a->download, handling.download, sizeof(a->download));
        memcpy(a->update, handling.update, sizeof(a->update));
        memcpy(a->window, handling.window, sizeof(a->window));
        log_info("Action %" PRIu64 ": %s %s for %s (download %s, update %s%s%s)", a->id, app,
                 version, target, a->download, a->update, a->window[0] ? ", window " : "",
                 a->window);
        cJSON *o = cJSON_CreateObject();
        if (o && !cJSON_AddNumberToObject(o, "actionId", (double) a->id)) {
                cJSON_Delete(o);
                o = NULL;
        }
        mock_reply_json(reply, MHD_HTTP_CREATED, o);
}

static struct mock_action *find_action(struct mock *m, const char *id_text, size_t len,
                                       struct mock_reply *reply) {
        uint64_t id = 0;
        bool ok = len > 0 && len <= ACTION_ID_DIGITS_MAX;
        for (size_t i = 0; ok && i < len; i++) {
                ok = id_text[i] >= '0' && id_text[i] <= '9';
                id = id * 10 + (uint64_t) (id_text[i] - '0');
        }
        struct mock_action *a = ok ? mock_action_get(m->state, id) : NULL;
        if (!a)
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.actionNotFound", "No action %.*s",
                                 (int) (len > 32 ? 32 : len), id_text);
        return a;
}

/* PATCH actions/{id}: change download, update or maintenanceWindow of an open action, as an
 * operator switches attempt to forced or a window opens in hawkBit. */
static void patch_action(struct mock *m, const struct mock_request *req, struct mock_action *a,
                         struct mock_reply *reply) {
        static const char *const keys[] = {"download", "update", "maintenanceWindow", NULL};
        _cleanup_(cJSON_Deletep) cJSON *body = NULL;
        struct tender_error err = {0};
        if (mock_request_json(req, reply, &body) < 0)
                return;
        if (!a->open) {
                mock_reply_error(reply, MHD_HTTP_CONFLICT, "mock.actionClosed",
                                 "Action %" PRIu64 " is closed", a->id);
                return;
        }
        if (tender_json_check_keys(body, "", keys, &err) < 0 || apply_handling(a, body, &err) < 0) {
                mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badRequest", "%s", err.message);
                return;
        }
        log_info("Action %" PRIu64 ": now download %s, update %s, window \"%s\"", a->id,
                 a->download, a->update, a->window);
        mock_reply_json(reply, MHD_HTTP_OK, mock_action_to_json(a));
}

/* POST actions/{id}/cancel: hawkBit's cancel of a running action; the device answers it. */
static void request_cancel(struct mock_action *a, struct mock_reply *reply) {
        if (!a->open) {
                mock_reply_error(reply, MHD_HTTP_CONFLICT, "mock.actionClosed",
                                 "Action %" PRIu64 " is closed", a->id);
                return;
        }
        a->cancel = MOCK_CANCEL_REQUESTED;
        log_info("Action %" PRIu64 ": cancel requested", a->id);
        mock_reply_json(reply, MHD_HTTP_OK, mock_action_to_json(a));
}

static void action_resource(struct mock *m, const struct mock_request *req, const char *rest,
                            struct mock_reply *reply) {
        size_t len = strcspn(rest, "/");
        const char *tail = rest + len;
        bool get = STREQ(req->method, "GET") || STREQ(req->method, "HEAD");
        struct mock_action *a = find_action(m, rest, len, reply);
        if (!a)
                return;
        if (tail[0] == '\0' && get)
                mock_reply_json(reply, MHD_HTTP_OK, mock_action_to_json(a));
        else if (tail[0] == '\0' && STREQ(req->method, "PATCH"))
                patch_action(m, req, a, reply);
        else if (STREQ(tail, "/cancel") && STREQ(req->method, "POST"))
                request_cancel(a, reply);
        else
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.notFound",
                                 "No resource at %s for %s", req->path, req->method);
}

/* POST outage {"polls": N}: the next N polls (of any target) answer 503, as a server that is
 * down for maintenance; 0 ends an outage. */
static void set_outage(struct mock *m, const struct mock_request *req, struct mock_reply *reply) {
        static const char *const keys[] = {"polls", NULL};
        _cleanup_(cJSON_Deletep) cJSON *body = NULL;
        if (mock_request_json(req, reply, &body) < 0)
                return;
        struct tender_error err = {0};
        uint64_t polls = 0;
        if (tender_json_check_keys(body, "", keys, &err) < 0 ||
            tender_json_get_u64(body, "", "polls", true, &polls, &err) < 0) {
                mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badRequest", "%s", err.message);
                return;
        }
        m->outage_polls = polls;
        log_info("Outage: the next %" PRIu64 " poll(s) answer 503", polls);
        cJSON *o = cJSON_CreateObject();
        if (o && !cJSON_AddNumberToObject(o, "polls", (double) polls)) {
                cJSON_Delete(o);
                o = NULL;
        }
        mock_reply_json(reply, MHD_HTTP_OK, o);
}

static unsigned fleet_status(int r) {
        switch (r) {
        case -ENOENT:
                return MHD_HTTP_NOT_FOUND;
        case -EEXIST:
        case -EBUSY:
                return MHD_HTTP_CONFLICT;
        case -ENOSPC:
                return MHD_HTTP_INSUFFICIENT_STORAGE;
        case -ENOMEM:
                return MHD_HTTP_INTERNAL_SERVER_ERROR;
        default:
                return MHD_HTTP_BAD_REQUEST;
        }
}

static void create_group(struct mock *m, const struct mock_request *req, struct mock_reply *reply) {
        _cleanup_(cJSON_Deletep) cJSON *body = NULL;
        struct tender_error err = {0};
        if (mock_request_json(req, reply, &body) < 0)
                return;
        int r = mock_group_create(m->fleet, body, &err);
        if (r < 0) {
                mock_reply_error(reply, fleet_status(r), "mock.badGroup", "%s", err.message);
                return;
        }
        mock_reply_json(reply, MHD_HTTP_CREATED, mock_groups_to_json(m->fleet, m->state));
}

static void create_rollout(struct mock *m, const struct mock_request *req,
                           struct mock_reply *reply) {
        _cleanup_(cJSON_Deletep) cJSON *body = NULL;
        struct tender_error err = {0};
        if (mock_request_json(req, reply, &body) < 0)
                return;
        const char *app = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "app"));
        const char *version =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "version"));
        if (app && version && tender_name_valid(app) && tender_name_valid(version) &&
            !mock_repo_has_release(m->repo, app, version)) {
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.releaseNotFound",
                                 "Release %s %s is not in the repository (apps/%s/%s.json)", app,
                                 version, app, version);
                return;
        }
        struct mock_rollout *r;
        int k = mock_rollout_create(m->fleet, m->state, body, (int64_t) time(NULL), &r, &err);
        if (k < 0) {
                mock_reply_error(reply, fleet_status(k), "mock.badRollout", "%s", err.message);
                return;
        }
        mock_reply_json(reply, MHD_HTTP_CREATED, mock_rollout_to_json(r, m->state));
}

/* rollouts/{name}[/pause|/resume|/cancel] */
static void rollout_resource(struct mock *m, const struct mock_request *req, const char *rest,
                             struct mock_reply *reply) {
        char name[MOCK_CONTROLLER_ID_MAX + 1];
        size_t len = strcspn(rest, "/");
        const char *tail = rest + len;
        bool get = STREQ(req->method, "GET") || STREQ(req->method, "HEAD");
        struct mock_rollout *r = NULL;
        if (len <= MOCK_CONTROLLER_ID_MAX) {
                memcpy(name, rest, len);
                name[len] = '\0';
                r = mock_rollout_get(m->fleet, name);
        }
        if (!r) {
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.rolloutNotFound",
                                 "No rollout %.*s", (int) (len > 64 ? 64 : len), rest);
                return;
        }
        struct tender_error err = {0};
        int64_t now = (int64_t) time(NULL);
        int k;
        if (tail[0] == '\0' && get) {
                mock_reply_json(reply, MHD_HTTP_OK, mock_rollout_to_json(r, m->state));
                return;
        }
        if (!STREQ(req->method, "POST"))
                k = -EOPNOTSUPP;
        else if (STREQ(tail, "/pause"))
                k = mock_rollout_pause(r, now, &err);
        else if (STREQ(tail, "/resume"))
                k = mock_rollout_resume(r, now, &err);
        else if (STREQ(tail, "/cancel"))
                k = mock_rollout_cancel(r, m->state, now, &err);
        else
                k = -EOPNOTSUPP;
        if (k == -EOPNOTSUPP)
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.notFound",
                                 "No resource at %s for %s", req->path, req->method);
        else if (k < 0)
                mock_reply_error(reply, fleet_status(k), "mock.rolloutState", "%s", err.message);
        else {
                /* A resumed rollout may move on at once. */
                mock_fleet_tick(m->fleet, m->state, now);
                mock_reply_json(reply, MHD_HTTP_OK, mock_rollout_to_json(r, m->state));
        }
}

/* GET targets/{cid}: the target, its actions (its history, feedback included) and the
 * rollouts it is part of. */
static void target_resource(struct mock *m, const char *cid, struct mock_reply *reply) {
        struct mock_target *t;
        if (!mock_controller_id_valid(cid) || mock_target_get(m->state, cid, false, &t) < 0) {
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.targetNotFound",
                                 "No target %.64s", cid);
                return;
        }
        _cleanup_(cJSON_Deletep) cJSON *o = mock_target_to_json(t);
        cJSON *actions = mock_actions_to_json(m->state, cid);
        cJSON *rollouts = mock_fleet_target_json(m->fleet, m->state, cid);
        if (!o || !actions || !rollouts) {
                cJSON_Delete(actions);
                cJSON_Delete(rollouts);
                mock_reply_json(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
                return;
        }
        cJSON_AddItemToObject(o, "actions", actions);
        cJSON_AddItemToObject(o, "rollouts", rollouts);
        mock_reply_json(reply, MHD_HTTP_OK, TAKE_PTR(o));
}

void mock_mgmt_handle(struct mock *m, const struct mock_request *req, const char *rest,
                      struct mock_reply *reply) {
        bool get = STREQ(req->method, "GET") || STREQ(req->method, "HEAD");
        const char *id;

        if (m->mgmt_token &&
            !mock_token_matches(MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_AUTHORIZATION),
                                "Bearer", m->mgmt_token)) {
                mock_reply_error(reply, MHD_HTTP_UNAUTHORIZED, "mock.unauthorized",
                                 "The management API needs \"Authorization: Bearer <token>\" "
                                 "(--mgmt-token)");
                return;
        }
        if (STREQ(rest, "groups") && (get || STREQ(req->method, "POST"))) {
                if (get)
                        mock_reply_json(reply, MHD_HTTP_OK,
                                        mock_groups_to_json(m->fleet, m->state));
                else
                        create_group(m, req, reply);
        } else if (STREQ(rest, "rollouts") && (get || STREQ(req->method, "POST"))) {
                if (get)
                        mock_reply_json(reply, MHD_HTTP_OK,
                                        mock_rollouts_to_json(m->fleet, m->state));
                else
                        create_rollout(m, req, reply);
        } else if ((id = strncmp(rest, "rollouts/", 9) == 0 ? rest + 9 : NULL)) {
                rollout_resource(m, req, id, reply);
        } else if ((id = strncmp(rest, "targets/", 8) == 0 ? rest + 8 : NULL) && get) {
                target_resource(m, id, reply);
        } else if (STREQ(rest, "deployments")) {
                if (STREQ(req->method, "POST"))
                        create_deployment(m, req, reply);
                else
                        mock_reply_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED,
                                         "mock.methodNotAllowed", "Use POST");
        } else if (STREQ(rest, "actions") && get) {
                const char *target =
                        MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "target");
                mock_reply_json(reply, MHD_HTTP_OK, mock_actions_to_json(m->state, target));
        } else if ((id = strncmp(rest, "actions/", 8) == 0 ? rest + 8 : NULL)) {
                action_resource(m, req, id, reply);
        } else if (STREQ(rest, "stats") && (get || STREQ(req->method, "DELETE"))) {
                if (!get)
                        mock_stats_reset();
                mock_reply_json(reply, MHD_HTTP_OK, mock_stats_to_json());
        } else if (STREQ(rest, "targets") && get) {
                mock_reply_json(reply, MHD_HTTP_OK, mock_targets_to_json(m->state));
        } else if (STREQ(rest, "outage") && STREQ(req->method, "POST")) {
                set_outage(m, req, reply);
        } else if (strncmp(rest, "faults", 6) == 0 && (rest[6] == '\0' || rest[6] == '/')) {
                mock_faults_handle(m, req, rest + 6, reply);
        } else
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.notFound",
                                 "No resource at %s for %s", req->path, req->method);
}
