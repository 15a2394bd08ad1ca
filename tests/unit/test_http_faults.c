/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Download faults against the fault-injecting peer (tests/integration/downloads_peer.py):
 * truncation, reset mid-body, slow-loris, 500 storm, 404/403, redirect to http, content
 * changed between attempts, and a downloader SIGKILLed mid-blob that resumes. Retries run with
 * injected sleeps and clock, so no test waits for a backoff and none measures time. The peer
 * counts requests and bytes per path; the assertions use those counts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "fixture.h"
#include "test.h"
#include "test_http_peer.h"

#define BLOB_SIZE (256 * 1024 + 13)
#define RETRY_LOG_MAX 16

static uint8_t blob[BLOB_SIZE], blob2[BLOB_SIZE];

static void blobs_init(void) {
        uint32_t x = 777, y = 999;
        for (size_t i = 0; i < BLOB_SIZE; i++) {
                x = x * 1103515245u + 12345u;
                y = y * 1103515245u + 12345u;
                blob[i] = (uint8_t) (x >> 16);
                blob2[i] = (uint8_t) (y >> 16);
        }
}

/* Fake time for the retry loop: sleeps advance the clock and are recorded. */
struct fake_time {
        uint64_t now;
        unsigned sleeps;
        uint64_t slept[RETRY_LOG_MAX];
        uint32_t rnd;
};

static void fake_sleep(uint64_t ms, void *userdata) {
        struct fake_time *t = userdata;
        if (t->sleeps < RETRY_LOG_MAX)
                t->slept[t->sleeps] = ms;
        t->sleeps++;
        t->now += ms;
}

static uint64_t fake_now(void *userdata) {
        return ((struct fake_time *) userdata)->now;
}

static uint32_t fake_random(void *userdata) {
        return ((struct fake_time *) userdata)->rnd;
}

static struct tender_retry_policy fake_policy(struct fake_time *t, unsigned attempts) {
        return (struct tender_retry_policy){.max_attempts = attempts,
                                            .initial_delay_ms = 1000,
                                            .max_delay_ms = 8000,
                                            .budget_ms = 3600 * 1000,
                                            .sleep_ms = fake_sleep,
                                            .now_ms = fake_now,
                                            .random = fake_random,
                                            .userdata = t};
}

#define SETUP_PEER(p, h, opts, ...)                                                                \
        _cleanup_(peer_stop) struct peer p = {.dlfd = -1};                                         \
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;                                 \
        struct tender_error err = {0};                                                             \
        struct tender_download d;                                                                  \
        char url[256];                                                                             \
        int _pr;                                                                                   \
        blobs_init();                                                                              \
        _pr = peer_start(&p, blob, BLOB_SIZE, blob2, BLOB_SIZE,                                    \
                         (const char *const[]){__VA_ARGS__ NULL});                                 \
        if (_pr == -ENOENT)                                                                        \
                SKIP("python3 or the peer script is missing");                                     \
        ASSERT_OK(_pr);                                                                            \
        ASSERT_OK(tender_http_new(opts, &h))

#define URL(path) peer_url(&p, false, path, url, sizeof(url))

static void download_init(struct tender_download *d, const char *url, const uint8_t *data) {
        *d = (struct tender_download){.url = url, .size = BLOB_SIZE};
        tender_sha256_buffer(data, BLOB_SIZE, &d->digest);
}

static long long file_size(int dirfd, const char *name) {
        struct stat st;
        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (long long) st.st_size : -1;
}

static bool file_is(int dirfd, const char *name, const uint8_t *data) {
        _cleanup_free_ char *got = NULL;
        size_t len = 0;
        return tender_read_file_at(dirfd, name, BLOB_SIZE + 1, &got, &len) >= 0 &&
               len == BLOB_SIZE && memcmp(got, data, BLOB_SIZE) == 0;
}

/* The validator stored with dirfd/name (an xattr, or the .etag file where xattrs are missing);
 * "" when none. */
