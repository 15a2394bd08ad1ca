/* SPDX-License-Identifier: Apache-2.0 */
#include "pk.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/version.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <mbedtls/private_access.h>
#endif

#include "tender/digest.h"
#include "tender/macro.h"

int tender_pk_read_file(const char *path, unsigned char **ret, size_t *ret_len,
                        struct tender_error *err) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, errno, "Failed to open %s",
                                              path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "Failed to stat %s",
                                              path);
        if (!S_ISREG(st.st_mode))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "%s is not a regular file",
                                        path);
        if (st.st_size > TENDER_PK_FILE_MAX)
                return tender_error_set(err, TENDER_ERR_CONFIG, EFBIG,
                                        "%s is larger than %d bytes, not a key", path,
                                        TENDER_PK_FILE_MAX);
        _cleanup_free_ unsigned char *buf = malloc(TENDER_PK_FILE_MAX + 1);
        if (!buf)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        size_t len = 0;
        for (;;) {
                /* The file may grow between fstat and read: the cap holds regardless. */
                ssize_t n = read(fd, buf + len, TENDER_PK_FILE_MAX + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                                      "Failed to read %s", path);
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > TENDER_PK_FILE_MAX) {
                        mbedtls_platform_zeroize(buf, len);
                        return tender_error_set(err, TENDER_ERR_CONFIG, EFBIG,
                                                "%s is larger than %d bytes, not a key", path,
                                                TENDER_PK_FILE_MAX);
                }
        }
        buf[len] = '\0';
        *ret_len = len + 1;
        *ret = TAKE_PTR(buf);
        return 0;
}

bool tender_pk_is_p256(const mbedtls_pk_context *pk) {
        mbedtls_pk_type_t t = mbedtls_pk_get_type(pk);
        if (t != MBEDTLS_PK_ECKEY && t != MBEDTLS_PK_ECDSA)
                return false;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        return mbedtls_pk_ec(*pk)->MBEDTLS_PRIVATE(grp).id == MBEDTLS_ECP_DP_SECP256R1;
#else
        return mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
#endif
}

int tender_pk_public_der(mbedtls_pk_context *pk, unsigned char out[static TENDER_PK_DER_MAX]) {
        int n = mbedtls_pk_write_pubkey_der(pk, out, TENDER_PK_DER_MAX);
        if (n <= 0)
                return -EIO;
        /* mbedTLS writes DER at the end of the buffer. */
        memmove(out, out + TENDER_PK_DER_MAX - (size_t) n, (size_t) n);
        return n;
}

void tender_pk_hex_encode(const unsigned char *in, size_t len, char *out) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < len; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 0xf];
        }
        out[2 * len] = '\0';
}
