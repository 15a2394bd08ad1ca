/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP transfers against a small loopback test peer: a fork()ed child that accepts connections
 * on 127.0.0.1:<ephemeral> one at a time and answers each request by its path with a canned
 * response (Range/206, ignored Range, truncated, wrong or oversized bodies, 404, 500). It closes
 * every connection after one response. What it saw (Range header, POST body) goes to a shared
 * mapping the tests read.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/fileio.h"
#include "tender/http.h"
#include "test.h"

#define BLOB_SIZE (300 * 1000 + 7)
#define EXTRA_BYTES 1000

struct seen {
        int requests;
        char range[128];
        char method[16];
        char body[256];
};

struct server {
        pid_t pid;
        int port;
        struct seen *seen;
};

static uint8_t blob[BLOB_SIZE + EXTRA_BYTES];

static void blob_init(void) {
        uint32_t x = 12345;
        for (size_t i = 0; i < sizeof(blob); i++) {
                x = x * 1103515245u + 12345u;
                blob[i] = (uint8_t) (x >> 16);
        }
}

static void write_all(int fd, const void *p, size_t n) {
        const char *c = p;
        while (n > 0) {
                ssize_t k = write(fd, c, n);
                if (k <= 0)
                        return;
                c += k;
                n -= (size_t) k;
        }
}

static void respond(int fd, const char *status, const char *extra, const void *body, size_t n,
                    bool with_length) {
        char head[512];
        int k = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nConnection: close\r\n%s", status,
                         extra ? extra : "");
        if (with_length)
                k += snprintf(head + k, sizeof(head) - (size_t) k, "Content-Length: %zu\r\n", n);
        k += snprintf(head + k, sizeof(head) - (size_t) k, "\r\n");
        write_all(fd, head, (size_t) k);
        write_all(fd, body, n);
}

static const char *header_value(const char *req, const char *name) {
        size_t n = strlen(name);
        for (const char *l = strstr(req, "\r\n"); l; l = strstr(l + 2, "\r\n"))
                if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':')
                        return l + 3 + n + strspn(l + 3 + n, " ");
        return NULL;
}