static const char *validator_of(int dirfd, const char *name, char *buf, size_t size) {
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
        char sidecar[64];
        buf[0] = '\0';
        if (fd < 0)
                return buf;
        ssize_t n = fgetxattr(fd, "user.tender.validator", buf, size - 1);
        if (n >= 0) {
                buf[n] = '\0';
                return buf;
        }
        _cleanup_free_ char *v = NULL;
        snprintf(sidecar, sizeof(sidecar), "%s.etag", name);
        if (tender_read_file_at(dirfd, sidecar, size - 1, &v, NULL) >= 0)
                snprintf(buf, size, "%s", v);
        return buf;
}

static const struct tender_http_options quick = {.timeout_sec = 15};

TEST(truncation_kept_and_retried_within_attempts) {
        SETUP_PEER(p, h, &quick);
        struct fake_time t = {0};
        struct tender_retry_policy policy = fake_policy(&t, 3);
        download_init(&d, URL("/truncate"), blob);

        ASSERT_ERR(tender_http_download(h, &d, p.dlfd, "b", &err), EHOSTUNREACH);
        ASSERT_CONTAINS(err.message, url);
        ASSERT_EQ(file_size(p.dlfd, "b.part"), BLOB_SIZE / 2);
        ASSERT_FALSE(fixture_exists_at(p.dlfd, "b"));

        ASSERT_ERR(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err), EHOSTUNREACH);
        ASSERT_CONTAINS(err.message, "gave up after 3 attempts");
        ASSERT_EQ(peer_count(&p, h, false, "/truncate", NULL), 4);
        ASSERT_EQ(t.sleeps, 2);
        ASSERT_FALSE(fixture_exists_at(p.dlfd, "b"));
}

TEST(reset_mid_body_then_resume) {
        SETUP_PEER(p, h, &quick);
        download_init(&d, URL("/reset"), blob);
        ASSERT_ERR(tender_http_download(h, &d, p.dlfd, "b", &err), EHOSTUNREACH);
        ASSERT_FALSE(fixture_exists_at(p.dlfd, "b"));
        long long kept = file_size(p.dlfd, "b.part");
        ASSERT_TRUE(kept >= 0 && kept <= BLOB_SIZE / 2);

        long long before = 0, bytes = 0;
        ASSERT_TRUE(peer_count(&p, h, false, "/blob", &before) == 0);
        download_init(&d, URL("/blob"), blob);
        ASSERT_OK(tender_http_download(h, &d, p.dlfd, "b", &err));
        ASSERT_TRUE(file_is(p.dlfd, "b", blob));
        ASSERT_EQ(peer_count(&p, h, false, "/blob", &bytes), 1);
        ASSERT_EQ(bytes, BLOB_SIZE - kept); /* only the missing bytes were fetched */
}

TEST(slow_loris_ends) {
        /* Trickling at 5 bytes/s beats a 1 byte/s floor but not a 1000 byte/s one. */
        struct tender_http_options o = {.timeout_sec = 1, .low_speed_bytes_per_sec = 1000};
        SETUP_PEER(p, h, &o);
        download_init(&d, URL("/trickle"), blob);
        ASSERT_ERR(tender_http_download(h, &d, p.dlfd, "b", &err), ETIMEDOUT);
        ASSERT_CONTAINS(err.message, url);
        ASSERT_FALSE(fixture_exists_at(p.dlfd, "b"));
}

TEST(stalled_and_silent_servers_end) {
        struct tender_http_options o = {.timeout_sec = 1};
        SETUP_PEER(p, h, &o);
        download_init(&d, URL("/stall"), blob);
        ASSERT_ERR(tender_http_download(h, &d, p.dlfd, "b", &err), ETIMEDOUT);
        ASSERT_EQ(file_size(p.dlfd, "b.part"), 1000);
        download_init(&d, URL("/silent"), blob);
        ASSERT_ERR(tender_http_download(h, &d, p.dlfd, "s", &err), ETIMEDOUT);
        char *body = NULL;
        ASSERT_ERR(tender_http_get(h, URL("/silent"), 100, &body, NULL, &err), ETIMEDOUT);
}

