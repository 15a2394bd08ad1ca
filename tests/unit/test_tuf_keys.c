/* SPDX-License-Identifier: Apache-2.0 */
/* TUF keys and signatures: ECDSA P-256 edge cases, RSA-PSS (keys made by openssl when it is
 * installed), unsupported key types, thresholds counting each key once. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>

#include "tender/fileio.h"
#include "tender/tuf.h"
#include "test.h"

#define P256_N "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"

static char dir[64];

static int make_key(const char *name, char path[256], struct tender_tuf_key **ret,
                    cJSON **ret_pub) {
        struct tender_error err = {0};
        if (!dir[0]) {
                snprintf(dir, sizeof(dir), "/tmp/tender-tuf-keys.XXXXXX");
                if (!mkdtemp(dir))
                        return -errno;
        }
        snprintf(path, 256, "%s/%s.pem", dir, name);
        cJSON *pub = NULL;
        int r = tender_tuf_keygen(path, &err);
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

static void cleanup_dir(void) {
        char cmd[128];
        if (!dir[0])
                return;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        (void) !system(cmd);
        dir[0] = '\0';
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
        cleanup_dir();
}

TEST(unsupported_key_types_never_count) {
        const char *json = "{\"keytype\": \"ed25519\", \"scheme\": \"ed25519\", \"keyval\": "
                           "{\"public\": \"00112233\"}}";
        cJSON *obj = cJSON_Parse(json);
        struct tender_error err = {0};
        _cleanup_(tender_tuf_key_freep) struct tender_tuf_key *k = NULL;
        ASSERT_OK(tender_tuf_key_parse(obj, &k, &err));
        cJSON_Delete(obj);
        ASSERT_FALSE(tender_tuf_key_usable(k));
        ASSERT_ERR(tender_tuf_key_verify(k, "m", 1, "00", &err), ENOTSUP);
        ASSERT_CONTAINS(err.message, "ed25519");
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
        char d[] = "/tmp/tender-tuf-rsa.XXXXXX", cmd[1024];
        ASSERT_TRUE(mkdtemp(d) != NULL);
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
        ASSERT_CONTAINS(err.message, "EC P-256 keys only");
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
        snprintf(cmd, sizeof(cmd), "rm -rf %s", d);
        (void) !sh(cmd);
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
        cleanup_dir();
}

/* Two signatures under one key id make a document invalid, whatever they are; the key id is
 * shown with anything unusual in it replaced. */
TEST(signatures_under_one_keyid_are_invalid) {
        static const char doc[] =
                "{\"signatures\": [{\"keyid\": \"ab\\n\\u001b[31m\", \"sig\": \"00\"}, {\"keyid\": "
                "\"cd\", \"sig\": \"00\"}, {\"keyid\": \"ab\\n\\u001b[31m\", \"sig\": \"01\"}], "
                "\"signed\": {\"_type\": \"root\", \"spec_version\": \"1.0.31\", \"version\": 1, "
                "\"expires\": \"2099-01-01T00:00:00Z\", \"keys\": {}, \"roles\": {}}}";
        char d[] = "/tmp/tender-tuf-dup.XXXXXX";
        ASSERT_TRUE(mkdtemp(d) != NULL);
        int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct tender_error err = {0};
        ASSERT_ERR(tender_tuf_init(fd, doc, strlen(doc), &err), EINVAL);
        ASSERT_CONTAINS(err.message, "root: signatures: key id ab???31m signs more than once");
        ASSERT_FALSE(strchr(err.message, '\n') || strchr(err.message, '\033'));
        ASSERT_EQ(faccessat(fd, "root.json", F_OK, 0), -1);
        close(fd);
        rmdir(d);
}

TEST_MAIN()
