/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delta generator (docs/delta-format.md). Both tars are mapped; the new one is walked entry by
 * entry and every byte of it is covered by a record, so that the delta rebuilds it exactly:
 * headers, padding and unmatched data go out as literals (the record stream is one zstd
 * stream, so similar headers and files compress against each other), file data as a copy of
 * an old file or as chunked zstd patches with a window of the old file as prefix.
 *
 * A new regular file is matched to an old one by path, then by content (size, then sha256:
 * renames and moves), then by similarity (same name stem, size within a factor of two).
 */
#include "tender/delta.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_c_format: magicless patch frames */
#include <zstd.h>

#include "delta_approx.h"
#include "delta_internal.h"
#include "delta_tar.h"

#define DEFAULT_LEVEL 19
#define LARGE_PATCH_LEVEL 12
#define SMALL_PATCH (2u * 1024 * 1024) /* old window + chunk up to which patches use `level` */
#define OUT_BUFFER_SIZE (256 * 1024)
#define SMALL_ESTIMATE (128 * 1024) /* APPROX records weighed at `level` up to this size */
#define ESTIMATE_LEVEL 3
#define ANCHOR 64 /* bytes searched for to find where a shifted chunk lies in the old file */

struct old_file {
        const struct delta_tar_entry *e;
        const char *stem; /* into e->path */
        size_t stem_len;
        bool hashed;
        struct tender_digest digest;
};

struct maker {
        const uint8_t *old, *new;
        uint64_t old_len, new_len;
        struct tender_delta_make_options o;
        int level;
        struct tender_delta_stats stats;
        struct tender_error *err;

        struct old_file *files; /* regular old files, the last entry of each path */
        size_t n_files;
        struct old_file **by_path, **by_size, **by_stem;
        struct delta_old_walk walk; /* the old layer as a device walks it */
        size_t walk_pos;
        bool open_at; /* the device's index of the walk fits TENDER_DELTA_MAX_INDEX: OPEN_AT */
        struct delta_hdr_state hs;

        int out_fd;
        ZSTD_CCtx *stream, *patch;
        uint8_t *out, *frame;
        uint64_t lit_start, lit_end; /* pending literal range of the new tar */
        const struct old_file *open; /* old file selected by the last OPEN */

        struct delta_approx approx; /* suffix array of approx_file, the last file patched */
        const struct old_file *approx_file;
        int approx_r;             /* its indexing's result: < 0, no APPROX records against it */
        struct delta_buf records; /* APPROX records of one chunk */
        ZSTD_CCtx *est;           /* compresses them alone to weigh them against a PATCH */
        uint16_t pad;             /* zeros after the current file's data, up to its block */
        bool pad_sent;            /* its last APPROX record made them */
        uint8_t *est_out;
        size_t est_cap;
};

static void maker_done(struct maker *m) {
        ZSTD_freeCCtx(m->stream);
        ZSTD_freeCCtx(m->patch);
        free(m->out);
        free(m->frame);
        delta_approx_free(&m->approx);
        free(m->records.p);
        ZSTD_freeCCtx(m->est);
        free(m->est_out);
        free(m->files);
        free(m->by_path);
        free(m->by_size);
        free(m->by_stem);
        delta_old_walk_done(&m->walk);
}

/* ---- record stream ---- */

static int write_all(struct maker *m, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(m->out_fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return tender_error_set_errno(m->err, TENDER_ERR_SYSTEM, errno,
                                                      "write delta");
                p += k;
                n -= (size_t) k;
                m->stats.delta_size += (uint64_t) k;
        }
        return 0;
}

static int stream_push(struct maker *m, const void *p, size_t n, ZSTD_EndDirective end) {
        ZSTD_inBuffer in = {p, n, 0};
        for (;;) {
                ZSTD_outBuffer out = {m->out, OUT_BUFFER_SIZE, 0};
                size_t left = ZSTD_compressStream2(m->stream, &out, &in, end);
                if (ZSTD_isError(left))
                        return tender_error_set(m->err, TENDER_ERR_SYSTEM, EIO, "zstd: %s",
                                                ZSTD_getErrorName(left));
                int r = write_all(m, m->out, out.pos);
                if (r < 0)
                        return r;
                if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
                        return 0;
        }
}

