/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI Distribution blob source: URLs, the Bearer token flow, and the download itself through
 * tender_http_download under tender_http_retry, so that a registry blob gets the same size cap,
 * streaming hash, If-Range resume, timeouts and backoff as any other.
 */
#include "tender/registry.h"

#include <ctype.h>
#include <mbedtls/base64.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tender/json.h"
#include "tender/log.h"

#define REGISTRY_TOKEN_RESPONSE_MAX (64 * 1024)
#define REGISTRY_CREDENTIALS_MAX 1024
#define REGISTRY_URL_MAX 4096

struct tender_registry {
        struct tender_http *http;
        char *base_url;
        char *basic_header;  /* "Authorization: Basic ..." for the token service, or NULL */
        char *bearer_header; /* "Authorization: Bearer <token>" once one was obtained */
};

static bool url_is_http(const char *u) {
        return strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0;
}

static int basic_header(const struct tender_registry_options *o, char **ret) {
        char creds[REGISTRY_CREDENTIALS_MAX], b64[REGISTRY_CREDENTIALS_MAX * 4 / 3 + 8];
        size_t olen = 0;
        int n = snprintf(creds, sizeof(creds), "%s:%s", o->username,
                         o->password ? o->password : "");
        if (n < 0 || (size_t) n >= sizeof(creds) || strpbrk(creds, "\r\n"))
                return -EINVAL;
        if (mbedtls_base64_encode((unsigned char *) b64, sizeof(b64), &olen,
                                  (const unsigned char *) creds, (size_t) n) != 0)
                return -EINVAL;
        explicit_bzero(creds, sizeof(creds));
        return asprintf(ret, "Authorization: Basic %s", b64) < 0 ? -ENOMEM : 0;
}

int tender_registry_new(struct tender_http *http, const char *base_url,
                        const struct tender_registry_options *opts, struct tender_registry **ret) {
        _cleanup_(tender_registry_freep) struct tender_registry *r = NULL;
        if (!http || !base_url || !url_is_http(base_url) || strlen(base_url) > REGISTRY_URL_MAX)
                return -EINVAL;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->http = http;
        r->base_url = strdup(base_url);
        if (!r->base_url)
                return -ENOMEM;
        size_t n = strlen(r->base_url);
        while (n > 0 && r->base_url[n - 1] == '/')
                r->base_url[--n] = '\0';
        if (strchr(r->base_url + (r->base_url[4] == 's' ? 8 : 7), '/'))
                return -EINVAL; /* a path would be dropped or misjoined */
        if (opts && opts->username) {
                int k = basic_header(opts, &r->basic_header);
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

void tender_registry_free(struct tender_registry *r) {
        if (!r)
                return;
        free(r->base_url);
        if (r->basic_header)
                explicit_bzero(r->basic_header, strlen(r->basic_header));
        free(r->basic_header);
        if (r->bearer_header)
                explicit_bzero(r->bearer_header, strlen(r->bearer_header));
        free(r->bearer_header);
        free(r);
}

/* Distribution spec: path components of [a-z0-9] runs joined by '.', '_', '__' or '-'s. */
static bool repository_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > TENDER_REGISTRY_REPOSITORY_MAX)
                return false;
        bool prev_alnum = false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (!alnum && !strchr("._-/", c))
                        return false;
                /* Separators only between alphanumerics; "__" and runs of '-' are allowed. */
                if (!alnum && !prev_alnum &&
                    (i == 0 || c != s[i - 1] || c == '/' || c == '.' ||
                     (c == '_' && i >= 2 && s[i - 2] == '_')))
                        return false;
                prev_alnum = alnum;
        }
        return prev_alnum;
}

/* Reads one auth-param value (quoted-string or token) at *p into out. */
static int challenge_value(const char **p, char *out, size_t size) {
        const char *s = *p;
        size_t n = 0;
        if (*s == '"') {
                for (s++; *s && *s != '"'; s++) {
                        if (*s == '\\' && s[1])
                                s++;
                        if (n + 1 >= size)
                                return -EINVAL;
                        out[n++] = *s;
                }
                if (*s != '"')
                        return -EINVAL;
                s++;
        } else {
                for (; *s && *s != ',' && *s != ' ' && *s != '\t'; s++) {
                        if (n + 1 >= size)
                                return -EINVAL;
                        out[n++] = *s;
                }
        }
        out[n] = '\0';
        *p = s;
        return 0;
}

