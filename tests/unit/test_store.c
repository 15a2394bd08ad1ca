/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/store.h"
#include "test.h"

#define HEX(c)                                                                                     \
#c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c

#define _cleanup_store_ _cleanup_(fixture_store_freep)

/* A manifest of app "hello" at version v with layer blobs digest=sha256:<blob>, diff=<diff>. */
static int add_release(struct tender_store *s, const char *v, unsigned counter, const char *blob,
                       const char *diff) {
        char m[2048];
        int n = snprintf(m, sizeof(m),
                         "{\"schemaVersion\":1,\"app\":\"hello\",\"version\":\"%s\","
                         "\"releaseCounter\":%u,\"image\":{\"manifestDigest\":\"sha256:" HEX(
                                 1) "\",\"config\":{},\"layers\":[{\"mediaType\":"
                                    "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":"
                                    "\"sha256:%s\",\"size\":1,\"diffId\":\"sha256:%s\","
                                    "\"uncompressedSize\":1}]}}",
                         v, counter, blob, diff);
        return tender_store_release_prepare(s, "hello", v, m, (size_t) n, "{}", 2, NULL);
}

/* Creates layers/sha256/<hex>/file and blobs/sha256/<hex> as if fetched. */
static int add_layer_and_blob(struct tender_store *s, const char *blob, const char *diff) {
        char rel[256];
        _cleanup_free_ char *tmp = NULL;
        struct tender_digest d;
        int r = tender_store_make_tmp_dir(s, &tmp);
        if (r < 0)
                return r;
        snprintf(rel, sizeof(rel), "%s/file", tmp);
        r = tender_write_file_atomic_at(tender_store_root_fd(s), rel, "x", 1, 0644);
        if (r < 0)
                return r;
        snprintf(rel, sizeof(rel), "sha256:%s", diff);
        if (tender_digest_parse(rel, &d) < 0)
                return -EINVAL;
        r = tender_store_commit_layer(s, tmp, &d);
        if (r < 0)
                return r;
        return tender_write_file_atomic_at(tender_store_blobs_fd(s), blob, "b", 1, 0644);
}

TEST(layout) {
        _cleanup_store_ struct tender_store *s = NULL;
        struct stat st;
        ASSERT_OK(fixture_store_new("store", &s));
        ASSERT_TRUE(fixture_store_exists("blobs/sha256"));
        ASSERT_TRUE(fixture_store_exists("layers/sha256"));
        ASSERT_TRUE(fixture_store_exists("apps"));
        ASSERT_TRUE(fixture_store_exists("tmp"));
        ASSERT_TRUE(fixture_store_exists("state"));
        ASSERT_OK(stat(fixture_store_root, &st));
        ASSERT_EQ(st.st_mode & 07777, 0700);
        ASSERT_STREQ(tender_store_root(s), fixture_store_root);
        /* Opening again is fine. */
        struct tender_store *again = NULL;
        ASSERT_OK(tender_store_open(fixture_store_root, &again, NULL));
        tender_store_free(again);
}

TEST(release_prepare) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        _cleanup_free_ char *path = NULL;
        ASSERT_OK(fixture_store_new("store", &s));
        ASSERT_OK(add_release(s, "1.0.0", 1, HEX(a), HEX(b)));
        ASSERT_TRUE(fixture_store_exists("apps/hello/releases/1.0.0/manifest.json"));
        ASSERT_TRUE(fixture_store_exists("apps/hello/releases/1.0.0/manifest.json.sig"));
        ASSERT_TRUE(fixture_store_exists("apps/hello/releases/1.0.0/bundle/rootfs"));
        ASSERT_TRUE(fixture_store_exists("apps/hello/releases/1.0.0/upper"));
        ASSERT_TRUE(fixture_store_exists("apps/hello/releases/1.0.0/work"));
        struct tender_error err = {0};
        int r = tender_store_release_manifest(s, "hello", "1.0.0", &m, &err);
        if (r < 0)
                fprintf(stderr, "  %s\n", err.message);
        ASSERT_OK(r);
        ASSERT_STREQ(m->version, "1.0.0");
        ASSERT_OK(tender_store_release_path(s, "hello", "1.0.0", &path));
        ASSERT_CONTAINS(path, "/apps/hello/releases/1.0.0");
        ASSERT_ERR(tender_store_release_prepare(s, "../x", "1", "{}", 2, "{}", 2, NULL), EINVAL);
        ASSERT_ERR(tender_store_release_path(s, "hello", "..", &path), EINVAL);
}

