/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP(S) transfers over one libcurl easy handle per struct tender_http, so that consecutive
 * requests to the same server reuse the connection (keep-alive, TLS session).
 *
 * Policy, the same for every request:
 * - only http:// and https:// URLs; redirects are not followed at all (a 3xx is -EPROTO), so a
 *   server cannot send the agent to another host or scheme;
 * - a connect timeout plus a low-speed limit (under 1 byte/s for timeout_sec aborts) instead of a
 *   total timeout: a slow but moving multi-hundred-MiB download completes, a stalled one ends;
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
#include <unistd.h>

#include "tender/fileio.h"
#include "tender/log.h"

#define HTTP_TIMEOUT_DEFAULT_SEC 30
#define HTTP_DISCARD_MAX (1024 * 1024) /* response bodies of send_json, read and dropped */
#define HTTP_PROGRESS_STEP (64 * 1024)
#define HTTP_PART_SUFFIX ".part"

struct tender_http {
        CURL *curl;
        char *auth_header;
        char *user_agent;
        char *ca_file;
        long timeout_sec;
        char curl_error[CURL_ERROR_SIZE];
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
        h->timeout_sec = opts->timeout_sec > 0 && opts->timeout_sec < LONG_MAX
                                 ? (long) opts->timeout_sec
                                 : HTTP_TIMEOUT_DEFAULT_SEC;
        h->curl = curl_easy_init();
        h->user_agent = strdup(opts->user_agent ? opts->user_agent : "tender/" TENDER_VERSION);
        if (opts->auth_header)
                h->auth_header = strdup(opts->auth_header);
        if (opts->ca_file)
                h->ca_file = strdup(opts->ca_file);
        if (!h->curl || !h->user_agent || (opts->auth_header && !h->auth_header) ||
            (opts->ca_file && !h->ca_file)) {
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
        free(h);
}

static bool status_ok(long status) {
        return status >= 200 && status < 300;
}

static int map_status(const struct xfer *x, const char *method) {
        long s = x->status;
        int e = s == 404 ? ENOENT : (s == 401 || s == 403) ? EACCES : EPROTO;
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
        switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
                e = ETIMEDOUT;
                break;
        case CURLE_OUT_OF_MEMORY:
                e = ENOMEM;
                break;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
                e = EINVAL;
                break;
        default:
                /* Connection refused, DNS, resets, truncated bodies, TLS failures: the server
                 * could not be talked to properly; the caller retries later. */
                e = EHOSTUNREACH;
                break;
        }
        return tender_error_set(x->err, TENDER_ERR_NETWORK, e, "%s %s: %s", method, x->url, detail);
}

