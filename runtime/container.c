/* SPDX-License-Identifier: Apache-2.0 */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks.h"
#include "mount.h"
#include "security.h"
#include "statedir.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int tender_rt_sync_send(int fd, enum tender_rt_sync_type type, int value, const char *message) {
        struct tender_rt_sync_msg msg = {.type = type, .value = value};
        if (message)
                snprintf(msg.message, sizeof(msg.message), "%s", message);
        ssize_t n;
        do
                n = write(fd, &msg, sizeof(msg));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return n == sizeof(msg) ? 0 : -EIO;
}

static const int clone_types[] = {CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNS,
                                  CLONE_NEWUTS,  CLONE_NEWIPC, CLONE_NEWNET};

static int new_flags(const struct tender_rt_spec *spec) {
        int flags = 0;
        for (size_t i = 0; i < ELEMENTSOF(clone_types); i++)
                if (tender_rt_spec_new_namespace(spec, clone_types[i]))
                        flags |= clone_types[i];
        return flags;
}

/* With a user namespace to join, the init joins it first and then unshares the others, so that
 * they belong to it (a new pid namespace is refused with a joined user namespace). */
static bool joins_userns(const struct tender_rt_spec *spec) {
        const struct tender_rt_namespace *ns = tender_rt_spec_namespace(spec, CLONE_NEWUSER);
        return ns && ns->path;
}

int tender_rt_clone_flags(const struct tender_rt_spec *spec) {
        return joins_userns(spec) ? 0 : new_flags(spec);
}

/* After the maps are written we still hold the host's uid 0, unmapped inside: become the
 * namespace's root so that files we create get a mapped owner. */
int tender_rt_become_ns_root(struct tender_error *err) {
        if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "become root of the user namespace");
        return 0;
}

static int join_userns(const struct tender_rt_spec *spec, struct tender_error *err) {
        if (tender_rt_spec_new_namespace(spec, CLONE_NEWUSER))
                return tender_rt_become_ns_root(err);
        if (!joins_userns(spec))
                return 0;
        const char *path = tender_rt_spec_namespace(spec, CLONE_NEWUSER)->path;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWUSER) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "join user namespace %s", path);
        if (unshare(new_flags(spec) & ~(CLONE_NEWUSER | CLONE_NEWPID)) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "create namespaces");
        return 0;
}

static const char *env_path(char *const *env) {
        for (size_t i = 0; env[i]; i++)
                if (strncmp(env[i], "PATH=", 5) == 0)
                        return env[i] + 5;
        return DEFAULT_PATH;
}

static bool executable(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Looks up args[0] like execvp, but with the container's PATH rather than ours. */
int tender_rt_find_program(const struct tender_rt_spec *spec, char *out, size_t size,
                           struct tender_error *err) {
        const char *name = spec->args[0];
        if (strchr(name, '/')) {
                if (!executable(name))
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME,
                                                      errno ? errno : EACCES, "exec %s", name);
                snprintf(out, size, "%s", name);
                return 0;
        }
        const char *p = env_path(spec->env);
        while (p) {
                const char *colon = strchr(p, ':');
                size_t len = colon ? (size_t) (colon - p) : strlen(p);
                int n = snprintf(out, size, "%.*s%s%s", (int) len, p, len ? "/" : "", name);
                if (n > 0 && (size_t) n < size && executable(out))
                        return 0;
                p = colon ? colon + 1 : NULL;
        }
        return tender_error_set(err, TENDER_ERR_RUNTIME, ENOENT, "exec %s: %s", name,
                                strerror(ENOENT));
}

/* A new network namespace has only "lo", down; health checks on 127.0.0.1 need it up. */
static int loopback_up(struct tender_error *err) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {0};
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "read flags of lo");
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "bring up lo");
        return 0;
}

