/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Space planning for an update, before its first byte is fetched: a device that runs out of
 * disk half-way through an update has a partial store to clean up and an operator to wake, so
 * the update is refused up front when the store cannot hold it.
 *
 * Estimate: blobs not yet present (less what a .part already holds), plus each layer's
 * uncompressed size when it is not extracted yet (tar rounds to 512 bytes, file systems to
 * 4 KiB blocks, so a margin covers the difference and the metadata), plus that margin. The
 * result is compared with the space statvfs reports free plus what GC would free, and with the
 * configured budget for the store's content-addressed part.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "tender/store.h"

static uint64_t part_bytes(int blobs_fd, const struct tender_digest *d) {
        char hex[65], name[80];
        struct stat st;
        snprintf(name, sizeof(name), "%s.part", tender_digest_hex(d, hex));
        if (fstatat(blobs_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return 0;
        return (uint64_t) st.st_size;
}

static bool blob_present(int blobs_fd, const struct tender_digest *d) {
        char hex[65];
        struct stat st;
        return fstatat(blobs_fd, tender_digest_hex(d, hex), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               S_ISREG(st.st_mode);
}

static int sat_add(uint64_t *acc, uint64_t v) {
        if (*acc > UINT64_MAX - v)
                return -EOVERFLOW;
        *acc += v;
        return 0;
}

const struct tender_layer_delta *tender_store_pick_delta(const struct tender_store *s,
                                                         const struct tender_release_manifest *m,
                                                         const struct tender_layer *l) {
        const struct tender_layer_delta *best = NULL;
        for (size_t i = 0; i < m->n_deltas; i++) {
                const struct tender_layer_delta *d = &m->deltas[i];
                if (!tender_digest_equal(&d->to, &l->diff_id) || d->size >= l->size ||
                    !d->algorithm || !STREQ(d->algorithm, TENDER_DELTA_ALGORITHM) ||
                    (best && d->size >= best->size))
                        continue;
                if (tender_store_has_layer(s, &d->from))
                        best = d;
        }
        return best;
}

static int plan_needs(struct tender_store *s, const struct tender_release_manifest *m,
                      struct tender_store_plan *p) {
        int blobs_fd = tender_store_blobs_fd(s);
        for (size_t i = 0; i < m->n_layers; i++) {
                const struct tender_layer *l = &m->layers[i];
                if (tender_store_has_layer(s, &l->diff_id))
                        continue; /* neither fetched nor extracted again */
                /* Planned as the agent fetches it: through the smallest usable delta. */
                const struct tender_layer_delta *d = blob_present(blobs_fd, &l->digest)
                                                             ? NULL
                                                             : tender_store_pick_delta(s, m, l);
                const struct tender_digest *blob = d ? &d->digest : &l->digest;
                uint64_t size = d ? d->size : l->size;
                if (!blob_present(blobs_fd, blob)) {
                        uint64_t have = part_bytes(blobs_fd, blob);
                        if (sat_add(&p->download_bytes, size > have ? size - have : 0) < 0)
                                return -EOVERFLOW;
                }
                if (sat_add(&p->extract_bytes, l->uncompressed_size) < 0)
                        return -EOVERFLOW;
        }
        return 0;
}

int tender_store_plan(struct tender_store *s, const struct tender_release_manifest *m,
                      const struct tender_store_plan_options *opts, struct tender_store_plan *ret,
                      struct tender_error *err) {
        struct tender_store_plan p = {0};
        struct tender_store_plan_options o = opts ? *opts : (struct tender_store_plan_options){0};
        struct statvfs sv;
        int r;

        if (!o.margin_percent)
                o.margin_percent = TENDER_STORE_MARGIN_PERCENT;
        if (!o.margin_min)
                o.margin_min = TENDER_STORE_MARGIN_MIN;
        if (plan_needs(s, m, &p) < 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EOVERFLOW,
                                        "%s %s: layer sizes overflow", m->app, m->version);
        uint64_t work = p.download_bytes + p.extract_bytes;
        if (work == 0) {
                *ret = p; /* everything is in the store already */
                return 0;
        }
        p.margin_bytes = work / 100 * o.margin_percent;
        if (p.margin_bytes < o.margin_min)
                p.margin_bytes = o.margin_min;
        if (sat_add(&work, p.margin_bytes) < 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EOVERFLOW,
                                        "%s %s: layer sizes overflow", m->app, m->version);
        p.needed_bytes = work;

        if (fstatvfs(tender_store_root_fd(s), &sv) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "statvfs %s",
                                              tender_store_root(s));
        p.available_bytes = (uint64_t) sv.f_bavail * sv.f_frsize;
        uint64_t content = 0; /* of what GC frees, the part the budget counts */
        r = tender_store_gc_estimate(s, &p.reclaimable_bytes, &content, err);
        if (r < 0)
                return r;
        tender_store_usage(s, &p.usage_bytes);
        p.gc_needed = p.needed_bytes > p.available_bytes ||
                      (o.budget_bytes && p.usage_bytes + p.needed_bytes > o.budget_bytes);
        *ret = p;

        if (p.needed_bytes > p.available_bytes + p.reclaimable_bytes)
                return tender_error_set(
                        err, TENDER_ERR_SYSTEM, ENOSPC,
                        "%s %s needs %llu bytes in the store (%llu to download, "
                        "%llu to extract, %llu margin); %llu are free and GC "
                        "would free %llu",
                        m->app, m->version, (unsigned long long) p.needed_bytes,
                        (unsigned long long) p.download_bytes, (unsigned long long) p.extract_bytes,
                        (unsigned long long) p.margin_bytes, (unsigned long long) p.available_bytes,
                        (unsigned long long) p.reclaimable_bytes);
        uint64_t after = p.usage_bytes - (content < p.usage_bytes ? content : p.usage_bytes);
        if (o.budget_bytes && after + p.needed_bytes > o.budget_bytes)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOSPC,
                                        "%s %s needs %llu bytes in the store; the budget is %llu "
                                        "and %llu stay in use after GC",
                                        m->app, m->version, (unsigned long long) p.needed_bytes,
                                        (unsigned long long) o.budget_bytes,
                                        (unsigned long long) after);
        return 0;
}
