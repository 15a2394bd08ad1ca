/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI hooks, where and when the runtime spec puts them. prestart and createRuntime: run by
 * `create`, in the runtime's namespaces, once the init has built its mounts and waits before
 * pivot_root. createContainer: run by the init right after, in the container's namespaces,
 * still before pivot_root. startContainer: by the init after `start`, after pivot_root, before
 * it execs the process. poststart: by `start`; poststop: by `delete`. Each gets the
 * container's state JSON on stdin (status "creating" during create, "created" for
 * startContainer); a hook with a timeout is killed when it passes it. `create` copies the hooks
 * object to the state directory (hooks.json) so that `start` and `delete` run them without the
 * bundle.
 */
#pragma once

#include <stdbool.h>

#include "tender/error.h"
#include "tender/json.h"

#define TENDER_RT_HOOKS_FILE "hooks.json"
#define TENDER_RT_MAX_HOOKS 64
#define TENDER_RT_HOOK_TIMEOUT_MAX 3600
#define TENDER_RT_HOOK_DEFAULT_TIMEOUT 60 /* seconds, when the hook names none */

/* Checks the "hooks" object of config.json; errors name the JSON path. */
int tender_rt_hooks_check(const cJSON *hooks, struct tender_error *err);

/* Appends the hook kinds the runtime runs (the features document's "hooks"). */
int tender_rt_hooks_features(cJSON *array);

/* Does hooks (may be NULL) have hooks of this kind? */
bool tender_rt_hooks_has(const cJSON *hooks, const char *kind);
/* The state JSON with another status (malloc'd; "stopped" also zeroes the pid); NULL on
 * failure. */
char *tender_rt_hooks_state_as(const char *state_json, const char *status);

/* Reads hooks.json from a state directory; *ret is NULL when there is none. */
int tender_rt_hooks_load(int dirfd, cJSON **ret, struct tender_error *err);

/* Runs the hooks of one kind ("prestart", ...) in order (hooks may be NULL: nothing to do).
 * Stops at the first failure, naming it ("hooks.prestart[1]: /bin/x exited with 3"). */
int tender_rt_hooks_run(const cJSON *hooks, const char *kind, const char *state_json,
                        struct tender_error *err);
