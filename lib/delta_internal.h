/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the delta applier and generator: little-endian fields and safe old-file opening. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

static inline uint16_t delta_get16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}
static inline uint32_t delta_get32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
               (uint32_t) p[3] << 24;
}
static inline uint64_t delta_get64(const uint8_t *p) {
        return (uint64_t) delta_get32(p) | (uint64_t) delta_get32(p + 4) << 32;
}
static inline void delta_put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}
static inline void delta_put32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}
static inline void delta_put64(uint8_t *p, uint64_t v) {
        delta_put32(p, (uint32_t) v);
        delta_put32(p + 4, (uint32_t) (v >> 32));
}

/* Paths as extraction writes them: relative, no "", "." or ".." components, no trailing '/'. */
bool delta_old_path_valid(const char *p, size_t len);
/* Opens path (relative, already validated) read-only beneath dirfd without following any
 * symlink (tender_open_beneath). */
int delta_open_beneath(int dirfd, const char *path);

#define DELTA_BLOCK 512

/* Walk order of the old layer (lib/delta_walk.c): < 0, 0, > 0 like strcmp. */
int delta_walk_cmp(const char *a, const char *b);

/* The device's walk of its extracted old layer: every entry, no symlink followed; only
 * directories and regular files can be used by a record. */
#define DELTA_WALK_DIR 'd'
#define DELTA_WALK_FILE 'f'
#define DELTA_WALK_OTHER 'o'
struct delta_walk;
int delta_walk_new(int dirfd, struct delta_walk **ret);
int delta_walk_next(struct delta_walk *w, const char **ret_path, char *ret_type);
void delta_walk_free(struct delta_walk *w);

/* The whole walk as one list, for OPEN_AT (an old file named by its position in the walk):
 * each entry its type, the length it shares with the previous path (u16), the length of the
 * rest (u16) and the rest; every DELTA_INDEX_MARK-th entry shares nothing and its offset is kept,
 * so a lookup decodes at most that many. Both sides build it alike, so the generator knows its
 * size: more than TENDER_DELTA_MAX_INDEX bytes is -E2BIG. */
#define DELTA_INDEX_MARK 64
struct delta_index;
int delta_index_new(struct delta_index **ret);
int delta_index_add(struct delta_index *x, const char *path, char type);
/* Lists the layer under dirfd in walk order into a new index. */
int delta_index_build(int dirfd, struct delta_index **ret);
size_t delta_index_count(const struct delta_index *x);
/* Entry i: its path into path (TENDER_DELTA_MAX_PATH + 1 bytes) and its type; -ENOENT past the
 * end. */
int delta_index_get(const struct delta_index *x, size_t i, char *path, char *ret_type);
void delta_index_free(struct delta_index *x);

/* The generator's view of the walk, from the old tar's entries (sorted by path, the last of
 * each path wins): what extraction leaves on disk, in walk order, with every entry's parent
 * directories. Only directories and plain files can be predicted (hard links are regular files
 * on disk, but their size is not in their header); the others are there to be counted. A
 * whiteout ".wh.x" becomes a device x; ".wh..wh..opq" only marks its directory. */
struct delta_tar_entry;
struct delta_walk_item {
        char *path;
        bool dir;
        const struct delta_tar_entry *e; /* a plain file or directory entry: predictable */
};
struct delta_old_walk {
        struct delta_walk_item *items;
        size_t n;
};
int delta_old_walk_build(struct delta_old_walk *w, const struct delta_tar_entry **all, size_t n);
/* The item of path at or after position lo, NULL if none. */
const struct delta_walk_item *delta_old_walk_lookup(const struct delta_old_walk *w, size_t lo,
                                                    const char *path);
/* 1 if the device's OPEN_AT index of this walk fits TENDER_DELTA_MAX_INDEX, 0 if not, or
 * -errno. */
int delta_old_walk_indexable(const struct delta_old_walk *w);
void delta_old_walk_done(struct delta_old_walk *w);

/* Header prediction, the same on both sides: the template is the last header a FILE or HEADER
 * record made for the same kind of entry (directory or file: layers alternate them), the prefix
 * what preceded that entry's path in its name field ("./"). */
struct delta_hdr_state {
        uint8_t tmpl[2][DELTA_BLOCK];
        char prefix[2][32];
        size_t prefix_len[2];
};
void delta_hdr_predict(const struct delta_hdr_state *s, const char *path, bool dir, uint64_t size,
                       uint8_t out[DELTA_BLOCK]);
void delta_hdr_checksum(uint8_t h[DELTA_BLOCK]);
void delta_hdr_learn(struct delta_hdr_state *s, const uint8_t h[DELTA_BLOCK], const char *path,
                     bool dir);
