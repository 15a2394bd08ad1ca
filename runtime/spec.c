/* SPDX-License-Identifier: Apache-2.0 */
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "hooks.h"
#include "seccomp_filter.h"
#include "tender/fileio.h"

#define PATH_NAME_MAX 64

static const struct {
        const char *name;
        int type;
} namespace_types[] = {
        {"pid", CLONE_NEWPID},   {"network", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC},
        {"uts", CLONE_NEWUTS},   {"mount", CLONE_NEWNS},    {"cgroup", CLONE_NEWCGROUP},
        {"user", CLONE_NEWUSER},
};

static const struct {
        const char *name;
        bool clear;
        unsigned long flag;
} mount_flags[] = {
        {"ro", false, MS_RDONLY},
        {"rw", true, MS_RDONLY},
        {"nosuid", false, MS_NOSUID},
        {"suid", true, MS_NOSUID},
        {"nodev", false, MS_NODEV},
        {"dev", true, MS_NODEV},
        {"noexec", false, MS_NOEXEC},
        {"exec", true, MS_NOEXEC},
        {"sync", false, MS_SYNCHRONOUS},
        {"async", true, MS_SYNCHRONOUS},
        {"dirsync", false, MS_DIRSYNC},
        {"noatime", false, MS_NOATIME},
        {"atime", true, MS_NOATIME},
        {"nodiratime", false, MS_NODIRATIME},
        {"diratime", true, MS_NODIRATIME},
        {"relatime", false, MS_RELATIME},
        {"norelatime", true, MS_RELATIME},
        {"strictatime", false, MS_STRICTATIME},
        {"nostrictatime", true, MS_STRICTATIME},
        {"bind", false, MS_BIND},
        {"rbind", false, MS_BIND | MS_REC},
};

