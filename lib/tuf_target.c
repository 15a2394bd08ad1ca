/* SPDX-License-Identifier: Apache-2.0 */
/* TUF client: targets and delegated roles, target lookup (spec 5.6.7) and target downloads. */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tender/fileio.h"
#include "tender/json.h"
#include "tuf_internal.h"

static int expired(const struct tender_tuf *t, const struct tuf_meta *m, struct tender_error *err) {
        if (m->expires > t->now)
                return 0;
        return tender_error_set(err, TENDER_ERR_VERIFY, ESTALE,
                                "%s: version %" PRIu64 " has expired (freeze attack or a stale "
                                "repository)",
                                m->role, m->version);
}

/* The local copy of a targets-type role when it verifies and is the version snapshot lists. */
static struct tuf_meta *local_match(struct tender_tuf *t, const char *file, const char *label,
                                    const struct tuf_metafile *f, const struct tuf_keyset *keys,
                                    const struct tuf_role *spec) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        struct tuf_meta *m = NULL;
        if (tender_read_file_at(t->dirfd, file, TENDER_TUF_TARGETS_MAX_SIZE, &data, &len) < 0)
                return NULL;
        if (tuf_check_metafile(f, label, data, len, NULL) < 0 ||
            tuf_meta_parse(data, len, TUF_TARGETS, label, &m, NULL) < 0)
                return NULL;
        if (m->version != f->version || m->expires <= t->now ||
            tuf_meta_verify(m, keys, spec, NULL) < 0) {
                tuf_meta_free(m);
                return NULL;
        }
        return m;
}

