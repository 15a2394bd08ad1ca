/* SPDX-License-Identifier: Apache-2.0 */
/* Fault injection through /mock/faults: the faults, their matching, and their management
 * resources. The request path carries the plan out (server.c, files.c). */
#include "fault.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"
#include "tender/json.h"
#include "tender/log.h"

#define FAULTS_MAX 64
#define FAULT_PATTERN_MAX 512
#define FAULT_LATENCY_MAX_MS 60000
#define FAULT_DRIBBLE_MAX_MS 1000
#define FAULT_RETRY_AFTER_MAX 86400
#define FAULT_REPLAY_MAX (1024 * 1024) /* TUF metadata, manifests: small files */
#define FAULT_ID_DIGITS_MAX 19

enum fault_kind {
        FAULT_LATENCY,
        FAULT_THROTTLE,
        FAULT_TRUNCATE,
        FAULT_RESET,
        FAULT_STATUS,
        FAULT_CORRUPT,
        FAULT_DRIBBLE,
        FAULT_REPLAY,
        _FAULT_KIND_MAX,
};

static const char *const kind_names[_FAULT_KIND_MAX] = {
        [FAULT_LATENCY] = "latency", [FAULT_THROTTLE] = "throttle", [FAULT_TRUNCATE] = "truncate",
        [FAULT_RESET] = "reset",     [FAULT_STATUS] = "status",     [FAULT_CORRUPT] = "corrupt",
        [FAULT_DRIBBLE] = "dribble", [FAULT_REPLAY] = "replay",
};

/* The one numeric parameter of each kind, its name and range (replay and reset: none). */
static const struct {
        const char *name;
        uint64_t min, max;
} kind_param[_FAULT_KIND_MAX] = {
        [FAULT_LATENCY] = {"ms", 1, FAULT_LATENCY_MAX_MS},
        [FAULT_THROTTLE] = {"bytesPerSecond", 1, UINT64_C(1) << 40},
        [FAULT_TRUNCATE] = {"bytes", 0, UINT64_C(1) << 53},
        [FAULT_STATUS] = {"status", 400, 599},
        [FAULT_CORRUPT] = {"offset", 0, UINT64_C(1) << 53},
        [FAULT_DRIBBLE] = {"ms", 1, FAULT_DRIBBLE_MAX_MS},
};

struct fault {
        uint64_t id;
        enum fault_kind kind;
        char pattern[FAULT_PATTERN_MAX + 1]; /* fnmatch(3) on the request path */
        char target[MOCK_CONTROLLER_ID_MAX + 1];
        uint64_t count; /* applies to the first count matches; 0: to all */
        uint64_t value; /* kind_param's */
        uint64_t retry_after;
        uint64_t matched; /* requests that matched */
        uint64_t applied; /* of them, those it was applied to */
        char *replay;
        size_t replay_len;
};

struct mock_faults {
        struct fault *v[FAULTS_MAX];
        size_t n;
        uint64_t next_id;
};

int mock_faults_new(struct mock_faults **ret) {
        struct mock_faults *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->next_id = 1;
        *ret = f;
        return 0;
}

static void fault_free(struct fault *x) {
        if (!x)
                return;
        free(x->replay);
        free(x);
}

static void faults_clear(struct mock_faults *f) {
        for (size_t i = 0; i < f->n; i++)
                fault_free(f->v[i]);
        f->n = 0;
}

void mock_faults_free(struct mock_faults *f) {
        if (!f)
                return;
        faults_clear(f);
        free(f);
}

static bool fault_matches(const struct fault *x, const char *path, const char *cid) {
        if (x->target[0] && (!cid || !STREQ(cid, x->target)))
                return false;
        return fnmatch(x->pattern, path, 0) == 0;
}

