/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starts tests/integration/downloads_peer.py (the fault-injecting HTTP(S) test peer) on
 * 127.0.0.1 with a blob the test chooses, and reads its per-path counters. Shared by the
 * download tests (test_http_faults.c, test_http_tls.c, test_registry.c).
 */
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/fileio.h"
#include "tender/http.h"

#define PEER_START_WAIT_MS 20000 /* python start-up on a loaded machine */
#define PEER_MAX_ARGS 24

struct peer {
        pid_t pid;
        int port;
        char dir[PATH_MAX]; /* a fixture dir: blob files, the port file, dl/ for downloads */
        int dlfd;           /* dir/dl */
};

static inline void peer_sleep_ms(long ms) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

static inline void peer_stop(struct peer *p) {
        if (p->pid > 0) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, NULL, 0);
                p->pid = 0;
        }
        if (p->dlfd >= 0)
                close(p->dlfd);
        p->dlfd = -1;
}

/* <source>/tests/integration/downloads_peer.py, from TENDER_TEST_DATA (<source>/tests/data,
 * which need not exist) under ctest, else from this header's path. */
static inline const char *peer_script(char *buf, size_t size) {
        const char *data = getenv("TENDER_TEST_DATA");
        snprintf(buf, size, "%s", data ? data : __FILE__);
        char *slash = strrchr(buf, '/');
        if (slash)
                *slash = '\0';
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, "/integration/downloads_peer.py");
        if (!data && slash) { /* tests/unit/x.h: one level more */
                *slash = '\0';
                char *up = strrchr(buf, '/');
                if (up)
                        *up = '\0';
                n = strlen(buf);
                snprintf(buf + n, size - n, "/integration/downloads_peer.py");
        }
        return buf;
}

static inline int peer_write(const char *dir, const char *name, const void *data, size_t n) {
        char path[128];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return tender_write_file_atomic_at(AT_FDCWD, path, data, n, 0644);
}

/* Starts the peer serving blob (and blob2 as the changed content, may be NULL) with extra
 * arguments (NULL-terminated, may be NULL). -ENOENT when python3 or the script is missing. */
static inline int peer_start(struct peer *p, const void *blob, size_t n, const void *blob2,
                             size_t n2, const char *const *extra) {
        char script[512], port_file[128], blob_path[128], blob2_path[128], dl[128];
        const char *argv[PEER_MAX_ARGS];
        size_t argc = 0;
        int r;

        *p = (struct peer){.dlfd = -1};
        const struct fixture_dir *d = fixture_dir("peer");
        if (!d)
                return -EIO;
        snprintf(p->dir, sizeof(p->dir), "%s", d->path);
        snprintf(dl, sizeof(dl), "%s/dl", p->dir);
        if (mkdir(dl, 0755) < 0)
                return -errno;
        p->dlfd = open(dl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (p->dlfd < 0)
                return -errno;
        r = peer_write(p->dir, "blob", blob, n);
        if (r < 0)
                return r;
        if (blob2 && (r = peer_write(p->dir, "blob2", blob2, n2)) < 0)
                return r;
        if (access(peer_script(script, sizeof(script)), R_OK) < 0)
                return -ENOENT;
        snprintf(port_file, sizeof(port_file), "%s/port", p->dir);
        snprintf(blob_path, sizeof(blob_path), "%s/blob", p->dir);
        snprintf(blob2_path, sizeof(blob2_path), "%s/blob2", p->dir);
        argv[argc++] = "python3";
        argv[argc++] = script;
        argv[argc++] = "--port-file";
        argv[argc++] = port_file;
        argv[argc++] = "--blob";
        argv[argc++] = blob_path;
        if (blob2) {
                argv[argc++] = "--blob2";
                argv[argc++] = blob2_path;
        }
        for (size_t i = 0; extra && extra[i] && argc < PEER_MAX_ARGS - 1; i++)
                argv[argc++] = extra[i];
        argv[argc] = NULL;

        p->pid = fork();
        if (p->pid < 0)
                return -errno;
        if (p->pid == 0) {
                /* The distribution's interpreter starts fastest; else whichever is on PATH. */
                execv("/usr/bin/python3", (char *const *) argv);
                execvp("python3", (char *const *) argv);
                _exit(127);
        }
        for (int waited = 0; waited < PEER_START_WAIT_MS; waited += 10) {
                _cleanup_free_ char *s = NULL;
                int status;
                if (tender_read_file_at(AT_FDCWD, port_file, 16, &s, NULL) >= 0) {
                        p->port = atoi(s);
                        return p->port > 0 ? 0 : -EPROTO;
                }
                if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
                        p->pid = 0;
                        return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -ECHILD;
                }
                peer_sleep_ms(10);
        }
        return -ETIMEDOUT;
}

