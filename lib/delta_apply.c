/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delta applier (docs/delta-format.md). A pull-based producer: each call to produce() returns the
 * next piece of the rebuilt tar, so that libarchive can read it through a callback and nothing
 * of the new tar is kept whole, on disk or in memory. Memory is what the format's limits allow:
 * one zstd stream window for the records, and for patches one old window and one output chunk,
 * allocated only when the first patch comes (patch frames are decoded as the record stream
 * gives them, without a buffer of their own).
 *
 * Old files are opened beneath the old layer's directory fd with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) (an O_NOFOLLOW walk where the kernel lacks openat2; lib/delta_walk.c) and
 * must be regular files: a delta can only ever read what the old layer holds.
 */
#include "tender/delta.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_d_format: magicless patch frames */
#include <zstd.h>

#include "delta_internal.h"
#include "tender/extract.h"

#define COPY_BUFFER_SIZE (256 * 1024)

enum state {
        ST_RECORD,
        ST_COPY,
        ST_DATA,
        ST_DONE,
};

struct applier {
        int delta_fd, old_dir_fd;
        struct tender_delta_header h;
        char target[TENDER_DIGEST_STRING_MAX];
        struct tender_error *err;

        ZSTD_DCtx *ds; /* record stream */
        uint8_t *in;
        size_t in_size;
        ZSTD_inBuffer zin;
        bool in_eof;
        uint8_t *rec; /* decompressed records */
        size_t rec_size, rec_pos, rec_len;

        int old_fd;
        uint64_t old_size;
        char old_path[TENDER_DELTA_MAX_PATH + 1];

        enum state st;
        uint64_t remaining, copy_off, pad; /* pad: zeros after a FILE's data */
        uint8_t *copy;

        struct delta_walk *walk;   /* the old layer in walk order, from the first FILE/HEADER */
        struct delta_index *index; /* the whole walk, from the first OPEN_AT */
        struct delta_hdr_state hs;
        uint8_t hdr[DELTA_BLOCK];

        ZSTD_DCtx *pd; /* patches, lazily with the buffers below */
        uint8_t *window, *out;
        uint8_t *ctl, *old_piece; /* APPROX records: controls, old bytes read in pieces */

        struct tender_sha256 *hash; /* NULL while extracting: extraction hashes */
        uint64_t produced;
        bool extracting;
        int failed; /* first error, sticky */
};

static int fail(struct applier *a, int r) {
        if (!a->failed)
                a->failed = r;
        return a->failed;
}

#define BAD(a, ...) fail((a), tender_error_set((a)->err, TENDER_ERR_VERIFY, EBADMSG, __VA_ARGS__))

static void applier_done(struct applier *a) {
        ZSTD_freeDCtx(a->ds);
        ZSTD_freeDCtx(a->pd);
        free(a->in);
        free(a->rec);
        free(a->copy);
        free(a->window);
        free(a->out);
        free(a->ctl);
        free(a->old_piece);
        if (a->old_fd >= 0)
                close(a->old_fd);
        delta_walk_free(a->walk);
        delta_index_free(a->index);
        tender_sha256_free(a->hash);
}

int tender_delta_read_header(int delta_fd, struct tender_delta_header *ret,
                             struct tender_error *err) {
        uint8_t b[TENDER_DELTA_HEADER_SIZE];
        size_t got = 0;

        while (got < sizeof(b)) {
                ssize_t n = read(delta_fd, b + got, sizeof(b) - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                                      "read delta header");
                if (n == 0)
                        return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                                "delta truncated in its header");
                got += (size_t) n;
        }
        if (memcmp(b, TENDER_DELTA_MAGIC, 8) != 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG, "not a tender delta");
        struct tender_delta_header h = {.version = delta_get32(b + 8)};
        if (h.version != TENDER_DELTA_VERSION)
                return tender_error_set(err, TENDER_ERR_VERIFY, EPROTONOSUPPORT,
                                        "delta format version %u is not supported", h.version);
        if (delta_get32(b + 12) != 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EPROTONOSUPPORT,
                                        "delta uses unknown flags 0x%x", delta_get32(b + 12));
        memcpy(h.source.bytes, b + 16, TENDER_SHA256_SIZE);
        memcpy(h.target.bytes, b + 48, TENDER_SHA256_SIZE);
        h.target_size = delta_get64(b + 80);
        h.window = delta_get32(b + 88);
        h.chunk = delta_get32(b + 92);
        if (h.window > TENDER_DELTA_MAX_WINDOW || h.chunk > TENDER_DELTA_MAX_CHUNK)
                return tender_error_set(err, TENDER_ERR_VERIFY, E2BIG,
                                        "delta asks for a %u byte window and %u byte chunks "
                                        "(limits %u, %u)",
                                        h.window, h.chunk, TENDER_DELTA_MAX_WINDOW,
                                        TENDER_DELTA_MAX_CHUNK);
        *ret = h;
        return 0;
}