int tender_registry_parse_challenge(const char *challenge, char **ret_realm, char **ret_service,
                                    char **ret_scope) {
        char key[32], val[TENDER_REGISTRY_TOKEN_MAX];
        _cleanup_free_ char *realm = NULL, *service = NULL, *scope = NULL;
        const char *p = challenge;

        while (*p == ' ')
                p++;
        if (strncasecmp(p, "bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
                return -EINVAL;
        p += 6;
        for (;;) {
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (!*p)
                        break;
                size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-");
                if (k == 0 || k >= sizeof(key) || p[k] != '=')
                        return -EINVAL;
                memcpy(key, p, k);
                key[k] = '\0';
                p += k + 1;
                if (challenge_value(&p, val, sizeof(val)) < 0)
                        return -EINVAL;
                char **slot = strcasecmp(key, "realm") == 0     ? &realm
                              : strcasecmp(key, "service") == 0 ? &service
                              : strcasecmp(key, "scope") == 0   ? &scope
                                                                : NULL;
                if (!slot)
                        continue; /* error=, error_description= and the like */
                if (*slot)
                        return -EINVAL; /* the same parameter twice */
                *slot = strdup(val);
                if (!*slot)
                        return -ENOMEM;
        }
        if (!realm || !realm[0])
                return -EINVAL;
        *ret_realm = TAKE_PTR(realm);
        *ret_service = TAKE_PTR(service);
        *ret_scope = TAKE_PTR(scope);
        return 0;
}

/* Appends "&key=<percent-encoded value>" (or "?..." for the first parameter). */
static int query_append(char *url, size_t size, const char *key, const char *value) {
        size_t n = strlen(url);
        int k = snprintf(url + n, size - n, "%c%s=", strchr(url, '?') ? '&' : '?', key);
        if (k < 0 || (size_t) k >= size - n)
                return -E2BIG;
        n += (size_t) k;
        for (const unsigned char *v = (const unsigned char *) value; *v; v++) {
                if (n + 4 > size)
                        return -E2BIG;
                if (isalnum(*v) || strchr("-._~", *v))
                        url[n++] = (char) *v;
                else
                        n += (size_t) snprintf(url + n, 4, "%%%02X", *v);
        }
        url[n] = '\0';
        return 0;
}

/* The token from a token service's JSON answer ("token", or OAuth2's "access_token"). */
static int token_parse(const char *body, size_t len, char **ret, struct tender_error *err) {
        _cleanup_(cJSON_Deletep) cJSON *json = NULL;
        const char *tok = NULL;
        int r = tender_json_parse(body, len, REGISTRY_TOKEN_RESPONSE_MAX, 8, &json, err);
        if (r < 0)
                return r;
        r = tender_json_get_string(json, "", "token", false, &tok, err);
        if (r >= 0 && !tok)
                r = tender_json_get_string(json, "", "access_token", false, &tok, err);
        if (r < 0)
                return r;
        if (!tok || !tok[0] || strlen(tok) > TENDER_REGISTRY_TOKEN_MAX)
                return tender_error_set(err, TENDER_ERR_SERVER, EBADMSG,
                                        "token response has no usable token");
        for (const char *c = tok; *c; c++)
                if (!isgraph((unsigned char) *c))
                        return tender_error_set(err, TENDER_ERR_SERVER, EBADMSG,
                                                "token response: token has invalid characters");
        return asprintf(ret, "Authorization: Bearer %s", tok) < 0 ? -ENOMEM : 0;
}

/* Answers the 401 challenge the last request got: fetches a token for the repository. */
static int token_fetch(struct tender_registry *r, const char *repository,
                       struct tender_error *err) {
        _cleanup_free_ char *realm = NULL, *service = NULL, *scope = NULL, *body = NULL,
                            *header = NULL, *url = NULL, *dflt_scope = NULL;
        const char *challenge = tender_http_last_challenge(r->http);
        size_t len = 0;
        int k;

        if (tender_registry_parse_challenge(challenge, &realm, &service, &scope) < 0)
                return tender_error_set(err, TENDER_ERR_NETWORK, EACCES,
                                        "registry %s: cannot answer the challenge \"%.200s\"",
                                        r->base_url, challenge);
        if (!url_is_http(realm) ||
            (strncmp(r->base_url, "https://", 8) == 0 && strncmp(realm, "https://", 8) != 0))
                return tender_error_set(err, TENDER_ERR_NETWORK, EACCES,
                                        "registry %s: refusing token realm %.200s", r->base_url,
                                        realm);
        if (!scope && asprintf(&dflt_scope, "repository:%s:pull", repository) < 0)
                return -ENOMEM;
        url = malloc(REGISTRY_URL_MAX);
        if (!url)
                return -ENOMEM;
        snprintf(url, REGISTRY_URL_MAX, "%s", realm);
        if ((service && query_append(url, REGISTRY_URL_MAX, "service", service) < 0) ||
            query_append(url, REGISTRY_URL_MAX, "scope", scope ? scope : dflt_scope) < 0)
                return tender_error_set(err, TENDER_ERR_NETWORK, E2BIG,
                                        "registry %s: token URL too long", r->base_url);
        log_debug("fetching a registry token from %s", url);
        k = tender_http_get_auth(r->http, url, r->basic_header, REGISTRY_TOKEN_RESPONSE_MAX, &body,
                                 &len, err);
        if (k >= 0)
                k = token_parse(body, len, &header, err);
        if (k < 0) {
                if (err)
                        tender_error_prefix(err, "registry token from %.200s", realm);
                return k;
        }
        free(r->bearer_header);
        r->bearer_header = TAKE_PTR(header);
        return 0;
}

struct fetch_args {
        struct tender_registry *r;
        const struct tender_registry_blob *b;
        struct tender_download d;
        int dirfd;
        const char *name;
};

static int fetch_attempt(struct tender_http *h, void *userdata, bool *ret_retryable,
                         struct tender_error *err) {
        struct fetch_args *a = userdata;
        a->d.auth_header = a->r->bearer_header;
        int k = tender_http_download(h, &a->d, a->dirfd, a->name, err);
        if (k == -EACCES && tender_http_last_status(h) == 401) {
                /* Unauthorised: (re)new the token once and try again right away. */
                k = token_fetch(a->r, a->b->repository, err);
                a->d.auth_header = a->r->bearer_header;
                if (k >= 0)
                        k = tender_http_download(h, &a->d, a->dirfd, a->name, err);
        }
        *ret_retryable = k < 0 && tender_http_last_retryable(h);
        return k;
}

int tender_registry_fetch_blob(struct tender_registry *r, const struct tender_registry_blob *b,
                               int dirfd, const char *name,
                               const struct tender_retry_policy *policy, struct tender_error *err) {
        _cleanup_free_ char *url = NULL;
        char dstr[TENDER_DIGEST_STRING_MAX];

        if (!repository_valid(b->repository))
                return tender_error_set(err, TENDER_ERR_NETWORK, EINVAL,
                                        "registry %s: invalid repository name \"%.*s\"",
                                        r->base_url, TENDER_REGISTRY_REPOSITORY_MAX,
                                        b->repository ? b->repository : "");
        if (asprintf(&url, "%s/v2/%s/blobs/%s", r->base_url, b->repository,
                     tender_digest_format(&b->digest, dstr)) < 0)
                return -ENOMEM;
        struct fetch_args a = {
                .r = r,
                .b = b,
                .d = {.url = url,
                      .digest = b->digest,
                      .size = b->size,
                      .progress = b->progress,
                      .userdata = b->userdata},
                .dirfd = dirfd,
                .name = name,
        };
        return tender_http_retry(r->http, policy, fetch_attempt, &a, NULL, err);
}