static void plan_add(struct mock_fault_plan *p, const struct fault *x) {
        switch (x->kind) {
        case FAULT_LATENCY:
                p->latency_ms += x->value;
                if (p->latency_ms > FAULT_LATENCY_MAX_MS)
                        p->latency_ms = FAULT_LATENCY_MAX_MS;
                break;
        case FAULT_THROTTLE:
                if (!p->throttle_bps || x->value < p->throttle_bps)
                        p->throttle_bps = x->value;
                break;
        case FAULT_TRUNCATE:
                if (!p->truncate || x->value < p->truncate_after)
                        p->truncate_after = x->value;
                p->truncate = true;
                break;
        case FAULT_RESET:
                p->reset = true;
                break;
        case FAULT_STATUS:
                if (!p->status) {
                        p->status = (unsigned) x->value;
                        p->retry_after = x->retry_after;
                }
                break;
        case FAULT_CORRUPT:
                if (!p->corrupt) {
                        p->corrupt = true;
                        p->corrupt_offset = x->value;
                }
                break;
        case FAULT_DRIBBLE:
                if (x->value > p->dribble_ms)
                        p->dribble_ms = x->value;
                break;
        case FAULT_REPLAY:
                if (!p->replay && (p->replay = malloc(x->replay_len ? x->replay_len : 1))) {
                        memcpy(p->replay, x->replay, x->replay_len);
                        p->replay_len = x->replay_len;
                }
                break;
        case _FAULT_KIND_MAX:
                break;
        }
}

void mock_fault_plan(struct mock_faults *f, const char *path, const char *cid,
                     struct mock_fault_plan *ret) {
        *ret = (struct mock_fault_plan){0};
        for (size_t i = 0; f && i < f->n; i++) {
                struct fault *x = f->v[i];
                if (!fault_matches(x, path, cid))
                        continue;
                x->matched++;
                if (x->count && x->applied >= x->count)
                        continue;
                x->applied++;
                plan_add(ret, x);
                log_debug("Fault %" PRIu64 " (%s) applied to %s", x->id, kind_names[x->kind], path);
        }
}

void mock_fault_plan_done(struct mock_fault_plan *p) {
        free(p->replay);
        p->replay = NULL;
}

static cJSON *fault_to_json(const struct fault *x) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        bool ok = cJSON_AddNumberToObject(o, "id", (double) x->id) &&
                  cJSON_AddStringToObject(o, "kind", kind_names[x->kind]) &&
                  cJSON_AddStringToObject(o, "path", x->pattern) &&
                  (!x->target[0] || cJSON_AddStringToObject(o, "target", x->target)) &&
                  cJSON_AddNumberToObject(o, "count", (double) x->count) &&
                  (!kind_param[x->kind].name ||
                   cJSON_AddNumberToObject(o, kind_param[x->kind].name, (double) x->value)) &&
                  (x->kind != FAULT_STATUS ||
                   cJSON_AddNumberToObject(o, "retryAfter", (double) x->retry_after)) &&
                  (x->kind != FAULT_REPLAY ||
                   cJSON_AddNumberToObject(o, "replayBytes", (double) x->replay_len)) &&
                  cJSON_AddNumberToObject(o, "matched", (double) x->matched) &&
                  cJSON_AddNumberToObject(o, "applied", (double) x->applied);
        return ok ? TAKE_PTR(o) : NULL;
}

static cJSON *faults_to_json(const struct mock_faults *f) {
        _cleanup_(cJSON_Deletep) cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; a && i < f->n; i++) {
                cJSON *o = fault_to_json(f->v[i]);
                if (!o || !cJSON_AddItemToArray(a, o)) {
                        cJSON_Delete(o);
                        return NULL;
                }
        }
        return TAKE_PTR(a);
}

/* replay: the content of file (below /repo/; default: the file the pattern names), as it is
 * now. A test keeps an earlier copy of TUF metadata in the repository and replays it. */