int tuf_load_role(struct tender_tuf *t, enum tuf_type type, const char *role,
                  const struct tuf_metafile *f, const struct tuf_keyset *keys,
                  const struct tuf_role *spec, struct tuf_meta **ret, struct tender_error *err) {
        char label[TENDER_TUF_NAME_MAX + 32];
        if (STREQ(role, "targets"))
                snprintf(label, sizeof(label), "targets");
        else
                snprintf(label, sizeof(label), "delegated role \"%s\"", role);
        _cleanup_free_ char *quoted = tender_tuf_quote(role, false);
        if (!quoted)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        char file[3 * TENDER_TUF_NAME_MAX + 8], remote[3 * TENDER_TUF_NAME_MAX + 32];
        snprintf(file, sizeof(file), "%s.json", quoted);
        if (t->top[TUF_ROOT]->consistent_snapshot)
                snprintf(remote, sizeof(remote), "%" PRIu64 ".%s", f->version, file);
        else
                snprintf(remote, sizeof(remote), "%s", file);

        struct tuf_meta *local = local_match(t, file, label, f, keys, spec);
        if (local) {
                *ret = local;
                return 0;
        }
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = tuf_fetch(t, t->metadata_url, remote,
                          f->has_length ? f->length : TENDER_TUF_TARGETS_MAX_SIZE, &data, &len,
                          err);
        if (r < 0)
                return tender_error_prefix(err, "%s", label);
        r = tuf_check_metafile(f, label, data, len, err);
        if (r < 0)
                return r;
        _cleanup_(tuf_meta_freep) struct tuf_meta *m = NULL;
        r = tuf_meta_parse(data, len, type, label, &m, err);
        if (r >= 0)
                r = tuf_meta_verify(m, keys, spec, err);
        if (r < 0)
                return r;
        if (m->version != f->version)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "%s: version %" PRIu64 " is not the version %" PRIu64
                                        " snapshot lists",
                                        label, m->version, f->version);
        r = expired(t, m, err);
        if (r < 0)
                return r;
        r = tuf_persist(t, file, m, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Shell-style patterns matched one path segment at a time, so a wildcard never spans a '/'
 * and pattern and path must have as many segments. */
static bool path_matches(const char *pattern, const char *path) {
        for (;;) {
                const char *ps = strchrnul(pattern, '/'), *ts = strchrnul(path, '/');
                char pseg[TENDER_TUF_TARGET_PATH_MAX + 1], tseg[TENDER_TUF_TARGET_PATH_MAX + 1];
                size_t pl = (size_t) (ps - pattern), tl = (size_t) (ts - path);
                if (pl > TENDER_TUF_TARGET_PATH_MAX || tl > TENDER_TUF_TARGET_PATH_MAX)
                        return false;
                memcpy(pseg, pattern, pl);
                pseg[pl] = '\0';
                memcpy(tseg, path, tl);
                tseg[tl] = '\0';
                if (fnmatch(pseg, tseg, 0) != 0)
                        return false;
                if (!*ps || !*ts)
                        return !*ps && !*ts;
                pattern = ps + 1;
                path = ts + 1;
        }
}

static bool role_matches(const struct tuf_role *r, const char *name) {
        for (char **p = r->paths; p && *p; p++)
                if (path_matches(*p, name))
                        return true;
        if (r->prefixes) {
                struct tender_digest d;
                char hex[65];
                tender_sha256_buffer(name, strlen(name), &d);
                tender_digest_hex(&d, hex);
                for (char **p = r->prefixes; *p; p++)
                        if (strncmp(hex, *p, strlen(*p)) == 0)
                                return true;
        }
        return false;
}

void tender_tuf_target_free(struct tender_tuf_target *tt) {
        if (!tt)
                return;
        free(tt->name);
        cJSON_Delete(tt->custom);
        free(tt->app);
        free(tt->version);
        free(tt);
}

static int target_info(const char *name, const cJSON *entry, struct tender_tuf_target **ret,
                       struct tender_error *err) {
        _cleanup_(tender_tuf_target_freep) struct tender_tuf_target *tt = calloc(1, sizeof(*tt));
        if (!tt || !(tt->name = strdup(name)))
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        struct tuf_hashes h;
        const cJSON *custom = NULL;
        /* The document was checked when parsed; these cannot fail on shape. */
        int r = tender_json_get_u64(entry, "target", "length", true, &tt->length, err);
        if (r >= 0)
                r = tuf_hashes_parse(cJSON_GetObjectItemCaseSensitive(entry, "hashes"), "hashes",
                                     &h, err);
        if (r >= 0)
                r = tender_json_get_object(entry, "target", "custom", false, &custom, err);
        if (r < 0)
                return tender_error_prefix(err, "target \"%.200s\"", name);
        tt->have_sha256 = h.have_sha256;
        tt->have_sha512 = h.have_sha512;
        memcpy(tt->sha256, h.sha256, sizeof(tt->sha256));
        memcpy(tt->sha512, h.sha512, sizeof(tt->sha512));
        if (!tt->have_sha256 && !tt->have_sha512)
                return tender_error_set(err, TENDER_ERR_VERIFY, ENOTSUP,
                                        "target \"%.200s\": no supported hash type (sha256, "
                                        "sha512) listed",
                                        name);
        if (custom) {
                const char *app = NULL, *version = NULL;
                uint64_t counter = 0;
                tt->custom = cJSON_Duplicate(custom, true);
                if (!tt->custom)
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
                if (tender_json_get_string(custom, "custom", "app", false, &app, NULL) >= 0 &&
                    tender_json_get_string(custom, "custom", "version", false, &version, NULL) >=
                            0 &&
                    tender_json_get_u64(custom, "custom", "releaseCounter", false, &counter,
                                        NULL) >= 0 &&
                    app && version && cJSON_GetObjectItemCaseSensitive(custom, "releaseCounter")) {
                        tt->app = strdup(app);
                        tt->version = strdup(version);
                        if (!tt->app || !tt->version)
                                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM,
                                                        "out of memory");
                        tt->release_counter = counter;
                        tt->has_release = true;
                }
        }
        *ret = TAKE_PTR(tt);
        return 0;
}

static int keep_delegated(struct tender_tuf *t, struct tuf_meta *m, struct tender_error *err) {
        struct tuf_meta **v = realloc(t->delegated, (t->n_delegated + 1) * sizeof(*v));
        if (!v) {
                tuf_meta_free(m);
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        }
        t->delegated = v;
        v[t->n_delegated++] = m;
        return 0;
}