static const struct {
        const char *name;
        unsigned long flag;
} propagation_flags[] = {
        {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
        {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
        {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int add_name(cJSON *array, const char *name) {
        return cJSON_AddItemToArray(array, cJSON_CreateString(name)) ? 0 : -ENOMEM;
}

int tender_rt_spec_features(cJSON *root, cJSON *linux_) {
        cJSON *opts = cJSON_AddArrayToObject(root, "mountOptions"),
              *ns = cJSON_AddArrayToObject(linux_, "namespaces");
        if (!opts || !ns)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(mount_flags); i++)
                if (add_name(opts, mount_flags[i].name) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(propagation_flags); i++)
                if (add_name(opts, propagation_flags[i].name) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(namespace_types); i++)
                if (add_name(ns, namespace_types[i].name) < 0)
                        return -ENOMEM;
        return 0;
}

void tender_rt_spec_free(struct tender_rt_spec *spec) {
        if (!spec)
                return;
        for (size_t i = 0; i < spec->n_mounts; i++)
                free(spec->mounts[i].data);
        free(spec->mounts);
        free(spec->gids);
        free(spec->devices);
        free(spec->device_rules);
        free(spec->sysctls);
        tender_rt_seccomp_free(spec->seccomp);
        tender_strv_free(spec->args);
        tender_strv_free(spec->env);
        tender_strv_free(spec->masked_paths);
        tender_strv_free(spec->readonly_paths);
        free(spec->bundle);
        free(spec->rootfs);
        cJSON_Delete(spec->json);
        free(spec);
}

bool tender_rt_spec_new_namespace(const struct tender_rt_spec *spec, int type) {
        const struct tender_rt_namespace *ns = tender_rt_spec_namespace(spec, type);
        return ns && !ns->path;
}

const struct tender_rt_namespace *tender_rt_spec_namespace(const struct tender_rt_spec *spec,
                                                           int type) {
        for (size_t i = 0; i < spec->n_namespaces; i++)
                if (spec->namespaces[i].type == type)
                        return &spec->namespaces[i];
        return NULL;
}

/* Integer member that may be -1 for "unlimited" (OCI resources are int64). */
static int get_limit(const cJSON *obj, const char *path, const char *key, int64_t *ret,
                     struct tender_error *err) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
        if (!item)
                return 0;
        if (cJSON_IsNumber(item) && item->valuedouble == -1) {
                *ret = -1;
                return 0;
        }
        uint64_t v;
        int r = tender_json_get_u64(obj, path, key, true, &v, err);
        if (r < 0)
                return r;
        if (v > INT64_MAX)
                return config_error(err, "%s.%s: out of range", path, key);
        *ret = (int64_t) v;
        return 0;
}

static int parse_user(struct tender_rt_spec *spec, const cJSON *process, struct tender_error *err) {
        const cJSON *user = NULL, *gids = NULL;
        uint64_t uid = 0, gid = 0;
        int r = tender_json_get_object(process, "process", "user", false, &user, err);
        if (r < 0 || !user)
                return r;
        if ((r = tender_json_get_u64(user, "process.user", "uid", false, &uid, err)) < 0 ||
            (r = tender_json_get_u64(user, "process.user", "gid", false, &gid, err)) < 0 ||
            (r = tender_json_get_array(user, "process.user", "additionalGids", false, &gids, err)) <
                    0)
                return r;
        if (uid >= UINT32_MAX)
                return config_error(err, "process.user.uid: out of range");
        if (gid >= UINT32_MAX)
                return config_error(err, "process.user.gid: out of range");
        spec->uid = (uint32_t) uid;
        spec->gid = (uint32_t) gid;
        if (!gids)
                return 0;
        int n = cJSON_GetArraySize(gids);
        if (n > TENDER_RT_MAX_GIDS)
                return config_error(err, "process.user.additionalGids: more than %d entries",
                                    TENDER_RT_MAX_GIDS);
        spec->gids = calloc((size_t) n + 1, sizeof(gid_t));
        if (!spec->gids)
                return -ENOMEM;
        const cJSON *g;
        cJSON_ArrayForEach(g, gids) {
                if (!cJSON_IsNumber(g) || g->valuedouble < 0 || g->valuedouble >= UINT32_MAX ||
                    g->valuedouble != (double) (uint32_t) g->valuedouble)
                        return config_error(err, "process.user.additionalGids[%zu]: not a gid",
                                            spec->n_gids);
                spec->gids[spec->n_gids++] = (gid_t) g->valuedouble;
        }
        return 0;
}

static int parse_process(struct tender_rt_spec *spec, struct tender_error *err) {
        const cJSON *process = NULL;
        int r = tender_json_get_object(spec->json, "", "process", true, &process, err);
        if (r < 0)
                return r;
        if ((r = tender_json_get_bool(process, "process", "terminal", false, &spec->terminal,
                                      err)) < 0)
                return r;
        if ((r = tender_json_get_strv(process, "process", "args", true, TENDER_RT_MAX_ARGS,
                                      &spec->args, err)) < 0)
                return r;
        if (!spec->args[0] || !spec->args[0][0])
                return config_error(err, "process.args: must name a program");
        if ((r = tender_json_get_strv(process, "process", "env", false, TENDER_RT_MAX_ENV,
                                      &spec->env, err)) < 0)
                return r;
        if (!spec->env) {
                spec->env = calloc(1, sizeof(char *));
                if (!spec->env)
                        return -ENOMEM;
        }
        for (size_t i = 0; spec->env[i]; i++)
                if (!strchr(spec->env[i], '=') || spec->env[i][0] == '=')
                        return config_error(err, "process.env[%zu]: not NAME=VALUE", i);
        spec->cwd = "/";
        if ((r = tender_json_get_string(process, "process", "cwd", false, &spec->cwd, err)) < 0)
                return r;
        if (spec->cwd[0] != '/')
                return config_error(err, "process.cwd: must be an absolute path");
        if ((r = tender_json_get_bool(process, "process", "noNewPrivileges", false,
                                      &spec->no_new_privileges, err)) < 0 ||
            (r = tender_rt_spec_parse_process_security(spec, process, err)) < 0)
                return r;
        return parse_user(spec, process, err);
}

static int parse_root(struct tender_rt_spec *spec, struct tender_error *err) {
        const cJSON *root = NULL;
        const char *path = NULL;
        int r = tender_json_get_object(spec->json, "", "root", true, &root, err);
        if (r < 0)
                return r;
        if ((r = tender_json_get_string(root, "root", "path", true, &path, err)) < 0 ||
            (r = tender_json_get_bool(root, "root", "readonly", false, &spec->readonly, err)) < 0)
                return r;
        _cleanup_free_ char *joined = NULL;
        if (path[0] != '/' && asprintf(&joined, "%s/%s", spec->bundle, path) < 0)
                return -ENOMEM;
        spec->rootfs = realpath(joined ? joined : path, NULL);
        if (!spec->rootfs)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, errno, "root.path: rootfs %s",
                                              joined ? joined : path);
        if (STREQ(spec->rootfs, "/"))
                return config_error(err, "root.path: the host root cannot be a container rootfs");
        return 0;
}

static int parse_mount_options(struct tender_rt_mount *m, char **options, const char *path,
                               struct tender_error *err) {
        size_t data_len = 0;
        for (size_t i = 0; options && options[i]; i++) {
                const char *o = options[i];
                bool known = false;
                for (size_t k = 0; k < ELEMENTSOF(mount_flags) && !known; k++)
                        if (STREQ(o, mount_flags[k].name)) {
                                if (mount_flags[k].clear)
                                        m->flags &= ~mount_flags[k].flag;
                                else
                                        m->flags |= mount_flags[k].flag;
                                known = true;
                        }
                for (size_t k = 0; k < ELEMENTSOF(propagation_flags) && !known; k++)
                        if (STREQ(o, propagation_flags[k].name)) {
                                m->propagation = propagation_flags[k].flag;
                                known = true;
                        }
                if (known)
                        continue;
                if (!o[0] || strchr(o, ','))
                        return config_error(err, "%s.options[%zu]: invalid option", path, i);
                size_t len = strlen(o);
                char *data = realloc(m->data, data_len + len + 2);
                if (!data)
                        return -ENOMEM;
                m->data = data;
                if (data_len)
                        data[data_len++] = ',';
                memcpy(data + data_len, o, len + 1);
                data_len += len;
        }
        if (m->flags & MS_BIND)
                m->bind = true;
        return 0;
}

static int parse_mounts(struct tender_rt_spec *spec, struct tender_error *err) {
        const cJSON *mounts = NULL, *item;
        int r = tender_json_get_array(spec->json, "", "mounts", false, &mounts, err);
        if (r < 0 || !mounts)
                return r;
        int n = cJSON_GetArraySize(mounts);
        if (n > TENDER_RT_MAX_MOUNTS)
                return config_error(err, "mounts: more than %d entries", TENDER_RT_MAX_MOUNTS);
        spec->mounts = calloc((size_t) n + 1, sizeof(*spec->mounts));
        if (!spec->mounts)
                return -ENOMEM;
        cJSON_ArrayForEach(item, mounts) {
                char path[PATH_NAME_MAX];
                snprintf(path, sizeof(path), "mounts[%zu]", spec->n_mounts);
                struct tender_rt_mount *m = &spec->mounts[spec->n_mounts++];
                char **options = NULL;
                if (!cJSON_IsObject(item))
                        return config_error(err, "%s: not an object", path);
                if ((r = tender_json_get_string(item, path, "destination", true, &m->destination,
                                                err)) < 0 ||
                    (r = tender_json_get_string(item, path, "type", false, &m->type, err)) < 0 ||
                    (r = tender_json_get_string(item, path, "source", false, &m->source, err)) <
                            0 ||
                    (r = tender_json_get_strv(item, path, "options", false,
                                              TENDER_RT_MAX_MOUNT_OPTIONS, &options, err)) < 0)
                        return r;
                r = parse_mount_options(m, options, path, err);
                tender_strv_free(options);
                if (r < 0)
                        return r;
                if (m->destination[0] != '/')
                        return config_error(err, "%s.destination: must be an absolute path", path);
                if (m->type && STREQ(m->type, "bind"))
                        m->bind = true;
                if (m->bind) {
                        m->flags |= MS_BIND;
                        if (!m->source || !m->source[0])
                                return config_error(err, "%s.source: a bind mount needs a source",
                                                    path);
                } else if (!m->type) {
                        return config_error(err, "%s.type: missing", path);
                }
        }
        return 0;
}

static int parse_namespaces(struct tender_rt_spec *spec, const cJSON *linux_,
                            struct tender_error *err) {
        const cJSON *list = NULL, *item;
        int r = tender_json_get_array(linux_, "linux", "namespaces", false, &list, err);
        if (r < 0 || !list)
                return r;
        cJSON_ArrayForEach(item, list) {
                char path[PATH_NAME_MAX];
                snprintf(path, sizeof(path), "linux.namespaces[%zu]", spec->n_namespaces);
                const char *type = NULL, *nspath = NULL;
                if (!cJSON_IsObject(item))
                        return config_error(err, "%s: not an object", path);
                if ((r = tender_json_get_string(item, path, "type", true, &type, err)) < 0 ||
                    (r = tender_json_get_string(item, path, "path", false, &nspath, err)) < 0)
                        return r;
                int t = 0;
                for (size_t k = 0; k < ELEMENTSOF(namespace_types); k++)
                        if (STREQ(type, namespace_types[k].name))
                                t = namespace_types[k].type;
                if (STREQ(type, "time"))
                        return config_error(err, "%s.type: %s namespaces are not supported yet",
                                            path, type);
                if (!t)
                        return config_error(err, "%s.type: unknown namespace \"%s\"", path, type);
                if (tender_rt_spec_namespace(spec, t))
                        return config_error(err, "%s.type: \"%s\" listed twice", path, type);
                if (nspath && nspath[0] != '/')
                        return config_error(err, "%s.path: must be an absolute path", path);
                if (spec->n_namespaces >= TENDER_RT_MAX_NAMESPACES)
                        return config_error(err, "linux.namespaces: too many entries");
                spec->namespaces[spec->n_namespaces++] = (struct tender_rt_namespace){t, nspath};
        }
        return 0;
}

int tender_rt_spec_refuse_unknown(const cJSON *obj, const char *path, const char *const *known,
                                  struct tender_error *err) {
        const cJSON *item;
        cJSON_ArrayForEach(item, obj) {
                bool ok = cJSON_IsNull(item) || cJSON_IsFalse(item) ||
                          ((cJSON_IsArray(item) || cJSON_IsObject(item)) && !item->child);
                for (size_t i = 0; known[i] && !ok; i++)
                        ok = STREQ(item->string, known[i]);
                if (!ok)
                        return config_error(err, "%s.%s: not supported by tender-runtime", path,
                                            item->string);
        }
        return 0;
}

static int parse_block_io(struct tender_rt_spec *spec, const cJSON *res, struct tender_error *err) {
        static const char *const known[] = {"weight",
                                            "throttleReadBpsDevice",
                                            "throttleWriteBpsDevice",
                                            "throttleReadIOPSDevice",
                                            "throttleWriteIOPSDevice",
                                            NULL};
        const cJSON *bio = NULL;
        int r = tender_json_get_object(res, "linux.resources", "blockIO", false, &bio, err);
        if (r < 0 || !bio)
                return r;
        if ((r = tender_rt_spec_refuse_unknown(bio, "linux.resources.blockIO", known, err)) < 0 ||
            (r = tender_json_get_u64(bio, "linux.resources.blockIO", "weight", false,
                                     &spec->blkio_weight, err)) < 0 ||
            (r = tender_rt_spec_parse_throttle(spec, bio, err)) < 0)
                return r;
        if (spec->blkio_weight && (spec->blkio_weight < 10 || spec->blkio_weight > 1000))
                return config_error(err, "linux.resources.blockIO.weight: want 10-1000");
        return 0;
}

static int parse_memory(struct tender_rt_spec *spec, const cJSON *memory,
                        struct tender_error *err) {
        static const char *const known[] = {"limit",      "reservation",      "swap",
                                            "swappiness", "disableOOMKiller", NULL};
        uint64_t swappiness = 0;
        const char *path = "linux.resources.memory";
        int r;
        if ((r = tender_rt_spec_refuse_unknown(memory, path, known, err)) < 0 ||
            (r = get_limit(memory, path, "limit", &spec->memory_limit, err)) < 0 ||
            (r = get_limit(memory, path, "reservation", &spec->memory_reservation, err)) < 0 ||
            (r = get_limit(memory, path, "swap", &spec->memory_swap, err)) < 0 ||
            (r = tender_json_get_bool(memory, path, "disableOOMKiller", false,
                                      &spec->disable_oom_killer, err)) < 0)
                return r;
        /* runc and crun leave an absent swappiness alone (Docker sends -1 for that). */
        const cJSON *sw = cJSON_GetObjectItemCaseSensitive(memory, "swappiness");
        if (sw && !cJSON_IsNull(sw) && !(cJSON_IsNumber(sw) && sw->valuedouble == -1)) {
                if ((r = tender_json_get_u64(memory, path, "swappiness", true, &swappiness, err)) <
                    0)
                        return r;
                if (swappiness > 100)
                        return config_error(err, "%s.swappiness: want 0-100", path);
                spec->memory_swappiness = (int64_t) swappiness;
        }
        if (spec->memory_swap >= 0 && spec->memory_limit >= 0 &&
            spec->memory_swap < spec->memory_limit)
                return config_error(err, "%s.swap: below the limit (it counts memory plus swap)",
                                    path);
        if (spec->memory_swap >= 0 && spec->memory_limit < 0)
                return config_error(err, "%s.swap: needs %s.limit", path, path);
        return 0;
}

static int parse_resources(struct tender_rt_spec *spec, const cJSON *linux_,
                           struct tender_error *err) {
        static const char *const known[] = {"memory",  "pids",           "cpu",     "devices",
                                            "blockIO", "hugepageLimits", "network", NULL};
        const cJSON *res = NULL, *memory = NULL, *pids = NULL;
        int r = tender_json_get_object(linux_, "linux", "resources", false, &res, err);
        if (r < 0 || !res)
                return r;
        if ((r = tender_rt_spec_refuse_unknown(res, "linux.resources", known, err)) < 0 ||
            (r = tender_json_get_object(res, "linux.resources", "memory", false, &memory, err)) <
                    0 ||
            (r = tender_json_get_object(res, "linux.resources", "pids", false, &pids, err)) < 0)
                return r;
        if (memory && (r = parse_memory(spec, memory, err)) < 0)
                return r;
        if (pids &&
            (r = get_limit(pids, "linux.resources.pids", "limit", &spec->pids_limit, err)) < 0)
                return r;
        if (spec->pids_limit == 0) /* runc reads 0 as "no limit" */
                spec->pids_limit = -1;
        return parse_block_io(spec, res, err);
}

static int check_cgroups_path(const char *p, struct tender_error *err) {
        if (strlen(p) >= TENDER_RT_CGROUP_PATH_MAX)
                return config_error(err, "linux.cgroupsPath: too long");
        if (strchr(p, ':'))
                return config_error(err, "linux.cgroupsPath: systemd slices are not supported");
        for (const char *c = p; *c;) {
                while (*c == '/')
                        c++;
                size_t len = strcspn(c, "/");
                if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
                        return config_error(err, "linux.cgroupsPath: \".\" and \"..\" are refused");
                c += len;
        }
        if (!p[strspn(p, "/")])
                return config_error(err, "linux.cgroupsPath: must name a cgroup below the root");
        return 0;
}

static int parse_linux(struct tender_rt_spec *spec, struct tender_error *err) {
        const cJSON *linux_ = NULL;
        const char *propagation = NULL;
        int r = tender_json_get_object(spec->json, "", "linux", false, &linux_, err);
        if (r < 0 || !linux_)
                return r;
        if ((r = parse_namespaces(spec, linux_, err)) < 0 ||
            (r = parse_resources(spec, linux_, err)) < 0)
                return r;
        if ((r = tender_json_get_string(linux_, "linux", "cgroupsPath", false, &spec->cgroups_path,
                                        err)) < 0)
                return r;
        if (spec->cgroups_path && (r = check_cgroups_path(spec->cgroups_path, err)) < 0)
                return r;
        if ((r = tender_json_get_string(linux_, "linux", "rootfsPropagation", false, &propagation,
                                        err)) < 0)
                return r;
        if (propagation) {
                spec->rootfs_propagation_set = true;
                spec->rootfs_propagation = 0;
                for (size_t k = 0; k < ELEMENTSOF(propagation_flags); k++)
                        if (STREQ(propagation, propagation_flags[k].name))
                                spec->rootfs_propagation = propagation_flags[k].flag;
                if (!spec->rootfs_propagation)
                        return config_error(err, "linux.rootfsPropagation: unknown \"%s\"",
                                            propagation);
        }
        if ((r = tender_json_get_strv(linux_, "linux", "maskedPaths", false, TENDER_RT_MAX_PATHS,
                                      &spec->masked_paths, err)) < 0 ||
            (r = tender_json_get_strv(linux_, "linux", "readonlyPaths", false, TENDER_RT_MAX_PATHS,
                                      &spec->readonly_paths, err)) < 0 ||
            (r = tender_rt_spec_parse_linux_security(spec, linux_, err)) < 0)
                return r;
        for (size_t i = 0; spec->masked_paths && spec->masked_paths[i]; i++)
                if (spec->masked_paths[i][0] != '/')
                        return config_error(err, "linux.maskedPaths[%zu]: not absolute", i);
        for (size_t i = 0; spec->readonly_paths && spec->readonly_paths[i]; i++)
                if (spec->readonly_paths[i][0] != '/')
                        return config_error(err, "linux.readonlyPaths[%zu]: not absolute", i);
        return 0;
}

static int parse_annotations(struct tender_rt_spec *spec, struct tender_error *err) {
        const cJSON *a = NULL, *item;
        int r = tender_json_get_object(spec->json, "", "annotations", false, &a, err);
        if (r < 0 || !a)
                return r;
        cJSON_ArrayForEach(item, a) {
                if (!cJSON_IsString(item))
                        return config_error(err, "annotations.%s: not a string", item->string);
        }
        spec->annotations = a;
        return 0;
}

int tender_rt_spec_load(const char *bundle, struct tender_rt_spec **ret, struct tender_error *err) {
        _cleanup_(tender_rt_spec_freep) struct tender_rt_spec *spec = calloc(1, sizeof(*spec));
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r;

        if (!spec)
                return -ENOMEM;
        spec->memory_limit = spec->pids_limit = -1;
        spec->memory_reservation = spec->memory_swap = spec->memory_swappiness = -1;
        spec->rootfs_propagation = MS_SLAVE | MS_REC;
        spec->bundle = realpath(bundle, NULL);
        if (!spec->bundle)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, errno, "bundle %s", bundle);
        _cleanup_close_ int dfd = open(spec->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, errno, "bundle %s",
                                              spec->bundle);
        r = tender_read_file_at(dfd, "config.json", TENDER_RT_SPEC_MAX_SIZE, &data, &len);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, r, "read %s/config.json",
                                              spec->bundle);
        r = tender_json_parse(data, len, TENDER_RT_SPEC_MAX_SIZE, TENDER_RT_SPEC_MAX_DEPTH,
                              &spec->json, err);
        if (r < 0)
                return tender_error_prefix(err, "%s/config.json", spec->bundle);
        if (!cJSON_IsObject(spec->json))
                return config_error(err, "config.json: not a JSON object");
        if ((r = parse_process(spec, err)) < 0 || (r = parse_root(spec, err)) < 0 ||
            (r = tender_json_get_string(spec->json, "", "hostname", false, &spec->hostname, err)) <
                    0 ||
            (r = parse_mounts(spec, err)) < 0 || (r = parse_linux(spec, err)) < 0 ||
            (r = parse_annotations(spec, err)) < 0)
                return r;
        spec->hooks = cJSON_GetObjectItemCaseSensitive(spec->json, "hooks");
        if (spec->hooks && (r = tender_rt_hooks_check(spec->hooks, err)) < 0)
                return r;
        if (spec->hostname && strlen(spec->hostname) > TENDER_RT_HOSTNAME_MAX)
                return config_error(err, "hostname: longer than %d bytes", TENDER_RT_HOSTNAME_MAX);
        /* A joined uts namespace gets the hostname too, as with runc and crun. */
        if (spec->hostname && !tender_rt_spec_namespace(spec, CLONE_NEWUTS))
                return config_error(err, "hostname: needs a uts namespace");
        /* Without a mount namespace the container shares the caller's: masking would change
         * the caller's view. */
        if (!tender_rt_spec_namespace(spec, CLONE_NEWNS) &&
            ((spec->masked_paths && spec->masked_paths[0]) ||
             (spec->readonly_paths && spec->readonly_paths[0])))
                return config_error(err, "linux.maskedPaths: needs a mount namespace");
        *ret = TAKE_PTR(spec);
        return 0;
}
