/* SPDX-License-Identifier: Apache-2.0 */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tender/json.h"
#include "tender/manifest.h"

struct mock_state {
        /* Arrays of pointers, so that entries handed out stay put when the arrays grow. */
        struct mock_target **targets;
        size_t n_targets, cap_targets;
        /* Open addressing over targets by controller id (indexes + 1, 0 = empty): a poll of
         * one of 10,000 devices must not compare 10,000 strings. Size a power of two, kept at
         * most half full. */
        uint32_t *index;
        size_t index_size;
        struct mock_action **actions; /* actions[i]->id == i + 1 */
        size_t n_actions, cap_actions;
};

static void target_free(struct mock_target *t) {
        if (!t)
                return;
        free(t->controller_id);
        cJSON_Delete(t->config_data);
        free(t);
}

static void action_free(struct mock_action *a) {
        if (!a)
                return;
        free(a->target);
        free(a->app);
        free(a->version);
        cJSON_Delete(a->feedback);
        cJSON_Delete(a->cancel_feedback);
        free(a);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mock_action, action_free);

int mock_state_new(struct mock_state **ret) {
        struct mock_state *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

void mock_state_free(struct mock_state *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_targets; i++)
                target_free(s->targets[i]);
        for (size_t i = 0; i < s->n_actions; i++)
                action_free(s->actions[i]);
        free(s->targets);
        free(s->index);
        free(s->actions);
        free(s);
}

bool mock_controller_id_valid(const char *s) {
        size_t n = 0;
        if (!s)
                return false;
        for (; s[n]; n++) {
                char c = s[n];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                if (!ok || n >= MOCK_CONTROLLER_ID_MAX)
                        return false;
        }
        return n > 0;
}

/* Grows an array of pointers by one slot. */
static int grow(void ***array, size_t n, size_t *cap) {
        if (n < *cap)
                return 0;
        size_t new_cap = *cap ? *cap * 2 : 16;
        void **p = realloc(*array, new_cap * sizeof(void *));
        if (!p)
                return -ENOMEM;
        *array = p;
        *cap = new_cap;
        return 0;
}

static size_t id_hash(const char *id) {
        uint32_t h = 2166136261u; /* FNV-1a */
        for (; *id; id++)
                h = (h ^ (unsigned char) *id) * 16777619u;
        return h;
}

/* The index slot of controller_id: the one holding it, or the empty one where it goes. */
static size_t index_slot(const struct mock_state *s, const char *controller_id) {
        size_t mask = s->index_size - 1, i = id_hash(controller_id) & mask;
        while (s->index[i] && !STREQ(s->targets[s->index[i] - 1]->controller_id, controller_id))
                i = (i + 1) & mask;
        return i;
}

/* Makes room in the index for one more target. */
static int index_grow(struct mock_state *s) {
        if ((s->n_targets + 1) * 2 <= s->index_size)
                return 0;
        size_t size = s->index_size ? s->index_size * 2 : 64;
        uint32_t *index = calloc(size, sizeof(*index));
        if (!index)
                return -ENOMEM;
        free(s->index);
        s->index = index;
        s->index_size = size;
        for (size_t i = 0; i < s->n_targets; i++)
                s->index[index_slot(s, s->targets[i]->controller_id)] = (uint32_t) i + 1;
        return 0;
}

int mock_target_get(struct mock_state *s, const char *controller_id, bool create,
                    struct mock_target **ret) {
        if (s->index_size) {
                size_t slot = index_slot(s, controller_id);
                if (s->index[slot]) {
                        *ret = s->targets[s->index[slot] - 1];
                        return 0;
                }
        }
        if (!create)
                return -ENOENT;
        if (s->n_targets >= MOCK_MAX_TARGETS)
                return -ENOSPC;
        int r = grow((void ***) &s->targets, s->n_targets, &s->cap_targets);
        if (r < 0)
                return r;
        r = index_grow(s);
        if (r < 0)
                return r;
        struct mock_target *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->controller_id = strdup(controller_id);
        if (!t->controller_id) {
                free(t);
                return -ENOMEM;
        }
        s->index[index_slot(s, t->controller_id)] = (uint32_t) s->n_targets + 1;
        s->targets[s->n_targets++] = t;
        *ret = t;
        return 0;
}

size_t mock_state_n_targets(const struct mock_state *s) {
        return s->n_targets;
}

