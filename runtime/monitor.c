/* SPDX-License-Identifier: Apache-2.0 */
#include "monitor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "container.h"
#include "security.h"
#include "statedir.h"

#define INIT_STACK_SIZE (1u << 20)
#define COPY_BUFFER 65536

struct output_log {
        int dirfd;
        int fd;
        off_t size;
};

static int output_open(struct output_log *log) {
        log->fd = openat(log->dirfd, TENDER_RT_OUTPUT_FILE,
                         O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (log->fd < 0)
                return -errno;
        struct stat st;
        log->size = fstat(log->fd, &st) == 0 ? st.st_size : 0;
        return 0;
}

/* Rotates once: the previous megabyte stays in output.log.1, older output is dropped. */
static void output_write(struct output_log *log, const char *buf, size_t len) {
        if (log->fd < 0)
                return;
        if (log->size + (off_t) len > (off_t) TENDER_RT_OUTPUT_MAX) {
                close(log->fd);
                log->fd = -1;
                if (renameat(log->dirfd, TENDER_RT_OUTPUT_FILE, log->dirfd,
                             TENDER_RT_OUTPUT_OLD_FILE) < 0 ||
                    output_open(log) < 0)
                        return;
        }
        while (len > 0) {
                ssize_t n = write(log->fd, buf, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                buf += n;
                len -= (size_t) n;
                log->size += n;
        }
}

/* Copies what is readable now; returns false at end of file. */
static bool output_copy(struct output_log *log, int fd) {
        char buf[COPY_BUFFER];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0)
                return errno == EINTR;
        if (n == 0)
                return false;
        output_write(log, buf, (size_t) n);
        return true;
}

static void monitor_fail(int sync_fd, int errnum, const char *what) {
        char msg[TENDER_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof(msg), "monitor: %s: %s", what, strerror(errnum));
        tender_rt_sync_send(sync_fd, TENDER_RT_SYNC_ERROR, errnum, msg);
        _exit(1);
}

/* journald's stream protocol (what sd_journal_stream_fd speaks): a header of identifier, unit,
 * priority, level prefix and three forwarding flags, one per line, then the text. Spoken here
 * rather than through libsystemd, which would load six more libraries on every start. */
static int journal_stream_fd(const char *id, int priority) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        char header[TENDER_RT_ID_MAX + 32];
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", TENDER_RT_JOURNAL_STDOUT);
        int n = snprintf(header, sizeof(header), "%s\n\n%d\n0\n0\n0\n0\n", id, priority);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || shutdown(fd, SHUT_RD) < 0 ||
            write(fd, header, (size_t) n) != n) {
                int r = -errno;
                close(fd);
                return r < 0 ? r : -EIO;
        }
        return fd;
}

/* Journal streams for stdout and stderr when journald runs; false (use the file) otherwise. */
static bool journal_streams(const char *id, int ret[2]) {
        if (access(TENDER_RT_JOURNAL_SOCKET, F_OK) < 0)
                return false;
        ret[0] = journal_stream_fd(id, LOG_INFO);
        ret[1] = ret[0] >= 0 ? journal_stream_fd(id, LOG_ERR) : -1;
        if (ret[1] >= 0)
                return true;
        if (ret[0] >= 0)
                close(ret[0]);
        return false;
}

static void wait_loop(pid_t init, int out_fd, int sigfd, struct output_log *log, int dirfd) {
        bool out_open = out_fd >= 0;
        int status = 0;
        for (;;) {
                struct pollfd p[2] = {{.fd = sigfd, .events = POLLIN},
                                      {.fd = out_open ? out_fd : -1, .events = POLLIN}};
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        break;
                if (p[1].revents)
                        out_open = output_copy(log, out_fd);
                if (!p[0].revents)
                        continue;
                struct signalfd_siginfo si;
                (void) !read(sigfd, &si, sizeof(si));
                /* Subreaper: orphans of a container without its own pid namespace land here. */
                bool init_done = false;
                pid_t pid;
                int st;
                while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
                        if (pid == init) {
                                status = st;
                                init_done = true;
                        }
                if (init_done)
                        break;
        }
        /* Whatever the container wrote before it died is still in the pipe. */
        if (out_open && fcntl(out_fd, F_SETFL, O_NONBLOCK) == 0)
                while (output_copy(log, out_fd))
                        ;
        (void) tender_rt_exit_write(dirfd, status);
}

