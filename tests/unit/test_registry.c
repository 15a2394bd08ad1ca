/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI registry blob source: challenge parsing, the Bearer token flow and the redirect to
 * storage against the test peer's registry emulation (tests/integration/downloads_peer.py),
 * and, when tests/integration/registry.sh provides one, blobs from a real docker-registry
 * (TENDER_REGISTRY_URL, TENDER_REGISTRY_REPO, TENDER_REGISTRY_BLOBS="sha256:<hex>:<size> ...").
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fixture.h"
#include "tender/registry.h"
#include "test.h"
#include "test_http_peer.h"

#define BLOB_SIZE (200 * 1000 + 1)
#define REAL_BLOBS_MAX 16

static uint8_t blob[BLOB_SIZE];

static void no_sleep(_unused_ uint64_t ms, void *userdata) {
        (*(unsigned *) userdata)++;
}

TEST(parse_challenge) {
        _cleanup_free_ char *realm = NULL, *service = NULL, *scope = NULL;
        ASSERT_OK(tender_registry_parse_challenge(
                "Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
                "scope=\"repository:a/b:pull\"",
                &realm, &service, &scope));
        ASSERT_STREQ(realm, "https://auth.example/token");
        ASSERT_STREQ(service, "registry.example");
        ASSERT_STREQ(scope, "repository:a/b:pull");
        free(realm);
        free(service);
        free(scope);
        realm = service = scope = NULL;

        /* Unquoted values, other parameters, escapes, no scope. */
        ASSERT_OK(tender_registry_parse_challenge(
                "bearer  realm=http://x/t, error=\"invalid_token\", service=\"a\\\"b\"", &realm,
                &service, &scope));
        ASSERT_STREQ(realm, "http://x/t");
        ASSERT_STREQ(service, "a\"b");
        ASSERT_TRUE(scope == NULL);
        free(realm);
        free(service);
        realm = service = NULL;

        char *a = NULL, *b = NULL, *c = NULL;
        ASSERT_ERR(tender_registry_parse_challenge("Basic realm=\"x\"", &a, &b, &c), EINVAL);
        ASSERT_ERR(tender_registry_parse_challenge("Bearer service=\"x\"", &a, &b, &c), EINVAL);
        ASSERT_ERR(tender_registry_parse_challenge("Bearer realm=\"x\",realm=\"y\"", &a, &b, &c),
                   EINVAL);
        ASSERT_ERR(tender_registry_parse_challenge("Bearer realm=\"unterminated", &a, &b, &c),
                   EINVAL);
        ASSERT_ERR(tender_registry_parse_challenge("Bearer realm", &a, &b, &c), EINVAL);
        ASSERT_ERR(tender_registry_parse_challenge("", &a, &b, &c), EINVAL);
        ASSERT_TRUE(a == NULL && b == NULL && c == NULL);
}

TEST(new_refuses_bad_urls) {
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;
        struct tender_registry *r = NULL;
        ASSERT_OK(tender_http_new(NULL, &h));
        ASSERT_ERR(tender_registry_new(h, "ftp://x", NULL, &r), EINVAL);
        ASSERT_ERR(tender_registry_new(h, "https://x/path", NULL, &r), EINVAL);
        ASSERT_OK(tender_registry_new(h, "https://x:5000/", NULL, &r));
        tender_registry_free(r);
}

#define SETUP_REG(p, h, reg, hopts, ropts, ...)                                                    \
        _cleanup_(peer_stop) struct peer p = {.dlfd = -1};                                         \
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;                                 \
        _cleanup_(tender_registry_freep) struct tender_registry *reg = NULL;                       \
        struct tender_error err = {0};                                                             \
        struct tender_registry_blob b = {.repository = "tender/hello", .size = BLOB_SIZE};         \
        char base[128];                                                                            \
        int _rr;                                                                                   \
        for (size_t i = 0; i < BLOB_SIZE; i++)                                                     \
                blob[i] = (uint8_t) (i * 31 + i / 7);                                              \
        tender_sha256_buffer(blob, BLOB_SIZE, &b.digest);                                          \
        _rr = peer_start(&p, blob, BLOB_SIZE, NULL, 0, (const char *const[]){__VA_ARGS__ NULL});   \
        if (_rr == -ENOENT)                                                                        \
                SKIP("python3 or the peer script is missing");                                     \
        ASSERT_OK(_rr);                                                                            \
        ASSERT_OK(tender_http_new(hopts, &h));                                                     \
        ASSERT_OK(tender_registry_new(h, peer_url(&p, false, "", base, sizeof(base)), ropts, &reg))

