/* SPDX-License-Identifier: Apache-2.0 */
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "tender/fileio.h"

#define EXIT_FILE_MAX 64
#define PROC_STAT_MAX 4096
#define LOCK_POLL_MS 20

void tender_rt_state_free(struct tender_rt_state *s) {
        if (!s)
                return;
        free(s->id);
        free(s->bundle);
        free(s->rootfs);
        free(s->cgroups_path);
        free(s->created);
        cJSON_Delete(s->annotations);
        free(s);
}

bool tender_rt_id_valid(const char *id) {
        size_t len = strlen(id);
        if (len == 0 || len > TENDER_RT_ID_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = id[i];
                bool alnum =
                        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
                        return false;
        }
        return true;
}

int tender_rt_root_open(const char *root, bool create, struct tender_error *err) {
        if (create) {
                int r = tender_mkdir_p_at(AT_FDCWD, root, 0700);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                                      "create state root %s", root);
        }
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno, "open state root %s",
                                              root);
        return fd;
}

int tender_rt_state_dir_open(int rootfd, const char *id, struct tender_error *err) {
        if (!tender_rt_id_valid(id))
                return tender_error_set(err, TENDER_ERR_RUNTIME, EINVAL,
                                        "invalid container id \"%s\"", id);
        int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return tender_error_set(err, TENDER_ERR_RUNTIME, ENOENT,
                                        "container %s does not exist", id);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "open state of container %s", id);
        return fd;
}

int tender_rt_state_write(int dirfd, const struct tender_rt_state *s) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "id", s->id) ||
            !cJSON_AddStringToObject(o, "bundle", s->bundle) ||
            !cJSON_AddStringToObject(o, "rootfs", s->rootfs ? s->rootfs : "") ||
            !cJSON_AddStringToObject(o, "cgroupsPath", s->cgroups_path) ||
            !cJSON_AddStringToObject(o, "created", s->created ? s->created : "") ||
            !cJSON_AddNumberToObject(o, "pid", s->pid) ||
            !cJSON_AddNumberToObject(o, "pidStart", (double) s->pid_start))
                return -ENOMEM;
        if (s->annotations) {
                cJSON *copy = cJSON_Duplicate(s->annotations, true);
                if (!copy || !cJSON_AddItemToObject(o, "annotations", copy)) {
                        cJSON_Delete(copy);
                        return -ENOMEM;
                }
        }
        _cleanup_free_ char *text = cJSON_PrintUnformatted(o);
        if (!text)
                return -ENOMEM;
        return tender_write_file_atomic_at(dirfd, TENDER_RT_STATE_FILE, text, strlen(text), 0600);
}

int tender_rt_state_read(int dirfd, struct tender_rt_state **ret, struct tender_error *err) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(cJSON_Deletep) cJSON *o = NULL;
        size_t len;
        const char *id, *bundle, *cg, *created = NULL, *rootfs = NULL;
        uint64_t pid = 0, start = 0;
        const cJSON *ann = NULL;

        int r = tender_read_file_at(dirfd, TENDER_RT_STATE_FILE, TENDER_RT_STATE_MAX_SIZE, &data,
                                    &len);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "read %s",
                                              TENDER_RT_STATE_FILE);
        if ((r = tender_json_parse(data, len, TENDER_RT_STATE_MAX_SIZE, 8, &o, err)) < 0)
                return tender_error_prefix(err, "%s", TENDER_RT_STATE_FILE);
        if ((r = tender_json_get_string(o, "", "id", true, &id, err)) < 0 ||
            (r = tender_json_get_string(o, "", "bundle", true, &bundle, err)) < 0 ||
            (r = tender_json_get_string(o, "", "rootfs", false, &rootfs, err)) < 0 ||
            (r = tender_json_get_string(o, "", "cgroupsPath", true, &cg, err)) < 0 ||
            (r = tender_json_get_string(o, "", "created", false, &created, err)) < 0 ||
            (r = tender_json_get_u64(o, "", "pid", true, &pid, err)) < 0 ||
            (r = tender_json_get_u64(o, "", "pidStart", true, &start, err)) < 0 ||
            (r = tender_json_get_object(o, "", "annotations", false, &ann, err)) < 0)
                return tender_error_prefix(err, "%s", TENDER_RT_STATE_FILE);
        if (pid > INT32_MAX)
                return tender_error_set(err, TENDER_ERR_RUNTIME, EINVAL, "%s: bad pid",
                                        TENDER_RT_STATE_FILE);

        _cleanup_(tender_rt_state_freep) struct tender_rt_state *s = calloc(1, sizeof(*s));
        if (!s || !(s->id = strdup(id)) || !(s->bundle = strdup(bundle)) ||
            !(s->rootfs = strdup(rootfs ? rootfs : "")) || !(s->cgroups_path = strdup(cg)) ||
            !(s->created = strdup(created ? created : "")))
                return -ENOMEM;
        if (ann && !(s->annotations = cJSON_Duplicate(ann, true)))
                return -ENOMEM;
        s->pid = (pid_t) pid;
        s->pid_start = start;
        *ret = TAKE_PTR(s);
        return 0;
}

