/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime_cli.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tender/json.h"
#include "tender/log.h"

#define RUNTIME_MAX_ARGS (8 + TENDER_HEALTH_EXEC_ARGS_MAX) /* exec ID -- command... */
#define RUNTIME_WAIT_STEP_MS 10
#define STOP_POLL_INTERVAL_MS 100

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

/* tender-runtime's containers inherit the caller's stdio unless asked to log their output
 * (journald or its state directory), which is what an app run by tenderd needs. */
static bool is_tender_runtime(const struct runtime *rt) {
        const char *slash = strrchr(rt->path, '/');
        return STREQ(slash ? slash + 1 : rt->path, "tender-runtime");
}

int runtime_create(const struct runtime *rt, const char *bundle, const char *id,
                   struct tender_error *err) {
        const char *args[] = {"create", "--bundle", bundle, id, NULL};
        const char *logged[] = {"create", "--output-log", "--bundle", bundle, id, NULL};
        return run_runtime(rt, is_tender_runtime(rt) ? logged : args, NULL, 0, err);
}

int runtime_start(const struct runtime *rt, const char *id, struct tender_error *err) {
        const char *args[] = {"start", id, NULL};
        return run_runtime(rt, args, NULL, 0, err);
}

int runtime_kill(const struct runtime *rt, const char *id, const char *signal,
                 struct tender_error *err) {
        const char *args[] = {"kill", id, signal, NULL};
        return run_runtime(rt, args, NULL, 0, err);
}

int runtime_delete(const struct runtime *rt, const char *id, struct tender_error *err) {
        const char *args[] = {"delete", "--force", id, NULL};
        return run_runtime(rt, args, NULL, 0, err);
}

bool container_wait_stopped(const struct runtime *rt, const char *id, uint64_t timeout_ms) {
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

int runtime_output_path(const struct runtime *rt, const char *id, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/%s/output.log", rt->root ? rt->root : RUNTIME_DEFAULT_ROOT,
                         id);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}