/* Reads n decompressed record bytes. */
static int rec_read(struct applier *a, void *buf, size_t n);

static int rec_fill(struct applier *a) {
        for (;;) {
                if (a->zin.pos == a->zin.size && !a->in_eof) {
                        ssize_t k = read(a->delta_fd, a->in, a->in_size);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0)
                                return fail(a, tender_error_set_errno(a->err, TENDER_ERR_SYSTEM,
                                                                      errno, "read delta"));
                        a->zin = (ZSTD_inBuffer){a->in, (size_t) k, 0};
                        a->in_eof = k == 0;
                }
                ZSTD_outBuffer out = {a->rec, a->rec_size, 0};
                size_t z = ZSTD_decompressStream(a->ds, &out, &a->zin);
                if (ZSTD_isError(z))
                        return BAD(a, "delta for %s: record stream: %s", a->target,
                                   ZSTD_getErrorName(z));
                a->rec_pos = 0;
                a->rec_len = out.pos;
                if (out.pos > 0)
                        return 0;
                if (a->in_eof && a->zin.pos == a->zin.size)
                        return BAD(a, "delta for %s: truncated (records end without END)",
                                   a->target);
        }
}

static int rec_read(struct applier *a, void *buf, size_t n) {
        uint8_t *p = buf;
        while (n > 0) {
                if (a->rec_pos == a->rec_len) {
                        int r = rec_fill(a);
                        if (r < 0)
                                return r;
                }
                size_t k = MIN(n, a->rec_len - a->rec_pos);
                memcpy(p, a->rec + a->rec_pos, k);
                a->rec_pos += k;
                p += k;
                n -= k;
        }
        return 0;
}

