/* SPDX-License-Identifier: Apache-2.0 */
#include "server.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "persist.h"
#include "tender/json.h"
#include "tender/log.h"

#define TENANT_MAX 128
#define DDI_INFIX "/controller/v1/"

struct request_ctx {
        char *body;
        size_t len;
        bool too_large;
        bool replied; /* a reply went out before the body was read */
};

void mock_reply_json(struct mock_reply *reply, unsigned status, cJSON *json) {
        char *text = json ? cJSON_PrintUnformatted(json) : NULL;
        cJSON_Delete(json);
        if (reply->response)
                MHD_destroy_response(reply->response);
        reply->response = NULL;
        reply->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (!text)
                return;
        reply->response =
                MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (!reply->response) {
                free(text);
                return;
        }
        MHD_add_response_header(reply->response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        reply->status = status;
}

void mock_reply_error(struct mock_reply *reply, unsigned status, const char *code, const char *fmt,
                      ...) {
        char message[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        cJSON *o = cJSON_CreateObject();
        if (o && (!cJSON_AddStringToObject(o, "errorCode", code) ||
                  !cJSON_AddStringToObject(o, "message", message))) {
                cJSON_Delete(o);
                o = NULL;
        }
        mock_reply_json(reply, status, o);
        if (status == MHD_HTTP_UNAUTHORIZED && reply->response)
                MHD_add_response_header(reply->response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                        "TargetToken");
}

int mock_request_json(const struct mock_request *req, struct mock_reply *reply, cJSON **ret) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *json = NULL;
        int r = tender_json_parse(req->body ? req->body : "", req->body_len, MOCK_BODY_MAX,
                                  MOCK_JSON_MAX_DEPTH, &json, &err);
        if (r < 0) {
                mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badRequest",
                                 "Malformed JSON body: %s", err.message);
                return r;
        }
        if (!cJSON_IsObject(json)) {
                mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badRequest",
                                 "The body must be a JSON object");
                return -EINVAL;
        }
        *ret = TAKE_PTR(json);
        return 0;
}

bool mock_token_matches(const char *h, const char *scheme, const char *token) {
        size_t n = strlen(scheme);
        if (!token || !h || strncasecmp(h, scheme, n) != 0 || h[n] != ' ')
                return false;
        h += n + 1;
        while (*h == ' ')
                h++;
        /* Compare without an early exit, so that the time taken does not leak a prefix. */
        size_t a = strlen(h), b = strlen(token);
        unsigned diff = a != b;
        for (size_t i = 0; i < a && i < b; i++)
                diff |= (unsigned char) h[i] ^ (unsigned char) token[i];
        return diff == 0;
}

int mock_save(struct mock *m) {
        if (!m->state_path)
                return 0;
        struct tender_error err = {0};
        int r = mock_persist_save(m->state_path, m->state, m->fleet, &err);
        /* The document was built whole (a cJSON tree and its text, megabytes for a big
         * fleet): hand the freed heap back rather than keep it per device. */
        malloc_trim(0);
        if (r < 0) {
                log_error("%s", err.message);
                return r;
        }
        m->state_dirty = false;
        return 0;
}

/* After a request: rollouts move on by what it changed, and a change that matters is saved
 * before the client hears it went through: an action opened or closed, anything done through
 * the management API. What devices send again by themselves (a poll that registered a
 * target, configData, feedback that closes nothing) is saved by the main thread within a
 * second, so that 10,000 devices reporting at once do not write the file 10,000 times. */
static void commit(struct mock *m, const struct mock_request *req, size_t n_targets_before,
                   uint64_t generation_before, struct mock_reply *reply) {
        if (STREQ(req->method, "GET") || STREQ(req->method, "HEAD")) {
                if (mock_state_n_targets(m->state) != n_targets_before)
                        m->state_dirty = true;
                return;
        }
        mock_fleet_tick(m->fleet, m->state, (int64_t) time(NULL));
        if (mock_state_generation() == generation_before && strncmp(req->path, "/mock/", 6) != 0) {
                m->state_dirty = true;
                return;
        }
        if (mock_save(m) < 0)
                mock_reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "mock.stateNotSaved",
                                 "The change could not be saved to the state file");
}

static const char *startswith(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

static void dispatch(struct mock *m, const struct mock_request *req, struct mock_reply *reply) {
        const char *rest;
        if ((rest = startswith(req->path, "/repo/"))) {
                mock_files_handle(m, req, rest, reply);
                return;
        }
        if ((rest = startswith(req->path, "/mock/"))) {
                mock_mgmt_handle(m, req, rest, reply);
                return;
        }
        /* /{tenant}/controller/v1/{controllerId}[/...] */
        const char *tenant = req->path + 1;
        const char *slash = req->path[0] == '/' ? strchr(tenant, '/') : NULL;
        size_t tenant_len = slash ? (size_t) (slash - tenant) : 0;
        if (tenant_len > 0 && tenant_len <= TENANT_MAX && (rest = startswith(slash, DDI_INFIX))) {
                char name[TENANT_MAX + 1];
                memcpy(name, tenant, tenant_len);
                name[tenant_len] = '\0';
                mock_ddi_handle(m, req, name, rest, reply);
                return;
        }
        mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.notFound", "No resource at %s",
                         req->path);
}

