/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/manifest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tender/json.h"
#include "tender/oci_spec.h"

#define VOLUME_PATH_MAX 1024
#define USER_MAX 32
#define STRING_MAX 4096 /* one arg, env entry or path */

static const char *const layer_media_types[] = {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        NULL,
};

/* "path.key" as tender/json.h names fields, "key" at the root. */
static const char *field(char *buf, size_t size, const char *path, const char *key) {
        snprintf(buf, size, "%s%s%s", path, *path ? "." : "", key);
        return buf;
}

static int bad(struct tender_error *err, const char *path, const char *key, const char *why,
               const char *value) {
        char f[128];
        return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: %s \"%.80s\"",
                                field(f, sizeof(f), path, key), why, value);
}

static int get_name(const cJSON *o, const char *path, const char *key, char **ret,
                    struct tender_error *err) {
        const char *s;
        int r = tender_json_get_string(o, path, key, true, &s, err);
        if (r < 0)
                return r;
        if (!tender_name_valid(s))
                return bad(err, path, key, "invalid name (want [A-Za-z0-9][A-Za-z0-9._-]*)", s);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int get_digest(const cJSON *o, const char *path, const char *key, struct tender_digest *ret,
                      struct tender_error *err) {
        const char *s;
        int r = tender_json_get_string(o, path, key, true, &s, err);
        if (r < 0)
                return r;
        if (tender_digest_parse(s, ret) < 0)
                return bad(err, path, key, "not a sha256:<64 lowercase hex> digest", s);
        return 0;
}

/* Absolute, normalized: no "." or ".." components, no empty components, no trailing slash. */
static bool abs_path_valid(const char *s) {
        if (!s || s[0] != '/' || strlen(s) > VOLUME_PATH_MAX)
                return false;
        if (STREQ(s, "/"))
                return true;
        for (const char *p = s; *p;) {
                p++; /* skip '/' */
                size_t n = strcspn(p, "/");
                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p += n;
        }
        return true;
}

static bool user_valid(const char *s) {
        if (strlen(s) > USER_MAX)
                return false;
        size_t uid = strspn(s, "0123456789");
        if (uid == 0)
                return false;
        if (s[uid] == '\0')
                return true;
        if (s[uid] != ':')
                return false;
        size_t gid = strspn(s + uid + 1, "0123456789");
        return gid > 0 && s[uid + 1 + gid] == '\0';
}

static int get_strv(const cJSON *o, const char *path, const char *key, bool env, char ***ret,
                    struct tender_error *err) {
        char **v = NULL;
        int r = tender_json_get_strv(o, path, key, false, TENDER_MANIFEST_MAX_STRV, &v, err);
        if (r < 0)
                return r;
        if (!v)
                return 0;
        char f[128];
        for (size_t i = 0; v[i]; i++) {
                const char *eq = strchr(v[i], '=');
                if (strlen(v[i]) > STRING_MAX || (env && (!eq || eq == v[i]))) {
                        snprintf(f, sizeof(f), "%s[%zu]", key, i);
                        r = bad(err, path, f, env ? "not KEY=VALUE" : "longer than 4096 bytes",
                                v[i]);
                        tender_strv_free(v);
                        return r;
                }
        }
        *ret = v;
        return 0;
}

static int empty_strv(char ***v) {
        if (*v)
                return 0;
        *v = calloc(1, sizeof(char *));
        return *v ? 0 : -ENOMEM;
}

static bool is_layer_media_type(const char *s) {
        for (size_t i = 0; layer_media_types[i]; i++)
                if (STREQ(s, layer_media_types[i]))
                        return true;
        return false;
}

static int parse_layer(const cJSON *o, const char *path, struct tender_layer *l,
                       struct tender_error *err) {
        static const char *const keys[] = {"mediaType", "digest",           "size",
                                           "diffId",    "uncompressedSize", NULL};
        if (!cJSON_IsObject(o))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: not an object", path);
        const char *mt;
        int r = tender_json_check_keys(o, path, keys, err);
        if (r >= 0)
                r = tender_json_get_string(o, path, "mediaType", true, &mt, err);
        if (r < 0)
                return r;
        if (!is_layer_media_type(mt))
                return bad(err, path, "mediaType", "unsupported layer media type", mt);
        l->media_type = strdup(mt);
        if (!l->media_type)
                return -ENOMEM;
        r = get_digest(o, path, "digest", &l->digest, err);
        if (r >= 0)
                r = tender_json_get_u64(o, path, "size", true, &l->size, err);
        if (r >= 0)
                r = get_digest(o, path, "diffId", &l->diff_id, err);
        if (r >= 0)
                r = tender_json_get_u64(o, path, "uncompressedSize", true, &l->uncompressed_size,
                                        err);
        if (r < 0)
                return r;
        /* An uncompressed layer is its own diff: anything else is a lie in the manifest. */
        if (STREQ(mt, layer_media_types[0]) &&
            (!tender_digest_equal(&l->digest, &l->diff_id) || l->size != l->uncompressed_size))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "%s: uncompressed layer whose diffId or uncompressedSize "
                                        "differs from its digest or size",
                                        path);
        return 0;
}

