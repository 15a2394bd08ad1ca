/* SPDX-License-Identifier: Apache-2.0 */
#include "mqtt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "control.h"
#include "control_req.h"
#include "dynlib.h"
#include "mqtt_queue.h"
#include "report.h"
#include "status.h"
#include "tender/json.h"
#include "tender/log.h"
#include "tender/manifest.h"
#include "update.h"

#define TOPIC_MAX 256
#define RECONNECT_MIN_SEC 1
#define RECONNECT_MAX_SEC 60
#define COMMAND_MAX 4096  /* bytes of a command payload */
#define COMMAND_ID_MAX 64 /* bytes of its id */

static struct {
        pthread_mutex_t mutex; /* everything below, between the main loop and the client thread */
        struct mosquitto *mosq;
        struct mqtt_queue *queue;
        const char *device;
        char status_topic[TOPIC_MAX], events_topic[TOPIC_MAX], avail_topic[TOPIC_MAX];
        char broker[300]; /* "host:port (TLS)", for the errors */
        char command_topic[TOPIC_MAX], result_topic[TOPIC_MAX];
        bool commands;
        struct {
                bool queued;
                char id[COMMAND_ID_MAX + 1], app[TENDER_NAME_MAX + 1];
        } rollback; /* the one rollback the main loop runs next */
        bool connected, warned;
        bool inflight; /* the queue's head is published, its PUBACK awaited */
        int inflight_mid;
        uint64_t inflight_seq;
        uint64_t telemetry_sec; /* mqtt.statusIntervalSeconds */
        char *status;           /* the last status document, sent again at each connect */
} mq = {.mutex = PTHREAD_MUTEX_INITIALIZER};

/* libmosquitto's functions this file calls, loaded when mqtt is configured (dynlib.h). */
#define MOSQ_FUNCS(X)                                                                              \
        X(lib_init)                                                                                \
        X(lib_cleanup)                                                                             \
        X(new)                                                                                     \
        X(destroy)                                                                                 \
        X(strerror)                                                                                \
        X(connack_string)                                                                          \
        X(publish)                                                                                 \
        X(subscribe)                                                                               \
        X(connect_callback_set)                                                                    \
        X(disconnect_callback_set)                                                                 \
        X(publish_callback_set)                                                                    \
        X(log_callback_set)                                                                        \
        X(message_callback_set)                                                                    \
        X(will_set)                                                                                \
        X(tls_set)                                                                                 \
        X(tls_opts_set)                                                                            \
        X(reconnect_delay_set)                                                                     \
        X(int_option)                                                                              \
        X(connect_async)                                                                           \
        X(loop_start)                                                                              \
        X(loop_stop)                                                                               \
        X(disconnect)
#define MOSQ_FIELD(f) typeof(&mosquitto_##f) f;
#define MOSQ_SYM(f) {"mosquitto_" #f, (void **) &mo.f},
static struct { MOSQ_FUNCS(MOSQ_FIELD) } mo;

static int load_mosquitto(struct tender_error *err) {
        static const struct dynlib_sym syms[] = {MOSQ_FUNCS(MOSQ_SYM)};
        return dynlib_load(TENDER_MOSQUITTO_SONAME, "mqtt.host", syms, ELEMENTSOF(syms), err);
}

static const char *availability(bool online, const char *why) {
        static char buf[128];
        snprintf(buf, sizeof(buf), "{\"online\":%s,\"reason\":\"%s\"}", online ? "true" : "false",
                 why);
        return buf;
}

/* Publishes the queue's head unless one is in flight (mutex held). QoS 1 with one message in
 * flight at a time: the broker gets the events in queue order. */
static void pump(void) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        uint64_t seq;
        int mid;
        if (!mq.connected || mq.inflight || mqtt_queue_peek(mq.queue, &data, &len, &seq) < 0)
                return;
        int r = mo.publish(mq.mosq, &mid, mq.events_topic, (int) len, data, 1, false);
        if (r != MOSQ_ERR_SUCCESS) {
                log_debug("MQTT: event %" PRIu64 " not published: %s", seq, mo.strerror(r));
                return; /* sent again at the next connect */
        }
        mq.inflight = true;
        mq.inflight_mid = mid;
        mq.inflight_seq = seq;
}

