/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP plumbing over libmicrohttpd: request bodies (capped), routing to the DDI, management
 * and file handlers, and hawkBit-style JSON replies. MHD runs one internal polling thread;
 * handlers run with mock->lock held.
 */
#pragma once

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>

#include "fault.h"
#include "repo.h"
#include "rollout.h"
#include "state.h"
#include "tender/macro.h"

#define MOCK_BODY_MAX (64 * 1024)      /* request bodies; bigger ones get 413 */
#define MOCK_JSON_MAX_DEPTH 16         /* nesting in request bodies */
#define MOCK_CONNECTION_LIMIT 256      /* concurrent connections */
#define MOCK_CONNECTION_TIMEOUT_SEC 60 /* idle connections are closed */

/* Names of libmicrohttpd 0.9.74+, for older headers. */
#ifndef MHD_HTTP_CONTENT_TOO_LARGE
#define MHD_HTTP_CONTENT_TOO_LARGE 413
#endif
#ifndef MHD_HTTP_RANGE_NOT_SATISFIABLE
#define MHD_HTTP_RANGE_NOT_SATISFIABLE 416
#endif

#if MHD_VERSION < 0x00097002
typedef int mock_mhd_result;
#else
typedef enum MHD_Result mock_mhd_result;
#endif

struct mock {
        pthread_mutex_t lock;
        struct mock_state *state;
        struct mock_fleet *fleet; /* groups and rollouts (rollout.c) */
        const char *state_path;   /* --state: saved after each change; NULL: memory only */
        bool state_dirty;         /* a change not saved yet (polls that registered a target) */
        const char *mgmt_token;   /* NULL: /mock/ needs no authorization */
        struct mock_repo *repo;
        const char *tenant;         /* DDI tenant, compared case-insensitively like hawkBit */
        const char *poll_sleep;     /* "HH:MM:SS" */
        const char *target_token;   /* NULL: DDI needs no authorization */
        const char *gateway_token;  /* either token is accepted when both are set */
        const char *base_url;       /* prefix of every link the mock hands out, no trailing '/' */
        uint64_t throttle_bps;      /* fault injection: blob bytes per second, 0 = unlimited */
        uint64_t outage_polls;      /* fault injection: polls still to answer 503 (/mock/outage) */
        struct mock_faults *faults; /* fault injection: /mock/faults (fault.c) */
};

struct mock_request {
        struct MHD_Connection *conn;
        const char *method;
        const char *path; /* decoded, without the query */
        const char *body;
        size_t body_len;
        const struct mock_fault_plan *fault; /* what the matching faults ask (fault.h) */
};

struct mock_reply {
        unsigned status;
        struct MHD_Response *response; /* NULL: an empty body is sent */
};

/* Sets a JSON reply (application/json). Takes ownership of json; NULL json means ENOMEM. */
void mock_reply_json(struct mock_reply *reply, unsigned status, cJSON *json);
/* {"errorCode": code, "message": ...} as hawkBit sends errors. */
void mock_reply_error(struct mock_reply *reply, unsigned status, const char *code, const char *fmt,
                      ...) _printf_(4, 5);
/* Parses the request body as a JSON object; on failure sets a 400 reply and returns < 0. */
int mock_request_json(const struct mock_request *req, struct mock_reply *reply, cJSON **ret);

/* Whether header h is "<scheme> <token>" (scheme case-insensitive), compared in constant
 * time. False without a token or a header. */
bool mock_token_matches(const char *h, const char *scheme, const char *token);

/* Saves the state file (when there is one); with m->lock held. Logs and returns < 0 on
 * failure. */
int mock_save(struct mock *m);

/* The MHD access handler and completion callback; cls is the struct mock. */
mock_mhd_result mock_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls);
void mock_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe);

/* Handlers: rest is the path after their prefix. */
void mock_ddi_handle(struct mock *m, const struct mock_request *req, const char *tenant,
                     const char *rest, struct mock_reply *reply);
void mock_mgmt_handle(struct mock *m, const struct mock_request *req, const char *rest,
                      struct mock_reply *reply);
void mock_files_handle(struct mock *m, const struct mock_request *req, const char *rest,
                       struct mock_reply *reply);