static const struct tender_http_options quick = {.timeout_sec = 15};

TEST(token_flow) {
        SETUP_REG(p, h, reg, &quick, NULL);
        long long bytes = 0;
        ASSERT_OK(tender_registry_fetch_blob(reg, &b, p.dlfd, "b", NULL, &err));
        ASSERT_TRUE(fixture_file_is(p.dlfd, "b", blob, BLOB_SIZE));
        ASSERT_EQ(peer_count(&p, h, false, "/v2", NULL), 2); /* 401, then with the token */
        ASSERT_EQ(peer_count(&p, h, false, "/token", NULL), 1);

        /* The token is kept; a half-fetched blob resumes with it. */
        int fd = openat(p.dlfd, "c.part", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, blob, BLOB_SIZE / 2), BLOB_SIZE / 2);
        close(fd);
        long long before = 0;
        ASSERT_EQ(peer_count(&p, h, false, "/v2", &before), 2);
        ASSERT_OK(tender_registry_fetch_blob(reg, &b, p.dlfd, "c", NULL, &err));
        ASSERT_TRUE(fixture_file_is(p.dlfd, "c", blob, BLOB_SIZE));
        ASSERT_EQ(peer_count(&p, h, false, "/v2", &bytes), 3);
        ASSERT_EQ(peer_count(&p, h, false, "/token", NULL), 1);
        ASSERT_EQ(bytes - before, BLOB_SIZE - BLOB_SIZE / 2);
}

TEST(token_with_basic_credentials) {
        struct tender_registry_options good = {.username = "dev", .password = "s3cret"};
        SETUP_REG(p, h, reg, &quick, &good, "--basic", "dev:s3cret", );
        ASSERT_OK(tender_registry_fetch_blob(reg, &b, p.dlfd, "b", NULL, &err));
        ASSERT_TRUE(fixture_file_is(p.dlfd, "b", blob, BLOB_SIZE));
}

TEST(token_refused_fails_at_once) {
        struct tender_registry_options bad = {.username = "dev", .password = "wrong"};
        SETUP_REG(p, h, reg, &quick, &bad, "--basic", "dev:s3cret", );
        unsigned sleeps = 0;
        struct tender_retry_policy policy = {.sleep_ms = no_sleep, .userdata = &sleeps};
        ASSERT_ERR(tender_registry_fetch_blob(reg, &b, p.dlfd, "b", &policy, &err), EACCES);
        ASSERT_CONTAINS(err.message, "registry token");
        ASSERT_EQ(sleeps, 0);
        ASSERT_EQ(peer_count(&p, h, false, "/token", NULL), 1);
        ASSERT_EQ(peer_count(&p, h, false, "/v2", NULL), 1);
}

TEST(redirect_to_storage) {
        struct tender_http_options o = {
                .timeout_sec = 15, .max_redirects = 2, .redirect_protocols = "http"};
        SETUP_REG(p, h, reg, &o, NULL, "--registry-redirect", );
        ASSERT_OK(tender_registry_fetch_blob(reg, &b, p.dlfd, "b", NULL, &err));
        ASSERT_TRUE(fixture_file_is(p.dlfd, "b", blob, BLOB_SIZE));
        ASSERT_EQ(peer_count(&p, h, false, "/storage", NULL), 1);
        /* The storage is another host: the bearer token stayed with the registry. */
        ASSERT_EQ(peer_count(&p, h, false, "/storage-with-auth", NULL), 0);
}

