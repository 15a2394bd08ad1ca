/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime's operations, one per subcommand; the subcommand files only parse arguments.
 * Each returns 0 or -errno with err filled in one line ("container web is running").
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "tender/error.h"

#define TENDER_RT_MONITOR_EXIT_TIMEOUT_MS 10000
#define TENDER_RT_START_TIMEOUT_MS 10000

struct tender_rt_global {
        const char *root; /* state root, TENDER_RT_DEFAULT_ROOT by default */
};

struct tender_rt_create_opts {
        const char *id;
        const char *bundle;   /* default "." */
        const char *pid_file; /* may be NULL */
};

int tender_rt_create(const struct tender_rt_global *g, const struct tender_rt_create_opts *o,
                     struct tender_error *err);
int tender_rt_start(const struct tender_rt_global *g, const char *id, struct tender_error *err);
/* The OCI state JSON (malloc'd, one line). */
int tender_rt_state(const struct tender_rt_global *g, const char *id, char **ret_json,
                    struct tender_error *err);
int tender_rt_kill(const struct tender_rt_global *g, const char *id, int sig,
                   struct tender_error *err);
int tender_rt_delete(const struct tender_rt_global *g, const char *id, bool force,
                     struct tender_error *err);
/* Waits until the container's monitor has recorded the exit, forwarding SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT to the container meanwhile. *ret_status is the exit code or 128+signal. */
int tender_rt_wait(const struct tender_rt_global *g, const char *id, int *ret_status,
                   struct tender_error *err);

/* "TERM", "SIGTERM", "15" -> 15; -EINVAL otherwise. */
int tender_rt_parse_signal(const char *s);
