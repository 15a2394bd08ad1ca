/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP(S) transfers over one libcurl easy handle per struct tender_http, so that consecutive
 * requests to the same server reuse the connection (keep-alive, TLS session).
 *
 * Policy, the same for every request:
 * - only http:// and https:// URLs; redirects are not followed unless the options allow some,
 *   and then only to the allowed protocols (https by default) and at most max_redirects times;
 *   curl drops our Authorization header when a redirect leaves the host;
 * - a connect timeout, a low-speed limit (under low_speed bytes/s for timeout_sec aborts) and a
 *   total deadline: request_timeout for small requests; for a blob, request_timeout plus what
 *   is left of it at min_avg_speed, so that a slow but moving multi-hundred-MiB download
 *   completes while a stalled or trickling (slow-loris) server is cut off in bounded time;
 * - the auth header only to the origins allowed (auth_origins);
 * - the caller's tick, about once a second, which may stop the transfer;
 * - with a CA file, that file is the only trust anchor;
 * - status codes are mapped here (CURLOPT_FAILONERROR off) and error bodies are never stored;
 * - every body has a cap, enforced from Content-Length when announced and in the write callback
 *   otherwise.
 */
#include "tender/http.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tender/fileio.h"
#include "tender/log.h"

#define HTTP_TIMEOUT_DEFAULT_SEC 30
#define HTTP_REQUEST_TIMEOUT_DEFAULT_SEC 60
#define HTTP_MIN_AVG_SPEED_DEFAULT 4096
#define HTTP_ORIGIN_MAX 300
#define HTTP_AUTH_ORIGINS_MAX 16
#define HTTP_DISCARD_MAX (1024 * 1024) /* response bodies of send_json, read and dropped */
#define HTTP_PROGRESS_STEP (64 * 1024)
#define HTTP_PART_SUFFIX ".part"
#define HTTP_VALIDATOR_SUFFIX ".part.etag"
#define HTTP_VALIDATOR_XATTR "user.tender.validator"
#define HTTP_VALIDATOR_MAX 256 /* an ETag or Last-Modified value, as stored and sent */
#define HTTP_CHALLENGE_MAX 1024
#define HTTP_RETRY_AFTER_MAX_SEC 3600 /* a server cannot park us for longer than this */

struct tender_http {
        CURL *curl;
        char *auth_header;
        char *user_agent;
        char *ca_file;
        char *pinned_public_key;
        char *client_cert;
        char *client_key;
        char *redirect_protocols;
        long max_redirects;
        long timeout_sec;
        uint64_t request_timeout_sec;
        uint64_t min_avg_speed;
        char **auth_origins; /* NULL: the auth header goes everywhere */
        bool (*tick)(void *userdata);
        void *tick_userdata;
        long low_speed;
        curl_off_t max_recv_speed;
        char curl_error[CURL_ERROR_SIZE];

        /* The last request's outcome, for callers and the retry loop. */
        long last_status;
        bool last_retryable; /* the failure may pass by itself */
        bool last_resumed;   /* the last download started from a non-empty .part */
        char challenge[HTTP_CHALLENGE_MAX];
        uint64_t retry_after_sec; /* Retry-After (delta-seconds form) of the last response */
};

enum sink_kind {
        SINK_DISCARD,
        SINK_BUFFER,
        SINK_FILE,
};

/* One request's state, shared by the header and write callbacks. */
struct xfer {
        struct tender_http *h;
        const char *url;
        enum sink_kind kind;
        uint64_t max; /* body cap (SINK_FILE: the expected blob size) */

        /* SINK_BUFFER */
        char *buf;
        size_t len, alloc;

        /* SINK_FILE */
        int fd;
        const struct tender_download *d;
        uint64_t offset;  /* bytes already in the .part file when the request was sent */
        uint64_t written; /* bytes in the .part file now */
        uint64_t last_progress;
        struct tender_sha256 *hash;
        int64_t range_start; /* from Content-Range, -1 if none */
        int dirfd;           /* where the validator file goes */
        const char *validator_name;
        char etag[HTTP_VALIDATOR_MAX];
        char last_modified[HTTP_VALIDATOR_MAX];
        bool saw_redirect;

