/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP(S) transfers over libcurl: small bounded requests (DDI JSON, manifests) and blob
 * downloads that are capped in size and hashed while streaming.
 *
 * Errors: connection failures and timeouts -EHOSTUNREACH / -ETIMEDOUT; HTTP 404 -ENOENT,
 * 401/403 -EACCES, other non-2xx -EPROTO; a body over its cap -EFBIG; a digest or size
 * mismatch -EBADMSG; a transfer the tick callback stopped -ECANCELED. The tender_error names
 * the URL (and the digest for blobs).
 *
 * Every request has a total deadline: request_timeout_sec for the small ones, and for a blob
 * request_timeout_sec plus its size at min_avg_bytes_per_sec, so that neither a stalled nor a
 * trickling server holds the caller longer than that.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tender/digest.h"
#include "tender/error.h"

/* Zero (or NULL) in every field means the default noted beside it. */
struct tender_http_options {
        const char *ca_file; /* NULL: the system's CA bundle; else this PEM file is the only
                              * trust anchor (the system's CA directory is not consulted) */
        const char
                *auth_header; /* full header line, e.g. "Authorization: TargetToken x", or NULL */
        uint64_t timeout_sec; /* connect timeout and low-speed abort window; 0 = 30 */
        uint64_t request_timeout_sec;   /* total deadline of get and send_json; 0 = 60 */
        uint64_t min_avg_bytes_per_sec; /* a download's deadline: request_timeout_sec plus its
                                         * remaining size at this rate; 0 = 4096 */
        const char *user_agent;         /* NULL: "tender/<version>" */

        /* Transfer limits. */
        uint64_t low_speed_bytes_per_sec; /* abort when slower than this for timeout_sec; 0 = 1 */
        uint64_t max_recv_bytes_per_sec;  /* bandwidth cap for downloads; 0 = unlimited */

        /* TLS. */
        const char *pinned_public_key; /* "sha256//<base64>[;sha256//...]" or a PEM/DER public
                                        * key file the server's key must match; NULL: none */
        const char *client_cert;       /* PEM client certificate for mTLS; NULL: none */
        const char *client_key;        /* PEM private key of client_cert; NULL: in client_cert */

        /* Redirects: 0 = not followed at all (a 3xx fails with -EPROTO). */
        unsigned max_redirects;
        const char *redirect_protocols; /* allowed targets, e.g. "https" or "http,https";
                                         * NULL: "https" */

        /* Where the client's auth_header goes (and a download's, which replaces it): the
         * origins, as tender_http_origin makes them, NULL-terminated; NULL: to every URL. A
         * request to another origin goes out without it. On a redirect, libcurl drops it once
         * the redirect leaves the origin of the request (scheme, host or port; checked by
         * tests/unit/test_http_auth.c). tender_http_get_auth's header is the caller's choice. */
        const char *const *auth_origins;

        /* Called about once a second during every transfer, also while it waits for the
         * server, from the thread that runs it; returning true stops the transfer
         * (-ECANCELED). NULL: none. */
        bool (*tick)(void *userdata);
        void *tick_userdata;
};

/* The origin of an http(s) URL as "scheme://host:port", scheme and host in lower case and the
 * port explicit (80, 443 by default), into buf. -EINVAL for anything else, -ENAMETOOLONG. */
int tender_http_origin(const char *url, char *buf, size_t size);

struct tender_http;

int tender_http_new(const struct tender_http_options *opts, struct tender_http **ret);
void tender_http_free(struct tender_http *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_http, tender_http_free);

/* GET url into a malloc'd NUL-terminated buffer of at most max bytes. ret_len may be NULL. */
int tender_http_get(struct tender_http *h, const char *url, size_t max, char **ret_body,
                    size_t *ret_len, struct tender_error *err);

/* Sends a JSON body with method "POST" or "PUT"; the response body is discarded. */
int tender_http_send_json(struct tender_http *h, const char *method, const char *url,
                          const char *json, struct tender_error *err);

typedef void (*tender_http_progress_fn)(uint64_t done, uint64_t total, void *userdata);

struct tender_download {
        const char *url;
        struct tender_digest digest;      /* expected sha256 of the whole blob */
        uint64_t size;                    /* expected size; more bytes abort the transfer */
        tender_http_progress_fn progress; /* may be NULL */
        void *userdata;
        const char *auth_header; /* replaces the client's auth header for this blob; NULL: the
                                  * client's. Not sent to another host after a redirect. */
};