static void serve_one(int fd, struct seen *seen) {
        char req[8192];
        size_t len = 0;
        char *end = NULL;
        while (!end && len < sizeof(req) - 1) {
                ssize_t k = read(fd, req + len, sizeof(req) - 1 - len);
                if (k <= 0)
                        return;
                len += (size_t) k;
                req[len] = '\0';
                end = strstr(req, "\r\n\r\n");
        }
        if (!end)
                return;
        char method[16] = "", path[256] = "";
        if (sscanf(req, "%15s %255s", method, path) != 2)
                return;
        seen->requests++;
        snprintf(seen->method, sizeof(seen->method), "%s", method);
        const char *range = header_value(req, "Range");
        seen->range[0] = '\0';
        if (range)
                snprintf(seen->range, sizeof(seen->range), "%.*s", (int) strcspn(range, "\r"),
                         range);
        const char *cl = header_value(req, "Content-Length");
        if (cl) {
                size_t want = strtoul(cl, NULL, 10), have = len - (size_t) (end + 4 - req);
                char *b = end + 4;
                while (have < want && (size_t) (b - req) + have < sizeof(req) - 1) {
                        ssize_t k = read(fd, b + have, want - have);
                        if (k <= 0)
                                break;
                        have += (size_t) k;
                }
                snprintf(seen->body, sizeof(seen->body), "%.*s", (int) have, b);
        }

        unsigned long long from = 0;
        if (STREQ(path, "/blob") && range && sscanf(range, "bytes=%llu-", &from) == 1 &&
            from < BLOB_SIZE) {
                char extra[128];
                snprintf(extra, sizeof(extra), "Content-Range: bytes %llu-%d/%d\r\n", from,
                         BLOB_SIZE - 1, BLOB_SIZE);
                respond(fd, "206 Partial Content", extra, blob + from, BLOB_SIZE - from, true);
        } else if (STREQ(path, "/blob") || STREQ(path, "/norange")) {
                respond(fd, "200 OK", NULL, blob, BLOB_SIZE, true);
        } else if (STREQ(path, "/wrong")) {
                uint8_t *copy = malloc(BLOB_SIZE);
                memcpy(copy, blob, BLOB_SIZE);
                copy[BLOB_SIZE / 2] ^= 0xff;
                respond(fd, "200 OK", NULL, copy, BLOB_SIZE, true);
                free(copy);
        } else if (STREQ(path, "/short")) {
                respond(fd, "200 OK", NULL, blob, BLOB_SIZE - 10, true);
        } else if (STREQ(path, "/big")) {
                respond(fd, "200 OK", NULL, blob, sizeof(blob), true);
        } else if (STREQ(path, "/big-nolength")) {
                respond(fd, "200 OK", NULL, blob, sizeof(blob), false);
        } else if (STREQ(path, "/truncated")) {
                /* Announces the whole blob, sends the first half, hangs up. */
                char head[128];
                int k = snprintf(head, sizeof(head),
                                 "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BLOB_SIZE);
                write_all(fd, head, (size_t) k);
                write_all(fd, blob, BLOB_SIZE / 2);
        } else if (STREQ(path, "/hello")) {
                respond(fd, "200 OK", NULL, "hello", 5, true);
        } else if (STREQ(path, "/empty")) {
                respond(fd, "200 OK", NULL, "", 0, true);
        } else if (STREQ(path, "/post")) {
                respond(fd, "200 OK", NULL, "{}", 2, true);
        } else if (STREQ(path, "/forbidden")) {
                respond(fd, "403 Forbidden", NULL, "no", 2, true);
        } else if (STREQ(path, "/redirect")) {
                respond(fd, "302 Found", "Location: http://127.0.0.1:1/\r\n", "", 0, true);
        } else if (STREQ(path, "/500")) {
                respond(fd, "500 Internal Server Error", NULL, "oops", 4, true);
        } else {
                respond(fd, "404 Not Found", NULL, "not here", 8, true);
        }
}

static int server_start(struct server *s) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(lfd, 16) < 0 ||
            getsockname(lfd, (struct sockaddr *) &a, &alen) < 0)
                return -errno;
        s->port = ntohs(a.sin_port);
        s->seen = mmap(NULL, sizeof(struct seen), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (s->seen == MAP_FAILED)
                return -errno;
        memset(s->seen, 0, sizeof(*s->seen));
        s->pid = fork();
        if (s->pid < 0)
                return -errno;
        if (s->pid == 0) {
                signal(SIGPIPE, SIG_IGN);
                for (;;) {
                        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                        if (fd < 0)
                                continue;
                        serve_one(fd, s->seen);
                        shutdown(fd, SHUT_RDWR);
                        close(fd);
                }
        }
        close(lfd);
        return 0;
}

static void server_stop(struct server *s) {
        if (s->pid > 0) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, NULL, 0);
        }
        if (s->seen && s->seen != MAP_FAILED)
                munmap(s->seen, sizeof(struct seen));
}

#define SETUP(srv, h)                                                                              \
        _cleanup_(server_stop) struct server srv = {0};                                            \
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;                                 \
        struct tender_error err = {0};                                                             \
        char url[128];                                                                             \
        blob_init();                                                                               \
        ASSERT_OK(server_start(&srv));                                                             \
        ASSERT_OK(tender_http_new(&(struct tender_http_options){.timeout_sec = 10}, &h))

#define URL(srv, path) (snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", srv.port, path), url)

#define SETUP_DIR(t)                                                                               \
        const struct fixture_dir *t = fixture_dir("http");                                         \
        ASSERT_TRUE(t)

static void download_init(struct tender_download *d, const char *url) {
        *d = (struct tender_download){.url = url, .size = BLOB_SIZE};
        tender_sha256_buffer(blob, BLOB_SIZE, &d->digest);
}

