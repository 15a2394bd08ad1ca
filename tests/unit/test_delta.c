/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer deltas: round trips through the generator and the applier (rebuilt tar byte for byte,
 * extracted layer), and an applier that refuses what it must: paths out of the old layer,
 * symlinks, ranges past the end, truncated and reordered records, the wrong source layer,
 * a wrong digest; plus a replay of deterministic mutations of a real delta (every one must fail
 * or rebuild the exact layer, never crash; run under ASan by scripts/test).
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* magicless patch frames */
#include <zstd.h>

#include "fixture.h"
#include "tender/delta.h"
#include "tender/fileio.h"
#include "test.h"

struct ent {
        const char *path;
        const char *data; /* NULL: directory */
        size_t len;       /* 0: strlen(data) */
        const char *symlink;
};

struct fx {
        char tmp[PATH_MAX];
        int dir;
        int old_dir;
        struct tender_digest old_id;
        struct tender_layer layer; /* the new layer */
};

static int write_tar(int dirfd, const char *name, const struct ent *e, size_t n) {
        _cleanup_close_ int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        struct archive *a = archive_write_new();
        if (fd < 0 || !a)
                return -EIO;
        archive_write_set_format_pax_restricted(a);
        if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
                return -EIO;
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *x = archive_entry_new();
                size_t len = e[i].data ? (e[i].len ? e[i].len : strlen(e[i].data)) : 0;
                archive_entry_set_pathname(x, e[i].path);
                archive_entry_set_mtime(x, 1700000000, 0);
                if (e[i].symlink) {
                        archive_entry_set_filetype(x, AE_IFLNK);
                        archive_entry_set_symlink(x, e[i].symlink);
                        archive_entry_set_perm(x, 0777);
                } else if (e[i].data) {
                        archive_entry_set_filetype(x, AE_IFREG);
                        archive_entry_set_perm(x, 0644);
                        archive_entry_set_size(x, (la_int64_t) len);
                } else {
                        archive_entry_set_filetype(x, AE_IFDIR);
                        archive_entry_set_perm(x, 0755);
                }
                archive_write_header(a, x);
                if (len)
                        archive_write_data(a, e[i].data, len);
                archive_entry_free(x);
        }
        archive_write_close(a);
        archive_write_free(a);
        return 0;
}

/* No fsync: tests write many files. */
static int write_plain(int dirfd, const char *name, const void *p, size_t n) {
        _cleanup_close_ int fd =
                openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        return fd >= 0 && write(fd, p, n) == (ssize_t) n ? 0 : -EIO;
}

/* The old layer as a device has it: the old tar's files written into <tmp>/old. */
static int write_old_dir(struct fx *f, const struct ent *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (e[i].symlink) {
                        if (symlinkat(e[i].symlink, f->old_dir, e[i].path) < 0)
                                return -errno;
                } else if (!e[i].data) {
                        if (tender_mkdir_p_at(f->old_dir, e[i].path, 0755) < 0)
                                return -EIO;
                } else {
                        size_t len = e[i].len ? e[i].len : strlen(e[i].data);
                        if (write_plain(f->old_dir, e[i].path, e[i].data, len) < 0)
                                return -EIO;
                }
        }
        return 0;
}

static int digest_at(int dirfd, const char *name, struct tender_digest *d, uint64_t *size) {
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : tender_sha256_fd(fd, d, size);
}

