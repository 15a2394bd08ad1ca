/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Both ends of the sd_notify protocol. Sending: notify_status, the one way tenderd tells the
 * service manager what it does. Receiving, for one container: a unix datagram socket that
 * tenderd binds in the release directory (notify/notify.sock), whose directory is bind-mounted
 * into the container at NOTIFY_CONTAINER_DIR with NOTIFY_SOCKET naming the socket. tenderd holds
 * it open from before the container starts until the health gate ends, so that a READY=1 sent
 * early waits in the socket's queue.
 */
#pragma once

#include <stdbool.h>

#include "tender/error.h"
#include "tender/macro.h"
#include "tender/store.h"

#define NOTIFY_DIR "notify" /* in the release dir */
#define NOTIFY_SOCKET_NAME "notify.sock"
#define NOTIFY_CONTAINER_DIR "/run/tender"
#define NOTIFY_SOCKET_ENV "NOTIFY_SOCKET=" NOTIFY_CONTAINER_DIR "/" NOTIFY_SOCKET_NAME
#define NOTIFY_MESSAGE_MAX 4096    /* bytes of one datagram; longer ones are dropped */
#define NOTIFY_STATUS_MAX 128      /* of the last STATUS= kept for reports */
#define NOTIFY_DRAIN_MAX 64        /* datagrams read per call: a chatty app cannot stall us */
#define NOTIFY_STATUS_TEXT_MAX 512 /* of a STATUS= tenderd sends, escaped */

struct notify_state {
        bool ready;
        char status[NOTIFY_STATUS_MAX]; /* the last STATUS=, "" if none */
        unsigned dropped;               /* foreign sender, too long, fds attached */
};

/* Creates the release's notify dir (mode 0755), for the bundle's bind mount. */
int notify_make_dir(struct tender_store *store, const char *app, const char *version);

/* (Re)binds the release's notify socket and returns its fd (non-blocking, SO_PASSCRED). */
int notify_open(struct tender_store *store, const char *app, const char *version, int *ret_fd,
                struct tender_error *err);

/* Reads the queued datagrams into st. A datagram counts only when its sender (SCM_CREDENTIALS)
 * lives in the pid namespace of container_pid, the container's first process; others are
 * dropped. Returns the number of datagrams read or -errno. */
int notify_drain(int fd, int container_pid, struct notify_state *st);

/* Sends "STATUS=<text>" to the service manager ($NOTIFY_SOCKET; nothing without one), preceded
 * by "READY=1" when ready. The formatted text is escaped (tender/escape.h): what it quotes from
 * the server, a layer or an app stays inside the one STATUS= assignment and cannot add
 * WATCHDOG=, READY=, MAINPID= or any other. */
void notify_status(bool ready, const char *fmt, ...) _printf_(2, 3);
