/* SPDX-License-Identifier: Apache-2.0 */
#include "bundle.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lock.h"
#include "notify.h"
#include "runtime_cli.h"
#include "tender/json.h"

#define CGROUP_PATH_MAX 512

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

static void build_mounts(cJSON *mounts, const struct tender_release_manifest *m,
                         const struct bundle_paths *paths) {
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
        /* The dir, not the socket: tenderd binds a new socket for every gate. */
        if (m->health_notify)
                add_mount(mounts, NOTIFY_CONTAINER_DIR, "bind", paths->notify_dir,
                          (const char *[]){"rbind", "rw", "nosuid", "nodev", "noexec", NULL});
        for (size_t i = 0; i < m->n_volumes; i++)
                add_mount(mounts, m->volumes[i].path, "bind", paths->volumes[i],
                          (const char *[]){"rbind", "rw", "nosuid", "nodev", NULL});
        /* The app lock (agent/lock.c): a file the app may flock to defer updates. */
        add_mount(mounts, LOCK_APP_MOUNT, "bind", paths->lock_file,
                  (const char *[]){"bind", "rw", "nosuid", "nodev", "noexec", NULL});
}

static cJSON *build_linux(const struct tender_release_manifest *m, const char *cgroup_parent,
                          const char *id) {
        static const char *const ns[] = {"pid", "ipc", "uts", "mount", "network"};
        char cgroup[CGROUP_PATH_MAX];
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
        snprintf(cgroup, sizeof(cgroup), "%s/%s", cgroup_parent, id);
        cJSON_AddStringToObject(l, "cgroupsPath", cgroup);
        return l;
}

cJSON *bundle_build(const struct tender_release_manifest *m, const struct tender_policy *policy,
                    const struct bundle_idmap *idmap, const struct bundle_paths *paths,
                    struct tender_error *err) {
        _cleanup_(cJSON_Deletep) cJSON *root = cJSON_CreateObject();
        char id[CONTAINER_ID_MAX];

        (void) policy;
        (void) idmap;
        if (!root) {
                tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "config.json of %s %s", m->app,
                                 m->version);
                return NULL;
        }
        container_id(m->app, m->version, id);
        cJSON *process = build_process(m, err);
        if (!process)
                return NULL;
        cJSON_AddStringToObject(root, "ociVersion", "1.0.2");
        cJSON_AddItemToObject(root, "process", process);
        cJSON *rootfs = cJSON_AddObjectToObject(root, "root");
        cJSON_AddStringToObject(rootfs, "path", "rootfs");
        cJSON_AddBoolToObject(rootfs, "readonly", m->readonly_rootfs);
        cJSON_AddStringToObject(root, "hostname", m->app);
        build_mounts(cJSON_AddArrayToObject(root, "mounts"), m, paths);
        cJSON_AddItemToObject(root, "linux", build_linux(m, paths->cgroup_parent, id));
        return TAKE_PTR(root);
}
