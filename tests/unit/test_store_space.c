/* SPDX-License-Identifier: Apache-2.0 */
/* Store: in-flight pins, the start-up scan, GC estimates and space planning. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/extract.h"
#include "tender/fileio.h"
#include "tender/store.h"
#include "test.h"

#define HEX(c)                                                                                     \
#c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c

#define _cleanup_store_ _cleanup_(fixture_store_freep)

/* Manifest of "hello" v with one layer: blob digest sha256:<blob> of size, diff <diff> of
 * usize bytes. */
static char *manifest_json(const char *v, const char *blob, unsigned long long size,
                           const char *diff, unsigned long long usize, size_t *ret_len) {
        char *m = NULL;
        int n = asprintf(&m,
                         "{\"schemaVersion\":1,\"app\":\"hello\",\"version\":\"%s\","
                         "\"releaseCounter\":1,\"image\":{\"manifestDigest\":\"sha256:" HEX(
                                 1) "\",\"config\":{},\"layers\":[{\"mediaType\":"
                                    "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":"
                                    "\"sha256:%s\",\"size\":%llu,\"diffId\":\"sha256:%s\","
                                    "\"uncompressedSize\":%llu}]}}",
                         v, blob, size, diff, usize);
        if (n < 0)
                return NULL;
        *ret_len = (size_t) n;
        return m;
}

static int parse(const char *v, const char *blob, unsigned long long size, const char *diff,
                 unsigned long long usize, struct tender_release_manifest **ret) {
        size_t len;
        _cleanup_free_ char *m = manifest_json(v, blob, size, diff, usize, &len);
        return m ? tender_manifest_parse(m, len, ret, NULL) : -ENOMEM;
}

static int add_release(struct tender_store *s, const char *v, const char *blob, const char *diff) {
        size_t len;
        _cleanup_free_ char *m = manifest_json(v, blob, 1, diff, 1, &len);
        return m ? tender_store_release_prepare(s, "hello", v, m, len, "{}", 2, NULL) : -ENOMEM;
}

static int put(struct tender_store *s, const char *rel, size_t size) {
        _cleanup_free_ char *data = calloc(1, size + 1);
        return data ? tender_write_file_atomic_at(tender_store_root_fd(s), rel, data, size, 0644)
                    : -ENOMEM;
}

static int add_layer(struct tender_store *s, const char *diff) {
        _cleanup_free_ char *tmp = NULL;
        char rel[256];
        struct tender_digest d;
        int r = tender_store_make_tmp_dir(s, &tmp);
        if (r < 0)
                return r;
        snprintf(rel, sizeof(rel), "%s/file", tmp);
        r = put(s, rel, 1);
        snprintf(rel, sizeof(rel), "sha256:%s", diff);
        if (r < 0 || tender_digest_parse(rel, &d) < 0)
                return -EINVAL;
        return tender_store_commit_layer(s, tmp, &d);
}

TEST(pin_keeps_in_flight_update) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        _cleanup_free_ char *v = NULL;
        ASSERT_OK(fixture_store_new("space", &s));
        ASSERT_OK(add_release(s, "1.0", HEX(a), HEX(b)));
        ASSERT_OK(tender_store_set_current(s, "hello", "1.0"));
        ASSERT_OK(put(s, "blobs/sha256/" HEX(a), 1));
        ASSERT_OK(add_layer(s, HEX(b)));
        /* 2.0 in flight: its blob half-downloaded, its layer extracted, no release dir yet */
        ASSERT_OK(parse("2.0", HEX(c), 10, HEX(d), 20, &m));
        ASSERT_OK(tender_store_pin(s, "hello", m));
        ASSERT_OK(tender_store_get_pin(s, "hello", &v));
        ASSERT_STREQ(v, "2.0");
        ASSERT_OK(put(s, "blobs/sha256/" HEX(c) ".part", 4));
        ASSERT_OK(add_layer(s, HEX(d)));
        ASSERT_OK(put(s, "blobs/sha256/" HEX(e) ".part", 4)); /* nobody's */
        ASSERT_EQ(tender_store_gc(s, NULL), 1);
        ASSERT_TRUE(fixture_store_exists("blobs/sha256/" HEX(c) ".part"));
        ASSERT_TRUE(fixture_store_exists("layers/sha256/" HEX(d)));
        ASSERT_TRUE(fixture_store_exists("blobs/sha256/" HEX(a)));
        ASSERT_FALSE(fixture_store_exists("blobs/sha256/" HEX(e) ".part"));
        /* prepared now: kept although neither current nor previous */
        ASSERT_OK(add_release(s, "2.0", HEX(c), HEX(d)));
        ASSERT_EQ(tender_store_gc(s, NULL), 0);
        ASSERT_TRUE(fixture_store_exists("apps/hello/releases/2.0/manifest.json"));
        /* given up: everything of 2.0 goes */
        ASSERT_OK(tender_store_unpin(s, "hello"));
        ASSERT_ERR(tender_store_get_pin(s, "hello", &v), ENOENT);
        ASSERT_EQ(tender_store_gc(s, NULL), 3);
        ASSERT_FALSE(fixture_store_exists("apps/hello/releases/2.0"));
        ASSERT_FALSE(fixture_store_exists("blobs/sha256/" HEX(c) ".part"));
        ASSERT_FALSE(fixture_store_exists("layers/sha256/" HEX(d)));
        ASSERT_TRUE(fixture_store_exists("layers/sha256/" HEX(b)));
}