TEST(storm_500_bounded_by_attempts) {
        SETUP_PEER(p, h, &quick);
        struct fake_time t = {.rnd = UINT32_MAX}; /* jitter at its largest cut: delay / 2 */
        struct tender_retry_policy policy = fake_policy(&t, 4);
        download_init(&d, URL("/500"), blob);
        ASSERT_ERR(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err), EPROTO);
        ASSERT_CONTAINS(err.message, "HTTP 500");
        ASSERT_CONTAINS(err.message, "gave up after 4 attempts");
        ASSERT_EQ(peer_count(&p, h, false, "/500", NULL), 4);
        ASSERT_EQ(t.sleeps, 3);
        ASSERT_EQ(t.slept[0], 500);
        ASSERT_EQ(t.slept[1], 1000);
        ASSERT_EQ(t.slept[2], 2000);
}

TEST(storm_500_bounded_by_time_budget) {
        SETUP_PEER(p, h, &quick);
        struct fake_time t = {.rnd = 0}; /* no jitter cut: full delays 1000, 2000, 4000, 8000 */
        struct tender_retry_policy policy = fake_policy(&t, 100);
        policy.budget_ms = 5000;
        download_init(&d, URL("/500"), blob);
        ASSERT_ERR(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err), EPROTO);
        /* 1000 + 2000 slept; the next 4000 would end past 5000 */
        ASSERT_EQ(peer_count(&p, h, false, "/500", NULL), 3);
        ASSERT_EQ(t.sleeps, 2);
        ASSERT_TRUE(t.now <= 5000);
}

TEST(backoff_capped_and_jittered) {
        SETUP_PEER(p, h, &quick);
        struct fake_time t = {.rnd = UINT32_MAX / 2};
        struct tender_retry_policy policy = fake_policy(&t, 7);
        download_init(&d, URL("/500"), blob);
        ASSERT_ERR(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err), EPROTO);
        ASSERT_EQ(t.sleeps, 6);
        uint64_t want[] = {1000, 2000, 4000, 8000, 8000, 8000};
        for (unsigned i = 0; i < t.sleeps; i++)
                ASSERT_TRUE(t.slept[i] >= want[i] / 2 && t.slept[i] <= want[i] * 4 / 5);
}

TEST(unavailable_then_ok) {
        SETUP_PEER(p, h, &quick);
        struct fake_time t = {0};
        struct tender_retry_policy policy = fake_policy(&t, 5);
        download_init(&d, URL("/503-then-ok?n=2"), blob);
        ASSERT_OK(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err));
        ASSERT_TRUE(file_is(p.dlfd, "b", blob));
        ASSERT_EQ(peer_count(&p, h, false, "/503-then-ok", NULL), 3);
        ASSERT_EQ(t.sleeps, 2);
}

TEST(retry_after_respected_within_cap) {
        SETUP_PEER(p, h, &quick);
        struct fake_time t = {.rnd = UINT32_MAX}; /* own backoff would be 500, 1000, 2000 */
        struct tender_retry_policy policy = fake_policy(&t, 5);
        download_init(&d, URL("/503-then-ok?n=1&after=3"), blob);
        ASSERT_OK(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err));
        ASSERT_EQ(t.sleeps, 1);
        ASSERT_EQ(t.slept[0], 3000);

        /* A server asking for more than max_delay (8 s here) gets max_delay. The peer's
         * counter for the path is at 2 already, so n=3 means one more 503. */
        t = (struct fake_time){.rnd = UINT32_MAX};
        download_init(&d, URL("/503-then-ok?n=3&after=100000"), blob);
        ASSERT_OK(tender_http_download_retry(h, &d, p.dlfd, "c", &policy, &err));
        ASSERT_EQ(t.sleeps, 1);
        ASSERT_EQ(t.slept[0], 8000);
}

