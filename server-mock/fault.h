/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault injection (docs/server-mock.md "Fault injection"): faults set through /mock/faults, each
 * matching requests by a path pattern and optionally a controller id, for the first `count`
 * of them or all. A request's matching faults are folded into one plan that the request path
 * carries out: latency, a status storm (with Retry-After), a connection reset, and on /repo/
 * bodies a throttle, a truncation, a corrupted byte, a dribble (slow-loris) or an earlier copy
 * of the file (stale or replayed TUF metadata). Handlers call these with mock->lock held.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tender/macro.h"

struct mock;
struct mock_request;
struct mock_reply;
struct mock_faults;

/* What the matching faults ask of one request; all zero: nothing. */
struct mock_fault_plan {
        uint64_t latency_ms;     /* before the reply */
        unsigned status;         /* 0: none; else this status instead of the resource */
        uint64_t retry_after;    /* seconds, with status; 0: no header */
        bool reset;              /* close the connection with a TCP reset, no reply */
        uint64_t throttle_bps;   /* /repo/ bodies: at most this fast; 0: unlimited */
        bool truncate;           /* /repo/ bodies: cut the connection after ... */
        uint64_t truncate_after; /* ... this many body bytes */
        bool corrupt;            /* /repo/ bodies: flip the byte at ... */
        uint64_t corrupt_offset; /* ... this offset of the file */
        uint64_t dribble_ms;     /* /repo/ bodies: one byte per this many ms (slow-loris) */
        char *replay;            /* /repo/: this content instead of the file's (owned) */
        size_t replay_len;
};

int mock_faults_new(struct mock_faults **ret);
void mock_faults_free(struct mock_faults *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mock_faults, mock_faults_free);

/* The plan for a request of path (decoded, without the query) by controller cid (NULL when the
 * request names none, as /repo/ requests): counts the match of every fault and spends one of
 * each limited fault's count. Free the plan with mock_fault_plan_done. */
void mock_fault_plan(struct mock_faults *f, const char *path, const char *cid,
                     struct mock_fault_plan *ret);
void mock_fault_plan_done(struct mock_fault_plan *p);

/* The management resources below /mock/faults; rest is what follows "faults". */
void mock_faults_handle(struct mock *m, const struct mock_request *req, const char *rest,
                        struct mock_reply *reply);
