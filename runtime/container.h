/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container init: the process the monitor clone()s into new namespaces. It joins the cgroup,
 * builds the file system view, reports READY (or the error that stopped it) on the sync pipe,
 * waits on the exec FIFO until `start`, then drops to process.user and execs process.args.
 */
#pragma once

#include <sys/types.h>

#include "spec.h"

enum tender_rt_sync_type {
        TENDER_RT_SYNC_PID = 1, /* monitor: value is the init's host pid */
        TENDER_RT_SYNC_READY,   /* init: set up, waiting on the exec FIFO */
        TENDER_RT_SYNC_ERROR,   /* monitor or init: message says what failed */
        TENDER_RT_SYNC_HOOKS,   /* init: mounts built, waits on hooks_fd for the state JSON */
};

/* Fixed size below PIPE_BUF, so that each message is written atomically. */
struct tender_rt_sync_msg {
        int type;
        int value;
        char message[TENDER_ERROR_MESSAGE_MAX];
};

int tender_rt_sync_send(int fd, enum tender_rt_sync_type type, int value, const char *message);

struct tender_rt_init_args {
        const struct tender_rt_spec *spec;
        const char *cgroup_path;
        int fifo_fd;    /* O_PATH descriptor of the exec FIFO (reopened through /proc) */
        int go_fd;      /* read end: the monitor writes a byte once it has set the init up */
        int go_peer_fd; /* its write end, closed at once by the init */
        int sync_fd;    /* write end of the pipe `create` reads */
        int input_fd;   /* becomes stdin */
        int output_fd;  /* becomes stdout */
        int error_fd;   /* becomes stderr (the same as output_fd without journald) */
        int lock_fd;    /* the monitor's lock, closed at once by the init */
        int console_fd; /* --console-socket: gets the pty master (process.terminal), or -1 */
        int hooks_fd;   /* read end: `create` writes the state JSON once prestart and
                         * createRuntime ran (a u32 length, then the text), or closes it */
};

/* clone() flags for the namespaces the init is created in; the rest it unshares itself. */
int tender_rt_clone_flags(const struct tender_rt_spec *spec);

/* Inside a user namespace whose maps are written: become its root (setgroups, gid, uid 0), so
 * that files created get a mapped owner. */
int tender_rt_become_ns_root(struct tender_error *err);
/* Looks up spec->args[0] like execvp, with the container's PATH (process.env). */
int tender_rt_find_program(const struct tender_rt_spec *spec, char *out, size_t size,
                           struct tender_error *err);

/* Does the init stop before pivot_root for the hooks (and need the state JSON)? */
bool tender_rt_init_hooks(const struct tender_rt_spec *spec);

/* clone() entry point of the init; never returns. */
int tender_rt_init_main(void *args);