/* Algorithm names: [a-z0-9-], 1 to 32 bytes, so unknown future ones parse and are skipped. */
static bool algorithm_valid(const char *s) {
        size_t n = strlen(s);
        return n >= 1 && n <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* image.deltas: optional; each "to" must be one of the image's layers. */
static int parse_deltas(const cJSON *img, struct tender_release_manifest *m,
                        struct tender_error *err) {
        static const char *const keys[] = {"from", "to", "digest", "size", "algorithm", NULL};
        const cJSON *deltas = NULL, *o;
        int r = tender_json_get_array(img, "image", "deltas", false, &deltas, err);
        if (r < 0 || !deltas)
                return r;
        int n = cJSON_GetArraySize(deltas);
        if (n > TENDER_MANIFEST_MAX_DELTAS)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "image.deltas: %d deltas, at most %d", n,
                                        TENDER_MANIFEST_MAX_DELTAS);
        m->deltas = calloc((size_t) n + 1, sizeof(*m->deltas));
        if (!m->deltas)
                return -ENOMEM;
        cJSON_ArrayForEach(o, deltas) {
                char path[64];
                const char *alg;
                struct tender_layer_delta *d = &m->deltas[m->n_deltas++];
                snprintf(path, sizeof(path), "image.deltas[%zu]", m->n_deltas - 1);
                if (!cJSON_IsObject(o))
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: not an object",
                                                path);
                r = tender_json_check_keys(o, path, keys, err);
                if (r >= 0)
                        r = get_digest(o, path, "from", &d->from, err);
                if (r >= 0)
                        r = get_digest(o, path, "to", &d->to, err);
                if (r >= 0)
                        r = get_digest(o, path, "digest", &d->digest, err);
                if (r >= 0)
                        r = tender_json_get_u64(o, path, "size", true, &d->size, err);
                if (r >= 0)
                        r = tender_json_get_string(o, path, "algorithm", true, &alg, err);
                if (r < 0)
                        return r;
                if (!algorithm_valid(alg))
                        return bad(err, path, "algorithm", "not a valid algorithm name", alg);
                d->algorithm = strdup(alg);
                if (!d->algorithm)
                        return -ENOMEM;
                bool found = false;
                for (size_t i = 0; i < m->n_layers && !found; i++)
                        found = tender_digest_equal(&m->layers[i].diff_id, &d->to);
                if (!found)
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                "%s.to: not the diffId of one of the image's "
                                                "layers",
                                                path);
        }
        return 0;
}

static int parse_image(const cJSON *img, struct tender_release_manifest *m,
                       struct tender_error *err) {
        static const char *const keys[] = {"manifestDigest", "config", "layers", "deltas", NULL};
        static const char *const config_keys[] = {"entrypoint", "cmd",        "env",
                                                  "user",       "workingDir", NULL};
        const cJSON *config, *layers;
        int r = tender_json_check_keys(img, "image", keys, err);
        if (r >= 0)
                r = get_digest(img, "image", "manifestDigest", &m->image_digest, err);
        if (r >= 0)
                r = tender_json_get_object(img, "image", "config", true, &config, err);
        if (r >= 0)
                r = tender_json_check_keys(config, "image.config", config_keys, err);
        if (r >= 0)
                r = get_strv(config, "image.config", "entrypoint", false, &m->entrypoint, err);
        if (r >= 0)
                r = get_strv(config, "image.config", "cmd", false, &m->cmd, err);
        if (r >= 0)
                r = get_strv(config, "image.config", "env", true, &m->env, err);
        if (r < 0)
                return r;
        if (empty_strv(&m->entrypoint) < 0 || empty_strv(&m->cmd) < 0 || empty_strv(&m->env) < 0)
                return -ENOMEM;

        const char *user = NULL, *wd = NULL;
        r = tender_json_get_string(config, "image.config", "user", false, &user, err);
        if (r >= 0)
                r = tender_json_get_string(config, "image.config", "workingDir", false, &wd, err);
        if (r < 0)
                return r;
        if (user && !user_valid(user))
                return bad(err, "image.config", "user", "not a numeric uid[:gid]", user);
        if (wd && !abs_path_valid(wd))
                return bad(err, "image.config", "workingDir", "not a normalized absolute path", wd);
        if ((user && !(m->user = strdup(user))) || (wd && !(m->working_dir = strdup(wd))))
                return -ENOMEM;

        r = tender_json_get_array(img, "image", "layers", true, &layers, err);
        if (r < 0)
                return r;
        int n = cJSON_GetArraySize(layers);
        if (n < 1 || n > TENDER_MANIFEST_MAX_LAYERS)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "image.layers: %d layers, want 1 to %d", n,
                                        TENDER_MANIFEST_MAX_LAYERS);
        m->layers = calloc((size_t) n, sizeof(*m->layers));
        if (!m->layers)
                return -ENOMEM;
        const cJSON *l;
        cJSON_ArrayForEach(l, layers) {
                char path[64];
                snprintf(path, sizeof(path), "image.layers[%zu]", m->n_layers);
                r = parse_layer(l, path, &m->layers[m->n_layers++], err);
                if (r < 0)
                        return r;
        }
        return parse_deltas(img, m, err);
}