        uint64_t deadline_sec; /* the whole request's, 0: none */
        bool ticked_stop;      /* the tick callback stopped the transfer */
        bool started;
        long status;
        int error; /* set by a callback that aborted the transfer */
        struct tender_error *err;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Copies an optional string; false only when out of memory. */
static bool dup_opt(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return !s || *ret;
}

static long clamp_long(uint64_t v, long dflt) {
        return v > 0 && v < LONG_MAX ? (long) v : dflt;
}

int tender_http_origin(const char *url, char *buf, size_t size) {
        _cleanup_free_ char *scheme = NULL, *host = NULL, *port = NULL;
        CURLU *u = curl_url();
        if (!u)
                return -ENOMEM;
        bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
                  curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
                  curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
                  curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
                  (STREQ(scheme, "http") || STREQ(scheme, "https"));
        curl_url_cleanup(u);
        if (!ok)
                return -EINVAL;
        for (char *p = host; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char) (*p - 'A' + 'a');
        int n = snprintf(buf, size, "%s://%s:%s", scheme, host, port);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static void strv_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

static bool strv_dup(const char *const *v, char ***ret) {
        size_t n = 0;
        *ret = NULL;
        if (!v)
                return true;
        while (v[n])
                n++;
        char **c = calloc(n + 1, sizeof(char *));
        if (!c)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(v[i]))) {
                        strv_free(c);
                        return false;
                }
        *ret = c;
        return true;
}

/* The auth header for a request to url: NULL when its origin is not one auth may go to. */
static const char *auth_for(const struct tender_http *h, const char *url, const char *auth) {
        char origin[HTTP_ORIGIN_MAX];
        if (!auth || !h->auth_origins)
                return auth;
        if (tender_http_origin(url, origin, sizeof(origin)) < 0)
                return NULL;
        for (size_t i = 0; h->auth_origins[i]; i++)
                if (STREQ(h->auth_origins[i], origin))
                        return auth;
        log_debug("Not sending credentials to %s: not the server's origin", origin);
        return NULL;
}

int tender_http_new(const struct tender_http_options *opts, struct tender_http **ret) {
        static const struct tender_http_options defaults = {0};
        if (!opts)
                opts = &defaults;
        pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK)
                return -ENOMEM;

        struct tender_http *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->timeout_sec = clamp_long(opts->timeout_sec, HTTP_TIMEOUT_DEFAULT_SEC);
        h->low_speed = clamp_long(opts->low_speed_bytes_per_sec, 1);
        h->max_recv_speed = opts->max_recv_bytes_per_sec < INT64_MAX
                                    ? (curl_off_t) opts->max_recv_bytes_per_sec
                                    : 0;
        h->max_redirects = (long) opts->max_redirects;
        h->request_timeout_sec = opts->request_timeout_sec ? opts->request_timeout_sec
                                                           : HTTP_REQUEST_TIMEOUT_DEFAULT_SEC;
        h->min_avg_speed = opts->min_avg_bytes_per_sec ? opts->min_avg_bytes_per_sec
                                                       : HTTP_MIN_AVG_SPEED_DEFAULT;
        h->tick = opts->tick;
        h->tick_userdata = opts->tick_userdata;
        h->curl = curl_easy_init();
        h->user_agent = strdup(opts->user_agent ? opts->user_agent : "tender/" TENDER_VERSION);
        bool ok = dup_opt(opts->auth_header, &h->auth_header) &&
                  dup_opt(opts->ca_file, &h->ca_file) &&
                  dup_opt(opts->pinned_public_key, &h->pinned_public_key) &&
                  dup_opt(opts->client_cert, &h->client_cert) &&
                  dup_opt(opts->client_key, &h->client_key) &&
                  dup_opt(opts->redirect_protocols ? opts->redirect_protocols : "https",
                          &h->redirect_protocols) &&
                  strv_dup(opts->auth_origins, &h->auth_origins);
        if (!ok || !h->curl || !h->user_agent) {
                tender_http_free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

void tender_http_free(struct tender_http *h) {
        if (!h)
                return;
        if (h->curl)
                curl_easy_cleanup(h->curl);
        free(h->auth_header);
        free(h->user_agent);
        free(h->ca_file);
        free(h->pinned_public_key);
        free(h->client_cert);
        free(h->client_key);
        free(h->redirect_protocols);
        strv_free(h->auth_origins);
        free(h);
}

static bool status_ok(long status) {
        return status >= 200 && status < 300;
}

static int map_status(const struct xfer *x, const char *method) {
        long s = x->status;
        int e = s == 404 ? ENOENT : (s == 401 || s == 403) ? EACCES : EPROTO;
        /* Overload and server faults may pass; other answers will be the same next time. */
        x->h->last_retryable = s >= 500 || s == 408 || s == 429;
        if (s >= 300 && s < 400)
                return tender_error_set(x->err, TENDER_ERR_NETWORK, e,
                                        "%s %s: HTTP %ld (redirects are not followed)", method,
                                        x->url, s);
        return tender_error_set(x->err, TENDER_ERR_NETWORK, e, "%s %s: HTTP %ld", method, x->url,
                                s);
}

static int map_curl(const struct xfer *x, const char *method, CURLcode rc) {
        const char *detail = x->h->curl_error[0] ? x->h->curl_error : curl_easy_strerror(rc);
        int e;
        x->h->last_retryable = false;
        if (x->saw_redirect && (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_TOO_MANY_REDIRECTS))
                return tender_error_set(x->err, TENDER_ERR_NETWORK, EPROTO,
                                        "%s %s: redirect refused: %s", method, x->url, detail);
        if (x->ticked_stop)
                return tender_error_set(x->err, TENDER_ERR_NETWORK, ECANCELED,
                                        "%s %s: stopped by the caller", method, x->url);
        switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
                e = ETIMEDOUT;
                x->h->last_retryable = true;
                break;
        case CURLE_OUT_OF_MEMORY:
                e = ENOMEM;
                break;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
                e = EINVAL;
                break;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
                /* The server is not the one we trust, or our own TLS files are bad: retrying
                 * changes nothing. Reported as unreachable like other connection failures. */
                e = EHOSTUNREACH;
                break;
        default:
                /* Connection refused, DNS, resets, truncated bodies, TLS failures: the server
                 * could not be talked to properly; the caller retries later. */
                e = EHOSTUNREACH;
                x->h->last_retryable = true;
                break;
        }
        return tender_error_set(x->err, TENDER_ERR_NETWORK, e, "%s %s: %s", method, x->url, detail);
}