/* The caller of `create` may have passed descriptors (a pipe it reads to EOF, say); the
 * long-lived monitor and the container must not keep them. */
static void close_inherited(const int *keep, size_t n_keep) {
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return;
        int self = dirfd(d);
        struct dirent *de;
        while ((de = readdir(d))) {
                char *end;
                long fd = strtol(de->d_name, &end, 10);
                bool kept = *end || fd <= STDERR_FILENO || fd == self;
                for (size_t i = 0; i < n_keep && !kept; i++)
                        kept = fd == keep[i];
                if (!kept)
                        close((int) fd);
        }
        closedir(d);
}

/* Namespaces given by path are joined here, before the clone, as host root: from inside a new
 * user namespace the init could not join namespaces owned by the host. A user namespace is
 * joined by the init itself (see container.c). A pid namespace applies to children only. All
 * paths are opened first and the mount namespace joined last, since joining it changes what
 * the other paths name. */
static void join_namespaces(const struct tender_rt_spec *spec, int sync_fd) {
        int fds[TENDER_RT_MAX_NAMESPACES];
        char what[TENDER_ERROR_MESSAGE_MAX / 2];
        for (size_t i = 0; i < spec->n_namespaces; i++) {
                const struct tender_rt_namespace *ns = &spec->namespaces[i];
                fds[i] = -1;
                if (!ns->path || ns->type == CLONE_NEWUSER)
                        continue;
                snprintf(what, sizeof(what), "linux.namespaces[%zu].path: open %.200s", i,
                         ns->path);
                if ((fds[i] = open(ns->path, O_RDONLY | O_CLOEXEC)) < 0)
                        monitor_fail(sync_fd, errno, what);
        }
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < spec->n_namespaces; i++) {
                        const struct tender_rt_namespace *ns = &spec->namespaces[i];
                        if (fds[i] < 0 || (ns->type == CLONE_NEWNS) != (pass == 1))
                                continue;
                        snprintf(what, sizeof(what), "linux.namespaces[%zu].path: join %.200s", i,
                                 ns->path);
                        if (setns(fds[i], ns->type) < 0)
                                monitor_fail(sync_fd, errno, what);
                        close(fds[i]);
                }
}

