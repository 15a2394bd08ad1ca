/* SPDX-License-Identifier: Apache-2.0 */
#include "container.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"
#include "notify.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/log.h"

#define RUNTIME_MAX_ARGS (8 + TENDER_HEALTH_EXEC_ARGS_MAX) /* exec ID -- command... */
#define RUNTIME_WAIT_STEP_MS 10
#define OVERLAY_OPTIONS_MAX 4096 /* one page: the kernel's limit for mount data */
#define STOP_POLL_INTERVAL_MS 100
#define CGROUP_PARENT_MAX 256

void container_id(const char *app, const char *version, char buf[static CONTAINER_ID_MAX]) {
        snprintf(buf, CONTAINER_ID_MAX, "%s-%s", app, version);
        for (char *p = buf; *p; p++)
                if (*p == '.')
                        *p = '_';
}

const char *container_status_name(enum container_status s) {
        switch (s) {
        case CONTAINER_ABSENT:
                return "absent";
        case CONTAINER_CREATED:
                return "created";
        case CONTAINER_RUNNING:
                return "running";
        case CONTAINER_STOPPED:
                return "stopped";
        default:
                return "other";
        }
}

static int read_memfd(int fd, char *buf, size_t size) {
        ssize_t n = pread(fd, buf, size - 1, 0);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        /* Runtimes end their error text with a newline; the report is one line. */
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = '\0';
        return (int) n;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Waits for pid; with timeout_ms > 0, kills its process group once that passed (-ETIMEDOUT). */
static int wait_child(pid_t pid, uint64_t timeout_ms, int *ret_status) {
        uint64_t deadline = tender_now_ms() + timeout_ms;
        for (;;) {
                pid_t w = waitpid(pid, ret_status, timeout_ms ? WNOHANG : 0);
                if (w == pid)
                        return 0;
                if (w < 0 && errno != EINTR)
                        return -errno;
                if (w == 0 && tender_now_ms() >= deadline) {
                        /* The group: the runtime and what it forked (exec's joiner, command). */
                        kill(-pid, SIGKILL);
                        kill(pid, SIGKILL);
                        while (waitpid(pid, ret_status, 0) < 0 && errno == EINTR)
                                ;
                        return -ETIMEDOUT;
                }
                if (w == 0)
                        sleep_ms(RUNTIME_WAIT_STEP_MS);
        }
}

struct run_opts {
        char *out; /* stdout (and for exec stderr too) into this, may be NULL */
        size_t out_size;
        uint64_t timeout_ms; /* 0: none */
        int *ret_status;     /* the exit status wanted rather than an error for non-zero */
};

/* Runs `<runtime> [--root R] args...`. A non-zero exit is -EIO with the runtime's stderr in
 * err, unless o->ret_status takes it. */
static int run_runtime_opts(const struct runtime *rt, const char *const *args,
                            const struct run_opts *o, struct tender_error *err) {
        const char *argv[RUNTIME_MAX_ARGS + 4];
        _cleanup_close_ int out_fd = -1, err_fd = -1;
        size_t n = 0;
        int status, r;

        argv[n++] = rt->path;
        if (rt->root) {
                argv[n++] = "--root";
                argv[n++] = rt->root;
        }
        for (size_t i = 0; args[i] && i < RUNTIME_MAX_ARGS; i++)
                argv[n++] = args[i];
        argv[n] = NULL;

        out_fd = memfd_create("runtime-out", MFD_CLOEXEC);
        err_fd = memfd_create("runtime-err", MFD_CLOEXEC);
        if (out_fd < 0 || err_fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "memfd_create");
        pid_t pid = fork();
        if (pid < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "fork");
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (o->timeout_ms)
                        (void) setpgid(0, 0);
                if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 ||
                    dup2(o->ret_status ? out_fd : err_fd, 2) < 0)
                        _exit(127);
                execvp(argv[0], (char *const *) argv);
                dprintf(2, "cannot execute %s: %s", argv[0], strerror(errno));
                _exit(127);
        }
        r = wait_child(pid, o->timeout_ms, &status);
        if (r == -ETIMEDOUT)
                return tender_error_set(err, TENDER_ERR_RUNTIME, ETIMEDOUT,
                                        "%s %s %s: no end within %llu ms", rt->path, args[0],
                                        args[1] ? args[1] : "", (unsigned long long) o->timeout_ms);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, -r, "waitpid");
        if (o->out)
                read_memfd(out_fd, o->out, o->out_size);
        if (o->ret_status) {
                *o->ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return 0;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char msg[TENDER_ERROR_MESSAGE_MAX / 2];
                read_memfd(err_fd, msg, sizeof(msg));
                return tender_error_set(err, TENDER_ERR_RUNTIME, EIO, "%s %s %s failed: %s",
                                        rt->path, args[0], args[1] ? args[1] : "",
                                        msg[0] ? msg : "no message");
        }
        return 0;
}

