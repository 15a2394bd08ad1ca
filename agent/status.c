/* SPDX-License-Identifier: Apache-2.0 */
#include "status.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "container.h"
#include "mqtt.h"
#include "report.h"
#include "telemetry.h"
#include "tender/escape.h"
#include "tender/json.h"
#include "tender/log.h"
#include "update.h"

#define TEXT_MAX 1024 /* bytes of one escaped string in the document */
/* A container state seen by the restart policy's check stands for this long (a check is due
 * every AGENT_CHECK_SEC); older, the runtime is asked. */
#define SEEN_MAX_AGE_MS ((AGENT_CHECK_SEC + 5) * 1000)
/* The store's use is walked again after a report changed it, else at most this often. */
#define STORE_USAGE_MAX_AGE_MS (3600 * 1000)

static struct {
        pthread_mutex_t mutex; /* store_used*: any thread builds the document */
        uint64_t store_used, store_used_ms, store_used_generation;
        bool store_used_valid;
        /* The main loop's refresh (status_refresh) only. */
        uint64_t built_generation, next_telemetry_ms;
        bool built;
        char *stable; /* the stable part of the last document emitted */
} st = {.mutex = PTHREAD_MUTEX_INITIALIZER};

void status_add_text(cJSON *o, const char *key, const char *s) {
        char buf[TEXT_MAX];
        if (!s)
                cJSON_AddNullToObject(o, key);
        else
                cJSON_AddStringToObject(o, key, tender_escape(buf, sizeof(buf), s));
}

void status_add_time(cJSON *o) {
        char buf[32];
        struct tm tm;
        time_t now = time(NULL);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        cJSON_AddStringToObject(o, "time", buf);
}

static void add_u64_or_null(cJSON *o, const char *key, bool has, uint64_t v) {
        if (has)
                cJSON_AddNumberToObject(o, key, (double) v);
        else
                cJSON_AddNullToObject(o, key);
}

/* What the running container uses, from its cgroup; null when it does not run. */
static void add_resources(cJSON *o, const struct container_state *cs) {
        struct cgroup_usage u;
        if (cs->status != CONTAINER_RUNNING || cs->pid <= 0 || cgroup_usage_read(cs->pid, &u) < 0) {
                cJSON_AddNullToObject(o, "resources");
                return;
        }
        cJSON *r = cJSON_AddObjectToObject(o, "resources");
        add_u64_or_null(r, "memoryBytes", u.has_memory, u.memory_bytes);
        if (u.has_cpu)
                cJSON_AddNumberToObject(r, "cpuSeconds", (double) u.cpu_usec / 1e6);
        else
                cJSON_AddNullToObject(r, "cpuSeconds");
        add_u64_or_null(r, "pids", u.has_pids, u.pids);
        add_u64_or_null(r, "oomKills", u.has_oom_kills, u.oom_kills);
}

static cJSON *app_status(struct agent *a, const char *app) {
        _cleanup_free_ char *current = NULL, *previous = NULL;
        struct container_state cs = {.status = CONTAINER_ABSENT};
        uint64_t restarts = 0;
        char id[CONTAINER_ID_MAX];

        tender_store_get_current(a->store, app, &current);
        tender_store_get_previous(a->store, app, &previous);
        if (current && !agent_container_seen(app, current, SEEN_MAX_AGE_MS, &cs, &restarts)) {
                container_id(app, current, id);
                if (container_state(&a->runtime, id, &cs, NULL) < 0)
                        cs = (struct container_state){.status = CONTAINER_ABSENT};
        }
        cJSON *o = cJSON_CreateObject();
        status_add_text(o, "name", app);
        status_add_text(o, "version", current);
        status_add_text(o, "previous", previous);
        cJSON_AddStringToObject(o, "status", container_status_name(cs.status));
        cJSON_AddBoolToObject(o, "healthy", cs.status == CONTAINER_RUNNING);
        cJSON_AddNumberToObject(o, "restarts", (double) restarts);
        add_resources(o, &cs);
        return o;
}

/* The store's use, walked again only when a report since the last walk may have changed it
 * (report_generation), or after STORE_USAGE_MAX_AGE_MS. */