/* If data is the header `name:` (lowercase, with colon), copies its value without surrounding
 * blanks into out (at most out_size - 1 bytes, else ""). Returns whether the name matched. */
static bool header_value(const char *data, size_t len, const char *name, char *out,
                         size_t out_size) {
        size_t n = strlen(name);
        if (len < n || strncasecmp(data, name, n) != 0)
                return false;
        const char *v = data + n, *end = data + len;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
        size_t vlen = (size_t) (end - v);
        if (vlen >= out_size)
                vlen = 0; /* too long to be used: treated as absent */
        memcpy(out, v, vlen);
        out[vlen] = '\0';
        return true;
}

static size_t header_cb(char *data, size_t size, size_t n, void *userdata) {
        struct xfer *x = userdata;
        size_t len = size * n;
        char range[128];

        /* A status line starts a new response (after "100 Continue" or a redirect). */
        if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
                int code = 0;
                x->range_start = -1;
                x->etag[0] = x->last_modified[0] = x->h->challenge[0] = '\0';
                x->h->retry_after_sec = 0;
                if (sscanf(data, "HTTP/%*s %d", &code) == 1 && code >= 300 && code < 400)
                        x->saw_redirect = true;
                return len;
        }
        if (header_value(data, len, "content-range:", range, sizeof(range))) {
                unsigned long long start;
                if (sscanf(range, "bytes %llu-", &start) == 1 && start <= INT64_MAX)
                        x->range_start = (int64_t) start;
        } else if (header_value(data, len, "retry-after:", range, sizeof(range))) {
                /* Only the delta-seconds form; an HTTP-date leaves the backoff as it is. */
                unsigned long long sec;
                if (range[strspn(range, "0123456789")] == '\0' && sscanf(range, "%llu", &sec) == 1)
                        x->h->retry_after_sec =
                                sec < HTTP_RETRY_AFTER_MAX_SEC ? sec : HTTP_RETRY_AFTER_MAX_SEC;
        } else if (header_value(data, len, "etag:", x->etag, sizeof(x->etag))) {
                /* A weak ETag cannot guard a byte range (RFC 9110, If-Range). */
                if (strncmp(x->etag, "W/", 2) == 0)
                        x->etag[0] = '\0';
        } else if (!header_value(data, len, "last-modified:", x->last_modified,
                                 sizeof(x->last_modified))) {
                char c[HTTP_CHALLENGE_MAX];
                /* Of several challenges, keep a Bearer one: that is the one we can answer. */
                if (header_value(data, len, "www-authenticate:", c, sizeof(c)) && c[0] &&
                    (!x->h->challenge[0] || strncasecmp(c, "bearer ", 7) == 0))
                        memcpy(x->h->challenge, c, sizeof(c));
        }
        return len;
}