static int run_runtime(const struct runtime *rt, const char *const *args, char *out,
                       size_t out_size, struct tender_error *err) {
        struct run_opts o = {.out = out, .out_size = out_size};
        return run_runtime_opts(rt, args, &o, err);
}

int container_exec(const struct runtime *rt, const char *id, char *const *command,
                   uint64_t timeout_ms, int *ret_status, char *output, size_t output_size,
                   struct tender_error *err) {
        const char *args[RUNTIME_MAX_ARGS + 1];
        size_t n = 0;
        args[n++] = "exec";
        args[n++] = id;
        args[n++] = "--";
        for (size_t i = 0; command && command[i]; i++) {
                if (n >= RUNTIME_MAX_ARGS)
                        return tender_error_set(err, TENDER_ERR_RUNTIME, E2BIG,
                                                "exec in %s: more than %d arguments", id,
                                                RUNTIME_MAX_ARGS - 3);
                args[n++] = command[i];
        }
        args[n] = NULL;
        if (n == 3)
                return tender_error_set(err, TENDER_ERR_RUNTIME, EINVAL, "exec in %s: no command",
                                        id);
        struct run_opts o = {.out = output,
                             .out_size = output_size,
                             .timeout_ms = timeout_ms,
                             .ret_status = ret_status};
        return run_runtime_opts(rt, args, &o, err);
}

int container_state(const struct runtime *rt, const char *id, struct container_state *ret,
                    struct tender_error *err) {
        _cleanup_free_ char *out = malloc(RUNTIME_OUTPUT_MAX);
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        struct container_state st = {.status = CONTAINER_ABSENT};
        const char *args[] = {"state", id, NULL};
        struct tender_error ignored;
        int r;

        if (!out)
                return -ENOMEM;
        /* Every runtime fails `state` for an unknown id; they differ in the wording. */
        if (run_runtime(rt, args, out, RUNTIME_OUTPUT_MAX, &ignored) < 0) {
                log_debug("%s state %s: %s", rt->path, id, ignored.message);
                *ret = st;
                return 0;
        }
        r = tender_json_parse(out, strlen(out), RUNTIME_OUTPUT_MAX, 8, &root, err);
        if (r < 0)
                return tender_error_prefix(err, "%s state %s", rt->path, id);
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
        const cJSON *pid = cJSON_GetObjectItemCaseSensitive(root, "pid");
        const cJSON *es = cJSON_GetObjectItemCaseSensitive(root, "exitStatus");
        const cJSON *sig = cJSON_GetObjectItemCaseSensitive(root, "exitSignal");
        if (!cJSON_IsString(status))
                return tender_error_set(err, TENDER_ERR_RUNTIME, EBADMSG,
                                        "%s state %s: no \"status\"", rt->path, id);
        const char *s = status->valuestring;
        st.status = STREQ(s, "running")   ? CONTAINER_RUNNING
                    : STREQ(s, "created") ? CONTAINER_CREATED
                    : STREQ(s, "stopped") ? CONTAINER_STOPPED
                                          : CONTAINER_OTHER;
        if (cJSON_IsNumber(pid))
                st.pid = pid->valueint;
        if (cJSON_IsNumber(es)) {
                st.has_exit_status = true;
                st.exit_status = es->valueint;
        }
        if (cJSON_IsNumber(sig) && sig->valueint > 0) {
                st.has_exit_signal = true;
                st.exit_signal = sig->valueint;
        }
        *ret = st;
        return 0;
}

