/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a layer's blob comes from (docs/downloads.md, "Agent side"): the OCI registry of
 * download.registry when it is configured, else the DDI artifact URL the server lists for it.
 * Either way the digest and size come only from the signed manifest, and the blob lands in the
 * store's blobs/sha256/<hex> through <hex>.part, so a restarted tenderd resumes it.
 *
 * Blobs travel over their own HTTP client, with the same download.* TLS options as the DDI
 * client but no auth header of its own (the DDI target token is added per request for DDI
 * artifact URLs only, never sent to a registry). The DDI client stays free meanwhile, so that
 * progress feedback can go out while a blob streams.
 */
#pragma once

#include "update.h"

#define BLOB_PROGRESS_STEP_PERCENT 10  /* feedback when the blob passed another 10 % ... */
#define BLOB_PROGRESS_MIN_GAP_MS 1000  /* ... but not more often than once a second, */
#define BLOB_PROGRESS_MAX_GAP_MS 10000 /* and at least every 10 s while it moves */
#define BLOB_CREDENTIALS_MAX 1024      /* bytes of download.registry.credentialsFile */

struct blob_request {
        const struct tender_ddi_chunk *chunk;    /* the artifact URLs of the deployment */
        const struct tender_journal_record *rec; /* app, version, action: progress feedback */
        const struct tender_layer *layer;
        const struct tender_log_ctx *log; /* the update's journald fields */
        bool ddi_only; /* a delta blob: only the DDI artifact has it, never the registry */
};

/* Downloads the layer's blob (or a delta's: layer then holds only its digest and size) into the
 * store (retried under download.retry*), reporting
 * progress to the server as DDI "proceeding" feedback (cnt/of = bytes of this blob, throttled
 * as above) and in a->progress while it runs (cleared at the end). Returns 0, or a negative
 * errno with err naming the blob and the source. */
int blob_fetch(struct agent *a, const struct blob_request *req, struct tender_error *err);

/* The repository of app in the registry: template with every "{app}" replaced. -ENAMETOOLONG
 * when the result exceeds TENDER_REGISTRY_REPOSITORY_MAX. */
int blob_repository_name(const char *template, const char *app, char *buf, size_t size);
