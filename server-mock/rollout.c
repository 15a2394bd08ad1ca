/* SPDX-License-Identifier: Apache-2.0 */
#include "rollout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tender/json.h"
#include "tender/log.h"
#include "tender/manifest.h"

static void strv_freep(char ***v) {
        tender_strv_free(*v);
}

struct group {
        char *name;
        char **targets;    /* NULL-terminated controller ids, or NULL: an attribute group */
        cJSON *attributes; /* object of strings, or NULL: a list group */
};

struct device {
        char *target;
        unsigned phase;
        uint64_t action; /* 0 until its phase starts */
};

struct mock_rollout {
        char *name, *app, *version;
        char **groups; /* names, in order */
        unsigned canary, success, error;
        enum mock_rollout_state state;
        unsigned phase, n_phases;
        char **phase_names; /* n_phases of them */
        struct device *devices;
        size_t n_devices;
        cJSON *history; /* [{"time": unix, "event": "..."}] */
        int64_t created;
};

struct mock_fleet {
        struct group *groups;
        size_t n_groups;
        struct mock_rollout **rollouts;
        size_t n_rollouts;
};

enum device_status { DEV_SCHEDULED, DEV_RUNNING, DEV_SUCCESS, DEV_FAILURE, DEV_CANCELED, DEV__MAX };
static const char *const device_status_names[DEV__MAX] = {"scheduled", "running", "success",
                                                          "failure", "canceled"};
static const char *const state_names[] = {
        [MOCK_ROLLOUT_RUNNING] = "running",   [MOCK_ROLLOUT_PAUSED] = "paused",
        [MOCK_ROLLOUT_STOPPED] = "stopped",   [MOCK_ROLLOUT_CANCELED] = "canceled",
        [MOCK_ROLLOUT_FINISHED] = "finished",
};

static void group_clear(struct group *g) {
        free(g->name);
        tender_strv_free(g->targets);
        cJSON_Delete(g->attributes);
}

static void rollout_free(struct mock_rollout *r) {
        if (!r)
                return;
        free(r->name);
        free(r->app);
        free(r->version);
        tender_strv_free(r->groups);
        tender_strv_free(r->phase_names);
        for (size_t i = 0; i < r->n_devices; i++)
                free(r->devices[i].target);
        free(r->devices);
        cJSON_Delete(r->history);
        free(r);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mock_rollout, rollout_free);

int mock_fleet_new(struct mock_fleet **ret) {
        struct mock_fleet *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->groups = calloc(MOCK_MAX_GROUPS, sizeof(*f->groups));
        f->rollouts = calloc(MOCK_MAX_ROLLOUTS, sizeof(*f->rollouts));
        if (!f->groups || !f->rollouts) {
                mock_fleet_free(f);
                return -ENOMEM;
        }
        *ret = f;
        return 0;
}

void mock_fleet_free(struct mock_fleet *f) {
        if (!f)
                return;
        for (size_t i = 0; i < f->n_groups; i++)
                group_clear(&f->groups[i]);
        for (size_t i = 0; i < f->n_rollouts; i++)
                rollout_free(f->rollouts[i]);
        free(f->groups);
        free(f->rollouts);
        free(f);
}

static struct group *group_get(struct mock_fleet *f, const char *name) {
        for (size_t i = 0; i < f->n_groups; i++)
                if (STREQ(f->groups[i].name, name))
                        return &f->groups[i];
        return NULL;
}

struct mock_rollout *mock_rollout_get(struct mock_fleet *f, const char *name) {
        for (size_t i = 0; i < f->n_rollouts; i++)
                if (STREQ(f->rollouts[i]->name, name))
                        return f->rollouts[i];
        return NULL;
}

/* A refused request body: the message names what was wrong. */
#define invalid(err, ...) tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, __VA_ARGS__)