static int flush_literal(struct maker *m) {
        while (m->lit_start < m->lit_end) {
                uint8_t b[5] = {TENDER_DELTA_DATA};
                uint64_t n = MIN(m->lit_end - m->lit_start, (uint64_t) TENDER_DELTA_MAX_DATA);
                delta_put32(b + 1, (uint32_t) n);
                int r = stream_push(m, b, sizeof(b), ZSTD_e_continue);
                if (r >= 0)
                        r = stream_push(m, m->new + m->lit_start, n, ZSTD_e_continue);
                if (r < 0)
                        return r;
                m->lit_start += n;
        }
        return 0;
}

/* Literal bytes [off, off+n) of the new tar; adjacent ranges merge into one record. */
static int literal(struct maker *m, uint64_t off, uint64_t n) {
        if (n == 0)
                return 0;
        if (m->lit_end != off) {
                int r = flush_literal(m);
                if (r < 0)
                        return r;
                m->lit_start = off;
        }
        m->lit_end = off + n;
        return 0;
}

/* OPEN_AT with f's position in the walk (5 bytes) where the device can look it up, else OPEN
 * with its path. */
static int select_old(struct maker *m, const struct old_file *f) {
        uint8_t b[5] = {TENDER_DELTA_OPEN};
        int r = flush_literal(m);
        if (r < 0 || m->open == f)
                return r;
        const struct delta_walk_item *w =
                m->open_at ? delta_old_walk_lookup(&m->walk, 0, f->e->path) : NULL;
        m->open = f;
        if (w && w->e && !w->dir) {
                b[0] = TENDER_DELTA_OPEN_AT;
                delta_put32(b + 1, (uint32_t) (w - m->walk.items));
                m->stats.opened_at++;
                return stream_push(m, b, 5, ZSTD_e_continue);
        }
        size_t len = strlen(f->e->path);
        delta_put16(b + 1, (uint16_t) len);
        r = stream_push(m, b, 3, ZSTD_e_continue);
        if (r >= 0)
                r = stream_push(m, f->e->path, len, ZSTD_e_continue);
        return r;
}

static int copy(struct maker *m, const struct old_file *f, uint64_t off, uint64_t n) {
        uint8_t b[17] = {TENDER_DELTA_COPY};
        int r = select_old(m, f);
        if (r < 0)
                return r;
        delta_put64(b + 1, off);
        delta_put64(b + 9, n);
        m->stats.copy_bytes += n;
        return stream_push(m, b, sizeof(b), ZSTD_e_continue);
}

/* ---- the old layer as a device walks it (lib/delta_walk.c) ---- */

/* The walk item of path, if a FILE/HEADER record can still reach it (not behind the cursor). */
static const struct delta_walk_item *walk_find(struct maker *m, const char *path, bool dir) {
        const struct delta_walk_item *w = delta_old_walk_lookup(&m->walk, m->walk_pos, path);
        return w && w->e && w->dir == dir ? w : NULL;
}

/* Edits turning the predicted header into h, encoded after rec[0..5] (type, skip, count);
 * the record's length, or 0 when the header is better sent literally. */