static int parse_volumes(const cJSON *dep, struct tender_release_manifest *m,
                         struct tender_error *err) {
        static const char *const keys[] = {"name", "path", NULL};
        const cJSON *vols = NULL, *o;
        int r = tender_json_get_array(dep, "deployment", "volumes", false, &vols, err);
        if (r < 0 || !vols)
                return r;
        int n = cJSON_GetArraySize(vols);
        if (n > TENDER_MANIFEST_MAX_VOLUMES)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "deployment.volumes: %d volumes, at most %d allowed", n,
                                        TENDER_MANIFEST_MAX_VOLUMES);
        m->volumes = calloc((size_t) n + 1, sizeof(*m->volumes));
        if (!m->volumes)
                return -ENOMEM;
        cJSON_ArrayForEach(o, vols) {
                char path[64];
                const char *p;
                snprintf(path, sizeof(path), "deployment.volumes[%zu]", m->n_volumes);
                struct tender_volume *v = &m->volumes[m->n_volumes++];
                if (!cJSON_IsObject(o))
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: not an object",
                                                path);
                r = tender_json_check_keys(o, path, keys, err);
                if (r >= 0)
                        r = get_name(o, path, "name", &v->name, err);
                if (r >= 0)
                        r = tender_json_get_string(o, path, "path", true, &p, err);
                if (r < 0)
                        return r;
                if (!abs_path_valid(p) || STREQ(p, "/"))
                        return bad(err, path, "path", "not a normalized absolute path", p);
                v->path = strdup(p);
                if (!v->path)
                        return -ENOMEM;
                for (size_t i = 0; i + 1 < m->n_volumes; i++)
                        if (STREQ(m->volumes[i].name, v->name) ||
                            STREQ(m->volumes[i].path, v->path))
                                return bad(err, path, "name", "duplicate volume name or path",
                                           v->name);
        }
        return 0;
}

/* deployment.restart: {"policy": ..., "maxRestarts": N, "windowSeconds": S}, all optional. */
static int parse_restart(const cJSON *dep, struct tender_release_manifest *m,
                         struct tender_error *err) {
        static const char *const keys[] = {"policy", "maxRestarts", "windowSeconds", NULL};
        const cJSON *rs = NULL;
        const char *policy = NULL;
        int r = tender_json_get_object(dep, "deployment", "restart", false, &rs, err);
        if (r < 0 || !rs)
                return r;
        r = tender_json_check_keys(rs, "deployment.restart", keys, err);
        if (r >= 0)
                r = tender_json_get_string(rs, "deployment.restart", "policy", false, &policy, err);
        if (r >= 0)
                r = tender_json_get_u64(rs, "deployment.restart", "maxRestarts", false,
                                        &m->restart_max, err);
        if (r >= 0)
                r = tender_json_get_u64(rs, "deployment.restart", "windowSeconds", false,
                                        &m->restart_window_sec, err);
        if (r < 0)
                return r;
        if (m->restart_max > TENDER_RESTART_MAX)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "deployment.restart.maxRestarts: %llu is above %d",
                                        (unsigned long long) m->restart_max, TENDER_RESTART_MAX);
        if (m->restart_window_sec == 0 || m->restart_window_sec > TENDER_RESTART_WINDOW_MAX)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "deployment.restart.windowSeconds: want 1-%d",
                                        TENDER_RESTART_WINDOW_MAX);
        if (!policy || STREQ(policy, "always"))
                m->restart_policy = TENDER_RESTART_ALWAYS;
        else if (STREQ(policy, "on-failure"))
                m->restart_policy = TENDER_RESTART_ON_FAILURE;
        else if (STREQ(policy, "no"))
                m->restart_policy = TENDER_RESTART_NO;
        else
                return bad(err, "deployment.restart", "policy",
                           "want \"always\", \"on-failure\" or \"no\", not", policy);
        return 0;
}

static int parse_caps(const cJSON *p, struct tender_release_manifest *m, struct tender_error *err) {
        const char *path = "deployment.privileges";
        int r = get_strv(p, path, "capabilities", false, &m->capabilities, err);
        for (size_t i = 0; r >= 0 && m->capabilities && m->capabilities[i]; i++) {
                const char *c = m->capabilities[i];
                if (i >= TENDER_MANIFEST_MAX_CAPS)
                        return bad(err, path, "capabilities", "too many entries at", c);
                if (tender_oci_cap_from_name(c) < 0)
                        return bad(err, path, "capabilities", "unknown capability", c);
                for (size_t j = 0; j < i; j++)
                        if (STREQ(m->capabilities[j], c))
                                return bad(err, path, "capabilities", "listed twice:", c);
        }
        return r;
}

/* access: some of r, w and m, kept in that order. */
static bool parse_access(const char *s, char out[static 4]) {
        bool has[3] = {false, false, false};
        size_t n = 0;
        if (!*s)
                return false;
        for (; *s; s++) {
                const char *at = strchr("rwm", *s);
                if (!*s || !at || has[at - "rwm"])
                        return false;
                has[at - "rwm"] = true;
        }
        for (size_t i = 0; i < 3; i++)
                if (has[i])
                        out[n++] = "rwm"[i];
        out[n] = '\0';
        return true;
}

