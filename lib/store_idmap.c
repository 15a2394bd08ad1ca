/* SPDX-License-Identifier: Apache-2.0 */
/* state/idmap: the apps' user-namespace id ranges (tender/store.h). */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/name.h"
#include "tender/store.h"

#define IDMAP_PATH "state/idmap"
#define IDMAP_MAX_DEPTH 4

static int bad(struct tender_error *err, const char *what) {
        return tender_error_set(err, TENDER_ERR_SYSTEM, EBADMSG, IDMAP_PATH ": %s", what);
}

static int get_u32(const cJSON *o, const char *path, const char *key, bool required, uint32_t *ret,
                   struct tender_error *err) {
        uint64_t v = *ret;
        int r = tender_json_get_u64(o, path, key, required, &v, err);
        if (r < 0)
                return r;
        if (v > UINT32_MAX - 1)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EBADMSG,
                                        IDMAP_PATH ": %s.%s: not a 32-bit id", path, key);
        *ret = (uint32_t) v;
        return 0;
}

static int parse_owner(const cJSON *o, const char *path, struct tender_idmap_owner *ret,
                       struct tender_error *err) {
        static const char *const keys[] = {"base", "owner", "shiftTo", NULL};
        int r = tender_json_check_keys(o, path, keys, err);
        if (r >= 0)
                r = get_u32(o, path, "owner", true, &ret->owner, err);
        if (r >= 0 && cJSON_GetObjectItemCaseSensitive(o, "shiftTo")) {
                ret->shifting = true;
                r = get_u32(o, path, "shiftTo", true, &ret->shift_to, err);
        }
        return r;
}

static int parse_idmap(const cJSON *root, struct tender_idmap *m, struct tender_error *err) {
        static const char *const keys[] = {"layers", "apps", NULL};
        const cJSON *layers = NULL, *apps = NULL, *a;
        int r = cJSON_IsObject(root) ? 0 : bad(err, "expected a JSON object");
        if (r >= 0)
                r = tender_json_check_keys(root, "", keys, err);
        if (r >= 0)
                r = tender_json_get_object(root, "", "layers", true, &layers, err);
        if (r >= 0)
                r = parse_owner(layers, "layers", &m->layers, err);
        if (r >= 0)
                r = tender_json_get_object(root, "", "apps", true, &apps, err);
        if (r < 0)
                return r;
        cJSON_ArrayForEach(a, apps) {
                struct tender_idmap_app *e = &m->apps[m->n_apps];
                char path[TENDER_NAME_MAX + 8];
                if (m->n_apps >= TENDER_STORE_MAX_APPS)
                        return bad(err, "more apps than a store holds");
                if (!tender_name_valid(a->string) || !cJSON_IsObject(a))
                        return bad(err, "an app entry with a bad name or type");
                snprintf(path, sizeof(path), "apps.%s", a->string);
                snprintf(e->app, sizeof(e->app), "%s", a->string);
                r = get_u32(a, path, "base", true, &e->base, err);
                if (r >= 0)
                        r = parse_owner(a, path, &e->files, err);
                if (r < 0)
                        return r;
                m->n_apps++;
        }
        return 0;
}

int tender_store_idmap_load(const struct tender_store *s, struct tender_idmap *ret,
                            struct tender_error *err) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        size_t len = 0;

        memset(ret, 0, sizeof(*ret));
        int r = tender_read_file_at(tender_store_root_fd(s), IDMAP_PATH,
                                    TENDER_STORE_IDMAP_MAX_SIZE, &data, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "read %s/" IDMAP_PATH,
                                              tender_store_root(s));
        r = tender_json_parse(data, len, TENDER_STORE_IDMAP_MAX_SIZE, IDMAP_MAX_DEPTH, &root, err);
        if (r >= 0)
                r = parse_idmap(root, ret, err);
        if (r < 0) {
                memset(ret, 0, sizeof(*ret));
                if (err)
                        err->domain = TENDER_ERR_SYSTEM;
                return tender_error_prefix(err, "%s/" IDMAP_PATH, tender_store_root(s));
        }
        return 0;
}

static cJSON *owner_json(cJSON *o, const struct tender_idmap_owner *w) {
        cJSON_AddNumberToObject(o, "owner", w->owner);
        if (w->shifting)
                cJSON_AddNumberToObject(o, "shiftTo", w->shift_to);
        return o;
}

int tender_store_idmap_save(struct tender_store *s, const struct tender_idmap *m) {
        _cleanup_(cJSON_Deletep) cJSON *root = cJSON_CreateObject();
        _cleanup_free_ char *json = NULL;
        if (!root)
                return -ENOMEM;
        owner_json(cJSON_AddObjectToObject(root, "layers"), &m->layers);
        cJSON *apps = cJSON_AddObjectToObject(root, "apps");
        for (size_t i = 0; i < m->n_apps; i++) {
                cJSON *a = cJSON_AddObjectToObject(apps, m->apps[i].app);
                cJSON_AddNumberToObject(a, "base", m->apps[i].base);
                owner_json(a, &m->apps[i].files);
        }
        json = cJSON_Print(root);
        if (!json)
                return -ENOMEM;
        return tender_write_file_atomic_at(tender_store_root_fd(s), IDMAP_PATH, json, strlen(json),
                                           0600);
}

struct tender_idmap_app *tender_idmap_find(struct tender_idmap *m, const char *app) {
        for (size_t i = 0; i < m->n_apps; i++)
                if (STREQ(m->apps[i].app, app))
                        return &m->apps[i];
        return NULL;
}

static bool range_taken(const struct tender_idmap *m, uint64_t base, uint32_t range) {
        for (size_t i = 0; i < m->n_apps; i++) {
                uint64_t b = m->apps[i].base;
                if (b < base + range && base < b + range)
                        return true;
        }
        return false;
}

int tender_idmap_alloc(struct tender_idmap *m, const char *app, uint32_t pool_base,
                       uint32_t pool_size, uint32_t range, struct tender_idmap_app **ret,
                       struct tender_error *err) {
        struct tender_idmap_app *e = tender_idmap_find(m, app);
        if (e) {
                *ret = e;
                return 0;
        }
        if (!tender_name_valid(app) || range == 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EINVAL, "bad app name or range");
        uint64_t n = pool_size / range;
        for (uint64_t k = 1; k < n && m->n_apps < TENDER_STORE_MAX_APPS; k++) {
                uint64_t base = (uint64_t) pool_base + k * range;
                if (range_taken(m, base, range))
                        continue;
                e = &m->apps[m->n_apps++];
                *e = (struct tender_idmap_app){.base = (uint32_t) base};
                snprintf(e->app, sizeof(e->app), "%s", app);
                *ret = e;
                return 0;
        }
        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOSPC,
                                "%s: no free id range: apps.idPool (base %" PRIu32 ", size %" PRIu32
                                ") holds %" PRIu64 " ranges of %" PRIu32
                                " ids, the first one device-wide, and "
                                "%zu apps have one",
                                app, pool_base, pool_size, n, range, m->n_apps);
}

int tender_store_idmap_prune(const struct tender_store *s, struct tender_idmap *m) {
        size_t kept = 0;
        int dropped = 0;
        for (size_t i = 0; i < m->n_apps; i++) {
                char rel[TENDER_NAME_MAX + 8];
                struct stat st;
                snprintf(rel, sizeof(rel), "apps/%s", m->apps[i].app);
                if (fstatat(tender_store_root_fd(s), rel, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
                    errno == ENOENT) {
                        dropped++;
                        continue;
                }
                m->apps[kept++] = m->apps[i];
        }
        m->n_apps = kept;
        return dropped;
}
