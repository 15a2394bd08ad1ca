/* SPDX-License-Identifier: Apache-2.0 */
/* tenderctl's commands over tenderd's control socket (docs/agent.md, "tenderctl"). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tender/json.h"

#define TENDERCTL_REPLY_MAX (4 * 1024 * 1024)

struct tenderctl_options {
        const char *socket;
        bool json, watch;
        uint64_t ttl_sec;    /* lock; 0: tenderd's default (1 h) */
        const char *reason;  /* lock */
        uint64_t lines;      /* logs; 0: tenderd's default */
        bool delete_volumes; /* remove */
};

/* Sends req (one JSON object) and reads the reply, its strings escaped for a terminal
 * (tenderctl_escape_reply). -errno when tenderd cannot be reached. */
int tenderctl_request(const char *socket, const cJSON *req, cJSON **ret_reply);

/* Escapes (tender/escape.h) every string value and member name of a reply in place: what
 * tenderd passes on from the server, a layer or an app (names, versions, notes, log lines)
 * reaches the terminal, in the table and in --json output alike, as one line of valid UTF-8
 * without control characters. */
int tenderctl_escape_reply(cJSON *node);

/* "1h", "30m", "45s", "2d" or plain seconds; -EINVAL otherwise. */
int tenderctl_parse_duration(const char *s, uint64_t *ret_sec);

/* Runs command (status, check, rollback, lock, unlock, remove, logs) with its arguments; returns
 * the exit status. Sets *ret_unreachable and returns 1 when tenderd does not answer. */
int tenderctl_control(const struct tenderctl_options *o, const char *command, int argc, char **argv,
                      bool *ret_unreachable);

/* The progress bar line for done of total bytes, width columns wide. */
void tenderctl_progress_bar(const char *what, uint64_t done, uint64_t total, unsigned width,
                            char *buf, size_t size);