static int parse_devices(const cJSON *p, struct tender_release_manifest *m,
                         struct tender_error *err) {
        static const char *const keys[] = {"path", "access", NULL};
        const cJSON *list = NULL, *o;
        int r = tender_json_get_array(p, "deployment.privileges", "devices", false, &list, err);
        if (r < 0 || !list)
                return r;
        int n = cJSON_GetArraySize(list);
        if (n > TENDER_MANIFEST_MAX_DEVICES)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "deployment.privileges.devices: %d devices, at most %d", n,
                                        TENDER_MANIFEST_MAX_DEVICES);
        m->devices = calloc((size_t) n + 1, sizeof(*m->devices));
        if (!m->devices)
                return -ENOMEM;
        cJSON_ArrayForEach(o, list) {
                char path[64];
                const char *dev = NULL, *access = "rw";
                snprintf(path, sizeof(path), "deployment.privileges.devices[%zu]", m->n_devices);
                struct tender_device *d = &m->devices[m->n_devices++];
                if (!cJSON_IsObject(o))
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: not an object",
                                                path);
                r = tender_json_check_keys(o, path, keys, err);
                if (r >= 0)
                        r = tender_json_get_string(o, path, "path", true, &dev, err);
                if (r >= 0)
                        r = tender_json_get_string(o, path, "access", false, &access, err);
                if (r < 0)
                        return r;
                if (!abs_path_valid(dev) || strncmp(dev, "/dev/", 5) != 0)
                        return bad(err, path, "path", "not a normalized path under /dev/", dev);
                if (!parse_access(access, d->access))
                        return bad(err, path, "access", "want some of \"rwm\", not", access);
                d->path = strdup(dev);
                if (!d->path)
                        return -ENOMEM;
                for (size_t i = 0; i + 1 < m->n_devices; i++)
                        if (STREQ(m->devices[i].path, dev))
                                return bad(err, path, "path", "listed twice:", dev);
        }
        return 0;
}

static int parse_seccomp(const cJSON *p, struct tender_release_manifest *m,
                         struct tender_error *err) {
        const char *path = "deployment.privileges";
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(p, "seccomp");
        if (!sc || (cJSON_IsString(sc) && STREQ(sc->valuestring, "default")))
                return 0;
        if (cJSON_IsString(sc) && STREQ(sc->valuestring, "unconfined")) {
                m->seccomp = TENDER_SECCOMP_UNCONFINED;
                return 0;
        }
        if (!cJSON_IsObject(sc))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "%s.seccomp: want \"default\", \"unconfined\" or an "
                                        "OCI linux.seccomp object",
                                        path);
        const char *action;
        int r = tender_json_get_string(sc, "deployment.privileges.seccomp", "defaultAction", true,
                                       &action, err);
        if (r < 0)
                return r;
        m->seccomp = TENDER_SECCOMP_CUSTOM;
        m->seccomp_profile = cJSON_PrintUnformatted(sc);
        if (!m->seccomp_profile)
                return -ENOMEM;
        if (strlen(m->seccomp_profile) > TENDER_SECCOMP_PROFILE_MAX)
                return tender_error_set(err, TENDER_ERR_JSON, E2BIG,
                                        "%s.seccomp: profile above %d bytes", path,
                                        TENDER_SECCOMP_PROFILE_MAX);
        return 0;
}

/* deployment.privileges: {"capabilities": [...], "devices": [...], "seccomp": ...}. */
static int parse_privileges(const cJSON *dep, struct tender_release_manifest *m,
                            struct tender_error *err) {
        static const char *const keys[] = {"capabilities", "devices", "seccomp", NULL};
        const cJSON *p = NULL;
        int r = tender_json_get_object(dep, "deployment", "privileges", false, &p, err);
        if (r < 0 || !p)
                return r;
        r = tender_json_check_keys(p, "deployment.privileges", keys, err);
        if (r >= 0)
                r = parse_caps(p, m, err);
        if (r >= 0)
                r = parse_devices(p, m, err);
        if (r >= 0)
                r = parse_seccomp(p, m, err);
        return r;
}

static int parse_deployment(const cJSON *dep, struct tender_release_manifest *m,
                            struct tender_error *err) {
        static const char *const keys[] = {"args",
                                           "env",
                                           "network",
                                           "readonlyRootfs",
                                           "resources",
                                           "volumes",
                                           "stopTimeoutSeconds",
                                           "strategy",
                                           "restart",
                                           "privileges",
                                           NULL};
        const cJSON *res = NULL;
        const char *net = NULL, *strategy = NULL;
        int r = tender_json_check_keys(dep, "deployment", keys, err);
        if (r >= 0)
                r = get_strv(dep, "deployment", "args", false, &m->args, err);
        if (r >= 0 && m->args && !m->args[0])
                r = tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                     "deployment.args: empty; leave it out to run the image's "
                                     "entrypoint and cmd");
        if (r >= 0)
                r = get_strv(dep, "deployment", "env", true, &m->extra_env, err);
        if (r >= 0)
                r = tender_json_get_string(dep, "deployment", "network", false, &net, err);
        if (r >= 0)
                r = tender_json_get_bool(dep, "deployment", "readonlyRootfs", false,
                                         &m->readonly_rootfs, err);
        if (r >= 0)
                r = tender_json_get_object(dep, "deployment", "resources", false, &res, err);
        if (r >= 0 && res)
                r = tender_resources_parse(res, "deployment.resources", NULL, &m->resources, err);
        if (r >= 0)
                r = parse_privileges(dep, m, err);
        if (r >= 0)
                r = parse_volumes(dep, m, err);
        if (r >= 0)
                r = tender_json_get_u64(dep, "deployment", "stopTimeoutSeconds", false,
                                        &m->stop_timeout_sec, err);
        if (r >= 0)
                r = tender_json_get_string(dep, "deployment", "strategy", false, &strategy, err);
        if (r < 0)
                return r;
        if (net && STREQ(net, "host"))
                m->network = TENDER_NETWORK_HOST;
        else if (net && !STREQ(net, "none"))
                return bad(err, "deployment", "network", "want \"none\" or \"host\", not", net);
        if (strategy && STREQ(strategy, "start-stop"))
                m->strategy = TENDER_SWAP_START_STOP;
        else if (strategy && !STREQ(strategy, "stop-start"))
                return bad(err, "deployment", "strategy",
                           "want \"stop-start\" or \"start-stop\", not", strategy);
        return parse_restart(dep, m, err);
}

