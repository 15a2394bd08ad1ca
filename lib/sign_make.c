/* SPDX-License-Identifier: Apache-2.0 */
/* Release keys and signatures made (docs/publisher.md): the publisher's half of sign.h, in
 * libtender-make; the device links sign.c, which verifies. */
#include "tender/sign.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/pk.h>

#include "pk.h"
#include "sign_internal.h"
#include "tender/macro.h"

static void pk_freep(mbedtls_pk_context *pk) {
        mbedtls_pk_free(pk);
}

int tender_sign_keygen(const char *private_pem_path, const char *public_pem_path,
                       struct tender_error *err) {
        _cleanup_(pk_freep) mbedtls_pk_context pk;
        mbedtls_pk_init(&pk);
        int r = tender_pk_generate_p256(&pk, "tender-sign", err);
        if (r < 0)
                return r;
        unsigned char pub[TENDER_PK_FILE_MAX];
        if (mbedtls_pk_write_pubkey_pem(&pk, pub, sizeof(pub)) != 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO, "Failed to encode the key");
        r = tender_pk_write_private_pem(&pk, private_pem_path, err);
        if (r < 0)
                return r;
        r = tender_pk_write_new_file(public_pem_path, pub, strlen((char *) pub), 0644, err);
        if (r < 0) {
                unlink(private_pem_path);
                return r;
        }
        return 0;
}

int tender_sign(const char *private_pem_path, const void *data, size_t len, char **ret_sig,
                struct tender_error *err) {
        _cleanup_(tender_pk_private_done) struct tender_pk_private key = {0};
        int r = tender_pk_private_load(&key, private_pem_path, "tender-sign", err);
        if (r < 0)
                return r;
        r = tender_sign_check_p256(&key.pk, private_pem_path, err);
        if (r < 0)
                return r;
        char keyid[KEYID_HEX_LEN + 1];
        if (tender_sign_keyid(&key.pk, keyid) < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO, "Failed to hash");
        unsigned char der[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
        size_t der_len = 0;
        r = tender_pk_private_sign(&key, data, len, der, &der_len, err);
        if (r < 0)
                return r;

        char sighex[2 * sizeof(der) + 1];
        tender_pk_hex_encode(der, der_len, sighex);
        char *doc = NULL;
        if (asprintf(&doc, "{\"keyid\": \"%s\", \"method\": \"" SIG_METHOD "\", \"sig\": \"%s\"}\n",
                     keyid, sighex) < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        *ret_sig = doc;
        return 0;
}