struct mock_target *mock_state_target_at(struct mock_state *s, size_t i) {
        return i < s->n_targets ? s->targets[i] : NULL;
}

int mock_target_config_apply(struct mock_target *t, const char *mode, const cJSON *data) {
        _cleanup_(cJSON_Deletep) cJSON *next = NULL;
        if (STREQ(mode, "replace") || !t->config_data)
                next = cJSON_CreateObject();
        else
                next = cJSON_Duplicate(t->config_data, true);
        if (!next)
                return -ENOMEM;

        const cJSON *item;
        cJSON_ArrayForEach(item, data) {
                cJSON_DeleteItemFromObjectCaseSensitive(next, item->string);
                if (STREQ(mode, "remove"))
                        continue;
                cJSON *copy = cJSON_Duplicate(item, true);
                if (!copy)
                        return -ENOMEM;
                cJSON_AddItemToObject(next, item->string, copy);
        }
        if (cJSON_GetArraySize(next) > MOCK_MAX_CONFIG_KEYS)
                return -ENOSPC;
        cJSON_Delete(t->config_data);
        t->config_data = TAKE_PTR(next);
        t->config_data_puts++;
        return 0;
}

/* Actions opened and closed in this process (the actions hold no pointer to their state; the
 * server has one). */
static uint64_t generation;

uint64_t mock_state_generation(void) {
        return generation;
}

static void action_close(struct mock_action *a, bool canceled) {
        if (a->open)
                generation++;
        a->open = false;
        a->canceled = canceled;
}

int mock_action_create(struct mock_state *s, const char *target, const char *app,
                       const char *version, struct mock_action **ret) {
        if (s->n_actions >= MOCK_MAX_ACTIONS)
                return -ENOSPC;
        struct mock_target *t;
        int r = mock_target_get(s, target, true, &t);
        if (r < 0)
                return r;
        r = grow((void ***) &s->actions, s->n_actions, &s->cap_actions);
        if (r < 0)
                return r;

        _cleanup_(action_freep) struct mock_action *a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->id = s->n_actions + 1;
        a->target = strdup(target);
        a->app = strdup(app);
        a->version = strdup(version);
        a->feedback = cJSON_CreateArray();
        a->cancel_feedback = cJSON_CreateArray();
        if (!a->target || !a->app || !a->version || !a->feedback || !a->cancel_feedback)
                return -ENOMEM;
        a->open = true;
        snprintf(a->download, sizeof(a->download), "forced");
        snprintf(a->update, sizeof(a->update), "forced");

        /* hawkBit cancels the running action when a new one is assigned; the mock has no
         * cancel handshake, so the old action is closed at once. */
        struct mock_action *old;
        while ((old = mock_action_open_for(s, target)))
                action_close(old, true);

        s->actions[s->n_actions++] = a;
        generation++;
        *ret = TAKE_PTR(a);
        return 0;
}

struct mock_action *mock_action_get(struct mock_state *s, uint64_t id) {
        if (id == 0 || id > s->n_actions)
                return NULL;
        return s->actions[id - 1];
}

struct mock_action *mock_action_open_for(struct mock_state *s, const char *target) {
        for (size_t i = s->n_actions; i > 0; i--) {
                struct mock_action *a = s->actions[i - 1];
                if (a->open && STREQ(a->target, target))
                        return a;
        }
        return NULL;
}

struct mock_action *mock_action_installed_for(struct mock_state *s, const char *target) {
        for (size_t i = s->n_actions; i > 0; i--) {
                struct mock_action *a = s->actions[i - 1];
                if (!a->open && a->result == MOCK_RESULT_SUCCESS && STREQ(a->target, target))
                        return a;
        }
        return NULL;
}

int mock_action_add_feedback(struct mock_action *a, cJSON *body, const char *execution,
                             const char *finished) {
        _cleanup_(cJSON_Deletep) cJSON *owned = body;
        if (cJSON_GetArraySize(a->feedback) >= MOCK_MAX_FEEDBACK)
                return -ENOSPC;
        cJSON_AddItemToArray(a->feedback, TAKE_PTR(owned));

        if (STREQ(finished, "success"))
                a->result = MOCK_RESULT_SUCCESS;
        else if (STREQ(finished, "failure"))
                a->result = MOCK_RESULT_FAILURE;
        if (STREQ(execution, "closed"))
                action_close(a, false);
        else if (STREQ(execution, "canceled"))
                action_close(a, true);
        return 0;
}

