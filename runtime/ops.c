/* SPDX-License-Identifier: Apache-2.0 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "container.h"
#include "hooks.h"
#include "monitor.h"
#include "spec.h"
#include "statedir.h"
#include "tender/fileio.h"
#include "tender/oci_spec.h"

#define KILL_WAIT_POLLS 500 /* x 20 ms */

static volatile sig_atomic_t forwarded_signal;

static void sleep_ms(long ms) {
        nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

int tender_rt_parse_signal(const char *s) {
        const char *name = strncmp(s, "SIG", 3) == 0 ? s + 3 : s;
        for (int i = 1; i < NSIG; i++) {
                const char *abbrev = sigabbrev_np(i);
                if (abbrev && strcasecmp(abbrev, name) == 0)
                        return i;
        }
        char *end;
        long v = strtol(s, &end, 10);
        if (!*s || *end || v <= 0 || v >= NSIG)
                return -EINVAL;
        return (int) v;
}

static void now_rfc3339(char *buf, size_t size) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}

/* Signals the recorded init, making sure through a pidfd that the pid was not reused. */
static int signal_init(const struct tender_rt_state *s, int sig) {
        if (s->pid <= 0)
                return -ESRCH;
        int pidfd = (int) syscall(SYS_pidfd_open, s->pid, 0);
        if (pidfd < 0 && errno != ENOSYS)
                return -errno;
        int r = 0;
        if (!tender_rt_state_alive(s))
                r = -ESRCH;
        else if (pidfd >= 0)
                r = syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
        else
                r = kill(s->pid, sig) < 0 ? -errno : 0;
        if (pidfd >= 0)
                close(pidfd);
        return r;
}

/* Everything a container may leave behind: its init, monitor, cgroups and state directory.
 * Also used to undo a failed create, so it copes with any half-created state. */
static int destroy(int rootfd, const char *id, struct tender_error *err) {
        _cleanup_close_ int dirfd =
                openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dirfd < 0)
                return errno == ENOENT ? 0
                                       : tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                                "open state of %s", id);
        _cleanup_(tender_rt_state_freep) struct tender_rt_state *s = NULL;
        (void) tender_rt_state_read(dirfd, &s, NULL);
        if (s)
                (void) signal_init(s, SIGKILL);
        _cleanup_close_ int lock = tender_rt_lock(dirfd, false, TENDER_RT_MONITOR_EXIT_TIMEOUT_MS);
        if (lock < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, lock,
                                              "wait for the monitor of container %s to exit", id);
        /* Without a monitor (killed by someone), nobody reaps the init: wait for it to go. */
        for (int i = 0; s && tender_rt_state_alive(s) && i < KILL_WAIT_POLLS; i++) {
                (void) signal_init(s, SIGKILL);
                sleep_ms(20);
        }
        if (s && tender_rt_state_alive(s))
                return tender_error_set(err, TENDER_ERR_RUNTIME, EBUSY,
                                        "container %s: init %d does not die", id, (int) s->pid);
        int r;
        /* Without a pid namespace, processes may outlive the init; the cgroup knows them all. */
        if (s)
                tender_rt_cgroup_kill(s->cgroups_path);
        if (s && (r = tender_rt_cgroup_destroy(s->cgroups_path, err)) < 0)
                return r;
        r = tender_rm_rf_at(rootfd, id);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                              "remove state directory of %s", id);
        return 0;
}

