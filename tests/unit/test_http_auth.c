/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where credentials go, against real peers on 127.0.0.1 that record the Authorization header of
 * every request (tests/integration/downloads_peer.py): an https peer (the "server"), a second
 * https peer on another port, and a plain http one. The client's auth header goes to the origins
 * it is given only (scheme, host and port), and libcurl (Debian 12: 7.88) does not carry a
 * custom Authorization header across a redirect to another port, host name or scheme. Also the
 * request deadline against a trickling peer and the tick that stops a transfer.
 */
#include <stdbool.h>
#include <stdint.h>

#include "test.h"
#include "test_http_peer.h"

#define AUTH "Authorization: TargetToken s3cret"
#define SEEN_MAX 4096

static uint8_t blob[64 * 1024];
static char certs[64], pin[128];

/* Starts peer p: TLS with the generated server certificate, else plain http. */
static int start(struct peer *p, bool tls) {
        char cert[128], key[128];
        snprintf(cert, sizeof(cert), "%s/server.pem", certs);
        snprintf(key, sizeof(key), "%s/server.key", certs);
        for (size_t i = 0; i < sizeof(blob); i++)
                blob[i] = (uint8_t) (i * 13);
        return peer_start(p, blob, sizeof(blob), NULL, 0,
                          tls ? (const char *const[]){"--cert", cert, "--key", key, NULL} : NULL);
}

/* The Authorization values the peer saw on path, one a line ("-": none). */
static char *seen(const struct peer *p, bool tls, const char *path) {
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;
        char url[256], ca[128], p2[160];
        char *body = NULL;
        snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
        snprintf(p2, sizeof(p2), "/_auth%s", path);
        if (tender_http_new(&(struct tender_http_options){.timeout_sec = 15, .ca_file = ca}, &h) <
                    0 ||
            tender_http_get(h, peer_url(p, tls, p2, url, sizeof(url)), SEEN_MAX, &body, NULL,
                            NULL) < 0)
                return strdup("(unreadable)");
        return body;
}

#define SETUP(p, tls)                                                                              \
        _cleanup_(peer_stop) struct peer p = {.dlfd = -1};                                         \
        do {                                                                                       \
                int _sr = peer_certs_make(certs, pin);                                             \
                if (_sr == -ENOENT)                                                                \
                        SKIP("openssl is missing");                                                \
                ASSERT_OK(_sr);                                                                    \
                _sr = start(&p, tls);                                                              \
                if (_sr == -ENOENT)                                                                \
                        SKIP("python3 or the peer script is missing");                             \
                ASSERT_OK(_sr);                                                                    \
        } while (0)

/* A client with AUTH for the origin of peer s (https), following up to max_redirects. */
static struct tender_http *client_for(const struct peer *s, unsigned max_redirects,
                                      const char *redirect_protocols) {
        char url[128], origin[128], ca[128];
        struct tender_http *h = NULL;
        snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
        if (tender_http_origin(peer_url(s, true, "/", url, sizeof(url)), origin, sizeof(origin)) <
            0)
                return NULL;
        const char *origins[] = {origin, NULL};
        struct tender_http_options o = {.timeout_sec = 15,
                                        .ca_file = ca,
                                        .auth_header = AUTH,
                                        .auth_origins = origins,
                                        .max_redirects = max_redirects,
                                        .redirect_protocols = redirect_protocols};
        return tender_http_new(&o, &h) < 0 ? NULL : h;
}

TEST(origin_normalised) {
        char o[128];
        ASSERT_OK(tender_http_origin("HTTPS://Updates.Example.COM/ddi/x?y#z", o, sizeof(o)));
        ASSERT_STREQ(o, "https://updates.example.com:443");
        ASSERT_OK(tender_http_origin("http://127.0.0.1/a", o, sizeof(o)));
        ASSERT_STREQ(o, "http://127.0.0.1:80");
        ASSERT_OK(tender_http_origin("https://h:8443", o, sizeof(o)));
        ASSERT_STREQ(o, "https://h:8443");
        ASSERT_ERR(tender_http_origin("ftp://h/x", o, sizeof(o)), EINVAL);
        ASSERT_ERR(tender_http_origin("not a url", o, sizeof(o)), EINVAL);
        ASSERT_ERR(tender_http_origin("https://a-long-host-name.example/", o, 12), ENAMETOOLONG);
}

TEST(token_to_the_server_origin_only) {
        SETUP(server, true);
        SETUP(other, true);
        SETUP(plain, false);
        _cleanup_(tender_http_freep) struct tender_http *h = client_for(&server, 0, NULL);
        _cleanup_free_ char *s1 = NULL, *s2 = NULL, *s3 = NULL, *body = NULL;
        char url[256];
        ASSERT_TRUE(h != NULL);

        ASSERT_OK(tender_http_get(h, peer_url(&server, true, "/json", url, sizeof(url)), 100, &body,
                                  NULL, NULL));
        free(TAKE_PTR(body));
        ASSERT_OK(tender_http_get(h, peer_url(&other, true, "/json", url, sizeof(url)), 100, &body,
                                  NULL, NULL));
        free(TAKE_PTR(body));
        ASSERT_OK(tender_http_get(h, peer_url(&plain, false, "/json", url, sizeof(url)), 100, &body,
                                  NULL, NULL));
        ASSERT_OK(tender_http_send_json(
                h, "POST", peer_url(&other, true, "/json", url, sizeof(url)), "{}", NULL));
        s1 = seen(&server, true, "/json");
        s2 = seen(&other, true, "/json");
        s3 = seen(&plain, false, "/json");
        ASSERT_STREQ(s1, "TargetToken s3cret\n");
        ASSERT_STREQ(s2, "-\n-\n"); /* GET and POST: another port is another origin */
        ASSERT_STREQ(s3, "-\n");
}