int mock_action_add_cancel_feedback(struct mock_action *a, cJSON *body, const char *execution,
                                    const char *finished) {
        _cleanup_(cJSON_Deletep) cJSON *owned = body;
        if (cJSON_GetArraySize(a->cancel_feedback) >= MOCK_MAX_FEEDBACK)
                return -ENOSPC;
        cJSON_AddItemToArray(a->cancel_feedback, TAKE_PTR(owned));
        if ((STREQ(execution, "closed") || STREQ(execution, "canceled")) &&
            !STREQ(finished, "failure")) {
                a->cancel = MOCK_CANCEL_CONFIRMED;
                action_close(a, true);
        } else if (STREQ(execution, "rejected") || STREQ(finished, "failure"))
                a->cancel = MOCK_CANCEL_REJECTED;
        return 0;
}

const char *mock_cancel_name(enum mock_cancel c) {
        static const char *const names[] = {
                [MOCK_CANCEL_NONE] = "none",
                [MOCK_CANCEL_REQUESTED] = "requested",
                [MOCK_CANCEL_CONFIRMED] = "confirmed",
                [MOCK_CANCEL_REJECTED] = "rejected",
        };
        return (unsigned) c < ELEMENTSOF(names) ? names[c] : "none";
}

const char *mock_action_history_status(const struct mock_action *a) {
        if (a->open)
                return "RUNNING";
        if (a->canceled)
                return "CANCELED";
        return a->result == MOCK_RESULT_FAILURE ? "ERROR" : "FINISHED";
}

static const char *result_name(enum mock_result r) {
        switch (r) {
        case MOCK_RESULT_SUCCESS:
                return "success";
        case MOCK_RESULT_FAILURE:
                return "failure";
        default:
                return "none";
        }
}

cJSON *mock_action_to_json(const struct mock_action *a) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON *fb = cJSON_Duplicate(a->feedback, true);
        cJSON *cfb = cJSON_Duplicate(a->cancel_feedback, true);
        if (!o || !fb || !cfb) {
                cJSON_Delete(fb);
                cJSON_Delete(cfb);
                return NULL;
        }
        bool ok = cJSON_AddNumberToObject(o, "id", (double) a->id) &&
                  cJSON_AddStringToObject(o, "target", a->target) &&
                  cJSON_AddStringToObject(o, "app", a->app) &&
                  cJSON_AddStringToObject(o, "version", a->version) &&
                  cJSON_AddStringToObject(o, "status", a->open ? "open" : "closed") &&
                  cJSON_AddStringToObject(o, "result", result_name(a->result)) &&
                  cJSON_AddBoolToObject(o, "canceled", a->canceled) &&
                  cJSON_AddStringToObject(o, "actionStatus", mock_action_history_status(a)) &&
                  cJSON_AddStringToObject(o, "download", a->download) &&
                  cJSON_AddStringToObject(o, "update", a->update) &&
                  cJSON_AddStringToObject(o, "maintenanceWindow", a->window) &&
                  cJSON_AddStringToObject(o, "cancel", mock_cancel_name(a->cancel));
        cJSON_AddItemToObject(o, "feedback", fb);
        cJSON_AddItemToObject(o, "cancelFeedback", cfb);
        return ok ? TAKE_PTR(o) : NULL;
}

cJSON *mock_actions_to_json(struct mock_state *s, const char *target) {
        _cleanup_(cJSON_Deletep) cJSON *arr = cJSON_CreateArray();
        if (!arr)
                return NULL;
        for (size_t i = 0; i < s->n_actions; i++) {
                const struct mock_action *a = s->actions[i];
                if (target && !STREQ(a->target, target))
                        continue;
                cJSON *o = mock_action_to_json(a);
                if (!o)
                        return NULL;
                cJSON_AddItemToArray(arr, o);
        }
        return TAKE_PTR(arr);
}

/* A target as GET /mock/targets shows it; "configDataPuts" counts the requests that set its
 * configData. */
cJSON *mock_target_to_json(const struct mock_target *t) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        if (!o)
                return NULL;
        bool ok = cJSON_AddStringToObject(o, "controllerId", t->controller_id) &&
                  (t->last_poll
                           ? cJSON_AddNumberToObject(o, "lastPoll", (double) t->last_poll) != NULL
                           : cJSON_AddNullToObject(o, "lastPoll") != NULL);
        cJSON *cfg = t->config_data ? cJSON_Duplicate(t->config_data, true) : cJSON_CreateObject();
        if (!ok || !cfg || !cJSON_AddItemToObject(o, "configData", cfg)) {
                cJSON_Delete(cfg);
                return NULL;
        }
        if (!cJSON_AddNumberToObject(o, "configDataPuts", (double) t->config_data_puts))
                return NULL;
        return TAKE_PTR(o);
}