static int read_sync(int fd, struct tender_rt_sync_msg *msg) {
        size_t got = 0;
        while (got < sizeof(*msg)) {
                ssize_t n = read(fd, (char *) msg + got, sizeof(*msg) - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return got == 0 ? -EPIPE : -EIO;
                got += (size_t) n;
        }
        msg->message[sizeof(msg->message) - 1] = '\0';
        return 0;
}

/* The init may have failed and been reaped before its pid could be recorded: its own error, sent
 * before it exited, explains more than the missing pid. The pipe ends when the init is gone. */
static int record_failed(int rd, pid_t pid, struct tender_error *err) {
        struct tender_rt_sync_msg msg;
        while (read_sync(rd, &msg) == 0)
                if (msg.type == TENDER_RT_SYNC_ERROR)
                        return tender_error_set(err, TENDER_ERR_RUNTIME, msg.value, "%s",
                                                msg.message);
        return tender_error_set(err, TENDER_ERR_RUNTIME, EIO, "record init pid %d", (int) pid);
}

static int write_full(int fd, const void *buf, size_t len) {
        for (size_t done = 0; done < len;) {
                ssize_t n = write(fd, (const char *) buf + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                done += (size_t) n;
        }
        return 0;
}

/* prestart and createRuntime, here in the runtime's namespaces, while the init waits before
 * pivot_root; then the init gets the state for createContainer and startContainer. */
static int create_hooks(const struct tender_rt_spec *spec, int dirfd, int hooks_wr,
                        struct tender_error *err) {
        _cleanup_(tender_rt_state_freep) struct tender_rt_state *s = NULL;
        _cleanup_(cJSON_Deletep) cJSON *o = NULL;
        int r = tender_rt_state_read(dirfd, &s, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *json =
                tender_rt_state_object(dirfd, s, &o) < 0 ? NULL : cJSON_PrintUnformatted(o);
        _cleanup_free_ char *creating = json ? tender_rt_hooks_state_as(json, "creating") : NULL;
        if (!creating)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        if ((r = tender_rt_hooks_run(spec->hooks, "prestart", creating, err)) < 0 ||
            (r = tender_rt_hooks_run(spec->hooks, "createRuntime", creating, err)) < 0)
                return r;
        uint32_t len = (uint32_t) strlen(creating);
        /* An init that died must not kill us with SIGPIPE: create cleans up after it. */
        void (*old)(int) = signal(SIGPIPE, SIG_IGN);
        r = write_full(hooks_wr, &len, sizeof(len));
        if (r >= 0)
                r = write_full(hooks_wr, creating, len);
        signal(SIGPIPE, old);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                              "send the state to the container init");
        return 0;
}

/* Spawns the monitor and waits until the init is ready or failed. */
static int spawn(const struct tender_rt_spec *spec, const struct tender_rt_create_opts *o,
                 struct tender_rt_state *state, int dirfd, int console_fd,
                 struct tender_error *err) {
        int p[2], h[2] = {-1, -1};
        if (pipe2(p, O_CLOEXEC) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "pipe");
        _cleanup_close_ int rd = p[0];
        if (tender_rt_init_hooks(spec) && pipe2(h, O_CLOEXEC) < 0) {
                close(p[1]);
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "pipe");
        }
        _cleanup_close_ int hooks_wr = h[1];
        struct tender_rt_monitor_args args = {
                .spec = spec,
                .id = state->id,
                .cgroup_path = state->cgroups_path,
                .state_dirfd = dirfd,
                .sync_fd = p[1],
                .output_log = o->output_log,
                .console_fd = console_fd,
                .hooks_fd = h[0],
        };
        int r = tender_rt_monitor_spawn(&args, err);
        close(p[1]);
        if (h[0] >= 0)
                close(h[0]);
        if (r < 0)
                return r;
        /* The init may report READY before the monitor reports its pid: wait for both. */
        bool ready = false;
        while (!ready || state->pid <= 0) {
                struct tender_rt_sync_msg msg;
                r = read_sync(rd, &msg);
                if (r < 0)
                        return tender_error_set(err, TENDER_ERR_RUNTIME, ECHILD,
                                                "container init exited before it was ready");
                if (msg.type == TENDER_RT_SYNC_ERROR)
                        return tender_error_set(err, TENDER_ERR_RUNTIME, msg.value, "%s",
                                                msg.message);
                if (msg.type == TENDER_RT_SYNC_READY)
                        ready = true;
                if (msg.type == TENDER_RT_SYNC_HOOKS && hooks_wr >= 0) {
                        if ((r = create_hooks(spec, dirfd, hooks_wr, err)) < 0)
                                return r;
                        close(TAKE_FD(hooks_wr));
                }
                if (msg.type != TENDER_RT_SYNC_PID || msg.value <= 0)
                        continue;
                state->pid = msg.value;
                /* Recorded at once so that a failure from here on can kill it. */
                if (tender_rt_pid_start_time(state->pid, &state->pid_start) < 0 ||
                    tender_rt_state_write(dirfd, state) < 0)
                        return record_failed(rd, state->pid, err);
        }
        return 0;
}

static int write_pid_file(const char *path, pid_t pid) {
        char text[32];
        snprintf(text, sizeof(text), "%d", (int) pid);
        return tender_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644);
}

