/* SPDX-License-Identifier: Apache-2.0 */
/* GET /repo/<path>: the repository's files, streamed from their fd, with single byte ranges
 * (resumable downloads) and hawkBit's "<file>.MD5SUM" companions. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "range.h"
#include "server.h"
#include "stats.h"
#include "tender/log.h"

#define MD5SUM_SUFFIX ".MD5SUM"
#define ETAG_MAX 64

static const char *endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && STREQ(s + a - b, suffix) ? s + a - b : NULL;
}

static void refuse(struct mock_reply *reply, int r, const char *path) {
        if (r == -EPERM)
                mock_reply_error(reply, MHD_HTTP_FORBIDDEN, "mock.forbidden", "Refusing path %s",
                                 path);
        else if (r == -ENOENT || r == -ENOTDIR || r == -EISDIR)
                mock_reply_error(reply, MHD_HTTP_NOT_FOUND, "mock.notFound", "No file %s", path);
        else
                mock_reply_error(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, "mock.internal",
                                 "Cannot open %s: %s", path, strerror(-r));
}

/* "<md5hex>  <filename>\n", as md5sum(1) prints and hawkBit serves. */
static void md5sum(struct mock *m, const char *path, struct mock_reply *reply) {
        char base[MOCK_REPO_PATH_MAX + 1];
        size_t len = strlen(path) - strlen(MD5SUM_SUFFIX);
        if (len == 0 || len > MOCK_REPO_PATH_MAX) {
                refuse(reply, -ENOENT, path);
                return;
        }
        memcpy(base, path, len);
        base[len] = '\0';
        _cleanup_close_ int fd = mock_repo_open_file(m->repo, base);
        if (fd < 0) {
                refuse(reply, fd, path);
                return;
        }
        struct mock_hashes h;
        uint64_t size;
        int r = mock_repo_hashes(m->repo, fd, &size, &h);
        if (r < 0) {
                refuse(reply, r, path);
                return;
        }
        const char *slash = strrchr(base, '/');
        char *text = NULL;
        if (asprintf(&text, "%s  %s\n", h.md5, slash ? slash + 1 : base) < 0)
                return;
        reply->response =
                MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (!reply->response) {
                free(text);
                return;
        }
        MHD_add_response_header(reply->response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
        reply->status = MHD_HTTP_OK;
}

/* A Range applies unless If-Range names another version of the file. */
static const char *effective_range(const struct mock_request *req, const char *etag) {
        const char *range =
                MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
        const char *if_range =
                MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_RANGE);
        if (range && if_range && !STREQ(if_range, etag))
                return NULL;
        return range;
}

/* Bodies are read through a callback, so /mock/stats can count what was sent. Throttled
 * (--throttle on blobs/, or a throttle fault): blocks of THROTTLE_BLOCK bytes, each followed by
 * the pause that keeps the rate; a dribble fault sends one byte per pause. Pauses block MHD's
 * one thread, so other requests wait at most one pause: fine for a test server, which is what
 * these are for. A truncate fault ends the body with an error after its bytes (MHD closes the
 * connection short of Content-Length); a corrupt fault flips one byte of the file. */
#define THROTTLE_BLOCK 16384
#define READ_BLOCK 65536
struct body_reader {
        int fd;
        uint64_t first, bps; /* bps 0: unthrottled */
        uint64_t dribble_ms;
        bool truncate, corrupt;
        uint64_t truncate_after, corrupt_offset;
        char path[];
};

