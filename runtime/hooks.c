/* SPDX-License-Identifier: Apache-2.0 */
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tender/fileio.h"

#define HOOK_PATH_MAX 96
#define HOOK_ARGS_MAX 1024
#define HOOKS_FILE_MAX (1u << 20)

static void strv_freep(char ***p) {
        tender_strv_free(*p);
}

static const char *const kinds[] = {"prestart",       "createRuntime", "createContainer",
                                    "startContainer", "poststart",     "poststop"};

int tender_rt_hooks_features(cJSON *array) {
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
                if (!cJSON_AddItemToArray(array, cJSON_CreateString(kinds[k])))
                        return -ENOMEM;
        return 0;
}

static int check_hook(const cJSON *h, const char *path, struct tender_error *err) {
        const char *p = NULL;
        char **args = NULL, **env = NULL;
        uint64_t timeout = 1;
        int r;
        if (!cJSON_IsObject(h))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "%s: not an object", path);
        if ((r = tender_json_get_string(h, path, "path", true, &p, err)) < 0 ||
            (r = tender_json_get_strv(h, path, "args", false, HOOK_ARGS_MAX, &args, err)) < 0 ||
            (r = tender_json_get_strv(h, path, "env", false, HOOK_ARGS_MAX, &env, err)) < 0 ||
            (r = tender_json_get_u64(h, path, "timeout", false, &timeout, err)) < 0) {
                tender_strv_free(args);
                return r;
        }
        tender_strv_free(args);
        tender_strv_free(env);
        if (p[0] != '/')
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "%s.path: must be an absolute path", path);
        if (timeout == 0 || timeout > TENDER_RT_HOOK_TIMEOUT_MAX)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "%s.timeout: between 1 and %d seconds", path,
                                        TENDER_RT_HOOK_TIMEOUT_MAX);
        return 0;
}