static const struct tuf_meta *find_delegated(const struct tender_tuf *t, const char *role) {
        char label[TENDER_TUF_NAME_MAX + 32];
        snprintf(label, sizeof(label), "delegated role \"%s\"", role);
        for (size_t i = 0; i < t->n_delegated; i++)
                if (STREQ(t->delegated[i]->role, label))
                        return t->delegated[i];
        return NULL;
}

struct visit {
        const char *role;              /* NULL: top-level targets */
        const struct tuf_meta *parent; /* the delegator */
        const struct tuf_role *spec;
};

static int load_delegated(struct tender_tuf *t, const struct visit *v, const struct tuf_meta **ret,
                          struct tender_error *err) {
        const struct tuf_meta *m = find_delegated(t, v->role);
        if (m) {
                *ret = m;
                return 0;
        }
        char file[TENDER_TUF_NAME_MAX + 8];
        snprintf(file, sizeof(file), "%s.json", v->role);
        const struct tuf_metafile *f = tuf_meta_find(t->top[TUF_SNAPSHOT], file);
        if (!f)
                return tender_error_set(err, TENDER_ERR_VERIFY, ENOENT,
                                        "delegated role \"%.200s\": not listed in snapshot",
                                        v->role);
        struct tuf_meta *nm = NULL;
        int r = tuf_load_role(t, TUF_TARGETS, v->role, f, &v->parent->dkeys, v->spec, &nm, err);
        if (r < 0)
                return r;
        r = keep_delegated(t, nm, err);
        if (r < 0)
                return r;
        *ret = nm;
        return 0;
}

int tender_tuf_get_target(struct tender_tuf *t, const char *name, struct tender_tuf_target **ret,
                          struct tender_error *err) {
        if (!t->refreshed || !t->top[TUF_TARGETS])
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "targets: no successful refresh yet");
        size_t nlen = strnlen(name, TENDER_TUF_TARGET_PATH_MAX + 1);
        if (nlen == 0 || nlen > TENDER_TUF_TARGET_PATH_MAX)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "target name empty or longer than %d bytes",
                                        TENDER_TUF_TARGET_PATH_MAX);
        struct visit stack[TENDER_TUF_MAX_DELEGATIONS + TENDER_TUF_MAX_ROLES];
        size_t depth = 1, visits = 0;
        char *visited[TENDER_TUF_MAX_DELEGATIONS];
        stack[0] = (struct visit){NULL, NULL, NULL};
        while (depth > 0) {
                struct visit v = stack[--depth];
                const struct tuf_meta *m = t->top[TUF_TARGETS];
                bool seen = false;
                for (size_t i = 0; i < visits && v.role && !seen; i++)
                        seen = visited[i] && STREQ(visited[i], v.role);
                if (seen)
                        continue;
                if (visits >= TENDER_TUF_MAX_DELEGATIONS)
                        return tender_error_set(err, TENDER_ERR_VERIFY, ELOOP,
                                                "target \"%.200s\": more than %d roles visited",
                                                name, TENDER_TUF_MAX_DELEGATIONS);
                visited[visits++] = (char *) v.role;
                if (v.role) {
                        int r = load_delegated(t, &v, &m, err);
                        if (r < 0)
                                return r;
                }
                const cJSON *entry = cJSON_GetObjectItemCaseSensitive(m->targets, name);
                if (entry)
                        return target_info(name, entry, ret, err);
                /* Children in order, stopping after a matching terminating one (5.6.7.2). */
                struct visit children[TENDER_TUF_MAX_ROLES];
                size_t n = 0;
                bool terminate = false;
                for (size_t i = 0; i < m->n_droles && !terminate; i++) {
                        if (!role_matches(&m->droles[i], name))
                                continue;
                        children[n++] = (struct visit){m->droles[i].name, m, &m->droles[i]};
                        terminate = m->droles[i].terminating;
                }
                if (terminate)
                        depth = 0;
                if (depth + n > ELEMENTSOF(stack))
                        return tender_error_set(err, TENDER_ERR_VERIFY, ELOOP,
                                                "target \"%.200s\": too many delegations to "
                                                "visit",
                                                name);
                while (n > 0)
                        stack[depth++] = children[--n];
        }
        return tender_error_set(err, TENDER_ERR_VERIFY, ENOENT,
                                "target \"%.200s\": no trusted role lists it", name);
}

