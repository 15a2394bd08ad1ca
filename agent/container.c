/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A release's container from start to stop: the host paths its bundle binds, config.json
 * (agent/bundle.c builds it), the rootfs overlay (agent/overlay.c) and the runtime's CLI
 * (agent/runtime_cli.c).
 */
#include "container.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bundle.h"
#include "lock.h"
#include "notify.h"
#include "overlay.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/log.h"
#include "userns.h"

#define CGROUP_PARENT_MAX 256

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

static void free_volumes(char **v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

/* The host paths of m's bundle: the notify dir, the volumes and the app lock, made if missing. */
static int make_paths(struct tender_store *store, const struct tender_release_manifest *m,
                      const char *dir, char **ret_notify, char ***ret_volumes, char **ret_lock,
                      struct tender_error *err) {
        int r;
        if (m->health_notify) {
                r = notify_make_dir(store, m->app, m->version);
                if (r < 0 || asprintf(ret_notify, "%s/%s", dir, NOTIFY_DIR) < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r < 0 ? r : ENOMEM,
                                                      "notify dir of %s %s", m->app, m->version);
                /* The app lock's mount point lies in the notify dir (both under /run/tender),
                 * which stays host root's: made here, as the app's root in its user namespace
                 * could not. */
                _cleanup_free_ char *point = NULL;
                _cleanup_close_ int pfd = -1;
                if (asprintf(&point, "%s/%s", *ret_notify, strrchr(LOCK_APP_MOUNT, '/') + 1) < 0 ||
                    (pfd = open(point, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
                        return tender_error_set_errno(
                                err, TENDER_ERR_SYSTEM, point ? errno : ENOMEM,
                                "lock mount point of %s %s", m->app, m->version);
        }
        *ret_volumes = calloc(m->n_volumes + 1, sizeof(char *));
        if (!*ret_volumes)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_volumes; i++) {
                r = tender_store_volume_path(store, m->app, m->volumes[i].name, &(*ret_volumes)[i]);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                                      "create volume %s of %s", m->volumes[i].name,
                                                      m->app);
        }
        r = lock_app_path(tender_store_root_fd(store), tender_store_root(store), m->app, ret_lock);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "create the lock file of %s", m->app);
        return 0;
}

/* The host's device nodes the release asks for (the policy allowed them). */
static int stat_devices(const struct tender_release_manifest *m, struct bundle_device **ret,
                        struct tender_error *err) {
        *ret = calloc(m->n_devices + 1, sizeof(**ret));
        if (!*ret)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_devices; i++) {
                struct stat st;
                const char *path = m->devices[i].path;
                if (stat(path, &st) < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                                      "device %s of %s %s", path, m->app,
                                                      m->version);
                if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENODEV,
                                                "device %s of %s %s: not a device node", path,
                                                m->app, m->version);
                (*ret)[i] = (struct bundle_device){.type = S_ISCHR(st.st_mode) ? 'c' : 'b',
                                                   .major = major(st.st_rdev),
                                                   .minor = minor(st.st_rdev),
                                                   .mode = st.st_mode & 07777};
        }
        return 0;
}

/* config.json with the app's user namespace u (prepared by userns_app_prepare). */
static int write_config(struct tender_store *store, const struct tender_release_manifest *m,
                        const struct tender_policy *policy, const struct userns_app *u,
                        struct tender_error *err) {
        _cleanup_free_ char *json = NULL, *dir = NULL, *notify = NULL, *lock = NULL;
        _cleanup_free_ struct bundle_device *devices = NULL;
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        char **volumes = NULL;
        int r;

        r = tender_store_release_path(store, m->app, m->version, &dir);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "release path");
        r = stat_devices(m, &devices, err);
        if (r >= 0)
                r = make_paths(store, m, dir, &notify, &volumes, &lock, err);
        if (r >= 0)
                r = userns_grant_paths(store, m->app, m->version, u, volumes, m->n_volumes, lock,
                                       err);
        if (r >= 0) {
                struct bundle_paths paths = {.notify_dir = notify,
                                             .lock_file = lock,
                                             .volumes = (const char *const *) volumes,
                                             .cgroup_parent = cgroup_parent(),
                                             .devices = devices};
                root = bundle_build(m, policy, u->enabled ? &u->idmap : NULL, &paths, err);
                r = root ? 0 : -EINVAL;
        }
        free_volumes(volumes, m->n_volumes);
        if (r < 0)
                return r;
        json = cJSON_Print(root);
        if (!json)
                return -ENOMEM;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open %s", dir);
        r = tender_write_file_atomic_at(fd, "bundle/config.json", json, strlen(json), 0644);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "write %s/bundle/config.json", dir);
        return 0;
}

