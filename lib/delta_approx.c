/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Approximate matching (APPROX records, docs/delta-format.md), after the idea of Colin
 * Percival's bsdiff: when code moves, most of its bytes stay the same but addresses and offsets
 * inside it change, so exact matches are short while a long *approximate* match (old bytes plus
 * byte-wise differences that are mostly zero) covers the region. A suffix array of the old file
 * finds the longest exact match for each position of the new data; a match is then extended
 * forwards and backwards as long as at least half of the bytes agree. Each region becomes a
 * control (old bytes to take, new bytes to insert, where to read next); the differences and
 * inserted bytes are written as two separate runs that the record stream compresses well.
 *
 * Generator only (trusted input); the work per chunk is capped (DELTA_APPROX_WORK_PER_BYTE).
 */
#include "delta_approx.h"

#include <divsufsort.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "delta_internal.h"
#include "tender/delta.h"

#define CONTROL_SIZE 16 /* u32 add, u32 extra, s64 seek */
#define RECORD_HEAD 11  /* type, u32 out length, u32 count, u16 pad */
#define MIN_GAIN 8      /* a new exact match must beat the current alignment by this much */

struct control {
        uint64_t new_off, old_off; /* where the add range starts in each */
        uint32_t add, extra;
};

struct scan {
        const struct delta_approx *x;
        const uint8_t *nw;
        size_t n;
        uint64_t work, budget;
        struct control *c;
        size_t n_c, cap_c;
};

int delta_approx_index(struct delta_approx *x, const uint8_t *old, uint64_t len) {
        delta_approx_free(x);
        if (len == 0 || len > DELTA_APPROX_MAX_OLD)
                return -E2BIG;
        x->sa = malloc((size_t) len * sizeof(*x->sa));
        if (!x->sa)
                return -ENOMEM;
        if (divsufsort(old, x->sa, (saidx_t) len) != 0) {
                delta_approx_free(x);
                return -ENOMEM;
        }
        x->old = old;
        x->old_len = len;
        return 0;
}

void delta_approx_free(struct delta_approx *x) {
        free(x->sa);
        *x = (struct delta_approx){0};
}

/* Length of the common prefix of a and b, eight bytes at a time. */
static size_t common(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
        size_t n = MIN(an, bn), i = 0;
        for (; i + 8 <= n; i += 8) {
                uint64_t u, v;
                memcpy(&u, a + i, 8);
                memcpy(&v, b + i, 8);
                if (u != v)
                        return i + (size_t) __builtin_ctzll(u ^ v) / 8;
        }
        while (i < n && a[i] == b[i])
                i++;
        return i;
}

/* The longest exact match of p[0..n) in the old file: its length, its old offset in *ret_pos.
 * A binary search over the suffix array; the best match is next to where p would sort. */
static size_t longest(struct scan *s, const uint8_t *p, size_t n, uint64_t *ret_pos) {
        const uint8_t *old = s->x->old;
        size_t len = (size_t) s->x->old_len, lo = 0, hi = len - 1;
        while (hi - lo >= 2) {
                size_t mid = lo + (hi - lo) / 2, off = (size_t) s->x->sa[mid];
                size_t l = common(old + off, len - off, p, n);
                s->work += l + 1;
                if (l < n && (off + l == len || old[off + l] < p[l]))
                        lo = mid;
                else
                        hi = mid;
        }
        size_t a = (size_t) s->x->sa[lo], b = (size_t) s->x->sa[hi];
        size_t la = common(old + a, len - a, p, n), lb = common(old + b, len - b, p, n);
        s->work += la + lb + 2;
        *ret_pos = la >= lb ? a : b;
        return MAX(la, lb);
}

static int push_control(struct scan *s, uint64_t new_off, uint64_t old_off, uint64_t add,
                        uint64_t extra) {
        if (add == 0 && extra == 0)
                return 0;
        if (s->n_c == s->cap_c) {
                size_t cap = s->cap_c ? s->cap_c * 2 : 256;
                struct control *c = realloc(s->c, cap * sizeof(*c));
                if (!c)
                        return -ENOMEM;
                s->c = c;
                s->cap_c = cap;
        }
        s->c[s->n_c++] = (struct control){new_off, old_off, (uint32_t) add, (uint32_t) extra};
        return 0;
}

/* The region between the last match (at last_new/last_old) and the next one (at scan/pos):
 * how far the last match extends forwards and the next one backwards, as approximate matches
 * (more equal bytes than different ones); what lies between is inserted. */
