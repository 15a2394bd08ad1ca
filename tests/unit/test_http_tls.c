/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTPS downloads against the test peer with certificates made here by the openssl CLI: a CA
 * and a server certificate for 127.0.0.1, a second unrelated CA, and a client certificate for
 * mTLS. Checks the configured CA bundle, that it is the only trust anchor, public-key pinning,
 * and client certificates. Skips when python3 or openssl is missing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fixture.h"
#include "test.h"
#include "test_http_peer.h"

#define BLOB_SIZE (100 * 1000 + 3)

static uint8_t blob[BLOB_SIZE];
static char certs[64]; /* directory with the generated files (test_http_peer.h) */
static char pin[128];  /* "sha256//<base64>" of the server's public key */

static int certs_make(void) {
        return peer_certs_make(certs, pin);
}

static const char *cert_path(const char *name, char *buf) {
        snprintf(buf, 128, "%s/%s", certs, name);
        return buf;
}

#define SETUP_TLS(p, mtls)                                                                         \
        _cleanup_(peer_stop) struct peer p = {.dlfd = -1};                                         \
        struct tender_error err = {0};                                                             \
        struct tender_download d;                                                                  \
        char url[256], cert[128], key[128], ca[128];                                               \
        int _tr;                                                                                   \
        for (size_t i = 0; i < BLOB_SIZE; i++)                                                     \
                blob[i] = (uint8_t) (i * 7 + i / 251);                                             \
        _tr = certs_make();                                                                        \
        if (_tr == -ENOENT)                                                                        \
                SKIP("openssl is missing");                                                        \
        ASSERT_OK(_tr);                                                                            \
        cert_path("server.pem", cert);                                                             \
        cert_path("server.key", key);                                                              \
        cert_path("ca.pem", ca);                                                                   \
        _tr = peer_start(&p, blob, BLOB_SIZE, NULL, 0,                                             \
                         (const char *const[]){"--cert", cert, "--key", key,                       \
                                               (mtls) ? "--client-ca" : NULL, ca, NULL});          \
        if (_tr == -ENOENT)                                                                        \
                SKIP("python3 or the peer script is missing");                                     \
        ASSERT_OK(_tr);                                                                            \
        d = (struct tender_download){.url = peer_url(&p, true, "/blob", url, sizeof(url)),         \
                                     .size = BLOB_SIZE};                                           \
        tender_sha256_buffer(blob, BLOB_SIZE, &d.digest)

static void no_sleep(_unused_ uint64_t ms, void *userdata) {
        (*(unsigned *) userdata)++;
}

TEST(ca_bundle_accepted) {
        SETUP_TLS(p, false);
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;
        ASSERT_OK(tender_http_new(&(struct tender_http_options){.timeout_sec = 15, .ca_file = ca},
                                  &h));
        ASSERT_OK(tender_http_download(h, &d, p.dlfd, "b", &err));
        ASSERT_TRUE(fixture_file_is(p.dlfd, "b", blob, BLOB_SIZE));
        ASSERT_EQ(peer_count(&p, h, true, "/blob", NULL), 1);
}

TEST(wrong_ca_refused_without_retries) {
        SETUP_TLS(p, false);
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;
        unsigned sleeps = 0;
        char other[128];
        struct tender_retry_policy policy = {
                .max_attempts = 5, .sleep_ms = no_sleep, .userdata = &sleeps};
        ASSERT_OK(tender_http_new(
                &(struct tender_http_options){.timeout_sec = 15,
                                              .ca_file = cert_path("other.pem", other)},
                &h));
        ASSERT_ERR(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err), EHOSTUNREACH);
        ASSERT_CONTAINS(err.message, url);
        ASSERT_EQ(sleeps, 0);
        ASSERT_FALSE(fixture_file_is(p.dlfd, "b", blob, BLOB_SIZE));
}

TEST(system_store_does_not_know_the_test_ca) {
        SETUP_TLS(p, false);
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;
        ASSERT_OK(tender_http_new(&(struct tender_http_options){.timeout_sec = 15}, &h));
        ASSERT_ERR(tender_http_download(h, &d, p.dlfd, "b", &err), EHOSTUNREACH);
}

TEST(pinned_public_key) {
        SETUP_TLS(p, false);
        _cleanup_(tender_http_freep) struct tender_http *good = NULL, *bad = NULL;
        ASSERT_OK(tender_http_new(&(struct tender_http_options){.timeout_sec = 15,
                                                                .ca_file = ca,
                                                                .pinned_public_key = pin},
                                  &good));
        ASSERT_OK(tender_http_download(good, &d, p.dlfd, "b", &err));
        ASSERT_TRUE(fixture_file_is(p.dlfd, "b", blob, BLOB_SIZE));
        /* A valid chain with another key is refused. */
        ASSERT_OK(tender_http_new(
                &(struct tender_http_options){
                        .timeout_sec = 15,
                        .ca_file = ca,
                        .pinned_public_key =
                                "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
                &bad));
        ASSERT_ERR(tender_http_download(bad, &d, p.dlfd, "c", &err), EHOSTUNREACH);
        ASSERT_CONTAINS(err.message, "public key");
}

TEST(mtls_required_and_given) {
        SETUP_TLS(p, true);
        _cleanup_(tender_http_freep) struct tender_http *anon = NULL, *h = NULL;
        char ccert[128], ckey[128];
        ASSERT_OK(tender_http_new(&(struct tender_http_options){.timeout_sec = 15, .ca_file = ca},
                                  &anon));
        ASSERT_TRUE(tender_http_download(anon, &d, p.dlfd, "b", &err) < 0);
        ASSERT_FALSE(fixture_file_is(p.dlfd, "b", blob, BLOB_SIZE));

        ASSERT_OK(tender_http_new(
                &(struct tender_http_options){.timeout_sec = 15,
                                              .ca_file = ca,
                                              .client_cert = cert_path("client.pem", ccert),
                                              .client_key = cert_path("client.key", ckey)},
                &h));
        ASSERT_OK(tender_http_download(h, &d, p.dlfd, "b", &err));
        ASSERT_TRUE(fixture_file_is(p.dlfd, "b", blob, BLOB_SIZE));
        ASSERT_EQ(peer_count(&p, h, true, "/blob", NULL), 1);
}

TEST_MAIN()