static int fx_setup(struct fx *f, const struct ent *old, size_t n_old, const struct ent *new,
                    size_t n_new) {
        *f = (struct fx){.dir = -1, .old_dir = -1};
        const struct fixture_dir *d = fixture_dir("delta");
        if (!d)
                return -EIO;
        snprintf(f->tmp, sizeof(f->tmp), "%s", d->path);
        f->dir = open(f->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (f->dir < 0 || mkdirat(f->dir, "old", 0755) < 0 || mkdirat(f->dir, "new", 0755) < 0)
                return -errno;
        f->old_dir = openat(f->dir, "old", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (f->old_dir < 0)
                return -errno;
        int r = write_tar(f->dir, "old.tar", old, n_old);
        if (r >= 0)
                r = write_tar(f->dir, "new.tar", new, n_new);
        if (r >= 0)
                r = write_old_dir(f, old, n_old);
        if (r >= 0)
                r = digest_at(f->dir, "old.tar", &f->old_id, NULL);
        if (r >= 0)
                r = digest_at(f->dir, "new.tar", &f->layer.diff_id, &f->layer.uncompressed_size);
        return r;
}

static void fx_done(struct fx *f) {
        if (f->dir >= 0)
                close(f->dir);
        if (f->old_dir >= 0)
                close(f->old_dir);
}

static int make_delta(struct fx *f, const struct tender_delta_make_options *o,
                      struct tender_delta_stats *st) {
        _cleanup_close_ int old = openat(f->dir, "old.tar", O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int new = openat(f->dir, "new.tar", O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int out =
                openat(f->dir, "delta", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        struct tender_error err = {0};
        int r = tender_delta_make(old, new, out, o, st, &err);
        if (r < 0)
                fprintf(stderr, "  make: %s\n", err.message);
        return r;
}

/* Rebuilds from <tmp>/<delta> into a memfd and compares it with new.tar. */
static int rebuild(struct fx *f, const char *delta, struct tender_error *err) {
        _cleanup_close_ int d = openat(f->dir, delta, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int out = memfd_create("rebuilt", MFD_CLOEXEC);
        struct tender_digest got;
        if (d < 0 || out < 0)
                return -errno;
        int r = tender_delta_rebuild(d, f->old_dir, &f->old_id, &f->layer, out, err);
        if (r < 0)
                return r;
        if (lseek(out, 0, SEEK_SET) < 0 || tender_sha256_fd(out, &got, NULL) < 0)
                return -EIO;
        return tender_digest_equal(&got, &f->layer.diff_id) ? 0 : -EBADMSG;
}

/* The delta rebuilds new.tar exactly; the applier's error is printed when it does not. */
#define ASSERT_REBUILDS(f, delta)                                                                  \
        do {                                                                                       \
                struct tender_error _e = {0};                                                      \
                int _rb = rebuild(f, delta, &_e);                                                  \
                if (_rb < 0)                                                                       \
                        fprintf(stderr, "  %s\n", _e.message);                                     \
                ASSERT_OK(_rb);                                                                    \
        } while (0)

static char *pattern(size_t len, unsigned seed) {
        char *p = malloc(len);
        uint32_t x = seed * 2654435761u + 1;
        for (size_t i = 0; p && i < len; i++) {
                x = x * 1103515245u + 12345u;
                /* text-like: a small alphabet, so it compresses a little, like real files */
                p[i] = (char) ('a' + (x >> 16) % 23);
        }
        return p;
}

TEST(round_trip_copy_patch_rename_literal) {
        size_t big = 3 * 1024 * 1024 + 123;
        _cleanup_free_ char *a = pattern(big, 1), *b = pattern(big + 40, 1), *c = pattern(5000, 2),
                            *lit = pattern(7000, 3);
        memcpy(b, a, big / 2);
        memcpy(b + big / 2, "INSERTED-BYTES-INSERTED-BYTES-INSERTED!!", 40);
        memcpy(b + big / 2 + 40, a + big / 2, big - big / 2);
        b[100] ^= 1;
        const struct ent old[] = {
                {"usr", NULL, 0, NULL},
                {"usr/big.bin", a, big, NULL},
                {"usr/same", "same content", 0, NULL},
                {"usr/libfoo.so.1.2", c, 5000, NULL},
                {"usr/moved-from", "moving content here", 0, NULL},
        };
        char c2[5000];
        memcpy(c2, c, sizeof(c2));
        memcpy(c2 + 2000, "changed", 7);
        const struct ent new[] = {
                {"usr", NULL, 0, NULL},
                {"usr/big.bin", b, big + 40, NULL},
                {"usr/same", "same content", 0, NULL},
                {"usr/libfoo.so.1.3", c2, sizeof(c2), NULL},
                {"usr/elsewhere/moved-to", "moving content here", 0, NULL},
                {"usr/new-file", lit, 7000, NULL},
                {"usr/link", NULL, 0, "same"},
        };
        struct fx f;
        struct tender_delta_stats st;
        struct tender_error err = {0};
        ASSERT_OK(fx_setup(&f, old, ELEMENTSOF(old), new, ELEMENTSOF(new)));
        ASSERT_OK(make_delta(&f, NULL, &st));
        ASSERT_EQ(st.files, 5);
        ASSERT_EQ(st.copied, 1);
        ASSERT_EQ(st.renamed, 1);
        ASSERT_EQ(st.patched, 2); /* big.bin by path, libfoo by name stem */
        ASSERT_EQ(st.literal, 1);
        ASSERT_EQ(st.opened_at, 2);         /* moved-from, libfoo.so.1.2: by their walk positions */
        ASSERT_TRUE(st.delta_size < 12000); /* the 7000 literal bytes dominate */
        ASSERT_REBUILDS(&f, "delta");

        /* Extracted: the same files as the new tar. */
        _cleanup_close_ int d = openat(f.dir, "delta", O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int nd = openat(f.dir, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_OK(tender_delta_apply(d, f.old_dir, &f.old_id, nd, &f.layer, &err));
        _cleanup_free_ char *data = NULL;
        size_t len;
        ASSERT_OK(tender_read_file_at(nd, "usr/elsewhere/moved-to", 1024, &data, &len));
        ASSERT_EQ(len, strlen("moving content here"));
        free(TAKE_PTR(data));
        ASSERT_OK(tender_read_file_at(nd, "usr/big.bin", big + 100, &data, &len));
        ASSERT_EQ(len, big + 40);
        ASSERT_TRUE(memcmp(data, b, len) == 0);
        fx_done(&f);
}

/* ---- hand-made deltas ---- */

struct rec {
        uint8_t b[32768];
        size_t n;
};

static void put(struct rec *r, const void *p, size_t n) {
        memcpy(r->b + r->n, p, n);
        r->n += n;
}
static void put_open(struct rec *r, const char *path) {
        uint8_t h[3] = {TENDER_DELTA_OPEN, (uint8_t) strlen(path), (uint8_t) (strlen(path) >> 8)};
        put(r, h, 3);
        put(r, path, strlen(path));
}
static void put_open_at(struct rec *r, uint32_t i) {
        put(r,
            (uint8_t[]){TENDER_DELTA_OPEN_AT, (uint8_t) i, (uint8_t) (i >> 8), (uint8_t) (i >> 16),
                        (uint8_t) (i >> 24)},
            5);
}
static void put_copy(struct rec *r, uint64_t off, uint64_t len) {
        uint8_t h[17] = {TENDER_DELTA_COPY};
        for (int i = 0; i < 8; i++) {
                h[1 + i] = (uint8_t) (off >> (8 * i));
                h[9 + i] = (uint8_t) (len >> (8 * i));
        }
        put(r, h, 17);
}
static void put_data(struct rec *r, const void *p, uint32_t len) {
        uint8_t h[5] = {TENDER_DELTA_DATA, (uint8_t) len, (uint8_t) (len >> 8),
                        (uint8_t) (len >> 16), (uint8_t) (len >> 24)};
        put(r, h, 5);
        put(r, p, len);
}
/* FILE or HEADER: skip old entries, then the predicted header with one edit (none if n == 0). */
static void put_walk(struct rec *r, uint8_t type, uint32_t skip, uint16_t off, const void *p,
                     uint8_t n) {
        uint8_t h[6] = {type,
                        (uint8_t) skip,
                        (uint8_t) (skip >> 8),
                        (uint8_t) (skip >> 16),
                        (uint8_t) (skip >> 24),
                        n ? 1 : 0};
        put(r, h, 6);
        if (n) {
                put(r, (uint8_t[]){(uint8_t) off, (uint8_t) (off >> 8), n}, 3);
                put(r, p, n);
        }
}
static void put_end(struct rec *r) {
        put(r, (uint8_t[]){TENDER_DELTA_END}, 1);
}

/* Writes <tmp>/hand: a header (source, the new layer as target) and the records compressed. */
static int write_hand(struct fx *f, const struct tender_digest *source, const struct rec *r,
                      uint32_t window) {
        uint8_t h[TENDER_DELTA_HEADER_SIZE] = {0}, z[40000];
        memcpy(h, TENDER_DELTA_MAGIC, 8);
        h[8] = TENDER_DELTA_VERSION;
        memcpy(h + 16, source->bytes, 32);
        memcpy(h + 48, f->layer.diff_id.bytes, 32);
        for (int i = 0; i < 8; i++)
                h[80 + i] = (uint8_t) (f->layer.uncompressed_size >> (8 * i));
        for (int i = 0; i < 4; i++) {
                h[88 + i] = (uint8_t) (window >> (8 * i));
                h[92 + i] = (uint8_t) (TENDER_DELTA_MAX_CHUNK >> (8 * i));
        }
        size_t zn = ZSTD_compress(z, sizeof(z), r->b, r->n, 3);
        if (ZSTD_isError(zn))
                return -EIO;
        _cleanup_close_ int fd =
                openat(f->dir, "hand", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, h, sizeof(h)) != sizeof(h) || write(fd, z, zn) != (ssize_t) zn)
                return -EIO;
        return 0;
}

static const struct ent simple_old[] = {
        {"etc", NULL, 0, NULL},
        {"etc/conf", "0123456789", 0, NULL},
        {"link", NULL, 0, "/etc/passwd"},
        {"dirlink", NULL, 0, "etc"},
};
static const struct ent simple_new[] = {{"etc/conf", "0123456789abc", 0, NULL}};

#define HAND_FAILS(f, rec, window, errnum, needle)                                                 \
        do {                                                                                       \
                struct tender_error _e = {0};                                                      \
                ASSERT_OK(write_hand(f, &(f)->old_id, rec, window));                               \
                ASSERT_ERR(rebuild(f, "hand", &_e), errnum);                                       \
                ASSERT_CONTAINS(_e.message, needle);                                               \
        } while (0)

TEST(refuses_paths_out_of_the_old_layer) {
        struct fx f;
        ASSERT_OK(fx_setup(&f, simple_old, ELEMENTSOF(simple_old), simple_new, 1));
        const char *bad[] = {"../etc/passwd", "/etc/passwd", "etc/../../x",
                             "etc//conf",     "./etc",       "etc/conf/"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct rec r = {.n = 0};
                put_open(&r, bad[i]);
                put_copy(&r, 0, 1);
                put_end(&r);
                HAND_FAILS(&f, &r, 0, EBADMSG, "refused");
        }
        fx_done(&f);
}

TEST(refuses_symlinks_and_non_files) {
        struct fx f;
        ASSERT_OK(fx_setup(&f, simple_old, ELEMENTSOF(simple_old), simple_new, 1));
        const char *bad[] = {"link", "dirlink/conf"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct rec r = {.n = 0};
                put_open(&r, bad[i]);
                put_copy(&r, 0, 1);
                put_end(&r);
                HAND_FAILS(&f, &r, 0, ELOOP, bad[i]);
        }
        struct rec r = {.n = 0};
        put_open(&r, "etc");
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EINVAL, "not a regular file");
        r.n = 0;
        put_open(&r, "missing");
        put_end(&r);
        HAND_FAILS(&f, &r, 0, ENOENT, "missing");
        fx_done(&f);
}

/* OPEN_AT names an old file by its position in the walk: only a regular file inside the walk. */
TEST(open_at_refuses_what_is_not_an_old_file) {
        struct fx f;
        ASSERT_OK(fx_setup(&f, simple_old, ELEMENTSOF(simple_old), simple_new, 1));
        /* The walk: dirlink (symlink), etc, etc/conf, link (symlink). */
        const struct {
                uint32_t at;
                int errnum;
                const char *needle;
        } bad[] = {
                {0, EINVAL, "old entry 0 (dirlink) is not a regular file"},
                {1, EINVAL, "old entry 1 (etc) is not a regular file"},
                {3, EINVAL, "old entry 3 (link) is not a regular file"},
                {4, ESTALE, "old entry 4 past the old layer's 4 entries"},
                {UINT32_MAX, ESTALE, "past the old layer's 4 entries"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct rec r = {.n = 0};
                put_open_at(&r, bad[i].at);
                put_end(&r);
                HAND_FAILS(&f, &r, 0, bad[i].errnum, bad[i].needle);
        }
        /* Entry 2 is etc/conf (10 bytes): selected, so a range past its end names it. */
        struct rec r = {.n = 0};
        put_open_at(&r, 2);
        put_copy(&r, 0, 11);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "past the end of etc/conf");
        fx_done(&f);
}

/* Layers of n files d/<i>.<pad x's>: moved files are found by walk position far past the
 * first DELTA_INDEX_MARK entries; a listing over TENDER_DELTA_MAX_INDEX makes the generator
 * name them by path instead, and the applier refuses an OPEN_AT there. */
static void open_at_layers(size_t n, size_t pad, bool fits) {
        size_t cap = n + 4;
        _cleanup_free_ struct ent *old = calloc(cap, sizeof(*old)),
                                  *new = calloc(cap, sizeof(*new));
        _cleanup_free_ char *names = calloc(n, 256), *datas = calloc(n, 32);
        ASSERT_TRUE(old && new &&names &&datas);
        size_t no = 0, nn = 0;
        old[no++] = new[nn++] = (struct ent){"d", NULL, 0, NULL};
        for (size_t i = 0; i < n; i++) {
                char *name = names + i * 256, *data = datas + i * 32;
                snprintf(
                        name, 256, "d/%05zu.%.*s", i, (int) pad,
                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
                snprintf(data, 32, "content of file %zu", i);
                old[no++] = (struct ent){name, data, 0, NULL};
                if (i != n - 10 && i != 10)
                        new[nn++] = old[no - 1];
        }
        /* Two files move out of d: from the end of the walk and from its start. */
        new[nn++] = (struct ent){"e", NULL, 0, NULL};
        new[nn++] = (struct ent){"e/moved-late", datas + (n - 10) * 32, 0, NULL};
        new[nn++] = (struct ent){"e/moved-early", datas + 10 * 32, 0, NULL};
        struct fx f;
        struct tender_delta_stats st;
        ASSERT_OK(fx_setup(&f, old, no, new, nn));
        ASSERT_OK(make_delta(&f, NULL, &st));
        ASSERT_EQ(st.renamed, 2);
        ASSERT_EQ(st.opened_at, fits ? 2 : 0);
        ASSERT_REBUILDS(&f, "delta");
        if (!fits) {
                struct rec rr = {.n = 0};
                put_open_at(&rr, 1);
                put_end(&rr);
                HAND_FAILS(&f, &rr, 0, E2BIG, "listing is over");
        }
        fx_done(&f);
}

TEST(open_at_far_in_the_walk) {
        open_at_layers(700, 8, true);
}

TEST(open_at_not_past_the_index_bound) {
        /* 5000 entries of ~220 bytes that share 7: over 1 MiB front-coded. */
        open_at_layers(5000, 212, false);
}

TEST(refuses_bad_ranges_and_order) {
        struct fx f;
        ASSERT_OK(fx_setup(&f, simple_old, ELEMENTSOF(simple_old), simple_new, 1));
        struct rec r = {.n = 0};
        put_copy(&r, 0, 4); /* before any OPEN */
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "before an OPEN");
        r.n = 0;
        put_open(&r, "etc/conf");
        put_copy(&r, 5, 6); /* 10 bytes long */
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "past the end");
        r.n = 0;
        put_open(&r, "etc/conf");
        put_copy(&r, UINT64_MAX, 2); /* wraps */
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "past the end");
        r.n = 0;
        put_data(&r, "x", 1);
        put_end(&r); /* far fewer bytes than the target */
        HAND_FAILS(&f, &r, 0, EBADMSG, "expected");
        r.n = 0;
        put_end(&r);
        put_data(&r, "x", 1); /* after END */
        HAND_FAILS(&f, &r, 0, EBADMSG, "after END");
        r.n = 0;
        put(&r, (uint8_t[]){0x42}, 1);
        HAND_FAILS(&f, &r, 0, EBADMSG, "unknown record");
        r.n = 0;
        put_data(&r, "x", 1); /* no END */
        HAND_FAILS(&f, &r, 0, EBADMSG, "truncated");
        r.n = 0;
        put_end(&r);
        HAND_FAILS(&f, &r, TENDER_DELTA_MAX_WINDOW + 1, E2BIG, "window");
        fx_done(&f);
}

/* A patch frame as the generator makes it: magicless, no content size, old bytes as prefix. */
static size_t patch_frame(const char *old, const char *new, uint8_t *out, size_t size) {
        ZSTD_CCtx *c = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(c, ZSTD_c_format, ZSTD_f_zstd1_magicless);
        ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
        ZSTD_CCtx_refPrefix(c, old, strlen(old));
        size_t n = ZSTD_compress2(c, out, size, new, strlen(new));
        ZSTD_freeCCtx(c);
        return ZSTD_isError(n) ? 0 : n;
}

static void put_patch_file(struct rec *r, uint32_t out_len, uint32_t frame_len, const void *frame,
                           size_t n) {
        uint8_t h[9] = {TENDER_DELTA_PATCH_FILE};
        for (int i = 0; i < 4; i++) {
                h[1 + i] = (uint8_t) (out_len >> (8 * i));
                h[5 + i] = (uint8_t) (frame_len >> (8 * i));
        }
        put(r, h, 9);
        put(r, frame, n);
}

/* Patch frames are decoded as the record stream gives them (no frame buffer): a frame longer or
 * shorter than its record says, or giving more or fewer bytes, is refused; a good one gives its
 * bytes and the stream goes on after it. */
TEST(refuses_bad_patch_frames) {
        struct fx f;
        uint8_t frame[256];
        ASSERT_OK(fx_setup(&f, simple_old, ELEMENTSOF(simple_old), simple_new, 1));
        size_t n = patch_frame("0123456789", "0123456789abc", frame, sizeof(frame));
        ASSERT_TRUE(n > 0);
        struct rec r = {.n = 0};
        put_open(&r, "etc/conf");
        put_patch_file(&r, 13, (uint32_t) n, frame, n);
        put_end(&r); /* good: only the target's size is missed */
        HAND_FAILS(&f, &r, 4096, EBADMSG, "rebuilt 13 bytes");
        r.n = 0;
        put_open(&r, "etc/conf");
        put_patch_file(&r, 13, (uint32_t) n + 1, frame, n);
        put(&r, "x", 1); /* a byte the frame does not need */
        put_end(&r);
        HAND_FAILS(&f, &r, 4096, EBADMSG, "frame shorter than its record");
        r.n = 0;
        put_open(&r, "etc/conf");
        put_patch_file(&r, 13, (uint32_t) n - 1, frame, n - 1); /* cut */
        put_end(&r);
        HAND_FAILS(&f, &r, 4096, EBADMSG, "etc/conf");
        r.n = 0;
        put_open(&r, "etc/conf");
        put_patch_file(&r, 12, (uint32_t) n, frame, n);
        put_end(&r);
        HAND_FAILS(&f, &r, 4096, EBADMSG, "etc/conf");
        r.n = 0;
        put_open(&r, "etc/conf");
        put_patch_file(&r, 14, (uint32_t) n, frame, n);
        put_end(&r);
        HAND_FAILS(&f, &r, 4096, EBADMSG, "gives 13 bytes, not 14");
        r.n = 0;
        put_open(&r, "etc/conf");
        put_patch_file(&r, 13, 0, frame, 0);
        put_end(&r);
        HAND_FAILS(&f, &r, 4096, EBADMSG, "gives 0 bytes, not 13");
        fx_done(&f);
}

/* Unchanged files and directories cost a FILE record each, found by walking the old layer. */
TEST(walk_predicts_headers) {
        enum { N = 60 };
        struct ent old[N + 2], new[N + 2];
        char names[N][32];
        old[0] = new[0] = (struct ent){"srv", NULL, 0, NULL};
        old[1] = new[1] = (struct ent){"srv/app", NULL, 0, NULL};
        for (int i = 0; i < N; i++) {
                snprintf(names[i], sizeof(names[i]), "srv/app/file-%02d.conf", i);
                old[i + 2] = new[i + 2] = (struct ent){names[i], names[i], 0, NULL};
        }
        new[2 + 7].data = "changed content, longer than it was";
        struct fx f;
        struct tender_delta_stats st;
        struct tender_error err = {0};
        ASSERT_OK(fx_setup(&f, old, N + 2, new, N + 2));
        ASSERT_OK(make_delta(&f, NULL, &st));
        ASSERT_EQ(st.predicted_headers, N + 2);
        ASSERT_EQ(st.literal_headers, 0);
        ASSERT_EQ(st.copied, N - 1);
        /* Names are not sent: far less than a byte of name per file. */
        ASSERT_TRUE(st.delta_size < TENDER_DELTA_HEADER_SIZE + 200);
        ASSERT_OK(rebuild(&f, "delta", &err));

        /* An old file gone: the walk reaches the next one instead; refused, never wrong. */
        ASSERT_OK(unlinkat(f.old_dir, "srv/app/file-30.conf", 0));
        ASSERT_TRUE(rebuild(&f, "delta", &err) < 0);
        /* An old file replaced by a symlink: not followed, named. */
        ASSERT_OK(write_plain(f.old_dir, "srv/app/file-30.conf", names[30], strlen(names[30])));
        ASSERT_OK(unlinkat(f.old_dir, "srv/app/file-20.conf", 0));
        ASSERT_OK(symlinkat("file-21.conf", f.old_dir, "srv/app/file-20.conf"));
        ASSERT_ERR(rebuild(&f, "delta", &err), EINVAL);
        ASSERT_CONTAINS(err.message, "srv/app/file-20.conf");
        fx_done(&f);
}

TEST(refuses_bad_walk_records) {
        struct fx f;
        ASSERT_OK(fx_setup(&f, simple_old, ELEMENTSOF(simple_old), simple_new, 1));
        struct rec r = {.n = 0};
        /* walk order: dirlink, etc, etc/conf, link */
        put_walk(&r, TENDER_DELTA_FILE, 4, 0, NULL, 0);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, ESTALE, "fewer entries");
        r.n = 0;
        put_walk(&r, TENDER_DELTA_HEADER, 0, 0, NULL, 0); /* dirlink: a symlink */
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EINVAL, "dirlink");
        r.n = 0;
        put_walk(&r, TENDER_DELTA_HEADER, 2, 510, "xyz", 3);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "outside the header");
        r.n = 0;
        put_walk(&r, TENDER_DELTA_FILE, UINT32_MAX, 0, NULL, 0);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "skips");
        r.n = 0;
        /* A directory selects no old file: a COPY after it has nothing to read. */
        put_walk(&r, TENDER_DELTA_HEADER, 1, 0, NULL, 0);
        put_copy(&r, 0, 1);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "before an OPEN");
        r.n = 0;
        put_walk(&r, TENDER_DELTA_HEADER, 1, 0, NULL, 0);
        put(&r, (uint8_t[]){TENDER_DELTA_PATCH_FILE, 1, 0, 0, 0, 1, 0, 0, 0, 0}, 10);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "before an OPEN");
        fx_done(&f);
}