/* The faults matching a request (none for the management API itself); DDI requests name their
 * controller id, which per-device faults match. */
static void fault_plan(struct mock *m, const char *path, struct mock_fault_plan *ret) {
        *ret = (struct mock_fault_plan){0};
        if (startswith(path, "/mock/"))
                return;
        char cid[MOCK_CONTROLLER_ID_MAX + 1];
        const char *p = strstr(path, DDI_INFIX), *id = NULL;
        if (p && !startswith(path, "/repo/")) {
                p += strlen(DDI_INFIX);
                size_t n = strcspn(p, "/");
                if (n > 0 && n <= MOCK_CONTROLLER_ID_MAX) {
                        memcpy(cid, p, n);
                        cid[n] = '\0';
                        id = cid;
                }
        }
        mock_fault_plan(m->faults, path, id, ret);
}

/* A status storm: the status with hawkBit's error shape and Retry-After when set. */
static void fault_status(const struct mock_fault_plan *p, struct mock_reply *reply) {
        mock_reply_error(reply, p->status, "mock.fault", "Injected fault: status %u", p->status);
        char ra[32];
        snprintf(ra, sizeof(ra), "%llu", (unsigned long long) p->retry_after);
        if (p->retry_after && reply->response)
                MHD_add_response_header(reply->response, MHD_HTTP_HEADER_RETRY_AFTER, ra);
}

static void sleep_ms(uint64_t ms) {
        struct timespec ts = {.tv_sec = (time_t) (ms / 1000),
                              .tv_nsec = (long) (ms % 1000) * 1000000};
        while (ms && nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* A connection reset: SO_LINGER 0 makes the close send RST; MHD_NO makes MHD close. */
static mock_mhd_result fault_reset(struct MHD_Connection *conn, const char *method,
                                   const char *url) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        if (ci)
                (void) setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        log_info("%s %s -> connection reset (fault)", method, url);
        return MHD_NO;
}

static mock_mhd_result queue(struct MHD_Connection *conn, struct mock_reply *reply,
                             const char *method, const char *url) {
        if (!reply->response) {
                if (reply->status == 0)
                        reply->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                reply->response = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
                if (!reply->response)
                        return MHD_NO;
        }
        log_info("%s %s -> %u", method, url, reply->status);
        mock_mhd_result r = MHD_queue_response(conn, reply->status, reply->response);
        MHD_destroy_response(reply->response);
        reply->response = NULL;
        return r;
}

static void too_large(struct mock_reply *reply) {
        mock_reply_error(reply, MHD_HTTP_CONTENT_TOO_LARGE, "mock.tooLarge",
                         "Request bodies are limited to %u bytes", (unsigned) MOCK_BODY_MAX);
}

mock_mhd_result mock_access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls) {
        struct mock *m = cls;
        struct request_ctx *ctx = *con_cls;

        if (!ctx) {
                ctx = calloc(1, sizeof(*ctx));
                if (!ctx)
                        return MHD_NO;
                *con_cls = ctx;
                /* Refuse a declared oversize body before reading it (and before curl's
                 * "Expect: 100-continue" gets its go-ahead). */
                const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
                if (cl && strtoull(cl, NULL, 10) > MOCK_BODY_MAX) {
                        struct mock_reply reply = {0};
                        too_large(&reply);
                        ctx->replied = true;
                        return queue(conn, &reply, method, url);
                }
                return MHD_YES;
        }

        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                if (ctx->replied || ctx->too_large)
                        return MHD_YES;
                if (ctx->len + n > MOCK_BODY_MAX) {
                        ctx->too_large = true;
                        free(ctx->body);
                        ctx->body = NULL;
                        return MHD_YES;
                }
                char *p = realloc(ctx->body, ctx->len + n + 1);
                if (!p)
                        return MHD_NO;
                memcpy(p + ctx->len, upload_data, n);
                ctx->body = p;
                ctx->len += n;
                ctx->body[ctx->len] = '\0';
                return MHD_YES;
        }
        if (ctx->replied)
                return MHD_YES;

        struct mock_reply reply = {0};
        if (ctx->too_large)
                too_large(&reply);
        else {
                struct mock_request req = {
                        .conn = conn,
                        .method = method,
                        .path = url,
                        .body = ctx->body,
                        .body_len = ctx->len,
                };
                struct mock_fault_plan plan = {0};
                pthread_mutex_lock(&m->lock);
                size_t n_targets = mock_state_n_targets(m->state);
                uint64_t generation = mock_state_generation();
                fault_plan(m, url, &plan);
                req.fault = &plan;
                if (plan.status)
                        fault_status(&plan, &reply);
                else if (!plan.reset) {
                        dispatch(m, &req, &reply);
                        commit(m, &req, n_targets, generation, &reply);
                }
                pthread_mutex_unlock(&m->lock);
                sleep_ms(plan.latency_ms);
                mock_fault_plan_done(&plan);
                if (plan.reset) {
                        if (reply.response)
                                MHD_destroy_response(reply.response);
                        return fault_reset(conn, method, url);
                }
        }
        ctx->replied = true;
        return queue(conn, &reply, method, url);
}

void mock_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe) {
        struct request_ctx *ctx = *con_cls;
        if (!ctx)
                return;
        free(ctx->body);
        free(ctx);
        *con_cls = NULL;
}