TEST(current_previous_swap) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_free_ char *c1 = NULL, *c2 = NULL, *p2 = NULL, *c3 = NULL, *p3 = NULL;
        char *none = NULL;
        char link[64];
        ASSERT_OK(fixture_store_new("store", &s));
        ASSERT_ERR(tender_store_get_current(s, "hello", &none), ENOENT);
        ASSERT_OK(tender_store_set_current(s, "hello", "1.0.0"));
        ASSERT_OK(tender_store_get_current(s, "hello", &c1));
        ASSERT_STREQ(c1, "1.0.0");
        ASSERT_ERR(tender_store_get_previous(s, "hello", &none), ENOENT);

        ASSERT_OK(tender_store_set_current(s, "hello", "2.0.0"));
        ASSERT_OK(tender_store_get_current(s, "hello", &c2));
        ASSERT_OK(tender_store_get_previous(s, "hello", &p2));
        ASSERT_STREQ(c2, "2.0.0");
        ASSERT_STREQ(p2, "1.0.0");
        /* The link text is relative, so the store can move. */
        char p[512];
        snprintf(p, sizeof(p), "%s/apps/hello/current", fixture_store_root);
        ssize_t n = readlink(p, link, sizeof(link) - 1);
        ASSERT_TRUE(n > 0);
        link[n] = '\0';
        ASSERT_STREQ(link, "releases/2.0.0");

        /* Going back swaps the two; setting the same version again keeps previous. */
        ASSERT_OK(tender_store_set_current(s, "hello", "1.0.0"));
        ASSERT_OK(tender_store_set_current(s, "hello", "1.0.0"));
        ASSERT_OK(tender_store_get_current(s, "hello", &c3));
        ASSERT_OK(tender_store_get_previous(s, "hello", &p3));
        ASSERT_STREQ(c3, "1.0.0");
        ASSERT_STREQ(p3, "2.0.0");
}

TEST(counter_persists) {
        _cleanup_store_ struct tender_store *s = NULL;
        uint64_t c = 99;
        ASSERT_OK(fixture_store_new("store", &s));
        ASSERT_OK(tender_store_counter_get(s, "hello", &c));
        ASSERT_EQ(c, 0);
        ASSERT_OK(tender_store_counter_set(s, "hello", 7));
        ASSERT_OK(tender_store_counter_set(s, "hello", 9007199254740992ULL));
        tender_store_free(s);
        s = NULL;
        ASSERT_OK(tender_store_open(fixture_store_root, &s, NULL));
        ASSERT_OK(tender_store_counter_get(s, "hello", &c));
        ASSERT_EQ(c, 9007199254740992ULL);
        /* A damaged counter file is an error, never a silent 0 that would allow rollbacks. */
        ASSERT_OK(tender_write_file_atomic_at(tender_store_root_fd(s), "apps/hello/counter", "x7",
                                              2, 0600));
        ASSERT_ERR(tender_store_counter_get(s, "hello", &c), EBADMSG);
}

TEST(bad_and_last_action) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_free_ char *id = NULL, *fb = NULL;
        char *none = NULL;
        ASSERT_OK(fixture_store_new("store", &s));
        ASSERT_FALSE(tender_store_is_bad(s, "hello", "3.0.0"));
        ASSERT_OK(tender_store_mark_bad(s, "hello", "3.0.0"));
        ASSERT_TRUE(tender_store_is_bad(s, "hello", "3.0.0"));
        ASSERT_FALSE(tender_store_is_bad(s, "hello", "2.0.0"));
        ASSERT_ERR(tender_store_last_action_get(s, &none), ENOENT);
        ASSERT_OK(tender_store_last_action_set(s, "42"));
        ASSERT_OK(tender_store_last_action_get(s, &id));
        ASSERT_STREQ(id, "42");
        ASSERT_ERR(tender_store_last_action_set(s, "4\n2"), EINVAL);
        ASSERT_OK(tender_store_last_feedback_set(s, "{\"id\":\"42\"}"));
        ASSERT_OK(tender_store_last_feedback_get(s, &fb));
        ASSERT_STREQ(fb, "{\"id\":\"42\"}");
}

TEST(list_apps_and_volumes) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_free_ char *vol = NULL;
        char **apps = NULL;
        ASSERT_OK(fixture_store_new("store", &s));
        ASSERT_OK(tender_store_set_current(s, "zeta", "1"));
        ASSERT_OK(tender_store_set_current(s, "alpha", "1"));
        ASSERT_EQ(tender_store_list_apps(s, &apps), 2);
        ASSERT_STREQ(apps[0], "alpha");
        ASSERT_STREQ(apps[1], "zeta");
        ASSERT_TRUE(apps[2] == NULL);
        tender_strv_free(apps);
        ASSERT_OK(tender_store_volume_path(s, "alpha", "data", &vol));
        ASSERT_TRUE(fixture_store_exists("apps/alpha/volumes/data"));
        ASSERT_CONTAINS(vol, "/apps/alpha/volumes/data");
}