static int get_seconds(const cJSON *h, const char *key, uint64_t min, uint64_t *v,
                       struct tender_error *err) {
        int r = tender_json_get_u64(h, "health", key, false, v, err);
        if (r >= 0 && (*v < min || *v > TENDER_HEALTH_SECONDS_MAX))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "health.%s: %llu is outside %llu-%d", key,
                                        (unsigned long long) *v, (unsigned long long) min,
                                        TENDER_HEALTH_SECONDS_MAX);
        return r;
}

static int parse_port(const cJSON *o, const char *path, uint16_t *ret, struct tender_error *err) {
        uint64_t port = 0;
        int r = tender_json_get_u64(o, path, "port", true, &port, err);
        if (r >= 0 && (port == 0 || port > 65535))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s.port: %llu is not a port",
                                        path, (unsigned long long) port);
        if (r >= 0)
                *ret = (uint16_t) port;
        return r;
}

static bool http_path_valid(const char *p) {
        size_t n = strlen(p);
        if (n == 0 || n > TENDER_HEALTH_PATH_MAX || p[0] != '/')
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) p[i] <= ' ' || (unsigned char) p[i] >= 0x7f)
                        return false;
        return true;
}

/* health.exec: {"command": [...]}, run in the container through the runtime. */
static int parse_exec(const cJSON *exec, struct tender_release_manifest *m,
                      struct tender_error *err) {
        static const char *const keys[] = {"command", NULL};
        int r = tender_json_check_keys(exec, "health.exec", keys, err);
        if (r >= 0)
                r = tender_json_get_strv(exec, "health.exec", "command", true,
                                         TENDER_HEALTH_EXEC_ARGS_MAX, &m->health_exec, err);
        if (r >= 0 && (!m->health_exec[0] || !m->health_exec[0][0]))
                r = tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                     "health.exec.command: want a non-empty command");
        if (r >= 0)
                m->health_probe = TENDER_HEALTH_PROBE_EXEC;
        return r;
}

/* The health gate's settings and at most one probe (docs/release-manifest.md). */
static int parse_health(const cJSON *h, struct tender_release_manifest *m,
                        struct tender_error *err) {
        static const char *const keys[] = {"windowSeconds",
                                           "startPeriodSeconds",
                                           "intervalSeconds",
                                           "timeoutSeconds",
                                           "retries",
                                           "tcp",
                                           "http",
                                           "exec",
                                           "notify",
                                           NULL};
        static const char *const tcp_keys[] = {"port", NULL};
        static const char *const http_keys[] = {"port", "path", NULL};
        const cJSON *tcp = NULL, *http = NULL, *exec = NULL;
        const char *path = NULL;
        int r = tender_json_check_keys(h, "health", keys, err);
        if (r >= 0)
                r = get_seconds(h, "windowSeconds", 0, &m->health_window_sec, err);
        if (r >= 0)
                r = get_seconds(h, "startPeriodSeconds", 0, &m->health_start_period_sec, err);
        if (r >= 0)
                r = get_seconds(h, "intervalSeconds", 1, &m->health_interval_sec, err);
        if (r >= 0)
                r = get_seconds(h, "timeoutSeconds", 1, &m->health_timeout_sec, err);
        if (r >= 0)
                r = tender_json_get_u64(h, "health", "retries", false, &m->health_retries, err);
        if (r >= 0 && (m->health_retries == 0 || m->health_retries > 1000))
                r = tender_error_set(err, TENDER_ERR_JSON, EINVAL, "health.retries: want 1-1000");
        if (r >= 0)
                r = tender_json_get_object(h, "health", "tcp", false, &tcp, err);
        if (r >= 0)
                r = tender_json_get_object(h, "health", "http", false, &http, err);
        if (r >= 0)
                r = tender_json_get_object(h, "health", "exec", false, &exec, err);
        if (r >= 0 && (!!tcp + !!http + !!exec) > 1)
                r = tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                     "health: \"tcp\", \"http\" and \"exec\" exclude each other");
        if (r >= 0)
                r = tender_json_get_bool(h, "health", "notify", false, &m->health_notify, err);
        if (r >= 0 && exec)
                r = parse_exec(exec, m, err);
        if (r >= 0 && tcp) {
                m->health_probe = TENDER_HEALTH_PROBE_TCP;
                r = tender_json_check_keys(tcp, "health.tcp", tcp_keys, err);
                if (r >= 0)
                        r = parse_port(tcp, "health.tcp", &m->health_port, err);
        }
        if (r >= 0 && http) {
                m->health_probe = TENDER_HEALTH_PROBE_HTTP;
                r = tender_json_check_keys(http, "health.http", http_keys, err);
                if (r >= 0)
                        r = parse_port(http, "health.http", &m->health_port, err);
                if (r >= 0)
                        r = tender_json_get_string(http, "health.http", "path", false, &path, err);
                if (r >= 0 && path && !http_path_valid(path))
                        r = tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                             "health.http.path: want \"/...\" without spaces, at "
                                             "most %d bytes",
                                             TENDER_HEALTH_PATH_MAX);
                if (r >= 0 && !(m->health_http_path = strdup(path ? path : "/")))
                        r = -ENOMEM;
        }
        return r;
}