TEST(download_to_another_origin_without_token) {
        SETUP(server, true);
        SETUP(other, true);
        _cleanup_(tender_http_freep) struct tender_http *h = client_for(&server, 0, NULL);
        _cleanup_free_ char *s1 = NULL, *s2 = NULL;
        char url[256];
        struct tender_download d = {.size = sizeof(blob)};
        ASSERT_TRUE(h != NULL);
        tender_sha256_buffer(blob, sizeof(blob), &d.digest);
        d.url = peer_url(&other, true, "/blob", url, sizeof(url));
        ASSERT_OK(tender_http_download(h, &d, other.dlfd, "a", NULL));
        d.url = peer_url(&server, true, "/blob", url, sizeof(url));
        ASSERT_OK(tender_http_download(h, &d, server.dlfd, "b", NULL));
        s1 = seen(&server, true, "/blob");
        s2 = seen(&other, true, "/blob");
        ASSERT_STREQ(s1, "TargetToken s3cret\n");
        ASSERT_STREQ(s2, "-\n");
}

/* A redirect from the server's origin to another port, to another host name for the same
 * address, and (when http redirects are allowed at all) to http: the header stays behind. */
TEST(token_does_not_follow_redirects_off_origin) {
        SETUP(server, true);
        SETUP(other, true);
        SETUP(plain, false);
        _cleanup_(tender_http_freep) struct tender_http *h = client_for(&server, 2, "http,https");
        _cleanup_free_ char *s_redirect = NULL, *s_other = NULL, *s_same = NULL, *s_plain = NULL;
        char url[512], to[256];
        ASSERT_TRUE(h != NULL);
        const char *targets[] = {"https://127.0.0.1", "https://localhost", "http://127.0.0.1"};
        const struct peer *peers[] = {&other, &server, &plain};
        for (size_t i = 0; i < ELEMENTSOF(targets); i++) {
                _cleanup_free_ char *body = NULL;
                snprintf(to, sizeof(to), "%s:%d/json", targets[i], peers[i]->port);
                snprintf(url, sizeof(url), "https://127.0.0.1:%d/redirect?to=%s", server.port, to);
                ASSERT_OK(tender_http_get(h, url, 100, &body, NULL, NULL));
        }
        s_redirect = seen(&server, true, "/redirect");
        s_other = seen(&other, true, "/json");
        s_same = seen(&server, true, "/json"); /* reached as "localhost" */
        s_plain = seen(&plain, false, "/json");
        ASSERT_STREQ(s_redirect, "TargetToken s3cret\nTargetToken s3cret\nTargetToken s3cret\n");
        ASSERT_STREQ(s_other, "-\n");
        ASSERT_STREQ(s_same, "-\n");
        ASSERT_STREQ(s_plain, "-\n");
}

/* With the default redirect protocols an https → http redirect is not followed at all. */
TEST(no_redirect_down_to_http) {
        SETUP(server, true);
        SETUP(plain, false);
        _cleanup_(tender_http_freep) struct tender_http *h = client_for(&server, 2, NULL);
        _cleanup_free_ char *body = NULL, *s = NULL;
        struct tender_error err = {0};
        char url[512];
        ASSERT_TRUE(h != NULL);
        snprintf(url, sizeof(url), "https://127.0.0.1:%d/redirect?to=http://127.0.0.1:%d/json",
                 server.port, plain.port);
        ASSERT_ERR(tender_http_get(h, url, 100, &body, NULL, &err), EPROTO);
        ASSERT_CONTAINS(err.message, "redirect refused");
        s = seen(&plain, false, "/json");
        ASSERT_STREQ(s, "");
}

/* A peer that trickles a byte every 0.2 s stays above any low-speed limit: only the request's
 * total deadline ends it. */
TEST(trickle_ends_at_the_deadline) {
        SETUP(server, false);
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;
        _cleanup_free_ char *body = NULL;
        struct tender_error err = {0};
        char url[256];
        ASSERT_OK(tender_http_new(
                &(struct tender_http_options){.timeout_sec = 30, .request_timeout_sec = 2}, &h));
        ASSERT_ERR(tender_http_get(h, peer_url(&server, false, "/trickle", url, sizeof(url)),
                                   sizeof(blob), &body, NULL, &err),
                   ETIMEDOUT);
}

static bool stop_after_ticks(void *userdata) {
        return ++*(unsigned *) userdata >= 3;
}

/* The tick runs while the peer says nothing at all, and stops the transfer. */
TEST(tick_stops_a_silent_transfer) {
        SETUP(server, false);
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;
        _cleanup_free_ char *body = NULL;
        struct tender_error err = {0};
        unsigned ticks = 0;
        char url[256];
        ASSERT_OK(tender_http_new(&(struct tender_http_options){.timeout_sec = 600,
                                                                .request_timeout_sec = 600,
                                                                .tick = stop_after_ticks,
                                                                .tick_userdata = &ticks},
                                  &h));
        ASSERT_ERR(tender_http_get(h, peer_url(&server, false, "/silent", url, sizeof(url)), 100,
                                   &body, NULL, &err),
                   ECANCELED);
        ASSERT_EQ(ticks, 3);
        ASSERT_FALSE(tender_http_last_retryable(h));
}

TEST_MAIN()