TEST(pin_keeps_first_install) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        ASSERT_OK(fixture_store_new("space", &s));
        /* No apps/fresh yet: the first release of the app is still downloading. */
        ASSERT_OK(parse("1.0", HEX(c), 10, HEX(d), 20, &m));
        ASSERT_OK(tender_store_pin(s, "fresh", m));
        ASSERT_OK(put(s, "blobs/sha256/" HEX(c) ".part", 4));
        ASSERT_OK(add_layer(s, HEX(d)));
        ASSERT_OK(put(s, "blobs/sha256/" HEX(e) ".part", 4)); /* nobody's */
        ASSERT_EQ(tender_store_scan(s, NULL), 1);
        ASSERT_TRUE(fixture_store_exists("blobs/sha256/" HEX(c) ".part"));
        ASSERT_TRUE(fixture_store_exists("layers/sha256/" HEX(d)));
        ASSERT_FALSE(fixture_store_exists("blobs/sha256/" HEX(e) ".part"));
        ASSERT_EQ(tender_store_gc(s, NULL), 0);
        ASSERT_TRUE(fixture_store_exists("blobs/sha256/" HEX(c) ".part"));
        ASSERT_OK(tender_store_unpin(s, "fresh"));
        ASSERT_EQ(tender_store_gc(s, NULL), 2);
        ASSERT_FALSE(fixture_store_exists("layers/sha256/" HEX(d)));
}

TEST(scan_removes_incomplete_entries) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        _cleanup_free_ char *tmp = NULL;
        ASSERT_OK(fixture_store_new("space", &s));
        ASSERT_OK(add_release(s, "1.0", HEX(a), HEX(b)));
        ASSERT_OK(tender_store_set_current(s, "hello", "1.0"));
        ASSERT_OK(put(s, "blobs/sha256/" HEX(a), 1));
        ASSERT_OK(add_layer(s, HEX(b)));
        ASSERT_OK(parse("2.0", HEX(c), 10, HEX(d), 20, &m));
        ASSERT_OK(tender_store_pin(s, "hello", m));
        ASSERT_OK(put(s, "blobs/sha256/" HEX(c) ".part", 4));      /* resumable */
        ASSERT_OK(put(s, "blobs/sha256/" HEX(c) ".part.etag", 4)); /* its validator */
        ASSERT_OK(put(s, "blobs/sha256/" HEX(9) ".part.etag", 4));
        /* leftovers of a crash */
        ASSERT_OK(tender_store_make_tmp_dir(s, &tmp)); /* a half-extracted layer */
        ASSERT_OK(put(s, "layers/sha256/" HEX(f), 1)); /* a file where a dir belongs */
        ASSERT_OK(put(s, "layers/sha256/.#x.0123", 1));
        ASSERT_OK(put(s, "blobs/sha256/.#" HEX(a) ".0011223344556677", 1));
        ASSERT_OK(put(s, "blobs/sha256/" HEX(9) ".part", 3)); /* not resumable: nobody's */
        ASSERT_OK(tender_mkdir_p_at(tender_store_root_fd(s), "blobs/sha256/" HEX(8), 0700));
        ASSERT_EQ(tender_store_scan(s, NULL), 6); /* tmp/ is emptied besides, uncounted */
        ASSERT_FALSE(fixture_store_exists(tmp));
        ASSERT_FALSE(fixture_store_exists("layers/sha256/" HEX(f)));
        ASSERT_FALSE(fixture_store_exists("layers/sha256/.#x.0123"));
        ASSERT_FALSE(fixture_store_exists("blobs/sha256/" HEX(9) ".part"));
        ASSERT_FALSE(fixture_store_exists("blobs/sha256/" HEX(8)));
        ASSERT_FALSE(fixture_store_exists("blobs/sha256/" HEX(9) ".part.etag"));
        ASSERT_TRUE(fixture_store_exists("blobs/sha256/" HEX(c) ".part"));
        ASSERT_TRUE(fixture_store_exists("blobs/sha256/" HEX(c) ".part.etag"));
        ASSERT_TRUE(fixture_store_exists("blobs/sha256/" HEX(a)));
        ASSERT_TRUE(fixture_store_exists("layers/sha256/" HEX(b)));
        ASSERT_TRUE(fixture_store_exists("apps/hello/releases/1.0/manifest.json"));
}

