/* SPDX-License-Identifier: Apache-2.0 */
/* TUF keys and signatures: ECDSA P-256 edge cases, RSA-PSS (keys made by openssl when it is
 * installed), Ed25519 (RFC 8032 vectors, keys made with libsodium, malformed and malleable
 * signatures), unsupported key types, thresholds counting each key once. */
#include <ctype.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tender/canonical_json.h"

#include "fixture.h"
#include "tender/fileio.h"
#include "tender/tuf.h"
#include "test.h"

#define P256_N "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"

static const char *dir; /* the test's fixture dir, made by its first make_key */

static void forget_dir(void *unused) {
        (void) unused;
        dir = NULL;
}

static int make_key(const char *name, char path[256], struct tender_tuf_key **ret,
                    cJSON **ret_pub) {
        struct tender_error err = {0};
        if (!dir) {
                const struct fixture_dir *d = fixture_dir("tuf-keys");
                if (!d)
                        return -EIO;
                dir = d->path;
                test_defer(forget_dir, NULL);
        }
        snprintf(path, 256, "%s/%s.pem", dir, name);
        cJSON *pub = NULL;
        int r = tender_tuf_keygen(path, TENDER_TUF_KEY_ECDSA_P256, &err);
        if (r >= 0)
                r = tender_tuf_key_public(path, &pub, &err);
        if (r >= 0)
                r = tender_tuf_key_parse(pub, ret, &err);
        if (r >= 0 && ret_pub)
                *ret_pub = pub;
        else
                cJSON_Delete(pub);
        return r;
}

TEST(ecdsa_sign_verify_and_bad_signatures) {
        char path[256];
        _cleanup_(tender_tuf_key_freep) struct tender_tuf_key *k = NULL;
        ASSERT_OK(make_key("a", path, &k, NULL));
        ASSERT_TRUE(tender_tuf_key_usable(k));
        struct tender_error err = {0};
        _cleanup_free_ char *sig = NULL;
        ASSERT_OK(tender_tuf_sign(path, "msg", 3, &sig, &err));
        ASSERT_OK(tender_tuf_key_verify(k, "msg", 3, sig, &err));
        ASSERT_ERR(tender_tuf_key_verify(k, "msh", 3, sig, &err), EBADMSG);
        ASSERT_CONTAINS(err.message, "bad ecdsa");
        static const char *const bad[] = {
                "3006020100020101",                                      /* r = 0 */
                "3006020101020100",                                      /* s = 0 */
                "3026020101022100" P256_N,                               /* s = n */
                "3026022100" P256_N "020101",                            /* r = n */
                "30250201010220ffffffffffffffffffffffffffffffffffffffff" /* s > n */
                "ffffffffffffffffffffffff",
                "3007020101020101",   /* wrong outer length */
                "300602010102010100", /* trailing byte */
                "02010102010101",     /* no SEQUENCE */
                "zz",                 /* not hex */
                "",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = tender_tuf_key_verify(k, "msg", 3, bad[i], &err);
                if (r >= 0)
                        TEST_FAIL_("signature %s accepted", bad[i]);
        }
        /* A valid signature with a byte appended is refused. */
        _cleanup_free_ char *longer = NULL;
        ASSERT_TRUE(asprintf(&longer, "%s00", sig) > 0);
        ASSERT_TRUE(tender_tuf_key_verify(k, "msg", 3, longer, &err) < 0);
}

