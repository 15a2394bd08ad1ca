/* SPDX-License-Identifier: Apache-2.0 */
/* TUF keys: parsing key objects, verifying raw signatures (ECDSA P-256 and RSA-PSS through
 * mbedTLS, Ed25519 through libsodium). The publisher's keys and signing: tuf_sign.c. */
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <sodium.h>

#include "pk.h"
#include "tender/canonical_json.h"
#include "tender/digest.h"
#include "tender/json.h"
#include "tender/tuf.h"

#define KEY_PEM_MAX (16 * 1024) /* a PEM public key of RSA-8192 is under 2 KiB */
#define RSA_MIN_BITS 2048
#define SIG_MAX_BYTES 1024 /* RSA-8192 signatures are 1024 bytes */

enum key_kind { KEY_UNUSABLE, KEY_ECDSA_P256, KEY_RSA_PSS, KEY_ED25519 };

struct tender_tuf_key {
        enum key_kind kind;
        char type[64]; /* keytype/scheme, for messages */
        mbedtls_pk_context pk;
        /* The public key's bytes: DER SubjectPublicKeyInfo (ECDSA, RSA) or the raw 32 bytes
         * (Ed25519), for equality and Ed25519 verification. */
        unsigned char der[TENDER_PK_DER_MAX];
        size_t der_len;
};

void tender_tuf_key_free(struct tender_tuf_key *k) {
        if (!k)
                return;
        mbedtls_pk_free(&k->pk);
        free(k);
}

bool tender_tuf_key_usable(const struct tender_tuf_key *k) {
        return k && k->kind != KEY_UNUSABLE;
}

const char *tender_tuf_key_type(const struct tender_tuf_key *k) {
        return k->type;
}

bool tender_tuf_key_equal(const struct tender_tuf_key *a, const struct tender_tuf_key *b) {
        return a->kind != KEY_UNUSABLE && a->kind == b->kind && a->der_len == b->der_len &&
               memcmp(a->der, b->der, a->der_len) == 0;
}

/* Loads keyval.public (PEM) and checks it is what keytype/scheme claim. */
static int load_public(struct tender_tuf_key *k, const char *pem, struct tender_error *err) {
        size_t n = strnlen(pem, KEY_PEM_MAX + 1);
        if (n > KEY_PEM_MAX)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "key: public key longer than %d bytes", KEY_PEM_MAX);
        /* mbedTLS wants the terminating NUL counted for PEM input. */
        if (mbedtls_pk_parse_public_key(&k->pk, (const unsigned char *) pem, n + 1) != 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "key: %s public key is not a PEM SubjectPublicKeyInfo",
                                        k->type);
        mbedtls_pk_type_t t = mbedtls_pk_get_type(&k->pk);
        if (k->kind == KEY_ECDSA_P256) {
                if (!tender_pk_is_p256(&k->pk))
                        return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                                "key: %s key is not on curve P-256", k->type);
        } else {
                if (t != MBEDTLS_PK_RSA)
                        return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                                "key: %s key is not an RSA key", k->type);
                size_t bits = mbedtls_pk_get_bitlen(&k->pk);
                if (bits < RSA_MIN_BITS)
                        return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                                "key: RSA key of %zu bits, under the minimum of %d",
                                                bits, RSA_MIN_BITS);
        }
        int len = tender_pk_public_der(&k->pk, k->der);
        if (len < 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "key: cannot encode the %s public key", k->type);
        k->der_len = (size_t) len;
        return 0;
}

/* keyval.public of an Ed25519 key: exactly 64 hex digits, the 32 bytes of the point (RFC 8032
 * encoding). Whether they are a usable point is libsodium's to say when verifying. */
static int load_ed25519(struct tender_tuf_key *k, const char *hex, struct tender_error *err) {
        size_t n = 0;
        if (strnlen(hex, 2 * crypto_sign_PUBLICKEYBYTES + 1) != 2 * crypto_sign_PUBLICKEYBYTES ||
            tender_hex_decode(hex, k->der, crypto_sign_PUBLICKEYBYTES, &n, TENDER_HEX_ANY_CASE) < 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "key: ed25519 public key is not %d hex digits",
                                        2 * crypto_sign_PUBLICKEYBYTES);
        k->der_len = n;
        if (sodium_init() < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO,
                                        "key: libsodium failed to initialise");
        return 0;
}