static int file_reset(struct xfer *x) {
        if (ftruncate(x->fd, 0) < 0 || lseek(x->fd, 0, SEEK_SET) < 0)
                return tender_error_set_errno(x->err, TENDER_ERR_SYSTEM, errno,
                                              "truncate partial download of %s", x->url);
        tender_sha256_free(x->hash);
        x->hash = tender_sha256_new();
        if (!x->hash)
                return tender_error_set(x->err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        x->offset = x->written = x->last_progress = 0;
        return 0;
}

/*
 * The validator (ETag or Last-Modified) of the content a .part holds. It lives in an xattr of
 * the .part itself: it cannot outlive or lose its file, and the store's start-up scan, which
 * removes every name in blobs/ that is not <hex> or <hex>.part, leaves it alone. Where the file
 * system has no user xattrs it goes to a <name>.part.etag file next to the .part instead.
 */
static bool xattr_unsupported(int e) {
        return e == ENOTSUP || e == EOPNOTSUPP || e == EPERM;
}

static int validator_store(int fd, int dirfd, const char *sidecar, const char *v) {
        if (fsetxattr(fd, HTTP_VALIDATOR_XATTR, v, strlen(v), 0) == 0) {
                (void) unlinkat(dirfd, sidecar, 0);
                /* Durable before any byte it vouches for is appended. */
                return fsync(fd) < 0 ? -errno : 0;
        }
        if (!xattr_unsupported(errno))
                return -errno;
        return tender_write_file_atomic_at(dirfd, sidecar, v, strlen(v), 0644);
}

static void validator_drop(int fd, int dirfd, const char *sidecar) {
        if (fd >= 0)
                (void) fremovexattr(fd, HTTP_VALIDATOR_XATTR);
        (void) unlinkat(dirfd, sidecar, 0);
}

/* The stored validator into buf (NUL-terminated); false when there is none usable. */
static bool validator_load(int fd, int dirfd, const char *sidecar, char *buf, size_t size) {
        ssize_t n = fgetxattr(fd, HTTP_VALIDATOR_XATTR, buf, size - 1);
        if (n > 0) {
                buf[n] = '\0';
                if (strlen(buf) != (size_t) n)
                        return false;
        } else {
                _cleanup_free_ char *v = NULL;
                size_t len = 0;
                if (tender_read_file_at(dirfd, sidecar, size - 1, &v, &len) < 0 || strlen(v) != len)
                        return false;
                memcpy(buf, v, len + 1);
        }
        return buf[0] && !strpbrk(buf, "\r\n");
}

/* Records the validator of a body that starts at byte 0 with the .part, durably, so that a
 * resume after a crash can ask for "the rest of this same content" with If-Range. */
static int validator_save(struct xfer *x) {
        const char *v = x->etag[0] ? x->etag : x->last_modified;
        if (!v[0]) {
                validator_drop(x->fd, x->dirfd, x->validator_name);
                return 0;
        }
        int r = validator_store(x->fd, x->dirfd, x->validator_name, v);
        if (r < 0)
                return tender_error_set_errno(x->err, TENDER_ERR_SYSTEM, r,
                                              "GET %s: store the validator of %s", x->url,
                                              x->validator_name);
        return 0;
}

/* Called once the response headers are complete (first body bytes, or after the transfer when
 * the body was empty). Returns 1 when the body is to be stored, 0 when it is an error body. */
static int body_start(struct xfer *x) {
        curl_off_t cl = -1;
        x->started = true;
        curl_easy_getinfo(x->h->curl, CURLINFO_RESPONSE_CODE, &x->status);
        if (!status_ok(x->status))
                return 0;
        curl_easy_getinfo(x->h->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);

        if (x->kind != SINK_FILE) {
                if (cl >= 0 && (uint64_t) cl > x->max)
                        return tender_error_set(x->err, TENDER_ERR_NETWORK, EFBIG,
                                                "GET %s: body of %lld bytes exceeds the limit "
                                                "of %llu bytes",
                                                x->url, (long long) cl,
                                                (unsigned long long) x->max);
                return 1;
        }

        if (x->status == 206) {
                if (x->offset == 0 || x->range_start != (int64_t) x->offset) {
                        /* The .part is dropped; a fresh attempt may well succeed. */
                        x->h->last_retryable = true;
                        return tender_error_set(x->err, TENDER_ERR_NETWORK, EPROTO,
                                                "GET %s: unexpected partial content (asked for "
                                                "bytes from %llu)",
                                                x->url, (unsigned long long) x->offset);
                }
        } else if (x->status == 200) {
                int r;
                if (x->offset > 0) {
                        /* The server ignored the Range header, or the content changed since
                         * the .part was started (If-Range): start over. */
                        log_debug("%s sent the whole body, downloading from the start", x->url);
                        r = file_reset(x);
                        if (r < 0)
                                return r;
                }
                r = validator_save(x);
                if (r < 0)
                        return r;
        } else {
                return tender_error_set(x->err, TENDER_ERR_NETWORK, EPROTO,
                                        "GET %s: unexpected HTTP %ld", x->url, x->status);
        }
        if (cl >= 0 && (uint64_t) cl > x->max - x->offset)
                return tender_error_set(x->err, TENDER_ERR_NETWORK, EFBIG,
                                        "GET %s: announces %llu bytes, blob has %llu", x->url,
                                        (unsigned long long) (x->offset + (uint64_t) cl),
                                        (unsigned long long) x->max);
        return 1;
}

static int sink_buffer(struct xfer *x, const char *data, size_t len) {
        if (len > x->max - x->len)
                return tender_error_set(x->err, TENDER_ERR_NETWORK, EFBIG,
                                        "GET %s: body exceeds the limit of %llu bytes", x->url,
                                        (unsigned long long) x->max);
        if (x->len + len + 1 > x->alloc) {
                size_t a = x->alloc ? x->alloc : 4096;
                while (a < x->len + len + 1)
                        a *= 2;
                char *p = realloc(x->buf, a);
                if (!p)
                        return tender_error_set(x->err, TENDER_ERR_SYSTEM, ENOMEM,
                                                "GET %s: out of memory", x->url);
                x->buf = p;
                x->alloc = a;
        }
        memcpy(x->buf + x->len, data, len);
        x->len += len;
        x->buf[x->len] = '\0';
        return 0;
}

static int sink_file(struct xfer *x, const char *data, size_t len) {
        if (len > x->max - x->written)
                return tender_error_set(x->err, TENDER_ERR_NETWORK, EFBIG,
                                        "GET %s: more than the blob's %llu bytes", x->url,
                                        (unsigned long long) x->max);
        tender_sha256_update(x->hash, data, len);
        for (size_t done = 0; done < len;) {
                ssize_t k = write(x->fd, data + done, len - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return tender_error_set_errno(x->err, TENDER_ERR_SYSTEM, errno,
                                                      "GET %s: write partial file", x->url);
                done += (size_t) k;
        }
        x->written += len;
        if (x->d->progress && x->written - x->last_progress >= HTTP_PROGRESS_STEP) {
                x->last_progress = x->written;
                x->d->progress(x->written, x->max, x->d->userdata);
        }
        return 0;
}

static size_t write_cb(char *data, size_t size, size_t n, void *userdata) {
        struct xfer *x = userdata;
        size_t len = size * n;
        int r;

        if (!x->started) {
                r = body_start(x);
                if (r <= 0) {
                        x->error = r;
                        return 0; /* aborts: error bodies are never stored */
                }
        }
        switch (x->kind) {
        case SINK_DISCARD:
                r = len > x->max - x->len ? tender_error_set(x->err, TENDER_ERR_NETWORK, EFBIG,
                                                             "%s: response body too large", x->url)
                                          : 0;
                x->len += len;
                break;
        case SINK_BUFFER:
                r = sink_buffer(x, data, len);
                break;
        default:
                r = sink_file(x, data, len);
                break;
        }
        if (r < 0) {
                x->error = r;
                return 0;
        }
        return len;
}

static CURLcode redirect_policy(struct tender_http *h) {
        CURL *c = h->curl;
        if (h->max_redirects == 0)
                return curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, h->max_redirects);
        /* A GET stays a GET; credentials never follow to another host (curl's default). */
        curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
        return curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, h->redirect_protocols);
#else
        long mask = 0;
        if (strstr(h->redirect_protocols, "https"))
                mask |= CURLPROTO_HTTPS;
        if (strstr(h->redirect_protocols, "http,") || STREQ(h->redirect_protocols, "http") ||
            strstr(h->redirect_protocols, ",http"))
                mask |= CURLPROTO_HTTP;
        return curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, mask);