static size_t encode_header(struct maker *m, const struct delta_walk_item *w, const uint8_t *h,
                            uint8_t *rec, size_t cap) {
        static const size_t ranges[2][2] = {{0, 148}, {156, DELTA_BLOCK}};
        uint8_t work[DELTA_BLOCK];
        size_t len = 6, n = 0;

        delta_hdr_predict(&m->hs, w->path, w->dir, w->dir ? 0 : w->e->size, work);
        delta_put32(rec + 1, (uint32_t) (w - m->walk.items - (ptrdiff_t) m->walk_pos));
        for (size_t r = 0; r < 2; r++)
                for (size_t i = ranges[r][0]; i < ranges[r][1];) {
                        if (work[i] == h[i]) {
                                i++;
                                continue;
                        }
                        /* One edit per run of changes; gaps of up to 3 equal bytes are cheaper
                         * inside an edit than as another edit's 3-byte head. */
                        size_t last = i;
                        for (size_t j = i; j < ranges[r][1] && j - i < 255 && j - last <= 3; j++)
                                if (work[j] != h[j])
                                        last = j;
                        size_t k = last + 1 - i;
                        if (len + 3 + k > cap || ++n > 255)
                                return 0;
                        delta_put16(rec + len, (uint16_t) i);
                        rec[len + 2] = (uint8_t) k;
                        memcpy(rec + len + 3, h + i, k);
                        memcpy(work + i, h + i, k);
                        len += 3 + k;
                        i += k;
                }
        delta_hdr_checksum(work);
        if (memcmp(work + 148, h + 148, 8) != 0) {
                if (len + 11 > cap || ++n > 255)
                        return 0;
                delta_put16(rec + len, 148);
                rec[len + 2] = 8;
                memcpy(rec + len + 3, h + 148, 8);
                memcpy(work + 148, h + 148, 8);
                len += 11;
        }
        rec[5] = (uint8_t) n;
        return memcmp(work, h, DELTA_BLOCK) == 0 ? len : 0;
}

/* ---- old files ---- */

static const char *stem_of(const char *path, size_t *ret_len) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strcspn(base, "0123456789");
        *ret_len = n;
        return base;
}

static int cmp_path(const void *a, const void *b) {
        return strcmp((*(struct old_file *const *) a)->e->path,
                      (*(struct old_file *const *) b)->e->path);
}

static int cmp_size(const void *a, const void *b) {
        uint64_t x = (*(struct old_file *const *) a)->e->size,
                 y = (*(struct old_file *const *) b)->e->size;
        return x < y ? -1 : x > y;
}

static int cmp_stem(const void *a, const void *b) {
        const struct old_file *x = *(struct old_file *const *) a,
                              *y = *(struct old_file *const *) b;
        size_t n = MIN(x->stem_len, y->stem_len);
        int c = memcmp(x->stem, y->stem, n);
        return c ? c : x->stem_len < y->stem_len ? -1 : x->stem_len > y->stem_len;
}

static int cmp_entry_path(const void *a, const void *b) {
        const struct delta_tar_entry *x = *(const struct delta_tar_entry *const *) a,
                                     *y = *(const struct delta_tar_entry *const *) b;
        int c = strcmp(x->path, y->path);
        return c ? c : x < y ? -1 : x > y; /* later entries last */
}

/* The old layer as extracted: for each path the last entry wins; only non-empty regular files
 * can be sources. */
static int index_old(struct maker *m, const struct delta_tar *t) {
        _cleanup_free_ const struct delta_tar_entry **all = calloc(t->n + 1, sizeof(*all));
        size_t n = 0;
        if (!all)
                return -ENOMEM;
        for (size_t i = 0; i < t->n; i++)
                if (t->e[i].path)
                        all[n++] = &t->e[i];
        if (n > 1) /* qsort wants a valid pointer even for 0 elements */
                qsort(all, n, sizeof(*all), cmp_entry_path);
        m->files = calloc(n + 1, sizeof(*m->files));
        m->by_path = calloc(n + 1, sizeof(*m->by_path));
        m->by_size = calloc(n + 1, sizeof(*m->by_size));
        m->by_stem = calloc(n + 1, sizeof(*m->by_stem));
        if (!m->files || !m->by_path || !m->by_size || !m->by_stem)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const struct delta_tar_entry *e = all[i];
                if (i + 1 < n && STREQ(e->path, all[i + 1]->path))
                        continue;
                if (!e->regular || e->size == 0)
                        continue;
                struct old_file *f = &m->files[m->n_files];
                f->e = e;
                f->stem = stem_of(e->path, &f->stem_len);
                m->by_path[m->n_files] = m->by_size[m->n_files] = m->by_stem[m->n_files] = f;
                m->n_files++;
        }
        if (delta_old_walk_build(&m->walk, all, n) < 0)
                return -ENOMEM;
        int k = delta_old_walk_indexable(&m->walk);
        if (k < 0)
                return -ENOMEM;
        m->open_at = k > 0;
        if (m->n_files > 1) /* qsort wants a valid pointer even for 0 elements */
                qsort(m->by_path, m->n_files, sizeof(*m->by_path), cmp_path);
        if (m->n_files > 1)
                qsort(m->by_size, m->n_files, sizeof(*m->by_size), cmp_size);
        if (m->n_files > 1)
                qsort(m->by_stem, m->n_files, sizeof(*m->by_stem), cmp_stem);
        return 0;
}