TEST(redirect_to_storage_refused_by_default) {
        SETUP_REG(p, h, reg, &quick, NULL, "--registry-redirect", );
        ASSERT_ERR(tender_registry_fetch_blob(reg, &b, p.dlfd, "b", NULL, &err), EPROTO);
        ASSERT_EQ(peer_count(&p, h, false, "/storage", NULL), 0);
}

TEST(invalid_repository_refused) {
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;
        _cleanup_(tender_registry_freep) struct tender_registry *reg = NULL;
        struct tender_registry_blob b = {.size = 1};
        const char *bad[] = {"", "../x", "A", "a//b", "/a", "a/", "a b", "a/../b", "a.", "_a"};
        ASSERT_OK(tender_http_new(NULL, &h));
        ASSERT_OK(tender_registry_new(h, "http://127.0.0.1:1", NULL, &reg));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                b.repository = bad[i];
                ASSERT_ERR(tender_registry_fetch_blob(reg, &b, AT_FDCWD, "x", NULL, NULL), EINVAL);
        }
}

/* Blobs pushed by skopeo into a docker-registry that registry.sh started. */
TEST(real_registry) {
        const char *url = getenv("TENDER_REGISTRY_URL"), *repo = getenv("TENDER_REGISTRY_REPO"),
                   *list = getenv("TENDER_REGISTRY_BLOBS");
        if (!url || !repo || !list)
                SKIP("no registry given (tests/integration/registry.sh runs this)");
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;
        _cleanup_(tender_registry_freep) struct tender_registry *reg = NULL;
        _cleanup_(peer_stop) struct peer dir = {.dlfd = -1};
        _cleanup_free_ char *copy = strdup(list);
        struct tender_error err = {0};
        unsigned fetched = 0;

        ASSERT_OK(tender_http_new(&quick, &h));
        ASSERT_OK(tender_registry_new(h, url, NULL, &reg));
        const struct fixture_dir *t = fixture_dir("registry");
        ASSERT_TRUE(t);
        snprintf(dir.dir, sizeof(dir.dir), "%s", t->path);
        dir.dlfd = open(dir.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dir.dlfd >= 0);
        for (char *save = NULL, *item = strtok_r(copy, " ", &save); item;
             item = strtok_r(NULL, " ", &save)) {
                struct tender_registry_blob b = {.repository = repo};
                char *colon = strrchr(item, ':');
                ASSERT_TRUE(colon != NULL);
                *colon = '\0';
                b.size = strtoull(colon + 1, NULL, 10);
                ASSERT_OK(tender_digest_parse(item, &b.digest));
                char name[32];
                snprintf(name, sizeof(name), "blob%u", fetched);
                int r = tender_registry_fetch_blob(reg, &b, dir.dlfd, name, NULL, &err);
                if (r < 0)
                        fprintf(stderr, "  %s\n", err.message);
                ASSERT_OK(r);

                /* Re-hash what landed on disk. */
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                struct tender_digest got;
                char want_s[TENDER_DIGEST_STRING_MAX], got_s[TENDER_DIGEST_STRING_MAX];
                ASSERT_OK(tender_read_file_at(dir.dlfd, name, b.size + 1, &data, &len));
                ASSERT_EQ(len, b.size);
                tender_sha256_buffer(data, len, &got);
                ASSERT_STREQ(tender_digest_format(&got, got_s),
                             tender_digest_format(&b.digest, want_s));

                /* Again from a half-written .part: the registry's Range/If-Range answer. */
                char part[48], again[40];
                snprintf(again, sizeof(again), "again%u", fetched);
                snprintf(part, sizeof(part), "%s.part", again);
                ASSERT_OK(tender_write_file_atomic_at(dir.dlfd, part, data, len / 2, 0644));
                r = tender_registry_fetch_blob(reg, &b, dir.dlfd, again, NULL, &err);
                if (r < 0)
                        fprintf(stderr, "  %s\n", err.message);
                ASSERT_OK(r);
                fetched++;
        }
        fprintf(stderr, "  fetched %u blobs from %s/%s\n", fetched, url, repo);
        ASSERT_TRUE(fetched > 0);
}

TEST_MAIN()