TEST(gc_estimate_removes_nothing) {
        _cleanup_store_ struct tender_store *s = NULL;
        uint64_t bytes = 0, content = 0;
        ASSERT_OK(fixture_store_new("space", &s));
        ASSERT_OK(put(s, "blobs/sha256/" HEX(a), 100000));
        ASSERT_OK(add_release(s, "0.9", HEX(b), HEX(c))); /* neither current nor previous */
        ASSERT_EQ(tender_store_gc_estimate(s, &bytes, &content, NULL), 2);
        ASSERT_TRUE(content >= 100000);
        ASSERT_TRUE(bytes > content);
        ASSERT_TRUE(fixture_store_exists("apps/hello/releases/0.9"));
        ASSERT_TRUE(fixture_store_exists("blobs/sha256/" HEX(a)));
}

TEST(plan_counts_what_is_missing) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        struct tender_store_plan p;
        struct tender_store_plan_options o = {.margin_percent = 10, .margin_min = 1};
        ASSERT_OK(fixture_store_new("space", &s));
        ASSERT_OK(parse("2.0", HEX(c), 1000, HEX(d), 3000, &m));
        ASSERT_OK(tender_store_plan(s, m, &o, &p, NULL));
        ASSERT_EQ(p.download_bytes, 1000);
        ASSERT_EQ(p.extract_bytes, 3000);
        ASSERT_EQ(p.margin_bytes, 400);
        ASSERT_EQ(p.needed_bytes, 4400);
        ASSERT_FALSE(p.gc_needed);
        ASSERT_TRUE(p.available_bytes > 0);
        /* a resumable .part counts as fetched */
        ASSERT_OK(put(s, "blobs/sha256/" HEX(c) ".part", 600));
        ASSERT_OK(tender_store_plan(s, m, &o, &p, NULL));
        ASSERT_EQ(p.download_bytes, 400);
        ASSERT_OK(put(s, "blobs/sha256/" HEX(c), 1000));
        ASSERT_OK(tender_store_plan(s, m, &o, &p, NULL));
        ASSERT_EQ(p.download_bytes, 0);
        ASSERT_EQ(p.extract_bytes, 3000);
        ASSERT_OK(add_layer(s, HEX(d)));
        ASSERT_OK(tender_store_plan(s, m, &o, &p, NULL));
        ASSERT_EQ(p.needed_bytes, 0);
}

/* "sha256:" and 64 times c. */
static void digest_of(char c, struct tender_digest *ret) {
        char text[TENDER_DIGEST_STRING_MAX] = "sha256:";
        memset(text + 7, c, 64);
        text[71] = '\0';
        tender_digest_parse(text, ret);
}

/* A delta to layer HEX(d) from layer <from>, its blob <blob>. */
static void set_delta(struct tender_layer_delta *d, char from, char blob, uint64_t size,
                      const char *algorithm) {
        digest_of(from, &d->from);
        digest_of(blob, &d->digest);
        digest_of('d', &d->to);
        d->size = size;
        d->algorithm = strdup(algorithm);
}