static const struct old_file *find_path(struct maker *m, const char *path) {
        struct delta_tar_entry e = {.path = (char *) path};
        struct old_file f = {.e = &e}, *k = &f;
        struct old_file **r = bsearch(&k, m->by_path, m->n_files, sizeof(k), cmp_path);
        return r ? *r : NULL;
}

/* First index in the sorted array whose key is not less than k. */
static size_t lower_bound(struct old_file **v, size_t n, const struct old_file *k,
                          int (*cmp)(const void *, const void *)) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cmp(&v[mid], &k) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static const struct old_file *find_content(struct maker *m, const uint8_t *data, uint64_t size) {
        struct delta_tar_entry e = {.size = size};
        struct old_file k = {.e = &e};
        struct tender_digest d;
        bool hashed = false;

        for (size_t i = lower_bound(m->by_size, m->n_files, &k, cmp_size);
             i < m->n_files && m->by_size[i]->e->size == size; i++) {
                struct old_file *f = m->by_size[i];
                if (!hashed) {
                        tender_sha256_buffer(data, size, &d);
                        hashed = true;
                }
                if (!f->hashed) {
                        tender_sha256_buffer(m->old + f->e->data_off, size, &f->digest);
                        f->hashed = true;
                }
                if (tender_digest_equal(&d, &f->digest))
                        return f;
        }
        return NULL;
}

static const struct old_file *find_similar(struct maker *m, const char *path, uint64_t size) {
        struct delta_tar_entry e = {.path = (char *) path};
        struct old_file k = {.e = &e}, *best = NULL;
        uint64_t best_diff = UINT64_MAX;

        k.stem = stem_of(path, &k.stem_len);
        if (k.stem_len < 2)
                return NULL;
        for (size_t i = lower_bound(m->by_stem, m->n_files, &k, cmp_stem);
             i < m->n_files && cmp_stem(&m->by_stem[i], &(struct old_file *){&k}) == 0; i++) {
                uint64_t s = m->by_stem[i]->e->size;
                uint64_t diff = s > size ? s - size : size - s;
                if (s / 2 <= size && size / 2 <= s && diff < best_diff) {
                        best = m->by_stem[i];
                        best_diff = diff;
                }
        }
        return best;
}

/* ---- one file ---- */

/* ---- one chunk of a changed file ---- */

