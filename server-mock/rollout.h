/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fleet rollouts: named groups of targets (listed by controller id, or every target whose
 * configData matches some attributes) and rollouts of one release over groups in order. A
 * rollout's devices are fixed when it is created: a canary phase first (canaryPercent of all
 * its devices, rounded up, taken from the front), then what is left of each group, one phase
 * per group. A phase's actions are created when it starts; the next phase starts once at least
 * successThreshold percent of the phase succeeded, and the rollout stops when more than
 * errorThreshold percent failed (or was canceled), or when every device of the phase finished
 * without reaching successThreshold. Pause holds the next phase back, resume lets it go on,
 * cancel asks each open action of the rollout to cancel (the DDI cancel handshake).
 * Documented in docs/fleet.md. Callers hold struct mock's lock, like state.h.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdint.h>

#include "state.h"
#include "tender/error.h"
#include "tender/macro.h"

#define MOCK_MAX_GROUPS 256
#define MOCK_MAX_ROLLOUTS 1024
#define MOCK_MAX_GROUP_ATTRIBUTES 16
#define MOCK_ROLLOUT_HISTORY_MAX 1000 /* events kept per rollout, the oldest dropped */

enum mock_rollout_state {
        MOCK_ROLLOUT_RUNNING,
        MOCK_ROLLOUT_PAUSED,
        MOCK_ROLLOUT_STOPPED, /* by the error threshold, or a phase that fell short */
        MOCK_ROLLOUT_CANCELED,
        MOCK_ROLLOUT_FINISHED,
};

struct mock_fleet;
struct mock_rollout;

int mock_fleet_new(struct mock_fleet **ret);
void mock_fleet_free(struct mock_fleet *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mock_fleet, mock_fleet_free);

/* Creates a group from {"name": N, "targets": [cid, ...]} or {"name": N, "attributes":
 * {"key": "value", ...}} (a target matches when its configData has every pair). -EINVAL (bad
 * body), -EEXIST, -ENOSPC; err says which. */
int mock_group_create(struct mock_fleet *f, const cJSON *body, struct tender_error *err);
/* [{"name", "targets" | "attributes", "members": [cid, ...] as of now}]; NULL on ENOMEM. */
cJSON *mock_groups_to_json(struct mock_fleet *f, struct mock_state *s);

/* Creates and starts a rollout from {"name", "app", "version", "groups": [names],
 * "canaryPercent" (0-100, default 0), "successThreshold" (1-100, default 100),
 * "errorThreshold" (0-100, default 0)}; the caller checked that the release exists. Creates
 * the actions of its first phase. -EINVAL, -ENOENT (unknown group), -EEXIST, -ENOSPC; err
 * says which. */
int mock_rollout_create(struct mock_fleet *f, struct mock_state *s, const cJSON *body, int64_t now,
                        struct mock_rollout **ret, struct tender_error *err);
struct mock_rollout *mock_rollout_get(struct mock_fleet *f, const char *name);

/* Operator commands. -EBUSY when the rollout's state does not allow it (pause: running only;
 * resume: paused only; cancel: not finished or canceled already); err says why. */
int mock_rollout_pause(struct mock_rollout *r, int64_t now, struct tender_error *err);
int mock_rollout_resume(struct mock_rollout *r, int64_t now, struct tender_error *err);
int mock_rollout_cancel(struct mock_rollout *r, struct mock_state *s, int64_t now,
                        struct tender_error *err);

/* Moves every running rollout on by what its actions' feedback says: stops it, or starts its
 * next phase. Called after each change of state; cheap when nothing runs. */
void mock_fleet_tick(struct mock_fleet *f, struct mock_state *s, int64_t now);

enum mock_rollout_state mock_rollout_state(const struct mock_rollout *r);
const char *mock_rollout_state_name(enum mock_rollout_state st);
/* The phase running (or where the rollout ended), from 0; the count of phases. */
unsigned mock_rollout_phase(const struct mock_rollout *r, unsigned *ret_n_phases);

/* The management view: settings, state, phases with counts, devices with their action and
 * status, history. NULL on ENOMEM. */
cJSON *mock_rollout_to_json(const struct mock_rollout *r, struct mock_state *s);
cJSON *mock_rollouts_to_json(struct mock_fleet *f, struct mock_state *s);
/* The rollouts a target is part of, [{"rollout", "phase", "actionId", "status"}]. */
cJSON *mock_fleet_target_json(struct mock_fleet *f, struct mock_state *s, const char *target);

/* The state file's part: {"groups": [...], "rollouts": [...]}; loading checks every member
 * (and that actions named exist in s) and names the first wrong one in err (-EBADMSG). */
cJSON *mock_fleet_to_json(struct mock_fleet *f);
int mock_fleet_from_json(struct mock_fleet *f, struct mock_state *s, const cJSON *o,
                         struct tender_error *err);