static int write_hooks(int dirfd, const struct tender_rt_spec *spec, struct tender_error *err) {
        if (!spec->hooks)
                return 0;
        _cleanup_free_ char *text = cJSON_PrintUnformatted(spec->hooks);
        if (!text)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        int r = tender_write_file_atomic_at(dirfd, TENDER_RT_HOOKS_FILE, text, strlen(text), 0600);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "write %s",
                                              TENDER_RT_HOOKS_FILE);
        return 0;
}

int tender_rt_run_hooks(const struct tender_rt_global *g, const char *id, const char *kind,
                        struct tender_error *err) {
        _cleanup_(tender_rt_state_freep) struct tender_rt_state *s = NULL;
        _cleanup_(cJSON_Deletep) cJSON *hooks = NULL;
        _cleanup_close_ int dirfd = -1;
        _cleanup_free_ char *json = NULL;
        int r = tender_rt_open_container(g, id, &dirfd, &s, err);
        if (r < 0 || (r = tender_rt_hooks_load(dirfd, &hooks, err)) < 0 || !hooks)
                return r;
        if ((r = tender_rt_state(g, id, &json, err)) < 0)
                return r;
        return tender_rt_hooks_run(hooks, kind, json, err);
}

/* process.terminal and --console-socket go together, as with runc. */
static int console_connect(const struct tender_rt_spec *spec, const struct tender_rt_create_opts *o,
                           int *ret, struct tender_error *err) {
        if (spec->terminal != !!o->console_socket)
                return tender_error_set(err, TENDER_ERR_RUNTIME, EINVAL,
                                        spec->terminal ? "process.terminal needs --console-socket"
                                                       : "--console-socket needs process.terminal");
        if (!spec->terminal)
                return 0;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(o->console_socket) >= sizeof(sa.sun_path))
                return tender_error_set(err, TENDER_ERR_RUNTIME, ENAMETOOLONG,
                                        "--console-socket: path too long");
        memcpy(sa.sun_path, o->console_socket, strlen(o->console_socket));
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                if (fd >= 0)
                        close(fd);
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, e,
                                              "connect to --console-socket %s", o->console_socket);
        }
        *ret = fd;
        return 0;
}

static int create_in(int rootfd, int dirfd, const struct tender_rt_spec *spec,
                     const struct tender_rt_create_opts *o, struct tender_error *err) {
        char created[64];
        _cleanup_free_ char *cgroup = NULL;
        now_rfc3339(created, sizeof(created));
        if (spec->cgroups_path)
                cgroup = strdup(spec->cgroups_path);
        else if (asprintf(&cgroup, "/tender/%s", o->id) < 0)
                cgroup = NULL;
        if (!cgroup)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        struct tender_rt_state state = {
                .id = (char *) o->id,
                .bundle = spec->bundle,
                .rootfs = (char *) spec->rootfs,
                .cgroups_path = cgroup,
                .created = created,
                .annotations = (cJSON *) spec->annotations,
        };
        int r = tender_rt_state_write(dirfd, &state);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "write state of %s",
                                              o->id);
        if (mkfifoat(dirfd, TENDER_RT_FIFO_FILE, 0600) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "create exec fifo of %s", o->id);
        /* The init reopens the FIFO as the container's root, which in a user namespace is an
         * unprivileged host uid. */
        int64_t fifo_uid = tender_rt_spec_host_uid(spec, 0),
                fifo_gid = tender_rt_spec_host_gid(spec, 0);
        if (fifo_uid > 0 && fifo_gid >= 0 &&
            fchownat(dirfd, TENDER_RT_FIFO_FILE, (uid_t) fifo_uid, (gid_t) fifo_gid,
                     AT_SYMLINK_NOFOLLOW) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "chown exec fifo of %s", o->id);
        struct tender_rt_cgroup_limits limits = {
                .memory = spec->memory_limit,
                .memory_reservation = spec->memory_reservation,
                .memory_swap = spec->memory_swap,
                .memory_swappiness = spec->memory_swappiness,
                .disable_oom_killer = spec->disable_oom_killer,
                .pids = spec->pids_limit,
                .blkio_weight = spec->blkio_weight,
                .cpu = &spec->cpu,
                .dev = &spec->device_limits,
                .has_device_rules = spec->has_device_rules,
                .device_rules = spec->device_rules,
                .n_device_rules = spec->n_device_rules,
                .devices = spec->devices,
                .n_devices = spec->n_devices,
        };
        _cleanup_close_ int console_fd = -1;
        if ((r = console_connect(spec, o, &console_fd, err)) < 0 ||
            (r = write_hooks(dirfd, spec, err)) < 0 ||
            (r = tender_rt_cgroup_create(cgroup, &limits, err)) < 0 ||
            (r = spawn(spec, o, &state, dirfd, console_fd, err)) < 0)
                return r;
        if (o->pid_file && (r = write_pid_file(o->pid_file, state.pid)) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "write pid file %s",
                                              o->pid_file);
        return 0;
}

