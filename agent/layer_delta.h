/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A missing layer rebuilt from a layer the store has, through one of the release's deltas
 * (docs/delta-format.md, docs/agent.md "Downloading"). agent/update.c calls it before it
 * fetches a layer's blob and falls back to the blob when it fails.
 */
#pragma once

#include "tender/ddi.h"
#include "tender/log.h"
#include "tender/manifest.h"
#include "update.h"

struct layer_delta_request {
        struct agent *a;
        const struct tender_ddi_chunk *chunk;    /* the delta blob's URL */
        const struct tender_journal_record *rec; /* progress feedback (agent/blob.c) */
        const struct tender_release_manifest *m;
        const struct tender_log_ctx *log;
};

/* Fetches the delta tender_store_pick_delta picks for l (size and digest from the signed
 * manifest) through blob_fetch, as a layer blob: resumed from its .part, with retries, progress
 * feedback and watchdog pings, applies it against the old layer into a
 * staging dir (the rebuilt tar must hash to l->diff_id) and commits the layer.
 * Returns 1 when the layer is in the store, 0 when no delta applies (or the full blob is here
 * already), or -errno with err naming the delta and what failed: the partial layer and the
 * delta blob are gone then, and the caller fetches the full layer. */
int layer_delta_fetch(const struct layer_delta_request *req, const struct tender_layer *l,
                      struct tender_error *err);