#endif
}

static CURLcode tls_policy(struct tender_http *h) {
        CURL *c = h->curl;
        CURLcode rc = CURLE_OK;
        if (h->ca_file) {
                /* The given bundle is the only trust anchor: no system CA directory. */
                rc = curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
                if (rc == CURLE_OK)
                        rc = curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
        }
        if (rc == CURLE_OK && h->pinned_public_key)
                rc = curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, h->pinned_public_key);
        if (rc == CURLE_OK && h->client_cert) {
                curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
                rc = curl_easy_setopt(c, CURLOPT_SSLCERT, h->client_cert);
        }
        if (rc == CURLE_OK && h->client_key) {
                curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
                rc = curl_easy_setopt(c, CURLOPT_SSLKEY, h->client_key);
        }
        return rc;
}

static int xferinfo_cb(void *userdata, _unused_ curl_off_t dltotal, _unused_ curl_off_t dlnow,
                       _unused_ curl_off_t ultotal, _unused_ curl_off_t ulnow) {
        struct xfer *x = userdata;
        if (x->h->tick && x->h->tick(x->h->tick_userdata)) {
                x->ticked_stop = true;
                return 1; /* CURLE_ABORTED_BY_CALLBACK */
        }
        return 0;
}

/* Resets the handle (keeping its connection cache) and applies the common policy. */
static int http_prepare(struct tender_http *h, struct xfer *x, struct curl_slist *headers) {
        CURL *c = h->curl;
        curl_easy_reset(c);
        h->curl_error[0] = h->challenge[0] = '\0';
        h->retry_after_sec = 0;
        h->last_status = 0;
        h->last_retryable = false;
#if LIBCURL_VERSION_NUM >= 0x075500
        CURLcode rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        CURLcode rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
        if (rc != CURLE_OK)
                return tender_error_set(x->err, TENDER_ERR_NETWORK, EINVAL,
                                        "%s: cannot restrict protocols: %s", x->url,
                                        curl_easy_strerror(rc));
        rc = redirect_policy(h);
        if (rc != CURLE_OK)
                return tender_error_set(x->err, TENDER_ERR_NETWORK, EINVAL,
                                        "%s: invalid redirect protocols \"%s\": %s", x->url,
                                        h->redirect_protocols, curl_easy_strerror(rc));
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_error);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->timeout_sec);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, h->low_speed);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->timeout_sec);
        if (x->deadline_sec)
                curl_easy_setopt(c, CURLOPT_TIMEOUT,
                                 x->deadline_sec < LONG_MAX ? (long) x->deadline_sec : LONG_MAX);
        if (h->tick) {
                curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
                curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
                curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        }
        curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
        if (h->max_recv_speed > 0)
                curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, h->max_recv_speed);
        rc = tls_policy(h);
        if (rc != CURLE_OK)
                return tender_error_set(x->err, TENDER_ERR_NETWORK, EINVAL,
                                        "%s: TLS options not supported by libcurl: %s", x->url,
                                        curl_easy_strerror(rc));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
        rc = curl_easy_setopt(c, CURLOPT_URL, x->url);
        if (rc != CURLE_OK)
                return tender_error_set(x->err, TENDER_ERR_NETWORK, EINVAL, "%s: invalid URL: %s",
                                        x->url, curl_easy_strerror(rc));
        return 0;
}

