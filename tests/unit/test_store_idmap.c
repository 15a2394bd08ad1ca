/* SPDX-License-Identifier: Apache-2.0 */
/* state/idmap: the apps' id ranges from the pool (lib/store_idmap.c). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/fileio.h"
#include "tender/store.h"
#include "test.h"

#define RANGE 65536u
#define BASE 1000000u

static struct tender_store *store_new(void) {
        struct tender_store *s = NULL;
        return fixture_store_new("idmap", &s) < 0 ? NULL : s;
}

static struct tender_idmap *map_new(void) {
        return calloc(1, sizeof(struct tender_idmap));
}

static void map_freep(struct tender_idmap **m) {
        free(*m);
}

TEST(alloc_skips_the_shared_range_and_is_stable) {
        _cleanup_(map_freep) struct tender_idmap *m = map_new();
        struct tender_idmap_app *a, *b, *again;
        ASSERT_OK(tender_idmap_alloc(m, "a", BASE, 8 * RANGE, RANGE, &a, NULL));
        ASSERT_EQ(a->base, BASE + RANGE); /* the first range is the fallback's */
        ASSERT_EQ(a->files.owner, 0u);    /* files of host root until shifted */
        ASSERT_OK(tender_idmap_alloc(m, "b", BASE, 8 * RANGE, RANGE, &b, NULL));
        ASSERT_EQ(b->base, BASE + 2 * RANGE);
        /* Asked again, even with another pool: the same range. */
        ASSERT_OK(tender_idmap_alloc(m, "a", 5000000, 100 * RANGE, RANGE, &again, NULL));
        ASSERT_EQ(again->base, BASE + RANGE);
        ASSERT_EQ(m->n_apps, 2u);
}

TEST(alloc_exhaustion) {
        _cleanup_(map_freep) struct tender_idmap *m = map_new();
        struct tender_idmap_app *e;
        struct tender_error err = {0};
        ASSERT_OK(tender_idmap_alloc(m, "a", BASE, 3 * RANGE, RANGE, &e, NULL));
        ASSERT_OK(tender_idmap_alloc(m, "b", BASE, 3 * RANGE, RANGE, &e, NULL));
        ASSERT_ERR(tender_idmap_alloc(m, "c", BASE, 3 * RANGE, RANGE, &e, &err), ENOSPC);
        ASSERT_CONTAINS(err.message, "apps.idPool");
        ASSERT_EQ(m->n_apps, 2u);
        /* A bigger pool later: c fits, a and b keep theirs. */
        ASSERT_OK(tender_idmap_alloc(m, "c", BASE, 4 * RANGE, RANGE, &e, NULL));
        ASSERT_EQ(e->base, BASE + 3 * RANGE);
}

TEST(alloc_reuses_a_freed_range_never_an_overlapping_one) {
        _cleanup_(map_freep) struct tender_idmap *m = map_new();
        struct tender_idmap_app *e;
        /* A range from an older, unaligned pool overlaps slot 2 of this one. */
        m->n_apps = 1;
        snprintf(m->apps[0].app, sizeof(m->apps[0].app), "old");
        m->apps[0].base = BASE + 2 * RANGE - 10;
        ASSERT_OK(tender_idmap_alloc(m, "a", BASE, 8 * RANGE, RANGE, &e, NULL));
        ASSERT_EQ(e->base, BASE + 3 * RANGE);
        ASSERT_OK(tender_idmap_alloc(m, "b", BASE, 8 * RANGE, RANGE, &e, NULL));
        ASSERT_EQ(e->base, BASE + 4 * RANGE);
}

TEST(persistence_and_prune) {
        _cleanup_(fixture_store_freep) struct tender_store *s = store_new();
        _cleanup_(map_freep) struct tender_idmap *m = map_new(), *back = map_new();
        struct tender_idmap_app *e;
        ASSERT_TRUE(s != NULL);
        /* No file: an empty map (a store from before user namespaces). */
        ASSERT_OK(tender_store_idmap_load(s, back, NULL));
        ASSERT_EQ(back->n_apps, 0u);
        ASSERT_EQ(back->layers.owner, 0u);
        ASSERT_OK(tender_idmap_alloc(m, "a", BASE, 8 * RANGE, RANGE, &e, NULL));
        e->files.shifting = true;
        e->files.shift_to = e->base;
        ASSERT_OK(tender_idmap_alloc(m, "b", BASE, 8 * RANGE, RANGE, &e, NULL));
        e->files.owner = e->base;
        m->layers.owner = BASE;
        ASSERT_OK(tender_store_idmap_save(s, m));
        ASSERT_OK(tender_store_idmap_load(s, back, NULL));
        ASSERT_EQ(back->n_apps, 2u);
        ASSERT_EQ(back->layers.owner, BASE);
        ASSERT_FALSE(back->layers.shifting);
        ASSERT_TRUE(tender_idmap_find(back, "a")->files.shifting);
        ASSERT_EQ(tender_idmap_find(back, "a")->files.shift_to, BASE + RANGE);
        ASSERT_EQ(tender_idmap_find(back, "b")->base, BASE + 2 * RANGE);
        ASSERT_EQ(tender_idmap_find(back, "b")->files.owner, BASE + 2 * RANGE);
        ASSERT_FALSE(tender_idmap_find(back, "b")->files.shifting);
        /* Only b has an app dir: a's range is freed, and the next app gets it. */
        ASSERT_OK(tender_mkdir_p_at(tender_store_root_fd(s), "apps/b", 0700));
        ASSERT_EQ(tender_store_idmap_prune(s, back), 1);
        ASSERT_TRUE(tender_idmap_find(back, "a") == NULL);
        ASSERT_OK(tender_idmap_alloc(back, "c", BASE, 8 * RANGE, RANGE, &e, NULL));
        ASSERT_EQ(e->base, BASE + RANGE);
}

TEST(damaged_file_is_an_error) {
        _cleanup_(fixture_store_freep) struct tender_store *s = store_new();
        _cleanup_(map_freep) struct tender_idmap *m = map_new();
        struct tender_error err = {0};
        static const char *const bad[] = {
                "{",
                "[]",
                "{\"layers\":{\"owner\":0}}",
                "{\"layers\":{\"owner\":0},\"apps\":{\"../x\":{\"base\":1,\"owner\":0}}}",
                "{\"layers\":{\"owner\":0},\"apps\":{\"a\":{\"owner\":0}}}",
                "{\"layers\":{\"owner\":4294967295},\"apps\":{}}",
                "{\"layers\":{\"owner\":0},\"apps\":{},\"extra\":1}",
        };
        ASSERT_TRUE(s != NULL);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ASSERT_OK(tender_write_file_atomic_at(tender_store_root_fd(s), "state/idmap",
                                                      bad[i], strlen(bad[i]), 0600));
                if (tender_store_idmap_load(s, m, &err) >= 0)
                        TEST_FAIL_("accepted %s", bad[i]);
                ASSERT_CONTAINS(err.message, "state/idmap");
        }
}

TEST_MAIN()
