/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mock's bookkeeping: targets (controllers) and deployment actions, in memory only.
 * Not thread-safe by itself: callers hold struct mock's lock (server.h).
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tender/error.h"
#include "tender/macro.h"

#define MOCK_CONTROLLER_ID_MAX 128
#define MOCK_MAX_TARGETS 100000
#define MOCK_MAX_ACTIONS 100000
#define MOCK_MAX_FEEDBACK 1000   /* feedback bodies kept per action */
#define MOCK_MAX_CONFIG_KEYS 256 /* configData attributes per target */

enum mock_result {
        MOCK_RESULT_NONE,
        MOCK_RESULT_SUCCESS,
        MOCK_RESULT_FAILURE,
};

struct mock_target {
        char *controller_id;
        int64_t last_poll;  /* unix time, 0 = never polled */
        cJSON *config_data; /* object of string attributes, NULL until the target sent some */
        uint64_t config_data_puts; /* configData requests recorded */
};

/* hawkBit's cancel handshake: requested by the management API, then offered to the device as
 * a cancelAction, which it confirms (the action closes as canceled) or rejects (the action
 * goes on; its deploymentBase is offered again). */
enum mock_cancel {
        MOCK_CANCEL_NONE,
        MOCK_CANCEL_REQUESTED,
        MOCK_CANCEL_CONFIRMED,
        MOCK_CANCEL_REJECTED,
};

struct mock_action {
        uint64_t id;
        char *target;
        char *app;
        char *version;
        bool open;
        bool canceled; /* closed by a newer deployment or a "canceled" feedback */
        enum mock_result result;
        cJSON *feedback; /* array of the bodies as received, in order */
        /* deployment.download / update: "attempt", "forced" (default) or "skip" */
        char download[8], update[8];
        /* deployment.maintenanceWindow: "", "available" or "unavailable" */
        char window[12];
        enum mock_cancel cancel;
        cJSON *cancel_feedback; /* bodies posted to cancelAction/{id}/feedback, in order */
};

struct mock_state;

int mock_state_new(struct mock_state **ret);
void mock_state_free(struct mock_state *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mock_state, mock_state_free);

/* [A-Za-z0-9._-]{1,MOCK_CONTROLLER_ID_MAX} */
bool mock_controller_id_valid(const char *s);

/* Finds a target; with create, registers it when unknown. -ENOENT (not found, !create),
 * -ENOSPC (MOCK_MAX_TARGETS reached), -ENOMEM. The pointer stays valid until mock_state_free. */
int mock_target_get(struct mock_state *s, const char *controller_id, bool create,
                    struct mock_target **ret);

/* Applies a configData request: mode "merge", "replace" or "remove" with an object whose
 * values are strings (checked by the caller). -ENOSPC past MOCK_MAX_CONFIG_KEYS. */
int mock_target_config_apply(struct mock_target *t, const char *mode, const cJSON *data);

/* Opens a new action for target (registered if needed), canceling the target's older open
 * action. -ENOSPC past MOCK_MAX_ACTIONS. */
int mock_action_create(struct mock_state *s, const char *target, const char *app,
                       const char *version, struct mock_action **ret);

/* NULL when unknown. */
struct mock_action *mock_action_get(struct mock_state *s, uint64_t id);
/* The target's open action, or NULL. */
struct mock_action *mock_action_open_for(struct mock_state *s, const char *target);
/* The target's most recent action closed with success (installedBase), or NULL. */
struct mock_action *mock_action_installed_for(struct mock_state *s, const char *target);

/* Records a validated feedback body (takes ownership of body, also on failure) and moves
 * the action: execution "closed" and "canceled" close it, result.finished sets the result.
 * -ENOSPC past MOCK_MAX_FEEDBACK. */
int mock_action_add_feedback(struct mock_action *a, cJSON *body, const char *execution,
                             const char *finished);

/* Records a validated cancelAction feedback body (takes ownership of body, also on failure):
 * "closed" or "canceled" without failure confirm the cancel and close the action as canceled;
 * anything else ("rejected", a failure) rejects it and the action goes on. -ENOSPC past
 * MOCK_MAX_FEEDBACK. */
int mock_action_add_cancel_feedback(struct mock_action *a, cJSON *body, const char *execution,
                                    const char *finished);
const char *mock_cancel_name(enum mock_cancel c);

/* hawkBit's action status for actionHistory: RUNNING, FINISHED, ERROR or CANCELED. */
const char *mock_action_history_status(const struct mock_action *a);

/* Changes with every action opened or closed: what the state file must hold before the request
 * that caused it is answered (server.c). */
uint64_t mock_state_generation(void);

/* The targets in registration order, for walks over the fleet (rollout.c). */
size_t mock_state_n_targets(const struct mock_state *s);
struct mock_target *mock_state_target_at(struct mock_state *s, size_t i);

/* The whole state for the state file: {"targets": [...], "actions": [...]}, each in the
 * management API's shape. NULL on ENOMEM. */
cJSON *mock_state_to_json(struct mock_state *s);
/* Loads what mock_state_to_json wrote into an empty state; every member is checked and err
 * names the first one that is wrong (actions must count up from 1 without gaps). -EBADMSG. */
int mock_state_from_json(struct mock_state *s, const cJSON *o, struct tender_error *err);

/* Management API views; NULL on ENOMEM. */
cJSON *mock_action_to_json(const struct mock_action *a);
cJSON *mock_actions_to_json(struct mock_state *s, const char *target /* NULL: all */);
cJSON *mock_target_to_json(const struct mock_target *t);
cJSON *mock_targets_to_json(struct mock_state *s);