static cJSON *strv_to_json(char *const *v) {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; a && v && v[i]; i++)
                cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
        return a;
}

static void add_mount(cJSON *mounts, const char *dest, const char *type, const char *source,
                      const char *const *options) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "destination", dest);
        cJSON_AddStringToObject(m, "type", type);
        cJSON_AddStringToObject(m, "source", source);
        cJSON *o = cJSON_AddArrayToObject(m, "options");
        for (size_t i = 0; options[i]; i++)
                cJSON_AddItemToArray(o, cJSON_CreateString(options[i]));
        cJSON_AddItemToArray(mounts, m);
}

static int parse_user(const char *user, unsigned *ret_uid, unsigned *ret_gid) {
        unsigned uid = 0, gid = 0;
        int n = 0;
        if (!user || !*user) {
                *ret_uid = *ret_gid = 0;
                return 0;
        }
        if (sscanf(user, "%u%n", &uid, &n) != 1)
                return -EINVAL;
        if (user[n] == ':') {
                int k = 0;
                if (sscanf(user + n + 1, "%u%n", &gid, &k) != 1 || user[n + 1 + k] != '\0')
                        return -EINVAL;
        } else if (user[n] != '\0')
                return -EINVAL;
        *ret_uid = uid;
        *ret_gid = gid;
        return 0;
}

static cJSON *build_process(const struct tender_release_manifest *m, struct tender_error *err) {
        unsigned uid, gid;
        if (parse_user(m->user, &uid, &gid) < 0) {
                tender_error_set(err, TENDER_ERR_RUNTIME, EINVAL,
                                 "image.config.user \"%s\" is not numeric uid[:gid]", m->user);
                return NULL;
        }
        cJSON *p = cJSON_CreateObject();
        cJSON_AddBoolToObject(p, "terminal", false);
        cJSON *u = cJSON_AddObjectToObject(p, "user");
        cJSON_AddNumberToObject(u, "uid", uid);
        cJSON_AddNumberToObject(u, "gid", gid);
        cJSON *args;
        if (m->args)
                args = strv_to_json(m->args);
        else {
                args = strv_to_json(m->entrypoint);
                for (size_t i = 0; m->cmd && m->cmd[i]; i++)
                        cJSON_AddItemToArray(args, cJSON_CreateString(m->cmd[i]));
        }
        cJSON_AddItemToObject(p, "args", args);
        cJSON *env = strv_to_json(m->env);
        for (size_t i = 0; m->extra_env && m->extra_env[i]; i++)
                cJSON_AddItemToArray(env, cJSON_CreateString(m->extra_env[i]));
        if (m->health_notify)
                cJSON_AddItemToArray(env, cJSON_CreateString(NOTIFY_SOCKET_ENV));
        cJSON_AddItemToObject(p, "env", env);
        cJSON_AddStringToObject(p, "cwd", m->working_dir ? m->working_dir : "/");
        cJSON_AddBoolToObject(p, "noNewPrivileges", true);
        if (cJSON_GetArraySize(args) == 0) {
                cJSON_Delete(p);
                tender_error_set(err, TENDER_ERR_RUNTIME, EINVAL,
                                 "%s %s: no command (entrypoint, cmd and args are empty)", m->app,
                                 m->version);
                return NULL;
        }
        return p;
}