static void warn_ambient(uint64_t dropped) {
        for (int cap = 0; cap < 64; cap++)
                if (dropped & (UINT64_C(1) << cap))
                        fprintf(stderr,
                                "tender-runtime: warning: process.capabilities.ambient: %s is not "
                                "in permitted and inheritable, not raised\n",
                                tender_oci_cap_name(cap) ?: "?");
}

int tender_rt_create(const struct tender_rt_global *g, const struct tender_rt_create_opts *o,
                     struct tender_error *err) {
        _cleanup_(tender_rt_spec_freep) struct tender_rt_spec *spec = NULL;
        if (!tender_rt_id_valid(o->id))
                return tender_error_set(err, TENDER_ERR_RUNTIME, EINVAL,
                                        "invalid container id \"%s\"", o->id);
        int r = tender_rt_spec_load(o->bundle ? o->bundle : ".", &spec, err);
        if (r < 0)
                return r;
        warn_ambient(spec->caps.ambient_dropped);
        _cleanup_close_ int rootfd = tender_rt_root_open(g->root, true, err);
        if (rootfd < 0)
                return rootfd;
        if (mkdirat(rootfd, o->id, 0700) < 0)
                return errno == EEXIST ? tender_error_set(err, TENDER_ERR_RUNTIME, EEXIST,
                                                          "container %s already exists", o->id)
                                       : tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                                "create state of %s", o->id);
        _cleanup_close_ int dirfd = tender_rt_state_dir_open(rootfd, o->id, err);
        r = dirfd < 0 ? dirfd : create_in(rootfd, dirfd, spec, o, err);
        if (r < 0)
                (void) destroy(rootfd, o->id, NULL);
        return r;
}

int tender_rt_open_container(const struct tender_rt_global *g, const char *id, int *ret_dirfd,
                             struct tender_rt_state **ret_state, struct tender_error *err) {
        _cleanup_close_ int rootfd = tender_rt_root_open(g->root, false, err);
        if (rootfd < 0)
                return rootfd == -ENOENT ? tender_error_set(err, TENDER_ERR_RUNTIME, ENOENT,
                                                            "container %s does not exist", id)
                                         : rootfd;
        _cleanup_close_ int dirfd = tender_rt_state_dir_open(rootfd, id, err);
        if (dirfd < 0)
                return dirfd;
        int r = tender_rt_state_read(dirfd, ret_state, err);
        if (r < 0)
                return tender_error_prefix(err, "container %s", id);
        *ret_dirfd = TAKE_FD(dirfd);
        return 0;
}

