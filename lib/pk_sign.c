/* SPDX-License-Identifier: Apache-2.0 */
/* The signing half of pk.h, for the publisher only (libtender-make): private keys, signing,
 * key generation and key files. The device links pk.c, which verifies. */
#include "pk.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/version.h>

#include "tender/digest.h"
#include "tender/macro.h"

int tender_pk_private_load(struct tender_pk_private *k, const char *path,
                           const char *personalization, struct tender_error *err) {
        mbedtls_pk_init(&k->pk);
        k->rng_ready = false;
        k->path = path;
        _cleanup_free_ unsigned char *pem = NULL;
        size_t len;
        int r = tender_pk_read_file(path, &pem, &len, err);
        if (r < 0)
                return r;
        r = tender_rng_init(&k->rng, personalization, err);
        if (r < 0) {
                mbedtls_platform_zeroize(pem, len);
                return r;
        }
        k->rng_ready = true;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        r = mbedtls_pk_parse_key(&k->pk, pem, len, NULL, 0, mbedtls_ctr_drbg_random, &k->rng.drbg);
#else
        r = mbedtls_pk_parse_key(&k->pk, pem, len, NULL, 0);
#endif
        mbedtls_platform_zeroize(pem, len);
        if (r != 0) {
                char msg[128];
                mbedtls_strerror(r, msg, sizeof(msg));
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "%s is not an unencrypted PEM private key: %s", path, msg);
        }
        return 0;
}

void tender_pk_private_done(struct tender_pk_private *k) {
        mbedtls_pk_free(&k->pk);
        if (k->rng_ready)
                tender_rng_done(&k->rng);
        k->rng_ready = false;
}

int tender_pk_private_sign(struct tender_pk_private *k, const void *data, size_t len,
                           unsigned char sig[static MBEDTLS_PK_SIGNATURE_MAX_SIZE], size_t *ret_len,
                           struct tender_error *err) {
        struct tender_digest hash;
        tender_sha256_buffer(data, len, &hash);
        size_t n = 0;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        int r = mbedtls_pk_sign(&k->pk, MBEDTLS_MD_SHA256, hash.bytes, sizeof(hash.bytes), sig,
                                MBEDTLS_PK_SIGNATURE_MAX_SIZE, &n, mbedtls_ctr_drbg_random,
                                &k->rng.drbg);
#else
        int r = mbedtls_pk_sign(&k->pk, MBEDTLS_MD_SHA256, hash.bytes, sizeof(hash.bytes), sig, &n,
                                mbedtls_ctr_drbg_random, &k->rng.drbg);
#endif
        if (r != 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO,
                                        "Failed to sign with %s (mbedTLS -0x%04x)", k->path,
                                        (unsigned) -r);
        *ret_len = n;
        return 0;
}

int tender_pk_generate_p256(mbedtls_pk_context *pk, const char *personalization,
                            struct tender_error *err) {
        struct tender_rng rng;
        int r = tender_rng_init(&rng, personalization, err);
        if (r < 0)
                return r;
        r = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
        if (r == 0)
                r = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk),
                                        mbedtls_ctr_drbg_random, &rng.drbg);
        tender_rng_done(&rng);
        if (r != 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO,
                                        "Failed to generate a P-256 key (mbedTLS -0x%04x)",
                                        (unsigned) -r);
        return 0;
}

int tender_pk_write_new_file(const char *path, const void *data, size_t len, mode_t mode,
                             struct tender_error *err) {
        _cleanup_close_ int fd =
                open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, mode);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "Failed to create %s",
                                              path);
        const unsigned char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        unlink(path);
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, e,
                                                      "Failed to write %s", path);
                }
                p += n;
                len -= (size_t) n;
        }
        if (fsync(fd) < 0) {
                int e = errno;
                unlink(path);
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, e, "Failed to fsync %s",
                                              path);
        }
        return 0;
}

int tender_pk_write_private_pem(mbedtls_pk_context *pk, const char *path,
                                struct tender_error *err) {
        unsigned char pem[TENDER_PK_FILE_MAX];
        int r = mbedtls_pk_write_key_pem(pk, pem, sizeof(pem));
        if (r != 0) {
                mbedtls_platform_zeroize(pem, sizeof(pem));
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO,
                                        "Failed to encode the private key (mbedTLS -0x%04x)",
                                        (unsigned) -r);
        }
        r = tender_pk_write_new_file(path, pem, strlen((char *) pem), 0600, err);
        mbedtls_platform_zeroize(pem, sizeof(pem));
        return r;
}