static int build_mounts(cJSON *mounts, struct tender_store *store,
                        const struct tender_release_manifest *m, struct tender_error *err) {
        add_mount(mounts, "/proc", "proc", "proc",
                  (const char *[]){"nosuid", "noexec", "nodev", NULL});
        add_mount(mounts, "/dev", "tmpfs", "tmpfs",
                  (const char *[]){"nosuid", "strictatime", "mode=755", "size=65536k", NULL});
        add_mount(mounts, "/dev/pts", "devpts", "devpts",
                  (const char *[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                                   NULL});
        add_mount(mounts, "/dev/shm", "tmpfs", "shm",
                  (const char *[]){"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL});
        add_mount(mounts, "/dev/mqueue", "mqueue", "mqueue",
                  (const char *[]){"nosuid", "noexec", "nodev", NULL});
        add_mount(mounts, "/sys", "sysfs", "sysfs",
                  (const char *[]){"nosuid", "noexec", "nodev", "ro", NULL});
        if (m->readonly_rootfs)
                add_mount(mounts, "/tmp", "tmpfs", "tmpfs",
                          (const char *[]){"nosuid", "nodev", "mode=1777", NULL});
        if (m->health_notify) {
                /* The dir, not the socket: tenderd binds a new socket for every gate. */
                _cleanup_free_ char *dir = NULL, *src = NULL;
                int r = tender_store_release_path(store, m->app, m->version, &dir);
                if (r >= 0)
                        r = notify_make_dir(store, m->app, m->version);
                if (r < 0 || asprintf(&src, "%s/%s", dir, NOTIFY_DIR) < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r < 0 ? r : ENOMEM,
                                                      "notify dir of %s %s", m->app, m->version);
                add_mount(mounts, NOTIFY_CONTAINER_DIR, "bind", src,
                          (const char *[]){"rbind", "rw", "nosuid", "nodev", "noexec", NULL});
        }
        for (size_t i = 0; i < m->n_volumes; i++) {
                _cleanup_free_ char *src = NULL;
                int r = tender_store_volume_path(store, m->app, m->volumes[i].name, &src);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                                      "create volume %s of %s", m->volumes[i].name,
                                                      m->app);
                add_mount(mounts, m->volumes[i].path, "bind", src,
                          (const char *[]){"rbind", "rw", "nosuid", "nodev", NULL});
        }
        /* The app lock (agent/lock.c): a file the app may flock to defer updates. */
        _cleanup_free_ char *lock = NULL;
        int r = lock_app_path(tender_store_root_fd(store), tender_store_root(store), m->app, &lock);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "create the lock file of %s", m->app);
        add_mount(mounts, LOCK_APP_MOUNT, "bind", lock,
                  (const char *[]){"bind", "rw", "nosuid", "nodev", "noexec", NULL});
        return 0;
}

/* The cgroup parent of tender's containers: TENDER_CGROUP_PARENT (an absolute cgroup path of
 * [A-Za-z0-9._/-], without "..") or /tender. Lets several stores share one host, e.g. tests
 * running side by side, without their same-named containers sharing a cgroup. */
static const char *cgroup_parent(void) {
        const char *p = getenv("TENDER_CGROUP_PARENT");
        size_t n = p ? strlen(p) : 0;
        if (n < 2 || n > CGROUP_PARENT_MAX || p[0] != '/' || strstr(p, ".."))
                return "/tender";
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-",
                            p[i]))
                        return "/tender";
        return p;
}

static cJSON *build_linux(const struct tender_release_manifest *m, const char *id) {
        static const char *const ns[] = {"pid", "ipc", "uts", "mount", "network"};
        char cgroup[CGROUP_PARENT_MAX + CONTAINER_ID_MAX + 2];
        cJSON *l = cJSON_CreateObject();
        cJSON *a = cJSON_AddArrayToObject(l, "namespaces");
        for (size_t i = 0; i < ELEMENTSOF(ns); i++) {
                if (STREQ(ns[i], "network") && m->network == TENDER_NETWORK_HOST)
                        continue;
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "type", ns[i]);
                cJSON_AddItemToArray(a, o);
        }
        if (m->memory_limit || m->pids_limit) {
                cJSON *res = cJSON_AddObjectToObject(l, "resources");
                if (m->memory_limit)
                        cJSON_AddNumberToObject(cJSON_AddObjectToObject(res, "memory"), "limit",
                                                (double) m->memory_limit);
                if (m->pids_limit)
                        cJSON_AddNumberToObject(cJSON_AddObjectToObject(res, "pids"), "limit",
                                                (double) m->pids_limit);
        }
        snprintf(cgroup, sizeof(cgroup), "%s/%s", cgroup_parent(), id);
        cJSON_AddStringToObject(l, "cgroupsPath", cgroup);
        return l;
}