TEST(refuses_wrong_source_and_too_much_output) {
        struct fx f;
        struct tender_error err = {0};
        ASSERT_OK(fx_setup(&f, simple_old, ELEMENTSOF(simple_old), simple_new, 1));
        struct rec r = {.n = 0};
        put_end(&r);
        ASSERT_OK(write_hand(&f, &f.layer.diff_id, &r, 0)); /* names another source */
        ASSERT_ERR(rebuild(&f, "hand", &err), EINVAL);
        ASSERT_CONTAINS(err.message, "applies to layer");

        /* More output than the target size: stopped at the size, before END. */
        static char zeros[TENDER_DELTA_MAX_DATA];
        _cleanup_close_ int fd = openat(f.dir, "hand", O_WRONLY | O_TRUNC | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        uint8_t h[TENDER_DELTA_HEADER_SIZE] = {0};
        memcpy(h, TENDER_DELTA_MAGIC, 8);
        h[8] = TENDER_DELTA_VERSION;
        memcpy(h + 16, f.old_id.bytes, 32);
        memcpy(h + 48, f.layer.diff_id.bytes, 32);
        for (int i = 0; i < 8; i++)
                h[80 + i] = (uint8_t) (f.layer.uncompressed_size >> (8 * i));
        size_t n = 0;
        uint8_t *recs = malloc(4 * (sizeof(zeros) + 5) + 1);
        for (int i = 0; i < 4; i++) {
                recs[n] = TENDER_DELTA_DATA;
                recs[n + 1] = 0, recs[n + 2] = 0, recs[n + 3] = 0x10, recs[n + 4] = 0;
                memset(recs + n + 5, 0, sizeof(zeros));
                n += 5 + sizeof(zeros);
        }
        recs[n++] = TENDER_DELTA_END;
        size_t cap = ZSTD_compressBound(n);
        uint8_t *z = malloc(cap);
        /* One shot, the frame's window is its 4 MiB content: over the stream's bound, refused
         * before anything is decoded. */
        size_t zn = ZSTD_compress(z, cap, recs, n, 3);
        ASSERT_EQ(write(fd, h, sizeof(h)), (ssize_t) sizeof(h));
        ASSERT_EQ(write(fd, z, zn), (ssize_t) zn);
        ASSERT_ERR(rebuild(&f, "hand", &err), EBADMSG);
        ASSERT_CONTAINS(err.message, "record stream");
        /* Within the stream's window, as the generator writes it: the applier must refuse the
         * output, not the frame. */
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, TENDER_DELTA_STREAM_WINDOW_LOG);
        zn = ZSTD_compress2(cc, z, cap, recs, n);
        ZSTD_freeCCtx(cc);
        ASSERT_TRUE(!ZSTD_isError(zn));
        ASSERT_OK(ftruncate(fd, 0));
        ASSERT_EQ(pwrite(fd, h, sizeof(h), 0), (ssize_t) sizeof(h));
        ASSERT_EQ(pwrite(fd, z, zn, sizeof(h)), (ssize_t) zn);
        free(recs);
        free(z);
        ASSERT_ERR(rebuild(&f, "hand", &err), EBADMSG);
        ASSERT_CONTAINS(err.message, "more than");
        fx_done(&f);
}

