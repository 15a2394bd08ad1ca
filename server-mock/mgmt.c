/* SPDX-License-Identifier: Apache-2.0 */
/* The mock's own management API (not hawkBit's): deployments, actions and targets for
 * tests and demos. Documented in docs/server-mock.md. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "server.h"
#include "stats.h"
#include "tender/json.h"
#include "tender/log.h"
#include "tender/manifest.h"

#define ACTION_ID_DIGITS_MAX 19

static void create_deployment(struct mock *m, const struct mock_request *req,
                              struct mock_reply *reply) {
        static const char *const keys[] = {"target", "app", "version", NULL};
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
        log_info("Action %" PRIu64 ": %s %s for %s", a->id, app, version, target);
        cJSON *o = cJSON_CreateObject();
        if (o && !cJSON_AddNumberToObject(o, "actionId", (double) a->id)) {
                cJSON_Delete(o);
                o = NULL;
        }
        mock_reply_json(reply, MHD_HTTP_CREATED, o);
}

static void get_action(struct mock *m, const char *id_text, struct mock_reply *reply) {
        size_t len = strlen(id_text);
        uint64_t id = 0;
        bool ok = len > 0 && len <= ACTION_ID_DIGITS_MAX;
        for (size_t i = 0; ok && i < len; i++) {
                ok = id_text[i] >= '0' && id_text[i] <= '9';
                id = id * 10 + (uint64_t) (id_text[i] - '0');
        }
        struct mock_action *a = ok ? mock_action_get(m->state, id) : NULL;
        if (!a) {
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.actionNotFound", "No action %s",
                                 id_text);
                return;
        }
        mock_reply_json(reply, MHD_HTTP_OK, mock_action_to_json(a));
}

void mock_mgmt_handle(struct mock *m, const struct mock_request *req, const char *rest,
                      struct mock_reply *reply) {
        bool get = STREQ(req->method, "GET") || STREQ(req->method, "HEAD");
        const char *id;

        if (STREQ(rest, "deployments")) {
                if (STREQ(req->method, "POST"))
                        create_deployment(m, req, reply);
                else
                        mock_reply_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED,
                                         "mock.methodNotAllowed", "Use POST");
        } else if (STREQ(rest, "actions") && get) {
                const char *target =
                        MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "target");
                mock_reply_json(reply, MHD_HTTP_OK, mock_actions_to_json(m->state, target));
        } else if ((id = strncmp(rest, "actions/", 8) == 0 ? rest + 8 : NULL) && get) {
                get_action(m, id, reply);
        } else if (STREQ(rest, "stats") && (get || STREQ(req->method, "DELETE"))) {
                if (!get)
                        mock_stats_reset();
                mock_reply_json(reply, MHD_HTTP_OK, mock_stats_to_json());
        } else if (STREQ(rest, "targets") && get) {
                mock_reply_json(reply, MHD_HTTP_OK, mock_targets_to_json(m->state));
        } else
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.notFound",
                                 "No resource at %s for %s", req->path, req->method);
}
