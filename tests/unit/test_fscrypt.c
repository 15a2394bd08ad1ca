/* SPDX-License-Identifier: Apache-2.0 */
/* Store encryption without a special file system: key files, detection and the agent's check
 * on an ordinary directory. The real fscrypt round trip is tests/integration/fscrypt.sh. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/fileio.h"
#include "tender/fscrypt.h"
#include "test.h"

static char dir[PATH_MAX]; /* the test's fixture dir */

static int write_key(const char *name, size_t len, mode_t mode) {
        char path[128], buf[128];
        memset(buf, 0x5a, sizeof(buf));
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int r = tender_write_file_atomic_at(AT_FDCWD, path, buf, len, mode);
        if (r >= 0 && chmod(path, mode) < 0)
                r = -errno;
        return r;
}

#define SETUP()                                                                                    \
        const struct fixture_dir *t_ = fixture_dir("fscrypt");                                     \
        ASSERT_TRUE(t_);                                                                           \
        snprintf(dir, sizeof(dir), "%s", t_->path)

TEST(key_file) {
        uint8_t key[TENDER_FSCRYPT_KEY_SIZE];
        struct tender_error err = {0};
        char path[128];
        SETUP();
        ASSERT_OK(write_key("good", 64, 0600));
        ASSERT_OK(write_key("short", 63, 0600));
        ASSERT_OK(write_key("long", 65, 0600));
        ASSERT_OK(write_key("open", 64, 0640));
        snprintf(path, sizeof(path), "%s/good", dir);
        ASSERT_OK(tender_fscrypt_key_load(path, key, &err));
        ASSERT_EQ(key[0], 0x5a);
        ASSERT_EQ(key[63], 0x5a);
        snprintf(path, sizeof(path), "%s/short", dir);
        ASSERT_ERR(tender_fscrypt_key_load(path, key, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "exactly 64 bytes");
        snprintf(path, sizeof(path), "%s/long", dir);
        ASSERT_ERR(tender_fscrypt_key_load(path, key, &err), EINVAL);
        snprintf(path, sizeof(path), "%s/open", dir);
        ASSERT_ERR(tender_fscrypt_key_load(path, key, &err), EPERM);
        ASSERT_CONTAINS(err.message, "readable by group or others");
        snprintf(path, sizeof(path), "%s/missing", dir);
        ASSERT_ERR(tender_fscrypt_key_load(path, key, &err), ENOENT);
        ASSERT_CONTAINS(err.message, "missing");
}

TEST(check_unencrypted_dir) {
        struct tender_encryption_status st;
        struct tender_error err = {0};
        char path[128];
        SETUP();
        ASSERT_OK(tender_encryption_detect(dir, &st, &err));
        if (st.kind != TENDER_ENCRYPTION_NONE)
                SKIP("/tmp is encrypted here (%s)", tender_encryption_kind_name(st.kind));
        ASSERT_ERR(tender_encryption_check(dir, false, &st, &err), EPERM);
        ASSERT_CONTAINS(err.message, "is not encrypted");
        ASSERT_CONTAINS(err.message, "store.allowUnencrypted");
        ASSERT_EQ(err.domain, TENDER_ERR_CONFIG);
        ASSERT_OK(tender_encryption_check(dir, true, &st, &err));
        ASSERT_EQ(st.kind, TENDER_ENCRYPTION_NONE);
        /* a store not created yet is judged by its nearest existing ancestor */
        snprintf(path, sizeof(path), "%s/not/yet", dir);
        ASSERT_OK(tender_encryption_detect(path, &st, &err));
        ASSERT_EQ(st.kind, TENDER_ENCRYPTION_NONE);
}

TEST(no_policy_to_unlock) {
        uint8_t key[TENDER_FSCRYPT_KEY_SIZE] = {1};
        struct tender_error err = {0};
        SETUP();
        int r = tender_fscrypt_unlock(dir, key, &err);
        ASSERT_TRUE(r < 0);
        ASSERT_ERR(tender_fscrypt_lock(dir, &err), ENODATA);
        ASSERT_CONTAINS(err.message, "no fscrypt v2 policy");
}

TEST(kind_names) {
        ASSERT_STREQ(tender_encryption_kind_name(TENDER_ENCRYPTION_NONE), "none");
        ASSERT_STREQ(tender_encryption_kind_name(TENDER_ENCRYPTION_DM_CRYPT), "dm-crypt");
        ASSERT_STREQ(tender_encryption_kind_name(TENDER_ENCRYPTION_FSCRYPT), "fscrypt");
}

TEST_MAIN()