static int http_run(struct xfer *x, const char *method) {
        CURLcode rc = curl_easy_perform(x->h->curl);
        curl_easy_getinfo(x->h->curl, CURLINFO_RESPONSE_CODE, &x->h->last_status);
        if (x->started && x->status != 0 && !status_ok(x->status))
                return map_status(x, method);
        if (x->error < 0)
                return x->error;
        if (rc != CURLE_OK)
                return map_curl(x, method, rc);
        if (!x->started) {
                int r = body_start(x);
                if (r < 0)
                        return r;
                if (r == 0)
                        return map_status(x, method);
        }
        return 0;
}

/* The request's header list: auth (may be NULL) and up to three more lines (NULL: none). */
static int headers_new(const char *auth, const char *extra1, const char *extra2, const char *extra3,
                       struct curl_slist **ret) {
        struct curl_slist *l = NULL, *t;
        const char *items[] = {auth, extra1, extra2, extra3};
        for (size_t i = 0; i < ELEMENTSOF(items); i++) {
                if (!items[i])
                        continue;
                t = curl_slist_append(l, items[i]);
                if (!t) {
                        curl_slist_free_all(l);
                        return -ENOMEM;
                }
                l = t;
        }
        *ret = l;
        return 0;
}

static void slist_freep(struct curl_slist **l) {
        curl_slist_free_all(*l);
}

static int http_get(struct tender_http *h, const char *url, const char *auth, size_t max,
                    char **ret_body, size_t *ret_len, struct tender_error *err) {
        _cleanup_(slist_freep) struct curl_slist *headers = NULL;
        struct xfer x = {.h = h,
                         .url = url,
                         .kind = SINK_BUFFER,
                         .max = max,
                         .fd = -1,
                         .range_start = -1,
                         .deadline_sec = h->request_timeout_sec,
                         .err = err};
        int r;

        if (headers_new(auth, NULL, NULL, NULL, &headers) < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        r = http_prepare(h, &x, headers);
        if (r >= 0)
                r = http_run(&x, "GET");
        if (r >= 0 && !x.buf) {
                x.buf = strdup("");
                if (!x.buf)
                        r = tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        }
        if (r < 0) {
                free(x.buf);
                return r;
        }
        *ret_body = x.buf;
        if (ret_len)
                *ret_len = x.len;
        return 0;
}

int tender_http_get(struct tender_http *h, const char *url, size_t max, char **ret_body,
                    size_t *ret_len, struct tender_error *err) {
        return http_get(h, url, auth_for(h, url, h->auth_header), max, ret_body, ret_len, err);
}

int tender_http_get_auth(struct tender_http *h, const char *url, const char *auth_header,
                         size_t max, char **ret_body, size_t *ret_len, struct tender_error *err) {
        return http_get(h, url, auth_header, max, ret_body, ret_len, err);
}

long tender_http_last_status(const struct tender_http *h) {
        return h->last_status;
}

const char *tender_http_last_challenge(const struct tender_http *h) {
        return h->challenge;
}

int tender_http_send_json(struct tender_http *h, const char *method, const char *url,
                          const char *json, struct tender_error *err) {
        _cleanup_(slist_freep) struct curl_slist *headers = NULL;
        struct xfer x = {.h = h,
                         .url = url,
                         .kind = SINK_DISCARD,
                         .max = HTTP_DISCARD_MAX,
                         .fd = -1,
                         .range_start = -1,
                         .deadline_sec = h->request_timeout_sec,
                         .err = err};
        int r;

        if (!method || (!STREQ(method, "POST") && !STREQ(method, "PUT")))
                return tender_error_set(err, TENDER_ERR_NETWORK, EINVAL,
                                        "%s: unsupported method %s", url,
                                        method ? method : "(null)");
        /* "Expect:" suppresses the 100-continue round trip for small bodies. */
        if (headers_new(auth_for(h, url, h->auth_header), "Content-Type: application/json",
                        "Expect:", NULL, &headers) < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        r = http_prepare(h, &x, headers);
        if (r < 0)
                return r;
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(json));
        if (STREQ(method, "PUT"))
                curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, "PUT");
        return http_run(&x, method);
}

