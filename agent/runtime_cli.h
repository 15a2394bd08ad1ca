/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI runtime CLI (tender-runtime, crun or runc) as tenderd uses it: create, start, state,
 * kill, delete and exec, nothing else, so that any runtime that implements the OCI command line
 * runs tenderd's bundles. Every call forks the runtime and waits for it; a failure carries the
 * runtime's own error text.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tender/error.h"
#include "tender/manifest.h"

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

/* `state ID`; an id the runtime does not know is CONTAINER_ABSENT, not an error. */
int container_state(const struct runtime *rt, const char *id, struct container_state *ret,
                    struct tender_error *err);

/* Runs command in the running container (`exec ID -- command...`), for at most timeout_ms (0:
 * no limit; then the runtime and what it started are killed: -ETIMEDOUT). The command's exit
 * status goes to *ret_status (128+signal when killed) and its output, stdout and stderr mixed,
 * into output (may be NULL). */
int container_exec(const struct runtime *rt, const char *id, char *const *command,
                   uint64_t timeout_ms, int *ret_status, char *output, size_t output_size,
                   struct tender_error *err);

/* `create --bundle BUNDLE ID`, `start ID`, `kill ID SIGNAL` (a name: "TERM") and
 * `delete --force ID`. err may be NULL. */
int runtime_create(const struct runtime *rt, const char *bundle, const char *id,
                   struct tender_error *err);
int runtime_start(const struct runtime *rt, const char *id, struct tender_error *err);
int runtime_kill(const struct runtime *rt, const char *id, const char *signal,
                 struct tender_error *err);
int runtime_delete(const struct runtime *rt, const char *id, struct tender_error *err);

/* The file the container's stdout and stderr go to, which `tenderctl logs APP` shows: the
 * runtime's ROOT/ID/output.log (tender-runtime's default root when rt->root is NULL); the
 * previous megabyte is in the same path with ".1" appended (docs/runtime.md, "Output"). */
#define RUNTIME_DEFAULT_ROOT "/run/tender-runtime"
int runtime_output_path(const struct runtime *rt, const char *id, char *buf, size_t size);

/* Polls `state` until the container is neither running nor paused, up to timeout_ms. */
bool container_wait_stopped(const struct runtime *rt, const char *id, uint64_t timeout_ms);
