/* SPDX-License-Identifier: Apache-2.0 */
/* `exec` (a command in a running container's namespaces and cgroup) and `list`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "container.h"
#include "ops.h"
#include "security.h"
#include "spec.h"
#include "statedir.h"
#include "tender/fileio.h"

#define EXEC_ENV_MAX 4096

/* Joined in this order: the user namespace first, so that we hold capabilities over the
 * others; the mount namespace last, since it changes our root. */
static const struct {
        const char *name;
        int type;
} ns_order[] = {
        {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
        {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP},
        {"mnt", CLONE_NEWNS},
};

struct exec_ctx {
        struct tender_rt_spec *spec;
        const struct tender_rt_state *state;
        int ns_fds[ELEMENTSOF(ns_order)]; /* -1: same namespace as ours, nothing to join */
        int root_fd; /* the init's root, when it shares our mount namespace (chroot), or -1 */
        int err_fd;  /* write end: a tender_rt_sync_msg on failure */
        int pid_fd;  /* write end: the command's pid, with detach */
        bool detach;
};

static void close_ns_fds(struct exec_ctx *c) {
        for (size_t i = 0; i < ELEMENTSOF(ns_order); i++)
                if (c->ns_fds[i] >= 0)
                        close(c->ns_fds[i]);
        if (c->root_fd >= 0)
                close(c->root_fd);
}

static int open_ns_fds(struct exec_ctx *c, pid_t pid, struct tender_error *err) {
        for (size_t i = 0; i < ELEMENTSOF(ns_order); i++) {
                char path[64], self[64];
                struct stat a, b;
                snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int) pid, ns_order[i].name);
                snprintf(self, sizeof(self), "/proc/self/ns/%s", ns_order[i].name);
                c->ns_fds[i] = -1;
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "open %s",
                                                      path);
                if (fstat(fd, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino &&
                    a.st_dev == b.st_dev) {
                        close(fd);
                        continue;
                }
                c->ns_fds[i] = fd;
        }
        /* A container in our mount namespace was chroot'ed (mount.c): so is the command. */
        char root[64];
        snprintf(root, sizeof(root), "/proc/%d/root", (int) pid);
        if (c->ns_fds[ELEMENTSOF(ns_order) - 1] < 0 &&
            (c->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "open %s", root);
        return 0;
}

static _Noreturn void exec_fail(const struct exec_ctx *c, const struct tender_error *e, int code) {
        tender_rt_sync_send(c->err_fd, TENDER_RT_SYNC_ERROR, e->errnum, e->message);
        _exit(code);
}

/* The process that runs the command, inside the pid namespace. */
static _Noreturn void exec_command(struct exec_ctx *c) {
        struct tender_error e = {0};
        char program[PATH_MAX];
        if (chdir(c->spec->cwd) < 0) {
                tender_error_set_errno(&e, TENDER_ERR_RUNTIME, errno, "chdir to %s", c->spec->cwd);
                exec_fail(c, &e, 1);
        }
        if (tender_rt_find_program(c->spec, program, sizeof(program), &e) < 0 ||
            tender_rt_finalize(c->spec, &e) < 0)
                exec_fail(c, &e, 127);
        execve(program, c->spec->args, c->spec->env);
        tender_error_set_errno(&e, TENDER_ERR_RUNTIME, errno, "exec %s", program);
        exec_fail(c, &e, 127);
}