static void sha256_freep(struct tender_sha256 **p) {
        tender_sha256_free(*p);
}

/* Size and digest of the finished .part file against the expected ones. */
static int download_verify(struct xfer *x, const char *dstr) {
        char got[TENDER_DIGEST_STRING_MAX];
        struct tender_digest actual;

        if (x->written != x->d->size)
                return tender_error_set(x->err, TENDER_ERR_VERIFY, EBADMSG,
                                        "blob %s from %s: size mismatch (expected %llu bytes, "
                                        "got %llu)",
                                        dstr, x->url, (unsigned long long) x->d->size,
                                        (unsigned long long) x->written);
        tender_sha256_final(x->hash, &actual);
        if (!tender_digest_equal(&actual, &x->d->digest))
                return tender_error_set(x->err, TENDER_ERR_VERIFY, EBADMSG,
                                        "blob %s from %s: digest mismatch (got %s)", dstr, x->url,
                                        tender_digest_format(&actual, got));
        return 0;
}

/* Feeds the bytes already in the .part file to the hash; leaves fd at its end. */
static int hash_existing(int fd, struct tender_sha256 *hash, uint64_t *ret_size) {
        char buf[64 * 1024];
        uint64_t total = 0;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                tender_sha256_update(hash, buf, (size_t) n);
                total += (uint64_t) n;
        }
        *ret_size = total;
        return 0;
}

static bool download_name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;
        return n > 0 && n + sizeof(HTTP_VALIDATOR_SUFFIX) <= NAME_MAX && !strchr(name, '/') &&
               !STREQ(name, ".") && !STREQ(name, "..");
}

/* File names and headers of one download. */
struct download_ctx {
        char dstr[TENDER_DIGEST_STRING_MAX];
        char part[NAME_MAX + 1];
        char validator_name[NAME_MAX + 1];
        char range[64];
        char if_range[sizeof("If-Range: ") + HTTP_VALIDATOR_MAX];
};

/* Opens (creating) the .part file and hashes what it already holds; a .part longer than the
 * blob cannot be a prefix of it and is emptied. */
static int part_open(int dirfd, const struct tender_download *d, struct download_ctx *c,
                     struct tender_sha256 **ret_hash, uint64_t *ret_have,
                     struct tender_error *err) {
        _cleanup_(sha256_freep) struct tender_sha256 *hash = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        fd = openat(dirfd, c->part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "blob %s: open %s",
                                              c->dstr, c->part);
        if (fstat(fd, &st) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "blob %s: stat %s",
                                              c->dstr, c->part);
        if (!S_ISREG(st.st_mode))
                return tender_error_set(err, TENDER_ERR_SYSTEM, EINVAL,
                                        "blob %s: %s is not a regular file", c->dstr, c->part);
        if ((uint64_t) st.st_size > d->size && ftruncate(fd, 0) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "blob %s: truncate %s",
                                              c->dstr, c->part);
        hash = tender_sha256_new();
        if (!hash)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        r = hash_existing(fd, hash, ret_have);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "blob %s: read %s",
                                              c->dstr, c->part);
        *ret_hash = TAKE_PTR(hash);
        return TAKE_FD(fd);
}

/* The Range and If-Range lines for resuming at byte have (NULL when starting at zero). The
 * validator is the one stored when the .part was started; without one the resume is
 * unconditional and only the final digest check catches changed content. */
static void resume_headers(int fd, int dirfd, uint64_t have, struct download_ctx *c,
                           const char **ret_range, const char **ret_if_range) {
        char v[HTTP_VALIDATOR_MAX];
        *ret_range = *ret_if_range = NULL;
        if (have == 0)
                return;
        snprintf(c->range, sizeof(c->range), "Range: bytes=%llu-", (unsigned long long) have);
        *ret_range = c->range;
        if (validator_load(fd, dirfd, c->validator_name, v, sizeof(v))) {
                snprintf(c->if_range, sizeof(c->if_range), "If-Range: %s", v);
                *ret_if_range = c->if_range;
        }
}