/* A group's definition, checked: name, then targets or attributes. path names o in errors. */
static int group_parse(const cJSON *o, const char *path, struct group *g,
                       struct tender_error *err) {
        static const char *const keys[] = {"name", "targets", "attributes", "members", NULL};
        const char *name = NULL;
        const cJSON *attrs = NULL, *item;
        _cleanup_(strv_freep) char **targets = NULL;
        int r;
        if (!cJSON_IsObject(o))
                return invalid(err, "%s: not an object", path);
        if ((r = tender_json_check_keys(o, path, keys, err)) < 0 ||
            (r = tender_json_get_string(o, path, "name", true, &name, err)) < 0 ||
            (r = tender_json_get_strv(o, path, "targets", false, MOCK_MAX_TARGETS, &targets, err)) <
                    0 ||
            (r = tender_json_get_object(o, path, "attributes", false, &attrs, err)) < 0)
                return -EINVAL;
        if (!mock_controller_id_valid(name))
                return invalid(err, "%s.name: expected [A-Za-z0-9._-]{1,%d}", path,
                               MOCK_CONTROLLER_ID_MAX);
        if (!targets == !attrs)
                return invalid(err, "%s: give either targets or attributes", path);
        for (size_t i = 0; targets && targets[i]; i++)
                if (!mock_controller_id_valid(targets[i]))
                        return invalid(err, "%s.targets[%zu]: not a valid controller id", path, i);
        if (attrs && (cJSON_GetArraySize(attrs) < 1 ||
                      cJSON_GetArraySize(attrs) > MOCK_MAX_GROUP_ATTRIBUTES))
                return invalid(err, "%s.attributes: 1 to %d attributes", path,
                               MOCK_MAX_GROUP_ATTRIBUTES);
        cJSON_ArrayForEach(item, attrs) {
                if (!cJSON_IsString(item))
                        return invalid(err, "%s.attributes.%s: values must be strings", path,
                                       item->string);
        }
        *g = (struct group){.name = strdup(name)};
        if (attrs && !(g->attributes = cJSON_Duplicate(attrs, true))) {
                group_clear(g);
                return -ENOMEM;
        }
        g->targets = TAKE_PTR(targets);
        if (!g->name) {
                group_clear(g);
                return -ENOMEM;
        }
        return 0;
}

int mock_group_create(struct mock_fleet *f, const cJSON *body, struct tender_error *err) {
        struct group g;
        int r = group_parse(body, "group", &g, err);
        if (r == -ENOMEM)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "group");
        if (r < 0)
                return r;
        if (group_get(f, g.name)) {
                r = tender_error_set(err, TENDER_ERR_CONFIG, EEXIST, "Group %s exists", g.name);
                group_clear(&g);
                return r;
        }
        if (f->n_groups >= MOCK_MAX_GROUPS) {
                group_clear(&g);
                return tender_error_set(err, TENDER_ERR_CONFIG, ENOSPC, "At most %d groups",
                                        MOCK_MAX_GROUPS);
        }
        f->groups[f->n_groups++] = g;
        log_info("Group %s: %s", g.name, g.targets ? "by controller id" : "by attributes");
        return 0;
}

static bool attributes_match(const cJSON *want, const struct mock_target *t) {
        const cJSON *item;
        if (!t->config_data)
                return false;
        cJSON_ArrayForEach(item, want) {
                const cJSON *have = cJSON_GetObjectItemCaseSensitive(t->config_data, item->string);
                if (!cJSON_IsString(have) || !STREQ(have->valuestring, item->valuestring))
                        return false;
        }
        return true;
}

/* The group's members now, in order: its list, or the matching targets in registration
 * order. Calls fn for each; stops at the first negative return. */
static int group_walk(const struct group *g, struct mock_state *s,
                      int (*fn)(const char *cid, void *userdata), void *userdata) {
        int r = 0;
        for (size_t i = 0; g->targets && g->targets[i] && r >= 0; i++)
                r = fn(g->targets[i], userdata);
        for (size_t i = 0; g->attributes && i < mock_state_n_targets(s) && r >= 0; i++) {
                struct mock_target *t = mock_state_target_at(s, i);
                if (attributes_match(g->attributes, t))
                        r = fn(t->controller_id, userdata);
        }
        return r;
}

static int add_member(const char *cid, void *userdata) {
        cJSON *s = cJSON_CreateString(cid);
        return s && cJSON_AddItemToArray(userdata, s) ? 0 : -ENOMEM;
}

static cJSON *group_to_json(const struct group *g, struct mock_state *s) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON *def = NULL, *members = cJSON_CreateArray();
        if (!o || !members || !cJSON_AddItemToObject(o, "members", members) ||
            !cJSON_AddStringToObject(o, "name", g->name))
                return NULL;
        if (g->attributes)
                def = cJSON_Duplicate(g->attributes, true);
        else if ((def = cJSON_CreateArray()))
                for (size_t i = 0; g->targets[i]; i++)
                        if (add_member(g->targets[i], def) < 0) {
                                cJSON_Delete(def);
                                return NULL;
                        }
        if (!def || !cJSON_AddItemToObject(o, g->attributes ? "attributes" : "targets", def)) {
                cJSON_Delete(def);
                return NULL;
        }
        if (s && group_walk(g, s, add_member, members) < 0)
                return NULL;
        if (!s)
                cJSON_DeleteItemFromObjectCaseSensitive(o, "members");
        return TAKE_PTR(o);
}