int container_write_config(struct tender_store *store, const struct tender_release_manifest *m,
                           const struct tender_policy *policy, struct tender_error *err) {
        struct userns_app u;
        int r = userns_app_prepare(store, m->app, &u, err);
        return r < 0 ? r : write_config(store, m, policy, &u, err);
}

/* Whether dir/bundle/config.json maps ids as u says (a release written before a migration or
 * a change of mode does not). */
static bool config_idmap_matches(const char *dir, const struct userns_app *u) {
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        _cleanup_free_ char *data = NULL, *path = NULL;
        size_t len;
        if (asprintf(&path, "%s/bundle/config.json", dir) < 0 ||
            tender_read_file_at(AT_FDCWD, path, RUNTIME_OUTPUT_MAX, &data, &len) < 0 ||
            tender_json_parse(data, len, RUNTIME_OUTPUT_MAX, TENDER_JSON_MAX_DEPTH_DEFAULT, &root,
                              NULL) < 0)
                return false;
        const cJSON *map = cJSON_GetArrayItem(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "linux"),
                                                 "uidMappings"),
                0);
        if (!u->enabled)
                return map == NULL;
        return map &&
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(map, "hostID")) ==
                       u->idmap.host_uid &&
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(map, "size")) ==
                       u->idmap.count;
}

int container_start(const struct runtime *rt, struct tender_store *store,
                    const struct tender_release_manifest *m, const struct tender_policy *policy,
                    struct tender_error *err) {
        _cleanup_free_ char *dir = NULL;
        char id[CONTAINER_ID_MAX], bundle[PATH_MAX];
        struct container_state st;
        struct userns_app u;
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
                r = runtime_delete(rt, id, err);
                if (r < 0)
                        return r;
        }
        /* The user namespace follows the mode this tenderd runs in: a config.json written for
         * another one (before a migration) is written again. */
        r = userns_app_prepare(store, m->app, &u, err);
        if (r >= 0 && !config_idmap_matches(dir, &u))
                r = write_config(store, m, policy, &u, err);
        else if (r >= 0)
                r = userns_grant_paths(store, m->app, m->version, &u, NULL, 0, NULL, err);
        if (r < 0)
                return r;
        r = overlay_mount(store, m, dir, &u, err);
        if (r < 0)
                return r;
        snprintf(bundle, sizeof(bundle), "%s/bundle", dir);
        r = runtime_create(rt, bundle, id, err);
        if (r < 0) {
                overlay_umount(store, m->app, m->version);
                return r;
        }
        return runtime_start(rt, id, err);
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
                if (runtime_kill(rt, id, "TERM", NULL) >= 0 &&
                    !container_wait_stopped(rt, id, timeout_sec * 1000))
                        log_info("Container %s did not stop within %llu s, killing it", id,
                                 (unsigned long long) timeout_sec);
                if (!container_wait_stopped(rt, id, 0)) {
                        runtime_kill(rt, id, "KILL", NULL);
                        container_wait_stopped(rt, id, 5000);
                }
        }
        if (st.status != CONTAINER_ABSENT) {
                r = runtime_delete(rt, id, err);
                if (r < 0)
                        return r;
        }
        r = overlay_umount(store, app, version);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "unmount rootfs of %s",
                                              id);
        return 0;
}