cJSON *mock_targets_to_json(struct mock_state *s) {
        _cleanup_(cJSON_Deletep) cJSON *arr = cJSON_CreateArray();
        if (!arr)
                return NULL;
        for (size_t i = 0; i < s->n_targets; i++) {
                cJSON *o = mock_target_to_json(s->targets[i]);
                if (!o)
                        return NULL;
                cJSON_AddItemToArray(arr, o);
        }
        return TAKE_PTR(arr);
}

cJSON *mock_state_to_json(struct mock_state *s) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON *targets = mock_targets_to_json(s), *actions = mock_actions_to_json(s, NULL);
        if (!o || !targets || !actions) {
                cJSON_Delete(targets);
                cJSON_Delete(actions);
                return NULL;
        }
        cJSON_AddItemToObject(o, "targets", targets);
        cJSON_AddItemToObject(o, "actions", actions);
        return TAKE_PTR(o);
}

/* Index of s in names (NULL-terminated), or -1. */
static int name_index(const char *s, const char *const *names) {
        for (int i = 0; names[i]; i++)
                if (STREQ(s, names[i]))
                        return i;
        return -1;
}

/* "<path><member>: <what>" */
static int bad(struct tender_error *err, const char *path, const char *member, const char *what) {
        return tender_error_set(err, TENDER_ERR_JSON, EBADMSG, "%s%s: %s", path, member, what);
}

static int target_from_json(struct mock_state *s, const cJSON *o, const char *path,
                            struct tender_error *err) {
        const char *cid = NULL;
        const cJSON *cfg = NULL, *item;
        uint64_t last_poll = 0;
        const cJSON *lp = cJSON_GetObjectItemCaseSensitive(o, "lastPoll");
        if (!cJSON_IsObject(o) ||
            tender_json_get_string(o, path, "controllerId", true, &cid, err) < 0 ||
            (!cJSON_IsNull(lp) &&
             tender_json_get_u64(o, path, "lastPoll", true, &last_poll, err) < 0) ||
            tender_json_get_object(o, path, "configData", true, &cfg, err) < 0)
                return cJSON_IsObject(o) ? -EBADMSG : bad(err, path, "", "not an object");
        if (!mock_controller_id_valid(cid))
                return bad(err, path, ".controllerId", "not a valid controller id");
        cJSON_ArrayForEach(item, cfg) {
                if (!cJSON_IsString(item))
                        return bad(err, path, ".configData", "values must be strings");
        }
        if (cJSON_GetArraySize(cfg) > MOCK_MAX_CONFIG_KEYS)
                return bad(err, path, ".configData", "too many attributes");
        struct mock_target *t;
        if (mock_target_get(s, cid, false, &t) == 0)
                return bad(err, path, ".controllerId", "listed twice");
        int r = mock_target_get(s, cid, true, &t);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "%s", path);
        t->last_poll = (int64_t) last_poll;
        if (cJSON_GetArraySize(cfg) > 0 && !(t->config_data = cJSON_Duplicate(cfg, true)))
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "%s", path);
        return 0;
}