TEST(unsupported_key_types_never_count) {
        const char *json = "{\"keytype\": \"ed448\", \"scheme\": \"ed448\", \"keyval\": "
                           "{\"public\": \"00112233\"}}";
        cJSON *obj = cJSON_Parse(json);
        struct tender_error err = {0};
        _cleanup_(tender_tuf_key_freep) struct tender_tuf_key *k = NULL;
        ASSERT_OK(tender_tuf_key_parse(obj, &k, &err));
        cJSON_Delete(obj);
        ASSERT_FALSE(tender_tuf_key_usable(k));
        ASSERT_ERR(tender_tuf_key_verify(k, "m", 1, "00", &err), ENOTSUP);
        ASSERT_CONTAINS(err.message, "ed448");
        /* An ed25519 key type with another scheme is not usable. */
        obj = cJSON_Parse("{\"keytype\": \"ed25519\", \"scheme\": \"ed25519ph\", "
                          "\"keyval\": {\"public\": \"x\"}}");
        tender_tuf_key_free(TAKE_PTR(k));
        ASSERT_OK(tender_tuf_key_parse(obj, &k, &err));
        cJSON_Delete(obj);
        ASSERT_FALSE(tender_tuf_key_usable(k));
        /* An ecdsa key type with another scheme is not usable either. */
        obj = cJSON_Parse("{\"keytype\": \"ecdsa\", \"scheme\": \"ecdsa-sha2-nistp384\", "
                          "\"keyval\": {\"public\": \"x\"}}");
        tender_tuf_key_free(TAKE_PTR(k));
        ASSERT_OK(tender_tuf_key_parse(obj, &k, &err));
        cJSON_Delete(obj);
        ASSERT_FALSE(tender_tuf_key_usable(k));
        /* A supported type with a key that is not PEM is malformed. */
        obj = cJSON_Parse("{\"keytype\": \"ecdsa\", \"scheme\": \"ecdsa-sha2-nistp256\", "
                          "\"keyval\": {\"public\": \"not pem\"}}");
        tender_tuf_key_free(TAKE_PTR(k));
        ASSERT_ERR(tender_tuf_key_parse(obj, &k, &err), EINVAL);
        cJSON_Delete(obj);
}

static int sh(const char *cmd) {
        int st = system(cmd);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static cJSON *rsa_key_obj(const char *pub_path) {
        _cleanup_free_ char *pem = NULL;
        if (tender_read_file_at(AT_FDCWD, pub_path, 1 << 16, &pem, NULL) < 0)
                return NULL;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "keytype", "rsa");
        cJSON_AddStringToObject(o, "scheme", "rsassa-pss-sha256");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "keyval"), "public", pem);
        return o;
}