TEST(plan_counts_the_delta_it_picks) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        struct tender_store_plan p;
        struct tender_store_plan_options o = {.margin_percent = 10, .margin_min = 1};
        ASSERT_OK(fixture_store_new("space", &s));
        ASSERT_OK(add_layer(s, HEX(b)));
        ASSERT_OK(add_layer(s, HEX(2)));
        ASSERT_OK(parse("2.0", HEX(c), 1000, HEX(d), 3000, &m));
        m->deltas = calloc(5, sizeof(*m->deltas));
        ASSERT_TRUE(m->deltas != NULL);
        m->n_deltas = 5;
        set_delta(&m->deltas[0], 'b', '5', 300, TENDER_DELTA_ALGORITHM);
        set_delta(&m->deltas[1], 'f', '6', 100, TENDER_DELTA_ALGORITHM);  /* source not here */
        set_delta(&m->deltas[2], 'b', '7', 200, "other-v9");              /* unknown to us */
        set_delta(&m->deltas[3], 'b', '8', 1000, TENDER_DELTA_ALGORITHM); /* not smaller */
        set_delta(&m->deltas[4], '2', '9', 250, TENDER_DELTA_ALGORITHM);
        ASSERT_TRUE(tender_store_pick_delta(s, m, &m->layers[0]) == &m->deltas[4]);
        ASSERT_OK(tender_store_plan(s, m, &o, &p, NULL));
        ASSERT_EQ(p.download_bytes, 250);
        ASSERT_EQ(p.extract_bytes, 3000);
        /* a delta download half done counts what is left */
        ASSERT_OK(put(s, "blobs/sha256/" HEX(9) ".part", 50));
        ASSERT_OK(tender_store_plan(s, m, &o, &p, NULL));
        ASSERT_EQ(p.download_bytes, 200);
        /* the full blob already here: nothing to download, whatever the deltas */
        ASSERT_OK(put(s, "blobs/sha256/" HEX(c), 1000));
        ASSERT_OK(tender_store_plan(s, m, &o, &p, NULL));
        ASSERT_EQ(p.download_bytes, 0);
        /* without the source layers (GC takes them: no release holds them here), no delta */
        ASSERT_OK(tender_store_pin(s, "hello", m));
        ASSERT_OK(add_release(s, "1.0", HEX(a), HEX(a))); /* GC looks at apps with a dir */
        ASSERT_EQ(tender_store_gc(s, NULL), 3);
        ASSERT_TRUE(tender_store_pick_delta(s, m, &m->layers[0]) == NULL);
        /* but the pin keeps the delta's .part for a resumed download */
        ASSERT_TRUE(fixture_store_exists("blobs/sha256/" HEX(9) ".part"));
}

TEST(plan_refuses_what_cannot_fit) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        struct tender_store_plan p;
        struct tender_error err = {0};
        ASSERT_OK(fixture_store_new("space", &s));
        /* 1 PiB does not fit on this machine's /tmp */
        ASSERT_OK(parse("2.0", HEX(c), 1ULL << 50, HEX(d), 1ULL << 50, &m));
        ASSERT_ERR(tender_store_plan(s, m, NULL, &p, &err), ENOSPC);
        ASSERT_CONTAINS(err.message, "hello 2.0 needs");
        ASSERT_CONTAINS(err.message, "GC would free");
        ASSERT_EQ(err.domain, TENDER_ERR_SYSTEM);
}

TEST(plan_budget) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        struct tender_store_plan p;
        struct tender_error err = {0};
        struct tender_store_plan_options o = {.budget_bytes = 1 << 20, .margin_min = 1};
        ASSERT_OK(fixture_store_new("space", &s));
        ASSERT_OK(parse("2.0", HEX(c), 400000, HEX(d), 400000, &m));
        ASSERT_OK(tender_store_plan(s, m, &o, &p, &err));
        /* garbage of 600 KB: fits only after GC */
        ASSERT_OK(put(s, "blobs/sha256/" HEX(a), 600000));
        ASSERT_OK(tender_store_plan(s, m, &o, &p, &err));
        ASSERT_TRUE(p.gc_needed);
        ASSERT_TRUE(p.reclaimable_bytes >= 600000);
        /* kept content of 600 KB: does not fit */
        ASSERT_OK(add_release(s, "1.0", HEX(a), HEX(b)));
        ASSERT_OK(tender_store_set_current(s, "hello", "1.0"));
        ASSERT_ERR(tender_store_plan(s, m, &o, &p, &err), ENOSPC);
        ASSERT_CONTAINS(err.message, "the budget is 1048576");
}