static int parse_root(const cJSON *root, struct tender_release_manifest *m,
                      struct tender_error *err) {
        static const char *const keys[] = {"schemaVersion",  "app",   "version",
                                           "releaseCounter", "image", "deployment",
                                           "health",         NULL};
        const cJSON *img, *dep = NULL, *health = NULL;
        uint64_t schema;
        if (!cJSON_IsObject(root))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "release manifest is not a JSON object");
        int r = tender_json_check_keys(root, "", keys, err);
        if (r >= 0)
                r = tender_json_get_u64(root, "", "schemaVersion", true, &schema, err);
        if (r >= 0 && schema != 1)
                r = tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                     "schemaVersion: %" PRIu64 " is not supported (want 1)",
                                     schema);
        if (r >= 0)
                r = get_name(root, "", "app", &m->app, err);
        if (r >= 0)
                r = get_name(root, "", "version", &m->version, err);
        if (r >= 0)
                r = tender_json_get_u64(root, "", "releaseCounter", true, &m->release_counter, err);
        if (r >= 0 && m->release_counter < 1)
                r = tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                     "releaseCounter: must be at least 1");
        if (r >= 0)
                r = tender_json_get_object(root, "", "image", true, &img, err);
        if (r >= 0)
                r = parse_image(img, m, err);
        if (r >= 0)
                r = tender_json_get_object(root, "", "deployment", false, &dep, err);
        if (r >= 0 && dep)
                r = parse_deployment(dep, m, err);
        if (r >= 0)
                r = tender_json_get_object(root, "", "health", false, &health, err);
        if (r >= 0 && health)
                r = parse_health(health, m, err);
        if (r < 0)
                return r;
        m->schema_version = 1;
        return 0;
}

void tender_manifest_set_defaults(struct tender_release_manifest *m) {
        m->readonly_rootfs = true;
        m->stop_timeout_sec = TENDER_STOP_TIMEOUT_DEFAULT;
        m->health_window_sec = TENDER_HEALTH_WINDOW_DEFAULT;
        m->health_interval_sec = TENDER_HEALTH_INTERVAL_DEFAULT;
        m->health_timeout_sec = TENDER_HEALTH_TIMEOUT_DEFAULT;
        m->health_retries = TENDER_HEALTH_RETRIES_DEFAULT;
        m->restart_window_sec = TENDER_RESTART_WINDOW_DEFAULT;
}

int tender_manifest_parse(const char *data, size_t len, struct tender_release_manifest **ret,
                          struct tender_error *err) {
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        int r = tender_json_parse(data, len, TENDER_MANIFEST_MAX_SIZE, TENDER_MANIFEST_MAX_DEPTH,
                                  &root, err);
        if (r < 0)
                return r;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = calloc(1, sizeof(*m));
        if (!m)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        tender_manifest_set_defaults(m);
        r = parse_root(root, m, err);
        if (r == -ENOMEM)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Integers go out as raw text: cJSON's doubles would print large sizes in exponent form. */
static bool add_u64(cJSON *o, const char *key, uint64_t v) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return cJSON_AddRawToObject(o, key, buf) != NULL;
}

static bool add_digest(cJSON *o, const char *key, const struct tender_digest *d) {
        char buf[TENDER_DIGEST_STRING_MAX];
        return cJSON_AddStringToObject(o, key, tender_digest_format(d, buf)) != NULL;
}

static bool add_strv(cJSON *o, const char *key, char *const *v) {
        cJSON *a = cJSON_AddArrayToObject(o, key);
        if (!a)
                return false;
        for (size_t i = 0; v && v[i]; i++) {
                cJSON *s = cJSON_CreateString(v[i]);
                if (!s || !cJSON_AddItemToArray(a, s)) {
                        cJSON_Delete(s);
                        return false;
                }
        }
        return true;
}

