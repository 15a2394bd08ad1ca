/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP(S) transfers over libcurl: small bounded requests (DDI JSON, manifests) and blob
 * downloads that are capped in size and hashed while streaming.
 *
 * Errors: connection failures and timeouts -EHOSTUNREACH / -ETIMEDOUT; HTTP 404 -ENOENT,
 * 401/403 -EACCES, other non-2xx -EPROTO; a body over its cap -EFBIG; a digest or size
 * mismatch -EBADMSG. The tender_error names the URL (and the digest for blobs).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tender/digest.h"
#include "tender/error.h"

struct tender_http_options {
        const char *ca_file; /* NULL: the system's CA bundle */
        const char
                *auth_header;   /* full header line, e.g. "Authorization: TargetToken x", or NULL */
        uint64_t timeout_sec;   /* connect timeout and low-speed abort window; 0 = 30 */
        const char *user_agent; /* NULL: "tender/<version>" */
};

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
};

/* Downloads into dirfd/<name>.part (resuming it with a Range request when it exists), checks
 * size and digest, then renames it to dirfd/<name> durably. On a digest mismatch the .part file
 * is removed. A complete dirfd/<name> is never written unverified. */
int tender_http_download(struct tender_http *h, const struct tender_download *d, int dirfd,
                         const char *name, struct tender_error *err);
