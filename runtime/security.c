/* SPDX-License-Identifier: Apache-2.0 */
#include "security.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "seccomp_filter.h"

#define MAP_TEXT_MAX (TENDER_RT_MAX_IDMAPS * 36)
#define PROC_PATH_MAX 64
#define SYSCTL_PATH_MAX 256
#define CAP_LAST_GUESS 63

static int write_proc(pid_t pid, const char *file, const char *text) {
        char path[PROC_PATH_MAX];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t len = strlen(text);
        ssize_t n = write(fd, text, len);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

static int write_map(pid_t pid, const char *file, const struct tender_rt_idmap *maps, size_t n,
                     struct tender_error *err) {
        char text[MAP_TEXT_MAX];
        size_t len = 0;
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(text + len, sizeof(text) - len, "%u %u %u\n",
                                         maps[i].container_id, maps[i].host_id, maps[i].size);
        int r = write_proc(pid, file, text);
        if (r < 0)
                return tender_error_set_errno(
                        err, TENDER_ERR_RUNTIME, r, "linux.%s: write %s",
                        STREQ(file, "uid_map") ? "uidMappings" : "gidMappings", file);
        return 0;
}

int tender_rt_setup_child(const struct tender_rt_spec *spec, pid_t pid, const char *cgroup_path,
                          struct tender_error *err) {
        int r;
        if (tender_rt_spec_new_namespace(spec, CLONE_NEWUSER) &&
            ((r = write_map(pid, "uid_map", spec->uid_mappings, spec->n_uid_mappings, err)) < 0 ||
             (r = write_map(pid, "gid_map", spec->gid_mappings, spec->n_gid_mappings, err)) < 0))
                return r;
        /* From outside, as host root: inside a user namespace raising a hard limit fails. */
        for (size_t i = 0; i < spec->n_rlimits; i++) {
                const struct tender_rt_rlimit *l = &spec->rlimits[i];
                struct rlimit rl = {l->soft, l->hard};
                if (prlimit(pid, (__rlimit_resource_t) l->resource, &rl, NULL) < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                      "process.rlimits[%zu]: prlimit", i);
        }
        if (spec->has_oom_score_adj) {
                char text[16];
                snprintf(text, sizeof(text), "%d", spec->oom_score_adj);
                if ((r = write_proc(pid, "oom_score_adj", text)) < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                                      "process.oomScoreAdj: write %s", text);
        }
        return tender_rt_cgroup_enter_pid(cgroup_path, pid, err);
}

int tender_rt_write_sysctls(const struct tender_rt_spec *spec, struct tender_error *err) {
        for (size_t i = 0; i < spec->n_sysctls; i++) {
                char path[SYSCTL_PATH_MAX] = "/proc/sys/";
                size_t off = strlen(path);
                const char *key = spec->sysctls[i].key;
                if (strlen(key) + off >= sizeof(path))
                        return tender_error_set(err, TENDER_ERR_RUNTIME, ENAMETOOLONG,
                                                "linux.sysctl.%s: name too long", key);
                for (size_t k = 0; key[k]; k++)
                        path[off + k] = key[k] == '.' ? '/' : key[k];
                path[off + strlen(key)] = '\0';
                _cleanup_close_ int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
                const char *v = spec->sysctls[i].value;
                if (fd < 0 || write(fd, v, strlen(v)) < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                                      "linux.sysctl.%s: write %s", key, path);
        }
        return 0;
}

static int drop_bounding(uint64_t keep) {
        for (int cap = 0; cap <= CAP_LAST_GUESS; cap++) {
                if (keep & (UINT64_C(1) << cap))
                        continue;
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
                        if (errno == EINVAL) /* past the kernel's last capability */
                                break;
                        return -errno;
                }
        }
        return 0;
}

static int set_caps(const struct tender_rt_caps *c) {
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct d[2] = {
                {(uint32_t) c->effective, (uint32_t) c->permitted, (uint32_t) c->inheritable},
                {(uint32_t) (c->effective >> 32), (uint32_t) (c->permitted >> 32),
                 (uint32_t) (c->inheritable >> 32)},
        };
        if (syscall(SYS_capset, &h, d) < 0)
                return -errno;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        for (int cap = 0; cap <= CAP_LAST_GUESS; cap++)
                if ((c->ambient & (UINT64_C(1) << cap)) &&
                    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                        return -errno;
        return 0;
}

static int step_error(struct tender_error *err, int r, const char *what) {
        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "%s", what);
}

int tender_rt_finalize(const struct tender_rt_spec *spec, struct tender_error *err) {
        const struct tender_rt_caps *c = &spec->caps;
        int r;
        /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we have it
         * (the filter then has to allow the few syscalls below, as with runc). */
        if (spec->seccomp && !spec->no_new_privileges &&
            (r = tender_rt_seccomp_load(spec->seccomp)) < 0)
                return step_error(err, r, "linux.seccomp: load filter");
        if ((r = drop_bounding(c->bounding)) < 0)
                return step_error(err, r, "process.capabilities.bounding: drop");
        /* Keep the permitted set across the switch away from uid 0; capset trims it next. */
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return step_error(err, -errno, "keep capabilities");
        if (setgroups(spec->n_gids, spec->gids) < 0)
                return step_error(err, -errno, "process.user.additionalGids: setgroups");
        if (setresgid(spec->gid, spec->gid, spec->gid) < 0)
                return step_error(err, -errno, "process.user.gid: setresgid");
        if (setresuid(spec->uid, spec->uid, spec->uid) < 0)
                return step_error(err, -errno, "process.user.uid: setresuid");
        if ((r = set_caps(c)) < 0)
                return step_error(err, r, "process.capabilities: capset");
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return step_error(err, -errno, "clear keep capabilities");
        if (spec->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return step_error(err, -errno, "process.noNewPrivileges: prctl");
        if (spec->seccomp && spec->no_new_privileges &&
            (r = tender_rt_seccomp_load(spec->seccomp)) < 0)
                return step_error(err, r, "linux.seccomp: load filter");
        return 0;
}