/* A PATCH frame for the chunk in m->frame: its size, or 0 when zstd failed or gained nothing. */
static size_t zstd_patch(struct maker *m, const struct old_file *f, const uint8_t *data,
                         uint64_t off, uint64_t size, uint64_t n, uint64_t *ret_ooff,
                         uint64_t *ret_olen) {
        const uint8_t *old = m->old + f->e->data_off;
        uint64_t osize = f->e->size;
        /* The old window around the chunk's proportional place. */
        uint64_t olen = MIN((uint64_t) m->o.window, osize);
        uint64_t center = (uint64_t) ((double) off / (double) size * (double) osize);
        uint64_t margin = (olen > n ? olen - n : 0) / 2;
        uint64_t ooff = center > margin ? center - margin : 0;
        if (ooff > osize - olen)
                ooff = osize - olen;
        /* The optimal parsers (levels >= 13) load the whole prefix into their binary
         * trees at about 1 MB/s: only worth it for small files. Level 12 finds nearly
         * the same matches in a 12 MiB window ten times faster. */
        int level = m->o.patch_level          ? m->o.patch_level
                    : olen + n <= SMALL_PATCH ? m->level
                                              : LARGE_PATCH_LEVEL;
        ZSTD_CCtx_setParameter(m->patch, ZSTD_c_compressionLevel, level);
        size_t z = ZSTD_CCtx_refPrefix(m->patch, old + ooff, olen);
        if (!ZSTD_isError(z))
                z = ZSTD_compress2(m->patch, m->frame, TENDER_DELTA_MAX_FRAME, data + off, n);
        *ret_ooff = ooff;
        *ret_olen = olen;
        return ZSTD_isError(z) || z >= n ? 0 : z;
}

/* APPROX records for the chunk in m->records, and what they would cost compressed alone (an
 * upper bound of their share of the stream); 0 when the old file cannot be indexed or the
 * matcher gave up. */
static size_t approx_patch(struct maker *m, const struct old_file *f, const uint8_t *data,
                           uint64_t n, uint16_t pad) {
        if (m->o.no_approx)
                return 0;
        if (m->approx_file != f) {
                m->approx_file = f;
                m->approx_r = delta_approx_index(&m->approx, m->old + f->e->data_off, f->e->size);
        }
        m->records.len = 0;
        if (m->approx_r < 0 || delta_approx_encode(&m->approx, data, n, pad, &m->records) < 0)
                return 0;
        size_t bound = ZSTD_compressBound(m->records.len);
        if (bound > m->est_cap) {
                uint8_t *p = realloc(m->est_out, bound);
                if (!p)
                        return 0;
                m->est_out = p;
                m->est_cap = bound;
        }
        /* Only a weight: level 3 ranks records nearly as the stream's level would, at a
         * fraction of the time, except for small records where the full level costs little. */
        int level = m->records.len <= SMALL_ESTIMATE ? m->level : ESTIMATE_LEVEL;
        size_t z = ZSTD_compressCCtx(m->est, m->est_out, m->est_cap, m->records.p, m->records.len,
                                     level);
        return ZSTD_isError(z) ? 0 : z;
}

/* A changed chunk data[0..n) of a file whose new tar offset is data_off: the smallest of a
 * PATCH against an old window, APPROX records against the whole old file, or a literal. */
static int patch_chunk(struct maker *m, const struct old_file *f, const uint8_t *file, uint64_t off,
                       uint64_t size, uint64_t data_off, uint64_t n) {
        uint64_t ooff, olen;
        uint16_t pad = off + n == size ? m->pad : 0; /* the file's last chunk */
        /* A PATCH can make the padding too (its output is just bytes of the new tar), when it
         * fits the chunk: no DATA record for it. */
        uint64_t zn = n + pad <= m->o.chunk ? n + pad : n;
        size_t z = zstd_patch(m, f, file, off, size, zn, &ooff, &olen);
        size_t za = approx_patch(m, f, file + off, n, pad);
        int r;

        if (za > 0 && (z == 0 || za < z + 21) && za < n) {
                m->pad_sent = pad > 0;
                r = select_old(m, f);
                if (r >= 0)
                        r = stream_push(m, m->records.p, m->records.len, ZSTD_e_continue);
                m->stats.patch_bytes += n;
                m->stats.approx_bytes += n;
                return r;
        }
        if (z == 0) { /* patching gains nothing here: literal */
                m->stats.literal_bytes += n;
                return literal(m, data_off + off, n);
        }
        m->pad_sent = zn > n;
        uint8_t b[21] = {TENDER_DELTA_PATCH};
        delta_put64(b + 1, ooff);
        delta_put32(b + 9, (uint32_t) olen);
        delta_put32(b + 13, (uint32_t) zn);
        delta_put32(b + 17, (uint32_t) z);
        /* Against the whole old file (small files): its offset and length go without saying. */
        bool whole = ooff == 0 && olen == f->e->size;
        if (whole)
                b[12] = TENDER_DELTA_PATCH_FILE;
        r = select_old(m, f);
        if (r >= 0)
                r = stream_push(m, whole ? b + 12 : b, whole ? 9 : sizeof(b), ZSTD_e_continue);
        if (r >= 0)
                r = stream_push(m, m->frame, z, ZSTD_e_continue);
        m->stats.patch_bytes += zn;
        return r;
}

