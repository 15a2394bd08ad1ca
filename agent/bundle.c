/* SPDX-License-Identifier: Apache-2.0 */
#include "bundle.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lock.h"
#include "notify.h"
#include "runtime_cli.h"
#include "tender/json.h"
#include "tender/oci_spec.h"

#define CGROUP_PATH_MAX 512
#define CPU_SHARES_MIN 2
#define CPU_SHARES_MAX 262144

static cJSON *strv_to_json(char *const *v) {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; a && v && v[i]; i++)
                cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
        return a;
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
        cJSON_AddItemToObject(p, "capabilities",
                              tender_oci_capabilities((const char *const *) m->capabilities,
                                                      tender_strv_length(m->capabilities)));
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

#define MOUNT(mounts, d, t, s, ...)                                                                \
        tender_oci_add_mount(mounts, d, t, s, (const char *const[]){__VA_ARGS__, NULL})

static void build_mounts(cJSON *mounts, const struct tender_release_manifest *m,
                         const struct bundle_paths *paths) {
        tender_oci_add_default_mounts(mounts);
        if (m->readonly_rootfs)
                MOUNT(mounts, "/tmp", "tmpfs", "tmpfs", "nosuid", "nodev", "mode=1777");
        /* The dir, not the socket: tenderd binds a new socket for every gate. */
        if (m->health_notify)
                MOUNT(mounts, NOTIFY_CONTAINER_DIR, "bind", paths->notify_dir, "rbind", "rw",
                      "nosuid", "nodev", "noexec");
        for (size_t i = 0; i < m->n_volumes; i++)
                MOUNT(mounts, m->volumes[i].path, "bind", paths->volumes[i], "rbind", "rw",
                      "nosuid", "nodev");
        /* The app lock (agent/lock.c): a file the app may flock to defer updates. */
        MOUNT(mounts, LOCK_APP_MOUNT, "bind", paths->lock_file, "bind", "rw", "nosuid", "nodev",
              "noexec");
}

/* cgroup v2's cpu.weight [1, 10000] as v1 shares: the smallest that runtimes map back to it
 * (runc and crun: weight = 1 + (shares - 2) * 9999 / 262142). */
static uint64_t weight_to_shares(uint64_t weight) {
        uint64_t shares = CPU_SHARES_MIN + ((weight - 1) * 262142 + 9998) / 9999;
        return shares > CPU_SHARES_MAX ? CPU_SHARES_MAX : shares;
}

static void add_u64(cJSON *o, const char *key, uint64_t v) {
        if (v)
                cJSON_AddNumberToObject(o, key, (double) v);
}

static void build_cpu(cJSON *res, const struct tender_resources *r) {
        if (!r->cpu_millis && !r->cpu_quota_us && !r->cpu_weight && !r->cpuset)
                return;
        cJSON *cpu = cJSON_AddObjectToObject(res, "cpu");
        if (r->cpu_weight)
                add_u64(cpu, "shares", weight_to_shares(r->cpu_weight));
        if (r->cpu_millis) {
                add_u64(cpu, "quota", r->cpu_millis * TENDER_CPU_PERIOD_DEFAULT_US / 1000);
                add_u64(cpu, "period", TENDER_CPU_PERIOD_DEFAULT_US);
        } else if (r->cpu_quota_us) {
                add_u64(cpu, "quota", r->cpu_quota_us);
                add_u64(cpu, "period",
                        r->cpu_period_us ? r->cpu_period_us : TENDER_CPU_PERIOD_DEFAULT_US);
        }
        if (r->cpuset)
                cJSON_AddStringToObject(cpu, "cpus", r->cpuset);
}

/* Without a user namespace, container root could mknod any device (CAP_MKNOD): only the
 * runtime's standard nodes and the devices the release was allowed pass the devices cgroup.
 * In a user namespace the kernel refuses mknod anyway; rules are written only for the
 * release's devices then (each rule costs a BPF device program on pure cgroup v2). */