static void publish_retained(const char *topic, const char *payload) {
        if (payload)
                (void) mo.publish(mq.mosq, NULL, topic, (int) strlen(payload), payload, 1, true);
}

static void on_connect(struct mosquitto *m, void *ud, int rc) {
        (void) m, (void) ud;
        pthread_mutex_lock(&mq.mutex);
        if (rc != 0) {
                log_warning("MQTT: the broker refused the connection: %s", mo.connack_string(rc));
                mq.warned = true;
        } else {
                log_info("MQTT: connected; %" PRIu64 " queued events to send",
                         mqtt_queue_length(mq.queue));
                mq.connected = true;
                mq.warned = false;
                mq.inflight = false; /* what was in flight goes again: at least once */
                publish_retained(mq.avail_topic, availability(true, "running"));
                publish_retained(mq.status_topic, mq.status);
                if (mq.commands)
                        (void) mo.subscribe(mq.mosq, NULL, mq.command_topic, 1);
                pump();
        }
        pthread_mutex_unlock(&mq.mutex);
}

static void on_disconnect(struct mosquitto *m, void *ud, int rc) {
        (void) m, (void) ud;
        pthread_mutex_lock(&mq.mutex);
        if (mq.connected && rc != 0)
                log_warning("MQTT: lost the broker (%s); events wait in the store",
                            mo.strerror(rc));
        mq.connected = false;
        mq.inflight = false;
        pthread_mutex_unlock(&mq.mutex);
}

static void on_publish(struct mosquitto *m, void *ud, int mid) {
        (void) m, (void) ud;
        pthread_mutex_lock(&mq.mutex);
        if (mq.inflight && mid == mq.inflight_mid) {
                (void) mqtt_queue_pop(mq.queue, mq.inflight_seq);
                mq.inflight = false;
                pump();
        }
        pthread_mutex_unlock(&mq.mutex);
}

/* libmosquitto's own errors (TLS handshake, connect): the first of an outage is a warning,
 * escaped by the log sink; the retries after it are debug. */
static void on_log(struct mosquitto *m, void *ud, int level, const char *msg) {
        (void) m, (void) ud;
        if (level != MOSQ_LOG_ERR && level != MOSQ_LOG_WARNING) {
                log_debug("MQTT: %s", msg);
                return;
        }
        pthread_mutex_lock(&mq.mutex);
        bool first = !mq.warned;
        mq.warned = true;
        pthread_mutex_unlock(&mq.mutex);
        /* OpenSSL says only "certificate verify failed": name what to look at. */
        const char *hint = strstr(msg, "certificate verify failed")
                                   ? " (the broker's certificate is not signed by mqtt.caFile, "
                                     "has expired or is not yet valid, or does not name the host)"
                                   : "";
        tender_log(first ? LOG_WARNING : LOG_DEBUG, NULL,
                   "MQTT: broker %s: %s%s; events wait in the store, retrying", mq.broker, msg,
                   hint);
}

/* Answers a command on <prefix>/<id>/command/result (QoS 1, not retained). */
static void answer(const char *id, const char *command, bool ok, const char *message) {
        cJSON *o = cJSON_CreateObject();
        status_add_text(o, "id", id);
        status_add_text(o, "command", command);
        cJSON_AddBoolToObject(o, "ok", ok);
        status_add_text(o, "message", message);
        status_add_time(o);
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (s)
                (void) mo.publish(mq.mosq, NULL, mq.result_topic, (int) strlen(s), s, 1, false);
        free(s);
}