/* The enumerations of an action as mock_action_to_json writes them. */
static int action_enums_from_json(struct mock_action *a, const cJSON *o, const char *path,
                                  struct tender_error *err) {
        static const char *const statuses[] = {"closed", "open", NULL};
        static const char *const results[] = {"none", "success", "failure", NULL};
        static const char *const types[] = {"attempt", "forced", "skip", NULL};
        static const char *const windows[] = {"", "available", "unavailable", NULL};
        static const char *const cancels[] = {"none", "requested", "confirmed", "rejected", NULL};
        const char *status, *result, *download, *update, *window, *cancel;
        int r;
        if ((r = tender_json_get_string(o, path, "status", true, &status, err)) < 0 ||
            (r = tender_json_get_string(o, path, "result", true, &result, err)) < 0 ||
            (r = tender_json_get_string(o, path, "download", true, &download, err)) < 0 ||
            (r = tender_json_get_string(o, path, "update", true, &update, err)) < 0 ||
            (r = tender_json_get_string(o, path, "maintenanceWindow", true, &window, err)) < 0 ||
            (r = tender_json_get_string(o, path, "cancel", true, &cancel, err)) < 0 ||
            (r = tender_json_get_bool(o, path, "canceled", true, &a->canceled, err)) < 0)
                return r;
        int st = name_index(status, statuses), re = name_index(result, results);
        int ca = name_index(cancel, cancels);
        if (st < 0 || re < 0 || ca < 0 || name_index(download, types) < 0 ||
            name_index(update, types) < 0 || name_index(window, windows) < 0)
                return bad(err, path, "",
                           "unknown status, result, download, update, maintenanceWindow or cancel");
        a->open = st == 1;
        a->result = re == 1   ? MOCK_RESULT_SUCCESS
                    : re == 2 ? MOCK_RESULT_FAILURE
                              : MOCK_RESULT_NONE;
        a->cancel = (enum mock_cancel) ca;
        snprintf(a->download, sizeof(a->download), "%s", download);
        snprintf(a->update, sizeof(a->update), "%s", update);
        snprintf(a->window, sizeof(a->window), "%s", window);
        return 0;
}

static int action_from_json(struct mock_state *s, const cJSON *o, const char *path,
                            struct tender_error *err) {
        const char *target, *app, *version;
        const cJSON *fb, *cfb;
        uint64_t id;
        if (!cJSON_IsObject(o))
                return bad(err, path, "", "not an object");
        if (tender_json_get_u64(o, path, "id", true, &id, err) < 0 ||
            tender_json_get_string(o, path, "target", true, &target, err) < 0 ||
            tender_json_get_string(o, path, "app", true, &app, err) < 0 ||
            tender_json_get_string(o, path, "version", true, &version, err) < 0 ||
            tender_json_get_array(o, path, "feedback", true, &fb, err) < 0 ||
            tender_json_get_array(o, path, "cancelFeedback", true, &cfb, err) < 0)
                return -EBADMSG;
        if (id != s->n_actions + 1)
                return bad(err, path, ".id", "action ids must count up from 1 in order");
        if (!mock_controller_id_valid(target) || !tender_name_valid(app) ||
            !tender_name_valid(version))
                return bad(err, path, "", "invalid target, app or version");
        if (cJSON_GetArraySize(fb) > MOCK_MAX_FEEDBACK ||
            cJSON_GetArraySize(cfb) > MOCK_MAX_FEEDBACK)
                return bad(err, path, "", "too many feedback bodies");
        if (s->n_actions >= MOCK_MAX_ACTIONS)
                return bad(err, path, "", "too many actions");
        struct mock_target *t;
        int r = mock_target_get(s, target, true, &t);
        if (r >= 0)
                r = grow((void ***) &s->actions, s->n_actions, &s->cap_actions);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "%s", path);
        _cleanup_(action_freep) struct mock_action *a = calloc(1, sizeof(*a));
        if (!a)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "%s", path);
        a->id = id;
        r = action_enums_from_json(a, o, path, err);
        if (r < 0)
                return r;
        a->target = strdup(target);
        a->app = strdup(app);
        a->version = strdup(version);
        a->feedback = cJSON_Duplicate(fb, true);
        a->cancel_feedback = cJSON_Duplicate(cfb, true);
        if (!a->target || !a->app || !a->version || !a->feedback || !a->cancel_feedback)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "%s", path);
        if (a->open && mock_action_open_for(s, target))
                return bad(err, path, "", "a second open action of its target");
        s->actions[s->n_actions++] = TAKE_PTR(a);
        return 0;
}

int mock_state_from_json(struct mock_state *s, const cJSON *o, struct tender_error *err) {
        const cJSON *targets, *actions, *item;
        if (tender_json_get_array(o, "", "targets", true, &targets, err) < 0 ||
            tender_json_get_array(o, "", "actions", true, &actions, err) < 0)
                return -EBADMSG;
        char path[48];
        size_t i = 0;
        int r;
        cJSON_ArrayForEach(item, targets) {
                snprintf(path, sizeof(path), "targets[%zu]", i++);
                if ((r = target_from_json(s, item, path, err)) < 0)
                        return r;
        }
        i = 0;
        cJSON_ArrayForEach(item, actions) {
                snprintf(path, sizeof(path), "actions[%zu]", i++);
                if ((r = action_from_json(s, item, path, err)) < 0)
                        return r;
        }
        return 0;
}