int tender_rt_start(const struct tender_rt_global *g, const char *id, struct tender_error *err) {
        _cleanup_(tender_rt_state_freep) struct tender_rt_state *s = NULL;
        _cleanup_close_ int dirfd = -1;
        int r = tender_rt_open_container(g, id, &dirfd, &s, err);
        if (r < 0)
                return r;
        enum tender_rt_status st = tender_rt_state_status(dirfd, s, NULL);
        if (st != TENDER_RT_CREATED)
                return tender_error_set(err, TENDER_ERR_RUNTIME, EINVAL,
                                        "container %s is %s, not created", id,
                                        tender_rt_status_name(st));
        /* Non-blocking: a dead init must not leave start hanging in open(). */
        _cleanup_close_ int fd =
                openat(dirfd, TENDER_RT_FIFO_FILE, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "open exec fifo of %s", id);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        do
                r = poll(&p, 1, TENDER_RT_START_TIMEOUT_MS);
        while (r < 0 && errno == EINTR);
        char c;
        if (r <= 0 || read(fd, &c, 1) != 1)
                return tender_error_set(err, TENDER_ERR_RUNTIME, ETIMEDOUT,
                                        "container %s: init did not take the start signal", id);
        if (unlinkat(dirfd, TENDER_RT_FIFO_FILE, 0) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "remove exec fifo of %s", id);
        return 0;
}

/* The user owning the state directory, as runc and crun print it. */
void tender_rt_owner_name(int dirfd, char *out, size_t size) {
        struct stat st;
        struct passwd pw, *found = NULL;
        char buf[1024];
        if (fstat(dirfd, &st) < 0)
                st.st_uid = getuid();
        if (getpwuid_r(st.st_uid, &pw, buf, sizeof(buf), &found) == 0 && found)
                snprintf(out, size, "%s", found->pw_name);
        else
                snprintf(out, size, "#%u", (unsigned) st.st_uid);
}

static int add_owner(cJSON *o, int dirfd) {
        char name[64];
        tender_rt_owner_name(dirfd, name, sizeof(name));
        return cJSON_AddStringToObject(o, "owner", name) ? 0 : -ENOMEM;
}

int tender_rt_state_object(int dirfd, struct tender_rt_state *s, cJSON **ret) {
        struct tender_rt_exit e;
        enum tender_rt_status st = tender_rt_state_status(dirfd, s, &e);
        if (st == TENDER_RT_STOPPED && !e.known) {
                /* The init is gone but its monitor, which holds the state dir's lock while it
                 * lives, has not recorded the exit yet: wait for it (bounded), so that "stopped"
                 * comes with its exit status. */
                _cleanup_close_ int lock =
                        tender_rt_lock(dirfd, false, TENDER_RT_STATE_EXIT_WAIT_MS);
                (void) tender_rt_exit_read(dirfd, &e);
        }
        /* runc's fields in runc's order; exitStatus and exitSignal are ours. */
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "ociVersion", TENDER_RT_OCI_VERSION) ||
            !cJSON_AddStringToObject(o, "id", s->id) ||
            !cJSON_AddNumberToObject(o, "pid", st == TENDER_RT_STOPPED ? 0 : s->pid) ||
            !cJSON_AddStringToObject(o, "status", tender_rt_status_name(st)) ||
            !cJSON_AddStringToObject(o, "bundle", s->bundle) ||
            !cJSON_AddStringToObject(o, "rootfs", s->rootfs) ||
            !cJSON_AddStringToObject(o, "created", s->created))
                return -ENOMEM;
        cJSON *ann = s->annotations ? TAKE_PTR(s->annotations) : cJSON_CreateObject();
        if (!ann || !cJSON_AddItemToObject(o, "annotations", ann) || add_owner(o, dirfd) < 0)
                return -ENOMEM;
        if (st == TENDER_RT_STOPPED && e.known) {
                if (!cJSON_AddNumberToObject(o, "exitStatus", e.status))
                        return -ENOMEM;
                char name[32];
                snprintf(name, sizeof(name), "SIG%s", sigabbrev_np(e.signal) ?: "UNKNOWN");
                if (e.signal && !cJSON_AddStringToObject(o, "exitSignal", name))
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int tender_rt_state(const struct tender_rt_global *g, const char *id, char **ret_json,
                    struct tender_error *err) {
        _cleanup_(tender_rt_state_freep) struct tender_rt_state *s = NULL;
        _cleanup_(cJSON_Deletep) cJSON *o = NULL;
        _cleanup_close_ int dirfd = -1;
        int r = tender_rt_open_container(g, id, &dirfd, &s, err);
        if (r < 0)
                return r;
        char *text = tender_rt_state_object(dirfd, s, &o) < 0 ? NULL : cJSON_PrintUnformatted(o);
        if (!text)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        *ret_json = text;
        return 0;
}

int tender_rt_kill(const struct tender_rt_global *g, const char *id, int sig,
                   struct tender_error *err) {
        _cleanup_(tender_rt_state_freep) struct tender_rt_state *s = NULL;
        _cleanup_close_ int dirfd = -1;
        int r = tender_rt_open_container(g, id, &dirfd, &s, err);
        if (r < 0)
                return r;
        if (tender_rt_state_status(dirfd, s, NULL) == TENDER_RT_STOPPED)
                return tender_error_set(err, TENDER_ERR_RUNTIME, ESRCH,
                                        "container %s is not running", id);
        r = signal_init(s, sig);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                              "send signal %d to container %s", sig, id);
        return 0;
}