TEST(get_ok) {
        SETUP(srv, h);
        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        ASSERT_OK(tender_http_get(h, URL(srv, "/hello"), 100, &body, &len, &err));
        ASSERT_EQ(len, 5);
        ASSERT_STREQ(body, "hello");
        ASSERT_STREQ(srv.seen->method, "GET");
        free(body);
        body = NULL;
        ASSERT_OK(tender_http_get(h, URL(srv, "/empty"), 100, &body, NULL, &err));
        ASSERT_STREQ(body, "");
}

TEST(get_over_cap) {
        SETUP(srv, h);
        char *body = NULL;
        /* announced in Content-Length */
        ASSERT_ERR(tender_http_get(h, URL(srv, "/blob"), 1000, &body, NULL, &err), EFBIG);
        ASSERT_CONTAINS(err.message, url);
        ASSERT_TRUE(body == NULL);
        /* not announced: the write callback stops it */
        ASSERT_ERR(tender_http_get(h, URL(srv, "/big-nolength"), 1000, &body, NULL, &err), EFBIG);
        ASSERT_CONTAINS(err.message, url);
        ASSERT_TRUE(body == NULL);
}

TEST(get_status_codes) {
        SETUP(srv, h);
        char *body = NULL;
        ASSERT_ERR(tender_http_get(h, URL(srv, "/nothing"), 100, &body, NULL, &err), ENOENT);
        ASSERT_CONTAINS(err.message, url);
        ASSERT_CONTAINS(err.message, "404");
        ASSERT_ERR(tender_http_get(h, URL(srv, "/500"), 100, &body, NULL, &err), EPROTO);
        ASSERT_CONTAINS(err.message, "500");
        ASSERT_ERR(tender_http_get(h, URL(srv, "/forbidden"), 100, &body, NULL, &err), EACCES);
        ASSERT_ERR(tender_http_get(h, URL(srv, "/redirect"), 100, &body, NULL, &err), EPROTO);
        ASSERT_CONTAINS(err.message, "redirect");
        ASSERT_TRUE(body == NULL);
}

TEST(get_refused_and_bad_scheme) {
        _cleanup_(tender_http_freep) struct tender_http *h = NULL;
        struct tender_error err = {0};
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        char url[128];
        char *body = NULL;

        /* A port that was just free: nothing listens there. */
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(bind(fd, (struct sockaddr *) &a, sizeof(a)));
        ASSERT_OK(getsockname(fd, (struct sockaddr *) &a, &alen));
        close(fd);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(a.sin_port));

        ASSERT_OK(tender_http_new(NULL, &h));
        ASSERT_ERR(tender_http_get(h, url, 100, &body, NULL, &err), EHOSTUNREACH);
        ASSERT_CONTAINS(err.message, url);
        ASSERT_EQ(err.domain, TENDER_ERR_NETWORK);
        ASSERT_ERR(tender_http_get(h, "file:///etc/passwd", 100000, &body, NULL, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "file:///etc/passwd");
        ASSERT_TRUE(body == NULL);
}

TEST(send_json) {
        SETUP(srv, h);
        ASSERT_OK(tender_http_send_json(h, "POST", URL(srv, "/post"), "{\"a\":1}", &err));
        ASSERT_STREQ(srv.seen->method, "POST");
        ASSERT_STREQ(srv.seen->body, "{\"a\":1}");
        ASSERT_OK(tender_http_send_json(h, "PUT", URL(srv, "/post"), "{\"b\":2}", &err));
        ASSERT_STREQ(srv.seen->method, "PUT");
        ASSERT_STREQ(srv.seen->body, "{\"b\":2}");
        ASSERT_ERR(tender_http_send_json(h, "PUT", URL(srv, "/nothing"), "{}", &err), ENOENT);
        ASSERT_CONTAINS(err.message, url);
        ASSERT_ERR(tender_http_send_json(h, "DELETE", URL(srv, "/post"), "{}", &err), EINVAL);
}

