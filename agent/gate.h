/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The swap gate (docs/agent.md, "Swap gate"): may a staged release swap now? Everything that
 * defers a swap is asked here, in this order: the server's handling type (update: skip), the
 * server's maintenanceWindow, the configuration's maintenance.windows (for "attempt" updates),
 * the operator lock, the app lock (agent/lock.c keeps the locks themselves).
 *
 * One behaviour for every reason: the update stays staged (journal "staging", its pin kept),
 * update_run returns to the main loop, which keeps polling (so a cancelAction works) and
 * supervising the apps, and looks at the gate again at the earlier of the next poll and the
 * gate's own re-check time. When the gate opens between polls, tenderd polls at once and the
 * deployment runs again up to the swap (verification, download and staging find everything in
 * the store). The server hears one `proceeding` feedback per change of reason, not one per
 * look: hawkBit caps the feedback messages of an action.
 *
 * At most one deferred deployment is tracked (tenderd handles one at a time): its state is
 * in this module, one instance per process, and rebuilt by each poll.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "control.h"
#include "tender/config.h"
#include "tender/ddi.h"
#include "tender/journal.h"
#include "tender/log.h"

#define GATE_WHY_MAX CONTROL_NOTE_MAX
/* A window's opening is computed in wall-clock minutes of the week; looking again at least
 * hourly makes a DST change on the way cost at most that. */
#define GATE_WINDOW_RECHECK_MAX_SEC 3600

enum gate_reason {
        GATE_OPEN,
        GATE_SERVER_SKIP,   /* deployment.update: skip */
        GATE_SERVER_WINDOW, /* deployment.maintenanceWindow: unavailable */
        GATE_CONFIG_WINDOW, /* outside maintenance.windows, for an "attempt" update */
        GATE_OPERATOR_LOCK, /* tenderctl lock */
        GATE_APP_LOCK,      /* the app holds locks/app/<app> */
        _GATE_REASON_MAX,
};

/* The name kept in the journal record ("skip", "server-window", "window", "operator-lock",
 * "app-lock"; "open"). */
const char *gate_reason_name(enum gate_reason r);

struct gate_input {
        const struct tender_config *cfg; /* maintenance.windows, control.* lock settings */
        int root_fd;                     /* the store's root: lock files */
        const char *app;
        enum tender_ddi_handling update; /* of the deployment */
        enum tender_ddi_window window;
        time_t now; /* wall clock: lock expiry, the app lock's TTL, the local time */
};

struct gate_verdict {
        enum gate_reason reason;
        char why[GATE_WHY_MAX];     /* for status, STATUS= and the feedback; "" when open */
        uint64_t recheck_sec;       /* look again after this long; 0: at the next poll only */
        uint64_t app_lock_held_sec; /* > 0: an app lock was held this long and is ignored now */
};

/* May the swap go now? Fills ret and returns 1 (deferred) or 0 (open). *app_lock_since is when
 * the gate first saw the app lock held (wall clock, 0: not yet), set here on first sight and
 * kept by the caller (the journal record) until the swap: control.appLockTtlSeconds counts
 * from it, across restarts, and a lock released and taken again does not start it afresh.
 * No I/O but reading the lock files; no logging. */
int gate_check(const struct gate_input *in, uint64_t *app_lock_since, struct gate_verdict *ret);

struct agent;

/* The gate before the swap of rec's chunk, offered by deployment d (NULL: a journal replay or
 * a manual rollback, never deferred). When deferred: rec->gate and rec->app_lock_since are
 * journaled when they changed, the server gets one `proceeding` feedback per new reason,
 * tenderctl status and systemd's STATUS= show why, the main loop is told when to look again;
 * returns 1. When open, returns 0 and leaves rec alone: the caller clears rec's gate fields
 * when it journals "swapping". */
int gate_defer(struct agent *a, struct tender_journal_record *rec,
               const struct tender_ddi_deployment *d, const struct tender_log_ctx *log);

/* Main loop. At each poll: forgets the deferral (the poll sees it again if it still holds). */
void gate_poll_begins(void);
/* After a poll: publishes the deferral on the control socket and in STATUS=; false when there
 * is none. */
bool gate_publish(void);
/* Seconds until the deferral should be looked at again (UINT64_MAX: none, or at polls only). */
uint64_t gate_due_sec(void);
/* Looks at the deferral again (cheap: lock files and the clock): true when its swap may go now,
 * and the caller polls at once; the deferral is then forgotten, so a failed poll does not make
 * it spin. A new reason is journaled and reported as gate_defer does. */
bool gate_recheck(struct agent *a);