static int capture_replay(struct mock *m, struct fault *x, const char *file,
                          struct tender_error *err) {
        const char *name = file ? file : x->pattern;
        const char *rel = strncmp(name, "/repo/", 6) == 0 ? name + 6 : NULL;
        if (!rel || strpbrk(rel, "*?[\\"))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "replay: %s must name one file below /repo/, without "
                                        "wildcards",
                                        file ? "file" : "path");
        _cleanup_close_ int fd = mock_repo_open_file(m->repo, rel);
        if (fd < 0)
                return tender_error_set(err, TENDER_ERR_CONFIG, -fd, "replay: cannot open %s: %s",
                                        rel, strerror(-fd));
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = mock_read_fd(fd, FAULT_REPLAY_MAX, &buf, &len);
        if (r == -EFBIG)
                return tender_error_set(err, TENDER_ERR_CONFIG, EFBIG,
                                        "replay: %s is larger than %d bytes", rel,
                                        FAULT_REPLAY_MAX);
        if (r < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, -r, "replay: reading %s: %s", rel,
                                        strerror(-r));
        x->replay = TAKE_PTR(buf);
        x->replay_len = len;
        return 0;
}

static int parse_kind(const char *s, enum fault_kind *ret) {
        for (int k = 0; k < _FAULT_KIND_MAX; k++)
                if (STREQ(s, kind_names[k])) {
                        *ret = (enum fault_kind) k;
                        return 0;
                }
        return -EINVAL;
}

/* A fault from its JSON body; checked whole before anything changes. */
static int fault_from_json(struct mock *m, const cJSON *body, struct fault *x,
                           struct tender_error *err) {
        static const char *const keys[] = {"kind",   "path",       "target",         "count",
                                           "ms",     "bytes",      "bytesPerSecond", "status",
                                           "offset", "retryAfter", "file",           NULL};
        const char *kind = NULL, *path = NULL, *target = NULL, *file = NULL;
        int r;
        if ((r = tender_json_check_keys(body, "", keys, err)) < 0 ||
            (r = tender_json_get_string(body, "", "kind", true, &kind, err)) < 0 ||
            (r = tender_json_get_string(body, "", "path", true, &path, err)) < 0 ||
            (r = tender_json_get_string(body, "", "target", false, &target, err)) < 0 ||
            (r = tender_json_get_string(body, "", "file", false, &file, err)) < 0 ||
            (r = tender_json_get_u64(body, "", "count", false, &x->count, err)) < 0)
                return r;
        if (parse_kind(kind, &x->kind) < 0)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "kind: one of latency, throttle, truncate, reset, status, "
                                        "corrupt, dribble, replay");
        if (path[0] != '/' || strlen(path) > FAULT_PATTERN_MAX)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "path: a pattern starting with /, at most %d characters",
                                        FAULT_PATTERN_MAX);
        snprintf(x->pattern, sizeof(x->pattern), "%s", path);
        if (target && !mock_controller_id_valid(target))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "target: not a valid controller id");
        snprintf(x->target, sizeof(x->target), "%s", target ? target : "");

        const char *pname = kind_param[x->kind].name;
        for (int k = 0; k < _FAULT_KIND_MAX; k++) {
                const char *other = kind_param[k].name;
                if (other && (!pname || !STREQ(other, pname)) &&
                    cJSON_GetObjectItemCaseSensitive(body, other))
                        return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                                "%s: not a parameter of a %s fault", other, kind);
        }
        if (pname) {
                if ((r = tender_json_get_u64(body, "", pname, true, &x->value, err)) < 0)
                        return r;
                if (x->value < kind_param[x->kind].min || x->value > kind_param[x->kind].max)
                        return tender_error_set(err, TENDER_ERR_CONFIG, ERANGE,
                                                "%s: %" PRIu64 "-%" PRIu64, pname,
                                                kind_param[x->kind].min, kind_param[x->kind].max);
        }
        if (x->kind != FAULT_STATUS && cJSON_GetObjectItemCaseSensitive(body, "retryAfter"))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "retryAfter: only for a status fault");
        if ((r = tender_json_get_u64(body, "", "retryAfter", false, &x->retry_after, err)) < 0)
                return r;
        if (x->retry_after > FAULT_RETRY_AFTER_MAX)
                return tender_error_set(err, TENDER_ERR_CONFIG, ERANGE, "retryAfter: 0-%d",
                                        FAULT_RETRY_AFTER_MAX);
        if (x->kind != FAULT_REPLAY && file)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "file: only for a replay fault");
        if (x->kind == FAULT_REPLAY)
                return capture_replay(m, x, file, err);
        return 0;
}

