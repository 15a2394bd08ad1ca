/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tender-publish release --deltas K: layer deltas from the app's last K releases in the
 * repository to the new release's layers (docs/delta-format.md, "Releases carry deltas").
 *
 * Layers are paired by position: an app's image keeps its layer stack from one version to the
 * next (base, runtime, app), so layer i of an old release is the one that layer i of the new
 * release changed. A delta is kept only when it is at most the threshold's share of the new
 * layer's blob; a device without any usable delta fetches the full layer.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "publish.h"
#include "tender/delta.h"
#include "tender/fileio.h"
#include "tender/log.h"

struct maker {
        const struct release_delta_opts *o;
        int blobs_fd, layout_fd;
        struct tender_release_manifest *m;
        struct release_deltas *out;
        struct tender_error *err;
};

static void manifests_free(struct tender_release_manifest **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                tender_manifest_free(v[i]);
}

static bool has_layer(const struct tender_release_manifest *r,
                      const struct tender_digest *diff_id) {
        for (size_t i = 0; i < r->n_layers; i++)
                if (tender_digest_equal(&r->layers[i].diff_id, diff_id))
                        return true;
        return false;
}

static bool has_delta(const struct tender_release_manifest *m, const struct tender_digest *from,
                      const struct tender_digest *to) {
        for (size_t i = 0; i < m->n_deltas; i++)
                if (tender_digest_equal(&m->deltas[i].from, from) &&
                    tender_digest_equal(&m->deltas[i].to, to))
                        return true;
        return false;
}

/* Grows m->deltas and the blob list by one entry; the caller fills both. */
static int grow(struct maker *k) {
        size_t n = k->m->n_deltas;
        struct tender_layer_delta *d = realloc(k->m->deltas, (n + 2) * sizeof(*d));
        if (!d)
                return -ENOMEM;
        memset(&d[n], 0, 2 * sizeof(*d));
        k->m->deltas = d;
        char(*tmp)[64] = realloc(k->out->tmp, (k->out->n + 1) * sizeof(*tmp));
        if (!tmp)
                return -ENOMEM;
        k->out->tmp = tmp;
        struct tender_digest *dg = realloc(k->out->digests, (k->out->n + 1) * sizeof(*dg));
        if (!dg)
                return -ENOMEM;
        k->out->digests = dg;
        return 0;
}

