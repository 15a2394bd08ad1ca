/* SPDX-License-Identifier: Apache-2.0 */
/* TUF keys: parsing key objects, verifying raw signatures, and the publisher's P-256 keys. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/version.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <mbedtls/private_access.h>
#endif

#include "rng.h"
#include "tender/canonical_json.h"
#include "tender/digest.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/tuf.h"

#define KEY_PEM_MAX (16 * 1024) /* a PEM public key of RSA-8192 is under 2 KiB */
#define KEY_FILE_MAX (16 * 1024)
#define RSA_MIN_BITS 2048
#define SIG_MAX_BYTES 1024 /* RSA-8192 signatures are 1024 bytes */
#define PUBKEY_DER_MAX 2048

enum key_kind { KEY_UNUSABLE, KEY_ECDSA_P256, KEY_RSA_PSS };

struct tender_tuf_key {
        enum key_kind kind;
        char type[64]; /* keytype/scheme, for messages */
        mbedtls_pk_context pk;
        unsigned char der[PUBKEY_DER_MAX];
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

static mbedtls_ecp_group_id ec_group(mbedtls_pk_context *pk) {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        return mbedtls_pk_ec(*pk)->MBEDTLS_PRIVATE(grp).id;
#else
        return mbedtls_pk_ec(*pk)->grp.id;
#endif
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
                if ((t != MBEDTLS_PK_ECKEY && t != MBEDTLS_PK_ECDSA) ||
                    ec_group(&k->pk) != MBEDTLS_ECP_DP_SECP256R1)
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
        unsigned char der[PUBKEY_DER_MAX];
        int len = mbedtls_pk_write_pubkey_der(&k->pk, der, sizeof(der));
        if (len <= 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "key: cannot encode the %s public key", k->type);
        /* mbedTLS writes DER at the end of the buffer. */
        memcpy(k->der, der + sizeof(der) - (size_t) len, (size_t) len);
        k->der_len = (size_t) len;
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
        else
                k->kind = KEY_UNUSABLE; /* ed25519 and unknown types: listed, never counted */
        if (k->kind != KEY_UNUSABLE) {
                r = tender_json_get_string(keyval, "key.keyval", "public", true, &pub, err);
                if (r < 0)
                        return r;
                r = load_public(k, pub, err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(k);
        return 0;
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int hex_decode(const char *in, unsigned char *out, size_t max, size_t *ret_len) {
        size_t n = strnlen(in, 2 * max + 1);
        if (n == 0 || n % 2 != 0 || n / 2 > max)
                return -EINVAL;
        for (size_t i = 0; i < n / 2; i++) {
                int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (unsigned char) (hi << 4 | lo);
        }
        *ret_len = n / 2;
        return 0;
}

static void hex_encode(const unsigned char *in, size_t len, char *out) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < len; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 0xf];
        }
        out[2 * len] = '\0';
}

int tender_tuf_key_verify(const struct tender_tuf_key *k, const void *msg, size_t len,
                          const char *sig_hex, struct tender_error *err) {
        if (k->kind == KEY_UNUSABLE)
                return tender_error_set(err, TENDER_ERR_VERIFY, ENOTSUP,
                                        "key type %s is not supported", k->type);
        unsigned char sig[SIG_MAX_BYTES];
        size_t sig_len;
        if (hex_decode(sig_hex, sig, sizeof(sig), &sig_len) < 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "signature is not hex of at most %d bytes", SIG_MAX_BYTES);
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

/* --- publisher side --- */

static void pk_freep(mbedtls_pk_context *pk) {
        mbedtls_pk_free(pk);
}

/* Reads and parses an unencrypted PEM private key; must be EC P-256. */
static int load_private(const char *path, mbedtls_pk_context *pk, struct tender_rng *g,
                        struct tender_error *err) {
        _cleanup_free_ char *pem = NULL;
        size_t len;
        int r = tender_read_file_at(AT_FDCWD, path, KEY_FILE_MAX, &pem, &len);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, -r, "Failed to read %s",
                                              path);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        r = mbedtls_pk_parse_key(pk, (unsigned char *) pem, len + 1, NULL, 0,
                                 mbedtls_ctr_drbg_random, &g->drbg);
#else
        r = mbedtls_pk_parse_key(pk, (unsigned char *) pem, len + 1, NULL, 0);
#endif
        mbedtls_platform_zeroize(pem, len);
        if (r != 0)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "%s is not an unencrypted PEM private key", path);
        mbedtls_pk_type_t t = mbedtls_pk_get_type(pk);
        if ((t != MBEDTLS_PK_ECKEY && t != MBEDTLS_PK_ECDSA) ||
            ec_group(pk) != MBEDTLS_ECP_DP_SECP256R1)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "%s: tender-publish signs with EC P-256 keys only", path);
        return 0;
}

