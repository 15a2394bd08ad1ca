/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime's operations, one per subcommand; the subcommand files only parse arguments.
 * Each returns 0 or -errno with err filled in one line ("container web is running").
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "tender/error.h"
#include "tender/json.h"

#define TENDER_RT_MONITOR_EXIT_TIMEOUT_MS 10000
/* How long `state` waits for a live monitor to record an exit it has just seen. */
#define TENDER_RT_STATE_EXIT_WAIT_MS 1000
#define TENDER_RT_START_TIMEOUT_MS 10000
/* The runtime-spec version of our state and features documents. */
#define TENDER_RT_OCI_VERSION "1.0.2"

struct tender_rt_global {
        const char *root; /* state root, TENDER_RT_DEFAULT_ROOT by default */
};

struct tender_rt_create_opts {
        const char *id;
        const char *bundle;   /* default "." */
        const char *pid_file; /* may be NULL */
        /* The container's stdout/stderr to journald or ROOT/ID/output.log, stdin /dev/null;
         * without it the container inherits the caller's stdio, as with runc and crun. */
        bool output_log;
        const char *console_socket; /* process.terminal: where the pty master goes */
};

int tender_rt_create(const struct tender_rt_global *g, const struct tender_rt_create_opts *o,
                     struct tender_error *err);
int tender_rt_start(const struct tender_rt_global *g, const char *id, struct tender_error *err);
/* The OCI state JSON (malloc'd, one line). */
int tender_rt_state(const struct tender_rt_global *g, const char *id, char **ret_json,
                    struct tender_error *err);
int tender_rt_kill(const struct tender_rt_global *g, const char *id, int sig,
                   struct tender_error *err);
/* Returns 1 (deleted) with err set when a poststop hook failed: a warning, not an error. */
int tender_rt_delete(const struct tender_rt_global *g, const char *id, bool force,
                     struct tender_error *err);
/* Runs the container's hooks of one kind (e.g. "poststart") with its current state. */
int tender_rt_run_hooks(const struct tender_rt_global *g, const char *id, const char *kind,
                        struct tender_error *err);
/* Waits until the container's monitor has recorded the exit, forwarding SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT to the container meanwhile. *ret_status is the exit code or 128+signal. */
int tender_rt_wait(const struct tender_rt_global *g, const char *id, int *ret_status,
                   struct tender_error *err);

struct tender_rt_state;
/* The OCI state of an opened container: runc's fields (ociVersion, id, pid, status, bundle,
 * rootfs, created, annotations, owner), then exitStatus/exitSignal once it stopped. Takes
 * s->annotations. */
int tender_rt_state_object(int dirfd, struct tender_rt_state *s, cJSON **ret);
/* The name of the user owning a state directory ("#UID" without one). */
void tender_rt_owner_name(int dirfd, char *out, size_t size);
/* Opens ROOT/ID and reads its state; "container ID does not exist" when there is none. */
int tender_rt_open_container(const struct tender_rt_global *g, const char *id, int *ret_dirfd,
                             struct tender_rt_state **ret_state, struct tender_error *err);

struct tender_rt_exec_opts {
        const char *id;
        char **args;      /* the command, NULL-terminated */
        const char *cwd;  /* NULL: process.cwd of the container's config.json */
        char **extra_env; /* NAME=VALUE added to process.env, may be NULL */
        bool detach;      /* return once the command runs, without waiting */
        const char *pid_file;
};

/* Runs a command in a running container: joins all its namespaces (user first), its cgroup,
 * and applies its config.json's process settings (user, capabilities, noNewPrivileges,
 * seccomp, rlimits). Errors up to execve come back in err. *ret_status is the command's exit
 * code or 128+signal (0 with detach). */
int tender_rt_exec(const struct tender_rt_global *g, const struct tender_rt_exec_opts *o,
                   int *ret_status, struct tender_error *err);

/* Prints the containers under the root: a table, their ids only (quiet), or a JSON array. */
int tender_rt_list(const struct tender_rt_global *g, bool quiet, bool json,
                   struct tender_error *err);

/* "TERM", "SIGTERM", "15" -> 15; -EINVAL otherwise. */
int tender_rt_parse_signal(const char *s);