/* "http[s]://127.0.0.1:<port><path>" into buf. */
static inline const char *peer_url(const struct peer *p, bool tls, const char *path, char *buf,
                                   size_t size) {
        snprintf(buf, size, "%s://127.0.0.1:%d%s", tls ? "https" : "http", p->port, path);
        return buf;
}

/* Requests to path and body bytes sent for it, as the peer counted them; -1 on failure. */
static inline int peer_count(const struct peer *p, struct tender_http *h, bool tls,
                             const char *path, long long *ret_bytes) {
        _cleanup_free_ char *body = NULL;
        char url[256], p2[160];
        long long requests = -1, bytes = -1;
        snprintf(p2, sizeof(p2), "/_count%s", path);
        if (tender_http_get(h, peer_url(p, tls, p2, url, sizeof(url)), 64, &body, NULL, NULL) < 0 ||
            sscanf(body, "%lld %lld", &requests, &bytes) != 2)
                return -1;
        if (ret_bytes)
                *ret_bytes = bytes;
        return (int) requests;
}

/* peer_certs_make's generated files: the cleanup at exit. */
static inline char *peer_certs_dir(void) {
        static char dir[64];
        return dir;
}

static inline void peer_certs_cleanup(void) {
        if (peer_certs_dir()[0])
                tender_rm_rf_at(AT_FDCWD, peer_certs_dir());
}

/* Makes, once per run, certificates with the openssl CLI in a temporary directory (removed at
 * exit) copied to dir (64 bytes): ca.pem/key, an unrelated other.pem, server.pem/key for
 * 127.0.0.1 and localhost, client.pem/key for mTLS; pin (128 bytes) gets "sha256//<base64>" of
 * the server's key. -ENOENT when openssl is not there. */
static inline int peer_certs_make(char *dir, char *pin) {
        static const char gen_script[] =
                "set -e; cd \"$1\"\n"
                "ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "
                "\"$1\"; }\n"
                "ca() { ec $1.key; openssl req -x509 -new -key $1.key -subj /CN=$1 -days 2 -out "
                "$1.pem -addext basicConstraints=critical,CA:TRUE -addext "
                "keyUsage=critical,keyCertSign; }\n"
                "leaf() { ec $1.key; openssl req -new -key $1.key -subj /CN=$1 -out $1.csr;\n"
                "  printf '%s\\n' \"$2\" 'basicConstraints=CA:FALSE' > $1.ext;\n"
                "  openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
                "-extfile $1.ext -out $1.pem; }\n"
                "ca ca; ca other\n"
                "leaf server 'subjectAltName=IP:127.0.0.1,DNS:localhost'\n"
                "leaf client 'extendedKeyUsage=clientAuth'\n"
                "openssl pkey -in server.key -pubout -outform DER | openssl dgst -sha256 -binary "
                "| base64 > server.pin\n";
        static char pin_made[128];
        char *certs = peer_certs_dir();
        char cmd[256], path[128];
        _cleanup_free_ char *b64 = NULL;
        if (!certs[0]) {
                if (system("command -v openssl >/dev/null 2>&1") != 0)
                        return -ENOENT;
                snprintf(certs, 64, "/tmp/tender-test-tls.XXXXXX");
                if (!mkdtemp(certs)) {
                        certs[0] = '\0';
                        return -errno;
                }
                atexit(peer_certs_cleanup);
                snprintf(path, sizeof(path), "%s/gen.sh", certs);
                int r = tender_write_file_atomic_at(AT_FDCWD, path, gen_script, strlen(gen_script),
                                                    0644);
                if (r < 0)
                        return r;
                snprintf(cmd, sizeof(cmd), "sh %s %s >%s/gen.log 2>&1", path, certs, certs);
                if (system(cmd) != 0)
                        return -EIO;
                snprintf(path, sizeof(path), "%s/server.pin", certs);
                r = tender_read_file_at(AT_FDCWD, path, 100, &b64, NULL);
                if (r < 0)
                        return r;
                b64[strcspn(b64, "\n")] = '\0';
                snprintf(pin_made, sizeof(pin_made), "sha256//%s", b64);
        }
        snprintf(dir, 64, "%s", certs);
        snprintf(pin, 128, "%s", pin_made);
        return 0;
}