/* Hashes the finished delta file; fills the manifest entry and records the blob. */
static int keep(struct maker *k, int fd, const char *tmp, const struct tender_digest *from,
                const struct tender_layer *to, uint64_t size) {
        struct tender_layer_delta *d = &k->m->deltas[k->m->n_deltas];
        uint64_t hashed = 0;
        int r = lseek(fd, 0, SEEK_SET) < 0 ? -errno : tender_sha256_fd(fd, &d->digest, &hashed);
        if (r >= 0 && hashed != size)
                r = -EIO;
        if (r < 0)
                return tender_error_set_errno(k->err, TENDER_ERR_SYSTEM, -r,
                                              "Failed to read back the delta %s", tmp);
        d->algorithm = strdup(TENDER_DELTA_ALGORITHM);
        if (!d->algorithm)
                return tender_error_set(k->err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        d->from = *from;
        d->to = to->diff_id;
        d->size = size;
        k->m->n_deltas++;
        snprintf(k->out->tmp[k->out->n], sizeof(k->out->tmp[0]), "%s", tmp);
        k->out->digests[k->out->n++] = d->digest;
        return 0;
}

/* One delta from an old layer (its blob in the repository) to a new layer (new_tar). Returns 1
 * when kept, 0 when not worth it or its source is missing. */
static int make_pair(struct maker *k, const struct tender_layer *old, const struct tender_layer *l,
                     int new_tar) {
        char from[TENDER_DIGEST_STRING_MAX], to[TENDER_DIGEST_STRING_MAX], hex[65], tmp[64];
        struct tender_delta_stats s = {0};
        _cleanup_close_ int blob = -1, old_tar = -1, fd = -1;
        bool z;
        tender_digest_format(&old->diff_id, from);
        tender_digest_format(&l->diff_id, to);
        blob = openat(k->blobs_fd, tender_digest_hex(&old->digest, hex),
                      O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (blob < 0) {
                log_warning("No delta from %s: its blob is not in the repository (%m)", from);
                return 0;
        }
        int r = delta_open_tar(blob, &z, &old_tar, k->err);
        if (r < 0)
                return tender_error_prefix(k->err, "Old layer %s", from);
        r = grow(k);
        if (r < 0)
                return tender_error_set(k->err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        snprintf(tmp, sizeof(tmp), ".delta.%d.%zu.tmp", (int) getpid(), k->out->n);
        fd = openat(k->blobs_fd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return tender_error_set_errno(k->err, TENDER_ERR_SYSTEM, errno,
                                              "Failed to create blobs/sha256/%s", tmp);
        r = tender_delta_make(old_tar, new_tar, fd, NULL, &s, k->err);
        if (r >= 0 && s.delta_size * 100 <= l->size * k->o->threshold) {
                log_info("Delta %s -> %s: %" PRIu64 " bytes, %.1f%% of the layer's %" PRIu64
                         " (%" PRIu64 " files: %" PRIu64 " same, %" PRIu64 " moved, %" PRIu64
                         " patched, %" PRIu64 " literal)",
                         from, to, s.delta_size, 100.0 * (double) s.delta_size / (double) l->size,
                         l->size, s.files, s.copied, s.renamed, s.patched, s.literal);
                r = keep(k, fd, tmp, &old->diff_id, l, s.delta_size);
                if (r >= 0)
                        return 1;
        } else if (r >= 0)
                log_info("Delta %s -> %s: %" PRIu64 " bytes, over %" PRIu64 "%% of the layer's "
                         "%" PRIu64 "; the full layer is sent",
                         from, to, s.delta_size, k->o->threshold, l->size);
        else
                tender_error_prefix(k->err, "Delta %s -> %s", from, to);
        unlinkat(k->blobs_fd, tmp, 0);
        return r;
}

/* Deltas to layer i of the new release from layer i of each old release. */
static int make_layer(struct maker *k, size_t i, struct tender_release_manifest **old,
                      size_t n_old) {
        const struct tender_layer *l = &k->m->layers[i];
        _cleanup_close_ int new_tar = -1;
        int r = 0;
        for (size_t j = 0; j < n_old && r >= 0; j++) {
                if (has_layer(old[j], &l->diff_id) || i >= old[j]->n_layers ||
                    has_delta(k->m, &old[j]->layers[i].diff_id, &l->diff_id))
                        continue; /* a device on that release has it, or it is paired already */
                if (k->m->n_deltas >= TENDER_MANIFEST_MAX_DELTAS) {
                        log_warning("At most %d deltas per release; no more made",
                                    TENDER_MANIFEST_MAX_DELTAS);
                        return 0;
                }
                if (new_tar < 0) {
                        bool z;
                        _cleanup_close_ int blob =
                                tender_oci_blob_open(k->layout_fd, &l->digest, k->err);
                        if (blob < 0)
                                return blob;
                        r = delta_open_tar(blob, &z, &new_tar, k->err);
                        if (r < 0)
                                return tender_error_prefix(k->err, "Layer %zu", i);
                }
                r = make_pair(k, &old[j]->layers[i], l, new_tar);
        }
        return r;
}

/* A version already in the repository keeps its deltas: a retried job must not depend on the
 * generator's output staying byte for byte the same. Returns 1 when taken over. */
static int reuse(int repo_fd, struct tender_release_manifest *m, struct tender_error *err) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *old = NULL;
        struct tender_error ignored = {0};
        if (repo_read_release(repo_fd, m->app, m->version, false, &data, &len, &ignored) < 0)
                return 0;
        int r = tender_manifest_parse(data, len, &old, err);
        if (r < 0)
                return tender_error_prefix(err, "apps/%s/%s.json", m->app, m->version);
        m->deltas = TAKE_PTR(old->deltas);
        m->n_deltas = old->n_deltas;
        old->n_deltas = 0;
        return 1;
}

int release_deltas_make(const struct release_delta_opts *o, int repo_fd, int layout_fd,
                        const struct tender_oci_image *img, struct tender_release_manifest *m,
                        struct release_deltas *ret, struct tender_error *err) {
        struct tender_release_manifest *old[RELEASE_DELTAS_MAX];
        size_t n_old = 0;
        *ret = (struct release_deltas){0};
        int r = reuse(repo_fd, m, err);
        if (r != 0 || o->k == 0)
                return r < 0 ? r : 0;
        _cleanup_close_ int blobs =
                openat(repo_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (blobs < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "Failed to open blobs/sha256 of the repository");
        r = repo_last_releases(repo_fd, m->app, m->release_counter,
                               o->k > RELEASE_DELTAS_MAX ? RELEASE_DELTAS_MAX : (size_t) o->k, old,
                               &n_old, err);
        if (r < 0)
                return r;
        struct maker k = {
                .o = o, .blobs_fd = blobs, .layout_fd = layout_fd, .m = m, .out = ret, .err = err};
        for (size_t i = 0; i < m->n_layers && i < img->n_layers && r >= 0; i++)
                r = make_layer(&k, i, old, n_old);
        manifests_free(old, n_old);
        if (r < 0)
                release_deltas_done(repo_fd, ret);
        return r < 0 ? r : 0;
}

int release_deltas_put(int repo_fd, struct release_deltas *d, struct tender_error *err) {
        _cleanup_close_ int blobs =
                openat(repo_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (blobs < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "Failed to open blobs/sha256 of the repository");
        for (size_t i = 0; i < d->n; i++) {
                char hex[65];
                if (!d->tmp[i][0])
                        continue;
                _cleanup_close_ int fd =
                        openat(blobs, d->tmp[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0 || fsync(fd) < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                                      "Failed to sync blobs/sha256/%s", d->tmp[i]);
                /* Same digest, same bytes: an existing blob is as good as this one. */
                if (renameat(blobs, d->tmp[i], blobs, tender_digest_hex(&d->digests[i], hex)) < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                                      "Failed to rename delta blob %s into place",
                                                      hex);
                d->tmp[i][0] = '\0';
        }
        int r = d->n ? tender_fsync_dir_at(blobs, ".") : 0;
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "Failed to fsync blobs/sha256");
        return 0;
}

void release_deltas_done(int repo_fd, struct release_deltas *d) {
        _cleanup_close_ int blobs =
                openat(repo_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        for (size_t i = 0; blobs >= 0 && i < d->n; i++)
                if (d->tmp[i][0])
                        unlinkat(blobs, d->tmp[i], 0);
        free(d->tmp);
        free(d->digests);
        *d = (struct release_deltas){0};
}

int repo_check_delta(int repo_fd, const struct tender_layer_delta *d, struct tender_error *err) {
        char hex[65], name[TENDER_DIGEST_STRING_MAX], got[TENDER_DIGEST_STRING_MAX];
        struct tender_digest digest;
        struct tender_delta_header h;
        uint64_t size = 0;
        tender_digest_format(&d->digest, name);
        _cleanup_close_ int fd =
                openat(repo_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int blob = fd < 0 ? -1
                                          : openat(fd, tender_digest_hex(&d->digest, hex),
                                                   O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (blob < 0)
                return tender_error_set_errno(err, TENDER_ERR_VERIFY, errno, "Delta blob %s", name);
        int r = tender_sha256_fd(blob, &digest, &size);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, -r, "Delta blob %s", name);
        if (size != d->size || !tender_digest_equal(&digest, &d->digest))
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "Delta blob %s: content has digest %s (%" PRIu64
                                        " bytes, the manifest says %" PRIu64 ")",
                                        name, tender_digest_format(&digest, got), size, d->size);
        if (lseek(blob, 0, SEEK_SET) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "Delta blob %s", name);
        r = tender_delta_read_header(blob, &h, err);
        if (r < 0)
                return tender_error_prefix(err, "Delta blob %s", name);
        if (!tender_digest_equal(&h.source, &d->from) || !tender_digest_equal(&h.target, &d->to))
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "Delta blob %s: its header names other layers than its "
                                        "manifest entry",
                                        name);
        return 0;
}