static void pause_ns(uint64_t ns) {
        struct timespec ts = {.tv_sec = (time_t) (ns / 1000000000ULL),
                              .tv_nsec = (long) (ns % 1000000000ULL)};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static ssize_t body_read(void *cls, uint64_t pos, char *buf, size_t max) {
        struct body_reader *t = cls;
        size_t block = t->dribble_ms ? 1 : t->bps ? THROTTLE_BLOCK : READ_BLOCK;
        size_t n = max < block ? max : block;
        if (t->truncate) {
                if (pos >= t->truncate_after)
                        return MHD_CONTENT_READER_END_WITH_ERROR;
                if (n > t->truncate_after - pos)
                        n = (size_t) (t->truncate_after - pos);
        }
        ssize_t k = pread(t->fd, buf, n, (off_t) (t->first + pos));
        if (k <= 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        uint64_t at = t->first + pos;
        if (t->corrupt && t->corrupt_offset >= at && t->corrupt_offset < at + (uint64_t) k)
                buf[t->corrupt_offset - at] ^= 0x01;
        mock_stats_bytes(t->path, (uint64_t) k);
        if (t->dribble_ms)
                pause_ns(t->dribble_ms * 1000000ULL);
        else if (t->bps)
                pause_ns((uint64_t) k * 1000000000ULL / t->bps);
        return k;
}

static void body_free(void *cls) {
        struct body_reader *t = cls;
        close(t->fd);
        free(t);
}

static struct MHD_Response *body_response(int fd, const char *path, uint64_t first, uint64_t len,
                                          uint64_t bps, const struct mock_fault_plan *fault) {
        size_t plen = strlen(path) + 1;
        struct body_reader *t = malloc(sizeof(*t) + plen);
        if (!t)
                return NULL;
        *t = (struct body_reader){.fd = fd, .first = first, .bps = bps};
        if (fault) {
                if (fault->throttle_bps && (!t->bps || fault->throttle_bps < t->bps))
                        t->bps = fault->throttle_bps;
                t->dribble_ms = fault->dribble_ms;
                t->truncate = fault->truncate;
                t->truncate_after = fault->truncate_after;
                t->corrupt = fault->corrupt;
                t->corrupt_offset = fault->corrupt_offset;
        }
        memcpy(t->path, path, plen);
        struct MHD_Response *r = MHD_create_response_from_callback(
                len, t->bps || t->dribble_ms ? THROTTLE_BLOCK : READ_BLOCK, body_read, t,
                body_free);
        if (!r)
                free(t);
        return r;
}

/* A replay fault: the file as it was when the fault was set (stale or replayed metadata). */
static void replay(const struct mock_request *req, const char *path, struct mock_reply *reply) {
        const struct mock_fault_plan *f = req->fault;
        reply->response =
                MHD_create_response_from_buffer(f->replay_len, f->replay, MHD_RESPMEM_MUST_COPY);
        if (!reply->response)
                return;
        mock_stats_request(path);
        mock_stats_bytes(path, f->replay_len);
        MHD_add_response_header(reply->response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/octet-stream");
        reply->status = MHD_HTTP_OK;
}

void mock_files_handle(struct mock *m, const struct mock_request *req, const char *rest,
                       struct mock_reply *reply) {
        if (!STREQ(req->method, "GET") && !STREQ(req->method, "HEAD")) {
                mock_reply_error(reply, MHD_HTTP_METHOD_NOT_ALLOWED, "mock.methodNotAllowed",
                                 "The repository is read-only");
                return;
        }
        if (req->fault && req->fault->replay) {
                replay(req, rest, reply);
                return;
        }
        _cleanup_close_ int fd = mock_repo_open_file(m->repo, rest);
        if (fd == -ENOENT && endswith(rest, MD5SUM_SUFFIX)) {
                md5sum(m, rest, reply);
                return;
        }
        if (fd < 0) {
                refuse(reply, fd, rest);
                return;
        }
        struct stat st;
        if (fstat(fd, &st) < 0) {
                refuse(reply, -errno, rest);
                return;
        }
        uint64_t size = (uint64_t) st.st_size;
        char etag[ETAG_MAX];
        snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%llx.%lx\"", size,
                 (unsigned long long) st.st_mtim.tv_sec, (unsigned long) st.st_mtim.tv_nsec);

        uint64_t first = 0, last = 0;
        enum mock_range_result range =
                mock_range_parse(effective_range(req, etag), size, &first, &last);
        char content_range[96];
        if (range == MOCK_RANGE_UNSATISFIABLE) {
                mock_reply_error(reply, MHD_HTTP_RANGE_NOT_SATISFIABLE, "mock.rangeNotSatisfiable",
                                 "%s has %" PRIu64 " bytes", rest, size);
                snprintf(content_range, sizeof(content_range), "bytes */%" PRIu64, size);
                if (reply->response)
                        MHD_add_response_header(reply->response, MHD_HTTP_HEADER_CONTENT_RANGE,
                                                content_range);
                return;
        }
        if (range != MOCK_RANGE_OK) {
                first = 0;
                last = size > 0 ? size - 1 : 0;
        }
        uint64_t len = size > 0 ? last - first + 1 : 0;

        mock_stats_request(rest);
        if (len == 0)
                reply->response = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        else {
                bool throttled = m->throttle_bps && strncmp(rest, "blobs/", 6) == 0;
                /* The reader owns the fd from here and closes it after the transfer. */
                reply->response = body_response(fd, rest, first, len,
                                                throttled ? m->throttle_bps : 0, req->fault);
                if (reply->response)
                        TAKE_FD(fd);
        }
        if (!reply->response)
                return;
        MHD_add_response_header(reply->response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/octet-stream");
        MHD_add_response_header(reply->response, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
        MHD_add_response_header(reply->response, MHD_HTTP_HEADER_ETAG, etag);
        reply->status = MHD_HTTP_OK;
        if (range == MOCK_RANGE_OK) {
                snprintf(content_range, sizeof(content_range),
                         "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
                MHD_add_response_header(reply->response, MHD_HTTP_HEADER_CONTENT_RANGE,
                                        content_range);
                reply->status = MHD_HTTP_PARTIAL_CONTENT;
        }
}
