/* SPDX-License-Identifier: Apache-2.0 */
/* What test.h does around a test (check.sh): passes beside a skip, and, with FRAME_DIR_FILE set
 * (it gets the dir's path), a fixture dir that goes away although its test failed. */
#include "fixture.h"
#include "test.h"

TEST(passes) {
        ASSERT_EQ(1 + 1, 2);
}

TEST(skips) {
        SKIP("the frame's own test of a skip");
}

TEST(fails_with_a_fixture_dir) {
        if (!getenv("FRAME_DIR_FILE"))
                return;
        const struct fixture_dir *t = fixture_dir("frame");
        ASSERT_TRUE(t);
        ASSERT_OK(tender_mkdir_p_at(t->fd, "a/b", 0755));
        ASSERT_OK(symlinkat("/", t->fd, "a/root")); /* not followed by the removal */
        FILE *f = fopen(getenv("FRAME_DIR_FILE"), "w");
        ASSERT_TRUE(f);
        fprintf(f, "%s\n", t->path);
        fclose(f);
        ASSERT_EQ(1, 2);
}

TEST_MAIN()