static int status_code(int st) {
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Joins rlimits, cgroup and namespaces, then forks the command (a pid namespace applies to
 * children only) and, unless detached, passes its exit status on as ours. */
static _Noreturn void exec_joiner(struct exec_ctx *c) {
        struct tender_error e = {0};
        const struct tender_rt_spec *spec = c->spec;
        for (size_t i = 0; i < spec->n_rlimits; i++) {
                struct rlimit rl = {spec->rlimits[i].soft, spec->rlimits[i].hard};
                if (setrlimit((__rlimit_resource_t) spec->rlimits[i].resource, &rl) < 0) {
                        tender_error_set_errno(&e, TENDER_ERR_RUNTIME, errno,
                                               "process.rlimits[%zu]", i);
                        exec_fail(c, &e, 1);
                }
        }
        if (tender_rt_cgroup_enter(c->state->cgroups_path, &e) < 0)
                exec_fail(c, &e, 1);
        for (size_t i = 0; i < ELEMENTSOF(ns_order); i++) {
                if (c->ns_fds[i] < 0)
                        continue;
                if (setns(c->ns_fds[i], ns_order[i].type) < 0) {
                        tender_error_set_errno(&e, TENDER_ERR_RUNTIME, errno, "join %s namespace",
                                               ns_order[i].name);
                        exec_fail(c, &e, 1);
                }
                if (ns_order[i].type == CLONE_NEWUSER && tender_rt_become_ns_root(&e) < 0)
                        exec_fail(c, &e, 1);
        }
        if (c->root_fd >= 0 && (fchdir(c->root_fd) < 0 || chroot(".") < 0)) {
                tender_error_set_errno(&e, TENDER_ERR_RUNTIME, errno, "chroot to the container");
                exec_fail(c, &e, 1);
        }
        close_ns_fds(c);
        pid_t pid = fork();
        if (pid < 0) {
                tender_error_set_errno(&e, TENDER_ERR_RUNTIME, errno, "fork");
                exec_fail(c, &e, 1);
        }
        if (pid == 0)
                exec_command(c);
        close(c->err_fd);
        if (c->detach) {
                /* For --pid-file; the command keeps the caller's stdio. */
                dprintf(c->pid_fd, "%d\n", (int) pid);
                _exit(0);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        _exit(1);
        _exit(status_code(st));
}

static int set_args(struct tender_rt_spec *spec, const struct tender_rt_exec_opts *o) {
        size_t n = tender_strv_length(o->args), extra = tender_strv_length(o->extra_env);
        size_t n_env = tender_strv_length(spec->env);
        if (n == 0 || n > TENDER_RT_MAX_ARGS || extra > EXEC_ENV_MAX)
                return -E2BIG;
        char **args = calloc(n + 1, sizeof(char *));
        char **env = calloc(n_env + extra + 1, sizeof(char *));
        if (!args || !env) {
                free(args);
                free(env);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                args[i] = strdup(o->args[i]);
        for (size_t i = 0; i < n_env; i++)
                env[i] = strdup(spec->env[i]);
        for (size_t i = 0; i < extra; i++)
                env[n_env + i] = strdup(o->extra_env[i]);
        tender_strv_free(spec->args);
        tender_strv_free(spec->env);
        spec->args = args;
        spec->env = env;
        for (size_t i = 0; i < n; i++)
                if (!args[i])
                        return -ENOMEM;
        for (size_t i = 0; i < n_env + extra; i++)
                if (!env[i])
                        return -ENOMEM;
        return 0;
}

static int read_result(int fd, struct tender_error *err) {
        struct tender_rt_sync_msg msg;
        size_t got = 0;
        while (got < sizeof(msg)) {
                ssize_t n = read(fd, (char *) &msg + got, sizeof(msg) - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t) n;
        }
        if (got == 0)
                return 0; /* closed by execve: the command runs */
        if (got < sizeof(msg))
                return tender_error_set(err, TENDER_ERR_RUNTIME, EIO, "exec: short message");
        msg.message[sizeof(msg.message) - 1] = '\0';
        return tender_error_set(err, TENDER_ERR_RUNTIME, msg.value ? msg.value : EIO, "%s",
                                msg.message);
}

int tender_rt_exec(const struct tender_rt_global *g, const struct tender_rt_exec_opts *o,
                   int *ret_status, struct tender_error *err) {
        _cleanup_(tender_rt_state_freep) struct tender_rt_state *s = NULL;
        _cleanup_(tender_rt_spec_freep) struct tender_rt_spec *spec = NULL;
        _cleanup_close_ int dirfd = -1;
        int r = tender_rt_open_container(g, o->id, &dirfd, &s, err);
        if (r < 0)
                return r;
        if (tender_rt_state_status(dirfd, s, NULL) != TENDER_RT_RUNNING)
                return tender_error_set(err, TENDER_ERR_RUNTIME, EINVAL,
                                        "container %s is not running", o->id);
        if ((r = tender_rt_spec_load(s->bundle, &spec, err)) < 0)
                return tender_error_prefix(err, "container %s", o->id);
        if ((r = set_args(spec, o)) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "exec arguments");
        if (o->cwd)
                spec->cwd = o->cwd;
        struct exec_ctx c = {.spec = spec, .state = s, .detach = o->detach, .root_fd = -1};
        r = open_ns_fds(&c, s->pid, err);
        /* The fds name the init we recorded only if it is still that process. */
        if (r >= 0 && !tender_rt_state_alive(s))
                r = tender_error_set(err, TENDER_ERR_RUNTIME, ESRCH, "container %s is not running",
                                     o->id);
        int p[2] = {-1, -1};
        if (r >= 0 && pipe2(p, O_CLOEXEC) < 0)
                r = tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "pipe");
        if (r < 0) {
                close_ns_fds(&c);
                return r;
        }
        int out[2] = {-1, -1};
        if (o->detach && pipe2(out, O_CLOEXEC) < 0) {
                close_ns_fds(&c);
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "pipe");
        }
        c.err_fd = p[1];
        c.pid_fd = out[1];
        fflush(stdout);
        pid_t joiner = fork();
        if (joiner == 0) {
                close(p[0]);
                exec_joiner(&c);
        }
        close_ns_fds(&c);
        close(p[1]);
        if (out[1] >= 0)
                close(out[1]);
        _cleanup_close_ int rd = p[0], out_rd = out[0];
        if (joiner < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "fork");
        r = read_result(rd, err);
        int st = 0;
        while (waitpid(joiner, &st, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        if (o->detach) {
                char text[32] = "";
                ssize_t n = out_rd >= 0 ? read(out_rd, text, sizeof(text) - 1) : -1;
                int pid = n > 0 ? atoi(text) : 0;
                if (o->pid_file && pid > 0) {
                        snprintf(text, sizeof(text), "%d", pid);
                        r = tender_write_file_atomic_at(AT_FDCWD, o->pid_file, text, strlen(text),
                                                        0644);
                        if (r < 0)
                                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                                              "write pid file %s", o->pid_file);
                }
                *ret_status = 0;
                return 0;
        }
        *ret_status = status_code(st);
        return 0;
}

static int list_one(int rootfd, const char *id, bool quiet, cJSON *array) {
        _cleanup_close_ int dirfd = tender_rt_state_dir_open(rootfd, id, NULL);
        _cleanup_(tender_rt_state_freep) struct tender_rt_state *s = NULL;
        if (dirfd < 0 || tender_rt_state_read(dirfd, &s, NULL) < 0)
                return 0; /* being created or deleted right now */
        enum tender_rt_status st = tender_rt_state_status(dirfd, s, NULL);
        int pid = st == TENDER_RT_STOPPED ? 0 : (int) s->pid;
        if (quiet) {
                printf("%s\n", s->id);
                return 0;
        }
        if (!array) {
                char owner[64];
                tender_rt_owner_name(dirfd, owner, sizeof(owner));
                printf("%-24s %-8d %-10s %-40s %-32s %s\n", s->id, pid, tender_rt_status_name(st),
                       s->bundle, s->created, owner);
                return 0;
        }
        /* Each entry is the container's state, as with runc. */
        cJSON *o = NULL;
        if (tender_rt_state_object(dirfd, s, &o) < 0 || !cJSON_AddItemToArray(array, o)) {
                cJSON_Delete(o);
                return -ENOMEM;
        }
        return 0;
}

int tender_rt_list(const struct tender_rt_global *g, bool quiet, bool json,
                   struct tender_error *err) {
        struct tender_error ignored = {0};
        _cleanup_close_ int rootfd = tender_rt_root_open(g->root, false, &ignored);
        _cleanup_(cJSON_Deletep) cJSON *array = json ? cJSON_CreateArray() : NULL;
        if (json && !array)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        if (!quiet && !json)
                printf("%-24s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE",
                       "CREATED", "OWNER");
        int fd = rootfd >= 0 ? openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (fd >= 0 && !d)
                close(fd);
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (tender_rt_id_valid(de->d_name) &&
                    list_one(rootfd, de->d_name, quiet, array) < 0) {
                        closedir(d);
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
                }
        if (d)
                closedir(d);
        if (json) {
                _cleanup_free_ char *text = cJSON_PrintUnformatted(array);
                if (!text)
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
                puts(text);
        }
        return 0;
}
