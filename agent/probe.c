/* SPDX-License-Identifier: Apache-2.0 */
#include "probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_STEP_MS 10

/* In the child: connect to 127.0.0.1:port; the parent's timeout bounds the whole probe. */
static int child_connect(uint16_t port, char *msg, size_t size) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                snprintf(msg, size, "connect to port %u: %s", port, strerror(errno));
                return -1;
        }
        return fd;
}

static int child_http(int fd, uint16_t port, const char *path, char *msg, size_t size) {
        char req[TENDER_HEALTH_PATH_MAX + 128], buf[PROBE_RESPONSE_MAX];
        int n = snprintf(req, sizeof(req),
                         "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\nUser-Agent: tenderd\r\n\r\n",
                         path, port);
        if (write(fd, req, (size_t) n) != n) {
                snprintf(msg, size, "HTTP request to port %u: %s", port, strerror(errno));
                return 1;
        }
        size_t len = 0;
        for (ssize_t k; len < sizeof(buf) - 1 && !memchr(buf, '\n', len);) {
                k = read(fd, buf + len, sizeof(buf) - 1 - len);
                if (k <= 0)
                        break;
                len += (size_t) k;
        }
        buf[len] = '\0';
        unsigned status = 0;
        if (sscanf(buf, "HTTP/%*u.%*u %u", &status) != 1) {
                snprintf(msg, size, "GET %s on port %u: no HTTP status line", path, port);
                return 1;
        }
        if (status < 200 || status >= 400) {
                snprintf(msg, size, "GET %s on port %u: HTTP %u", path, port, status);
                return 1;
        }
        return 0;
}

static _Noreturn void child(int pid, enum tender_health_probe type, uint16_t port, const char *path,
                            int msg_fd) {
        char ns[64], msg[PROBE_MESSAGE_MAX] = "";
        int ret = 1;
        snprintf(ns, sizeof(ns), "/proc/%d/ns/net", pid);
        int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0)
                snprintf(msg, sizeof(msg), "join %s: %s", ns, strerror(errno));
        else {
                int fd = child_connect(port, msg, sizeof(msg));
                if (fd >= 0)
                        ret = type == TENDER_HEALTH_PROBE_HTTP
                                      ? child_http(fd, port, path, msg, sizeof(msg))
                                      : 0;
        }
        if (ret)
                (void) !write(msg_fd, msg, strlen(msg));
        _exit(ret);
}

int probe_run(int pid, enum tender_health_probe type, uint16_t port, const char *path,
              uint64_t timeout_ms, struct tender_error *err) {
        int fds[2], status = 0;
        char msg[PROBE_MESSAGE_MAX] = "";

        if (type == TENDER_HEALTH_PROBE_NONE)
                return 0;
        if (pid <= 0)
                return tender_error_set(err, TENDER_ERR_HEALTH, ESRCH, "no process to probe");
        if (pipe2(fds, O_CLOEXEC) < 0)
                return tender_error_set_errno(err, TENDER_ERR_HEALTH, errno, "pipe");
        pid_t c = fork();
        if (c < 0) {
                close(fds[0]);
                close(fds[1]);
                return tender_error_set_errno(err, TENDER_ERR_HEALTH, errno, "fork");
        }
        if (c == 0) {
                close(fds[0]);
                child(pid, type, port, path ? path : "/", fds[1]);
        }
        close(fds[1]);
        uint64_t deadline = tender_now_ms() + timeout_ms;
        pid_t w;
        while ((w = waitpid(c, &status, WNOHANG)) == 0 && tender_now_ms() < deadline) {
                struct timespec ts = {.tv_nsec = WAIT_STEP_MS * 1000000L};
                nanosleep(&ts, NULL);
        }
        if (w == 0) {
                /* A probe that hangs (a server that accepts and never answers) is a failure. */
                kill(c, SIGKILL);
                while (waitpid(c, &status, 0) < 0 && errno == EINTR)
                        ;
                close(fds[0]);
                return tender_error_set(err, TENDER_ERR_HEALTH, ETIMEDOUT,
                                        "%s probe on port %u: no answer within %llu ms",
                                        type == TENDER_HEALTH_PROBE_HTTP ? "HTTP" : "TCP", port,
                                        (unsigned long long) timeout_ms);
        }
        ssize_t n = read(fds[0], msg, sizeof(msg) - 1);
        close(fds[0]);
        msg[n > 0 ? n : 0] = '\0';
        if (w < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return tender_error_set(err, TENDER_ERR_HEALTH, EIO, "%s",
                                        msg[0] ? msg : "probe failed");
        return 0;
}

/* The first line of a command's output, for a one-line report. */
static const char *first_line(char *s) {
        s[strcspn(s, "\n")] = '\0';
        return s;
}

int probe_exec(const struct runtime *rt, const char *id, char *const *command, uint64_t timeout_ms,
               struct tender_error *err) {
        char out[PROBE_MESSAGE_MAX] = "";
        int status = 0;
        int r = container_exec(rt, id, command, timeout_ms, &status, out, sizeof(out), err);
        if (r == -ETIMEDOUT)
                return tender_error_set(err, TENDER_ERR_HEALTH, ETIMEDOUT,
                                        "exec probe %s: no end within %llu ms", command[0],
                                        (unsigned long long) timeout_ms);
        if (r < 0)
                return r;
        if (status != 0)
                return tender_error_set(err, TENDER_ERR_HEALTH, EIO,
                                        "exec probe %s: exit status %d%s%s", command[0], status,
                                        out[0] ? ": " : "", first_line(out));
        return 0;
}