static int pread_exact(struct applier *a, void *buf, size_t n, uint64_t off) {
        uint8_t *p = buf;
        while (n > 0) {
                ssize_t k = pread(a->old_fd, p, n, (off_t) off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return fail(a, tender_error_set_errno(a->err, TENDER_ERR_SYSTEM, errno,
                                                              "old file %s", a->old_path));
                if (k == 0)
                        return fail(a,
                                    tender_error_set(a->err, TENDER_ERR_VERIFY, ESTALE,
                                                     "old file %s changed: shorter than %llu "
                                                     "bytes",
                                                     a->old_path, (unsigned long long) (off + n)));
                p += k;
                n -= (size_t) k;
                off += (uint64_t) k;
        }
        return 0;
}

static int open_old(struct applier *a);

static int do_open(struct applier *a) {
        uint8_t b[2];
        int r = rec_read(a, b, 2);
        if (r < 0)
                return r;
        size_t len = delta_get16(b);
        if (len > TENDER_DELTA_MAX_PATH)
                return BAD(a, "delta for %s: old path longer than %d bytes", a->target,
                           TENDER_DELTA_MAX_PATH);
        r = rec_read(a, a->old_path, len);
        if (r < 0)
                return r;
        a->old_path[len] = '\0';
        if (!delta_old_path_valid(a->old_path, len))
                return BAD(a, "delta for %s: old path \"%s\" refused", a->target, a->old_path);
        return open_old(a);
}

/* OPEN_AT: the old file at a position of the walk. The walk is listed whole at the first one
 * (bounded by TENDER_DELTA_MAX_INDEX). */
static int do_open_at(struct applier *a) {
        uint8_t b[4];
        char type;
        int r = rec_read(a, b, 4);
        if (r < 0)
                return r;
        uint32_t i = delta_get32(b);
        if (!a->index && (r = delta_index_build(a->old_dir_fd, &a->index)) == -E2BIG)
                return fail(a, tender_error_set(a->err, TENDER_ERR_VERIFY, E2BIG,
                                                "delta for %s: the old layer's listing is over "
                                                "%u bytes",
                                                a->target, TENDER_DELTA_MAX_INDEX));
        if (r < 0)
                return fail(a, tender_error_set_errno(a->err, TENDER_ERR_VERIFY, -r,
                                                      "delta for %s: listing the old layer",
                                                      a->target));
        if (delta_index_get(a->index, i, a->old_path, &type) < 0)
                return fail(a, tender_error_set(a->err, TENDER_ERR_VERIFY, ESTALE,
                                                "delta for %s: old entry %u past the old layer's "
                                                "%zu entries",
                                                a->target, i, delta_index_count(a->index)));
        if (type != DELTA_WALK_FILE)
                return fail(a, tender_error_set(a->err, TENDER_ERR_VERIFY, EINVAL,
                                                "delta for %s: old entry %u (%s) is not a "
                                                "regular file",
                                                a->target, i, a->old_path));
        return open_old(a);
}

/* Opens a->old_path as the selected old file. */
static int open_old(struct applier *a) {
        struct stat st;
        if (a->old_fd >= 0)
                close(a->old_fd);
        a->old_fd = delta_open_beneath(a->old_dir_fd, a->old_path);
        if (a->old_fd < 0)
                return fail(a, tender_error_set_errno(a->err, TENDER_ERR_VERIFY, -a->old_fd,
                                                      "old file %s", a->old_path));
        if (fstat(a->old_fd, &st) < 0)
                return fail(a, tender_error_set_errno(a->err, TENDER_ERR_SYSTEM, errno,
                                                      "old file %s", a->old_path));
        if (!S_ISREG(st.st_mode))
                return fail(a, tender_error_set(a->err, TENDER_ERR_VERIFY, EINVAL,
                                                "old file %s is not a regular file", a->old_path));
        a->old_size = (uint64_t) st.st_size;
        return 0;
}

/* An old range must lie inside the selected old file. */
static int check_range(struct applier *a, uint64_t off, uint64_t len) {
        if (a->old_fd < 0)
                return BAD(a, "delta for %s: old data referenced before an OPEN record", a->target);
        if (off > a->old_size || len > a->old_size - off)
                return BAD(a, "delta for %s: range %llu+%llu past the end of %s (%llu bytes)",
                           a->target, (unsigned long long) off, (unsigned long long) len,
                           a->old_path, (unsigned long long) a->old_size);
        return 0;
}

static int patch_buffers(struct applier *a) {
        if (a->pd)
                return 0;
        a->pd = ZSTD_createDCtx();
        a->window = malloc(MAX(a->h.window, 1u));
        a->out = malloc(MAX(a->h.chunk, 1u));
        if (!a->pd || !a->window || !a->out)
                return fail(a,
                            tender_error_set(a->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory"));
        ZSTD_DCtx_setParameter(a->pd, ZSTD_d_windowLogMax, TENDER_DELTA_PATCH_WINDOW_LOG);
        ZSTD_DCtx_setParameter(a->pd, ZSTD_d_format, ZSTD_f_zstd1_magicless);
        /* Decoded straight into a->out, which is also the frame's window: no buffer of its own. */
        ZSTD_DCtx_setParameter(a->pd, ZSTD_d_stableOutBuffer, 1);
        return 0;
}

/* Decodes a patch frame of frame_len bytes as it comes out of the record stream (no frame
 * buffer: the stream's own output buffer feeds it) into a->out, with the old range in
 * a->window as its prefix. The frame must end exactly at frame_len and give exactly out_len
 * bytes. */
static int patch_frame(struct applier *a, size_t old_len, uint32_t out_len, uint32_t frame_len) {
        ZSTD_outBuffer out = {a->out, out_len, 0};
        size_t z = ZSTD_DCtx_reset(a->pd, ZSTD_reset_session_only);
        if (!ZSTD_isError(z))
                z = ZSTD_DCtx_refPrefix(a->pd, a->window, old_len);
        while (!ZSTD_isError(z) && frame_len > 0) {
                if (a->rec_pos == a->rec_len) {
                        int r = rec_fill(a);
                        if (r < 0)
                                return r;
                }
                size_t before = out.pos;
                ZSTD_inBuffer in = {a->rec + a->rec_pos, MIN(frame_len, a->rec_len - a->rec_pos),
                                    0};
                z = ZSTD_decompressStream(a->pd, &out, &in);
                if (ZSTD_isError(z))
                        break;
                a->rec_pos += in.pos;
                frame_len -= (uint32_t) in.pos;
                if (z == 0 && frame_len > 0)
                        return BAD(a, "delta for %s: patch of %s: frame shorter than its record",
                                   a->target, a->old_path);
                if (in.pos == 0 && out.pos == before) /* stuck: out is full */
                        return BAD(a, "delta for %s: patch of %s gives more than %u bytes",
                                   a->target, a->old_path, out_len);
        }
        if (ZSTD_isError(z))
                return BAD(a, "delta for %s: patch of %s: %s", a->target, a->old_path,
                           ZSTD_getErrorName(z));
        if (z != 0 || out.pos != out_len)
                return BAD(a, "delta for %s: patch of %s gives %zu bytes, not %u", a->target,
                           a->old_path, out.pos, out_len);
        return 0;
}

/* Returns the chunk's size; its bytes are in a->out. */
static ssize_t do_patch(struct applier *a, bool whole) {
        uint8_t b[20];
        int r = whole ? rec_read(a, b + 12, 8) : rec_read(a, b, sizeof(b));
        if (r < 0)
                return r;
        /* PATCH_FILE: the old range is the whole selected file. */
        if (whole && a->old_fd < 0)
                return BAD(a, "delta for %s: old data referenced before an OPEN record", a->target);
        uint64_t off = whole ? 0 : delta_get64(b);
        uint64_t old_len = whole ? a->old_size : delta_get32(b + 8);
        uint32_t out_len = delta_get32(b + 12), frame_len = delta_get32(b + 16);
        if (old_len > a->h.window || out_len > a->h.chunk || frame_len > TENDER_DELTA_MAX_FRAME ||
            out_len == 0)
                return BAD(a, "delta for %s: patch record beyond the header's limits", a->target);
        r = check_range(a, off, old_len);
        if (r < 0)
                return r;
        r = patch_buffers(a);
        if (r < 0)
                return r;
        r = pread_exact(a, a->window, old_len, off);
        if (r < 0)
                return r;
        r = patch_frame(a, old_len, out_len, frame_len);
        if (r < 0)
                return r;
        return (ssize_t) out_len;
}

#define APPROX_CONTROL 16        /* u32 add, u32 extra, s64 seek */
#define APPROX_PIECE (64 * 1024) /* old bytes read at once for an APPROX record */

/* Checks an APPROX record's controls against its output length and the selected old file. */
static int approx_check(struct applier *a, uint32_t count, uint32_t out_len) {
        uint64_t total = 0, pos = 0;
        for (uint32_t i = 0; i < count; i++) {
                const uint8_t *c = a->ctl + (size_t) i * APPROX_CONTROL;
                uint64_t add = delta_get32(c), extra = delta_get32(c + 4);
                int64_t seek = (int64_t) delta_get64(c + 8);
                total += add + extra;
                if (total > out_len)
                        return BAD(a,
                                   "delta for %s: approximate patch of %s makes more than %u "
                                   "bytes",
                                   a->target, a->old_path, out_len);
                if ((seek < 0 && (uint64_t) 0 - (uint64_t) seek > pos) ||
                    (seek > 0 && (uint64_t) seek > a->old_size - pos))
                        return BAD(a, "delta for %s: approximate patch seeks outside %s", a->target,
                                   a->old_path);
                pos += (uint64_t) seek;
                int r = check_range(a, pos, add);
                if (r < 0)
                        return r;
                pos += add;
        }
        if (total != out_len)
                return BAD(a, "delta for %s: approximate patch of %s makes %llu bytes, not %u",
                           a->target, a->old_path, (unsigned long long) total, out_len);
        return 0;
}

/* Adds the old bytes under each control's add range to the differences already in a->out,
 * reading the old file in fixed pieces. */
static int approx_add_old(struct applier *a, uint32_t count) {
        uint64_t pos = 0;
        uint8_t *o = a->out;
        for (uint32_t i = 0; i < count; i++) {
                const uint8_t *c = a->ctl + (size_t) i * APPROX_CONTROL;
                uint32_t add = delta_get32(c), extra = delta_get32(c + 4);
                pos += delta_get64(c + 8); /* checked: stays inside the file */
                for (uint32_t done = 0; done < add;) {
                        uint32_t k = MIN(add - done, (uint32_t) APPROX_PIECE);
                        int r = pread_exact(a, a->old_piece, k, pos);
                        if (r < 0)
                                return r;
                        for (uint32_t j = 0; j < k; j++)
                                o[done + j] = (uint8_t) (o[done + j] + a->old_piece[j]);
                        done += k;
                        pos += k;
                }
                o += (size_t) add + extra;
        }
        return 0;
}

/* APPROX: output = for each control, old bytes + differences, then inserted bytes; then pad
 * zeros. The differences and the inserted bytes come as two runs after the controls (they
 * compress far better apart) and are read straight into their places in the output. */
static ssize_t do_approx(struct applier *a) {
        uint8_t b[10];
        int r = rec_read(a, b, sizeof(b));
        if (r < 0)
                return r;
        uint32_t out_len = delta_get32(b), count = delta_get32(b + 4);
        uint16_t pad = delta_get16(b + 8);
        if (a->old_fd < 0)
                return BAD(a, "delta for %s: old data referenced before an OPEN record", a->target);
        if (out_len == 0 || out_len > a->h.chunk || count == 0 ||
            count > TENDER_DELTA_MAX_CONTROLS || pad >= DELTA_BLOCK)
                return BAD(a, "delta for %s: approximate patch record beyond the limits",
                           a->target);
        r = patch_buffers(a);
        if (r < 0)
                return r;
        if (!a->ctl)
                a->ctl = malloc((size_t) TENDER_DELTA_MAX_CONTROLS * APPROX_CONTROL);
        if (!a->old_piece)
                a->old_piece = malloc(APPROX_PIECE);
        if (!a->ctl || !a->old_piece)
                return fail(a,
                            tender_error_set(a->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory"));
        r = rec_read(a, a->ctl, (size_t) count * APPROX_CONTROL);
        if (r >= 0)
                r = approx_check(a, count, out_len);
        for (int run = 0; r >= 0 && run < 2; run++) { /* differences, then inserted bytes */
                uint8_t *o = a->out;
                for (uint32_t i = 0; r >= 0 && i < count; i++) {
                        const uint8_t *c = a->ctl + (size_t) i * APPROX_CONTROL;
                        uint32_t add = delta_get32(c), extra = delta_get32(c + 4);
                        r = rec_read(a, run ? o + add : o, run ? extra : add);
                        o += (size_t) add + extra;
                }
        }
        if (r >= 0)
                r = approx_add_old(a, count);
        if (r < 0)
                return r;
        if (pad > 0) { /* the zeros after the file's data, up to its next tar block */
                a->st = ST_COPY;
                a->remaining = 0;
                a->pad = pad;
        }
        return (ssize_t) out_len;
}

/* Walks skip old entries past the last one used and selects the next: a directory (no old file)
 * or a regular file. */
static int walk_select(struct applier *a, uint32_t skip, bool *ret_dir) {
        const char *path = NULL;
        char type = 0;
        int r = 0;
        if (skip > TENDER_DELTA_MAX_SKIP)
                return BAD(a, "delta for %s: skips %u old entries", a->target, skip);
        if (!a->walk && (r = delta_walk_new(a->old_dir_fd, &a->walk)) < 0)
                return fail(a, tender_error_set(a->err, TENDER_ERR_SYSTEM, -r, "out of memory"));
        for (uint64_t i = 0; i <= skip; i++) {
                r = delta_walk_next(a->walk, &path, &type);
                if (r == 0)
                        return fail(a, tender_error_set(a->err, TENDER_ERR_VERIFY, ESTALE,
                                                        "delta for %s: old layer has fewer "
                                                        "entries than the delta walks",
                                                        a->target));
                if (r < 0)
                        return fail(a, tender_error_set_errno(a->err, TENDER_ERR_VERIFY, -r,
                                                              "delta for %s: walking the old "
                                                              "layer",
                                                              a->target));
        }
        snprintf(a->old_path, sizeof(a->old_path), "%s", path);
        *ret_dir = type == DELTA_WALK_DIR;
        if (type == DELTA_WALK_OTHER)
                return fail(a, tender_error_set(a->err, TENDER_ERR_VERIFY, EINVAL,
                                                "old file %s is not a regular file", a->old_path));
        if (!*ret_dir)
                return open_old(a);
        if (a->old_fd >= 0)
                close(a->old_fd);
        a->old_fd = -1;
        a->old_size = 0;
        return 0;
}

/* FILE and HEADER: the header predicted for the walked entry, with the record's edits. Returns
 * 512 with the header in a->hdr; FILE then goes on with the whole old file and padding. */
static ssize_t do_header(struct applier *a, bool file) {
        uint8_t b[5], e[3];
        bool dir, own_sum = false;
        int r = rec_read(a, b, sizeof(b));
        if (r < 0)
                return r;
        r = walk_select(a, delta_get32(b), &dir);
        if (r < 0)
                return r;
        delta_hdr_predict(&a->hs, a->old_path, dir, a->old_size, a->hdr);
        for (unsigned i = 0; i < b[4]; i++) {
                r = rec_read(a, e, sizeof(e));
                if (r < 0)
                        return r;
                size_t off = delta_get16(e), len = e[2];
                if (len == 0 || off + len > DELTA_BLOCK)
                        return BAD(a, "delta for %s: header edit %zu+%zu outside the header",
                                   a->target, off, len);
                r = rec_read(a, a->hdr + off, len);
                if (r < 0)
                        return r;
                own_sum |= off < 156 && off + len > 148;
        }
        if (!own_sum)
                delta_hdr_checksum(a->hdr);
        delta_hdr_learn(&a->hs, a->hdr, a->old_path, dir);
        if (file && !dir) {
                a->st = ST_COPY;
                a->copy_off = 0;
                a->remaining = a->old_size;
                a->pad = (DELTA_BLOCK - a->old_size % DELTA_BLOCK) % DELTA_BLOCK;
        }
        return DELTA_BLOCK;
}

static int do_end(struct applier *a) {
        /* Nothing may follow END: neither records nor bytes after the zstd stream. */
        if (a->rec_pos < a->rec_len)
                return BAD(a, "delta for %s: records after END", a->target);
        for (;;) {
                ZSTD_outBuffer out = {a->rec, a->rec_size, 0};
                if (a->zin.pos == a->zin.size) {
                        ssize_t k = read(a->delta_fd, a->in, a->in_size);
                        if (k < 0)
                                return fail(a, tender_error_set_errno(a->err, TENDER_ERR_SYSTEM,
                                                                      errno, "read delta"));
                        if (k == 0)
                                break;
                        a->zin = (ZSTD_inBuffer){a->in, (size_t) k, 0};
                }
                size_t z = ZSTD_decompressStream(a->ds, &out, &a->zin);
                if (ZSTD_isError(z) || out.pos > 0)
                        return BAD(a, "delta for %s: data after END", a->target);
                if (z == 0 && a->zin.pos < a->zin.size)
                        return BAD(a, "delta for %s: data after the record stream", a->target);
                if (z == 0 && a->zin.pos == a->zin.size) {
                        uint8_t c;
                        ssize_t k = read(a->delta_fd, &c, 1);
                        if (k != 0)
                                return BAD(a, "delta for %s: data after the record stream",
                                           a->target);
                        break;
                }
        }
        if (a->produced != a->h.target_size)
                return BAD(a, "delta for %s: rebuilt %llu bytes, expected %llu", a->target,
                           (unsigned long long) a->produced, (unsigned long long) a->h.target_size);
        a->st = ST_DONE;
        return 0;
}

/* Handles one record; returns the size of output it made directly (patches), else 0. */
static ssize_t do_record(struct applier *a, const void **ret_buf) {
        uint8_t type, b[16];
        int r = rec_read(a, &type, 1);
        if (r < 0)
                return r;
        switch (type) {
        case TENDER_DELTA_OPEN:
                return do_open(a);
        case TENDER_DELTA_OPEN_AT:
                return do_open_at(a);
        case TENDER_DELTA_COPY:
                r = rec_read(a, b, 16);
                if (r < 0)
                        return r;
                a->copy_off = delta_get64(b);
                a->remaining = delta_get64(b + 8);
                r = check_range(a, a->copy_off, a->remaining);
                if (r < 0)
                        return r;
                a->st = ST_COPY;
                return 0;
        case TENDER_DELTA_DATA:
                r = rec_read(a, b, 4);
                if (r < 0)
                        return r;
                a->remaining = delta_get32(b);
                if (a->remaining > TENDER_DELTA_MAX_DATA)
                        return BAD(a, "delta for %s: literal record over %u bytes", a->target,
                                   TENDER_DELTA_MAX_DATA);
                a->st = ST_DATA;
                return 0;
        case TENDER_DELTA_PATCH:
        case TENDER_DELTA_PATCH_FILE: {
                ssize_t n = do_patch(a, type == TENDER_DELTA_PATCH_FILE);
                if (n > 0)
                        *ret_buf = a->out;
                return n;
        }
        case TENDER_DELTA_APPROX: {
                ssize_t n = do_approx(a);
                if (n > 0)
                        *ret_buf = a->out;
                return n;
        }
        case TENDER_DELTA_FILE:
        case TENDER_DELTA_HEADER: {
                ssize_t n = do_header(a, type == TENDER_DELTA_FILE);
                if (n > 0)
                        *ret_buf = a->hdr;
                return n;
        }
        case TENDER_DELTA_END:
                return do_end(a);
        default:
                return BAD(a, "delta for %s: unknown record type 0x%02x", a->target, type);
        }
}

/* The next piece of the rebuilt tar: its size (0 at the end) and *ret_buf, valid until the next
 * call; or a negative errno with a->err set. */
static ssize_t produce(struct applier *a, const void **ret_buf) {
        ssize_t n = 0;
        int r;

        if (a->failed)
                return a->failed;
        while (n == 0) {
                switch (a->st) {
                case ST_DONE:
                        return 0;
                case ST_RECORD:
                        n = do_record(a, ret_buf);
                        if (n < 0)
                                return n;
                        break;
                case ST_COPY:
                        if (a->remaining == 0 && a->pad > 0) {
                                static const uint8_t zeros[DELTA_BLOCK];
                                n = (ssize_t) a->pad;
                                a->pad = 0;
                                *ret_buf = zeros;
                                break;
                        }
                        if (a->remaining == 0) {
                                a->st = ST_RECORD;
                                break;
                        }
                        n = (ssize_t) MIN(a->remaining, (uint64_t) COPY_BUFFER_SIZE);
                        r = pread_exact(a, a->copy, (size_t) n, a->copy_off);
                        if (r < 0)
                                return r;
                        a->copy_off += (uint64_t) n;
                        a->remaining -= (uint64_t) n;
                        *ret_buf = a->copy;
                        break;
                case ST_DATA:
                        if (a->remaining == 0) {
                                a->st = ST_RECORD;
                                break;
                        }
                        if (a->rec_pos == a->rec_len) {
                                r = rec_fill(a);
                                if (r < 0)
                                        return r;
                        }
                        n = (ssize_t) MIN(a->remaining, (uint64_t) (a->rec_len - a->rec_pos));
                        *ret_buf = a->rec + a->rec_pos;
                        a->rec_pos += (size_t) n;
                        a->remaining -= (uint64_t) n;
                        break;
                }
        }
        if ((uint64_t) n > a->h.target_size - a->produced)
                return BAD(a, "delta for %s: rebuilds more than %llu bytes", a->target,
                           (unsigned long long) a->h.target_size);
        a->produced += (uint64_t) n;
        if (!a->extracting)
                tender_sha256_update(a->hash, *ret_buf, (size_t) n);
        return n;
}

static int applier_init(struct applier *a, int delta_fd, int old_dir_fd,
                        const struct tender_digest *old_diff_id, const struct tender_layer *layer,
                        struct tender_error *err) {
        char want[TENDER_DIGEST_STRING_MAX], got[TENDER_DIGEST_STRING_MAX];
        int r;

        *a = (struct applier){
                .delta_fd = delta_fd, .old_dir_fd = old_dir_fd, .old_fd = -1, .err = err};
        tender_digest_format(&layer->diff_id, a->target);
        if (lseek(delta_fd, 0, SEEK_SET) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "seek delta");
        r = tender_delta_read_header(delta_fd, &a->h, err);
        if (r < 0)
                return tender_error_prefix(err, "delta for %s", a->target);
        if (!tender_digest_equal(&a->h.source, old_diff_id))
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "delta for %s applies to layer %s, not %s", a->target,
                                        tender_digest_format(&a->h.source, got),
                                        tender_digest_format(old_diff_id, want));
        if (!tender_digest_equal(&a->h.target, &layer->diff_id) ||
            a->h.target_size != layer->uncompressed_size)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "delta for %s rebuilds layer %s (%llu bytes) instead",
                                        a->target, tender_digest_format(&a->h.target, got),
                                        (unsigned long long) a->h.target_size);
        a->ds = ZSTD_createDCtx();
        a->in_size = ZSTD_DStreamInSize();
        a->rec_size = ZSTD_DStreamOutSize();
        a->in = malloc(a->in_size);
        a->rec = malloc(a->rec_size);
        a->copy = malloc(COPY_BUFFER_SIZE);
        a->hash = tender_sha256_new();
        if (!a->ds || !a->in || !a->rec || !a->copy || !a->hash)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        /* The window bounds the decoder's memory; a stream asking for more is refused. */
        ZSTD_DCtx_setParameter(a->ds, ZSTD_d_windowLogMax, TENDER_DELTA_STREAM_WINDOW_LOG);
        return 0;
}

static int applier_verify(struct applier *a) {
        struct tender_digest got;
        char gs[TENDER_DIGEST_STRING_MAX];

        if (a->failed)
                return a->failed;
        if (a->st != ST_DONE)
                return BAD(a, "delta for %s: stream not consumed to its END", a->target);
        tender_sha256_final(a->hash, &got);
        if (!tender_digest_equal(&got, &a->h.target))
                return fail(a, tender_error_set(a->err, TENDER_ERR_VERIFY, EBADMSG,
                                                "delta for %s: rebuilt layer has digest %s",
                                                a->target, tender_digest_format(&got, gs)));
        return 0;
}

int tender_delta_rebuild(int delta_fd, int old_dir_fd, const struct tender_digest *old_diff_id,
                         const struct tender_layer *layer, int out_fd, struct tender_error *err) {
        _cleanup_(applier_done) struct applier a;
        const void *buf;
        ssize_t n;
        int r = applier_init(&a, delta_fd, old_dir_fd, old_diff_id, layer, err);
        if (r < 0)
                return r;
        while ((n = produce(&a, &buf)) > 0) {
                const uint8_t *p = buf;
                while (n > 0) {
                        ssize_t k = write(out_fd, p, (size_t) n);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0)
                                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                                              "write rebuilt layer");
                        p += k;
                        n -= k;
                }
        }
        if (n < 0)
                return (int) n;
        return applier_verify(&a);
}

static ssize_t extract_read(void *userdata, const void **ret_buf) {
        return produce(userdata, ret_buf);
}

int tender_delta_apply(int delta_fd, int old_dir_fd, const struct tender_digest *old_diff_id,
                       int dest_fd, const struct tender_layer *layer, struct tender_error *err) {
        _cleanup_(applier_done) struct applier a;
        struct tender_error xerr = {0};
        int r = applier_init(&a, delta_fd, old_dir_fd, old_diff_id, layer, err);
        if (r < 0)
                return r;
        /* Extraction hashes and counts the stream itself, to its very end. */
        a.extracting = true;
        r = tender_layer_extract_source_at(extract_read, &a, dest_fd, layer, NULL, &xerr);
        if (a.failed)
                return a.failed; /* the delta's own error, not extraction's echo of it */
        if (r < 0) {
                if (err)
                        *err = xerr;
                return r;
        }
        if (a.st != ST_DONE)
                return BAD(&a, "delta for %s: stream not consumed to its END", a.target);
        return 0;
}