TEST(rsa_pss_and_small_rsa_keys) {
        if (sh("command -v openssl >/dev/null") != 0)
                SKIP("openssl is not installed");
        char cmd[1024];
        const struct fixture_dir *t = fixture_dir("tuf-rsa");
        ASSERT_TRUE(t);
        const char *d = t->path;
        snprintf(cmd, sizeof(cmd),
                 "cd %s && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.pem "
                 "2>/dev/null && openssl pkey -in k.pem -pubout -out k.pub && printf msg > m && "
                 "openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 "
                 "-sign k.pem -out m.sig m && od -An -v -tx1 m.sig | tr -d ' \\n' > m.hex && "
                 "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out s.pem "
                 "2>/dev/null && openssl pkey -in s.pem -pubout -out s.pub",
                 d);
        ASSERT_EQ(sh(cmd), 0);
        char path[128];
        snprintf(path, sizeof(path), "%s/k.pub", d);
        cJSON *o = rsa_key_obj(path);
        struct tender_error err = {0};
        _cleanup_(tender_tuf_key_freep) struct tender_tuf_key *k = NULL;
        ASSERT_OK(tender_tuf_key_parse(o, &k, &err));
        cJSON_Delete(o);
        _cleanup_free_ char *sig = NULL;
        snprintf(path, sizeof(path), "%s/m.hex", d);
        ASSERT_OK(tender_read_file_at(AT_FDCWD, path, 4096, &sig, NULL));
        int r = tender_tuf_key_verify(k, "msg", 3, sig, &err);
        if (r < 0)
                fprintf(stderr, "%s\n", err.message);
        ASSERT_OK(r);
        ASSERT_ERR(tender_tuf_key_verify(k, "msG", 3, sig, &err), EBADMSG);
        /* The publisher signs with P-256 keys only; an RSA private key, a public key and a
         * missing file are refused (the shared key loader's error paths). */
        _cleanup_free_ char *none = NULL;
        cJSON *pub = NULL;
        snprintf(path, sizeof(path), "%s/k.pem", d);
        ASSERT_ERR(tender_tuf_sign(path, "msg", 3, &none, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "EC P-256 or Ed25519 keys only");
        ASSERT_ERR(tender_tuf_key_public(path, &pub, &err), EINVAL);
        ASSERT_TRUE(pub == NULL);
        snprintf(path, sizeof(path), "%s/k.pub", d);
        ASSERT_ERR(tender_tuf_sign(path, "msg", 3, &none, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "not an unencrypted PEM private key");
        snprintf(path, sizeof(path), "%s/missing.pem", d);
        ASSERT_ERR(tender_tuf_sign(path, "msg", 3, &none, &err), ENOENT);
        ASSERT_TRUE(none == NULL);
        snprintf(path, sizeof(path), "%s/s.pub", d);
        o = rsa_key_obj(path);
        tender_tuf_key_free(TAKE_PTR(k));
        ASSERT_ERR(tender_tuf_key_parse(o, &k, &err), EINVAL);
        cJSON_Delete(o);
        ASSERT_CONTAINS(err.message, "1024 bits");
}

/* A root whose root role lists one key under two ids with threshold 2, signed under both ids:
 * the key counts once. */
TEST(same_key_under_two_ids_counts_once) {
        char path[256];
        _cleanup_(tender_tuf_key_freep) struct tender_tuf_key *k = NULL;
        cJSON *pub = NULL;
        ASSERT_OK(make_key("root", path, &k, &pub));
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "_type", "root");
        cJSON_AddStringToObject(s, "spec_version", "1.0.31");
        cJSON_AddNumberToObject(s, "version", 1);
        cJSON_AddStringToObject(s, "expires", "2099-01-01T00:00:00Z");
        cJSON *keys = cJSON_AddObjectToObject(s, "keys"),
              *roles = cJSON_AddObjectToObject(s, "roles");
        cJSON_AddItemToObject(keys, "aa", cJSON_Duplicate(pub, 1));
        cJSON_AddItemToObject(keys, "bb", cJSON_Duplicate(pub, 1));
        static const char *const names[] = {"root", "timestamp", "snapshot", "targets"};
        for (size_t i = 0; i < 4; i++) {
                cJSON *r = cJSON_AddObjectToObject(roles, names[i]);
                cJSON *ids = cJSON_AddArrayToObject(r, "keyids");
                cJSON_AddItemToArray(ids, cJSON_CreateString("aa"));
                cJSON_AddItemToArray(ids, cJSON_CreateString("bb"));
                cJSON_AddNumberToObject(r, "threshold", 2);
        }
        struct tender_error err = {0};
        char *doc = NULL;
        size_t len;
        char *paths[] = {path};
        ASSERT_OK(tender_tuf_sign_metadata(s, paths, 1, &doc, &len, &err));
        /* Re-sign under both ids: swap the computed keyid for "aa" and add a "bb" copy. */
        cJSON *d = cJSON_Parse(doc);
        free(doc);
        cJSON *sig0 = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "signatures"), 0);
        cJSON_ReplaceItemInObject(sig0, "keyid", cJSON_CreateString("aa"));
        cJSON *sig1 = cJSON_Duplicate(sig0, 1);
        cJSON_ReplaceItemInObject(sig1, "keyid", cJSON_CreateString("bb"));
        cJSON_AddItemToArray(cJSON_GetObjectItem(d, "signatures"), sig1);
        doc = cJSON_Print(d);
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_ERR(tender_tuf_init(fd, doc, strlen(doc), &err), EBADMSG);
        ASSERT_CONTAINS(err.message, "root: signature threshold not met: 1 of 2");
        ASSERT_CONTAINS(err.message, "already counted");
        /* The same id listed twice in a role is malformed. */
        cJSON *ids = cJSON_GetObjectItem(
                cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "signed"), "roles"),
                                    "root"),
                "keyids");
        cJSON_ReplaceItemInArray(ids, 1, cJSON_CreateString("aa"));
        free(doc);
        doc = cJSON_Print(d);
        ASSERT_ERR(tender_tuf_init(fd, doc, strlen(doc), &err), EINVAL);
        ASSERT_CONTAINS(err.message, "listed twice");
        ASSERT_EQ(faccessat(fd, "root.json", F_OK, 0), -1);
        close(fd);
        free(doc);
        cJSON_Delete(d);
        cJSON_Delete(s);
        cJSON_Delete(pub);
}