int tender_tuf_keygen(const char *private_pem_path, struct tender_error *err) {
        _cleanup_(pk_freep) mbedtls_pk_context pk;
        mbedtls_pk_init(&pk);
        struct tender_rng g;
        int r = tender_rng_init(&g, "tender-tuf", err);
        if (r < 0)
                return r;
        r = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
        if (r == 0)
                r = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk),
                                        mbedtls_ctr_drbg_random, &g.drbg);
        tender_rng_done(&g);
        unsigned char priv[KEY_FILE_MAX];
        if (r != 0 || mbedtls_pk_write_key_pem(&pk, priv, sizeof(priv)) != 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO,
                                        "Failed to generate a P-256 key");
        size_t len = strlen((char *) priv);
        _cleanup_close_ int fd =
                open(private_pem_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) {
                mbedtls_platform_zeroize(priv, sizeof(priv));
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "Failed to create %s",
                                              private_pem_path);
        }
        ssize_t n = write(fd, priv, len);
        mbedtls_platform_zeroize(priv, sizeof(priv));
        if (n != (ssize_t) len || fsync(fd) < 0) {
                int e = n < 0 || errno ? errno : EIO;
                unlink(private_pem_path);
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, e ? e : EIO,
                                              "Failed to write %s", private_pem_path);
        }
        return 0;
}

int tender_tuf_key_public(const char *private_pem_path, cJSON **ret, struct tender_error *err) {
        _cleanup_(pk_freep) mbedtls_pk_context pk;
        mbedtls_pk_init(&pk);
        struct tender_rng g;
        int r = tender_rng_init(&g, "tender-tuf", err);
        if (r < 0)
                return r;
        r = load_private(private_pem_path, &pk, &g, err);
        tender_rng_done(&g);
        if (r < 0)
                return r;
        unsigned char pem[KEY_PEM_MAX];
        if (mbedtls_pk_write_pubkey_pem(&pk, pem, sizeof(pem)) != 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO,
                                        "Failed to encode the public key of %s", private_pem_path);
        _cleanup_(cJSON_Deletep) cJSON *key = cJSON_CreateObject();
        cJSON *keyval = cJSON_CreateObject();
        if (!key || !keyval || !cJSON_AddItemToObject(key, "keyval", keyval)) {
                cJSON_Delete(keyval);
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        }
        if (!cJSON_AddStringToObject(key, "keytype", "ecdsa") ||
            !cJSON_AddStringToObject(key, "scheme", "ecdsa-sha2-nistp256") ||
            !cJSON_AddStringToObject(keyval, "public", (char *) pem))
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        *ret = TAKE_PTR(key);
        return 0;
}

int tender_tuf_sign(const char *private_pem_path, const void *msg, size_t len, char **ret_sig_hex,
                    struct tender_error *err) {
        _cleanup_(pk_freep) mbedtls_pk_context pk;
        mbedtls_pk_init(&pk);
        struct tender_rng g;
        int r = tender_rng_init(&g, "tender-tuf", err);
        if (r < 0)
                return r;
        r = load_private(private_pem_path, &pk, &g, err);
        if (r < 0) {
                tender_rng_done(&g);
                return r;
        }
        struct tender_digest hash;
        tender_sha256_buffer(msg, len, &hash);
        unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
        size_t sig_len = 0;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        r = mbedtls_pk_sign(&pk, MBEDTLS_MD_SHA256, hash.bytes, sizeof(hash.bytes), sig,
                            sizeof(sig), &sig_len, mbedtls_ctr_drbg_random, &g.drbg);
#else
        r = mbedtls_pk_sign(&pk, MBEDTLS_MD_SHA256, hash.bytes, sizeof(hash.bytes), sig, &sig_len,
                            mbedtls_ctr_drbg_random, &g.drbg);
#endif
        tender_rng_done(&g);
        if (r != 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO, "Failed to sign with %s",
                                        private_pem_path);
        char *hex = malloc(2 * sig_len + 1);
        if (!hex)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        hex_encode(sig, sig_len, hex);
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
