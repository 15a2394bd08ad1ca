/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state directory ROOT/ID of one container:
 *
 *   state.json   id, bundle, init pid and its start time, cgroups path, annotations
 *   exec.fifo    the init blocks opening it until `start` (gone once started)
 *   exit         the init's wait status, written durably by the monitor ("exited 7", "killed
 * SIGKILL") output.log   the container's stdout and stderr, capped (output.log.1 holds the previous
 * part)
 *
 * The monitor holds an flock on the directory for as long as it lives, so "the monitor is gone"
 * is a lock that can be taken.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tender/error.h"
#include "tender/json.h"

#define TENDER_RT_DEFAULT_ROOT "/run/tender-runtime"
#define TENDER_RT_ID_MAX 128
#define TENDER_RT_STATE_MAX_SIZE (1u << 20)
#define TENDER_RT_STATE_FILE "state.json"
#define TENDER_RT_FIFO_FILE "exec.fifo"
#define TENDER_RT_EXIT_FILE "exit"
#define TENDER_RT_OUTPUT_FILE "output.log"
#define TENDER_RT_OUTPUT_OLD_FILE "output.log.1"
#define TENDER_RT_OUTPUT_MAX (1u << 20)

enum tender_rt_status {
        TENDER_RT_CREATED,
        TENDER_RT_RUNNING,
        TENDER_RT_STOPPED,
};

struct tender_rt_state {
        char *id;
        char *bundle;
        char *rootfs; /* absolute; "" in a state written before it was recorded */
        char *cgroups_path;
        char *created; /* RFC 3339 */
        pid_t pid;     /* 0 until the init exists */
        uint64_t pid_start;
        cJSON *annotations; /* owned, may be NULL */
};

struct tender_rt_exit {
        bool known;
        int status; /* exit code, or 128 + signal */
        int signal; /* 0 when it exited */
};

void tender_rt_state_free(struct tender_rt_state *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_rt_state, tender_rt_state_free);

/* [A-Za-z0-9][A-Za-z0-9._-]*, at most TENDER_RT_ID_MAX bytes. */
bool tender_rt_id_valid(const char *id);

/* Opens (creating with mode 0700 when create is set) the runtime root directory. */
int tender_rt_root_open(const char *root, bool create, struct tender_error *err);
/* Opens ROOT/ID; -ENOENT with "container ID does not exist". */
int tender_rt_state_dir_open(int rootfd, const char *id, struct tender_error *err);

int tender_rt_state_write(int dirfd, const struct tender_rt_state *s);
int tender_rt_state_read(int dirfd, struct tender_rt_state **ret, struct tender_error *err);

/* Writes the exit file from a wait status, durably. */
int tender_rt_exit_write(int dirfd, int wait_status);
/* Reads the exit file; ret->known is false when there is none yet. */
int tender_rt_exit_read(int dirfd, struct tender_rt_exit *ret);

/* The start time (clock ticks since boot, /proc/PID/stat field 22) of a process. */
int tender_rt_pid_start_time(pid_t pid, uint64_t *ret);
/* Is the recorded init alive (the same process, not a reused pid)? */
bool tender_rt_state_alive(const struct tender_rt_state *s);
enum tender_rt_status tender_rt_state_status(int dirfd, const struct tender_rt_state *s,
                                             struct tender_rt_exit *ret_exit);
const char *tender_rt_status_name(enum tender_rt_status st);

/* Takes the monitor lock on a fresh descriptor of dirfd, waiting at most timeout_ms.
 * Returns the locked fd (close it to release) or -ETIMEDOUT. */
int tender_rt_lock(int dirfd, bool wait_forever, unsigned timeout_ms);
