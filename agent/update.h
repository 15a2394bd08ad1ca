/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One deployment from the server as a journaled state machine (docs/agent.md):
 *
 *   queued → verifying → downloading → staging → swapping → testing → committed
 *      any state before swapping ──→ failed        swapping, testing ──→ rolling-back
 *                                                   rolling-back ──→ rolled-back | failed
 *
 * Each transition replaces the action's journal record (tender/journal.h) durably before the
 * state's effects run. recovery.c replays the records at start.
 */
#pragma once

#include "container.h"
#include "poll.h"
#include "tender/config.h"
#include "tender/journal.h"
#include "tender/store.h"
#include "tender/tuf.h"

struct agent {
        const struct tender_config *cfg;
        struct tender_store *store;
        int tuf_fd; /* <store>/tuf: the trusted TUF metadata (agent_tuf_setup) */
        struct ddi_client ddi;
        struct runtime runtime;
        /* Why deployments are refused (store not encrypted, or locked); empty when staging is
         * allowed. Set at start, checked again before each deployment while set. */
        char staging_refused[TENDER_ERROR_MESSAGE_MAX];
        /* The deployment update_handle runs (handling types, maintenance window), else NULL. */
        const struct tender_ddi_deployment *deployment;
        /* Whether control_transfer_tick may run agent_supervise: from the main loop's start
         * (after the journal replay), and not while an update is between swap and its end,
         * when the containers are the update's to start and stop. */
        bool supervise_in_transfers;
        bool swapping;
};

/* Checks the store's encryption against store.allowUnencrypted and sets staging_refused.
 * Returns 0 when staging is allowed, else the check's -errno. */
int agent_check_store(struct agent *a);

/* Fetches deployment_base and handles it completely, final feedback included; resumes the
 * action when the journal holds it. Returns 0 when the deployment was handled (even if it
 * failed and was reported), negative when it could not be fetched or its outcome could not be
 * reported (the journal keeps it for later). */
int update_handle(struct agent *a, const char *deployment_base);

/* Runs the state machine of the chunk in rec (app, version, previous) from state `from` to a
 * final state, writing each transition to the journal. chunk is NULL when replaying: only
 * rolling-back and the final states can run then. Returns the final state. */
enum tender_journal_state update_run(struct agent *a, struct tender_journal_record *rec,
                                     const struct tender_ddi_chunk *chunk,
                                     enum tender_journal_state from);

/* Sends the final feedback of a finished action (rec->result set), then records it as handled
 * and removes its journal record. A network failure keeps the record for a later try (-errno);
 * a server that no longer knows the action (404, or 410 and other refusals) drops it. */
int update_report_final(struct agent *a, const struct tender_journal_record *rec);

/* Test hook: TENDER_TEST_CRASH_AT=<state>[:<n>] makes tenderd SIGKILL itself right after it
 * journaled the n-th transition (default 1) into <state> in this process. Read once. */
void update_crash_init(void);
/* The same for the named kill points outside the journal (userns.c's migration:
 * migrate-begin, migrate-file, migrate-end): TENDER_TEST_CRASH_AT=<name>[:<n>] kills tenderd
 * the n-th time it passes <name>. */
void update_crash_named(const char *name);

/* recovery.c. At start: replays the journal (rolls back interrupted swaps, finishes commits,
 * reports finished actions), then starts every app's current release that is not running. */
int agent_recover(struct agent *a);
/* Restart policy, called between polls: starts every app's current release whose container
 * stopped, as its manifest's restart policy asks, with a backoff per app (1 s doubling to
 * 5 min, reset once it ran for a minute). */
void agent_supervise(struct agent *a);
/* Restarts of the app's current release by the restart policy since tenderd started. */
uint64_t agent_restart_count(const char *app, const char *version);
/* What the last check of agent_supervise saw of the app's container, when it is at most
 * max_age_ms old (true, *st set); *restarts as agent_restart_count, set when the app is
 * tracked. Any thread: the status document uses it instead of asking the runtime again. */
bool agent_container_seen(const char *app, const char *version, uint64_t max_age_ms,
                          struct container_state *st, uint64_t *restarts);
/* How often agent_supervise checks the containers between polls: a stop is seen this early. */
#define AGENT_CHECK_SEC 10
/* Seconds until agent_supervise should run again (0: now): the next due restart, or the next
 * periodic check of the containers. */
uint64_t agent_supervise_due_sec(void);
/* Reports finished actions still in the journal (server unreachable before). */
void agent_report_pending(struct agent *a);
/* Drops journal records of unfinished actions, other than keep (NULL: all), that had not
 * reached the swap: the server no longer offers them, and the device still runs what it ran. */
void agent_forget_stale(struct agent *a, const char *keep);
