/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blobs from an OCI registry through the Distribution API: GET /v2/<repository>/blobs/<digest>
 * through tender_http_download (capped, hashed while streaming, resumable with If-Range), with
 * the Bearer token flow: a 401 carrying `WWW-Authenticate: Bearer realm=...,service=...,
 * scope=...` makes the client GET <realm>?service=...&scope=... (with Basic credentials when
 * configured) and retry with `Authorization: Bearer <token>`. The token is kept for later blobs
 * and renewed on the next 401.
 *
 * The registry's redirect to its storage (S3 and the like) is followed when the HTTP client
 * allows redirects (tender_http_options.max_redirects and redirect_protocols); the token is not
 * sent to another host.
 *
 * Errors: those of tender_http_download; a challenge that cannot be answered (not Bearer, no
 * realm, a realm that is not http(s) or downgrades an https registry to http) -EACCES; a token
 * response without a usable token -EBADMSG.
 */
#pragma once

#include <stdint.h>

#include "tender/http.h"

#define TENDER_REGISTRY_REPOSITORY_MAX 255 /* the Distribution spec's name limit */
#define TENDER_REGISTRY_TOKEN_MAX 8192     /* bytes of a token as sent in a header */

struct tender_registry_options {
        const char *username; /* for the token service (HTTP Basic); NULL: anonymous */
        const char *password;
};

struct tender_registry;

/* A client of the registry at base_url ("https://host[:port]", no path). http is borrowed and
 * must outlive the registry client; it should carry no auth_header of its own (another
 * service's credentials would be sent to the registry). */
int tender_registry_new(struct tender_http *http, const char *base_url,
                        const struct tender_registry_options *opts, struct tender_registry **ret);
void tender_registry_free(struct tender_registry *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_registry, tender_registry_free);

struct tender_registry_blob {
        const char *repository; /* e.g. "library/hello" */
        struct tender_digest digest;
        uint64_t size; /* expected size; from the signed release, like the digest */
        tender_http_progress_fn progress;
        void *userdata;
};

/* Downloads the blob into dirfd/<name> as tender_http_download does (through dirfd/<name>.part),
 * retried under policy (NULL: defaults). A 401 answered with a new token does not count as a
 * failed attempt. */
int tender_registry_fetch_blob(struct tender_registry *r, const struct tender_registry_blob *b,
                               int dirfd, const char *name,
                               const struct tender_retry_policy *policy, struct tender_error *err);

/* Parses a Bearer challenge into malloc'd realm, service and scope (service and scope NULL when
 * absent). -EINVAL when it is not a well-formed Bearer challenge with a realm. */
int tender_registry_parse_challenge(const char *challenge, char **ret_realm, char **ret_service,
                                    char **ret_scope);