static bool build_deltas(cJSON *img, const struct tender_release_manifest *m) {
        if (m->n_deltas == 0)
                return true; /* optional: absent rather than empty */
        cJSON *a = cJSON_AddArrayToObject(img, "deltas");
        if (!a)
                return false;
        for (size_t i = 0; i < m->n_deltas; i++) {
                const struct tender_layer_delta *d = &m->deltas[i];
                cJSON *o = cJSON_CreateObject();
                if (!o || !cJSON_AddItemToArray(a, o)) {
                        cJSON_Delete(o);
                        return false;
                }
                if (!add_digest(o, "from", &d->from) || !add_digest(o, "to", &d->to) ||
                    !add_digest(o, "digest", &d->digest) || !add_u64(o, "size", d->size) ||
                    !cJSON_AddStringToObject(o, "algorithm",
                                             d->algorithm ? d->algorithm : TENDER_DELTA_ALGORITHM))
                        return false;
        }
        return true;
}

static bool build_image(cJSON *root, const struct tender_release_manifest *m) {
        cJSON *img = cJSON_AddObjectToObject(root, "image");
        if (!img || !add_digest(img, "manifestDigest", &m->image_digest))
                return false;
        cJSON *c = cJSON_AddObjectToObject(img, "config");
        if (!c || !add_strv(c, "entrypoint", m->entrypoint) || !add_strv(c, "cmd", m->cmd) ||
            !add_strv(c, "env", m->env))
                return false;
        if (m->user && !cJSON_AddStringToObject(c, "user", m->user))
                return false;
        if (m->working_dir && !cJSON_AddStringToObject(c, "workingDir", m->working_dir))
                return false;
        cJSON *layers = cJSON_AddArrayToObject(img, "layers");
        if (!layers)
                return false;
        for (size_t i = 0; i < m->n_layers; i++) {
                const struct tender_layer *l = &m->layers[i];
                cJSON *o = cJSON_CreateObject();
                if (!o || !cJSON_AddItemToArray(layers, o)) {
                        cJSON_Delete(o);
                        return false;
                }
                if (!cJSON_AddStringToObject(o, "mediaType", l->media_type) ||
                    !add_digest(o, "digest", &l->digest) || !add_u64(o, "size", l->size) ||
                    !add_digest(o, "diffId", &l->diff_id) ||
                    !add_u64(o, "uncompressedSize", l->uncompressed_size))
                        return false;
        }
        return build_deltas(img, m);
}

static bool build_health(cJSON *root, const struct tender_release_manifest *m) {
        cJSON *h = cJSON_AddObjectToObject(root, "health");
        if (!h || !add_u64(h, "windowSeconds", m->health_window_sec))
                return false;
        /* Defaults (and 0, from a struct built without the parser) are left out: manifests
         * published before these fields stay byte-identical. */
        if ((m->health_start_period_sec &&
             !add_u64(h, "startPeriodSeconds", m->health_start_period_sec)) ||
            (m->health_interval_sec > TENDER_HEALTH_INTERVAL_DEFAULT &&
             !add_u64(h, "intervalSeconds", m->health_interval_sec)) ||
            (m->health_timeout_sec > TENDER_HEALTH_TIMEOUT_DEFAULT &&
             !add_u64(h, "timeoutSeconds", m->health_timeout_sec)) ||
            (m->health_retries && m->health_retries != TENDER_HEALTH_RETRIES_DEFAULT &&
             !add_u64(h, "retries", m->health_retries)))
                return false;
        if (m->health_notify && !cJSON_AddBoolToObject(h, "notify", true))
                return false;
        if (m->health_probe == TENDER_HEALTH_PROBE_EXEC) {
                cJSON *t = cJSON_AddObjectToObject(h, "exec");
                return t && add_strv(t, "command", m->health_exec);
        }
        if (m->health_probe == TENDER_HEALTH_PROBE_TCP) {
                cJSON *t = cJSON_AddObjectToObject(h, "tcp");
                return t && add_u64(t, "port", m->health_port);
        }
        if (m->health_probe == TENDER_HEALTH_PROBE_HTTP) {
                cJSON *t = cJSON_AddObjectToObject(h, "http");
                return t && add_u64(t, "port", m->health_port) &&
                       cJSON_AddStringToObject(t, "path",
                                               m->health_http_path ? m->health_http_path : "/");
        }
        return true;
}

/* Left out when every field has its default (0 from a struct built without the parser counts
 * as the default window): manifests published before the restart policy keep their bytes. */
static bool build_restart(cJSON *d, const struct tender_release_manifest *m) {
        static const char *const names[] = {
                [TENDER_RESTART_ALWAYS] = "always",
                [TENDER_RESTART_ON_FAILURE] = "on-failure",
                [TENDER_RESTART_NO] = "no",
        };
        bool window =
                m->restart_window_sec && m->restart_window_sec != TENDER_RESTART_WINDOW_DEFAULT;
        if (m->restart_policy == TENDER_RESTART_ALWAYS && !m->restart_max && !window)
                return true;
        cJSON *rs = cJSON_AddObjectToObject(d, "restart");
        return rs &&
               (m->restart_policy == TENDER_RESTART_ALWAYS ||
                cJSON_AddStringToObject(rs, "policy", names[m->restart_policy])) &&
               (!m->restart_max || add_u64(rs, "maxRestarts", m->restart_max)) &&
               (!window || add_u64(rs, "windowSeconds", m->restart_window_sec));
}