int container_write_config(struct tender_store *store, const struct tender_release_manifest *m,
                           struct tender_error *err) {
        _cleanup_(cJSON_Deletep) cJSON *root = cJSON_CreateObject();
        _cleanup_free_ char *json = NULL, *dir = NULL;
        char id[CONTAINER_ID_MAX];
        int r;

        if (!root)
                return -ENOMEM;
        container_id(m->app, m->version, id);
        cJSON *process = build_process(m, err);
        if (!process)
                return -EINVAL;
        cJSON_AddStringToObject(root, "ociVersion", "1.0.2");
        cJSON_AddItemToObject(root, "process", process);
        cJSON *rootfs = cJSON_AddObjectToObject(root, "root");
        cJSON_AddStringToObject(rootfs, "path", "rootfs");
        cJSON_AddBoolToObject(rootfs, "readonly", m->readonly_rootfs);
        cJSON_AddStringToObject(root, "hostname", m->app);
        r = build_mounts(cJSON_AddArrayToObject(root, "mounts"), store, m, err);
        if (r < 0)
                return r;
        cJSON_AddItemToObject(root, "linux", build_linux(m, id));

        json = cJSON_Print(root);
        if (!json)
                return -ENOMEM;
        r = tender_store_release_path(store, m->app, m->version, &dir);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open %s", dir);
        r = tender_write_file_atomic_at(fd, "bundle/config.json", json, strlen(json), 0644);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "write %s/bundle/config.json", dir);
        return 0;
}

static bool is_mount_point(const char *path) {
        struct stat st, parent;
        char up[PATH_MAX];
        snprintf(up, sizeof(up), "%s/..", path);
        return stat(path, &st) == 0 && stat(up, &parent) == 0 && st.st_dev != parent.st_dev;
}

/* lowerdir names the layers relative to layers/sha256 (tenderd's cwd while mounting) so that
 * more of them fit in the one page of mount options. */
static int mount_rootfs(struct tender_store *store, const struct tender_release_manifest *m,
                        const char *dir, struct tender_error *err) {
        char opts[OVERLAY_OPTIONS_MAX], rootfs[PATH_MAX];
        size_t len;
        int r;

        snprintf(rootfs, sizeof(rootfs), "%s/bundle/rootfs", dir);
        if (is_mount_point(rootfs))
                return 0;
        if (m->n_layers == 0) {
                /* overlay needs a lower dir: an empty one in the release. */
                r = tender_mkdir_p_at(tender_store_root_fd(store), "layers/empty", 0755);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "mkdir empty");
                len = (size_t) snprintf(opts, sizeof(opts), "lowerdir=../empty");
        } else {
                len = (size_t) snprintf(opts, sizeof(opts), "lowerdir=");
                for (size_t i = m->n_layers; i > 0 && len < sizeof(opts); i--) {
                        char hex[65];
                        len += (size_t) snprintf(opts + len, sizeof(opts) - len, "%s%s",
                                                 i == m->n_layers ? "" : ":",
                                                 tender_digest_hex(&m->layers[i - 1].diff_id, hex));
                }
        }
        if (len < sizeof(opts))
                len += (size_t) snprintf(opts + len, sizeof(opts) - len,
                                         ",upperdir=%s/upper,workdir=%s/work", dir, dir);
        if (len >= sizeof(opts))
                return tender_error_set(err, TENDER_ERR_RUNTIME, E2BIG,
                                        "%s %s: overlay options exceed %d bytes (%zu layers)",
                                        m->app, m->version, OVERLAY_OPTIONS_MAX, m->n_layers);

        _cleanup_close_ int layers_fd = openat(tender_store_root_fd(store), "layers/sha256",
                                               O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (layers_fd < 0 || fchdir(layers_fd) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "enter %s/layers/sha256", tender_store_root(store));
        r = mount("overlay", rootfs, "overlay", 0, opts) < 0 ? -errno : 0;
        (void) !chdir("/");
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "mount overlay on %s",
                                              rootfs);
        return 0;
}