/* Downloads into dirfd/<name>.part (resuming it with a Range request when it exists), checks
 * size and digest, then renames it to dirfd/<name> durably. On a digest mismatch the .part file
 * is removed. A complete dirfd/<name> is never written unverified.
 *
 * The validator of the content being fetched (a strong ETag, else Last-Modified) is kept durably
 * with the .part, in its xattr user.tender.validator (or dirfd/<name>.part.etag where the file
 * system has no user xattrs); a resume sends it as If-Range, so content that changed on the
 * server since the .part was started comes back whole (200) and the download restarts from
 * zero instead of splicing two versions. It is removed once <name> is in place. */
int tender_http_download(struct tender_http *h, const struct tender_download *d, int dirfd,
                         const char *name, struct tender_error *err);

/* The last response of this client: its HTTP status (0 when none was received) and, for a 401,
 * its WWW-Authenticate challenge ("" when absent). Valid until the next request. */
long tender_http_last_status(const struct tender_http *h);
const char *tender_http_last_challenge(const struct tender_http *h);
/* Whether the last request's failure may pass by itself (connection refused or reset, timeout,
 * truncated body, HTTP 408/429/5xx), and whether the last download resumed a non-empty .part. */
bool tender_http_last_retryable(const struct tender_http *h);
bool tender_http_last_resumed(const struct tender_http *h);
/* The last response's Retry-After in ms (seconds form only, at most an hour); 0 when none. */
uint64_t tender_http_last_retry_after_ms(const struct tender_http *h);

/* tender_http_get with an auth header for this request only (NULL: none at all, not even the
 * client's), e.g. a registry token request. */
int tender_http_get_auth(struct tender_http *h, const char *url, const char *auth_header,
                         size_t max, char **ret_body, size_t *ret_len, struct tender_error *err);

/*
 * Retries. An attempt that fails for a reason that may pass (connection refused or reset,
 * timeout, truncated body, HTTP 408/429/5xx) is retried after an exponential backoff with
 * jitter: delay_n = min(max_delay, initial_delay * 2^n), slept for a uniformly random time in
 * [delay_n / 2, delay_n]; a longer Retry-After from the server (429, 503) is waited out instead,
 * up to max_delay. A failure that will not pass by itself (404, 401/403, other 4xx, a
 * refused body, a digest mismatch of a fresh download, a local error) ends at once. The budget
 * bounds both the number of attempts and the total time: no attempt starts once the next sleep
 * would end past budget_ms after the first attempt started.
 */
struct tender_retry_policy {
        unsigned max_attempts;     /* 0 = 5 */
        uint64_t initial_delay_ms; /* 0 = 1000 */
        uint64_t max_delay_ms;     /* 0 = 60000 */
        uint64_t budget_ms;        /* 0 = 15 minutes */

        /* Injectable for tests; NULL: nanosleep, CLOCK_MONOTONIC, getrandom. */
        void (*sleep_ms)(uint64_t ms, void *userdata);
        uint64_t (*now_ms)(void *userdata);
        uint32_t (*random)(void *userdata);
        void *userdata;
};

/* One attempt of a retried operation: 0 on success or a negative errno with err filled, and then
 * *ret_retryable (false on entry) set when the failure may pass by itself. */
typedef int (*tender_http_attempt_fn)(struct tender_http *h, void *userdata, bool *ret_retryable,
                                      struct tender_error *err);

/* Runs attempt until it succeeds, fails for good, or the policy's budget is spent. policy may be
 * NULL for the defaults. Returns the last attempt's result; on giving up, err says after how
 * many attempts. ret_attempts (may be NULL) gets the number of attempts made. */
int tender_http_retry(struct tender_http *h, const struct tender_retry_policy *policy,
                      tender_http_attempt_fn attempt, void *userdata, unsigned *ret_attempts,
                      struct tender_error *err);

/* tender_http_download under tender_http_retry. A resumed download whose digest mismatches is
 * retried once from zero (the .part is gone by then), for servers without validators. */
int tender_http_download_retry(struct tender_http *h, const struct tender_download *d, int dirfd,
                               const char *name, const struct tender_retry_policy *policy,
                               struct tender_error *err);