TEST(not_found_and_forbidden_fail_at_once) {
        SETUP_PEER(p, h, &quick);
        struct fake_time t = {0};
        struct tender_retry_policy policy = fake_policy(&t, 10);
        download_init(&d, URL("/404"), blob);
        ASSERT_ERR(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err), ENOENT);
        ASSERT_EQ(peer_count(&p, h, false, "/404", NULL), 1);
        download_init(&d, URL("/403"), blob);
        ASSERT_ERR(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err), EACCES);
        ASSERT_EQ(peer_count(&p, h, false, "/403", NULL), 1);
        ASSERT_EQ(t.sleeps, 0);
        ASSERT_FALSE(fixture_exists_at(p.dlfd, "b"));
}

TEST(redirect_to_http_refused) {
        struct tender_http_options o = {.timeout_sec = 15, .max_redirects = 3};
        SETUP_PEER(p, h, &o);
        struct fake_time t = {0};
        struct tender_retry_policy policy = fake_policy(&t, 5);
        download_init(&d, URL("/redirect-http"), blob);
        ASSERT_ERR(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err), EPROTO);
        ASSERT_CONTAINS(err.message, "redirect refused");
        ASSERT_EQ(peer_count(&p, h, false, "/redirect-http", NULL), 1);
        ASSERT_EQ(peer_count(&p, h, false, "/blob", NULL), 0);
        ASSERT_FALSE(fixture_exists_at(p.dlfd, "b"));

        /* Even a relative redirect on this http:// server leads to http: refused. */
        download_init(&d, URL("/redirect-loop"), blob);
        ASSERT_ERR(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err), EPROTO);
        ASSERT_EQ(peer_count(&p, h, false, "/redirect-loop", NULL), 1);
}

TEST(redirect_loop_ends_at_max_redirects) {
        struct tender_http_options o = {
                .timeout_sec = 15, .max_redirects = 3, .redirect_protocols = "http"};
        SETUP_PEER(p, h, &o);
        struct fake_time t = {0};
        struct tender_retry_policy policy = fake_policy(&t, 5);
        download_init(&d, URL("/redirect-loop"), blob);
        ASSERT_ERR(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err), EPROTO);
        ASSERT_CONTAINS(err.message, "redirect refused");
        ASSERT_EQ(peer_count(&p, h, false, "/redirect-loop", NULL), 4);
        ASSERT_EQ(t.sleeps, 0);
}

TEST(redirect_not_followed_by_default) {
        SETUP_PEER(p, h, &quick);
        download_init(&d, URL("/redirect-http"), blob);
        ASSERT_ERR(tender_http_download(h, &d, p.dlfd, "b", &err), EPROTO);
        ASSERT_CONTAINS(err.message, "302");
        ASSERT_EQ(peer_count(&p, h, false, "/blob", NULL), 0);
}

TEST(redirect_to_http_when_configured) {
        struct tender_http_options o = {
                .timeout_sec = 15, .max_redirects = 2, .redirect_protocols = "http,https"};
        SETUP_PEER(p, h, &o);
        download_init(&d, URL("/redirect-http"), blob);
        ASSERT_OK(tender_http_download(h, &d, p.dlfd, "b", &err));
        ASSERT_TRUE(file_is(p.dlfd, "b", blob));
        ASSERT_EQ(peer_count(&p, h, false, "/blob", NULL), 1);
}

TEST(content_changed_if_range_restarts) {
        SETUP_PEER(p, h, &quick);
        char validator[64];
        long long bytes = 0;
        download_init(&d, URL("/changing"), blob2); /* the server's content by the end */
        ASSERT_ERR(tender_http_download(h, &d, p.dlfd, "b", &err), EHOSTUNREACH);
        ASSERT_EQ(file_size(p.dlfd, "b.part"), BLOB_SIZE / 2);
        ASSERT_STREQ(validator_of(p.dlfd, "b.part", validator, sizeof(validator)), "\"v1\"");

        ASSERT_OK(tender_http_download(h, &d, p.dlfd, "b", &err));
        ASSERT_TRUE(file_is(p.dlfd, "b", blob2));
        ASSERT_FALSE(fixture_exists_at(p.dlfd, "b.part"));
        ASSERT_FALSE(fixture_exists_at(p.dlfd, "b.part.etag"));
        ASSERT_STREQ(validator_of(p.dlfd, "b", validator, sizeof(validator)), "");
        ASSERT_EQ(peer_count(&p, h, false, "/changing", &bytes), 2);
        ASSERT_EQ(bytes, BLOB_SIZE / 2 + BLOB_SIZE);
}