int tender_tuf_key_parse(const cJSON *obj, struct tender_tuf_key **ret, struct tender_error *err) {
        const char *keytype = NULL, *scheme = NULL, *pub = NULL;
        const cJSON *keyval = NULL;
        int r = tender_json_get_string(obj, "key", "keytype", true, &keytype, err);
        if (r >= 0)
                r = tender_json_get_string(obj, "key", "scheme", true, &scheme, err);
        if (r >= 0)
                r = tender_json_get_object(obj, "key", "keyval", true, &keyval, err);
        if (r < 0)
                return r;
        _cleanup_(tender_tuf_key_freep) struct tender_tuf_key *k = calloc(1, sizeof(*k));
        if (!k)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        mbedtls_pk_init(&k->pk);
        snprintf(k->type, sizeof(k->type), "%.30s/%.30s", keytype, scheme);
        if ((STREQ(keytype, "ecdsa") || STREQ(keytype, "ecdsa-sha2-nistp256")) &&
            STREQ(scheme, "ecdsa-sha2-nistp256"))
                k->kind = KEY_ECDSA_P256;
        else if (STREQ(keytype, "rsa") && STREQ(scheme, "rsassa-pss-sha256"))
                k->kind = KEY_RSA_PSS;
        else if (STREQ(keytype, "ed25519") && STREQ(scheme, "ed25519"))
                k->kind = KEY_ED25519;
        else
                k->kind = KEY_UNUSABLE; /* unknown types: listed, never counted */
        if (k->kind != KEY_UNUSABLE) {
                r = tender_json_get_string(keyval, "key.keyval", "public", true, &pub, err);
                if (r < 0)
                        return r;
                r = k->kind == KEY_ED25519 ? load_ed25519(k, pub, err) : load_public(k, pub, err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(k);
        return 0;
}

/* Ed25519 signs the message itself (no prehash). libsodium refuses S >= L (malleability),
 * small-order R and public keys, and non-canonical encodings. */
static int verify_ed25519(const struct tender_tuf_key *k, const void *msg, size_t len,
                          const unsigned char *sig, size_t sig_len, struct tender_error *err) {
        if (sig_len != crypto_sign_BYTES)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "ed25519 signature of %zu bytes, not %d", sig_len,
                                        crypto_sign_BYTES);
        if (crypto_sign_verify_detached(sig, msg, len, k->der) != 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG, "bad %s signature",
                                        k->type);
        return 0;
}

int tender_tuf_key_verify(const struct tender_tuf_key *k, const void *msg, size_t len,
                          const char *sig_hex, struct tender_error *err) {
        if (k->kind == KEY_UNUSABLE)
                return tender_error_set(err, TENDER_ERR_VERIFY, ENOTSUP,
                                        "key type %s is not supported", k->type);
        unsigned char sig[SIG_MAX_BYTES];
        size_t sig_len;
        if (tender_hex_decode(sig_hex, sig, sizeof(sig), &sig_len, TENDER_HEX_ANY_CASE) < 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "signature is not hex of at most %d bytes", SIG_MAX_BYTES);
        if (k->kind == KEY_ED25519)
                return verify_ed25519(k, msg, len, sig, sig_len, err);
        struct tender_digest hash;
        tender_sha256_buffer(msg, len, &hash);
        /* The context is only read; mbedTLS' API is not const-correct. */
        mbedtls_pk_context *pk = (mbedtls_pk_context *) &k->pk;
        int r;
        if (k->kind == KEY_ECDSA_P256) {
                /* mbedTLS refuses r or s outside [1, n-1], trailing bytes and malformed DER. */
                r = mbedtls_pk_verify(pk, MBEDTLS_MD_SHA256, hash.bytes, sizeof(hash.bytes), sig,
                                      sig_len);
        } else {
                mbedtls_pk_rsassa_pss_options opts = {
                        .mgf1_hash_id = MBEDTLS_MD_SHA256,
                        .expected_salt_len = MBEDTLS_RSA_SALT_LEN_ANY,
                };
                r = mbedtls_pk_verify_ext(MBEDTLS_PK_RSASSA_PSS, &opts, pk, MBEDTLS_MD_SHA256,
                                          hash.bytes, sizeof(hash.bytes), sig, sig_len);
        }
        if (r != 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "bad %s signature (mbedTLS -0x%04x)", k->type,
                                        (unsigned) -r);
        return 0;
}

int tender_tuf_keyid(const cJSON *key_obj, char ret[static 65], struct tender_error *err) {
        _cleanup_free_ char *canon = NULL;
        size_t len;
        int r = tender_canonical_json(key_obj, &canon, &len, err);
        if (r < 0)
                return r;
        struct tender_digest d;
        tender_sha256_buffer(canon, len, &d);
        tender_digest_hex(&d, ret);
        return 0;
}