static void add_fault(struct mock *m, const struct mock_request *req, struct mock_reply *reply) {
        struct mock_faults *f = m->faults;
        _cleanup_(cJSON_Deletep) cJSON *body = NULL;
        if (mock_request_json(req, reply, &body) < 0)
                return;
        if (f->n >= FAULTS_MAX) {
                mock_reply_error(reply, MHD_HTTP_INSUFFICIENT_STORAGE, "mock.faults",
                                 "At most %d faults at a time", FAULTS_MAX);
                return;
        }
        struct fault *x = calloc(1, sizeof(*x));
        struct tender_error err = {0};
        int r = x ? fault_from_json(m, body, x, &err) : -ENOMEM;
        if (r < 0) {
                fault_free(x);
                if (r == -ENOMEM)
                        mock_reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "mock.internal",
                                         "Out of memory");
                else
                        mock_reply_error(reply, MHD_HTTP_BAD_REQUEST, "mock.badRequest", "%s",
                                         err.message);
                return;
        }
        x->id = f->next_id++;
        f->v[f->n++] = x;
        log_info("Fault %" PRIu64 ": %s on %s%s%s", x->id, kind_names[x->kind], x->pattern,
                 x->target[0] ? " for " : "", x->target);
        mock_reply_json(reply, MHD_HTTP_CREATED, fault_to_json(x));
}

static size_t find_fault(const struct mock_faults *f, const char *id_text) {
        size_t len = strlen(id_text);
        uint64_t id = 0;
        bool ok = len > 0 && len <= FAULT_ID_DIGITS_MAX;
        for (size_t i = 0; ok && i < len; i++) {
                ok = id_text[i] >= '0' && id_text[i] <= '9';
                id = id * 10 + (uint64_t) (id_text[i] - '0');
        }
        for (size_t i = 0; ok && i < f->n; i++)
                if (f->v[i]->id == id)
                        return i;
        return SIZE_MAX;
}

static void one_fault(struct mock *m, const struct mock_request *req, const char *id_text,
                      struct mock_reply *reply) {
        struct mock_faults *f = m->faults;
        size_t i = find_fault(f, id_text);
        if (i == SIZE_MAX) {
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.faultNotFound", "No fault %.32s",
                                 id_text);
                return;
        }
        if (STREQ(req->method, "GET") || STREQ(req->method, "HEAD")) {
                mock_reply_json(reply, MHD_HTTP_OK, fault_to_json(f->v[i]));
        } else if (STREQ(req->method, "DELETE")) {
                struct fault *x = f->v[i];
                memmove(f->v + i, f->v + i + 1, (f->n - i - 1) * sizeof(f->v[0]));
                f->n--;
                log_info("Fault %" PRIu64 " removed", x->id);
                mock_reply_json(reply, MHD_HTTP_OK, fault_to_json(x));
                fault_free(x);
        } else
                mock_reply_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED, "mock.methodNotAllowed",
                                 "Use GET or DELETE");
}

void mock_faults_handle(struct mock *m, const struct mock_request *req, const char *rest,
                        struct mock_reply *reply) {
        bool get = STREQ(req->method, "GET") || STREQ(req->method, "HEAD");
        if (rest[0] == '/' && rest[1]) {
                one_fault(m, req, rest + 1, reply);
        } else if (rest[0] == '\0' && STREQ(req->method, "POST")) {
                add_fault(m, req, reply);
        } else if (rest[0] == '\0' && (get || STREQ(req->method, "DELETE"))) {
                cJSON *list = faults_to_json(m->faults);
                if (!get) {
                        faults_clear(m->faults);
                        log_info("All faults removed");
                }
                mock_reply_json(reply, MHD_HTTP_OK, list);
        } else
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.notFound",
                                 "No resource at %s for %s", req->path, req->method);
}