static const char *json_str(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A command (docs/mqtt.md, "Commands"): check now, or roll an app back. Only the device's own
 * command topic is subscribed; who may publish there is the broker's ACLs' business. */
static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg) {
        (void) m, (void) ud;
        if (!mq.commands || !STREQ(msg->topic, mq.command_topic))
                return;
        _cleanup_(cJSON_Deletep) cJSON *o =
                msg->payloadlen > 0 && msg->payloadlen <= COMMAND_MAX
                        ? cJSON_ParseWithLength(msg->payload, (size_t) msg->payloadlen)
                        : NULL;
        const char *id = json_str(o, "id"), *cmd = json_str(o, "command"),
                   *app = json_str(o, "app");
        if (!id || strlen(id) > COMMAND_ID_MAX || !cmd) {
                log_warning("MQTT command refused: expected {\"id\": ..., \"command\": ...} of "
                            "at most %d bytes",
                            COMMAND_MAX);
                answer(id && strlen(id) <= COMMAND_ID_MAX ? id : NULL, cmd, false,
                       "expected {\"id\": string, \"command\": \"check\" or \"rollback\"}");
                return;
        }
        log_notice("MQTT command %s (id %s)%s%s", cmd, id, app ? " for " : "", app ? app : "");
        if (STREQ(cmd, "check")) {
                control_request_check();
                answer(id, cmd, true, "poll requested");
        } else if (STREQ(cmd, "rollback")) {
                if (!app || !tender_name_valid(app))
                        return answer(id, cmd, false, "rollback: expected \"app\"");
                pthread_mutex_lock(&mq.mutex);
                bool busy = mq.rollback.queued;
                if (!busy) {
                        mq.rollback.queued = true;
                        snprintf(mq.rollback.id, sizeof(mq.rollback.id), "%s", id);
                        snprintf(mq.rollback.app, sizeof(mq.rollback.app), "%s", app);
                }
                pthread_mutex_unlock(&mq.mutex);
                if (busy)
                        answer(id, cmd, false, "a rollback is queued already; retry later");
                else
                        control_wake(); /* answered when done (mqtt_run_commands) */
        } else
                answer(id, cmd, false, "unknown command: expected check or rollback");
}

void mqtt_run_commands(struct agent *a) {
        char id[COMMAND_ID_MAX + 1], app[TENDER_NAME_MAX + 1];
        if (!mq.mosq)
                return;
        pthread_mutex_lock(&mq.mutex);
        bool queued = mq.rollback.queued;
        memcpy(id, mq.rollback.id, sizeof(id));
        memcpy(app, mq.rollback.app, sizeof(app));
        pthread_mutex_unlock(&mq.mutex);
        if (!queued)
                return;
        cJSON *reply = control_req_rollback(a, app, 0);
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(reply, "message");
        const cJSON *error = cJSON_GetObjectItemCaseSensitive(reply, "error");
        bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"));
        answer(id, "rollback", ok,
               cJSON_IsString(msg)     ? msg->valuestring
               : cJSON_IsString(error) ? error->valuestring
                                       : (ok ? "rolled back" : "rollback failed"));
        cJSON_Delete(reply);
        pthread_mutex_lock(&mq.mutex);
        mq.rollback.queued = false;
        pthread_mutex_unlock(&mq.mutex);
        status_refresh(a, false);
}

/* The event document (docs/mqtt.md, tests/integration/mqtt/event.schema.json). */
static char *event_json(const struct report_event *e, uint64_t seq) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "seq", (double) seq);
        status_add_time(o);
        cJSON_AddStringToObject(o, "kind", report_kind_name(e->kind));
        status_add_text(o, "app", e->app);
        status_add_text(o, "version", e->version);
        status_add_text(o, "action", e->action_id);
        if (e->state)
                status_add_text(o, "state", e->state);
        if (e->detail)
                status_add_text(o, "detail", e->detail);
        if (e->has_progress) {
                cJSON *p = cJSON_AddObjectToObject(o, "progress");
                cJSON_AddNumberToObject(p, "done", (double) e->cnt);
                cJSON_AddNumberToObject(p, "of", (double) e->of);
        }
        if (e->kind == REPORT_OUTCOME)
                cJSON_AddBoolToObject(o, "success", e->success);
        if (e->kind == REPORT_HEALTH)
                cJSON_AddBoolToObject(o, "healthy", e->healthy);
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        return s;
}

