/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Containers through an OCI runtime CLI (tender-runtime, crun or runc): only create, start,
 * state, kill and delete are used. The rootfs is an overlay of the release's layers mounted by
 * tenderd on bundle/rootfs; bundle/config.json is generated from the release manifest.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tender/error.h"
#include "tender/manifest.h"
#include "tender/store.h"

#define CONTAINER_ID_MAX (2 * TENDER_NAME_MAX + 2)
#define RUNTIME_OUTPUT_MAX (64 * 1024) /* state JSON, error text */

struct runtime {
        const char *path; /* executable, looked up in PATH */
        const char *root; /* --root, NULL for the runtime's default */
};

enum container_status {
        CONTAINER_ABSENT, /* the runtime does not know the id */
        CONTAINER_CREATED,
        CONTAINER_RUNNING,
        CONTAINER_STOPPED,
        CONTAINER_OTHER, /* paused, creating, ... */
};

struct container_state {
        enum container_status status;
        int pid;
        bool has_exit_status, has_exit_signal;
        int exit_status, exit_signal;
};

/* "<app>-<version>" with dots replaced by '_'. */
void container_id(const char *app, const char *version, char buf[static CONTAINER_ID_MAX]);
const char *container_status_name(enum container_status s);

int container_state(const struct runtime *rt, const char *id, struct container_state *ret,
                    struct tender_error *err);

/* Runs command in the running container (`exec ID -- command...`), for at most timeout_ms (0:
 * no limit; then the runtime and what it started are killed: -ETIMEDOUT). The command's exit
 * status goes to *ret_status (128+signal when killed) and its output, stdout and stderr mixed,
 * into output (may be NULL). */
int container_exec(const struct runtime *rt, const char *id, char *const *command,
                   uint64_t timeout_ms, int *ret_status, char *output, size_t output_size,
                   struct tender_error *err);

/* Writes bundle/config.json of the release (OCI runtime spec 1.0.2); creates volumes. */
int container_write_config(struct tender_store *store, const struct tender_release_manifest *m,
                           struct tender_error *err);

/* Mounts the overlay (if not mounted), creates and starts the container. */
int container_start(const struct runtime *rt, struct tender_store *store,
                    const struct tender_release_manifest *m, struct tender_error *err);

/* SIGTERM, up to timeout_sec for it to stop, SIGKILL; then delete and unmount its rootfs.
 * A container that does not exist is only unmounted. */
int container_stop(const struct runtime *rt, struct tender_store *store, const char *app,
                   const char *version, uint64_t timeout_sec, struct tender_error *err);
