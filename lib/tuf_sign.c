/* SPDX-License-Identifier: Apache-2.0 */
/* The publisher's TUF keys (EC P-256 and Ed25519): generation, public key objects, signing
 * (docs/tuf.md). In libtender-make; the device links tuf_key.c, which verifies. */
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <sodium.h>

#include "pk.h"
#include "tender/canonical_json.h"
#include "tender/json.h"
#include "tender/tuf.h"

static void pk_freep(mbedtls_pk_context *pk) {
        mbedtls_pk_free(pk);
}

/* Loads an unencrypted PEM private key, which must be EC P-256 (Ed25519 keys are found
 * before: ed25519_load). */
static int load_private(struct tender_pk_private *k, const char *path, struct tender_error *err) {
        int r = tender_pk_private_load(k, path, "tender-tuf", err);
        if (r < 0)
                return r;
        if (!tender_pk_is_p256(&k->pk))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "%s: tender-publish signs with EC P-256 or Ed25519 keys "
                                        "only",
                                        path);
        return 0;
}

/* An Ed25519 private key file is PKCS#8 (RFC 8410) in PEM, as `openssl genpkey -algorithm
 * ed25519` writes it: this DER prefix, then the 32-byte seed. mbedTLS cannot read it. */
static const unsigned char ED25519_PKCS8[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                                0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
#define PKCS8_BEGIN "-----BEGIN PRIVATE KEY-----"
#define PKCS8_END "-----END PRIVATE KEY-----"

struct ed25519_private {
        unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
};

static void ed25519_private_wipe(struct ed25519_private *k) {
        sodium_memzero(k, sizeof(*k));
}

/* The DER between the PEM lines of a PKCS#8 file, when it is an Ed25519 key: 1 and the key,
 * 0 when the file is some other key (or no key: load_private says what is wrong), < 0 when
 * it cannot be read. */
static int ed25519_load(const char *path, struct ed25519_private *k, struct tender_error *err) {
        unsigned char *pem = NULL;
        size_t len;
        int r = tender_pk_read_file(path, &pem, &len, err);
        if (r < 0)
                return r;
        unsigned char b64[128], der[96];
        size_t n = 0, der_len = 0;
        const char *begin = strstr((char *) pem, PKCS8_BEGIN), *end = NULL;
        if (begin)
                end = strstr(begin, PKCS8_END);
        for (const char *c = begin ? begin + strlen(PKCS8_BEGIN) : NULL; end && c < end; c++)
                if (!strchr(" \t\r\n", *c) && n < sizeof(b64))
                        b64[n++] = (unsigned char) *c;
        bool found = end && n < sizeof(b64) &&
                     mbedtls_base64_decode(der, sizeof(der), &der_len, b64, n) == 0 &&
                     der_len == sizeof(ED25519_PKCS8) + crypto_sign_SEEDBYTES &&
                     memcmp(der, ED25519_PKCS8, sizeof(ED25519_PKCS8)) == 0;
        if (found && crypto_sign_seed_keypair(k->pk, k->sk, der + sizeof(ED25519_PKCS8)) != 0)
                found = false;
        mbedtls_platform_zeroize(b64, sizeof(b64));
        mbedtls_platform_zeroize(der, sizeof(der));
        mbedtls_platform_zeroize(pem, len);
        free(pem);
        return found;
}

static int ed25519_generate(const char *path, struct tender_error *err) {
        if (sodium_init() < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO,
                                        "libsodium failed to initialise");
        _cleanup_(ed25519_private_wipe) struct ed25519_private k;
        unsigned char der[sizeof(ED25519_PKCS8) + crypto_sign_SEEDBYTES];
        char pem[160];
        size_t n = 0;
        crypto_sign_keypair(k.pk, k.sk);
        memcpy(der, ED25519_PKCS8, sizeof(ED25519_PKCS8));
        crypto_sign_ed25519_sk_to_seed(der + sizeof(ED25519_PKCS8), k.sk);
        size_t head = strlen(PKCS8_BEGIN "\n");
        memcpy(pem, PKCS8_BEGIN "\n", head);
        int r = mbedtls_base64_encode((unsigned char *) pem + head, sizeof(pem) - head, &n, der,
                                      sizeof(der));
        mbedtls_platform_zeroize(der, sizeof(der));
        if (r != 0 || head + n + strlen("\n" PKCS8_END "\n") >= sizeof(pem)) {
                mbedtls_platform_zeroize(pem, sizeof(pem));
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO,
                                        "Failed to encode the private key");
        }
        strcpy(pem + head + n, "\n" PKCS8_END "\n");
        r = tender_pk_write_new_file(path, pem, strlen(pem), 0600, err);
        mbedtls_platform_zeroize(pem, sizeof(pem));
        return r;
}

int tender_tuf_keygen(const char *private_pem_path, enum tender_tuf_keytype type,
                      struct tender_error *err) {
        if (type == TENDER_TUF_KEY_ED25519)
                return ed25519_generate(private_pem_path, err);
        _cleanup_(pk_freep) mbedtls_pk_context pk;
        mbedtls_pk_init(&pk);
        int r = tender_pk_generate_p256(&pk, "tender-tuf", err);
        if (r < 0)
                return r;
        return tender_pk_write_private_pem(&pk, private_pem_path, err);
}

