/* SPDX-License-Identifier: Apache-2.0 */
#include "monitor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynlib.h"
#include "status.h"
#include "tender/log.h"
#include "tender/macro.h"
#include "update.h"

#define MONITOR_CONNECTIONS 8
#define MONITOR_TIMEOUT_SEC 10
#define MONITOR_BODY_MAX (256 * 1024)

static struct MHD_Daemon *daemon_;

/* libmicrohttpd's functions this file calls, loaded when monitor.port is set (dynlib.h). */
#define MHD_FUNCS(X)                                                                               \
        X(start_daemon)                                                                            \
        X(stop_daemon)                                                                             \
        X(get_daemon_info)                                                                         \
        X(create_response_from_buffer)                                                             \
        X(add_response_header)                                                                     \
        X(queue_response)                                                                          \
        X(destroy_response)
#define MHD_FIELD(f) typeof(&MHD_##f) f;
#define MHD_SYM(f) {"MHD_" #f, (void **) &mhd.f},
static struct { MHD_FUNCS(MHD_FIELD) } mhd;

static int load_microhttpd(struct tender_error *err) {
        static const struct dynlib_sym syms[] = {MHD_FUNCS(MHD_SYM)};
        return dynlib_load(TENDER_MHD_SONAME, "monitor.port", syms, ELEMENTSOF(syms), err);
}

/* A growing text buffer; on overflow it stops growing and the reply is an error. */
struct text {
        char *buf;
        size_t len, size;
        bool failed;
};

static void put(struct text *t, const char *fmt, ...) _printf_(2, 3);
static void put(struct text *t, const char *fmt, ...) {
        va_list ap;
        for (;;) {
                size_t room = t->size - t->len;
                va_start(ap, fmt);
                int n = t->buf ? vsnprintf(t->buf + t->len, room, fmt, ap) : -1;
                va_end(ap);
                if (n >= 0 && (size_t) n < room) {
                        t->len += (size_t) n;
                        return;
                }
                size_t size = t->size ? t->size * 2 : 4096;
                char *b = size <= MONITOR_BODY_MAX ? realloc(t->buf, size) : NULL;
                if (!b) {
                        t->failed = true;
                        return;
                }
                t->buf = b;
                t->size = size;
        }
}

/* A label value in the exposition format: backslash, quote and newline escaped. The strings
 * of the status document are already escaped (tender_escape), so only \ and " occur. */
static const char *label(const char *s, char *buf, size_t size) {
        size_t o = 0;
        for (; s && *s && o + 3 < size; s++) {
                if (*s == '\\' || *s == '"')
                        buf[o++] = '\\';
                buf[o++] = *s == '\n' ? 'n' : *s;
        }
        buf[o] = '\0';
        return buf;
}

static const char *str_of(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsString(v) ? v->valuestring : "";
}

static void gauge(struct text *t, const char *name, const char *type, const char *help) {
        put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample per app that has the number at path (key, or resources.key). */
static void per_app(struct text *t, const cJSON *apps, const char *name, const char *type,
                    const char *help, const char *key, bool in_resources) {
        const cJSON *app;
        char l[256];
        gauge(t, name, type, help);
        cJSON_ArrayForEach(app, apps) {
                const cJSON *src =
                        in_resources ? cJSON_GetObjectItemCaseSensitive(app, "resources") : app;
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);
                if (cJSON_IsNumber(v) || cJSON_IsBool(v))
                        put(t, "%s{app=\"%s\"} %.17g\n", name,
                            label(str_of(app, "name"), l, sizeof(l)),
                            cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? 1.0 : 0.0) : v->valuedouble);
        }
}

static void scalar(struct text *t, const cJSON *o, const char *key, const char *name,
                   const char *type, const char *help) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        if (!cJSON_IsNumber(v))
                return;
        gauge(t, name, type, help);
        put(t, "%s %.17g\n", name, v->valuedouble);
}