cJSON *mock_groups_to_json(struct mock_fleet *f, struct mock_state *s) {
        _cleanup_(cJSON_Deletep) cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < f->n_groups; i++) {
                cJSON *o = group_to_json(&f->groups[i], s);
                if (!o)
                        return NULL;
                cJSON_AddItemToArray(arr, o);
        }
        return TAKE_PTR(arr);
}

/* ---- a rollout's devices ---- */

struct member {
        const char *cid;
        size_t seq;   /* order of appearance */
        size_t group; /* index in the rollout's groups */
};

struct members {
        struct member *v;
        size_t n, cap, group;
};

static int collect(const char *cid, void *userdata) {
        struct members *m = userdata;
        if (m->n >= MOCK_MAX_TARGETS * 4)
                return -ENOSPC;
        if (m->n == m->cap) {
                size_t cap = m->cap ? m->cap * 2 : 64;
                struct member *v = realloc(m->v, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                m->v = v;
                m->cap = cap;
        }
        m->v[m->n] = (struct member){.cid = cid, .seq = m->n, .group = m->group};
        m->n++;
        return 0;
}

static int by_cid(const void *a, const void *b) {
        const struct member *x = a, *y = b;
        int c = strcmp(x->cid, y->cid);
        return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int by_seq(const void *a, const void *b) {
        const struct member *x = a, *y = b;
        return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Keeps the first appearance of each controller id, in order of appearance. */
static void dedupe(struct members *m) {
        if (m->n == 0)
                return;
        qsort(m->v, m->n, sizeof(*m->v), by_cid);
        size_t k = 1;
        for (size_t i = 1; i < m->n; i++)
                if (!STREQ(m->v[i].cid, m->v[k - 1].cid))
                        m->v[k++] = m->v[i];
        m->n = k;
        qsort(m->v, m->n, sizeof(*m->v), by_seq);
}

/* ceil(n * percent / 100), at least 1 when percent > 0. */
static size_t canary_count(size_t n, unsigned percent) {
        size_t c = (n * percent + 99) / 100;
        return c > n ? n : c;
}

/* Devices and phases from the members: the canary first, then one phase per group that has
 * devices left. */
static int rollout_layout(struct mock_rollout *r, const struct members *m) {
        r->devices = calloc(m->n, sizeof(*r->devices));
        r->phase_names = calloc(m->n + 2, sizeof(char *));
        if (!r->devices || !r->phase_names)
                return -ENOMEM;
        size_t canary = canary_count(m->n, r->canary), last_group = SIZE_MAX;
        r->n_phases = 0;
        if (canary > 0 && !(r->phase_names[r->n_phases++] = strdup("canary")))
                return -ENOMEM;
        for (size_t i = 0; i < m->n; i++) {
                struct device *d = &r->devices[r->n_devices++];
                if (!(d->target = strdup(m->v[i].cid)))
                        return -ENOMEM;
                if (i < canary) {
                        d->phase = 0;
                        continue;
                }
                if (m->v[i].group != last_group) {
                        last_group = m->v[i].group;
                        if (!(r->phase_names[r->n_phases++] = strdup(r->groups[last_group])))
                                return -ENOMEM;
                }
                d->phase = r->n_phases - 1;
        }
        return 0;
}

static void history_add(struct mock_rollout *r, int64_t now, const char *fmt, ...) _printf_(3, 4);
static void history_add(struct mock_rollout *r, int64_t now, const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_info("Rollout %s: %s", r->name, msg);
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddNumberToObject(e, "time", (double) now) ||
            !cJSON_AddStringToObject(e, "event", msg)) {
                cJSON_Delete(e);
                return;
        }
        cJSON_AddItemToArray(r->history, e);
        while (cJSON_GetArraySize(r->history) > MOCK_ROLLOUT_HISTORY_MAX)
                cJSON_DeleteItemFromArray(r->history, 0);
}

static enum device_status device_status(struct mock_state *s, const struct device *d) {
        const struct mock_action *a = d->action ? mock_action_get(s, d->action) : NULL;
        if (!a)
                return DEV_SCHEDULED;
        if (a->open)
                return DEV_RUNNING;
        if (a->canceled)
                return DEV_CANCELED;
        return a->result == MOCK_RESULT_SUCCESS ? DEV_SUCCESS : DEV_FAILURE;
}

static void phase_counts(const struct mock_rollout *r, struct mock_state *s, unsigned phase,
                         size_t counts[static DEV__MAX], size_t *ret_total) {
        memset(counts, 0, DEV__MAX * sizeof(size_t));
        *ret_total = 0;
        for (size_t i = 0; i < r->n_devices; i++)
                if (r->devices[i].phase == phase) {
                        counts[device_status(s, &r->devices[i])]++;
                        (*ret_total)++;
                }
}

/* Creates the actions of the current phase. */
static int phase_start(struct mock_rollout *r, struct mock_state *s, int64_t now) {
        size_t n = 0;
        for (size_t i = 0; i < r->n_devices; i++) {
                struct device *d = &r->devices[i];
                if (d->phase != r->phase || d->action)
                        continue;
                struct mock_action *a;
                int k = mock_action_create(s, d->target, r->app, r->version, &a);
                if (k < 0) {
                        r->state = MOCK_ROLLOUT_STOPPED;
                        history_add(r, now, "stopped: cannot create the action for %s: %s",
                                    d->target, strerror(-k));
                        return k;
                }
                d->action = a->id;
                n++;
        }
        history_add(r, now, "phase %u/%u (%s) started: %zu device(s)", r->phase + 1, r->n_phases,
                    r->phase_names[r->phase], n);
        return 0;
}

static void rollout_tick(struct mock_rollout *r, struct mock_state *s, int64_t now) {
        if (r->state != MOCK_ROLLOUT_RUNNING)
                return;
        size_t c[DEV__MAX], total;
        phase_counts(r, s, r->phase, c, &total);
        const char *phase = r->phase_names[r->phase];
        size_t failed = c[DEV_FAILURE] + c[DEV_CANCELED];
        if (failed * 100 > (size_t) r->error * total) {
                r->state = MOCK_ROLLOUT_STOPPED;
                history_add(r, now,
                            "stopped: %zu of %zu device(s) of phase %s failed, over the error "
                            "threshold of %u%%",
                            failed, total, phase, r->error);
                return;
        }
        if (c[DEV_SUCCESS] * 100 >= (size_t) r->success * total) {
                history_add(r, now, "phase %s: %zu of %zu device(s) succeeded", phase,
                            c[DEV_SUCCESS], total);
                if (r->phase + 1 >= r->n_phases) {
                        r->state = MOCK_ROLLOUT_FINISHED;
                        history_add(r, now, "finished");
                        return;
                }
                r->phase++;
                (void) phase_start(r, s, now);
                return;
        }
        if (c[DEV_RUNNING] + c[DEV_SCHEDULED] == 0) {
                r->state = MOCK_ROLLOUT_STOPPED;
                history_add(r, now,
                            "stopped: phase %s ended with %zu of %zu device(s) succeeded, short "
                            "of the success threshold of %u%%",
                            phase, c[DEV_SUCCESS], total, r->success);
        }
}

void mock_fleet_tick(struct mock_fleet *f, struct mock_state *s, int64_t now) {
        for (size_t i = 0; i < f->n_rollouts; i++)
                rollout_tick(f->rollouts[i], s, now);
}

static int get_percent(const cJSON *body, const char *key, unsigned min, unsigned *ret,
                       struct tender_error *err) {
        uint64_t v = *ret;
        int r = tender_json_get_u64(body, "rollout", key, false, &v, err);
        if (r < 0)
                return r;
        if (v < min || v > 100)
                return invalid(err, "rollout.%s: %u to 100", key, min);
        *ret = (unsigned) v;
        return 0;
}

/* name, app, version, groups and thresholds of body into r, checked. */
static int rollout_parse(struct mock_fleet *f, const cJSON *body, struct mock_rollout *r,
                         struct tender_error *err) {
        static const char *const keys[] = {
                "name",           "app", "version", "groups", "canaryPercent", "successThreshold",
                "errorThreshold", NULL};
        const char *name, *app, *version;
        r->success = 100;
        if (tender_json_check_keys(body, "rollout", keys, err) < 0 ||
            tender_json_get_string(body, "rollout", "name", true, &name, err) < 0 ||
            tender_json_get_string(body, "rollout", "app", true, &app, err) < 0 ||
            tender_json_get_string(body, "rollout", "version", true, &version, err) < 0 ||
            tender_json_get_strv(body, "rollout", "groups", true, MOCK_MAX_GROUPS, &r->groups,
                                 err) < 0 ||
            get_percent(body, "canaryPercent", 0, &r->canary, err) < 0 ||
            get_percent(body, "successThreshold", 1, &r->success, err) < 0 ||
            get_percent(body, "errorThreshold", 0, &r->error, err) < 0)
                return -EINVAL;
        if (!mock_controller_id_valid(name))
                return invalid(err, "rollout.name: expected [A-Za-z0-9._-]{1,%d}",
                               MOCK_CONTROLLER_ID_MAX);
        if (!tender_name_valid(app) || !tender_name_valid(version))
                return invalid(err, "rollout: app and version must be valid names");
        if (!r->groups[0])
                return invalid(err, "rollout.groups: name at least one group");
        for (size_t i = 0; r->groups[i]; i++)
                if (!group_get(f, r->groups[i]))
                        return tender_error_set(err, TENDER_ERR_CONFIG, ENOENT,
                                                "rollout.groups[%zu]: no group %.64s", i,
                                                r->groups[i]);
        r->name = strdup(name);
        r->app = strdup(app);
        r->version = strdup(version);
        r->history = cJSON_CreateArray();
        if (!r->name || !r->app || !r->version || !r->history)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "rollout");
        return 0;
}

int mock_rollout_create(struct mock_fleet *f, struct mock_state *s, const cJSON *body, int64_t now,
                        struct mock_rollout **ret, struct tender_error *err) {
        _cleanup_(rollout_freep) struct mock_rollout *r = calloc(1, sizeof(*r));
        if (!r)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "rollout");
        int k = rollout_parse(f, body, r, err);
        if (k < 0)
                return k;
        if (mock_rollout_get(f, r->name))
                return tender_error_set(err, TENDER_ERR_CONFIG, EEXIST, "Rollout %s exists",
                                        r->name);
        if (f->n_rollouts >= MOCK_MAX_ROLLOUTS)
                return tender_error_set(err, TENDER_ERR_CONFIG, ENOSPC, "At most %d rollouts",
                                        MOCK_MAX_ROLLOUTS);
        struct members m = {0};
        for (size_t i = 0; r->groups[i] && k >= 0; i++) {
                m.group = i;
                k = group_walk(group_get(f, r->groups[i]), s, collect, &m);
        }
        if (k >= 0) {
                dedupe(&m);
                k = m.n == 0 ? -ENOENT : rollout_layout(r, &m);
        }
        free(m.v);
        if (k == -ENOENT)
                return tender_error_set(err, TENDER_ERR_CONFIG, ENOENT,
                                        "Rollout %s: its groups have no devices", r->name);
        if (k < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, k, "rollout %s", r->name);
        r->created = now;
        r->state = MOCK_ROLLOUT_RUNNING;
        history_add(r, now, "created: %s %s for %zu device(s) in %u phase(s)", r->app, r->version,
                    r->n_devices, r->n_phases);
        f->rollouts[f->n_rollouts++] = r;
        (void) phase_start(r, s, now);
        *ret = TAKE_PTR(r);
        return 0;
}