bool tender_rt_init_hooks(const struct tender_rt_spec *spec) {
        static const char *const kinds[] = {"prestart", "createRuntime", "createContainer",
                                            "startContainer"};
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (tender_rt_hooks_has(spec->hooks, kinds[i]))
                        return true;
        return false;
}

static int read_full(int fd, void *buf, size_t len) {
        for (size_t got = 0; got < len;) {
                ssize_t n = read(fd, (char *) buf + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EPIPE;
                got += (size_t) n;
        }
        return 0;
}

/* Mounts are built: `create` runs prestart and createRuntime meanwhile and sends the state,
 * then createContainer runs here, in the container's namespaces, before pivot_root. */
static int create_hooks(const struct tender_rt_init_args *a, char **ret_state,
                        struct tender_error *err) {
        uint32_t len = 0;
        if (tender_rt_sync_send(a->sync_fd, TENDER_RT_SYNC_HOOKS, 0, NULL) < 0 ||
            read_full(a->hooks_fd, &len, sizeof(len)) < 0 || len == 0 ||
            len > TENDER_RT_STATE_MAX_SIZE)
                return tender_error_set(err, TENDER_ERR_RUNTIME, EPIPE,
                                        "hooks: no state from create");
        _cleanup_free_ char *json = malloc(len + 1);
        if (!json)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        if (read_full(a->hooks_fd, json, len) < 0)
                return tender_error_set(err, TENDER_ERR_RUNTIME, EPIPE,
                                        "hooks: no state from create");
        json[len] = '\0';
        close(a->hooks_fd);
        int r = tender_rt_hooks_run(a->spec->hooks, "createContainer", json, err);
        if (r < 0)
                return r;
        *ret_state = TAKE_PTR(json);
        return 0;
}

/* After `start`, after pivot_root, before the exec: in the container, path resolved there. */
static void start_hooks(const struct tender_rt_spec *spec, const char *state) {
        struct tender_error err = {0};
        if (!state || !tender_rt_hooks_has(spec->hooks, "startContainer"))
                return;
        _cleanup_free_ char *created = tender_rt_hooks_state_as(state, "created");
        if (tender_rt_hooks_run(spec->hooks, "startContainer", created ? created : state, &err) <
            0) {
                fprintf(stderr, "tender-runtime: %s\n", err.message);
                _exit(1);
        }
}

static int prepare(const struct tender_rt_init_args *a, char *program, size_t size,
                   char **ret_state, struct tender_error *err) {
        const struct tender_rt_spec *spec = a->spec;
        int r;
        /* The monitor has put us in the cgroup: a cgroup namespace now roots there. */
        if ((r = join_userns(spec, err)) < 0)
                return r;
        if (tender_rt_spec_new_namespace(spec, CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "create cgroup namespace");
        if ((r = tender_rt_write_sysctls(spec, err)) < 0)
                return r;
        if (tender_rt_spec_new_namespace(spec, CLONE_NEWNET) && (r = loopback_up(err)) < 0)
                return r;
        if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "set hostname %s",
                                              spec->hostname);
        if ((r = tender_rt_mount_setup(spec, err)) < 0 ||
            (tender_rt_init_hooks(spec) && (r = create_hooks(a, ret_state, err)) < 0) ||
            (r = tender_rt_mount_enter(spec, err)) < 0)
                return r;
        if (chdir(spec->cwd) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "chdir to %s",
                                              spec->cwd);
        return tender_rt_find_program(spec, program, size, err);
}

/* Passes the pty master to the --console-socket peer with SCM_RIGHTS, the pty's path as the
 * message (as runc does). */
static int send_master(int sock, int master, const char *name) {
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control = {0};
        struct iovec iov = {.iov_base = (char *) name, .iov_len = strlen(name)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &master, sizeof(int));
        ssize_t n;
        do
                n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : 0;
}

/* process.terminal: a pty from the container's /dev/ptmx; the master goes to the console
 * socket, the slave becomes the controlling terminal and stdio. */
static int setup_terminal(int console_fd, struct tender_error *err) {
        char name[64];
        _cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "process.terminal: open a pty in /dev/ptmx");
        _cleanup_close_ int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "process.terminal: open %s", name);
        int r = send_master(console_fd, master, name);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                              "process.terminal: send the pty to the console "
                                              "socket");
        close(console_fd);
        if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "process.terminal: make %s the controlling terminal",
                                              name);
        if (dup2(slave, STDIN_FILENO) < 0 || dup2(slave, STDOUT_FILENO) < 0 ||
            dup2(slave, STDERR_FILENO) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "process.terminal: stdio to %s", name);
        return 0;
}