static void build_devices(cJSON *l, cJSON *res, const struct tender_release_manifest *m,
                          const struct bundle_idmap *idmap, const struct bundle_paths *paths) {
        if (idmap && m->n_devices == 0)
                return;
        cJSON *rules = cJSON_AddArrayToObject(res, "devices");
        cJSON *deny = cJSON_CreateObject();
        cJSON_AddBoolToObject(deny, "allow", false);
        cJSON_AddStringToObject(deny, "access", "rwm");
        cJSON_AddItemToArray(rules, deny);
        if (m->n_devices == 0)
                return;
        cJSON *devices = cJSON_AddArrayToObject(l, "devices");
        for (size_t i = 0; i < m->n_devices; i++) {
                const struct bundle_device *d = &paths->devices[i];
                char type[2] = {d->type, '\0'};
                cJSON *rule = cJSON_CreateObject();
                cJSON_AddBoolToObject(rule, "allow", true);
                cJSON_AddStringToObject(rule, "type", type);
                cJSON_AddNumberToObject(rule, "major", d->major);
                cJSON_AddNumberToObject(rule, "minor", d->minor);
                cJSON_AddStringToObject(rule, "access", m->devices[i].access);
                cJSON_AddItemToArray(rules, rule);
                cJSON *node = cJSON_CreateObject();
                cJSON_AddStringToObject(node, "path", m->devices[i].path);
                cJSON_AddStringToObject(node, "type", type);
                cJSON_AddNumberToObject(node, "major", d->major);
                cJSON_AddNumberToObject(node, "minor", d->minor);
                cJSON_AddNumberToObject(node, "fileMode", d->mode);
                cJSON_AddNumberToObject(node, "uid", 0);
                cJSON_AddNumberToObject(node, "gid", 0);
                cJSON_AddItemToArray(devices, node);
        }
}

static void build_resources(cJSON *l, const struct tender_release_manifest *m,
                            const struct tender_resources *r, const struct bundle_idmap *idmap,
                            const struct bundle_paths *paths) {
        cJSON *res = cJSON_AddObjectToObject(l, "resources");
        if (r->memory || r->memory_reservation) {
                cJSON *mem = cJSON_AddObjectToObject(res, "memory");
                add_u64(mem, "limit", r->memory);
                add_u64(mem, "reservation", r->memory_reservation);
                add_u64(mem, "swap", r->memory_swap);
        }
        build_cpu(res, r);
        if (r->pids)
                cJSON_AddNumberToObject(cJSON_AddObjectToObject(res, "pids"), "limit",
                                        (double) r->pids);
        if (r->io_weight)
                cJSON_AddNumberToObject(cJSON_AddObjectToObject(res, "blockIO"), "weight",
                                        (double) r->io_weight);
        build_devices(l, res, m, idmap, paths);
}

static void add_namespace(cJSON *list, const char *type) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", type);
        cJSON_AddItemToArray(list, o);
}

/* The release's seccomp filter: the default allowlist, its own profile, or none. */
static int build_seccomp(cJSON *l, const struct tender_release_manifest *m,
                         struct tender_error *err) {
        if (m->seccomp == TENDER_SECCOMP_UNCONFINED)
                return 0;
        cJSON *s = m->seccomp == TENDER_SECCOMP_CUSTOM ? cJSON_Parse(m->seccomp_profile)
                                                       : tender_oci_seccomp();
        if (!s)
                return tender_error_set(err, TENDER_ERR_RUNTIME, EINVAL,
                                        "%s %s: deployment.privileges.seccomp is not JSON", m->app,
                                        m->version);
        cJSON_AddItemToObject(l, "seccomp", s);
        return 0;
}