static int busy(const struct mock_rollout *r, const char *what, struct tender_error *err) {
        return tender_error_set(err, TENDER_ERR_CONFIG, EBUSY, "Rollout %s is %s: cannot %s",
                                r->name, state_names[r->state], what);
}

int mock_rollout_pause(struct mock_rollout *r, int64_t now, struct tender_error *err) {
        if (r->state != MOCK_ROLLOUT_RUNNING)
                return busy(r, "pause", err);
        r->state = MOCK_ROLLOUT_PAUSED;
        history_add(r, now, "paused in phase %s", r->phase_names[r->phase]);
        return 0;
}

int mock_rollout_resume(struct mock_rollout *r, int64_t now, struct tender_error *err) {
        if (r->state != MOCK_ROLLOUT_PAUSED)
                return busy(r, "resume", err);
        r->state = MOCK_ROLLOUT_RUNNING;
        history_add(r, now, "resumed in phase %s", r->phase_names[r->phase]);
        return 0;
}

int mock_rollout_cancel(struct mock_rollout *r, struct mock_state *s, int64_t now,
                        struct tender_error *err) {
        if (r->state == MOCK_ROLLOUT_FINISHED || r->state == MOCK_ROLLOUT_CANCELED)
                return busy(r, "cancel", err);
        size_t n = 0;
        for (size_t i = 0; i < r->n_devices; i++) {
                struct mock_action *a =
                        r->devices[i].action ? mock_action_get(s, r->devices[i].action) : NULL;
                if (a && a->open && a->cancel == MOCK_CANCEL_NONE) {
                        a->cancel = MOCK_CANCEL_REQUESTED;
                        n++;
                }
        }
        r->state = MOCK_ROLLOUT_CANCELED;
        history_add(r, now, "canceled in phase %s: %zu open action(s) asked to cancel",
                    r->phase_names[r->phase], n);
        return 0;
}