/* A tar with one file "big" of size bytes, in a memfd; its layer description. */
static int big_layer(size_t size, struct tender_layer *layer) {
        size_t cap = size + 64 * 1024, used = 0;
        _cleanup_free_ char *tar = malloc(cap), *data = malloc(size);
        struct archive *a = archive_write_new();
        if (!tar || !data || !a)
                return -ENOMEM;
        for (size_t i = 0; i < size; i++)
                data[i] = (char) (i * 7);
        archive_write_set_format_pax_restricted(a);
        archive_write_open_memory(a, tar, cap, &used);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, "big");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t) size);
        if (archive_write_header(a, e) != ARCHIVE_OK ||
            archive_write_data(a, data, size) != (la_ssize_t) size)
                return -EIO;
        archive_entry_free(e);
        if (archive_write_free(a) != ARCHIVE_OK)
                return -EIO;
        tender_sha256_buffer(tar, used, &layer->diff_id);
        layer->uncompressed_size = used;
        int fd = memfd_create("layer", MFD_CLOEXEC);
        if (fd < 0 || write(fd, tar, used) != (ssize_t) used)
                return -EIO;
        return fd;
}

/* In a private mount namespace: a 1 MiB tmpfs on dir (the test's fixture dir) as the store.
 * Returns the failed step (0: ok). */
static int disk_full_child(const char *dir) {
        char storedir[PATH_MAX + 8];
        struct tender_store *s = NULL;
        struct tender_release_manifest *m = NULL;
        struct tender_store_plan p;
        struct tender_error err = {0};
        struct tender_layer layer = {0};
        char *tmp = NULL;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return 10;
        if (mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0700") < 0)
                return 11;
        snprintf(storedir, sizeof(storedir), "%s/store", dir);
        if (tender_store_open(storedir, &s, NULL) < 0)
                return 12;
        /* refused in planning: 4 MB of layers on a 1 MiB file system */
        if (parse("2.0", HEX(c), 1 << 20, HEX(d), 3 << 20, &m) < 0)
                return 13;
        if (tender_store_plan(s, m, NULL, &p, &err) != -ENOSPC || !strstr(err.message, "needs"))
                return 14;
        /* a manifest that lies about sizes gets past planning: ENOSPC at the write, named, and
         * nothing of the layer stays */
        int fd = big_layer(2 << 20, &layer);
        if (fd < 0 || tender_store_make_tmp_dir(s, &tmp) < 0)
                return 15;
        _cleanup_close_ int tfd = openat(tender_store_root_fd(s), tmp, O_RDONLY | O_DIRECTORY);
        int r = tender_layer_extract_at(fd, tfd, &layer, NULL, &err);
        if (r != -ENOSPC || !strstr(err.message, "\"big\""))
                return 16;
        if (fixture_count_entries(tender_store_root_fd(s), tmp) != 0)
                return 17;
        if (tender_store_scan(s, NULL) < 0 ||
            fixture_count_entries(tender_store_root_fd(s), "tmp") != 0)
                return 18;
        if (tender_store_has_layer(s, &layer.diff_id))
                return 19;
        fprintf(stderr, "  disk full: %s\n", err.message);
        close(fd);
        free(tmp);
        tender_manifest_free(m);
        tender_store_free(s);
        umount2(dir, MNT_DETACH);
        return 0;
}

TEST(disk_full_refused_or_clean) {
        int status;
        if (geteuid() != 0)
                SKIP("mounting a small tmpfs needs root");
        const struct fixture_dir *t = fixture_dir("full");
        ASSERT_TRUE(t);
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0)
                _exit(disk_full_child(t->path));
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status) && (WEXITSTATUS(status) == 10 || WEXITSTATUS(status) == 11))
                SKIP("no mount namespace or tmpfs here");
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
}

TEST_MAIN()