int tender_rt_hooks_check(const cJSON *hooks, struct tender_error *err) {
        const cJSON *item;
        if (!cJSON_IsObject(hooks))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "hooks: not an object");
        cJSON_ArrayForEach(item, hooks) {
                bool known = false;
                for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
                        known |= STREQ(item->string, kinds[k]);
                if (!known)
                        return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                                "hooks.%s: unknown hook kind", item->string);
                if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) > TENDER_RT_MAX_HOOKS)
                        return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                                "hooks.%s: expected an array of at most %d",
                                                item->string, TENDER_RT_MAX_HOOKS);
                const cJSON *h;
                size_t i = 0;
                cJSON_ArrayForEach(h, item) {
                        char path[HOOK_PATH_MAX];
                        snprintf(path, sizeof(path), "hooks.%s[%zu]", item->string, i++);
                        int r = check_hook(h, path, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* Waits for pid at most timeout_s seconds; kills it when it overstays. */
static int wait_hook(pid_t pid, uint64_t timeout_s, int *ret_status) {
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                int st;
                pid_t w = waitpid(pid, &st, WNOHANG);
                if (w == pid) {
                        if (pidfd >= 0)
                                close(pidfd);
                        *ret_status = st;
                        return 0;
                }
                if (w < 0 && errno != EINTR)
                        break;
                clock_gettime(CLOCK_MONOTONIC, &now);
                long long left = (long long) timeout_s * 1000 - (now.tv_sec - start.tv_sec) * 1000 -
                                 (now.tv_nsec - start.tv_nsec) / 1000000;
                if (left <= 0) {
                        kill(pid, SIGKILL);
                        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                                ;
                        if (pidfd >= 0)
                                close(pidfd);
                        return -ETIMEDOUT;
                }
                if (pidfd >= 0) {
                        struct pollfd p = {.fd = pidfd, .events = POLLIN};
                        (void) poll(&p, 1, (int) (left > 1000 ? 1000 : left));
                } else {
                        nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
                }
        }
        if (pidfd >= 0)
                close(pidfd);
        return -errno;
}

static int run_hook(const cJSON *h, const char *path, const char *state_json,
                    struct tender_error *err) {
        const char *prog = cJSON_GetObjectItemCaseSensitive(h, "path")->valuestring;
        _cleanup_(strv_freep) char **args = NULL;
        _cleanup_(strv_freep) char **env = NULL;
        uint64_t timeout = TENDER_RT_HOOK_DEFAULT_TIMEOUT;
        int r;
        if ((r = tender_json_get_strv(h, path, "args", false, HOOK_ARGS_MAX, &args, err)) < 0 ||
            (r = tender_json_get_strv(h, path, "env", false, HOOK_ARGS_MAX, &env, err)) < 0 ||
            (r = tender_json_get_u64(h, path, "timeout", false, &timeout, err)) < 0)
                return r;
        char *default_args[] = {(char *) prog, NULL}, *no_env[] = {NULL};
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "%s: pipe", path);
        pid_t pid = fork();
        if (pid == 0) {
                if (dup2(p[0], STDIN_FILENO) < 0)
                        _exit(126);
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0)
                        (void) dup2(null, STDOUT_FILENO);
                signal(SIGPIPE, SIG_DFL);
                execve(prog, args && args[0] ? args : default_args, env ? env : no_env);
                _exit(127);
        }
        close(p[0]);
        if (pid < 0) {
                close(p[1]);
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "%s: fork", path);
        }
        /* A hook that does not read its stdin must not block us: SIGPIPE is ignored here. */
        void (*old)(int) = signal(SIGPIPE, SIG_IGN);
        (void) !write(p[1], state_json, strlen(state_json));
        close(p[1]);
        signal(SIGPIPE, old);
        int st;
        r = wait_hook(pid, timeout, &st);
        if (r == -ETIMEDOUT)
                return tender_error_set(err, TENDER_ERR_RUNTIME, ETIMEDOUT,
                                        "%s: %s timed out after %llu s", path, prog,
                                        (unsigned long long) timeout);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "%s: wait", path);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                return 0;
        if (WIFEXITED(st))
                return tender_error_set(err, TENDER_ERR_RUNTIME, EIO, "%s: %s exited with %d", path,
                                        prog, WEXITSTATUS(st));
        return tender_error_set(err, TENDER_ERR_RUNTIME, EIO, "%s: %s killed by signal %d", path,
                                prog, WTERMSIG(st));
}

bool tender_rt_hooks_has(const cJSON *hooks, const char *kind) {
        return cJSON_GetArraySize(hooks ? cJSON_GetObjectItemCaseSensitive(hooks, kind) : NULL) > 0;
}

char *tender_rt_hooks_state_as(const char *state_json, const char *status) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_Parse(state_json);
        if (!o || !cJSON_ReplaceItemInObject(o, "status", cJSON_CreateString(status)))
                return NULL;
        if (STREQ(status, "stopped") && !cJSON_ReplaceItemInObject(o, "pid", cJSON_CreateNumber(0)))
                return NULL;
        return cJSON_PrintUnformatted(o);
}

int tender_rt_hooks_load(int dirfd, cJSON **ret, struct tender_error *err) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = tender_read_file_at(dirfd, TENDER_RT_HOOKS_FILE, HOOKS_FILE_MAX, &data, &len);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "read %s",
                                              TENDER_RT_HOOKS_FILE);
        return tender_json_parse(data, len, HOOKS_FILE_MAX, TENDER_JSON_MAX_DEPTH_DEFAULT, ret,
                                 err);
}

int tender_rt_hooks_run(const cJSON *hooks, const char *kind, const char *state_json,
                        struct tender_error *err) {
        const cJSON *list = hooks ? cJSON_GetObjectItemCaseSensitive(hooks, kind) : NULL, *h;
        size_t i = 0;
        cJSON_ArrayForEach(h, list) {
                char path[HOOK_PATH_MAX];
                snprintf(path, sizeof(path), "hooks.%s[%zu]", kind, i++);
                int r = run_hook(h, path, state_json, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