/* Left out when the release asks for nothing beyond the hardened default. */
static bool build_privileges(cJSON *d, const struct tender_release_manifest *m) {
        if (!m->capabilities && m->n_devices == 0 && m->seccomp == TENDER_SECCOMP_DEFAULT)
                return true;
        cJSON *p = cJSON_AddObjectToObject(d, "privileges");
        if (!p || (m->capabilities && !add_strv(p, "capabilities", m->capabilities)))
                return false;
        if (m->n_devices) {
                cJSON *a = cJSON_AddArrayToObject(p, "devices");
                for (size_t i = 0; a && i < m->n_devices; i++) {
                        cJSON *o = cJSON_CreateObject();
                        if (!o || !cJSON_AddItemToArray(a, o) ||
                            !cJSON_AddStringToObject(o, "path", m->devices[i].path) ||
                            !cJSON_AddStringToObject(o, "access", m->devices[i].access))
                                return false;
                }
                if (!a)
                        return false;
        }
        if (m->seccomp == TENDER_SECCOMP_UNCONFINED)
                return cJSON_AddStringToObject(p, "seccomp", "unconfined") != NULL;
        if (m->seccomp == TENDER_SECCOMP_CUSTOM) {
                cJSON *profile = cJSON_Parse(m->seccomp_profile);
                return profile && cJSON_AddItemToObject(p, "seccomp", profile);
        }
        return true;
}

static bool build_deployment(cJSON *root, const struct tender_release_manifest *m) {
        cJSON *d = cJSON_AddObjectToObject(root, "deployment");
        if (!d)
                return false;
        if (m->args && !add_strv(d, "args", m->args))
                return false;
        if (!add_strv(d, "env", m->extra_env) ||
            !cJSON_AddStringToObject(d, "network",
                                     m->network == TENDER_NETWORK_HOST ? "host" : "none") ||
            !cJSON_AddBoolToObject(d, "readonlyRootfs", m->readonly_rootfs))
                return false;
        cJSON *res = cJSON_AddObjectToObject(d, "resources");
        if (!res || !tender_resources_to_json(res, &m->resources, true))
                return false;
        cJSON *vols = cJSON_AddArrayToObject(d, "volumes");
        if (!vols)
                return false;
        for (size_t i = 0; i < m->n_volumes; i++) {
                cJSON *o = cJSON_CreateObject();
                if (!o || !cJSON_AddItemToArray(vols, o)) {
                        cJSON_Delete(o);
                        return false;
                }
                if (!cJSON_AddStringToObject(o, "name", m->volumes[i].name) ||
                    !cJSON_AddStringToObject(o, "path", m->volumes[i].path))
                        return false;
        }
        return add_u64(d, "stopTimeoutSeconds", m->stop_timeout_sec) &&
               cJSON_AddStringToObject(d, "strategy",
                                       m->strategy == TENDER_SWAP_START_STOP ? "start-stop"
                                                                             : "stop-start") &&
               build_restart(d, m) && build_privileges(d, m);
}

int tender_manifest_to_json(const struct tender_release_manifest *m, char **ret_json) {
        _cleanup_(cJSON_Deletep) cJSON *root = cJSON_CreateObject();
        if (!root || !add_u64(root, "schemaVersion", 1) ||
            !cJSON_AddStringToObject(root, "app", m->app) ||
            !cJSON_AddStringToObject(root, "version", m->version) ||
            !add_u64(root, "releaseCounter", m->release_counter) || !build_image(root, m) ||
            !build_deployment(root, m))
                return -ENOMEM;
        if (!build_health(root, m))
                return -ENOMEM;
        char *s = cJSON_Print(root);
        if (!s)
                return -ENOMEM;
        /* A trailing newline keeps the published file friendly to cat and diff. */
        size_t n = strlen(s);
        char *out = realloc(s, n + 2);
        if (!out) {
                cJSON_free(s);
                return -ENOMEM;
        }
        out[n] = '\n';
        out[n + 1] = '\0';
        *ret_json = out;
        return 0;
}

void tender_manifest_free(struct tender_release_manifest *m) {
        if (!m)
                return;
        free(m->app);
        free(m->version);
        tender_strv_free(m->entrypoint);
        tender_strv_free(m->cmd);
        tender_strv_free(m->env);
        free(m->user);
        free(m->working_dir);
        for (size_t i = 0; m->layers && i < m->n_layers; i++)
                free(m->layers[i].media_type);
        free(m->layers);
        for (size_t i = 0; m->deltas && i < m->n_deltas; i++)
                free(m->deltas[i].algorithm);
        free(m->deltas);
        tender_strv_free(m->args);
        tender_strv_free(m->extra_env);
        for (size_t i = 0; m->volumes && i < m->n_volumes; i++) {
                free(m->volumes[i].name);
                free(m->volumes[i].path);
        }
        free(m->volumes);
        free(m->health_http_path);
        tender_strv_free(m->health_exec);
        tender_resources_done(&m->resources);
        tender_strv_free(m->capabilities);
        for (size_t i = 0; m->devices && i < m->n_devices; i++)
                free(m->devices[i].path);
        free(m->devices);
        free(m->seccomp_profile);
        free(m);
}