static size_t header_cb(char *data, size_t size, size_t n, void *userdata) {
        struct xfer *x = userdata;
        size_t len = size * n;
        static const char name[] = "content-range:";
        char line[128];

        /* A status line starts a new response (e.g. after "100 Continue"). */
        if (len >= 5 && memcmp(data, "HTTP/", 5) == 0)
                x->range_start = -1;
        if (len < sizeof(name) - 1 || len >= sizeof(line) ||
            strncasecmp(data, name, sizeof(name) - 1) != 0)
                return len;
        memcpy(line, data, len);
        line[len] = '\0';
        unsigned long long start;
        if (sscanf(line + sizeof(name) - 1, " bytes %llu-", &start) == 1 && start <= INT64_MAX)
                x->range_start = (int64_t) start;
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
                if (x->offset == 0 || x->range_start != (int64_t) x->offset)
                        return tender_error_set(x->err, TENDER_ERR_NETWORK, EPROTO,
                                                "GET %s: unexpected partial content (asked for "
                                                "bytes from %llu)",
                                                x->url, (unsigned long long) x->offset);
        } else if (x->status == 200) {
                if (x->offset > 0) {
                        /* The server ignored the Range header: start over. */
                        log_debug("%s ignored Range, downloading from the start", x->url);
                        int r = file_reset(x);
                        if (r < 0)
                                return r;
                }
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

/* Resets the handle (keeping its connection cache) and applies the common policy. */
static int http_prepare(struct tender_http *h, struct xfer *x, struct curl_slist *headers) {
        CURL *c = h->curl;
        curl_easy_reset(c);
        h->curl_error[0] = '\0';
#if LIBCURL_VERSION_NUM >= 0x075500
        CURLcode rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        CURLcode rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
        if (rc != CURLE_OK)
                return tender_error_set(x->err, TENDER_ERR_NETWORK, EINVAL,
                                        "%s: cannot restrict protocols: %s", x->url,
                                        curl_easy_strerror(rc));
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_error);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->timeout_sec);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->timeout_sec);
        curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
        if (h->ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
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

static int headers_new(struct tender_http *h, const char *extra1, const char *extra2,
                       struct curl_slist **ret) {
        struct curl_slist *l = NULL, *t;
        const char *items[] = {h->auth_header, extra1, extra2};
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

int tender_http_get(struct tender_http *h, const char *url, size_t max, char **ret_body,
                    size_t *ret_len, struct tender_error *err) {
        _cleanup_(slist_freep) struct curl_slist *headers = NULL;
        struct xfer x = {.h = h,
                         .url = url,
                         .kind = SINK_BUFFER,
                         .max = max,
                         .fd = -1,
                         .range_start = -1,
                         .err = err};
        int r;

        if (headers_new(h, NULL, NULL, &headers) < 0)
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

int tender_http_send_json(struct tender_http *h, const char *method, const char *url,
                          const char *json, struct tender_error *err) {
        _cleanup_(slist_freep) struct curl_slist *headers = NULL;
        struct xfer x = {.h = h,
                         .url = url,
                         .kind = SINK_DISCARD,
                         .max = HTTP_DISCARD_MAX,
                         .fd = -1,
                         .range_start = -1,
                         .err = err};
        int r;

        if (!method || (!STREQ(method, "POST") && !STREQ(method, "PUT")))
                return tender_error_set(err, TENDER_ERR_NETWORK, EINVAL,
                                        "%s: unsupported method %s", url,
                                        method ? method : "(null)");
        /* "Expect:" suppresses the 100-continue round trip for small bodies. */
        if (headers_new(h, "Content-Type: application/json", "Expect:", &headers) < 0)
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
        return n > 0 && n + sizeof(HTTP_PART_SUFFIX) <= NAME_MAX && !strchr(name, '/') &&
               !STREQ(name, ".") && !STREQ(name, "..");
}

int tender_http_download(struct tender_http *h, const struct tender_download *d, int dirfd,
                         const char *name, struct tender_error *err) {
        _cleanup_(slist_freep) struct curl_slist *headers = NULL;
        _cleanup_(sha256_freep) struct tender_sha256 *hash = NULL;
        _cleanup_close_ int fd = -1;
        char dstr[TENDER_DIGEST_STRING_MAX], part[NAME_MAX + 1], range[64];
        struct stat st;
        uint64_t have = 0;
        int r;

        tender_digest_format(&d->digest, dstr);
        if (!download_name_valid(name))
                return tender_error_set(err, TENDER_ERR_SYSTEM, EINVAL,
                                        "blob %s: invalid file name", dstr);
        snprintf(part, sizeof(part), "%s" HTTP_PART_SUFFIX, name);

        fd = openat(dirfd, part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "blob %s: open %s",
                                              dstr, part);
        if (fstat(fd, &st) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "blob %s: stat %s",
                                              dstr, part);
        if (!S_ISREG(st.st_mode))
                return tender_error_set(err, TENDER_ERR_SYSTEM, EINVAL,
                                        "blob %s: %s is not a regular file", dstr, part);

        /* A .part longer than the blob cannot be a prefix of it. */
        if ((uint64_t) st.st_size > d->size && ftruncate(fd, 0) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "blob %s: truncate %s",
                                              dstr, part);
        hash = tender_sha256_new();
        if (!hash)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        r = hash_existing(fd, hash, &have);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "blob %s: read %s", dstr,
                                              part);

        struct xfer x = {.h = h,
                         .url = d->url,
                         .kind = SINK_FILE,
                         .max = d->size,
                         .fd = fd,
                         .d = d,
                         .offset = have,
                         .written = have,
                         .last_progress = have,
                         .hash = TAKE_PTR(hash),
                         .range_start = -1,
                         .err = err};

        if (have < d->size) {
                const char *range_hdr = NULL;
                if (have > 0) {
                        snprintf(range, sizeof(range), "Range: bytes=%llu-",
                                 (unsigned long long) have);
                        range_hdr = range;
                        log_debug("resuming %s at byte %llu", d->url, (unsigned long long) have);
                }
                if (headers_new(h, range_hdr, NULL, &headers) < 0)
                        r = tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
                else
                        r = http_prepare(h, &x, headers);
                if (r >= 0)
                        r = http_run(&x, "GET");
                if (r < 0) {
                        hash = TAKE_PTR(x.hash);
                        /* Keep the .part for a later resume only when the transfer broke off
                         * or the server failed; when we refused the body (oversized, bad
                         * Content-Range, disk full) or the range is unsatisfiable, resuming
                         * from these bytes would fail the same way again. */
                        if (x.error < 0 || (x.started && x.status == 416))
                                (void) unlinkat(dirfd, part, 0);
                        if (err)
                                tender_error_prefix(err, "blob %s", dstr);
                        return r;
                }
        }
        hash = TAKE_PTR(x.hash);
        x.hash = hash;
        r = download_verify(&x, dstr);
        if (r < 0) {
                (void) unlinkat(dirfd, part, 0);
                return r;
        }
        if (d->progress)
                d->progress(x.written, d->size, d->userdata);
        if (fsync(fd) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "blob %s: fsync %s",
                                              dstr, part);
        if (renameat(dirfd, part, dirfd, name) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "blob %s: rename %s",
                                              dstr, part);
        r = tender_fsync_dir_at(dirfd, ".");
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "blob %s: fsync directory",
                                              dstr);
        return 0;
}