/* Two signatures under one key id make a document invalid, whatever they are; the key id is
 * shown with anything unusual in it replaced. */
TEST(signatures_under_one_keyid_are_invalid) {
        static const char doc[] =
                "{\"signatures\": [{\"keyid\": \"ab\\n\\u001b[31m\", \"sig\": \"00\"}, {\"keyid\": "
                "\"cd\", \"sig\": \"00\"}, {\"keyid\": \"ab\\n\\u001b[31m\", \"sig\": \"01\"}], "
                "\"signed\": {\"_type\": \"root\", \"spec_version\": \"1.0.31\", \"version\": 1, "
                "\"expires\": \"2099-01-01T00:00:00Z\", \"keys\": {}, \"roles\": {}}}";
        const struct fixture_dir *t = fixture_dir("tuf-dup");
        ASSERT_TRUE(t);
        const char *d = t->path;
        int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct tender_error err = {0};
        ASSERT_ERR(tender_tuf_init(fd, doc, strlen(doc), &err), EINVAL);
        ASSERT_CONTAINS(err.message, "root: signatures: key id ab???31m signs more than once");
        ASSERT_FALSE(strchr(err.message, '\n') || strchr(err.message, '\033'));
        ASSERT_EQ(faccessat(fd, "root.json", F_OK, 0), -1);
        close(fd);
        rmdir(d);
}

static cJSON *ed25519_obj(const char *public_hex) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "keytype", "ed25519");
        cJSON_AddStringToObject(o, "scheme", "ed25519");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "keyval"), "public", public_hex);
        return o;
}

static int ed25519_key(const char *public_hex, struct tender_tuf_key **ret,
                       struct tender_error *err) {
        cJSON *o = ed25519_obj(public_hex);
        int r = tender_tuf_key_parse(o, ret, err);
        cJSON_Delete(o);
        return r;
}

static void unhex(const char *hex, unsigned char *out, size_t *len) {
        size_t n = strlen(hex) / 2;
        for (size_t i = 0; i < n; i++)
                sscanf(hex + 2 * i, "%2hhx", &out[i]);
        *len = n;
}

