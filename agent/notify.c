/* SPDX-License-Identifier: Apache-2.0 */
#include "notify.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "tender/escape.h"
#include "tender/fileio.h"
#include "tender/macro.h"

#define NOTIFY_MAX_FDS 16 /* fds a sender may attach; we close them */

void notify_status(bool ready, const char *fmt, ...) {
        char raw[NOTIFY_STATUS_TEXT_MAX], text[NOTIFY_STATUS_TEXT_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        sd_notifyf(0, "%sSTATUS=%s", ready ? "READY=1\n" : "",
                   tender_escape(text, sizeof(text), raw));
}

static int open_dir(struct tender_store *store, const char *app, const char *version) {
        _cleanup_free_ char *dir = NULL;
        int r = tender_store_release_path(store, app, version, &dir);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (mkdirat(fd, NOTIFY_DIR, 0755) < 0 && errno != EEXIST)
                return -errno;
        int nfd = openat(fd, NOTIFY_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return nfd < 0 ? -errno : nfd;
}

int notify_make_dir(struct tender_store *store, const char *app, const char *version) {
        int fd = open_dir(store, app, version);
        if (fd < 0)
                return fd;
        close(fd);
        return 0;
}

int notify_open(struct tender_store *store, const char *app, const char *version, int *ret_fd,
                struct tender_error *err) {
        _cleanup_close_ int dfd = open_dir(store, app, version), fd = -1;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int one = 1;

        if (dfd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, dfd, "notify dir of %s %s",
                                              app, version);
        /* Through the dir fd: the store's path may not fit in sun_path. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd, NOTIFY_SOCKET_NAME);
        if (unlinkat(dfd, NOTIFY_SOCKET_NAME, 0) < 0 && errno != ENOENT)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "remove old notify socket of %s %s", app, version);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "notify socket of %s %s", app, version);
        /* The app may run as any uid, mapped or not: sending needs write access. */
        if (fchmodat(dfd, NOTIFY_SOCKET_NAME, 0666, 0) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "chmod notify socket of %s %s", app, version);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static bool same_pid_ns(pid_t a, pid_t b) {
        char pa[64], pb[64];
        struct stat sa, sb;
        snprintf(pa, sizeof(pa), "/proc/%d/ns/pid", (int) a);
        snprintf(pb, sizeof(pb), "/proc/%d/ns/pid", (int) b);
        return stat(pa, &sa) == 0 && stat(pb, &sb) == 0 && sa.st_ino == sb.st_ino &&
               sa.st_dev == sb.st_dev;
}

/* One line of the message: "KEY=VALUE". */
static void apply_line(const char *line, size_t len, struct notify_state *st) {
        if (len == 7 && memcmp(line, "READY=1", 7) == 0)
                st->ready = true;
        else if (len >= 7 && memcmp(line, "STATUS=", 7) == 0) {
                size_t n = len - 7 < sizeof(st->status) - 1 ? len - 7 : sizeof(st->status) - 1;
                memcpy(st->status, line + 7, n);
                st->status[n] = '\0';
        }
}

/* Returns the sender's pid, 0 if no credentials came, -1 if fds came (closed here). */
static pid_t message_sender(struct msghdr *mh) {
        pid_t pid = 0;
        bool fds = false;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                if (c->cmsg_level != SOL_SOCKET)
                        continue;
                if (c->cmsg_type == SCM_CREDENTIALS &&
                    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
                        struct ucred uc;
                        memcpy(&uc, CMSG_DATA(c), sizeof(uc));
                        pid = uc.pid;
                } else if (c->cmsg_type == SCM_RIGHTS) {
                        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < n; i++) {
                                int fd;
                                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
                                close(fd);
                        }
                        fds = true;
                }
        }
        return fds ? -1 : pid;
}

int notify_drain(int fd, int container_pid, struct notify_state *st) {
        char buf[NOTIFY_MESSAGE_MAX + 1];
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(struct ucred)) +
                         CMSG_SPACE(NOTIFY_MAX_FDS * sizeof(int))];
        } control;
        int n = 0;

        for (; n < NOTIFY_DRAIN_MAX; n++) {
                struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
                struct msghdr mh = {.msg_iov = &iov,
                                    .msg_iovlen = 1,
                                    .msg_control = &control,
                                    .msg_controllen = sizeof(control)};
                ssize_t k = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? n : -errno;
                }
                pid_t sender = message_sender(&mh);
                if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || sender <= 0 ||
                    !same_pid_ns(sender, container_pid)) {
                        st->dropped++;
                        continue;
                }
                for (char *p = buf, *end = buf + k; p < end;) {
                        char *nl = memchr(p, '\n', (size_t) (end - p));
                        size_t len = (size_t) ((nl ? nl : end) - p);
                        apply_line(p, len, st);
                        p += len + 1;
                }
        }
        return n;
}