int tender_rt_delete(const struct tender_rt_global *g, const char *id, bool force,
                     struct tender_error *err) {
        if (!tender_rt_id_valid(id))
                return tender_error_set(err, TENDER_ERR_RUNTIME, EINVAL,
                                        "invalid container id \"%s\"", id);
        _cleanup_close_ int rootfd = tender_rt_root_open(g->root, false, err);
        if (rootfd < 0)
                return tender_error_set(err, TENDER_ERR_RUNTIME, ENOENT,
                                        "container %s does not exist", id);
        _cleanup_close_ int dirfd = tender_rt_state_dir_open(rootfd, id, err);
        if (dirfd < 0)
                return dirfd;
        _cleanup_(tender_rt_state_freep) struct tender_rt_state *s = NULL;
        /* A half-created container may have no state file yet; destroy copes with that. */
        if (tender_rt_state_read(dirfd, &s, NULL) >= 0 && !force &&
            tender_rt_state_status(dirfd, s, NULL) == TENDER_RT_RUNNING)
                return tender_error_set(err, TENDER_ERR_RUNTIME, EBUSY,
                                        "container %s is running; stop it or use --force", id);
        /* poststop runs after the container is gone, from what the state directory held. */
        _cleanup_(cJSON_Deletep) cJSON *hooks = NULL;
        _cleanup_free_ char *json = NULL;
        if (s && tender_rt_hooks_load(dirfd, &hooks, NULL) >= 0 && hooks)
                (void) tender_rt_state(g, id, &json, NULL);
        int r = destroy(rootfd, id, err);
        if (r < 0 || !json)
                return r;
        /* As poststop should see it: stopped, without a pid. */
        _cleanup_free_ char *stopped = tender_rt_hooks_state_as(json, "stopped");
        if (tender_rt_hooks_run(hooks, "poststop", stopped ? stopped : json, err) < 0)
                return 1; /* deleted; err holds the hook's failure as a warning */
        return 0;
}

static void forward(int sig) {
        forwarded_signal = sig;
}

int tender_rt_wait(const struct tender_rt_global *g, const char *id, int *ret_status,
                   struct tender_error *err) {
        _cleanup_(tender_rt_state_freep) struct tender_rt_state *s = NULL;
        _cleanup_close_ int dirfd = -1;
        int r = tender_rt_open_container(g, id, &dirfd, &s, err);
        if (r < 0)
                return r;
        /* No SA_RESTART: the signal interrupts flock() so that it can be passed on. */
        struct sigaction sa = {.sa_handler = forward};
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaction(sigs[i], &sa, NULL);
        int lock;
        while ((lock = tender_rt_lock(dirfd, true, 0)) == -EINTR) {
                int sig = forwarded_signal;
                forwarded_signal = 0;
                if (sig)
                        (void) signal_init(s, sig);
        }
        if (lock < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, lock,
                                              "wait for container %s", id);
        close(lock);
        struct tender_rt_exit e;
        r = tender_rt_exit_read(dirfd, &e);
        if (r < 0 || !e.known)
                return tender_error_set(err, TENDER_ERR_RUNTIME, r < 0 ? r : ENODATA,
                                        "container %s: no exit status recorded", id);
        *ret_status = e.status;
        return 0;
}