/* RFC 8032 section 7.1, tests 1 to 3: public key, message, signature. */
TEST(ed25519_rfc8032_vectors) {
        static const char *const v[][3] = {
                {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
                 "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                 "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
                {"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
                 "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                 "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
                {"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
                 "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
                 "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                struct tender_error err = {0};
                _cleanup_(tender_tuf_key_freep) struct tender_tuf_key *k = NULL;
                ASSERT_OK(ed25519_key(v[i][0], &k, &err));
                ASSERT_TRUE(tender_tuf_key_usable(k));
                ASSERT_STREQ(tender_tuf_key_type(k), "ed25519/ed25519");
                unsigned char msg[8];
                size_t len;
                unhex(v[i][1], msg, &len);
                int r = tender_tuf_key_verify(k, msg, len, v[i][2], &err);
                if (r < 0)
                        TEST_FAIL_("RFC 8032 test %zu: %s", i + 1, err.message);
                /* Another message, a changed signature, a signature of another vector. */
                msg[len] = 'x';
                ASSERT_ERR(tender_tuf_key_verify(k, msg, len + 1, v[i][2], &err), EBADMSG);
                ASSERT_CONTAINS(err.message, "bad ed25519/ed25519 signature");
                char sig[129];
                snprintf(sig, sizeof(sig), "%s", v[i][2]);
                sig[5] = sig[5] == '0' ? '1' : '0';
                ASSERT_ERR(tender_tuf_key_verify(k, msg, len, sig, &err), EBADMSG);
                ASSERT_ERR(tender_tuf_key_verify(k, msg, len, v[(i + 1) % 3][2], &err), EBADMSG);
        }
}

/* Keys and signatures libsodium makes here, over canonical-JSON-sized messages. */
TEST(ed25519_libsodium_keys) {
        ASSERT_TRUE(sodium_init() >= 0);
        unsigned char pk[2][crypto_sign_PUBLICKEYBYTES], sk[2][crypto_sign_SECRETKEYBYTES];
        char pk_hex[2][2 * crypto_sign_PUBLICKEYBYTES + 1];
        _cleanup_(tender_tuf_key_freep) struct tender_tuf_key *k0 = NULL, *k1 = NULL, *again = NULL;
        struct tender_error err = {0};
        for (int i = 0; i < 2; i++) {
                ASSERT_EQ(crypto_sign_keypair(pk[i], sk[i]), 0);
                sodium_bin2hex(pk_hex[i], sizeof(pk_hex[i]), pk[i], sizeof(pk[i]));
        }
        ASSERT_OK(ed25519_key(pk_hex[0], &k0, &err));
        ASSERT_OK(ed25519_key(pk_hex[1], &k1, &err));
        /* Upper-case hex is the same key. */
        for (char *c = pk_hex[0]; *c; c++)
                *c = (char) toupper((unsigned char) *c);
        ASSERT_OK(ed25519_key(pk_hex[0], &again, &err));
        ASSERT_TRUE(tender_tuf_key_equal(k0, again));
        ASSERT_FALSE(tender_tuf_key_equal(k0, k1));
        unsigned char msg[3000], sig[crypto_sign_BYTES];
        char sig_hex[2 * crypto_sign_BYTES + 1];
        for (size_t len = 0; len <= sizeof(msg); len += 1000) {
                randombytes_buf(msg, len);
                ASSERT_EQ(crypto_sign_detached(sig, NULL, msg, len, sk[0]), 0);
                sodium_bin2hex(sig_hex, sizeof(sig_hex), sig, sizeof(sig));
                ASSERT_OK(tender_tuf_key_verify(k0, msg, len, sig_hex, &err));
                ASSERT_ERR(tender_tuf_key_verify(k1, msg, len, sig_hex, &err), EBADMSG);
        }
}

/* S + L: the same signature in a second encoding (malleability), refused. */
static void add_l(unsigned char s[32]) {
        static const unsigned char l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a,       0x63,
                                            0x12, 0x58, 0xd6, 0x9c, 0xf7,       0xa2,
                                            0xde, 0xf9, 0xde, 0x14, [31] = 0x10};
        unsigned carry = 0;
        for (size_t i = 0; i < 32; i++) {
                carry += (unsigned) s[i] + l[i];
                s[i] = (unsigned char) carry;
                carry >>= 8;
        }
}

TEST(ed25519_malformed_and_malleable) {
        struct tender_error err = {0};
        _cleanup_(tender_tuf_key_freep) struct tender_tuf_key *k = NULL;
        static const char *const bad_keys[] = {
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f70751",     /* 31 B */
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a00", /* 33 B */
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511g",   /* not hex */
                "",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_keys); i++) {
                ASSERT_ERR(ed25519_key(bad_keys[i], &k, &err), EINVAL);
                ASSERT_CONTAINS(err.message, "ed25519 public key is not 64 hex digits");
        }
        ASSERT_OK(ed25519_key("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                              &k, &err));
        static const char good[] =
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
        char sig[300];
        /* One byte short, one byte long, not hex. */
        snprintf(sig, sizeof(sig), "%.126s", good);
        ASSERT_ERR(tender_tuf_key_verify(k, "", 0, sig, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "ed25519 signature of 63 bytes, not 64");
        snprintf(sig, sizeof(sig), "%s00", good);
        ASSERT_ERR(tender_tuf_key_verify(k, "", 0, sig, &err), EINVAL);
        snprintf(sig, sizeof(sig), "%.127sx", good);
        ASSERT_ERR(tender_tuf_key_verify(k, "", 0, sig, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "not hex");
        /* S + L verifies with a lax implementation; libsodium refuses it. */
        unsigned char raw[64];
        size_t len;
        unhex(good, raw, &len);
        add_l(raw + 32);
        sodium_bin2hex(sig, sizeof(sig), raw, sizeof(raw));
        ASSERT_ERR(tender_tuf_key_verify(k, "", 0, sig, &err), EBADMSG);
        /* The identity point as public key, R = identity and S = 0: "valid" for every message
         * to a check that does not refuse small-order points. */
        tender_tuf_key_free(TAKE_PTR(k));
        ASSERT_OK(ed25519_key("0100000000000000000000000000000000000000000000000000000000000000",
                              &k, &err));
        snprintf(sig, sizeof(sig), "01%0126d", 0);
        ASSERT_ERR(tender_tuf_key_verify(k, "anything", 8, sig, &err), EBADMSG);
}

/* A root of two Ed25519 keys, threshold 2, signed over its canonical JSON with libsodium. */
TEST(ed25519_root_threshold) {
        ASSERT_TRUE(sodium_init() >= 0);
        unsigned char pk[2][crypto_sign_PUBLICKEYBYTES], sk[2][crypto_sign_SECRETKEYBYTES];
        char pk_hex[2][65], keyid[2][65];
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "_type", "root");
        cJSON_AddStringToObject(s, "spec_version", "1.0.31");
        cJSON_AddNumberToObject(s, "version", 1);
        cJSON_AddStringToObject(s, "expires", "2099-01-01T00:00:00Z");
        cJSON *keys = cJSON_AddObjectToObject(s, "keys"),
              *roles = cJSON_AddObjectToObject(s, "roles");
        struct tender_error err = {0};
        for (int i = 0; i < 2; i++) {
                ASSERT_EQ(crypto_sign_keypair(pk[i], sk[i]), 0);
                sodium_bin2hex(pk_hex[i], sizeof(pk_hex[i]), pk[i], sizeof(pk[i]));
                cJSON *o = ed25519_obj(pk_hex[i]);
                ASSERT_OK(tender_tuf_keyid(o, keyid[i], &err));
                cJSON_AddItemToObject(keys, keyid[i], o);
        }
        static const char *const names[] = {"root", "timestamp", "snapshot", "targets"};
        for (size_t i = 0; i < 4; i++) {
                cJSON *r = cJSON_AddObjectToObject(roles, names[i]);
                cJSON *ids = cJSON_AddArrayToObject(r, "keyids");
                cJSON_AddItemToArray(ids, cJSON_CreateString(keyid[0]));
                cJSON_AddItemToArray(ids, cJSON_CreateString(keyid[1]));
                cJSON_AddNumberToObject(r, "threshold", 2);
        }
        _cleanup_free_ char *canon = NULL;
        size_t canon_len;
        ASSERT_OK(tender_canonical_json(s, &canon, &canon_len, &err));
        cJSON *doc = cJSON_CreateObject(), *sigs = cJSON_AddArrayToObject(doc, "signatures");
        cJSON_AddItemToObject(doc, "signed", s);
        for (int i = 0; i < 2; i++) {
                unsigned char sig[crypto_sign_BYTES];
                char hex[2 * crypto_sign_BYTES + 1];
                ASSERT_EQ(crypto_sign_detached(sig, NULL, (const unsigned char *) canon, canon_len,
                                               sk[i]),
                          0);
                sodium_bin2hex(hex, sizeof(hex), sig, sizeof(sig));
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "keyid", keyid[i]);
                cJSON_AddStringToObject(o, "sig", hex);
                cJSON_AddItemToArray(sigs, o);
        }
        const struct fixture_dir *t = fixture_dir("tuf-ed");
        ASSERT_TRUE(t);
        const char *d = t->path;
        int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char *text = cJSON_Print(doc);
        int r = tender_tuf_init(fd, text, strlen(text), &err);
        if (r < 0)
                fprintf(stderr, "%s\n", err.message);
        ASSERT_OK(r);
        free(text);
        /* The second signature spoiled: 1 of 2. */
        cJSON *sig1 = cJSON_GetArrayItem(sigs, 1);
        char spoiled[129];
        snprintf(spoiled, sizeof(spoiled), "%s", cJSON_GetObjectItem(sig1, "sig")->valuestring);
        spoiled[0] = spoiled[0] == 'a' ? 'b' : 'a';
        cJSON_ReplaceItemInObject(sig1, "sig", cJSON_CreateString(spoiled));
        text = cJSON_Print(doc);
        ASSERT_ERR(tender_tuf_init(fd, text, strlen(text), &err), EBADMSG);
        ASSERT_CONTAINS(err.message, "root: signature threshold not met: 1 of 2 needed (1 bad");
        ASSERT_CONTAINS(err.message, "bad ed25519/ed25519 signature");
        free(text);
        cJSON_Delete(doc);
        close(fd);
}

/* tender-publish's Ed25519 keys: PKCS#8 PEM files of mode 0600, never replacing a file, read
 * back into the key object; signatures through tender_tuf_sign verify; a file openssl made is
 * read the same way and gives openssl's public key. */
TEST(ed25519_publisher_keys) {
        char path[128], cmd[512];
        const struct fixture_dir *t = fixture_dir("tuf-edpub");
        ASSERT_TRUE(t);
        const char *d = t->path;
        snprintf(path, sizeof(path), "%s/k.pem", d);
        struct tender_error err = {0};
        ASSERT_OK(tender_tuf_keygen(path, TENDER_TUF_KEY_ED25519, &err));
        struct stat st;
        ASSERT_EQ(stat(path, &st), 0);
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_ERR(tender_tuf_keygen(path, TENDER_TUF_KEY_ED25519, &err), EEXIST);
        _cleanup_free_ char *pem = NULL;
        ASSERT_OK(tender_read_file_at(AT_FDCWD, path, 4096, &pem, NULL));
        ASSERT_TRUE(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
        cJSON *pub = NULL;
        ASSERT_OK(tender_tuf_key_public(path, &pub, &err));
        ASSERT_STREQ(cJSON_GetObjectItem(pub, "keytype")->valuestring, "ed25519");
        ASSERT_STREQ(cJSON_GetObjectItem(pub, "scheme")->valuestring, "ed25519");
        _cleanup_(tender_tuf_key_freep) struct tender_tuf_key *k = NULL;
        ASSERT_OK(tender_tuf_key_parse(pub, &k, &err));
        _cleanup_free_ char *sig = NULL;
        ASSERT_OK(tender_tuf_sign(path, "msg", 3, &sig, &err));
        ASSERT_EQ(strlen(sig), 128);
        ASSERT_OK(tender_tuf_key_verify(k, "msg", 3, sig, &err));
        ASSERT_ERR(tender_tuf_key_verify(k, "msG", 3, sig, &err), EBADMSG);
        if (sh("command -v openssl >/dev/null") == 0) {
                /* openssl reads ours and gives the same public key; we read openssl's. */
                snprintf(cmd, sizeof(cmd),
                         "openssl pkey -in %s -pubout -outform DER | tail -c 32 | od -An -v -tx1 "
                         "| tr -d ' \\n' > %s/pub.hex && openssl genpkey -algorithm ed25519 -out "
                         "%s/o.pem && openssl pkey -in %s/o.pem -pubout -outform DER | tail -c 32 "
                         "| od -An -v -tx1 | tr -d ' \\n' > %s/o.hex",
                         path, d, d, d, d);
                ASSERT_EQ(sh(cmd), 0);
                _cleanup_free_ char *hex = NULL, *ohex = NULL;
                snprintf(cmd, sizeof(cmd), "%s/pub.hex", d);
                ASSERT_OK(tender_read_file_at(AT_FDCWD, cmd, 4096, &hex, NULL));
                ASSERT_STREQ(hex, cJSON_GetObjectItem(cJSON_GetObjectItem(pub, "keyval"), "public")
                                          ->valuestring);
                snprintf(cmd, sizeof(cmd), "%s/o.hex", d);
                ASSERT_OK(tender_read_file_at(AT_FDCWD, cmd, 4096, &ohex, NULL));
                cJSON *opub = NULL;
                snprintf(cmd, sizeof(cmd), "%s/o.pem", d);
                ASSERT_OK(tender_tuf_key_public(cmd, &opub, &err));
                ASSERT_STREQ(ohex,
                             cJSON_GetObjectItem(cJSON_GetObjectItem(opub, "keyval"), "public")
                                     ->valuestring);
                cJSON_Delete(opub);
        }
        cJSON_Delete(pub);
}

TEST_MAIN()