/* Target paths become URL paths: refuse what could leave the targets tree or be read as
 * something else by a server. */
static int check_target_path(const char *name, struct tender_error *err) {
        if (name[0] == '/')
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "target \"%.200s\": absolute path", name);
        for (const char *p = name;;) {
                const char *s = strchrnul(p, '/');
                size_t n = (size_t) (s - p);
                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                                "target \"%.200s\": empty, \".\" or \"..\" path "
                                                "component",
                                                name);
                if (!*s)
                        break;
                p = s + 1;
        }
        for (const unsigned char *c = (const unsigned char *) name; *c; c++)
                if (*c < 0x20 || *c == 0x7f)
                        return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                                "target \"%.200s\": control character", name);
        return 0;
}

int tender_tuf_check_target(const struct tender_tuf_target *tt, const void *data, size_t len,
                            struct tender_error *err) {
        struct tuf_metafile f = {.has_length = true, .length = tt->length};
        f.hashes.have_sha256 = tt->have_sha256;
        f.hashes.have_sha512 = tt->have_sha512;
        f.hashes.count = 1;
        memcpy(f.hashes.sha256, tt->sha256, sizeof(tt->sha256));
        memcpy(f.hashes.sha512, tt->sha512, sizeof(tt->sha512));
        char label[TENDER_TUF_TARGET_PATH_MAX + 16];
        snprintf(label, sizeof(label), "target \"%s\"", tt->name);
        return tuf_check_metafile(&f, label, data, len, err);
}

int tender_tuf_download_target(struct tender_tuf *t, const struct tender_tuf_target *tt,
                               char **ret_data, size_t *ret_len, struct tender_error *err) {
        int r = check_target_path(tt->name, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *quoted = tender_tuf_quote(tt->name, true);
        _cleanup_free_ char *file = NULL;
        if (!quoted)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        if (t->top[TUF_ROOT]->consistent_snapshot) {
                char hex[129];
                struct tender_digest d;
                if (tt->have_sha256) {
                        memcpy(d.bytes, tt->sha256, sizeof(d.bytes));
                        tender_digest_hex(&d, hex);
                } else {
                        for (size_t i = 0; i < 64; i++)
                                snprintf(hex + 2 * i, 3, "%02x", tt->sha512[i]);
                }
                char *slash = strrchr(quoted, '/');
                if (asprintf(&file, "%.*s%s.%s", slash ? (int) (slash - quoted + 1) : 0, quoted,
                             hex, slash ? slash + 1 : quoted) < 0)
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        } else if (!(file = strdup(quoted)))
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        if (tt->length > SIZE_MAX - 1)
                return tender_error_set(err, TENDER_ERR_VERIFY, EFBIG, "target too long");
        _cleanup_free_ char *data = NULL;
        size_t len;
        r = tuf_fetch(t, t->targets_url, file, (size_t) tt->length, &data, &len, err);
        if (r < 0)
                return tender_error_prefix(err, "target \"%.200s\"", tt->name);
        r = tender_tuf_check_target(tt, data, len, err);
        if (r < 0)
                return r;
        *ret_data = TAKE_PTR(data);
        *ret_len = len;
        return 0;
}

int tender_tuf_fetch_target(struct tender_tuf *t, const char *name, size_t max, char **ret_data,
                            size_t *ret_len, struct tender_tuf_target **ret_info,
                            struct tender_error *err) {
        _cleanup_(tender_tuf_target_freep) struct tender_tuf_target *tt = NULL;
        int r = tender_tuf_get_target(t, name, &tt, err);
        if (r < 0)
                return r;
        if (tt->length > max)
                return tender_error_set(err, TENDER_ERR_VERIFY, EFBIG,
                                        "target \"%.200s\": %" PRIu64
                                        " bytes, more than the limit of %zu",
                                        name, tt->length, max);
        r = tender_tuf_download_target(t, tt, ret_data, ret_len, err);
        if (r < 0)
                return r;
        if (ret_info)
                *ret_info = TAKE_PTR(tt);
        return 0;
}
