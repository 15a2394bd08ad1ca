/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/sign.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>

#include "pk.h"
#include "sign_internal.h"
#include "tender/digest.h"
#include "tender/json.h"

struct tender_verifier {
        mbedtls_pk_context pk;
        char keyid[KEYID_HEX_LEN + 1];
};

static const char *mbed_strerror(int code, char *buf, size_t size) {
        mbedtls_strerror(code, buf, size);
        return buf;
}

static int sha256(const void *data, size_t len, unsigned char out[32]) {
        const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
        if (!md || mbedtls_md(md, data, len, out) != 0)
                return -EIO;
        return 0;
}

/* Release keys are EC P-256 only: one algorithm means no downgrade or confusion attacks. */
int tender_sign_check_p256(mbedtls_pk_context *pk, const char *path, struct tender_error *err) {
        mbedtls_pk_type_t t = mbedtls_pk_get_type(pk);
        if (t != MBEDTLS_PK_ECKEY && t != MBEDTLS_PK_ECDSA)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "%s holds a %s key; release keys must be EC P-256", path,
                                        mbedtls_pk_get_name(pk));
        if (!tender_pk_is_p256(pk))
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "%s holds an EC key on another curve; release keys must "
                                        "be EC P-256",
                                        path);
        return 0;
}

int tender_sign_keyid(mbedtls_pk_context *pk, char out[KEYID_HEX_LEN + 1]) {
        unsigned char der[TENDER_PK_DER_MAX], hash[32];
        int n = tender_pk_public_der(pk, der);
        if (n < 0)
                return n;
        if (sha256(der, (size_t) n, hash) < 0)
                return -EIO;
        tender_pk_hex_encode(hash, sizeof(hash), out);
        return 0;
}

int tender_verifier_load(const char *public_pem_path, struct tender_verifier **ret,
                         struct tender_error *err) {
        _cleanup_free_ unsigned char *pem = NULL;
        size_t len;
        int r = tender_pk_read_file(public_pem_path, &pem, &len, err);
        if (r < 0)
                return r;

        _cleanup_free_ struct tender_verifier *v = calloc(1, sizeof(*v));
        if (!v)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        mbedtls_pk_init(&v->pk);
        r = mbedtls_pk_parse_public_key(&v->pk, pem, len);
        if (r != 0) {
                char msg[128];
                mbedtls_pk_free(&v->pk);
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "%s is not a PEM public key: %s", public_pem_path,
                                        mbed_strerror(r, msg, sizeof(msg)));
        }
        r = tender_sign_check_p256(&v->pk, public_pem_path, err);
        if (r >= 0 && tender_sign_keyid(&v->pk, v->keyid) < 0)
                r = tender_error_set(err, TENDER_ERR_SYSTEM, EIO,
                                     "Failed to encode the public key of %s", public_pem_path);
        if (r < 0) {
                mbedtls_pk_free(&v->pk);
                return r;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

void tender_verifier_free(struct tender_verifier *v) {
        if (!v)
                return;
        mbedtls_pk_free(&v->pk);
        free(v);
}

const char *tender_verifier_keyid(const struct tender_verifier *v) {
        return v->keyid;
}

/* A malformed document is -EINVAL whatever the JSON layer chose, as sign.h promises. */
static int malformed(struct tender_error *err) {
        if (err) {
                tender_error_prefix(err, "Malformed signature document");
                err->errnum = EINVAL;
        }
        return -EINVAL;
}

int tender_verifier_check(const struct tender_verifier *v, const void *data, size_t len,
                          const char *sig, size_t sig_len, struct tender_error *err) {
        static const char *const keys[] = {"keyid", "method", "sig", NULL};
        if (sig_len > TENDER_SIGNATURE_MAX_SIZE)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "Signature document is larger than %d bytes",
                                        TENDER_SIGNATURE_MAX_SIZE);
        _cleanup_(cJSON_Deletep) cJSON *doc = NULL;
        int r = tender_json_parse(sig, sig_len, TENDER_SIGNATURE_MAX_SIZE, 2, &doc, err);
        if (r < 0)
                return malformed(err);
        if (!cJSON_IsObject(doc))
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "Malformed signature document: not a JSON object");
        const char *keyid, *method, *sighex;
        r = tender_json_check_keys(doc, "", keys, err);
        if (r >= 0)
                r = tender_json_get_string(doc, "", "keyid", true, &keyid, err);
        if (r >= 0)
                r = tender_json_get_string(doc, "", "method", true, &method, err);
        if (r >= 0)
                r = tender_json_get_string(doc, "", "sig", true, &sighex, err);
        if (r < 0)
                return malformed(err);
        if (!STREQ(method, SIG_METHOD))
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "Malformed signature document: method \"%.64s\" is not "
                                        "\"" SIG_METHOD "\"",
                                        method);
        unsigned char keyid_bytes[32];
        size_t n;
        if (strlen(keyid) != KEYID_HEX_LEN ||
            tender_hex_decode(keyid, keyid_bytes, sizeof(keyid_bytes), &n, 0) < 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "Malformed signature document: keyid is not 64 "
                                        "lowercase hex digits");
        unsigned char der[MBEDTLS_ECDSA_MAX_LEN];
        size_t der_len;
        if (tender_hex_decode(sighex, der, sizeof(der), &der_len, 0) < 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "Malformed signature document: sig is not lowercase hex "
                                        "of at most %d bytes",
                                        (int) sizeof(der));
        if (!STREQ(keyid, v->keyid))
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "signature is by key %s, not by the release key %s", keyid,
                                        v->keyid);

        unsigned char hash[32];
        if (sha256(data, len, hash) < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO, "SHA-256 failed");
        /* pk_verify only reads the context; the cast drops const for mbedTLS 2.x's prototype. */
        r = mbedtls_pk_verify((mbedtls_pk_context *) &v->pk, MBEDTLS_MD_SHA256, hash, sizeof(hash),
                              der, der_len);
        if (r != 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "signature by key %s does not verify", v->keyid);
        return 0;
}