/* Verifies the complete .part and moves it into place durably. */
static int download_finish(struct xfer *x, int dirfd, const struct download_ctx *c,
                           const char *name) {
        int r = download_verify(x, c->dstr);
        if (r < 0) {
                (void) unlinkat(dirfd, c->part, 0);
                (void) unlinkat(dirfd, c->validator_name, 0);
                return r;
        }
        if (x->d->progress)
                x->d->progress(x->written, x->d->size, x->d->userdata);
        /* The blob keeps no trace of how it was fetched. A stale validator is harmless (it
         * only guards a .part), so no error if this fails. */
        validator_drop(x->fd, dirfd, c->validator_name);
        if (fsync(x->fd) < 0)
                return tender_error_set_errno(x->err, TENDER_ERR_SYSTEM, errno, "blob %s: fsync %s",
                                              c->dstr, c->part);
        if (renameat(dirfd, c->part, dirfd, name) < 0)
                return tender_error_set_errno(x->err, TENDER_ERR_SYSTEM, errno,
                                              "blob %s: rename %s", c->dstr, c->part);
        r = tender_fsync_dir_at(dirfd, ".");
        if (r < 0)
                return tender_error_set_errno(x->err, TENDER_ERR_SYSTEM, r,
                                              "blob %s: fsync directory", c->dstr);
        return 0;
}

int tender_http_download(struct tender_http *h, const struct tender_download *d, int dirfd,
                         const char *name, struct tender_error *err) {
        _cleanup_(slist_freep) struct curl_slist *headers = NULL;
        _cleanup_(sha256_freep) struct tender_sha256 *hash = NULL;
        _cleanup_close_ int fd = -1;
        struct download_ctx c;
        const char *range_hdr, *if_range_hdr;
        uint64_t have = 0;
        int r;

        h->last_status = 0;
        h->last_retryable = h->last_resumed = false;
        tender_digest_format(&d->digest, c.dstr);
        if (!download_name_valid(name))
                return tender_error_set(err, TENDER_ERR_SYSTEM, EINVAL,
                                        "blob %s: invalid file name", c.dstr);
        snprintf(c.part, sizeof(c.part), "%s" HTTP_PART_SUFFIX, name);
        snprintf(c.validator_name, sizeof(c.validator_name), "%s" HTTP_VALIDATOR_SUFFIX, name);

        fd = part_open(dirfd, d, &c, &hash, &have, err);
        if (fd < 0)
                return fd;

        struct xfer x = {.h = h,
                         .url = d->url,
                         .kind = SINK_FILE,
                         .max = d->size,
                         .fd = fd,
                         .d = d,
                         .offset = have,
                         .written = have,
                         .last_progress = have,
                         .hash = hash,
                         .range_start = -1,
                         .dirfd = dirfd,
                         .validator_name = c.validator_name,
                         .err = err};

        if (have < d->size) {
                h->last_resumed = have > 0;
                if (have > 0)
                        log_debug("resuming %s at byte %llu", d->url, (unsigned long long) have);
                resume_headers(fd, dirfd, have, &c, &range_hdr, &if_range_hdr);
                /* The rest of the blob at the slowest average speed still accepted. */
                x.deadline_sec = h->request_timeout_sec + (d->size - have) / h->min_avg_speed;
                if (headers_new(
                            auth_for(h, d->url, d->auth_header ? d->auth_header : h->auth_header),
                            range_hdr, if_range_hdr, NULL, &headers) < 0)
                        r = tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
                else
                        r = http_prepare(h, &x, headers);
                if (r >= 0)
                        r = http_run(&x, "GET");
                hash = x.hash; /* file_reset may have replaced it */
                if (r < 0) {
                        /* Keep the .part for a later resume only when the transfer broke off
                         * or the server failed; when we refused the body (oversized, bad
                         * Content-Range, disk full) or the range is unsatisfiable, resuming
                         * from these bytes would fail the same way again. */
                        if (x.error < 0 || (x.started && x.status == 416)) {
                                (void) unlinkat(dirfd, c.part, 0);
                                (void) unlinkat(dirfd, c.validator_name, 0);
                        }
                        if (err)
                                tender_error_prefix(err, "blob %s", c.dstr);
                        return r;
                }
        }
        return download_finish(&x, dirfd, &c, name);
}

bool tender_http_last_retryable(const struct tender_http *h) {
        return h->last_retryable;
}

uint64_t tender_http_last_retry_after_ms(const struct tender_http *h) {
        return h->retry_after_sec * 1000;
}

bool tender_http_last_resumed(const struct tender_http *h) {
        return h->last_resumed;
}
