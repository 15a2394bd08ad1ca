/* SPDX-License-Identifier: Apache-2.0 */
#include "layer_delta.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "blob.h"
#include "tender/delta.h"
#include "tender/fileio.h"
#include "userns.h"

/* The delta blob in blobs/, fetched when missing the way a layer blob is (agent/blob.c: a
 * .part resumed, retries, progress feedback and in tenderctl status, watchdog pings), but always
 * from the deployment's DDI artifact: a registry holds image layers, not tender's deltas.
 * Returns its fd. */
static int delta_blob(const struct layer_delta_request *req, const struct tender_layer_delta *d,
                      const char *name, struct tender_error *err) {
        struct tender_store *store = req->a->store;
        int fd = tender_store_blob_open(store, &d->digest);
        if (fd != -ENOENT)
                return fd < 0 ? tender_error_set_errno(err, TENDER_ERR_SYSTEM, -fd, "open %s", name)
                              : fd;
        /* Size and digest only from the signed manifest. */
        struct tender_layer blob = {.digest = d->digest, .size = d->size};
        struct blob_request br = {.chunk = req->chunk,
                                  .rec = req->rec,
                                  .layer = &blob,
                                  .log = req->log,
                                  .ddi_only = true};
        int r = blob_fetch(req->a, &br, err);
        if (r < 0)
                return r;
        fd = tender_store_blob_open(store, &d->digest);
        return fd < 0 ? tender_error_set_errno(err, TENDER_ERR_SYSTEM, -fd, "open %s", name) : fd;
}

/* Applies the delta into a fresh staging dir and commits it as layer l. */
static int apply(struct tender_store *store, int delta_fd, const struct tender_layer_delta *d,
                 const struct tender_layer *l, struct tender_error *err) {
        _cleanup_free_ char *tmp = NULL, *old_path = NULL;
        _cleanup_close_ int old_fd = -1, tmp_fd = -1;
        int r = tender_store_layer_path(store, &d->from, &old_path);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, -r, "old layer path");
        old_fd = open(old_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (old_fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open old layer");
        r = tender_store_make_tmp_dir(store, &tmp);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, -r, "staging dir");
        tmp_fd = openat(tender_store_root_fd(store), tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (tmp_fd < 0)
                r = tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open staging dir");
        else
                r = tender_delta_apply(delta_fd, old_fd, &d->from, tmp_fd, l, err);
        /* Rebuilt with the archive's owners: to the layers' owner like an extraction. */
        if (r >= 0 && (r = userns_shift_new_layer(tmp_fd)) < 0)
                tender_error_set_errno(err, TENDER_ERR_SYSTEM, -r, "shift the rebuilt layer");
        if (r >= 0) {
                r = tender_store_commit_layer(store, tmp, &l->diff_id);
                if (r < 0)
                        tender_error_set_errno(err, TENDER_ERR_SYSTEM, -r, "move layer into place");
        }
        if (r < 0)
                tender_rm_rf_at(tender_store_root_fd(store), tmp);
        return r;
}

int layer_delta_fetch(const struct layer_delta_request *req, const struct tender_layer *l,
                      struct tender_error *err) {
        struct tender_store *store = req->a->store;
        char name[TENDER_DIGEST_STRING_MAX], from[TENDER_DIGEST_STRING_MAX];
        char to[TENDER_DIGEST_STRING_MAX], hex[65];
        _cleanup_close_ int blob = tender_store_blob_open(store, &l->digest);
        if (blob >= 0)
                return 0; /* the full layer is here already: nothing to save */
        const struct tender_layer_delta *d = tender_store_pick_delta(store, req->m, l);
        if (!d)
                return 0;
        tender_digest_format(&d->digest, name);
        tender_digest_format(&d->from, from);
        tender_log(LOG_INFO, req->log,
                   "Fetching layer %s through delta %s from layer %s (%llu bytes instead of %llu)",
                   tender_digest_format(&l->diff_id, to), name, from, (unsigned long long) d->size,
                   (unsigned long long) l->size);
        _cleanup_close_ int fd = delta_blob(req, d, name, err);
        int r = fd < 0 ? fd : apply(store, fd, d, l, err);
        if (fd >= 0)
                /* Used or useless now; a failed download's .part stays pinned for a retry. */
                unlinkat(tender_store_blobs_fd(store), tender_digest_hex(&d->digest, hex), 0);
        if (r < 0)
                return tender_error_prefix(err, "delta %s from layer %s", name, from);
        return 1;
}