enum mock_rollout_state mock_rollout_state(const struct mock_rollout *r) {
        return r->state;
}

const char *mock_rollout_state_name(enum mock_rollout_state st) {
        return (unsigned) st < ELEMENTSOF(state_names) ? state_names[st] : "unknown";
}

unsigned mock_rollout_phase(const struct mock_rollout *r, unsigned *ret_n_phases) {
        if (ret_n_phases)
                *ret_n_phases = r->n_phases;
        return r->phase;
}

/* ---- JSON ---- */

static cJSON *phases_json(const struct mock_rollout *r, struct mock_state *s) {
        _cleanup_(cJSON_Deletep) cJSON *arr = cJSON_CreateArray();
        for (unsigned p = 0; arr && p < r->n_phases; p++) {
                size_t c[DEV__MAX], total;
                cJSON *o = cJSON_CreateObject();
                if (!o || !cJSON_AddItemToArray(arr, o) ||
                    !cJSON_AddStringToObject(o, "name", r->phase_names[p]))
                        return NULL;
                if (!s)
                        continue;
                phase_counts(r, s, p, c, &total);
                if (!cJSON_AddNumberToObject(o, "devices", (double) total))
                        return NULL;
                for (int k = 0; k < DEV__MAX; k++)
                        if (!cJSON_AddNumberToObject(o, device_status_names[k], (double) c[k]))
                                return NULL;
        }
        return TAKE_PTR(arr);
}

