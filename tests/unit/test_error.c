/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/error.h"
#include "test.h"

TEST(set) {
        struct tender_error err = {0};
        ASSERT_EQ(tender_error_set(&err, TENDER_ERR_VERIFY, EBADMSG, "blob %s: digest mismatch",
                                   "sha256:ab"),
                  -EBADMSG);
        ASSERT_EQ(err.domain, TENDER_ERR_VERIFY);
        ASSERT_EQ(err.errnum, EBADMSG);
        ASSERT_STREQ(err.message, "blob sha256:ab: digest mismatch");
}

TEST(set_normalizes_errnum) {
        struct tender_error err = {0};
        /* Negative errno values from callees are accepted as is. */
        ASSERT_EQ(tender_error_set(&err, TENDER_ERR_SYSTEM, -ENOENT, "x"), -ENOENT);
        ASSERT_EQ(err.errnum, ENOENT);
        /* 0 would read as success: it becomes EIO. */
        ASSERT_EQ(tender_error_set(&err, TENDER_ERR_SYSTEM, 0, "x"), -EIO);
        ASSERT_EQ(err.errnum, EIO);
}

TEST(set_errno) {
        struct tender_error err = {0};
        ASSERT_EQ(tender_error_set_errno(&err, TENDER_ERR_SYSTEM, ENOENT, "open %s", "/x"),
                  -ENOENT);
        char want[256];
        snprintf(want, sizeof(want), "open /x: %s", strerror(ENOENT));
        ASSERT_STREQ(err.message, want);
        ASSERT_EQ(tender_error_set_errno(&err, TENDER_ERR_SYSTEM, -EACCES, "open"), -EACCES);
        snprintf(want, sizeof(want), "open: %s", strerror(EACCES));
        ASSERT_STREQ(err.message, want);
}

TEST(truncation) {
        struct tender_error err = {0};
        char big[2 * TENDER_ERROR_MESSAGE_MAX];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        ASSERT_EQ(tender_error_set(&err, TENDER_ERR_JSON, EINVAL, "%s", big), -EINVAL);
        ASSERT_EQ(strlen(err.message), TENDER_ERROR_MESSAGE_MAX - 1);
        ASSERT_EQ(tender_error_set_errno(&err, TENDER_ERR_JSON, EINVAL, "%s", big), -EINVAL);
        ASSERT_EQ(strlen(err.message), TENDER_ERROR_MESSAGE_MAX - 1);
        ASSERT_EQ(tender_error_prefix(&err, "%s", big), -EINVAL);
        ASSERT_EQ(strlen(err.message), TENDER_ERROR_MESSAGE_MAX - 1);
}

TEST(prefix) {
        struct tender_error err = {0};
        tender_error_set(&err, TENDER_ERR_NETWORK, ETIMEDOUT, "connect");
        ASSERT_EQ(tender_error_prefix(&err, "fetch %s", "blob"), -ETIMEDOUT);
        ASSERT_STREQ(err.message, "fetch blob: connect");
        ASSERT_EQ(err.domain, TENDER_ERR_NETWORK);
        ASSERT_EQ(err.errnum, ETIMEDOUT);
        ASSERT_EQ(tender_error_prefix(&err, "layer %d", 2), -ETIMEDOUT);
        ASSERT_STREQ(err.message, "layer 2: fetch blob: connect");
}

TEST(clear) {
        struct tender_error err = {0};
        tender_error_set(&err, TENDER_ERR_HEALTH, ECHILD, "probe failed");
        tender_error_clear(&err);
        ASSERT_EQ(err.domain, TENDER_ERR_NONE);
        ASSERT_EQ(err.errnum, 0);
        ASSERT_STREQ(err.message, "");
        tender_error_clear(NULL);
}

TEST(null_err_is_fine) {
        ASSERT_EQ(tender_error_set(NULL, TENDER_ERR_SYSTEM, ENOMEM, "out of %s", "memory"),
                  -ENOMEM);
        ASSERT_EQ(tender_error_set_errno(NULL, TENDER_ERR_SYSTEM, EPERM, "mount"), -EPERM);
        ASSERT_EQ(tender_error_set(NULL, TENDER_ERR_SYSTEM, 0, "x"), -EIO);
        ASSERT_TRUE(tender_error_prefix(NULL, "ctx") < 0);
}

TEST(domain_names) {
        ASSERT_STREQ(tender_error_domain_name(TENDER_ERR_NONE), "none");
        ASSERT_STREQ(tender_error_domain_name(TENDER_ERR_SYSTEM), "system");
        ASSERT_STREQ(tender_error_domain_name(TENDER_ERR_CONFIG), "config");
        ASSERT_STREQ(tender_error_domain_name(TENDER_ERR_JSON), "json");
        ASSERT_STREQ(tender_error_domain_name(TENDER_ERR_NETWORK), "network");
        ASSERT_STREQ(tender_error_domain_name(TENDER_ERR_VERIFY), "verify");
        ASSERT_STREQ(tender_error_domain_name(TENDER_ERR_EXTRACT), "extract");
        ASSERT_STREQ(tender_error_domain_name(TENDER_ERR_RUNTIME), "runtime");
        ASSERT_STREQ(tender_error_domain_name(TENDER_ERR_HEALTH), "health");
        ASSERT_STREQ(tender_error_domain_name(TENDER_ERR_SERVER), "server");
        ASSERT_STREQ(tender_error_domain_name((enum tender_error_domain) 999), "unknown");
        ASSERT_STREQ(tender_error_domain_name((enum tender_error_domain) - 1), "unknown");
}

TEST_MAIN()
