/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/sign.h"
#include "test.h"

static const char data[] = "{\"schemaVersion\": 1, \"app\": \"hello\"}\n";

/* A fresh temp dir (fixture.h) with a key pair in it, per test. */
struct keys {
        char dir[PATH_MAX];
        char priv[128], pub[128];
};

static int make_keys(struct keys *k, const char *prefix) {
        const struct fixture_dir *d = fixture_dir("sign");
        if (!d)
                return -EIO;
        snprintf(k->dir, sizeof(k->dir), "%s", d->path);
        snprintf(k->priv, sizeof(k->priv), "%s/%s.key", k->dir, prefix);
        snprintf(k->pub, sizeof(k->pub), "%s/%s.pub", k->dir, prefix);
        return tender_sign_keygen(k->priv, k->pub, NULL);
}

TEST(keygen_sign_verify) {
        struct keys k;
        ASSERT_OK(make_keys(&k, "release"));
        struct stat st;
        ASSERT_OK(stat(k.priv, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);

        _cleanup_free_ char *sig = NULL;
        struct tender_error err = {0};
        ASSERT_OK(tender_sign(k.priv, data, strlen(data), &sig, &err));
        ASSERT_CONTAINS(sig, "\"method\": \"ecdsa-sha2-nistp256\"");

        _cleanup_(tender_verifier_freep) struct tender_verifier *v = NULL;
        ASSERT_OK(tender_verifier_load(k.pub, &v, &err));
        ASSERT_EQ(strlen(tender_verifier_keyid(v)), 64);
        ASSERT_CONTAINS(sig, tender_verifier_keyid(v));
        ASSERT_OK(tender_verifier_check(v, data, strlen(data), sig, strlen(sig), &err));

        /* keygen never replaces an existing key */
        ASSERT_ERR(tender_sign_keygen(k.priv, k.pub, &err), EEXIST);
}

TEST(flipped_byte_refused) {
        struct keys k;
        ASSERT_OK(make_keys(&k, "release"));
        _cleanup_free_ char *sig = NULL;
        struct tender_error err = {0};
        ASSERT_OK(tender_sign(k.priv, data, strlen(data), &sig, &err));
        _cleanup_(tender_verifier_freep) struct tender_verifier *v = NULL;
        ASSERT_OK(tender_verifier_load(k.pub, &v, &err));

        char copy[sizeof(data)];
        memcpy(copy, data, sizeof(data));
        copy[10] ^= 0x01;
        ASSERT_ERR(tender_verifier_check(v, copy, strlen(copy), sig, strlen(sig), &err), EBADMSG);
        ASSERT_CONTAINS(err.message, "does not verify");
        ASSERT_CONTAINS(err.message, tender_verifier_keyid(v));
        /* one byte more or less is a different message too */
        ASSERT_ERR(tender_verifier_check(v, data, strlen(data) - 1, sig, strlen(sig), &err),
                   EBADMSG);
}

TEST(foreign_key_refused) {
        struct keys a, b;
        ASSERT_OK(make_keys(&a, "a"));
        ASSERT_OK(make_keys(&b, "b"));
        _cleanup_free_ char *sig = NULL;
        struct tender_error err = {0};
        ASSERT_OK(tender_sign(b.priv, data, strlen(data), &sig, &err));
        _cleanup_(tender_verifier_freep) struct tender_verifier *va = NULL, *vb = NULL;
        ASSERT_OK(tender_verifier_load(a.pub, &va, &err));
        ASSERT_OK(tender_verifier_load(b.pub, &vb, &err));
        ASSERT_FALSE(STREQ(tender_verifier_keyid(va), tender_verifier_keyid(vb)));

        ASSERT_ERR(tender_verifier_check(va, data, strlen(data), sig, strlen(sig), &err), EBADMSG);
        ASSERT_CONTAINS(err.message, tender_verifier_keyid(va));
        ASSERT_CONTAINS(err.message, tender_verifier_keyid(vb));

        /* a document claiming key a's id but signed by b: the id matches, the math does not */
        char forged[TENDER_SIGNATURE_MAX_SIZE];
        const char *p = strstr(sig, tender_verifier_keyid(vb));
        ASSERT_TRUE(p != NULL);
        snprintf(forged, sizeof(forged), "%.*s%s%s", (int) (p - sig), sig,
                 tender_verifier_keyid(va), p + 64);
        ASSERT_ERR(tender_verifier_check(va, data, strlen(data), forged, strlen(forged), &err),
                   EBADMSG);
        ASSERT_CONTAINS(err.message, "does not verify");
}

/* tmpl with "KEYID" replaced by id. */
static void subst(char *out, size_t size, const char *tmpl, const char *id) {
        const char *p = strstr(tmpl, "KEYID");
        if (p)
                snprintf(out, size, "%.*s%s%s", (int) (p - tmpl), tmpl, id, p + 5);
        else
                snprintf(out, size, "%s", tmpl);
}

TEST(malformed_documents_refused) {
        struct keys k;
        ASSERT_OK(make_keys(&k, "release"));
        struct tender_error err = {0};
        _cleanup_(tender_verifier_freep) struct tender_verifier *v = NULL;
        ASSERT_OK(tender_verifier_load(k.pub, &v, &err));
        const char *id = tender_verifier_keyid(v);
        char doc[TENDER_SIGNATURE_MAX_SIZE * 2];

        const char *bad[] = {
                "not json",
                "[]",
                "{\"keyid\": \"KEYID\", \"method\": \"ecdsa-sha2-nistp256\"}",
                "{\"keyid\": \"KEYID\", \"sig\": \"3045\"}",
                "{\"method\": \"ecdsa-sha2-nistp256\", \"sig\": \"3045\"}",
                "{\"keyid\": \"KEYID\", \"method\": \"ecdsa-sha2-nistp256\", \"sig\": \"30zz\"}",
                "{\"keyid\": \"KEYID\", \"method\": \"ecdsa-sha2-nistp256\", \"sig\": \"304\"}",
                "{\"keyid\": \"KEYID\", \"method\": \"ecdsa-sha2-nistp256\", \"sig\": \"3045AB\"}",
                "{\"keyid\": \"KEYID\", \"method\": \"rsassa-pss-sha256\", \"sig\": \"3045\"}",
                "{\"keyid\": \"abc\", \"method\": \"ecdsa-sha2-nistp256\", \"sig\": \"3045\"}",
                "{\"keyid\": \"KEYID\", \"method\": \"ecdsa-sha2-nistp256\", \"sig\": 12}",
                "{\"keyid\": \"KEYID\", \"method\": \"ecdsa-sha2-nistp256\", \"sig\": \"3045\", "
                "\"extra\": 1}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                subst(doc, sizeof(doc), bad[i], id);
                int r = tender_verifier_check(v, data, strlen(data), doc, strlen(doc), &err);
                if (r != -EINVAL)
                        TEST_FAIL_("document %zu (%s) gave %d, expected -EINVAL", i, doc, r);
        }

        /* a sig field longer than any P-256 signature */
        char big[400];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        snprintf(doc, sizeof(doc),
                 "{\"keyid\": \"%s\", \"method\": \"ecdsa-sha2-nistp256\", \"sig\": \"%s\"}", id,
                 big);
        ASSERT_ERR(tender_verifier_check(v, data, strlen(data), doc, strlen(doc), &err), EINVAL);

        /* a whole document over the limit */
        memset(doc, ' ', sizeof(doc) - 1);
        doc[0] = '{';
        doc[sizeof(doc) - 2] = '}';
        doc[sizeof(doc) - 1] = '\0';
        ASSERT_ERR(tender_verifier_check(v, data, strlen(data), doc, strlen(doc), &err), EINVAL);
        ASSERT_CONTAINS(err.message, "larger than");
}

TEST(rsa_key_refused) {
        struct keys k;
        ASSERT_OK(make_keys(&k, "release"));
        char rsa_path[160];
        snprintf(rsa_path, sizeof(rsa_path), "%s/rsa.pub", k.dir);

        mbedtls_entropy_context entropy;
        mbedtls_ctr_drbg_context drbg;
        mbedtls_pk_context pk;
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&drbg);
        mbedtls_pk_init(&pk);
        int r = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0);
        if (r == 0)
                r = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
        if (r == 0)
                r = mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), mbedtls_ctr_drbg_random, &drbg, 1024,
                                        65537);
        unsigned char pem[4096], priv[4096];
        if (r == 0)
                r = mbedtls_pk_write_pubkey_pem(&pk, pem, sizeof(pem));
        if (r == 0)
                r = mbedtls_pk_write_key_pem(&pk, priv, sizeof(priv));
        mbedtls_pk_free(&pk);
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
        ASSERT_EQ(r, 0);
        FILE *f = fopen(rsa_path, "we");
        ASSERT_TRUE(f != NULL);
        fputs((char *) pem, f);
        fclose(f);

        struct tender_error err = {0};
        struct tender_verifier *v = NULL;
        ASSERT_ERR(tender_verifier_load(rsa_path, &v, &err), EINVAL);
        ASSERT_TRUE(v == NULL);
        ASSERT_CONTAINS(err.message, "release keys must be EC P-256");
        ASSERT_CONTAINS(err.message, "RSA");

        /* Signing with an RSA private key is refused as well. */
        char rsa_priv[160];
        snprintf(rsa_priv, sizeof(rsa_priv), "%s/rsa.key", k.dir);
        f = fopen(rsa_priv, "we");
        ASSERT_TRUE(f != NULL);
        fputs((char *) priv, f);
        fclose(f);
        char *sig = NULL;
        ASSERT_ERR(tender_sign(rsa_priv, "data", 4, &sig, &err), EINVAL);
        ASSERT_TRUE(sig == NULL);
        ASSERT_CONTAINS(err.message, "release keys must be EC P-256");
        ASSERT_ERR(tender_sign(rsa_path, "data", 4, &sig, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "not an unencrypted PEM private key");

        /* not a key at all */
        ASSERT_ERR(tender_verifier_load(k.priv, &v, &err), EINVAL);
        ASSERT_ERR(tender_verifier_load("/nonexistent/key.pem", &v, &err), ENOENT);
}

TEST_MAIN()
