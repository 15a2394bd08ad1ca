/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one report path of tenderd (docs/agent.md, "Reporting"). The update engine says what
 * happens as events; this module hands each event to the sinks: the journal/log, sd_notify
 * STATUS= (notify_status), the control socket's status snapshot, DDI `proceeding` feedback, and
 * any sink added with report_add_sink (MQTT, tests). No sink is called by the state machine
 * directly.
 *
 * The transfer in progress (bytes of the blob being downloaded) is written by the download
 * callbacks and read by the control thread: report_transfer_* keep it under a mutex.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tender/error.h"
#include "tender/log.h"

struct cJSON;
struct agent;

enum report_kind {
        REPORT_STATE,    /* the update entered state (journaled transition) */
        REPORT_PROGRESS, /* a step of the update: detail, with a count when has_progress */
        REPORT_NOTE,     /* why the swap waits (deferred); detail NULL: it no longer waits */
        REPORT_HEALTH,   /* an app's health changed: healthy, detail says why */
        REPORT_OUTCOME,  /* the update of one app finished: state is the final state */
        REPORT_IDLE,     /* no update in flight: polling */
        REPORT_STATUS,   /* the status document (status.h): status, status_text */
        REPORT_FINAL,    /* an action's final DDI feedback, feedback_json (journal-driven) */
        REPORT_CANCEL,   /* the answer to the server's cancelAction (deployment_base: its href):
                            carried out (success) or rejected, detail says why */
        _REPORT_KIND_MAX,
};

struct report_event {
        enum report_kind kind;
        const char *app, *version, *action_id; /* NULL for REPORT_IDLE */
        const char *deployment_base;           /* DDI feedback goes there (NULL: none) */
        const char *state;                     /* journal state name (STATE, OUTCOME) */
        const char *detail;                    /* free text, escaped by each sink */
        bool has_progress;
        uint64_t cnt, of; /* has_progress: cnt of `of` steps */
        bool success;     /* OUTCOME: committed (or rolled back at the operator's request) */
        bool healthy;     /* HEALTH */
        bool again;       /* NOTE: reported before; only the status views take it.
                             STATUS: unchanged, sent again for its resource figures */
        const struct cJSON *status;       /* STATUS: the document */
        const char *status_text;          /* STATUS: the same, printed */
        const char *feedback_json;        /* FINAL: the closed feedback's body */
        struct tender_error *err;         /* FINAL, CANCEL: why it was not sent, may be NULL */
        const struct tender_log_ctx *log; /* context for the log sink, may be NULL */
};

/* A sink: called in the emitting thread, in the order events are emitted. */
typedef void (*report_sink_fn)(const struct report_event *e, void *userdata);

#define REPORT_SINKS_MAX 4

/* Installs the built-in sinks for a (log, sd_notify, control snapshot, DDI). a may be NULL:
 * then only the log, sd_notify and control sinks run (tests). */
void report_init(struct agent *a);
/* Adds a sink; -ENOSPC past REPORT_SINKS_MAX. */
int report_add_sink(report_sink_fn fn, void *userdata);
/* Removes every added sink (not the built-in ones). */
void report_clear_sinks(void);

/* Hands e to every sink. Returns 0, or for REPORT_FINAL and REPORT_CANCEL the DDI sink's
 * -errno when the feedback was not sent (e->err says why): the journal keeps the action for
 * another try. */
int report_emit(const struct report_event *e);
/* Counts the events that may change the status document (state, outcome, health, note):
 * status.c builds it again when this moved. Any thread. */
uint64_t report_generation(void);
/* The server asked for configData (the poll's link href): the next REPORT_STATUS sends the
 * attributes even when unchanged. */
void report_attributes_requested(const char *href);
/* Whether the attributes are still to be sent (asked for, or the last PUT failed): the main
 * loop then forces a status refresh. */
bool report_attributes_pending(void);
const char *report_kind_name(enum report_kind k);

#define REPORT_NAME_MAX 65 /* TENDER_NAME_MAX + 1 */

/* The update in flight (its app, version and journal state) as the last events told; false
 * when none. Any thread. */
bool report_update_get(char app[REPORT_NAME_MAX], char version[REPORT_NAME_MAX], char state[32]);

/* The transfer in progress, for tenderctl status. Any thread. */
void report_transfer_begin(const char *what, uint64_t total);
void report_transfer(uint64_t done, uint64_t total);
void report_transfer_end(void);
/* Copies the transfer in progress; false when none. */
bool report_transfer_get(char *what, size_t size, uint64_t *done, uint64_t *total);
