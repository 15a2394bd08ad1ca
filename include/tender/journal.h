/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The deployment journal: one record per DDI action in progress, in the store's journal/ dir
 * (journal/<action-id>.json). Each state transition of a deployment replaces its record durably
 * (temp file, fsync, rename, fsync dir) before the transition's effects, so that tenderd can
 * replay it at start: resume before the swap, roll back after it, report what was not reported.
 * A record is removed once the action's final feedback reached the server.
 *
 * The record format is internal to the device; docs/agent.md describes it for operators.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tender/error.h"

#define TENDER_JOURNAL_DIR "journal"
#define TENDER_JOURNAL_MAX_SIZE (128 * 1024) /* one record */
#define TENDER_JOURNAL_MAX_RECORDS 64
#define TENDER_JOURNAL_MAX_DEPTH 4
#define TENDER_JOURNAL_MAX_DETAILS 32 /* chunk messages kept for the final feedback */
#define TENDER_JOURNAL_ID_MAX 128

enum tender_journal_state {
        TENDER_JOURNAL_QUEUED,
        TENDER_JOURNAL_VERIFYING,
        TENDER_JOURNAL_DOWNLOADING,
        TENDER_JOURNAL_STAGING,
        TENDER_JOURNAL_SWAPPING,
        TENDER_JOURNAL_TESTING,
        TENDER_JOURNAL_COMMITTED, /* final for the chunk */
        TENDER_JOURNAL_ROLLING_BACK,
        TENDER_JOURNAL_ROLLED_BACK, /* final for the chunk */
        TENDER_JOURNAL_FAILED,      /* final for the chunk */
        _TENDER_JOURNAL_STATE_MAX,
};

enum tender_journal_result {
        TENDER_JOURNAL_RESULT_NONE, /* the action is still running */
        TENDER_JOURNAL_RESULT_SUCCESS,
        TENDER_JOURNAL_RESULT_FAILURE,
};

struct tender_journal_record {
        char *action_id;       /* [A-Za-z0-9._-], at most TENDER_JOURNAL_ID_MAX bytes */
        char *deployment_base; /* where feedback goes */
        uint64_t chunk;        /* index of the chunk in progress */
        uint64_t n_chunks;
        char *app, *version; /* of the chunk in progress */
        char *previous;      /* the app's current release before the swap; NULL: none */
        enum tender_journal_state state;
        char *message;  /* the chunk's outcome so far (NULL while none) */
        char **details; /* messages of the chunks finished before, NULL-terminated, may be NULL */
        enum tender_journal_result result; /* set with the last chunk's final state */
        /* A rollback asked by the operator (tenderctl rollback): the release rolled away from
         * is not marked bad, so that it may be deployed again. */
        bool by_operator;
        /* A rollback for a reason that is not the release's fault (its commit failed after it
         * passed its gate): the release is not marked bad, also when the rollback is replayed
         * after a crash. */
        bool commit_failed;
        /* The swap gate (agent/gate.c) while the chunk is staged and its swap deferred: the
         * reason last reported to the server (NULL: none yet), so that a restart does not
         * report it again, and when the gate first saw the app lock held (wall clock, 0:
         * not yet), so that control.appLockTtlSeconds counts across restarts. */
        char *gate;
        uint64_t app_lock_since;
};

const char *tender_journal_state_name(enum tender_journal_state s);
/* -EINVAL for an unknown name. */
int tender_journal_state_from_name(const char *name, enum tender_journal_state *ret);
bool tender_journal_state_is_final(enum tender_journal_state s);
/* SWAPPING, TESTING and ROLLING_BACK: the running container may be the new one, and the
 * commit has not happened; replay rolls back. */
bool tender_journal_state_needs_rollback(enum tender_journal_state s);

bool tender_journal_id_valid(const char *id);

int tender_journal_record_to_json(const struct tender_journal_record *r, char **ret_json);
int tender_journal_record_parse(const char *data, size_t len, struct tender_journal_record **ret,
                                struct tender_error *err);
void tender_journal_record_free(struct tender_journal_record *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_journal_record, tender_journal_record_free);

/* Creates journal/ beneath the store root fd if missing. */
int tender_journal_init(int root_fd);
/* Replaces journal/<action>.json durably. */
int tender_journal_write(int root_fd, const struct tender_journal_record *r);
/* Removes journal/<action>.json durably (missing is fine). */
int tender_journal_remove(int root_fd, const char *action_id);
/* Reads journal/<action>.json; -ENOENT when there is none. */
int tender_journal_read(int root_fd, const char *action_id, struct tender_journal_record **ret,
                        struct tender_error *err);
/* Action ids with a record, sorted, NULL-terminated (free with tender_strv_free). Temp files
 * left by a crash are removed. */
int tender_journal_list(int root_fd, char ***ret_ids);