struct progress_log {
        unsigned calls;
        uint64_t last_done, total;
        bool monotonic;
};

static void on_progress(uint64_t done, uint64_t total, void *userdata) {
        struct progress_log *p = userdata;
        if (done < p->last_done)
                p->monotonic = false;
        p->calls++;
        p->last_done = done;
        p->total = total;
}

TEST(download_ok) {
        SETUP(srv, h);
        SETUP_DIR(t);
        struct tender_download d;
        struct progress_log p = {.monotonic = true};
        download_init(&d, URL(srv, "/blob"));
        d.progress = on_progress;
        d.userdata = &p;
        ASSERT_OK(tender_http_download(h, &d, t->fd, "b", &err));
        ASSERT_TRUE(fixture_file_is(t->fd, "b", blob, BLOB_SIZE));
        ASSERT_FALSE(fixture_exists_at(t->fd, "b.part"));
        ASSERT_STREQ(srv.seen->range, "");
        /* at most one report per 64 KiB, plus the final one */
        ASSERT_TRUE(p.calls >= 2 && p.calls <= BLOB_SIZE / (64 * 1024) + 1);
        ASSERT_TRUE(p.monotonic);
        ASSERT_EQ(p.last_done, BLOB_SIZE);
        ASSERT_EQ(p.total, BLOB_SIZE);
}

TEST(download_wrong_bytes) {
        SETUP(srv, h);
        SETUP_DIR(t);
        struct tender_download d;
        char want[TENDER_DIGEST_STRING_MAX];
        download_init(&d, URL(srv, "/wrong"));
        ASSERT_ERR(tender_http_download(h, &d, t->fd, "b", &err), EBADMSG);
        ASSERT_EQ(err.domain, TENDER_ERR_VERIFY);
        ASSERT_CONTAINS(err.message, tender_digest_format(&d.digest, want));
        ASSERT_CONTAINS(err.message, "digest mismatch (got sha256:");
        ASSERT_CONTAINS(err.message, url);
        ASSERT_FALSE(fixture_exists_at(t->fd, "b"));
        ASSERT_FALSE(fixture_exists_at(t->fd, "b.part"));
}

TEST(download_short) {
        SETUP(srv, h);
        SETUP_DIR(t);
        struct tender_download d;
        download_init(&d, URL(srv, "/short"));
        ASSERT_ERR(tender_http_download(h, &d, t->fd, "b", &err), EBADMSG);
        ASSERT_CONTAINS(err.message, "size mismatch");
        ASSERT_FALSE(fixture_exists_at(t->fd, "b"));
        ASSERT_FALSE(fixture_exists_at(t->fd, "b.part"));
}

TEST(download_too_many_bytes) {
        SETUP(srv, h);
        SETUP_DIR(t);
        struct tender_download d;
        download_init(&d, URL(srv, "/big"));
        ASSERT_ERR(tender_http_download(h, &d, t->fd, "b", &err), EFBIG);
        ASSERT_CONTAINS(err.message, url);
        ASSERT_FALSE(fixture_exists_at(t->fd, "b"));
        ASSERT_FALSE(fixture_exists_at(t->fd, "b.part"));
        /* without Content-Length, the write callback stops at the blob's size */
        download_init(&d, URL(srv, "/big-nolength"));
        ASSERT_ERR(tender_http_download(h, &d, t->fd, "b", &err), EFBIG);
        ASSERT_FALSE(fixture_exists_at(t->fd, "b"));
        ASSERT_FALSE(fixture_exists_at(t->fd, "b.part"));
}

TEST(download_404) {
        SETUP(srv, h);
        SETUP_DIR(t);
        struct tender_download d;
        download_init(&d, URL(srv, "/missing"));
        ASSERT_ERR(tender_http_download(h, &d, t->fd, "b", &err), ENOENT);
        ASSERT_CONTAINS(err.message, url);
        ASSERT_FALSE(fixture_exists_at(t->fd, "b"));
        /* the 404 page was not stored as blob bytes */
        struct stat st;
        ASSERT_TRUE(fstatat(t->fd, "b.part", &st, 0) < 0 || st.st_size == 0);
}

