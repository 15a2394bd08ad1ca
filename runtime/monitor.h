/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor: one process per container that outlives `create` (setsid, double fork), is the
 * parent (and child subreaper) of the container init, copies the init's output into a capped
 * log, and records the init's wait status in the state directory before it exits. It holds the
 * state directory's lock while it lives.
 */
#pragma once

#include "spec.h"

/* With journald running, the container's stdout and stderr are journal streams with the
 * container id as identifier (priorities info and err) instead of the capped file. */
#define TENDER_RT_JOURNAL_SOCKET "/run/systemd/journal/socket"
#define TENDER_RT_JOURNAL_STDOUT "/run/systemd/journal/stdout"

struct tender_rt_monitor_args {
        const struct tender_rt_spec *spec;
        const char *id; /* the journal identifier */
        const char *cgroup_path;
        int state_dirfd;
        int sync_fd; /* write end; the monitor sends SYNC_PID or SYNC_ERROR, the init READY/ERROR */
        /* true: the container's stdout and stderr go to journald or the state directory's
         * output.log, stdin is /dev/null; false: it inherits the caller's stdio (runc, crun). */
        bool output_log;
        int console_fd; /* connected --console-socket, or -1 */
        int hooks_fd;   /* read end of the hooks pipe (see container.h), or -1 */
};

/* Forks the monitor. Returns once the intermediate child has exited; the monitor reports on
 * sync_fd. Runs in `create`. */
int tender_rt_monitor_spawn(const struct tender_rt_monitor_args *args, struct tender_error *err);