TEST(content_changed_without_validator_restarts_once) {
        SETUP_PEER(p, h, &quick);
        struct fake_time t = {0};
        struct tender_retry_policy policy = fake_policy(&t, 5);
        download_init(&d, URL("/changing-noetag"), blob2);
        /* 1: truncated half of blob; 2: resumed, spliced with blob2, digest mismatch; 3: from
         * zero. */
        ASSERT_OK(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err));
        ASSERT_TRUE(file_is(p.dlfd, "b", blob2));
        ASSERT_EQ(peer_count(&p, h, false, "/changing-noetag", NULL), 3);
        ASSERT_FALSE(fixture_exists_at(p.dlfd, "b.part.etag"));
}

TEST(digest_mismatch_of_fresh_download_not_retried) {
        SETUP_PEER(p, h, &quick);
        struct fake_time t = {0};
        struct tender_retry_policy policy = fake_policy(&t, 5);
        download_init(&d, URL("/blob"), blob2); /* expects other bytes than served */
        ASSERT_ERR(tender_http_download_retry(h, &d, p.dlfd, "b", &policy, &err), EBADMSG);
        ASSERT_EQ(peer_count(&p, h, false, "/blob", NULL), 1);
        ASSERT_FALSE(fixture_exists_at(p.dlfd, "b.part"));
}

TEST(bandwidth_cap_and_no_length) {
        struct tender_http_options o = {.timeout_sec = 15,
                                        .max_recv_bytes_per_sec = 4 * 1024 * 1024};
        SETUP_PEER(p, h, &o);
        download_init(&d, URL("/nolength"), blob);
        ASSERT_OK(tender_http_download(h, &d, p.dlfd, "b", &err));
        ASSERT_TRUE(file_is(p.dlfd, "b", blob));
}

/* The downloader dies (SIGKILL) once half the blob is on disk; a new one resumes. */
TEST(killed_mid_download_resumes) {
        SETUP_PEER(p, h, &quick);
        long long bytes = 0;
        download_init(&d, URL("/half-stall"), blob);

        pid_t child = fork();
        ASSERT_TRUE(child >= 0);
        if (child == 0) {
                struct tender_http *ch = NULL;
                if (tender_http_new(&quick, &ch) < 0)
                        _exit(2);
                (void) tender_http_download(ch, &d, p.dlfd, "b", NULL);
                _exit(3);
        }
        for (int i = 0; i < 3000 && file_size(p.dlfd, "b.part") < BLOB_SIZE / 2; i++)
                peer_sleep_ms(10);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        ASSERT_EQ(file_size(p.dlfd, "b.part"), BLOB_SIZE / 2);
        char validator[64];
        ASSERT_STREQ(validator_of(p.dlfd, "b.part", validator, sizeof(validator)), "\"v1\"");
        ASSERT_FALSE(fixture_exists_at(p.dlfd, "b"));

        ASSERT_OK(tender_http_download(h, &d, p.dlfd, "b", &err));
        ASSERT_TRUE(file_is(p.dlfd, "b", blob));
        ASSERT_EQ(peer_count(&p, h, false, "/half-stall", &bytes), 2);
        fprintf(stderr, "  killed and resumed: %lld bytes sent for a %d-byte blob (%.3fx)\n", bytes,
                BLOB_SIZE, (double) bytes / BLOB_SIZE);
        ASSERT_TRUE(bytes * 100 <= (long long) BLOB_SIZE * 105);
}

TEST_MAIN()
