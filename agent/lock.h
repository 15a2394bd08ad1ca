/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Update locks as leases (docs/agent.md, "Update locks"). They defer an update's swap, never its
 * download:
 *   - an operator lock (tenderctl lock): locks/<app>.json in the store, with an expiry time, so
 *     that it survives a tenderd restart and ends by itself;
 *   - an app lock: locks/app/<app> in the store, bind-mounted into the app's container at
 *     LOCK_APP_MOUNT. The app holds it with flock(2) or an OFD lock (F_OFD_SETLK); the kernel
 *     drops it when the holder's last descriptor goes, e.g. when the process dies. tenderd
 *     honours it for at most control.appLockTtlSeconds per deferred swap.
 * The swap gate (gate.c) asks these; this module only keeps and tests the locks.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tender/error.h"

#define LOCK_DIR "locks"
#define LOCK_APP_DIR "locks/app"
#define LOCK_APP_MOUNT "/run/tender/lock"
#define LOCK_REASON_MAX 200
#define LOCK_TTL_MAX (30ULL * 86400)
#define LOCK_FILE_MAX 4096

struct lock_operator {
        uint64_t created, until; /* wall clock, seconds since the epoch */
        uid_t uid;               /* who took it */
        char reason[LOCK_REASON_MAX + 1];
};

/* Takes (or renews) the operator lock of app for ttl_sec seconds; durable on return. */
int lock_operator_set(int root_fd, const char *app, uint64_t ttl_sec, const char *reason, uid_t uid,
                      struct tender_error *err);
/* Removes it; -ENOENT when there was none. */
int lock_operator_clear(int root_fd, const char *app);
/* The operator lock of app in force at `now`; -ENOENT when none, or when it expired. */
int lock_operator_get(int root_fd, const char *app, uint64_t now, struct lock_operator *ret);

/* The host path of app's lock file (created empty, 0644, when missing), to be bind-mounted
 * into its container. The caller frees *ret_path. */
int lock_app_path(int root_fd, const char *root, const char *app, char **ret_path);
/* 1 when a process holds app's lock file (flock, OFD or POSIX lock), 0 when not or when the
 * file does not exist, negative errno when it cannot tell. */
int lock_app_held(int root_fd, const char *app);