static cJSON *key_object(const char *keytype, const char *scheme, const char *public) {
        _cleanup_(cJSON_Deletep) cJSON *key = cJSON_CreateObject();
        cJSON *keyval = cJSON_CreateObject();
        if (!key || !keyval || !cJSON_AddItemToObject(key, "keyval", keyval)) {
                cJSON_Delete(keyval);
                return NULL;
        }
        if (!cJSON_AddStringToObject(key, "keytype", keytype) ||
            !cJSON_AddStringToObject(key, "scheme", scheme) ||
            !cJSON_AddStringToObject(keyval, "public", public))
                return NULL;
        return TAKE_PTR(key);
}

int tender_tuf_key_public(const char *private_pem_path, cJSON **ret, struct tender_error *err) {
        _cleanup_(ed25519_private_wipe) struct ed25519_private ed;
        int r = ed25519_load(private_pem_path, &ed, err);
        if (r < 0)
                return r;
        cJSON *key;
        if (r > 0) {
                char hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
                tender_pk_hex_encode(ed.pk, sizeof(ed.pk), hex);
                key = key_object("ed25519", "ed25519", hex);
        } else {
                _cleanup_(tender_pk_private_done) struct tender_pk_private k = {0};
                r = load_private(&k, private_pem_path, err);
                if (r < 0)
                        return r;
                unsigned char pem[TENDER_PK_FILE_MAX];
                if (mbedtls_pk_write_pubkey_pem(&k.pk, pem, sizeof(pem)) != 0)
                        return tender_error_set(err, TENDER_ERR_SYSTEM, EIO,
                                                "Failed to encode the public key of %s",
                                                private_pem_path);
                key = key_object("ecdsa", "ecdsa-sha2-nistp256", (char *) pem);
        }
        if (!key)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        *ret = key;
        return 0;
}

/* Signs with the key of the file: Ed25519 over the message itself, or ECDSA P-256 over its
 * SHA-256 (DER). */
static int sign_raw(const char *path, const void *msg, size_t len,
                    unsigned char sig[static MBEDTLS_PK_SIGNATURE_MAX_SIZE], size_t *ret_len,
                    struct tender_error *err) {
        _cleanup_(ed25519_private_wipe) struct ed25519_private ed;
        int r = ed25519_load(path, &ed, err);
        if (r < 0)
                return r;
        if (r > 0) {
                unsigned long long n = 0;
                crypto_sign_detached(sig, &n, msg, len, ed.sk);
                *ret_len = (size_t) n;
                return 0;
        }
        _cleanup_(tender_pk_private_done) struct tender_pk_private k = {0};
        r = load_private(&k, path, err);
        if (r < 0)
                return r;
        return tender_pk_private_sign(&k, msg, len, sig, ret_len, err);
}

int tender_tuf_sign(const char *private_pem_path, const void *msg, size_t len, char **ret_sig_hex,
                    struct tender_error *err) {
        unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
        size_t sig_len = 0;
        int r = sign_raw(private_pem_path, msg, len, sig, &sig_len, err);
        if (r < 0)
                return r;
        char *hex = malloc(2 * sig_len + 1);
        if (!hex)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        tender_pk_hex_encode(sig, sig_len, hex);
        *ret_sig_hex = hex;
        return 0;
}

int tender_tuf_sign_metadata(const cJSON *signed_obj, char *const *private_pem_paths, size_t n_keys,
                             char **ret, size_t *ret_len, struct tender_error *err) {
        _cleanup_free_ char *canon = NULL;
        size_t canon_len;
        int r = tender_canonical_json(signed_obj, &canon, &canon_len, err);
        if (r < 0)
                return r;
        _cleanup_(cJSON_Deletep) cJSON *doc = cJSON_CreateObject();
        cJSON *sigs = cJSON_AddArrayToObject(doc, "signatures");
        cJSON *copy = cJSON_Duplicate(signed_obj, true);
        if (!doc || !sigs || !copy || !cJSON_AddItemToObject(doc, "signed", copy)) {
                cJSON_Delete(copy);
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n_keys; i++) {
                _cleanup_(cJSON_Deletep) cJSON *pub = NULL;
                _cleanup_free_ char *sig = NULL;
                char keyid[65];
                r = tender_tuf_key_public(private_pem_paths[i], &pub, err);
                if (r >= 0)
                        r = tender_tuf_keyid(pub, keyid, err);
                if (r >= 0)
                        r = tender_tuf_sign(private_pem_paths[i], canon, canon_len, &sig, err);
                if (r < 0)
                        return r;
                cJSON *s = cJSON_CreateObject();
                if (!s || !cJSON_AddItemToArray(sigs, s) ||
                    !cJSON_AddStringToObject(s, "keyid", keyid) ||
                    !cJSON_AddStringToObject(s, "sig", sig))
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        }
        char *out = cJSON_Print(doc);
        if (!out)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        *ret = out;
        if (ret_len)
                *ret_len = strlen(out);
        return 0;
}