static int emit_region(struct scan *s, uint64_t last_new, uint64_t last_old, uint64_t scan,
                       uint64_t pos, uint64_t *ret_new, uint64_t *ret_old) {
        const uint8_t *old = s->x->old, *nw = s->nw;
        uint64_t olen = s->x->old_len;
        int64_t score = 0, best = 0;
        uint64_t fwd = 0, back = 0;

        for (uint64_t i = 0; last_new + i < scan && last_old + i < olen;) {
                score += old[last_old + i] == nw[last_new + i] ? 1 : -1;
                i++;
                if (score > best) {
                        best = score;
                        fwd = i;
                }
        }
        s->work += fwd;
        if (scan < s->n) {
                score = best = 0;
                for (uint64_t i = 1; scan >= last_new + i && pos >= i; i++) {
                        score += old[pos - i] == nw[scan - i] ? 1 : -1;
                        if (score > best) {
                                best = score;
                                back = i;
                        }
                }
                s->work += back;
        }
        if (last_new + fwd > scan - back) { /* overlap: split where the two agree best */
                uint64_t overlap = last_new + fwd - (scan - back), keep = 0;
                score = best = 0;
                for (uint64_t i = 0; i < overlap; i++) {
                        uint64_t f = last_new + fwd - overlap + i, b = scan - back + i;
                        score += nw[f] == old[last_old + fwd - overlap + i];
                        score -= nw[b] == old[pos - back + i];
                        if (score > best) {
                                best = score;
                                keep = i + 1;
                        }
                }
                fwd = fwd - overlap + keep;
                back -= keep;
        }
        *ret_new = scan - back;
        *ret_old = pos - back;
        return push_control(s, last_new, last_old, fwd, scan - back - (last_new + fwd));
}

/* Finds the controls for the whole new chunk. */
static int scan_chunk(struct scan *s) {
        const uint8_t *old = s->x->old, *nw = s->nw;
        uint64_t olen = s->x->old_len, n = s->n;
        uint64_t scan = 0, pos = 0, len = 0, last_new = 0, last_old = 0;
        int64_t last_shift = 0; /* old offset - new offset of the current alignment */

        while (scan < n) {
                int64_t same = 0; /* bytes the current alignment gets right in the match */
                uint64_t scsc = scan += len;
                for (; scan < n; scan++) {
                        if (s->work > s->budget)
                                return -E2BIG;
                        len = longest(s, nw + scan, n - scan, &pos);
                        for (; scsc < scan + len; scsc++) {
                                uint64_t o = (uint64_t) ((int64_t) scsc + last_shift);
                                same += o < olen && old[o] == nw[scsc];
                        }
                        s->work += len;
                        if (((int64_t) len == same && len != 0) || (int64_t) len > same + MIN_GAIN)
                                break;
                        uint64_t o = (uint64_t) ((int64_t) scan + last_shift);
                        if (o < olen && old[o] == nw[scan])
                                same--;
                }
                if ((int64_t) len == same && scan != n)
                        continue; /* the current alignment is as good: keep it */
                int r = emit_region(s, last_new, last_old, scan, pos, &last_new, &last_old);
                if (r < 0)
                        return r;
                last_shift = (int64_t) pos - (int64_t) scan;
        }
        return 0;
}

static int reserve(struct delta_buf *b, size_t n) {
        if (b->cap - b->len >= n)
                return 0;
        size_t cap = MAX(b->cap * 2, b->len + n);
        uint8_t *p = realloc(b->p, cap);
        if (!p)
                return -ENOMEM;
        b->p = p;
        b->cap = cap;
        return 0;
}

/* One record from controls c[0..k). */
static int write_record(struct scan *s, const struct control *c, size_t k, uint16_t pad,
                        struct delta_buf *out) {
        uint64_t out_len = 0, cursor = 0;
        for (size_t i = 0; i < k; i++)
                out_len += (uint64_t) c[i].add + c[i].extra;
        int r = reserve(out, RECORD_HEAD + k * CONTROL_SIZE + out_len);
        if (r < 0)
                return r;
        uint8_t *p = out->p + out->len;
        p[0] = TENDER_DELTA_APPROX;
        delta_put32(p + 1, (uint32_t) out_len);
        delta_put32(p + 5, (uint32_t) k);
        delta_put16(p + 9, pad);
        p += RECORD_HEAD;
        for (size_t i = 0; i < k; i++, p += CONTROL_SIZE) {
                delta_put32(p, c[i].add);
                delta_put32(p + 4, c[i].extra);
                delta_put64(p + 8, c[i].old_off - cursor); /* two's complement when negative */
                cursor = c[i].old_off + c[i].add;
        }
        for (size_t i = 0; i < k; i++)
                for (uint32_t j = 0; j < c[i].add; j++)
                        *p++ = (uint8_t) (s->nw[c[i].new_off + j] - s->x->old[c[i].old_off + j]);
        for (size_t i = 0; i < k; i++) {
                memcpy(p, s->nw + c[i].new_off + c[i].add, c[i].extra);
                p += c[i].extra;
        }
        out->len = (size_t) (p - out->p);
        return 0;
}

int delta_approx_encode(struct delta_approx *x, const uint8_t *nw, size_t n, uint16_t pad,
                        struct delta_buf *out) {
        struct scan s = {
                .x = x,
                .nw = nw,
                .n = n,
                .budget = (uint64_t) n * DELTA_APPROX_WORK_PER_BYTE + DELTA_APPROX_WORK_BASE,
        };
        size_t start = out->len;
        int r = x->sa && n > 0 ? scan_chunk(&s) : -E2BIG;
        for (size_t i = 0; r >= 0 && i < s.n_c; i += TENDER_DELTA_MAX_CONTROLS) {
                size_t k = MIN(s.n_c - i, (size_t) TENDER_DELTA_MAX_CONTROLS);
                r = write_record(&s, s.c + i, k, i + k == s.n_c ? pad : 0, out);
        }
        x->work = s.work;
        free(s.c);
        if (r < 0)
                out->len = start;
        return r;
}