/* Blocks until `start` opens the FIFO for reading, then hands it the byte it waits for. The
 * FIFO is reopened through the host's /proc/self/fd (proc_fd, taken before pivot_root): the
 * state directory is not searchable from inside a user namespace. */
static int wait_for_start(int proc_fd, int fifo_fd) {
        char name[16];
        int fd;
        snprintf(name, sizeof(name), "%d", fifo_fd);
        do
                fd = openat(proc_fd, name, O_WRONLY | O_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, "0", 1);
        int saved = errno;
        close(fd);
        return n == 1 ? 0 : -saved;
}

/* Waits for the monitor to write the id maps and join us to the cgroup. */
static int wait_for_go(int go_fd) {
        char c;
        ssize_t n;
        do
                n = read(go_fd, &c, 1);
        while (n < 0 && errno == EINTR);
        close(go_fd);
        return n == 1 ? 0 : -EPIPE;
}

int tender_rt_init_main(void *args) {
        const struct tender_rt_init_args *a = args;
        struct tender_error err = {0};
        char program[PATH_MAX];
        sigset_t none;

        close(a->lock_fd);
        close(a->go_peer_fd);
        if (wait_for_go(a->go_fd) < 0)
                _exit(1);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(a->input_fd, STDIN_FILENO) < 0 || dup2(a->output_fd, STDOUT_FILENO) < 0 ||
            dup2(a->error_fd, STDERR_FILENO) < 0) {
                tender_error_set_errno(&err, TENDER_ERR_RUNTIME, errno, "set up stdio");
                goto fail;
        }
        int proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proc_fd < 0) {
                tender_error_set_errno(&err, TENDER_ERR_RUNTIME, errno, "open /proc/self/fd");
                goto fail;
        }
        char *state = NULL; /* for the hooks, when there are any */
        if (prepare(a, program, sizeof(program), &state, &err) < 0 ||
            (a->spec->terminal && setup_terminal(a->console_fd, &err) < 0))
                goto fail;
        if (tender_rt_sync_send(a->sync_fd, TENDER_RT_SYNC_READY, 0, NULL) < 0)
                _exit(1);
        /* From here on nobody reads the sync pipe: errors go to the container's output. */
        close(a->sync_fd);
        int r = wait_for_start(proc_fd, a->fifo_fd);
        if (r < 0) {
                fprintf(stderr, "tender-runtime: wait for start: %s\n", strerror(-r));
                _exit(1);
        }
        close(proc_fd);
        close(a->fifo_fd);
        start_hooks(a->spec, state);
        free(state);
        if (tender_rt_finalize(a->spec, &err) < 0) {
                fprintf(stderr, "tender-runtime: %s\n", err.message);
                _exit(1);
        }
        execve(program, a->spec->args, a->spec->env);
        fprintf(stderr, "tender-runtime: exec %s: %s\n", program, strerror(errno));
        _exit(127);

fail:
        tender_rt_sync_send(a->sync_fd, TENDER_RT_SYNC_ERROR, err.errnum, err.message);
        /* create reports the error, on one line: the caller's stderr (which the init inherits)
         * gets nothing more from us (a sanitizer's note on leaving this stack, say). */
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0)
                dup2(null, STDERR_FILENO);
        _exit(1);
}