static cJSON *devices_json(const struct mock_rollout *r, struct mock_state *s) {
        _cleanup_(cJSON_Deletep) cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < r->n_devices; i++) {
                const struct device *d = &r->devices[i];
                cJSON *o = cJSON_CreateObject();
                if (!o || !cJSON_AddItemToArray(arr, o) ||
                    !cJSON_AddStringToObject(o, "target", d->target) ||
                    !cJSON_AddNumberToObject(o, "phase", d->phase) ||
                    !(d->action ? cJSON_AddNumberToObject(o, "actionId", (double) d->action)
                                : cJSON_AddNullToObject(o, "actionId")) ||
                    (s && !cJSON_AddStringToObject(o, "status",
                                                   device_status_names[device_status(s, d)])))
                        return NULL;
        }
        return TAKE_PTR(arr);
}

/* With s, the management view (counts and statuses); without, what the state file keeps. */
static cJSON *rollout_json(const struct mock_rollout *r, struct mock_state *s) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON *groups = cJSON_CreateArray(), *phases = phases_json(r, s),
              *devices = devices_json(r, s), *history = cJSON_Duplicate(r->history, true);
        bool ok = o && groups && phases && devices && history;
        for (size_t i = 0; ok && r->groups[i]; i++)
                ok = add_member(r->groups[i], groups) >= 0;
        if (!ok) {
                cJSON_Delete(groups);
                cJSON_Delete(phases);
                cJSON_Delete(devices);
                cJSON_Delete(history);
                return NULL;
        }
        ok = cJSON_AddStringToObject(o, "name", r->name) &&
             cJSON_AddStringToObject(o, "app", r->app) &&
             cJSON_AddStringToObject(o, "version", r->version) &&
             cJSON_AddItemToObject(o, "groups", groups) &&
             cJSON_AddNumberToObject(o, "canaryPercent", r->canary) &&
             cJSON_AddNumberToObject(o, "successThreshold", r->success) &&
             cJSON_AddNumberToObject(o, "errorThreshold", r->error) &&
             cJSON_AddStringToObject(o, "state", state_names[r->state]) &&
             cJSON_AddNumberToObject(o, "phase", r->phase) &&
             cJSON_AddNumberToObject(o, "created", (double) r->created) &&
             cJSON_AddItemToObject(o, "phases", phases) &&
             cJSON_AddItemToObject(o, "devices", devices) &&
             cJSON_AddItemToObject(o, "history", history);
        return ok ? TAKE_PTR(o) : NULL;
}