static uint64_t store_used(struct agent *a) {
        uint64_t gen = report_generation(), now = tender_now_ms(), used = 0;
        pthread_mutex_lock(&st.mutex);
        bool valid = st.store_used_valid && st.store_used_generation == gen &&
                     now - st.store_used_ms < STORE_USAGE_MAX_AGE_MS;
        used = st.store_used;
        pthread_mutex_unlock(&st.mutex);
        if (valid || tender_store_usage(a->store, &used) < 0)
                return used;
        pthread_mutex_lock(&st.mutex);
        st.store_used = used;
        st.store_used_ms = now;
        st.store_used_generation = gen;
        st.store_used_valid = true;
        pthread_mutex_unlock(&st.mutex);
        return used;
}

static void add_store(cJSON *root, struct agent *a) {
        struct statvfs sv;
        cJSON *s = cJSON_AddObjectToObject(root, "store");
        cJSON_AddNumberToObject(s, "usedBytes", (double) store_used(a));
        cJSON_AddNumberToObject(s, "budgetBytes", (double) a->cfg->store_budget_bytes);
        if (fstatvfs(tender_store_root_fd(a->store), &sv) == 0)
                cJSON_AddNumberToObject(s, "freeBytes",
                                        (double) sv.f_bavail * (double) sv.f_frsize);
        else
                cJSON_AddNullToObject(s, "freeBytes");
}

static void add_agent(cJSON *root) {
        char app[REPORT_NAME_MAX], version[REPORT_NAME_MAX], state[32];
        cJSON *ag = cJSON_AddObjectToObject(root, "agent");
        cJSON_AddStringToObject(ag, "version", TENDER_VERSION);
        if (report_update_get(app, version, state)) {
                cJSON_AddStringToObject(ag, "state", "updating");
                cJSON *u = cJSON_AddObjectToObject(ag, "update");
                status_add_text(u, "app", app);
                status_add_text(u, "version", version);
                status_add_text(u, "state", state);
        } else {
                cJSON_AddStringToObject(ag, "state", "idle");
                cJSON_AddNullToObject(ag, "update");
        }
}

cJSON *status_json(struct agent *a) {
        char **apps = NULL;
        uint64_t length = 0, dropped = 0;
        cJSON *o = cJSON_CreateObject();
        status_add_text(o, "device", a->cfg->controller_id);
        status_add_time(o);
        add_agent(o);
        cJSON *arr = cJSON_AddArrayToObject(o, "apps");
        if (tender_store_list_apps(a->store, &apps) >= 0)
                for (size_t i = 0; apps[i]; i++)
                        cJSON_AddItemToArray(arr, app_status(a, apps[i]));
        tender_strv_free(apps);
        add_store(o, a);
        mqtt_queue_figures(&length, &dropped);
        cJSON *q = cJSON_AddObjectToObject(o, "queue");
        cJSON_AddNumberToObject(q, "length", (double) length);
        cJSON_AddNumberToObject(q, "dropped", (double) dropped);
        return o;
}

/* The part of the document whose change is news: without the time, the figures that move on
 * their own (resources, store, the queue's length: sent at the telemetry interval). */
static char *stable_part(const cJSON *doc) {
        _cleanup_(cJSON_Deletep) cJSON *d = cJSON_Duplicate(doc, true);
        if (!d)
                return NULL;
        cJSON_DeleteItemFromObjectCaseSensitive(d, "time");
        cJSON_DeleteItemFromObjectCaseSensitive(d, "store");
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "queue"),
                                                "length");
        cJSON *app;
        cJSON_ArrayForEach(app, cJSON_GetObjectItemCaseSensitive(d, "apps"))
                cJSON_DeleteItemFromObjectCaseSensitive(app, "resources");
        return cJSON_PrintUnformatted(d);
}

void status_refresh(struct agent *a, bool force) {
        uint64_t gen = report_generation(), now = tender_now_ms();
        uint64_t interval = mqtt_telemetry_interval_sec();
        bool telemetry = interval && now >= st.next_telemetry_ms;
        if (!force && !telemetry && st.built && gen == st.built_generation)
                return;
        st.built = true;
        st.built_generation = gen;
        _cleanup_(cJSON_Deletep) cJSON *doc = status_json(a);
        _cleanup_free_ char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
        _cleanup_free_ char *stable = doc ? stable_part(doc) : NULL;
        if (!text || !stable)
                return;
        bool changed = !st.stable || !STREQ(st.stable, stable);
        if (!changed && !telemetry && !force)
                return;
        if (telemetry)
                st.next_telemetry_ms = now + interval * 1000;
        free(st.stable);
        st.stable = TAKE_PTR(stable);
        report_emit(&(struct report_event){
                .kind = REPORT_STATUS, .status = doc, .status_text = text, .again = !changed});
}
