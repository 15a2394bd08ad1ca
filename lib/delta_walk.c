/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The old layer as both sides see it (docs/delta-format.md): its files opened safely, its walk
 * (on the device from the extracted layer, in the generator from the old tar), the OPEN_AT
 * index of the whole walk, and header prediction. Format v2's two ways of not sending what the
 * device already has:
 *
 * - The walk: the old layer's entries in one canonical order (depth first,
 *   each directory's names sorted bytewise, a directory before its content). Image builders
 *   write layers in this order, so the next entry of a new layer is usually the next (or a near)
 *   old entry, and a record names it by a small skip instead of by its path.
 * - Header prediction: a tar header is predicted from the previous one with the walked entry's
 *   path and size put in, so that an unchanged file's header costs a few bits.
 *
 * The device walks its extracted old layer (here, never following a symlink, memory bounded by
 * TENDER_DELTA_MAX_LISTING); the generator orders the old tar's entries the same way. Format
 * v4's OPEN_AT names an old file by its position in that walk, looked up in an index of the
 * whole walk (below, bounded by TENDER_DELTA_MAX_INDEX).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delta_internal.h"
#include "delta_tar.h"
#include "tender/delta.h"
#include "tender/fileio.h"
#include "tender/macro.h"

/* ---- opening old files ---- */

/* Paths as extraction writes them: relative, no "", "." or ".." components. */
bool delta_old_path_valid(const char *p, size_t len) {
        if (len == 0 || p[0] == '/' || memchr(p, '\0', len))
                return false;
        for (size_t i = 0; i < len;) {
                size_t n = 0;
                while (i + n < len && p[i + n] != '/')
                        n++;
                if (n == 0 || n > NAME_MAX || (n == 1 && p[i] == '.') ||
                    (n == 2 && p[i] == '.' && p[i + 1] == '.'))
                        return false;
                i += n + 1;
                if (i == len)
                        return false; /* trailing slash */
        }
        return true;
}

int delta_open_beneath(int dirfd, const char *path) {
        return tender_open_beneath(dirfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
}

/* ---- order ---- */

int delta_walk_cmp(const char *a, const char *b) {
        /* Component by component: at the first difference, a component that ends ('/' or the
         * end) sorts first; otherwise bytewise. */
        size_t i = 0;
        while (a[i] && a[i] == b[i])
                i++;
        unsigned char x = (unsigned char) a[i], y = (unsigned char) b[i];
        if (x == y)
                return 0;
        if (x == '\0' || x == '/')
                return y == '\0' ? 1 : -1;
        if (y == '\0' || y == '/')
                return 1;
        return x < y ? -1 : 1;
}

/* ---- header prediction ---- */

static void put_octal(uint8_t *f, size_t digits, uint64_t v) {
        for (size_t i = digits; i-- > 0; v >>= 3)
                f[i] = (uint8_t) ('0' + (v & 7));
        f[digits] = '\0';
}

void delta_hdr_predict(const struct delta_hdr_state *s, const char *path, bool dir, uint64_t size,
                       uint8_t out[DELTA_BLOCK]) {
        size_t pl = strlen(path), xl = s->prefix_len[dir];
        memcpy(out, s->tmpl[dir], DELTA_BLOCK);
        if (xl + pl + dir <= 100) {
                memset(out, 0, 100);
                memcpy(out, s->prefix[dir], xl);
                memcpy(out + xl, path, pl);
                if (dir)
                        out[xl + pl] = '/';
        }
        if (size < (1ull << 33))
                put_octal(out + 124, 11, size);
}

void delta_hdr_checksum(uint8_t h[DELTA_BLOCK]) {
        uint64_t sum = 0;
        memset(h + 148, ' ', 8);
        for (size_t i = 0; i < DELTA_BLOCK; i++)
                sum += h[i];
        put_octal(h + 148, 6, sum & 0777777);
        h[155] = ' ';
}

void delta_hdr_learn(struct delta_hdr_state *s, const uint8_t h[DELTA_BLOCK], const char *path,
                     bool dir) {
        size_t n = strnlen((const char *) h, 100), pl = strlen(path) + dir;
        memcpy(s->tmpl[dir], h, DELTA_BLOCK);
        s->prefix_len[dir] = 0;
        if (n >= pl && n - pl <= sizeof(s->prefix[dir]) && h[345] == '\0' &&
            memcmp(h + n - pl, path, pl - dir) == 0 && (!dir || h[n - 1] == '/')) {
                s->prefix_len[dir] = n - pl;
                memcpy(s->prefix[dir], h, s->prefix_len[dir]);
        }
}

/* ---- the device's walk ---- */

struct level {
        char **names; /* sorted; each name is its type byte (DELTA_WALK_*) then the name */
        size_t n, i;
        size_t path_len; /* length of the directory's path in walk->path */
        size_t bytes;
};

struct delta_walk {
        int dirfd;
        struct level lv[TENDER_DELTA_MAX_PATH / 2 + 1];
        size_t depth; /* levels in use */
        size_t bytes; /* memory held by all levels' listings */
        char path[TENDER_DELTA_MAX_PATH + 2];
        bool started;
};

static void level_free(struct level *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->names[i]);
        free(l->names);
        *l = (struct level){0};
}