TEST(tmp_cleanup) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL;
        char rel[128];
        ASSERT_OK(fixture_store_new("store", &s));
        ASSERT_OK(tender_store_make_tmp_dir(s, &a));
        ASSERT_OK(tender_store_make_tmp_dir(s, &b));
        ASSERT_FALSE(STREQ(a, b));
        snprintf(rel, sizeof(rel), "%s/deep/dir", a);
        ASSERT_OK(tender_mkdir_p_at(tender_store_root_fd(s), rel, 0700));
        ASSERT_TRUE(fixture_store_exists(a));
        ASSERT_OK(tender_store_clean_tmp(s));
        ASSERT_FALSE(fixture_store_exists(a));
        ASSERT_FALSE(fixture_store_exists(b));
        ASSERT_TRUE(fixture_store_exists("tmp"));
}

TEST(commit_layer_twice) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_free_ char *tmp = NULL;
        struct tender_digest d;
        ASSERT_OK(fixture_store_new("store", &s));
        ASSERT_OK(tender_digest_parse("sha256:" HEX(c), &d));
        ASSERT_FALSE(tender_store_has_layer(s, &d));
        ASSERT_OK(add_layer_and_blob(s, HEX(b), HEX(c)));
        ASSERT_TRUE(tender_store_has_layer(s, &d));
        ASSERT_TRUE(fixture_store_exists("layers/sha256/" HEX(c) "/file"));
        /* The same layer extracted again: the first one stays, the copy goes. */
        ASSERT_OK(tender_store_make_tmp_dir(s, &tmp));
        char rel[128];
        snprintf(rel, sizeof(rel), "%s/other", tmp);
        ASSERT_OK(tender_write_file_atomic_at(tender_store_root_fd(s), rel, "y", 1, 0644));
        ASSERT_OK(tender_store_commit_layer(s, tmp, &d));
        ASSERT_FALSE(fixture_store_exists(tmp));
        ASSERT_TRUE(fixture_store_exists("layers/sha256/" HEX(c) "/file"));
        int fd = tender_store_blob_open(s, &(struct tender_digest){{0}});
        ASSERT_EQ(fd, -ENOENT);
}

TEST(gc_keeps_current_and_previous) {
        _cleanup_store_ struct tender_store *s = NULL;
        ASSERT_OK(fixture_store_new("store", &s));
        /* Three releases, each with its own layer; 1 and 2 share nothing. */
        ASSERT_OK(add_release(s, "1.0.0", 1, HEX(1), HEX(a)));
        ASSERT_OK(add_release(s, "2.0.0", 2, HEX(2), HEX(b)));
        ASSERT_OK(add_release(s, "3.0.0", 3, HEX(3), HEX(c)));
        ASSERT_OK(add_layer_and_blob(s, HEX(1), HEX(a)));
        ASSERT_OK(add_layer_and_blob(s, HEX(2), HEX(b)));
        ASSERT_OK(add_layer_and_blob(s, HEX(3), HEX(c)));
        ASSERT_OK(add_layer_and_blob(s, HEX(4), HEX(d))); /* referenced by nobody */
        ASSERT_OK(tender_write_file_atomic_at(tender_store_blobs_fd(s), HEX(5) ".part", "p", 1,
                                              0644));
        ASSERT_OK(tender_store_set_current(s, "hello", "1.0.0"));
        ASSERT_OK(tender_store_set_current(s, "hello", "2.0.0"));
        ASSERT_OK(tender_store_set_current(s, "hello", "3.0.0"));
        ASSERT_OK(tender_store_mark_bad(s, "hello", "0.9.0"));
        _cleanup_free_ char *vol = NULL;
        ASSERT_OK(tender_store_volume_path(s, "hello", "data", &vol));

        int removed = tender_store_gc(s, NULL);
        ASSERT_EQ(removed, 1 + 2 + 3); /* release 1.0.0; layers a, d; blobs 1, 4, 5.part */
        ASSERT_FALSE(fixture_store_exists("apps/hello/releases/1.0.0"));
        ASSERT_TRUE(fixture_store_exists("apps/hello/releases/2.0.0/manifest.json"));
        ASSERT_TRUE(fixture_store_exists("apps/hello/releases/3.0.0/manifest.json"));
        ASSERT_FALSE(fixture_store_exists("layers/sha256/" HEX(a)));
        ASSERT_TRUE(fixture_store_exists("layers/sha256/" HEX(b) "/file"));
        ASSERT_TRUE(fixture_store_exists("layers/sha256/" HEX(c) "/file"));
        ASSERT_FALSE(fixture_store_exists("layers/sha256/" HEX(d)));
        ASSERT_FALSE(fixture_store_exists("blobs/sha256/" HEX(1)));
        ASSERT_TRUE(fixture_store_exists("blobs/sha256/" HEX(2)));
        ASSERT_TRUE(fixture_store_exists("blobs/sha256/" HEX(3)));
        ASSERT_FALSE(fixture_store_exists("blobs/sha256/" HEX(4)));
        ASSERT_FALSE(fixture_store_exists("blobs/sha256/" HEX(5) ".part"));
        /* Volumes and markers are never collected. */
        ASSERT_TRUE(fixture_store_exists("apps/hello/volumes/data"));
        ASSERT_TRUE(fixture_store_exists("apps/hello/bad/0.9.0"));
        /* A second run has nothing to do. */
        ASSERT_EQ(tender_store_gc(s, NULL), 0);
}

