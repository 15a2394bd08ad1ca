/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tenderd's control socket for tenderctl (docs/agent.md, "Control socket"). One thread accepts
 * connections and serves each in a thread of its own (at most CONTROL_CLIENTS_MAX, each bounded
 * by CONTROL_IO_TIMEOUT_SEC), so that a stuck client holds up nobody: one JSON request, one JSON
 * reply each, from root or control.group (SO_PEERCRED).
 * It answers status, lock, unlock and logs itself, from a mutex-protected snapshot of what the
 * main loop publishes and from the store on disk, so it answers during an update. check and
 * rollback are handed to the main loop: check wakes it, rollback runs between polls and its
 * client gets the reply then.
 *
 * It also owns the main loop's waiting (woken by signals and requests) and the systemd
 * watchdog pings. One instance per process.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tender/error.h"

#define CONTROL_REQUEST_MAX 4096
#define CONTROL_QUEUE_MAX 8      /* rollbacks waiting for the main loop */
#define CONTROL_IO_TIMEOUT_SEC 5 /* a client that does not send its request in time is dropped */
#define CONTROL_CLIENTS_MAX 16   /* connections served at once, one thread each; more wait */
#define CONTROL_LOG_LINES_MAX 1000
#define CONTROL_NOTE_MAX 320

struct agent;

/* Creates the socket (mode 0600, or 0660 with control.group) and starts its thread. */
int control_start(struct agent *a, struct tender_error *err);
/* Stops the thread, removes the socket; rollbacks still queued get an error reply. */
void control_stop(void);

/* SIGTERM/SIGINT handler: records the signal and wakes control_wait. */
void control_on_signal(int sig);
/* The stop signal received, 0 while none. */
int control_stop_signal(void);

/* Waits up to sec seconds, pinging the watchdog; returns early when a request or a signal
 * wakes it. Returns true when tenderd is asked to stop. */
bool control_wait(uint64_t sec);
/* A "check" from elsewhere (the MQTT command topic): as tenderctl's. */
void control_request_check(void);
/* Wakes control_wait, for work queued elsewhere for the main loop. */
void control_wake(void);
/* True once for each pending "check" request. */
bool control_take_check(void);
/* Runs the rollbacks queued by tenderctl, each replied to when done. Main loop only. */
void control_run_queued(struct agent *a);

/* What the main loop does, for "status": the update in flight (NULL app: none) and why its
 * swap waits (NULL: it does not). */
void control_publish_update(const char *app, const char *version, const char *state,
                            const char *action_id);
void control_publish_note(const char *note);

/* The tick of every HTTP transfer of tenderd (tender_http_options.tick), about once a second on
 * the main thread: pings the watchdog, runs the restart policy when it is due (see
 * struct agent.supervise_in_transfers), and returns true, which stops the transfer, once a stop
 * signal came. So a slow or silent server holds up neither supervision nor SIGTERM. */
bool control_transfer_tick(void *userdata);

/* WATCHDOG=1 when systemd asked for it (WatchdogSec=) and half its period passed since the
 * last ping; cheap, called from the main loop and the update's steps. */
void control_watchdog_ping(void);