static int patch_file(struct maker *m, const struct old_file *f, const uint8_t *data,
                      uint64_t data_off, uint64_t size) {
        const uint8_t *old = m->old + f->e->data_off;
        uint64_t osize = f->e->size;
        uint32_t window = m->o.window, chunk = m->o.chunk;
        int64_t shift = 0; /* old offset - new offset of the last copied chunk */

        for (uint64_t off = 0; off < size;) {
                uint64_t n = MIN((uint64_t) chunk, size - off);
                /* A chunk found unchanged (same place, or shifted like the last one, or where
                 * its first bytes are) is copied: no compression work, no patch bytes. */
                uint64_t cands[3] = {off, off + (uint64_t) shift, UINT64_MAX};
                uint64_t lo = off > window / 2 ? off - window / 2 : 0;
                if (n >= ANCHOR && lo < osize) {
                        const uint8_t *p = memmem(old + lo, MIN((uint64_t) window, osize - lo),
                                                  data + off, ANCHOR);
                        if (p)
                                cands[2] = (uint64_t) (p - old);
                }
                bool copied = false;
                for (size_t i = 0; i < ELEMENTSOF(cands) && !copied; i++)
                        if (cands[i] <= osize && n <= osize - cands[i] &&
                            memcmp(old + cands[i], data + off, n) == 0) {
                                int r = copy(m, f, cands[i], n);
                                if (r < 0)
                                        return r;
                                shift = (int64_t) cands[i] - (int64_t) off;
                                copied = true;
                        }
                if (copied) {
                        off += n;
                        continue;
                }
                int r = patch_chunk(m, f, data, off, size, data_off, n);
                if (r < 0)
                        return r;
                off += n;
        }
        return 0;
}

static int do_file(struct maker *m, const struct delta_tar_entry *e) {
        const uint8_t *data = m->new + e->data_off;
        const struct old_file *f = e->path ? find_path(m, e->path) : NULL;
        int r;

        m->stats.files++;
        if (f && f->e->size == e->size && memcmp(m->old + f->e->data_off, data, e->size) == 0) {
                m->stats.copied++;
                return copy(m, f, 0, e->size);
        }
        /* Moved, or replaced by the content of another old file. */
        const struct old_file *same = find_content(m, data, e->size);
        if (same) {
                m->stats.renamed++;
                return copy(m, same, 0, e->size);
        }
        if (!f && !m->o.no_similarity && e->path)
                f = find_similar(m, e->path, e->size);
        if (!f) {
                m->stats.literal++;
                m->stats.literal_bytes += e->size;
                return literal(m, e->data_off, e->size);
        }
        m->stats.patched++;
        r = patch_file(m, f, data, e->data_off, e->size);
        return r;
}

/* ---- setup ---- */

static int map_fd(int fd, const uint8_t **ret, uint64_t *ret_len, struct tender_error *err) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "stat tar");
        if (!S_ISREG(st.st_mode))
                return tender_error_set(err, TENDER_ERR_SYSTEM, EINVAL, "tar is not a file");
        *ret_len = (uint64_t) st.st_size;
        if (st.st_size == 0) {
                *ret = NULL;
                return 0;
        }
        void *p = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "map tar");
        *ret = p;
        return 0;
}