static cJSON *build_linux(const struct tender_release_manifest *m, const struct tender_resources *r,
                          const struct bundle_idmap *idmap, const struct bundle_paths *paths,
                          const char *id, struct tender_error *err) {
        static const char *const ns[] = {"pid", "ipc", "uts", "mount", "cgroup"};
        char cgroup[CGROUP_PATH_MAX];
        _cleanup_(cJSON_Deletep) cJSON *l = cJSON_CreateObject();
        cJSON *a = cJSON_AddArrayToObject(l, "namespaces");
        for (size_t i = 0; i < ELEMENTSOF(ns); i++)
                add_namespace(a, ns[i]);
        /* Its own network namespace has only lo: no traffic to other apps nor the host. */
        if (m->network != TENDER_NETWORK_HOST)
                add_namespace(a, "network");
        if (idmap) {
                add_namespace(a, "user");
                cJSON_AddItemToObject(l, "uidMappings",
                                      tender_oci_idmap(idmap->host_uid, idmap->count));
                cJSON_AddItemToObject(l, "gidMappings",
                                      tender_oci_idmap(idmap->host_gid, idmap->count));
        }
        build_resources(l, m, r, idmap, paths);
        snprintf(cgroup, sizeof(cgroup), "%s/%s", paths->cgroup_parent, id);
        cJSON_AddStringToObject(l, "cgroupsPath", cgroup);
        cJSON_AddItemToObject(l, "maskedPaths", tender_oci_masked_paths());
        cJSON_AddItemToObject(l, "readonlyPaths", tender_oci_readonly_paths());
        if (build_seccomp(l, m, err) < 0)
                return NULL;
        return TAKE_PTR(l);
}

/* In a user namespace, process.user must be one of the app's ids (docs/security.md, "User
 * namespaces"): the runtime could not switch to it otherwise. */
static int check_user_mapped(const cJSON *root, const struct bundle_idmap *idmap,
                             const struct tender_release_manifest *m, struct tender_error *err) {
        const cJSON *user = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(root, "process"), "user");
        const char *const ids[] = {"uid", "gid"};
        for (size_t i = 0; idmap && i < ELEMENTSOF(ids); i++) {
                double v = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(user, ids[i]));
                if (v >= idmap->count)
                        return tender_error_set(err, TENDER_ERR_RUNTIME, ERANGE,
                                                "%s %s: image.config.user %s %.0f is outside the "
                                                "app's %u ids (apps.idRangeSize)",
                                                m->app, m->version, ids[i], v, idmap->count);
        }
        return 0;
}

cJSON *bundle_build(const struct tender_release_manifest *m, const struct tender_policy *policy,
                    const struct bundle_idmap *idmap, const struct bundle_paths *paths,
                    struct tender_error *err) {
        _cleanup_(cJSON_Deletep) cJSON *root = cJSON_CreateObject();
        _cleanup_(tender_resources_done) struct tender_resources res = {0};
        struct tender_policy builtin;
        char id[CONTAINER_ID_MAX];

        if (!policy) {
                tender_policy_init(&builtin); /* owns nothing */
                policy = &builtin;
        }
        if (!root || tender_policy_resources(policy, m, &res) < 0) {
                tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "config.json of %s %s", m->app,
                                 m->version);
                return NULL;
        }
        container_id(m->app, m->version, id);
        cJSON *process = build_process(m, err);
        if (!process)
                return NULL;
        cJSON_AddStringToObject(root, "ociVersion", TENDER_OCI_VERSION);
        cJSON_AddItemToObject(root, "process", process);
        cJSON *rootfs = cJSON_AddObjectToObject(root, "root");
        cJSON_AddStringToObject(rootfs, "path", "rootfs");
        cJSON_AddBoolToObject(rootfs, "readonly", m->readonly_rootfs);
        cJSON_AddStringToObject(root, "hostname", m->app);
        build_mounts(cJSON_AddArrayToObject(root, "mounts"), m, paths);
        cJSON *l = build_linux(m, &res, idmap, paths, id, err);
        if (!l)
                return NULL;
        cJSON_AddItemToObject(root, "linux", l);
        if (check_user_mapped(root, idmap, m, err) < 0)
                return NULL;
        return TAKE_PTR(root);
}