static _Noreturn void monitor_main(const struct tender_rt_monitor_args *a) {
        int dirfd = a->state_dirfd, sync_fd = a->sync_fd;
        close_inherited((int[]){dirfd, sync_fd, a->console_fd, a->hooks_fd}, 4);
        int lock_fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0)
                monitor_fail(sync_fd, errno, "lock state directory");
        (void) prctl(PR_SET_NAME, "tender-monitor", 0, 0, 0);
        /* Do not keep the caller's directory (a bundle's file system) busy; a gone `create`
         * must not kill the monitor with SIGPIPE (the init restores the default). */
        (void) !chdir("/");
        signal(SIGPIPE, SIG_IGN);
        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                monitor_fail(sync_fd, errno, "become subreaper");
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
                monitor_fail(sync_fd, errno, "open /dev/null");
        /* The caller's stdio, for the init to inherit; the monitor itself keeps none of it. */
        int stdio[3];
        for (int i = 0; i < 3; i++)
                if (a->output_log || (stdio[i] = fcntl(i, F_DUPFD_CLOEXEC, 3)) < 0)
                        stdio[i] = null;
        if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                monitor_fail(sync_fd, errno, "redirect stdio");

        struct output_log log = {.dirfd = dirfd, .fd = -1};
        int out[2] = {-1, stdio[1]}, journal[2] = {-1, -1};
        bool to_journal = a->output_log && journal_streams(a->id, journal);
        if (to_journal)
                out[1] = journal[0];
        else if (a->output_log && (output_open(&log) < 0 || pipe2(out, O_CLOEXEC) < 0))
                monitor_fail(sync_fd, errno, "open output log");
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        int sigfd;
        if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0 ||
            (sigfd = signalfd(-1, &chld, SFD_CLOEXEC)) < 0)
                monitor_fail(sync_fd, errno, "signalfd");

        join_namespaces(a->spec, sync_fd);
        int fifo_fd = openat(dirfd, TENDER_RT_FIFO_FILE, O_PATH | O_CLOEXEC);
        int go[2];
        if (fifo_fd < 0)
                monitor_fail(sync_fd, errno, "open exec fifo");
        if (pipe2(go, O_CLOEXEC) < 0)
                monitor_fail(sync_fd, errno, "pipe");

        struct tender_rt_init_args init_args = {
                .spec = a->spec,
                .cgroup_path = a->cgroup_path,
                .fifo_fd = fifo_fd,
                .go_fd = go[0],
                .go_peer_fd = go[1],
                .sync_fd = sync_fd,
                .input_fd = stdio[0],
                .output_fd = out[1],
                .error_fd = to_journal      ? journal[1]
                            : a->output_log ? out[1]
                                            : stdio[2],
                .console_fd = a->console_fd,
                .hooks_fd = a->hooks_fd,
                .lock_fd = lock_fd,
        };
        char *stack = malloc(INIT_STACK_SIZE);
        if (!stack)
                monitor_fail(sync_fd, ENOMEM, "allocate init stack");
        pid_t init = clone(tender_rt_init_main, stack + INIT_STACK_SIZE,
                           tender_rt_clone_flags(a->spec) | SIGCHLD, &init_args);
        if (init < 0)
                monitor_fail(sync_fd, errno, "clone container init");
        close(go[0]);
        close(fifo_fd);
        /* The pid first, so that `create` can clean up after any failure from here on. */
        tender_rt_sync_send(sync_fd, TENDER_RT_SYNC_PID, init, NULL);
        struct tender_error err = {0};
        if (tender_rt_setup_child(a->spec, init, a->cgroup_path, &err) < 0) {
                kill(init, SIGKILL);
                tender_rt_sync_send(sync_fd, TENDER_RT_SYNC_ERROR, err.errnum, err.message);
        } else if (write(go[1], "g", 1) != 1) {
                kill(init, SIGKILL);
                monitor_fail(sync_fd, errno, "release init");
        }
        close(go[1]);
        close(sync_fd);
        close(out[1]);
        if (journal[1] >= 0)
                close(journal[1]);
        for (int i = 0; i < 3; i++)
                if (stdio[i] != null && stdio[i] != out[1])
                        close(stdio[i]);
        if (a->console_fd >= 0)
                close(a->console_fd);
        if (a->hooks_fd >= 0)
                close(a->hooks_fd);

        wait_loop(init, out[0], sigfd, &log, dirfd);
        _exit(0);
}

int tender_rt_monitor_spawn(const struct tender_rt_monitor_args *args, struct tender_error *err) {
        pid_t child = fork();
        if (child < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "fork monitor");
        if (child == 0) {
                /* New session, then fork again: the monitor is nobody's child but init's (or
                 * the nearest subreaper's) and never gets a controlling terminal. */
                if (setsid() < 0)
                        monitor_fail(args->sync_fd, errno, "setsid");
                pid_t monitor = fork();
                if (monitor < 0)
                        monitor_fail(args->sync_fd, errno, "fork monitor");
                if (monitor == 0)
                        monitor_main(args);
                _exit(0);
        }
        int status;
        while (waitpid(child, &status, 0) < 0)
                if (errno != EINTR)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                      "wait for monitor fork");
        return 0;
}
