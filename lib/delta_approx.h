/* SPDX-License-Identifier: Apache-2.0 */
/* Approximate matching for the delta generator (lib/delta_approx.c): APPROX records. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Old files larger than this are not indexed (the suffix array takes 4 bytes per old byte). */
#define DELTA_APPROX_MAX_OLD (32u * 1024 * 1024)
/* The matcher's work for one chunk (bytes compared) is capped at this many times the chunk's
 * size (plus DELTA_APPROX_WORK_BASE): inputs that make suffix-array matching quadratic (long
 * runs of one byte, many near-repeats) give up and are patched with zstd instead. */
#define DELTA_APPROX_WORK_PER_BYTE 512
#define DELTA_APPROX_WORK_BASE (16u * 1024 * 1024)

struct delta_approx {
        const uint8_t *old; /* the indexed old file */
        uint64_t old_len;
        int32_t *sa;   /* its suffix array */
        uint64_t work; /* bytes compared by the last encode */
};

/* A growing buffer of serialized records. */
struct delta_buf {
        uint8_t *p;
        size_t len, cap;
};

/* Indexes old[0..len) (at most DELTA_APPROX_MAX_OLD bytes), replacing an earlier index; the
 * old bytes must stay mapped while it is used. -E2BIG when too large, -ENOMEM. */
int delta_approx_index(struct delta_approx *x, const uint8_t *old, uint64_t len);
void delta_approx_free(struct delta_approx *x);

/* Appends to out the APPROX records (type byte included) that make nw[0..n) from the indexed old
 * file, the last one followed by pad zeros; n at most the format's chunk. -E2BIG when the work
 * cap was reached (out is then left as it was), -ENOMEM. */
int delta_approx_encode(struct delta_approx *x, const uint8_t *nw, size_t n, uint16_t pad,
                        struct delta_buf *out);