/* A stream that is a good tar but not the signed one: extracted, then refused and emptied. */
TEST(apply_discards_a_wrong_layer) {
        const struct ent other[] = {{"evil", "not the signed layer", 0, NULL}};
        struct fx f;
        struct tender_error err = {0};
        ASSERT_OK(fx_setup(&f, simple_old, ELEMENTSOF(simple_old), other, 1));
        ASSERT_OK(make_delta(&f, NULL, NULL));
        /* The signed layer is simple_new: same size class, other digest. */
        tender_sha256_buffer("something else", 14, &f.layer.diff_id);
        _cleanup_close_ int d = openat(f.dir, "delta", O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int nd = openat(f.dir, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_ERR(tender_delta_apply(d, f.old_dir, &f.old_id, nd, &f.layer, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "rebuilds layer");
        fx_done(&f);
}

/* The right size, a wrong byte: extracted, then refused by digest, and nothing stays. */
TEST(apply_discards_a_wrong_digest) {
        struct fx f;
        struct tender_error err = {0};
        _cleanup_free_ char *tar = NULL;
        size_t len;
        ASSERT_OK(fx_setup(&f, simple_old, ELEMENTSOF(simple_old), simple_new, 1));
        ASSERT_OK(tender_read_file_at(f.dir, "new.tar", 1 << 20, &tar, &len));
        char *p = memmem(tar, len, "0123456789abc", 13);
        ASSERT_TRUE(p != NULL);
        p[3] = 'X';
        uint8_t *recs = malloc(len + 64 * 5 + 1);
        size_t n = 0;
        for (size_t off = 0; off < len; off += 4000) {
                uint32_t k = (uint32_t) (len - off < 4000 ? len - off : 4000);
                recs[n] = TENDER_DELTA_DATA;
                recs[n + 1] = (uint8_t) k, recs[n + 2] = (uint8_t) (k >> 8);
                recs[n + 3] = recs[n + 4] = 0;
                memcpy(recs + n + 5, tar + off, k);
                n += 5 + k;
        }
        recs[n++] = TENDER_DELTA_END;
        uint8_t h[TENDER_DELTA_HEADER_SIZE] = {0};
        memcpy(h, TENDER_DELTA_MAGIC, 8);
        h[8] = TENDER_DELTA_VERSION;
        memcpy(h + 16, f.old_id.bytes, 32);
        memcpy(h + 48, f.layer.diff_id.bytes, 32);
        for (int i = 0; i < 8; i++)
                h[80 + i] = (uint8_t) (f.layer.uncompressed_size >> (8 * i));
        size_t cap = ZSTD_compressBound(n);
        uint8_t *z = malloc(cap);
        size_t zn = ZSTD_compress(z, cap, recs, n, 3);
        free(recs);
        _cleanup_close_ int fd = openat(f.dir, "bad", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_EQ(write(fd, h, sizeof(h)), (ssize_t) sizeof(h));
        ASSERT_EQ(write(fd, z, zn), (ssize_t) zn);
        free(z);
        _cleanup_close_ int nd = openat(f.dir, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_ERR(tender_delta_apply(fd, f.old_dir, &f.old_id, nd, &f.layer, &err), EBADMSG);
        ASSERT_CONTAINS(err.message, "mismatch");
        ASSERT_ERR(faccessat(nd, "etc", F_OK, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0, ENOENT);
        fx_done(&f);
}

/* ---- APPROX: approximate matches for binaries ---- */

/* Machine-code-like bytes: an opcode-ish byte pattern with a 4-byte little-endian "address"
 * every 16 bytes. The new version has a block inserted in the middle, after which every address
 * moved by 0x40: exact matches are at most 12 bytes long, approximate ones span everything. */
static uint8_t *code(size_t len, bool shifted, size_t insert_at, size_t insert_len) {
        uint8_t *p = malloc(len + insert_len);
        uint32_t x = 99, y = 7;
        size_t o = 0;
        for (size_t i = 0; p && i < len; i++) {
                if (shifted && i == insert_at)
                        for (size_t k = 0; k < insert_len; k++) {
                                y = y * 1103515245u + 12345u;
                                p[o++] = (uint8_t) (y >> 16);
                        }
                if (i % 16 < 12) {
                        x = x * 1103515245u + 12345u;
                        p[o++] = (uint8_t) ((x >> 16) % 7 + 0x40 * (i % 3));
                        continue;
                }
                uint32_t addr =
                        (uint32_t) (0x400000 + i * 8 + (shifted && i >= insert_at ? 0x40 : 0));
                p[o++] = (uint8_t) (addr >> (8 * (i % 16 - 12)));
        }
        return p;
}

TEST(approx_round_trip_binaries) {
        size_t len = 200 * 1024, ins = 300;
        _cleanup_free_ uint8_t *a = code(len, false, 0, 0), *b = code(len, true, len / 2, ins);
        _cleanup_free_ uint8_t *c = code(len / 4, false, 0, 0), *d = code(len / 4, true, 7, 5);
        const struct ent old[] = {
                {"bin", NULL, 0, NULL},
                {"bin/app", (const char *) a, len, NULL},
                {"bin/tool", (const char *) c, len / 4, NULL},
        };
        const struct ent new[] = {
                {"bin", NULL, 0, NULL},
                {"bin/app", (const char *) b, len + ins, NULL},
                {"bin/tool", (const char *) d, len / 4 + 5, NULL},
        };
        struct fx f;
        struct tender_delta_stats st, zst;
        struct tender_error err = {0};
        ASSERT_OK(fx_setup(&f, old, ELEMENTSOF(old), new, ELEMENTSOF(new)));
        /* Only zstd patches first, for comparison. */
        ASSERT_OK(make_delta(&f, &(struct tender_delta_make_options){.no_approx = true}, &zst));
        ASSERT_EQ(zst.approx_bytes, 0);
        ASSERT_OK(rebuild(&f, "delta", &err));
        /* Chunks of 64 KiB: several APPROX records for one file, each within the limits. */
        ASSERT_OK(make_delta(&f, &(struct tender_delta_make_options){.chunk = 64 * 1024}, &st));
        fprintf(stderr, "  approx %llu bytes, zstd patches only %llu\n",
                (unsigned long long) st.delta_size, (unsigned long long) zst.delta_size);
        ASSERT_EQ(st.patched, 2);
        ASSERT_TRUE(st.approx_bytes > len / 2); /* the first chunk, unchanged, is copied */
        ASSERT_TRUE(st.delta_size * 4 < zst.delta_size);
        ASSERT_REBUILDS(&f, "delta");
        _cleanup_close_ int dfd = openat(f.dir, "delta", O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int nd = openat(f.dir, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_OK(tender_delta_apply(dfd, f.old_dir, &f.old_id, nd, &f.layer, &err));
        _cleanup_free_ char *data = NULL;
        size_t got;
        ASSERT_OK(tender_read_file_at(nd, "bin/app", len + ins + 1, &data, &got));
        ASSERT_EQ(got, len + ins);
        ASSERT_TRUE(memcmp(data, b, got) == 0);

        /* The old file changed on the device: shorter, the patch reads past its end. */
        ASSERT_OK(write_plain(f.old_dir, "bin/app", a, len / 3));
        ASSERT_ERR(rebuild(&f, "delta", &err), EBADMSG);
        ASSERT_CONTAINS(err.message, "bin/app");
        fx_done(&f);
}

/* APPROX with one control triple; diff and extra are the record's two runs. */
static void put_approx(struct rec *r, uint32_t out_len, uint32_t count, uint16_t pad, uint32_t add,
                       uint32_t extra, int64_t seek) {
        uint8_t h[11 + 16] = {TENDER_DELTA_APPROX};
        for (int i = 0; i < 4; i++) {
                h[1 + i] = (uint8_t) (out_len >> (8 * i));
                h[5 + i] = (uint8_t) (count >> (8 * i));
                h[11 + i] = (uint8_t) (add >> (8 * i));
                h[15 + i] = (uint8_t) (extra >> (8 * i));
        }
        h[9] = (uint8_t) pad;
        h[10] = (uint8_t) (pad >> 8);
        for (int i = 0; i < 8; i++)
                h[19 + i] = (uint8_t) ((uint64_t) seek >> (8 * i));
        put(r, h, sizeof(h));
}

TEST(approx_refuses_bad_records) {
        struct fx f;
        static const uint8_t zeros[16384];
        ASSERT_OK(fx_setup(&f, simple_old, ELEMENTSOF(simple_old), simple_new, 1));
        struct rec r = {.n = 0};
        put_approx(&r, 4, 1, 0, 4, 0, 0); /* before any OPEN */
        put(&r, zeros, 4);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "before an OPEN");
        r.n = 0; /* etc/conf is 10 bytes: reads 6..12 */
        put_open(&r, "etc/conf");
        put_approx(&r, 6, 1, 0, 6, 0, 6);
        put(&r, zeros, 6);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "past the end of etc/conf");
        r.n = 0; /* a seek before the file's start, and one that would wrap */
        put_open(&r, "etc/conf");
        put_approx(&r, 2, 1, 0, 2, 0, -1);
        put(&r, zeros, 2);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "seeks outside etc/conf");
        r.n = 0;
        put_open(&r, "etc/conf");
        put_approx(&r, 2, 1, 0, 2, 0, INT64_MIN);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "seeks outside etc/conf");
        r.n = 0; /* controls making more, or fewer, bytes than the record says */
        put_open(&r, "etc/conf");
        put_approx(&r, 4, 1, 0, 4, 1, 0);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "more than 4 bytes");
        r.n = 0;
        put_open(&r, "etc/conf");
        put_approx(&r, 4, 1, 0, 2, 1, 0);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "makes 3 bytes, not 4");
        r.n = 0; /* lengths past the limits: no output, no controls, too many, too long a pad */
        const uint32_t bad[][3] = {{0, 1, 0},
                                   {4, 0, 0},
                                   {4, TENDER_DELTA_MAX_CONTROLS + 1, 0},
                                   {4, 1, 512},
                                   {TENDER_DELTA_MAX_CHUNK + 1, 1, 0}};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                r.n = 0;
                put_open(&r, "etc/conf");
                put_approx(&r, bad[i][0], bad[i][1], (uint16_t) bad[i][2], 4, 0, 0);
                put_end(&r);
                HAND_FAILS(&f, &r, 0, EBADMSG, "beyond the limits");
        }
        r.n = 0; /* truncated: the differences end early, no END */
        put_open(&r, "etc/conf");
        put_approx(&r, 10, 1, 0, 10, 0, 0);
        put(&r, zeros, 3);
        HAND_FAILS(&f, &r, 0, EBADMSG, "truncated");
        r.n = 0; /* writes past the new layer's size (10 KiB): refused as soon as it does */
        put_open(&r, "etc/conf");
        put_approx(&r, 16384, 1, 0, 10, 16374, 0);
        put(&r, zeros, 16384);
        put_end(&r);
        HAND_FAILS(&f, &r, 0, EBADMSG, "rebuilds more than");
        fx_done(&f);
}

/* Deterministic mutations of a real delta: truncations and byte flips. Each must either fail
 * cleanly or rebuild exactly the signed layer. */
TEST(replay_mutations) {
        size_t big = 300 * 1024;
        _cleanup_free_ char *a = pattern(big, 7), *b = pattern(big, 7);
        memcpy(b + 1000, "edit", 4);
        const struct ent old[] = {{"f", a, big, NULL}, {"g", "gggg", 0, NULL}};
        const struct ent new[] = {
                {"f", b, big, NULL}, {"h", "gggg", 0, NULL}, {"n", "new", 0, NULL}};
        struct fx f;
        ASSERT_OK(fx_setup(&f, old, 2, new, 3));
        ASSERT_OK(make_delta(&f, NULL, NULL));
        _cleanup_free_ char *orig = NULL;
        size_t len;
        ASSERT_OK(tender_read_file_at(f.dir, "delta", 1 << 20, &orig, &len));
        uint32_t x = 12345;
        unsigned failed = 0, ok = 0;
        for (unsigned i = 0; i < 600; i++) {
                _cleanup_free_ char *m = malloc(len);
                size_t mlen = len;
                memcpy(m, orig, len);
                x = x * 1103515245u + 12345u;
                if (i < 200)
                        mlen = (size_t) (x >> 8) % len; /* truncated */
                else
                        for (unsigned k = 0; k <= i % 4; k++) {
                                x = x * 1103515245u + 12345u;
                                m[(x >> 8) % len] ^= (char) (1 + (x & 0x7f));
                        }
                ASSERT_OK(write_plain(f.dir, "mut", m, mlen));
                struct tender_error err = {0};
                if (rebuild(&f, "mut", &err) < 0)
                        failed++;
                else
                        ok++;
        }
        fprintf(stderr, "  %u mutations refused, %u harmless\n", failed, ok);
        ASSERT_TRUE(failed >= 200);
        fx_done(&f);
}

TEST_MAIN()