static const char *signal_name(int sig) {
        static char buf[16];
        const char *abbrev = sigabbrev_np(sig);
        if (!abbrev)
                return NULL;
        snprintf(buf, sizeof(buf), "SIG%s", abbrev);
        return buf;
}

int tender_rt_exit_write(int dirfd, int wait_status) {
        char text[EXIT_FILE_MAX];
        if (WIFSIGNALED(wait_status)) {
                const char *name = signal_name(WTERMSIG(wait_status));
                if (name)
                        snprintf(text, sizeof(text), "killed %s\n", name);
                else
                        snprintf(text, sizeof(text), "killed %d\n", WTERMSIG(wait_status));
        } else {
                snprintf(text, sizeof(text), "exited %d\n", WEXITSTATUS(wait_status));
        }
        return tender_write_file_atomic_at(dirfd, TENDER_RT_EXIT_FILE, text, strlen(text), 0600);
}

static int signal_from_name(const char *s) {
        if (strncmp(s, "SIG", 3) == 0)
                s += 3;
        for (int i = 1; i < NSIG; i++) {
                const char *abbrev = sigabbrev_np(i);
                if (abbrev && STREQ(abbrev, s))
                        return i;
        }
        char *end;
        long v = strtol(s, &end, 10);
        return *s && !*end && v > 0 && v < NSIG ? (int) v : -EINVAL;
}

int tender_rt_exit_read(int dirfd, struct tender_rt_exit *ret) {
        _cleanup_free_ char *data = NULL;
        int r = tender_read_file_at(dirfd, TENDER_RT_EXIT_FILE, EXIT_FILE_MAX, &data, NULL);
        if (r == -ENOENT) {
                *ret = (struct tender_rt_exit){0};
                return 0;
        }
        if (r < 0)
                return r;
        data[strcspn(data, "\n")] = '\0';
        struct tender_rt_exit e = {.known = true};
        if (strncmp(data, "exited ", 7) == 0) {
                char *end;
                long v = strtol(data + 7, &end, 10);
                if (*end || v < 0 || v > 255)
                        return -EBADMSG;
                e.status = (int) v;
        } else if (strncmp(data, "killed ", 7) == 0) {
                int sig = signal_from_name(data + 7);
                if (sig < 0)
                        return -EBADMSG;
                e.signal = sig;
                e.status = 128 + sig;
        } else {
                return -EBADMSG;
        }
        *ret = e;
        return 0;
}

int tender_rt_pid_start_time(pid_t pid, uint64_t *ret) {
        char path[64];
        _cleanup_free_ char *data = NULL;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        int r = tender_read_file_at(AT_FDCWD, path, PROC_STAT_MAX, &data, NULL);
        if (r < 0)
                return r;
        /* The command name may hold spaces and parentheses; fields follow the last ')'. */
        char *p = strrchr(data, ')');
        if (!p)
                return -EBADMSG;
        p++;
        /* After ')': field 3 (state) ... field 22 (starttime) is the 20th token. */
        char *save = NULL, *tok = strtok_r(p, " ", &save);
        for (int field = 3; tok && field < 22; field++)
                tok = strtok_r(NULL, " ", &save);
        if (!tok)
                return -EBADMSG;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(tok, &end, 10);
        if (errno || *end)
                return -EBADMSG;
        *ret = v;
        return 0;
}

bool tender_rt_state_alive(const struct tender_rt_state *s) {
        uint64_t start;
        if (s->pid <= 0 || tender_rt_pid_start_time(s->pid, &start) < 0)
                return false;
        if (start != s->pid_start)
                return false;
        /* A zombie init has exited; the monitor is about to record it. */
        char path[64], buf[PROC_STAT_MAX];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) s->pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

enum tender_rt_status tender_rt_state_status(int dirfd, const struct tender_rt_state *s,
                                             struct tender_rt_exit *ret_exit) {
        struct tender_rt_exit e = {0};
        (void) tender_rt_exit_read(dirfd, &e);
        if (ret_exit)
                *ret_exit = e;
        if (e.known || !tender_rt_state_alive(s))
                return TENDER_RT_STOPPED;
        if (faccessat(dirfd, TENDER_RT_FIFO_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return TENDER_RT_CREATED;
        return TENDER_RT_RUNNING;
}

const char *tender_rt_status_name(enum tender_rt_status st) {
        switch (st) {
        case TENDER_RT_CREATED:
                return "created";
        case TENDER_RT_RUNNING:
                return "running";
        default:
                return "stopped";
        }
}

int tender_rt_lock(int dirfd, bool wait_forever, unsigned timeout_ms) {
        _cleanup_close_ int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (wait_forever) {
                /* EINTR reaches the caller, which may forward a signal and call again. */
                if (flock(fd, LOCK_EX) < 0)
                        return -errno;
                return TAKE_FD(fd);
        }
        for (unsigned waited = 0;; waited += LOCK_POLL_MS) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        return TAKE_FD(fd);
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return -errno;
                if (waited >= timeout_ms)
                        return -ETIMEDOUT;
                nanosleep(&(struct timespec){0, LOCK_POLL_MS * 1000000L}, NULL);
        }
}