cJSON *mock_rollout_to_json(const struct mock_rollout *r, struct mock_state *s) {
        return rollout_json(r, s);
}

cJSON *mock_rollouts_to_json(struct mock_fleet *f, struct mock_state *s) {
        _cleanup_(cJSON_Deletep) cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < f->n_rollouts; i++) {
                cJSON *o = rollout_json(f->rollouts[i], s);
                if (!o)
                        return NULL;
                cJSON_AddItemToArray(arr, o);
        }
        return TAKE_PTR(arr);
}

cJSON *mock_fleet_target_json(struct mock_fleet *f, struct mock_state *s, const char *target) {
        _cleanup_(cJSON_Deletep) cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < f->n_rollouts; i++) {
                const struct mock_rollout *r = f->rollouts[i];
                for (size_t j = 0; j < r->n_devices; j++) {
                        const struct device *d = &r->devices[j];
                        if (!STREQ(d->target, target))
                                continue;
                        cJSON *o = cJSON_CreateObject();
                        if (!o || !cJSON_AddItemToArray(arr, o) ||
                            !cJSON_AddStringToObject(o, "rollout", r->name) ||
                            !cJSON_AddStringToObject(o, "phase", r->phase_names[d->phase]) ||
                            !(d->action ? cJSON_AddNumberToObject(o, "actionId", (double) d->action)
                                        : cJSON_AddNullToObject(o, "actionId")) ||
                            !cJSON_AddStringToObject(o, "status",
                                                     device_status_names[device_status(s, d)]))
                                return NULL;
                }
        }
        return TAKE_PTR(arr);
}

cJSON *mock_fleet_to_json(struct mock_fleet *f) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON *groups = mock_groups_to_json(f, NULL), *rollouts = cJSON_CreateArray();
        bool ok = o && groups && rollouts;
        for (size_t i = 0; ok && i < f->n_rollouts; i++) {
                cJSON *r = rollout_json(f->rollouts[i], NULL);
                ok = r && cJSON_AddItemToArray(rollouts, r);
        }
        if (!ok) {
                cJSON_Delete(groups);
                cJSON_Delete(rollouts);
                return NULL;
        }
        cJSON_AddItemToObject(o, "groups", groups);
        cJSON_AddItemToObject(o, "rollouts", rollouts);
        return TAKE_PTR(o);
}

static int bad(struct tender_error *err, const char *path, const char *what) {
        return tender_error_set(err, TENDER_ERR_JSON, EBADMSG, "%s: %s", path, what);
}

static int devices_from_json(struct mock_rollout *r, struct mock_state *s, const cJSON *arr,
                             const char *path, struct tender_error *err) {
        size_t n = (size_t) cJSON_GetArraySize(arr);
        if (n == 0 || n > MOCK_MAX_TARGETS)
                return bad(err, path, "devices: 1 to 100000 expected");
        r->devices = calloc(n, sizeof(*r->devices));
        if (!r->devices)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "%s", path);
        const cJSON *o;
        char p[96];
        cJSON_ArrayForEach(o, arr) {
                const char *target;
                uint64_t phase, action = 0;
                snprintf(p, sizeof(p), "%s.devices[%zu]", path, r->n_devices);
                const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "actionId");
                if (!cJSON_IsObject(o) ||
                    tender_json_get_string(o, p, "target", true, &target, err) < 0 ||
                    tender_json_get_u64(o, p, "phase", true, &phase, err) < 0 ||
                    (!cJSON_IsNull(id) &&
                     tender_json_get_u64(o, p, "actionId", true, &action, err) < 0))
                        return cJSON_IsObject(o) ? -EBADMSG : bad(err, p, "not an object");
                if (!mock_controller_id_valid(target) || phase >= r->n_phases)
                        return bad(err, p, "invalid target or phase");
                const struct mock_action *a = action ? mock_action_get(s, action) : NULL;
                if (action && (!a || !STREQ(a->target, target)))
                        return bad(err, p, "actionId names no action of this target");
                struct device *d = &r->devices[r->n_devices++];
                d->phase = (unsigned) phase;
                d->action = action;
                if (!(d->target = strdup(target)))
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "%s", p);
        }
        return 0;
}