/* Which events go to the broker: what an operator follows, not the status views' refreshes. */
static bool wanted(const struct report_event *e) {
        switch (e->kind) {
        case REPORT_STATE:
        case REPORT_PROGRESS:
        case REPORT_HEALTH:
        case REPORT_OUTCOME:
                return true;
        case REPORT_NOTE:
                return e->detail && !e->again;
        default:
                return false;
        }
}

/* The retained status: kept for the next connect, published now when connected. */
static void sink_status(const struct report_event *e) {
        char *s = strdup(e->status_text);
        if (!s)
                return;
        free(mq.status);
        mq.status = s;
        if (mq.connected)
                publish_retained(mq.status_topic, mq.status);
}

static void sink(const struct report_event *e, void *userdata) {
        (void) userdata;
        pthread_mutex_lock(&mq.mutex);
        if (e->kind == REPORT_STATUS)
                sink_status(e);
        else if (wanted(e)) {
                /* The sequence number is the queue's: one writer (the main loop) pushes. */
                _cleanup_free_ char *json = NULL;
                int r = -ENOMEM;
                json = event_json(e, mqtt_queue_next_seq(mq.queue));
                if (json)
                        r = mqtt_queue_push(mq.queue, json, strlen(json));
                if (r < 0)
                        log_warning("MQTT: failed to queue a %s event: %s",
                                    report_kind_name(e->kind), strerror(-r));
                pump();
        }
        pthread_mutex_unlock(&mq.mutex);
}

void mqtt_queue_figures(uint64_t *length, uint64_t *dropped) {
        /* The queue is set before the control thread starts and freed after it stopped. */
        if (mq.queue) {
                *length = mqtt_queue_length(mq.queue);
                *dropped = mqtt_queue_dropped(mq.queue);
        }
}

uint64_t mqtt_telemetry_interval_sec(void) {
        return mq.mosq ? mq.telemetry_sec : 0;
}

static int set_topics(const struct tender_config *cfg) {
        const char *p = cfg->mqtt_topic_prefix, *id = cfg->controller_id;
        int n1 = snprintf(mq.status_topic, TOPIC_MAX, "%s/%s/status", p, id);
        int n2 = snprintf(mq.events_topic, TOPIC_MAX, "%s/%s/events", p, id);
        int n3 = snprintf(mq.avail_topic, TOPIC_MAX, "%s/%s/availability", p, id);
        int n4 = snprintf(mq.command_topic, TOPIC_MAX, "%s/%s/command", p, id);
        int n5 = snprintf(mq.result_topic, TOPIC_MAX, "%s/%s/command/result", p, id);
        mq.commands = cfg->mqtt_commands;
        return n1 < TOPIC_MAX && n2 < TOPIC_MAX && n3 < TOPIC_MAX && n4 < TOPIC_MAX &&
                               n5 < TOPIC_MAX
                       ? 0
                       : -ENAMETOOLONG;
}

static int mosq_error(struct tender_error *err, int rc, const char *what) {
        return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "MQTT: %s: %s", what,
                                rc == MOSQ_ERR_ERRNO ? strerror(errno) : mo.strerror(rc));
}