void delta_walk_free(struct delta_walk *w) {
        if (!w)
                return;
        for (size_t i = 0; i < w->depth; i++)
                level_free(&w->lv[i]);
        free(w);
}

static int cmp_name(const void *a, const void *b) {
        return strcmp(*(char *const *) a + 1, *(char *const *) b + 1);
}

static int add_name(struct delta_walk *w, struct level *l, size_t *cap, char type,
                    const char *name) {
        size_t len = strlen(name);
        w->bytes += len + 2 + sizeof(char *);
        l->bytes += len + 2 + sizeof(char *);
        if (w->bytes > TENDER_DELTA_MAX_LISTING)
                return -E2BIG;
        if (l->n == *cap) {
                size_t c = *cap ? *cap * 2 : 64;
                char **v = realloc(l->names, c * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                l->names = v;
                *cap = c;
        }
        char *s = malloc(len + 2);
        if (!s)
                return -ENOMEM;
        s[0] = type;
        memcpy(s + 1, name, len + 1);
        l->names[l->n++] = s;
        return 0;
}

/* Lists the directory at w->path (length path_len; 0 = the layer's root) as a new level. */
static int push_level(struct delta_walk *w, size_t path_len) {
        int fd = path_len == 0 ? openat(w->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                               : delta_open_beneath(w->dirfd, w->path);
        if (fd < 0)
                return path_len == 0 ? -errno : fd;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        struct level *l = &w->lv[w->depth++];
        size_t cap = 0;
        int r = 0;
        *l = (struct level){.path_len = path_len};
        struct dirent *de;
        while (r >= 0 && (errno = 0, de = readdir(d))) {
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                unsigned char t = de->d_type;
                if (t == DT_UNKNOWN) {
                        struct stat st;
                        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                                r = -errno;
                                break;
                        }
                        t = S_ISDIR(st.st_mode)   ? DT_DIR
                            : S_ISREG(st.st_mode) ? DT_REG
                                                  : DT_UNKNOWN;
                }
                r = add_name(w, l, &cap, t == DT_DIR ? 'd' : t == DT_REG ? 'f' : 'o', de->d_name);
        }
        if (r >= 0 && errno != 0)
                r = -errno;
        closedir(d);
        if (r < 0)
                return r;
        if (l->n > 1) /* qsort wants a valid pointer even for 0 elements */
                qsort(l->names, l->n, sizeof(*l->names), cmp_name);
        return 0;
}

static void pop_level(struct delta_walk *w) {
        struct level *l = &w->lv[--w->depth];
        w->bytes -= l->bytes;
        level_free(l);
}

int delta_walk_new(int dirfd, struct delta_walk **ret) {
        struct delta_walk *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->dirfd = dirfd;
        *ret = w;
        return 0;
}

/* The next entry in walk order: 1 with *ret_path (valid until the next call) and *ret_type, 0 at
 * the end, or -errno (E2BIG: a listing beyond TENDER_DELTA_MAX_LISTING). */
int delta_walk_next(struct delta_walk *w, const char **ret_path, char *ret_type) {
        if (!w->started) {
                w->started = true;
                int r = push_level(w, 0);
                if (r < 0)
                        return r;
        }
        while (w->depth > 0) {
                struct level *l = &w->lv[w->depth - 1];
                if (l->i == l->n) {
                        pop_level(w);
                        continue;
                }
                const char *e = l->names[l->i++];
                size_t len = strlen(e + 1), at = l->path_len ? l->path_len + 1 : 0;
                if (at + len > TENDER_DELTA_MAX_PATH || w->depth >= ELEMENTSOF(w->lv) - 1)
                        return -ENAMETOOLONG;
                if (l->path_len)
                        w->path[l->path_len] = '/';
                memcpy(w->path + at, e + 1, len + 1);
                *ret_path = w->path;
                *ret_type = e[0];
                if (e[0] == 'd') {
                        /* Its content comes next; listed now, while the path is in place. */
                        int r = push_level(w, at + len);
                        if (r < 0)
                                return r;
                        w->path[at + len] = '\0';
                }
                return 1;
        }
        return 0;
}

/* ---- the whole walk, for OPEN_AT ---- */

struct delta_index {
        uint8_t *buf;
        size_t len, cap;
        uint32_t *marks; /* offset in buf of every DELTA_INDEX_MARK-th entry */
        size_t n;
        char last[TENDER_DELTA_MAX_PATH + 1];
        size_t last_len;
};

int delta_index_new(struct delta_index **ret) {
        *ret = calloc(1, sizeof(**ret));
        return *ret ? 0 : -ENOMEM;
}

void delta_index_free(struct delta_index *x) {
        if (!x)
                return;
        free(x->buf);
        free(x->marks);
        free(x);
}

size_t delta_index_count(const struct delta_index *x) {
        return x->n;
}

static int index_grow(struct delta_index *x, size_t need) {
        size_t marks = (x->n / DELTA_INDEX_MARK + 1) * sizeof(*x->marks);
        if (x->len + need + marks > TENDER_DELTA_MAX_INDEX)
                return -E2BIG;
        if (x->len + need > x->cap) {
                size_t c = MIN(MAX(x->cap * 2, x->len + need + 4096), TENDER_DELTA_MAX_INDEX);
                uint8_t *b = realloc(x->buf, c);
                if (!b)
                        return -ENOMEM;
                x->buf = b;
                x->cap = c;
        }
        if (x->n % DELTA_INDEX_MARK == 0) {
                uint32_t *m = realloc(x->marks, marks);
                if (!m)
                        return -ENOMEM;
                x->marks = m;
                m[x->n / DELTA_INDEX_MARK] = (uint32_t) x->len;
        }
        return 0;
}

int delta_index_add(struct delta_index *x, const char *path, char type) {
        size_t len = strlen(path), shared = 0;
        if (len > TENDER_DELTA_MAX_PATH)
                return -ENAMETOOLONG;
        if (x->n % DELTA_INDEX_MARK != 0)
                while (shared < len && shared < x->last_len && path[shared] == x->last[shared])
                        shared++;
        int r = index_grow(x, 5 + len - shared);
        if (r < 0)
                return r;
        uint8_t *p = x->buf + x->len;
        p[0] = (uint8_t) type;
        delta_put16(p + 1, (uint16_t) shared);
        delta_put16(p + 3, (uint16_t) (len - shared));
        memcpy(p + 5, path + shared, len - shared);
        x->len += 5 + len - shared;
        memcpy(x->last, path, len + 1);
        x->last_len = len;
        x->n++;
        return 0;
}

int delta_index_get(const struct delta_index *x, size_t i, char *path, char *ret_type) {
        if (i >= x->n)
                return -ENOENT;
        const uint8_t *p = x->buf + x->marks[i / DELTA_INDEX_MARK];
        for (size_t k = i - i % DELTA_INDEX_MARK;; k++) {
                size_t shared = delta_get16(p + 1), rest = delta_get16(p + 3);
                memcpy(path + shared, p + 5, rest);
                path[shared + rest] = '\0';
                if (k == i) {
                        *ret_type = (char) p[0];
                        return 0;
                }
                p += 5 + rest;
        }
}

int delta_index_build(int dirfd, struct delta_index **ret) {
        struct delta_walk *w = NULL;
        struct delta_index *x = NULL;
        const char *path;
        char type;
        int r = delta_walk_new(dirfd, &w);
        if (r >= 0)
                r = delta_index_new(&x);
        while (r >= 0 && (r = delta_walk_next(w, &path, &type)) > 0)
                r = delta_index_add(x, path, type);
        delta_walk_free(w);
        if (r < 0) {
                delta_index_free(x);
                return r;
        }
        *ret = x;
        return 0;
}

/* ---- the same walk from the old tar (the generator) ---- */

void delta_old_walk_done(struct delta_old_walk *w) {
        for (size_t i = 0; i < w->n; i++)
                free(w->items[i].path);
        free(w->items);
        *w = (struct delta_old_walk){0};
}

static int old_walk_add(struct delta_old_walk *w, size_t *cap, const char *path, size_t len,
                        bool dir, const struct delta_tar_entry *e) {
        if (w->n == *cap) {
                size_t c = *cap ? *cap * 2 : 256;
                struct delta_walk_item *v = realloc(w->items, c * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                w->items = v;
                *cap = c;
        }
        char *p = strndup(path, len);
        if (!p)
                return -ENOMEM;
        w->items[w->n++] = (struct delta_walk_item){.path = p, .dir = dir, .e = e};
        return 0;
}

static int cmp_walk_item(const void *a, const void *b) {
        const struct delta_walk_item *x = a, *y = b;
        int c = delta_walk_cmp(x->path, y->path);
        return c ? c : (x->e == NULL) - (y->e == NULL); /* predictable entries first */
}

int delta_old_walk_build(struct delta_old_walk *w, const struct delta_tar_entry **all, size_t n) {
        size_t cap = 0, k = 0;
        for (size_t i = 0; i < n; i++) {
                const struct delta_tar_entry *e = all[i];
                const char *base = strrchr(e->path, '/');
                size_t dir_len = base ? (size_t) (base - e->path) : 0;
                int r = 0;
                if (i + 1 < n && STREQ(e->path, all[i + 1]->path))
                        continue;
                base = base ? base + 1 : e->path;
                bool dir = e->type == '5', usable = dir || e->regular;
                if (strncmp(base, ".wh.", 4) != 0)
                        r = old_walk_add(w, &cap, e->path, strlen(e->path), dir, usable ? e : NULL);
                else if (strncmp(base, ".wh..wh.", 8) != 0) {
                        _cleanup_free_ char *p = NULL;
                        if (asprintf(&p, "%.*s%s%s", (int) dir_len, e->path, dir_len ? "/" : "",
                                     base + 4) < 0)
                                return -ENOMEM;
                        r = old_walk_add(w, &cap, p, strlen(p), false, NULL);
                }
                for (const char *p = e->path; r >= 0 && (p = strchr(p, '/')); p++)
                        r = old_walk_add(w, &cap, e->path, (size_t) (p - e->path), true, NULL);
                if (r < 0)
                        return r;
        }
        if (w->n > 1) /* qsort wants a valid pointer even for 0 elements */
                qsort(w->items, w->n, sizeof(*w->items), cmp_walk_item);
        for (size_t i = 0; i < w->n; i++) {
                if (k > 0 && STREQ(w->items[k - 1].path, w->items[i].path)) {
                        free(w->items[i].path);
                        continue;
                }
                w->items[k++] = w->items[i];
        }
        w->n = k;
        return 0;
}

const struct delta_walk_item *delta_old_walk_lookup(const struct delta_old_walk *w, size_t lo,
                                                    const char *path) {
        size_t hi = w->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = delta_walk_cmp(w->items[mid].path, path);
                if (c == 0)
                        return &w->items[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

int delta_old_walk_indexable(const struct delta_old_walk *w) {
        /* Built as the device will, with the types it will see (a non-predictable entry counts
         * as "other": a type changes no size). */
        struct delta_index *x = NULL;
        int r = delta_index_new(&x);
        for (size_t i = 0; r >= 0 && i < w->n; i++)
                r = delta_index_add(x, w->items[i].path,
                                    w->items[i].dir ? DELTA_WALK_DIR
                                    : w->items[i].e ? DELTA_WALK_FILE
                                                    : DELTA_WALK_OTHER);
        delta_index_free(x);
        if (r == -E2BIG || r == -ENAMETOOLONG)
                return 0;
        return r < 0 ? r : 1;
}