static int write_part(int dirfd, const char *name, size_t n) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        write_all(fd, blob, n);
        close(fd);
        return 0;
}

TEST(download_resume) {
        SETUP(srv, h);
        SETUP_DIR(t);
        struct tender_download d;
        char want[64];
        blob_init();
        ASSERT_OK(write_part(t->fd, "b.part", BLOB_SIZE / 2));
        download_init(&d, URL(srv, "/blob"));
        ASSERT_OK(tender_http_download(h, &d, t->fd, "b", &err));
        snprintf(want, sizeof(want), "bytes=%d-", BLOB_SIZE / 2);
        ASSERT_STREQ(srv.seen->range, want);
        ASSERT_TRUE(fixture_file_is(t->fd, "b", blob, BLOB_SIZE));
        ASSERT_FALSE(fixture_exists_at(t->fd, "b.part"));
}

TEST(download_range_ignored) {
        SETUP(srv, h);
        SETUP_DIR(t);
        struct tender_download d;
        blob_init();
        ASSERT_OK(write_part(t->fd, "b.part", BLOB_SIZE / 3));
        download_init(&d, URL(srv, "/norange"));
        ASSERT_OK(tender_http_download(h, &d, t->fd, "b", &err));
        ASSERT_CONTAINS(srv.seen->range, "bytes=");
        ASSERT_TRUE(fixture_file_is(t->fd, "b", blob, BLOB_SIZE));
        ASSERT_FALSE(fixture_exists_at(t->fd, "b.part"));
}

TEST(download_truncated_then_resumed) {
        SETUP(srv, h);
        SETUP_DIR(t);
        struct tender_download d;
        struct stat st;
        download_init(&d, URL(srv, "/truncated"));
        ASSERT_ERR(tender_http_download(h, &d, t->fd, "b", &err), EHOSTUNREACH);
        ASSERT_CONTAINS(err.message, url);
        ASSERT_FALSE(fixture_exists_at(t->fd, "b"));
        ASSERT_OK(fstatat(t->fd, "b.part", &st, 0));
        ASSERT_EQ(st.st_size, BLOB_SIZE / 2);

        download_init(&d, URL(srv, "/blob"));
        ASSERT_OK(tender_http_download(h, &d, t->fd, "b", &err));
        ASSERT_CONTAINS(srv.seen->range, "bytes=");
        ASSERT_TRUE(fixture_file_is(t->fd, "b", blob, BLOB_SIZE));
        ASSERT_FALSE(fixture_exists_at(t->fd, "b.part"));
}

TEST(download_complete_part_needs_no_request) {
        SETUP(srv, h);
        SETUP_DIR(t);
        struct tender_download d;
        ASSERT_OK(write_part(t->fd, "b.part", BLOB_SIZE));
        download_init(&d, URL(srv, "/blob"));
        ASSERT_OK(tender_http_download(h, &d, t->fd, "b", &err));
        ASSERT_EQ(srv.seen->requests, 0);
        ASSERT_TRUE(fixture_file_is(t->fd, "b", blob, BLOB_SIZE));
}

TEST(download_part_symlink_refused) {
        SETUP(srv, h);
        SETUP_DIR(t);
        struct tender_download d;
        ASSERT_OK(symlinkat("/tmp/elsewhere", t->fd, "b.part"));
        download_init(&d, URL(srv, "/blob"));
        ASSERT_ERR(tender_http_download(h, &d, t->fd, "b", &err), ELOOP);
        ASSERT_FALSE(fixture_exists_at(t->fd, "b"));
        ASSERT_ERR(tender_http_download(h, &d, t->fd, "../b", &err), EINVAL);
}

TEST_MAIN()