static void metrics(struct text *t, const cJSON *doc) {
        const cJSON *agent = cJSON_GetObjectItemCaseSensitive(doc, "agent");
        const cJSON *apps = cJSON_GetObjectItemCaseSensitive(doc, "apps");
        const cJSON *store = cJSON_GetObjectItemCaseSensitive(doc, "store");
        const cJSON *queue = cJSON_GetObjectItemCaseSensitive(doc, "queue");
        const cJSON *app;
        char l1[256], l2[256];

        gauge(t, "tender_info", "gauge", "tenderd's version and device id.");
        put(t, "tender_info{version=\"%s\",device=\"%s\"} 1\n",
            label(str_of(agent, "version"), l1, sizeof(l1)),
            label(str_of(doc, "device"), l2, sizeof(l2)));
        gauge(t, "tender_update_in_progress", "gauge", "1 while an update runs.");
        put(t, "tender_update_in_progress %d\n", STREQ(str_of(agent, "state"), "updating"));
        gauge(t, "tender_app_info", "gauge", "The current version of each app.");
        cJSON_ArrayForEach(app, apps) put(t, "tender_app_info{app=\"%s\",version=\"%s\"} 1\n",
                                          label(str_of(app, "name"), l1, sizeof(l1)),
                                          label(str_of(app, "version"), l2, sizeof(l2)));
        per_app(t, apps, "tender_app_healthy", "gauge", "1 when the app's container runs.",
                "healthy", false);
        per_app(t, apps, "tender_app_restarts_total", "counter",
                "Restarts by the restart policy since tenderd started.", "restarts", false);
        per_app(t, apps, "tender_app_memory_bytes", "gauge", "Memory in use by the app's cgroup.",
                "memoryBytes", true);
        per_app(t, apps, "tender_app_cpu_seconds_total", "counter", "CPU time of the app's cgroup.",
                "cpuSeconds", true);
        per_app(t, apps, "tender_app_pids", "gauge", "Processes in the app's cgroup.", "pids",
                true);
        per_app(t, apps, "tender_app_oom_kills_total", "counter", "OOM kills in the app's cgroup.",
                "oomKills", true);
        scalar(t, store, "usedBytes", "tender_store_used_bytes", "gauge",
               "Disk use of the store's blobs, layers and tmp.");
        scalar(t, store, "budgetBytes", "tender_store_budget_bytes", "gauge",
               "store.budgetBytes (0: none).");
        scalar(t, store, "freeBytes", "tender_store_free_bytes", "gauge",
               "Free space on the store's file system.");
        scalar(t, queue, "length", "tender_mqtt_queue_events", "gauge",
               "Events waiting for the MQTT broker.");
        scalar(t, queue, "dropped", "tender_mqtt_queue_dropped_total", "counter",
               "Events dropped from the full MQTT queue.");
}

/* 200 when every app runs, else 503 with the names of the others. */
static unsigned healthz(struct text *t, const cJSON *doc) {
        const cJSON *app;
        unsigned code = MHD_HTTP_OK;
        cJSON_ArrayForEach(app, cJSON_GetObjectItemCaseSensitive(doc, "apps")) {
                if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(app, "healthy")))
                        continue;
                if (code == MHD_HTTP_OK)
                        put(t, "unhealthy:");
                code = MHD_HTTP_SERVICE_UNAVAILABLE;
                put(t, " %s", str_of(app, "name"));
        }
        put(t, code == MHD_HTTP_OK ? "ok\n" : "\n");
        return code;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
                             struct text *t) {
        struct MHD_Response *r =
                mhd.create_response_from_buffer(t->len, t->buf, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(t->buf);
                return MHD_NO;
        }
        mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        enum MHD_Result ret = mhd.queue_response(c, code, r);
        mhd.destroy_response(r);
        return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state) {
        struct agent *a = cls;
        struct text t = {0};
        unsigned code;
        (void) version, (void) upload;
        if (!*state) { /* the headers: wait for the (empty) body */
                *state = c;
                return MHD_YES;
        }
        if (*upload_size) /* a body: refused below, not read */
                *upload_size = 0;
        if (!STREQ(method, "GET") && !STREQ(method, "HEAD")) {
                put(&t, "method not allowed\n");
                return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", &t);
        }
        bool is_metrics = STREQ(url, "/metrics");
        if (!is_metrics && !STREQ(url, "/healthz")) {
                put(&t, "not found: /healthz, /metrics\n");
                return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", &t);
        }
        cJSON *doc = status_json(a);
        if (is_metrics) {
                metrics(&t, doc);
                code = MHD_HTTP_OK;
        } else
                code = healthz(&t, doc);
        cJSON_Delete(doc);
        if (t.failed) {
                free(t.buf);
                t = (struct text){0};
                put(&t, "out of memory\n");
                code = MHD_HTTP_INTERNAL_SERVER_ERROR;
        }
        return reply(c, code,
                     is_metrics && code == MHD_HTTP_OK ? "text/plain; version=0.0.4" : "text/plain",
                     &t);
}

int monitor_start(struct agent *a, struct tender_error *err) {
        const struct tender_config *cfg = a->cfg;
        if (!cfg->monitor_enabled)
                return 0;
        int r = load_microhttpd(err);
        if (r < 0)
                return tender_error_prefix(err, "monitor");
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t) cfg->monitor_port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        daemon_ = mhd.start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                                   (uint16_t) cfg->monitor_port, NULL, NULL, handle, a,
                                   MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_LIMIT,
                                   (unsigned) MONITOR_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                                   (unsigned) MONITOR_TIMEOUT_SEC, MHD_OPTION_END);
        if (!daemon_)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EADDRINUSE,
                                        "monitor: cannot listen on 127.0.0.1:%llu",
                                        (unsigned long long) cfg->monitor_port);
        const union MHD_DaemonInfo *info = mhd.get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
        log_info("Monitor: serving /healthz and /metrics on http://127.0.0.1:%u",
                 info ? (unsigned) info->port : (unsigned) cfg->monitor_port);
        return 0;
}

void monitor_stop(void) {
        if (daemon_)
                mhd.stop_daemon(daemon_);
        daemon_ = NULL;
}