static int umount_rootfs(struct tender_store *store, const char *app, const char *version) {
        _cleanup_free_ char *dir = NULL;
        char rootfs[PATH_MAX];
        int r = tender_store_release_path(store, app, version, &dir);
        if (r < 0)
                return r;
        snprintf(rootfs, sizeof(rootfs), "%s/bundle/rootfs", dir);
        while (is_mount_point(rootfs))
                if (umount2(rootfs, 0) < 0 && umount2(rootfs, MNT_DETACH) < 0)
                        return -errno;
        return 0;
}

int container_start(const struct runtime *rt, struct tender_store *store,
                    const struct tender_release_manifest *m, struct tender_error *err) {
        _cleanup_free_ char *dir = NULL;
        char id[CONTAINER_ID_MAX], bundle[PATH_MAX];
        struct container_state st;
        int r;

        container_id(m->app, m->version, id);
        r = tender_store_release_path(store, m->app, m->version, &dir);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "release path");
        /* A leftover from before a crash or a reboot: start from a clean state. */
        r = container_state(rt, id, &st, err);
        if (r < 0)
                return r;
        if (st.status != CONTAINER_ABSENT) {
                const char *args[] = {"delete", "--force", id, NULL};
                r = run_runtime(rt, args, NULL, 0, err);
                if (r < 0)
                        return r;
        }
        r = mount_rootfs(store, m, dir, err);
        if (r < 0)
                return r;
        snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
        const char *create[] = {"create", "--bundle", bundle, id, NULL};
        r = run_runtime(rt, create, NULL, 0, err);
        if (r < 0) {
                umount_rootfs(store, m->app, m->version);
                return r;
        }
        const char *start[] = {"start", id, NULL};
        return run_runtime(rt, start, NULL, 0, err);
}

/* Waits until the container is no longer running, up to timeout_ms. */
static bool wait_stopped(const struct runtime *rt, const char *id, uint64_t timeout_ms) {
        for (uint64_t waited = 0;; waited += STOP_POLL_INTERVAL_MS) {
                struct container_state st;
                if (container_state(rt, id, &st, NULL) >= 0 && st.status != CONTAINER_RUNNING &&
                    st.status != CONTAINER_OTHER)
                        return true;
                if (waited >= timeout_ms)
                        return false;
                sleep_ms(STOP_POLL_INTERVAL_MS);
        }
}

int container_stop(const struct runtime *rt, struct tender_store *store, const char *app,
                   const char *version, uint64_t timeout_sec, struct tender_error *err) {
        char id[CONTAINER_ID_MAX];
        struct container_state st;
        int r;

        container_id(app, version, id);
        r = container_state(rt, id, &st, err);
        if (r < 0)
                return r;
        if (st.status == CONTAINER_RUNNING || st.status == CONTAINER_OTHER) {
                const char *term[] = {"kill", id, "TERM", NULL};
                if (run_runtime(rt, term, NULL, 0, NULL) >= 0 &&
                    !wait_stopped(rt, id, timeout_sec * 1000))
                        log_info("Container %s did not stop within %llu s, killing it", id,
                                 (unsigned long long) timeout_sec);
                const char *kill9[] = {"kill", id, "KILL", NULL};
                if (!wait_stopped(rt, id, 0)) {
                        run_runtime(rt, kill9, NULL, 0, NULL);
                        wait_stopped(rt, id, 5000);
                }
        }
        if (st.status != CONTAINER_ABSENT) {
                const char *del[] = {"delete", "--force", id, NULL};
                r = run_runtime(rt, del, NULL, 0, err);
                if (r < 0)
                        return r;
        }
        r = umount_rootfs(store, app, version);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "unmount rootfs of %s",
                                              id);
        return 0;
}