static int maker_setup(struct maker *m) {
        int level = m->level = m->o.level ? m->o.level : DEFAULT_LEVEL;
        m->stream = ZSTD_createCCtx();
        m->patch = ZSTD_createCCtx();
        m->est = ZSTD_createCCtx();
        m->out = malloc(OUT_BUFFER_SIZE);
        m->frame = malloc(TENDER_DELTA_MAX_FRAME);
        if (!m->stream || !m->patch || !m->est || !m->out || !m->frame)
                return tender_error_set(m->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        ZSTD_CCtx_setParameter(m->stream, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(m->stream, ZSTD_c_windowLog, TENDER_DELTA_STREAM_WINDOW_LOG);
        ZSTD_CCtx_setParameter(m->stream, ZSTD_c_checksumFlag, 0);
        ZSTD_CCtx_setParameter(m->patch, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(m->patch, ZSTD_c_windowLog, TENDER_DELTA_PATCH_WINDOW_LOG);
        /* The PATCH record carries the sizes and the frame's type: no magic, no content size
         * (docs/delta-format.md, v2). */
        ZSTD_CCtx_setParameter(m->patch, ZSTD_c_contentSizeFlag, 0);
        ZSTD_CCtx_setParameter(m->patch, ZSTD_c_format, ZSTD_f_zstd1_magicless);
        ZSTD_CCtx_setParameter(m->patch, ZSTD_c_checksumFlag, 0);
        ZSTD_CCtx_setParameter(m->patch, ZSTD_c_dictIDFlag, 0);
        return 0;
}

static int write_header(struct maker *m) {
        uint8_t h[TENDER_DELTA_HEADER_SIZE] = {0};
        struct tender_digest src, dst;
        tender_sha256_buffer(m->old, m->old_len, &src);
        tender_sha256_buffer(m->new, m->new_len, &dst);
        memcpy(h, TENDER_DELTA_MAGIC, 8);
        delta_put32(h + 8, TENDER_DELTA_VERSION);
        memcpy(h + 16, src.bytes, TENDER_SHA256_SIZE);
        memcpy(h + 48, dst.bytes, TENDER_SHA256_SIZE);
        delta_put64(h + 80, m->new_len);
        delta_put32(h + 88, m->o.window);
        delta_put32(h + 92, m->o.chunk);
        return write_all(m, h, sizeof(h));
}

static uint64_t round_block(uint64_t n) {
        return (n + DELTA_BLOCK - 1) / DELTA_BLOCK * DELTA_BLOCK;
}

/* FILE makes zeros after the data, up to the next block; the tar must have them. */
static bool zero_padding(struct maker *m, const struct delta_tar_entry *e) {
        uint64_t end = e->data_off + e->size, pad = round_block(e->size) - e->size;
        if (pad > m->new_len - end)
                return false;
        for (uint64_t i = 0; i < pad; i++)
                if (m->new[end + i])
                        return false;
        return true;
}

/* Sends the header of e as a FILE or HEADER record if the walk reaches its path; FILE also
 * covers the data and padding of an unchanged file. Returns where e's bytes still to send
 * start (e->data_off after a HEADER), or 0 when the header went nowhere. */
static int64_t predicted_entry(struct maker *m, const struct delta_tar_entry *e) {
        bool dir = e->type == '5';
        const struct delta_walk_item *w;
        uint8_t rec[6 + 300];
        size_t len;
        int r;

        if (!e->path || e->data_off - e->meta_off != DELTA_BLOCK || !(dir || e->regular) ||
            (dir && e->size > 0))
                return 0;
        w = walk_find(m, e->path, dir);
        if (!w || !(len = encode_header(m, w, m->new + e->meta_off, rec, sizeof(rec))))
                return 0;
        bool whole = dir || (w->e->size == e->size && zero_padding(m, e) &&
                             memcmp(m->old + w->e->data_off, m->new + e->data_off, e->size) == 0);
        rec[0] = whole ? TENDER_DELTA_FILE : TENDER_DELTA_HEADER;
        r = flush_literal(m);
        if (r >= 0)
                r = stream_push(m, rec, len, ZSTD_e_continue);
        if (r < 0)
                return r;
        m->walk_pos = (size_t) (w - m->walk.items) + 1;
        delta_hdr_learn(&m->hs, m->new + e->meta_off, w->path, dir);
        m->open = dir ? NULL : find_path(m, w->path);
        m->stats.predicted_headers++;
        if (dir || !whole)
                return (int64_t) e->data_off;
        m->stats.files++;
        m->stats.copied++;
        m->stats.copy_bytes += e->size;
        return (int64_t) (e->data_off + round_block(e->size));
}

/* One entry of the new tar: headers, data, padding up to next. */
static int do_entry(struct maker *m, const struct delta_tar_entry *e, uint64_t next) {
        uint64_t end = e->data_off + e->size;
        int64_t from = predicted_entry(m, e);
        int r = (int) MIN(from, 0);

        if (from > (int64_t) e->data_off) {
                uint64_t at = (uint64_t) from;
                return next > at ? literal(m, at, next - at) : 0;
        }
        if (r >= 0 && from == 0) {
                m->stats.literal_headers++;
                r = literal(m, e->meta_off, e->data_off - e->meta_off);
        }
        /* The file's last PATCH or APPROX record can make the padding: no DATA record for it. */
        m->pad = 0;
        if (e->regular && next >= end && round_block(e->size) - e->size <= next - end &&
            zero_padding(m, e))
                m->pad = (uint16_t) (round_block(e->size) - e->size);
        m->pad_sent = false;
        if (r >= 0 && e->regular && e->size > 0)
                r = do_file(m, e);
        else if (r >= 0)
                r = literal(m, e->data_off, e->size);
        if (r >= 0 && m->pad_sent)
                end += m->pad;
        if (r >= 0 && next > end)
                r = literal(m, end, next - end); /* padding */
        return r;
}

static int make(struct maker *m, const struct delta_tar *ot, const struct delta_tar *nt) {
        int r = maker_setup(m);
        if (r < 0)
                return r;
        if (index_old(m, ot) < 0)
                return tender_error_set(m->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        r = write_header(m);
        for (size_t i = 0; r >= 0 && i < nt->n; i++)
                r = do_entry(m, &nt->e[i], i + 1 < nt->n ? nt->e[i + 1].meta_off : nt->end);
        if (r >= 0)
                r = literal(m, nt->end, m->new_len - nt->end);
        if (r >= 0)
                r = flush_literal(m);
        if (r >= 0) {
                uint8_t end = TENDER_DELTA_END;
                r = stream_push(m, &end, 1, ZSTD_e_end);
        }
        return r;
}

int tender_delta_make(int old_tar_fd, int new_tar_fd, int out_fd,
                      const struct tender_delta_make_options *opts,
                      struct tender_delta_stats *ret_stats, struct tender_error *err) {
        _cleanup_(maker_done) struct maker m = {.err = err, .out_fd = out_fd};
        struct delta_tar ot = {0}, nt = {0};
        int r;

        if (opts)
                m.o = *opts;
        if (!m.o.window || m.o.window > TENDER_DELTA_MAX_WINDOW)
                m.o.window = TENDER_DELTA_MAX_WINDOW;
        if (!m.o.chunk || m.o.chunk > TENDER_DELTA_MAX_CHUNK)
                m.o.chunk = TENDER_DELTA_MAX_CHUNK;
        r = map_fd(old_tar_fd, &m.old, &m.old_len, err);
        if (r < 0)
                return r;
        r = map_fd(new_tar_fd, &m.new, &m.new_len, err);
        if (r >= 0 && (delta_tar_parse(m.old, m.old_len, &ot) < 0 ||
                       delta_tar_parse(m.new, m.new_len, &nt) < 0))
                r = tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        if (r >= 0)
                r = make(&m, &ot, &nt);
        delta_tar_free(&ot);
        delta_tar_free(&nt);
        if (m.old)
                munmap((void *) m.old, m.old_len);
        if (m.new)
                munmap((void *) m.new, m.new_len);
        if (r >= 0 && ret_stats)
                *ret_stats = m.stats;
        return r;
}
