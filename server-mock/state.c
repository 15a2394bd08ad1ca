/* SPDX-License-Identifier: Apache-2.0 */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tender/json.h"

struct mock_state {
        /* Arrays of pointers, so that entries handed out stay put when the arrays grow. */
        struct mock_target **targets;
        size_t n_targets, cap_targets;
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

int mock_target_get(struct mock_state *s, const char *controller_id, bool create,
                    struct mock_target **ret) {
        for (size_t i = 0; i < s->n_targets; i++)
                if (STREQ(s->targets[i]->controller_id, controller_id)) {
                        *ret = s->targets[i];
                        return 0;
                }
        if (!create)
                return -ENOENT;
        if (s->n_targets >= MOCK_MAX_TARGETS)
                return -ENOSPC;
        int r = grow((void ***) &s->targets, s->n_targets, &s->cap_targets);
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
        s->targets[s->n_targets++] = t;
        *ret = t;
        return 0;
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

static void action_close(struct mock_action *a, bool canceled) {
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

/* "configData": the attributes as recorded, "configDataPuts": how many requests set them. */
static bool target_config_data_to_json(cJSON *o, const struct mock_target *t) {
        cJSON *cfg = t->config_data ? cJSON_Duplicate(t->config_data, true) : cJSON_CreateObject();
        if (!cfg || !cJSON_AddItemToObject(o, "configData", cfg)) {
                cJSON_Delete(cfg);
                return false;
        }
        return cJSON_AddNumberToObject(o, "configDataPuts", (double) t->config_data_puts);
}

cJSON *mock_targets_to_json(struct mock_state *s) {
        _cleanup_(cJSON_Deletep) cJSON *arr = cJSON_CreateArray();
        if (!arr)
                return NULL;
        for (size_t i = 0; i < s->n_targets; i++) {
                const struct mock_target *t = s->targets[i];
                cJSON *o = cJSON_CreateObject();
                if (!o)
                        return NULL;
                cJSON_AddItemToArray(arr, o);
                bool ok = cJSON_AddStringToObject(o, "controllerId", t->controller_id) &&
                          (t->last_poll ? cJSON_AddNumberToObject(o, "lastPoll",
                                                                  (double) t->last_poll) != NULL
                                        : cJSON_AddNullToObject(o, "lastPoll") != NULL);
                if (!ok || !target_config_data_to_json(o, t))
                        return NULL;
        }
        return TAKE_PTR(arr);
}
