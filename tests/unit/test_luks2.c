/* SPDX-License-Identifier: Apache-2.0 */
/* LUKS2 module checks that need no block device: mapping names and the errors for paths that
 * are no LUKS2 device. Skipped in a build without TENDER_LUKS2; the device round trip is
 * tests/integration/luks2.sh. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#ifdef TENDER_HAVE_LUKS2
#include "tender/luks2.h"

TEST(name_check) {
        struct tender_error err = {0};
        char longname[TENDER_LUKS2_NAME_MAX + 2];
        ASSERT_OK(tender_luks2_name_check(TENDER_LUKS2_NAME_DEFAULT, &err));
        ASSERT_OK(tender_luks2_name_check("Store_2.x-y", &err));
        ASSERT_ERR(tender_luks2_name_check("", &err), EINVAL);
        ASSERT_ERR(tender_luks2_name_check(NULL, &err), EINVAL);
        ASSERT_ERR(tender_luks2_name_check(".x", &err), EINVAL);
        ASSERT_ERR(tender_luks2_name_check("a/b", &err), EINVAL);
        ASSERT_ERR(tender_luks2_name_check("a b", &err), EINVAL);
        ASSERT_CONTAINS(err.message, "invalid mapping name 'a b'");
        memset(longname, 'n', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        ASSERT_ERR(tender_luks2_name_check(longname, &err), EINVAL);
        longname[TENDER_LUKS2_NAME_MAX] = '\0';
        ASSERT_OK(tender_luks2_name_check(longname, &err));
}

TEST(not_a_luks2_device) {
        uint8_t key[TENDER_FSCRYPT_KEY_SIZE] = {1};
        struct tender_error err = {0};
        char path[] = "/tmp/tender-test-luks2.XXXXXX";
        int fd = mkstemp(path);
        ASSERT_TRUE(fd >= 0);
        close(fd);
        ASSERT_ERR(tender_luks2_provision("/nonexistent/dev", "x", key, false, &err), ENOENT);
        ASSERT_CONTAINS(err.message, "/nonexistent/dev");
        ASSERT_ERR(tender_luks2_provision("/dev/null", "x", key, true, &err), ENOTBLK);
        ASSERT_CONTAINS(err.message, "/dev/null is not a block device");
        ASSERT_ERR(tender_luks2_provision("/dev/null", "../x", key, true, &err), EINVAL);
        int r = tender_luks2_unlock(path, "x", key, &err);
        unlink(path);
        ASSERT_EQ(r, -ENODEV);
        ASSERT_CONTAINS(err.message, "holds no LUKS2 header");
}
#else
TEST(built_without_luks2) {
        SKIP("built without TENDER_LUKS2 (luks2-cli.sh checks tenderctl's refusal)");
}
#endif

TEST_MAIN()
