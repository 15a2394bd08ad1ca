/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tar walker for the delta generator: where each entry's header and data lie in the stream,
 * and the path extraction gives it. It reads trusted publisher input, and a delta's correctness
 * never depends on it: the generator covers every byte of the new tar with some record, so a
 * misread entry only costs size (its data goes out literally).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "delta_tar.h"
#include "tender/extract.h"

#define BLOCK 512

static uint64_t round_block(uint64_t n) {
        return (n + BLOCK - 1) / BLOCK * BLOCK;
}

/* Octal, or base-256 with the high bit set (GNU, for sizes of 8 GiB and more). */
static bool parse_number(const uint8_t *f, size_t len, uint64_t *ret) {
        uint64_t v = 0;
        if (f[0] & 0x80) {
                v = f[0] & 0x3f;
                for (size_t i = 1; i < len; i++) {
                        if (v >> 56)
                                return false;
                        v = v << 8 | f[i];
                }
                *ret = v;
                return true;
        }
        size_t i = 0;
        while (i < len && f[i] == ' ')
                i++;
        for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
                if (v >> 60)
                        return false;
                v = v * 8 + (uint64_t) (f[i] - '0');
        }
        *ret = v;
        return true;
}

/* Normalizes like extraction: no ".", empty components or trailing slashes. NULL for paths
 * extraction refuses (absolute, ".."), which are then never matched. */
char *delta_tar_normalize(const char *p, size_t len) {
        char *out = malloc(len + 1);
        size_t o = 0;
        if (!out)
                return NULL;
        if (len > 0 && p[0] == '/')
                goto refuse;
        for (size_t i = 0; i < len;) {
                size_t n = 0;
                while (i + n < len && p[i + n] != '/')
                        n++;
                if (n == 2 && p[i] == '.' && p[i + 1] == '.')
                        goto refuse;
                if (memchr(p + i, '\0', n))
                        goto refuse;
                if (n > 0 && !(n == 1 && p[i] == '.')) {
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, p + i, n);
                        o += n;
                }
                i += n + 1;
        }
        if (o == 0 || o > TENDER_EXTRACT_MAX_PATH)
                goto refuse;
        out[o] = '\0';
        return out;
refuse:
        free(out);
        return NULL;
}

/* pax records "<len> key=value\n": path, size, and whether the entry is sparse. */
static void parse_pax(const uint8_t *d, uint64_t size, char **path, uint64_t *psize, bool *has_size,
                      bool *sparse) {
        uint64_t off = 0;
        while (off < size) {
                uint64_t len = 0, i = off;
                while (i < size && d[i] >= '0' && d[i] <= '9' && len < size)
                        len = len * 10 + (uint64_t) (d[i++] - '0');
                if (i >= size || d[i] != ' ' || len == 0 || off + len > size)
                        return;
                const char *kv = (const char *) d + i + 1;
                size_t kvlen = (size_t) (off + len - (i + 1));
                if (kvlen > 0 && kv[kvlen - 1] == '\n')
                        kvlen--;
                if (kvlen >= 5 && memcmp(kv, "path=", 5) == 0) {
                        free(*path);
                        *path = strndup(kv + 5, kvlen - 5);
                } else if (kvlen >= 5 && memcmp(kv, "size=", 5) == 0) {
                        uint64_t v = 0;
                        for (size_t k = 5; k < kvlen && kv[k] >= '0' && kv[k] <= '9'; k++)
                                v = v * 10 + (uint64_t) (kv[k] - '0');
                        *psize = v;
                        *has_size = true;
                } else if (kvlen >= 11 && memcmp(kv, "GNU.sparse.", 11) == 0) {
                        *sparse = true;
                }
                off += len;
        }
}

void delta_tar_free(struct delta_tar *t) {
        for (size_t i = 0; i < t->n; i++)
                free(t->e[i].path);
        free(t->e);
        *t = (struct delta_tar){0};
}

static int push(struct delta_tar *t, const struct delta_tar_entry *e) {
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 256;
                struct delta_tar_entry *n = realloc(t->e, cap * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                t->e = n;
                t->cap = cap;
        }
        t->e[t->n++] = *e;
        return 0;
}

int delta_tar_parse(const uint8_t *map, uint64_t len, struct delta_tar *ret) {
        struct delta_tar t = {0};
        _cleanup_free_ char *long_name = NULL, *pax_path = NULL;
        uint64_t off = 0, meta = 0, pax_size = 0;
        bool has_pax_size = false, sparse = false;
        static const uint8_t zero[BLOCK];

        while (off + BLOCK <= len && t.n < TENDER_EXTRACT_MAX_ENTRIES) {
                const uint8_t *h = map + off;
                uint64_t size;
                if (memcmp(h, zero, BLOCK) == 0)
                        break;
                if (!parse_number(h + 124, 12, &size) || size > len - off - BLOCK)
                        break;
                char type = (char) h[156];
                const uint8_t *data = h + BLOCK;
                uint64_t next = off + BLOCK + round_block(size);
                if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
                        if (type == 'x')
                                parse_pax(data, size, &pax_path, &pax_size, &has_pax_size, &sparse);
                        else if (type == 'L') {
                                free(long_name);
                                long_name = strndup((const char *) data, size);
                        }
                        off = next;
                        continue;
                }
                if (has_pax_size) {
                        size = pax_size;
                        if (size > len - off - BLOCK)
                                break;
                        next = off + BLOCK + round_block(size);
                }
                char name[256 + 2];
                const char *path = pax_path ? pax_path : long_name;
                if (!path) {
                        size_t nl = strnlen((const char *) h, 100), pl = 0;
                        if (memcmp(h + 257, "ustar", 5) == 0)
                                pl = strnlen((const char *) h + 345, 155);
                        size_t o = 0;
                        if (pl) {
                                memcpy(name, h + 345, pl);
                                o = pl;
                                name[o++] = '/';
                        }
                        memcpy(name + o, h, nl);
                        name[o + nl] = '\0';
                        path = name;
                }
                struct delta_tar_entry e = {
                        .meta_off = meta,
                        .data_off = off + BLOCK,
                        .size = size,
                        .type = type,
                        .regular = (type == '0' || type == '\0' || type == '7') && !sparse,
                        .path = delta_tar_normalize(path, strlen(path)),
                };
                if (push(&t, &e) < 0) {
                        free(e.path);
                        delta_tar_free(&t);
                        return -ENOMEM;
                }
                free(TAKE_PTR(long_name));
                free(TAKE_PTR(pax_path));
                has_pax_size = sparse = false;
                off = meta = next;
        }
        t.end = meta;
        *ret = t;
        return 0;
}