TEST(gc_refuses_with_unreadable_manifest) {
        _cleanup_store_ struct tender_store *s = NULL;
        struct tender_error err = {0};
        ASSERT_OK(fixture_store_new("store", &s));
        ASSERT_OK(add_release(s, "1.0.0", 1, HEX(1), HEX(a)));
        ASSERT_OK(add_layer_and_blob(s, HEX(1), HEX(a)));
        ASSERT_OK(add_layer_and_blob(s, HEX(2), HEX(b)));
        ASSERT_OK(tender_store_set_current(s, "hello", "1.0.0"));
        ASSERT_OK(tender_write_file_atomic_at(
                tender_store_root_fd(s), "apps/hello/releases/1.0.0/manifest.json", "{", 1, 0600));
        ASSERT_TRUE(tender_store_gc(s, &err) < 0);
        /* Nothing referenced or not was removed. */
        ASSERT_TRUE(fixture_store_exists("layers/sha256/" HEX(a)));
        ASSERT_TRUE(fixture_store_exists("layers/sha256/" HEX(b)));
}

/* tenderctl remove: releases, links, pin and markers go; the counter stays, volumes as asked;
 * the next GC frees the layers and blobs. */
TEST(remove_app) {
        _cleanup_store_ struct tender_store *s = NULL;
        _cleanup_free_ char *vol = NULL, *cur = NULL;
        char **versions = NULL;
        ASSERT_OK(fixture_store_new("store", &s));
        ASSERT_OK(add_release(s, "1.0.0", 1, HEX(1), HEX(a)));
        ASSERT_OK(add_release(s, "2.0.0", 2, HEX(2), HEX(b)));
        ASSERT_OK(add_layer_and_blob(s, HEX(1), HEX(a)));
        ASSERT_OK(add_layer_and_blob(s, HEX(2), HEX(b)));
        ASSERT_OK(tender_store_set_current(s, "hello", "1.0.0"));
        ASSERT_OK(tender_store_set_current(s, "hello", "2.0.0"));
        ASSERT_OK(tender_store_counter_set(s, "hello", 2));
        ASSERT_OK(tender_store_mark_bad(s, "hello", "0.9.0"));
        ASSERT_OK(tender_store_volume_path(s, "hello", "data", &vol));

        ASSERT_EQ(tender_store_list_releases(s, "hello", &versions), 2);
        ASSERT_STREQ(versions[0], "1.0.0");
        ASSERT_STREQ(versions[1], "2.0.0");
        ASSERT_TRUE(versions[2] == NULL);
        tender_strv_free(versions);
        ASSERT_EQ(tender_store_list_releases(s, "nosuchapp", &versions), 0);
        tender_strv_free(versions);
        ASSERT_ERR(tender_store_list_releases(s, "..", &versions), EINVAL);

        ASSERT_OK(tender_store_remove_app(s, "hello", true));
        ASSERT_ERR(tender_store_get_current(s, "hello", &cur), ENOENT);
        ASSERT_FALSE(fixture_store_exists("apps/hello/previous"));
        ASSERT_FALSE(fixture_store_exists("apps/hello/releases"));
        ASSERT_FALSE(fixture_store_exists("apps/hello/bad"));
        ASSERT_TRUE(fixture_store_exists("apps/hello/volumes/data"));
        uint64_t counter = 0;
        ASSERT_OK(tender_store_counter_get(s, "hello", &counter));
        ASSERT_EQ(counter, 2);
        /* Nothing references the layers and blobs any more. */
        ASSERT_EQ(tender_store_gc(s, NULL), 4);
        ASSERT_FALSE(fixture_store_exists("layers/sha256/" HEX(a)));
        ASSERT_FALSE(fixture_store_exists("blobs/sha256/" HEX(2)));
        /* Again, now without the volumes; an app that was never there is -ENOENT. */
        ASSERT_OK(tender_store_remove_app(s, "hello", false));
        ASSERT_FALSE(fixture_store_exists("apps/hello/volumes"));
        ASSERT_ERR(tender_store_remove_app(s, "nosuchapp", true), ENOENT);
        ASSERT_ERR(tender_store_remove_app(s, "../x", true), EINVAL);
}

TEST_MAIN()