static int configure(const struct tender_config *cfg, struct tender_error *err) {
        int rc;
        const char *offline = availability(false, "lost");
        mo.connect_callback_set(mq.mosq, on_connect);
        mo.disconnect_callback_set(mq.mosq, on_disconnect);
        mo.publish_callback_set(mq.mosq, on_publish);
        mo.log_callback_set(mq.mosq, on_log);
        mo.message_callback_set(mq.mosq, on_message);
        rc = mo.will_set(mq.mosq, mq.avail_topic, (int) strlen(offline), offline, 1, true);
        if (rc != MOSQ_ERR_SUCCESS)
                return mosq_error(err, rc, "last will");
        if (cfg->mqtt_ca_file) {
                rc = mo.tls_set(mq.mosq, cfg->mqtt_ca_file, NULL, cfg->mqtt_client_cert,
                                cfg->mqtt_client_cert
                                        ? (cfg->mqtt_client_key ? cfg->mqtt_client_key
                                                                : cfg->mqtt_client_cert)
                                        : NULL,
                                NULL);
                if (rc != MOSQ_ERR_SUCCESS)
                        return mosq_error(err, rc, "TLS files (mqtt.caFile, mqtt.clientCert)");
                rc = mo.tls_opts_set(mq.mosq, 1, "tlsv1.2", NULL);
                if (rc != MOSQ_ERR_SUCCESS)
                        return mosq_error(err, rc, "TLS options");
        }
        mo.reconnect_delay_set(mq.mosq, RECONNECT_MIN_SEC, RECONNECT_MAX_SEC, true);
        /* One event in flight at a time keeps the order; status and availability besides. */
        mo.int_option(mq.mosq, MOSQ_OPT_SEND_MAXIMUM, 10);
        return 0;
}

int mqtt_start(struct agent *a, struct tender_error *err) {
        const struct tender_config *cfg = a->cfg;
        int r;
        if (!cfg->mqtt_host)
                return 0;
        r = load_mosquitto(err);
        if (r < 0)
                return tender_error_prefix(err, "MQTT");
        snprintf(mq.broker, sizeof(mq.broker), "%s:%llu%s", cfg->mqtt_host,
                 (unsigned long long) cfg->mqtt_port, cfg->mqtt_ca_file ? " (TLS)" : "");
        mq.telemetry_sec = cfg->mqtt_status_interval_sec;
        if (set_topics(cfg) < 0)
                return tender_error_set(err, TENDER_ERR_CONFIG, ENAMETOOLONG,
                                        "MQTT: topic too long");
        r = mqtt_queue_open(tender_store_root_fd(a->store), cfg->mqtt_queue_max_events, &mq.queue);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "MQTT: event queue in the store");
        mo.lib_init();
        mq.mosq = mo.new(cfg->controller_id, true, NULL);
        if (!mq.mosq)
                r = tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "MQTT: client");
        else
                r = configure(cfg, err);
        if (r >= 0) {
                /* Connecting, TLS included, happens in the client's thread, retried with the
                 * backoff: a broker that is away now is not an error of the configuration. */
                int rc = mo.connect_async(mq.mosq, cfg->mqtt_host, (int) cfg->mqtt_port,
                                          (int) cfg->mqtt_keepalive_sec);
                if (rc != MOSQ_ERR_SUCCESS)
                        on_log(mq.mosq, NULL, MOSQ_LOG_ERR, mo.strerror(rc));
                rc = mo.loop_start(mq.mosq);
                if (rc != MOSQ_ERR_SUCCESS)
                        r = mosq_error(err, rc, "client thread");
        }
        if (r < 0) {
                mqtt_stop();
                return r;
        }
        r = report_add_sink(sink, NULL);
        log_info("MQTT: reporting to %s as %s/%s/", mq.broker, cfg->mqtt_topic_prefix,
                 cfg->controller_id);
        return r < 0 ? tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "MQTT: report sink") : 0;
}

void mqtt_stop(void) {
        if (mq.mosq) {
                report_clear_sinks();
                pthread_mutex_lock(&mq.mutex);
                bool connected = mq.connected;
                if (connected)
                        publish_retained(mq.avail_topic, availability(false, "stopped"));
                pthread_mutex_unlock(&mq.mutex);
                if (connected)
                        mo.disconnect(mq.mosq);
                mo.loop_stop(mq.mosq, !connected);
                mo.destroy(mq.mosq);
                mo.lib_cleanup();
                mq.mosq = NULL;
        }
        mqtt_queue_free(mq.queue);
        mq.queue = NULL;
        free(mq.status);
        mq.status = NULL;
}