static int rollout_from_json(struct mock_fleet *f, struct mock_state *s, const cJSON *o,
                             const char *path, struct tender_error *err) {
        static const char *const bodykeys[] = {
                "name",           "app", "version", "groups", "canaryPercent", "successThreshold",
                "errorThreshold", NULL};
        _cleanup_(rollout_freep) struct mock_rollout *r = calloc(1, sizeof(*r));
        _cleanup_(cJSON_Deletep) cJSON *body = cJSON_CreateObject();
        if (!r || !body)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "%s", path);
        if (!cJSON_IsObject(o))
                return bad(err, path, "not an object");
        /* The settings are checked as a new rollout's body is. */
        for (size_t i = 0; bodykeys[i]; i++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, bodykeys[i]);
                cJSON *copy = v ? cJSON_Duplicate(v, true) : NULL;
                if (v && (!copy || !cJSON_AddItemToObject(body, bodykeys[i], copy))) {
                        cJSON_Delete(copy);
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "%s", path);
                }
        }
        if (rollout_parse(f, body, r, err) < 0)
                return tender_error_prefix(err, "%s", path), -EBADMSG;
        if (mock_rollout_get(f, r->name))
                return bad(err, path, "a second rollout of this name");
        const char *state;
        const cJSON *phases, *devices, *history, *item;
        uint64_t phase, created;
        if (tender_json_get_string(o, path, "state", true, &state, err) < 0 ||
            tender_json_get_u64(o, path, "phase", true, &phase, err) < 0 ||
            tender_json_get_u64(o, path, "created", true, &created, err) < 0 ||
            tender_json_get_array(o, path, "phases", true, &phases, err) < 0 ||
            tender_json_get_array(o, path, "devices", true, &devices, err) < 0 ||
            tender_json_get_array(o, path, "history", true, &history, err) < 0)
                return -EBADMSG;
        int st = -1;
        for (int i = 0; i < (int) ELEMENTSOF(state_names); i++)
                if (STREQ(state, state_names[i]))
                        st = i;
        size_t n_phases = (size_t) cJSON_GetArraySize(phases);
        if (st < 0 || n_phases == 0 || n_phases > MOCK_MAX_GROUPS + 1 || phase >= n_phases)
                return bad(err, path, "unknown state, or phase out of range");
        r->state = (enum mock_rollout_state) st;
        r->phase = (unsigned) phase;
        r->created = (int64_t) created;
        r->phase_names = calloc(n_phases + 1, sizeof(char *));
        if (!r->phase_names)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "%s", path);
        cJSON_ArrayForEach(item, phases) {
                const char *name =
                        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "name"));
                if (!name || !mock_controller_id_valid(name))
                        return bad(err, path, "phases: each needs a valid name");
                if (!(r->phase_names[r->n_phases++] = strdup(name)))
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "%s", path);
        }
        cJSON_ArrayForEach(item, history) {
                if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, "event")) ||
                    !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(item, "time")))
                        return bad(err, path, "history: each needs time and event");
        }
        cJSON_Delete(r->history);
        if (!(r->history = cJSON_Duplicate(history, true)))
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "%s", path);
        int k = devices_from_json(r, s, devices, path, err);
        if (k < 0)
                return k;
        if (f->n_rollouts >= MOCK_MAX_ROLLOUTS)
                return bad(err, path, "too many rollouts");
        f->rollouts[f->n_rollouts++] = TAKE_PTR(r);
        return 0;
}

int mock_fleet_from_json(struct mock_fleet *f, struct mock_state *s, const cJSON *o,
                         struct tender_error *err) {
        const cJSON *groups, *rollouts, *item;
        if (tender_json_get_array(o, "", "groups", true, &groups, err) < 0 ||
            tender_json_get_array(o, "", "rollouts", true, &rollouts, err) < 0)
                return -EBADMSG;
        char path[48];
        size_t i = 0;
        int r;
        cJSON_ArrayForEach(item, groups) {
                snprintf(path, sizeof(path), "groups[%zu]", i++);
                struct group g;
                if ((r = group_parse(item, path, &g, err)) < 0)
                        return r == -ENOMEM ? tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                                                     "%s", path)
                                            : -EBADMSG;
                if (group_get(f, g.name) || f->n_groups >= MOCK_MAX_GROUPS) {
                        group_clear(&g);
                        return bad(err, path, "a second group of this name, or too many groups");
                }
                f->groups[f->n_groups++] = g;
        }
        i = 0;
        cJSON_ArrayForEach(item, rollouts) {
                snprintf(path, sizeof(path), "rollouts[%zu]", i++);
                if ((r = rollout_from_json(f, s, item, path, err)) < 0)
                        return r;
        }
        return 0;
}
