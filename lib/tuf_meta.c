/* SPDX-License-Identifier: Apache-2.0 */
/* TUF metadata documents: strict parsing of the four role types and signature thresholds. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>

#include "tender/canonical_json.h"
#include "tender/json.h"
#include "tuf_internal.h"

#define TUF_MAX_META 100000     /* entries in snapshot's meta */
#define TUF_MAX_PATHS 1024      /* paths or prefixes of one delegated role */
#define TUF_MAX_TARGETS 1000000 /* entries of one targets document */
#define TUF_SPEC_MAJOR "1"

const char *const tuf_type_names[TUF_TYPE_MAX] = {"root", "timestamp", "snapshot", "targets"};

static void role_done(struct tuf_role *r) {
        free(r->name);
        tender_strv_free(r->keyids);
        tender_strv_free(r->paths);
        tender_strv_free(r->prefixes);
}

static void keyset_done(struct tuf_keyset *ks) {
        for (size_t i = 0; i < ks->n; i++) {
                free(ks->v[i].keyid);
                tender_tuf_key_free(ks->v[i].key);
        }
        free(ks->v);
}

void tuf_meta_free(struct tuf_meta *m) {
        if (!m)
                return;
        free(m->role);
        free(m->raw);
        cJSON_Delete(m->doc);
        free(m->canonical);
        keyset_done(&m->keys);
        keyset_done(&m->dkeys);
        for (size_t i = 0; i < TUF_TYPE_MAX; i++)
                role_done(&m->top[i]);
        for (size_t i = 0; i < m->n_meta; i++)
                free(m->meta[i].name);
        free(m->meta);
        for (size_t i = 0; i < m->n_droles; i++)
                role_done(&m->droles[i]);
        free(m->droles);
        free(m);
}

int tuf_parse_time(const char *s, time_t *ret) {
        struct tm tm = {0};
        char z = 0;
        int n = 0;
        if (strlen(s) != 20 ||
            sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &n) != 7 ||
            n != 20 || z != 'Z' || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
                return -EINVAL;
        if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
            tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
                return -EINVAL;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        *ret = timegm(&tm);
        return 0;
}

static bool is_hex(const char *s, size_t len) {
        if (strlen(s) != len)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static void hex_to_bytes(const char *s, uint8_t *out, size_t n) {
        for (size_t i = 0; i < n; i++) {
                unsigned v;
                sscanf(s + 2 * i, "%2x", &v);
                out[i] = (uint8_t) v;
        }
}

int tuf_hashes_parse(const cJSON *obj, const char *path, struct tuf_hashes *ret,
                     struct tender_error *err) {
        struct tuf_hashes h = {0};
        if (!cJSON_IsObject(obj))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: expected an object",
                                        path);
        for (const cJSON *c = obj->child; c; c = c->next) {
                if (!cJSON_IsString(c))
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                "%s.%s: expected a string", path, c->string);
                h.count++;
                if (STREQ(c->string, "sha256")) {
                        if (!is_hex(c->valuestring, 64))
                                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                        "%s.sha256: not 64 hex digits", path);
                        hex_to_bytes(c->valuestring, h.sha256, 32);
                        h.have_sha256 = true;
                } else if (STREQ(c->string, "sha512")) {
                        if (!is_hex(c->valuestring, 128))
                                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                        "%s.sha512: not 128 hex digits", path);
                        hex_to_bytes(c->valuestring, h.sha512, 64);
                        h.have_sha512 = true;
                }
        }
        if (h.count == 0)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: no hashes", path);
        *ret = h;
        return 0;
}

int tuf_hashes_check(const struct tuf_hashes *h, const void *data, size_t len) {
        if (!h->have_sha256 && !h->have_sha512)
                return -ENOTSUP;
        uint8_t out[64];
        if (h->have_sha256) {
                const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
                if (!md || mbedtls_md(md, data, len, out) != 0)
                        return -EIO;
                if (memcmp(out, h->sha256, 32) != 0)
                        return -EBADMSG;
        }
        if (h->have_sha512) {
                const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA512);
                if (!md || mbedtls_md(md, data, len, out) != 0)
                        return -EIO;
                if (memcmp(out, h->sha512, 64) != 0)
                        return -EBADMSG;
        }
        return 0;
}

static int parse_keys(const cJSON *obj, const char *path, struct tuf_keyset *ks,
                      struct tender_error *err) {
        size_t n = (size_t) cJSON_GetArraySize(obj);
        if (n > TENDER_TUF_MAX_KEYS)
                return tender_error_set(err, TENDER_ERR_JSON, E2BIG, "%s: %zu keys, more than %d",
                                        path, n, TENDER_TUF_MAX_KEYS);
        ks->v = calloc(n ? n : 1, sizeof(*ks->v));
        if (!ks->v)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        for (const cJSON *c = obj->child; c; c = c->next) {
                struct tuf_keyentry *e = &ks->v[ks->n];
                if (!cJSON_IsObject(c))
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                "%s.%s: expected an object", path, c->string);
                e->keyid = strdup(c->string);
                if (!e->keyid)
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
                ks->n++;
                int r = tender_tuf_key_parse(c, &e->key, err);
                if (r < 0)
                        return tender_error_prefix(err, "%s.%.80s", path, c->string);
        }
        return 0;
}

static int parse_role(const cJSON *obj, const char *path, struct tuf_role *role,
                      struct tender_error *err) {
        int r = tender_json_get_strv(obj, path, "keyids", true, TENDER_TUF_MAX_KEYS, &role->keyids,
                                     err);
        if (r >= 0)
                r = tender_json_get_u64(obj, path, "threshold", true, &role->threshold, err);
        if (r < 0)
                return r;
        if (role->threshold < 1)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "%s.threshold: must be at least 1", path);
        for (size_t i = 0; role->keyids[i]; i++)
                for (size_t j = 0; j < i; j++)
                        if (STREQ(role->keyids[i], role->keyids[j]))
                                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                                        "%s.keyids: key id %.16s listed twice",
                                                        path, role->keyids[i]);
        return 0;
}

static int parse_root(struct tuf_meta *m, const cJSON *s, struct tender_error *err) {
        const cJSON *keys, *roles;
        int r = tender_json_get_bool(s, "signed", "consistent_snapshot", false,
                                     &m->consistent_snapshot, err);
        if (r >= 0)
                r = tender_json_get_object(s, "signed", "keys", true, &keys, err);
        if (r >= 0)
                r = tender_json_get_object(s, "signed", "roles", true, &roles, err);
        if (r >= 0)
                r = parse_keys(keys, "signed.keys", &m->keys, err);
        for (size_t i = 0; r >= 0 && i < TUF_TYPE_MAX; i++) {
                const cJSON *role;
                char path[64];
                snprintf(path, sizeof(path), "signed.roles.%s", tuf_type_names[i]);
                r = tender_json_get_object(roles, "signed.roles", tuf_type_names[i], true, &role,
                                           err);
                if (r >= 0)
                        r = parse_role(role, path, &m->top[i], err);
        }
        return r;
}

static int parse_meta(struct tuf_meta *m, const cJSON *s, struct tender_error *err) {
        const cJSON *meta;
        int r = tender_json_get_object(s, "signed", "meta", true, &meta, err);
        if (r < 0)
                return r;
        size_t n = (size_t) cJSON_GetArraySize(meta);
        if (n > TUF_MAX_META)
                return tender_error_set(err, TENDER_ERR_JSON, E2BIG,
                                        "signed.meta: %zu entries, more than %d", n, TUF_MAX_META);
        if (m->type == TUF_TIMESTAMP && (n != 1 || !cJSON_GetObjectItem(meta, "snapshot.json")))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "signed.meta: must list snapshot.json only");
        m->meta = calloc(n ? n : 1, sizeof(*m->meta));
        if (!m->meta)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        for (const cJSON *c = meta->child; c; c = c->next) {
                struct tuf_metafile *f = &m->meta[m->n_meta];
                char path[TENDER_TUF_NAME_MAX + 32];
                const cJSON *hashes = NULL;
                snprintf(path, sizeof(path), "signed.meta.%.*s", TENDER_TUF_NAME_MAX, c->string);
                f->name = strdup(c->string);
                if (!f->name)
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
                m->n_meta++;
                r = tender_json_get_u64(c, path, "version", true, &f->version, err);
                if (r >= 0)
                        r = tender_json_get_u64(c, path, "length", false, &f->length, err);
                if (r >= 0)
                        f->has_length = cJSON_GetObjectItemCaseSensitive(c, "length") != NULL;
                if (r >= 0)
                        r = tender_json_get_object(c, path, "hashes", false, &hashes, err);
                if (r >= 0 && hashes) {
                        char hpath[sizeof(path) + 8];
                        snprintf(hpath, sizeof(hpath), "%s.hashes", path);
                        r = tuf_hashes_parse(hashes, hpath, &f->hashes, err);
                }
                if (r < 0)
                        return r;
                if (f->version < 1)
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                "%s.version: must be at least 1", path);
        }
        return 0;
}

static int parse_delegations(struct tuf_meta *m, const cJSON *d, struct tender_error *err) {
        const cJSON *keys, *roles;
        int r = tender_json_get_object(d, "signed.delegations", "keys", true, &keys, err);
        if (r >= 0)
                r = tender_json_get_array(d, "signed.delegations", "roles", true, &roles, err);
        if (r >= 0)
                r = parse_keys(keys, "signed.delegations.keys", &m->dkeys, err);
        if (r < 0)
                return r;
        size_t n = (size_t) cJSON_GetArraySize(roles);
        if (n > TENDER_TUF_MAX_ROLES)
                return tender_error_set(err, TENDER_ERR_JSON, E2BIG,
                                        "signed.delegations.roles: %zu roles, more than %d", n,
                                        TENDER_TUF_MAX_ROLES);
        m->droles = calloc(n ? n : 1, sizeof(*m->droles));
        if (!m->droles)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        for (const cJSON *c = roles->child; c; c = c->next) {
                struct tuf_role *role = &m->droles[m->n_droles];
                char path[64];
                const char *name;
                snprintf(path, sizeof(path), "signed.delegations.roles[%zu]", m->n_droles);
                m->n_droles++;
                r = tender_json_get_string(c, path, "name", true, &name, err);
                if (r >= 0)
                        r = parse_role(c, path, role, err);
                if (r >= 0)
                        r = tender_json_get_bool(c, path, "terminating", true, &role->terminating,
                                                 err);
                if (r >= 0)
                        r = tender_json_get_strv(c, path, "paths", false, TUF_MAX_PATHS,
                                                 &role->paths, err);
                if (r >= 0)
                        r = tender_json_get_strv(c, path, "path_hash_prefixes", false,
                                                 TUF_MAX_PATHS, &role->prefixes, err);
                if (r < 0)
                        return r;
                if (role->paths && role->prefixes)
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                "%s: both paths and path_hash_prefixes", path);
                size_t nlen = strlen(name);
                if (nlen == 0 || nlen > TENDER_TUF_NAME_MAX)
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                "%s.name: empty or longer than %d bytes", path,
                                                TENDER_TUF_NAME_MAX);
                for (size_t t = 0; t < TUF_TYPE_MAX; t++)
                        if (STREQ(name, tuf_type_names[t]))
                                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                        "%s.name: \"%s\" is a top-level role", path,
                                                        name);
                for (size_t j = 0; j + 1 < m->n_droles; j++)
                        if (STREQ(m->droles[j].name, name))
                                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                        "%s.name: role \"%.64s\" delegated twice",
                                                        path, name);
                role->name = strdup(name);
                if (!role->name)
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        }
        return 0;
}

static int parse_targets(struct tuf_meta *m, const cJSON *s, struct tender_error *err) {
        const cJSON *d = NULL;
        int r = tender_json_get_object(s, "signed", "targets", true, &m->targets, err);
        if (r >= 0)
                r = tender_json_get_object(s, "signed", "delegations", false, &d, err);
        if (r < 0)
                return r;
        size_t n = 0;
        for (const cJSON *c = m->targets->child; c; c = c->next) {
                char path[64];
                uint64_t length;
                const cJSON *hashes, *custom = NULL;
                struct tuf_hashes h;
                if (++n > TUF_MAX_TARGETS)
                        return tender_error_set(err, TENDER_ERR_JSON, E2BIG,
                                                "signed.targets: more than %d targets",
                                                TUF_MAX_TARGETS);
                snprintf(path, sizeof(path), "signed.targets[\"%.40s\"]", c->string);
                r = tender_json_get_u64(c, path, "length", true, &length, err);
                if (r >= 0)
                        r = tender_json_get_object(c, path, "hashes", true, &hashes, err);
                if (r >= 0)
                        r = tender_json_get_object(c, path, "custom", false, &custom, err);
                if (r >= 0)
                        r = tuf_hashes_parse(hashes, path, &h, err);
                if (r < 0)
                        return r;
        }
        return d ? parse_delegations(m, d, err) : 0;
}

/* A key id for a message: at most 64 characters, anything but [0-9A-Za-z_-] shown as '?' (it
 * comes from the network). */
static const char *printable_keyid(const char *keyid, char out[static 68]) {
        size_t i = 0;
        for (; keyid[i] && i < 64; i++)
                out[i] = (strchr("-_", keyid[i]) || (keyid[i] >= '0' && keyid[i] <= '9') ||
                          (keyid[i] >= 'a' && keyid[i] <= 'z') ||
                          (keyid[i] >= 'A' && keyid[i] <= 'Z'))
                                 ? keyid[i]
                                 : '?';
        strcpy(out + i, keyid[i] ? "..." : "");
        return out;
}

/* Two signatures under one key id make the document invalid (as python-tuf and go-tuf have
 * it), rather than being counted once: a repository never writes that. */
static int check_signed_once(const cJSON *sigs, const cJSON *sig, const char *keyid,
                             struct tender_error *err) {
        for (const cJSON *c = sigs->child; c != sig; c = c->next) {
                if (!STREQ(cJSON_GetObjectItemCaseSensitive(c, "keyid")->valuestring, keyid))
                        continue;
                char shown[68];
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "signatures: key id %s signs more than once",
                                        printable_keyid(keyid, shown));
        }
        return 0;
}

static int parse_signed(struct tuf_meta *m, struct tender_error *err) {
        const cJSON *s;
        const char *type, *spec, *expires;
        const cJSON *sigs;
        int r = tender_json_get_object(m->doc, "", "signed", true, &s, err);
        if (r >= 0)
                r = tender_json_get_array(m->doc, "", "signatures", true, &sigs, err);
        if (r >= 0)
                r = tender_json_get_string(s, "signed", "_type", true, &type, err);
        if (r >= 0)
                r = tender_json_get_string(s, "signed", "spec_version", true, &spec, err);
        if (r >= 0)
                r = tender_json_get_u64(s, "signed", "version", true, &m->version, err);
        if (r >= 0)
                r = tender_json_get_string(s, "signed", "expires", true, &expires, err);
        if (r < 0)
                return r;
        m->signed_part = s;
        if (!STREQ(type, tuf_type_names[m->type]))
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "signed._type is \"%.32s\", expected \"%s\"", type,
                                        tuf_type_names[m->type]);
        size_t major = strcspn(spec, ".");
        if (major != strlen(TUF_SPEC_MAJOR) || strncmp(spec, TUF_SPEC_MAJOR, major) != 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "spec_version \"%.32s\" is not 1.x", spec);
        if (m->version < 1)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "signed.version: must be at least 1");
        if (tuf_parse_time(expires, &m->expires) < 0)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "signed.expires: \"%.32s\" is not YYYY-MM-DDTHH:MM:SSZ",
                                        expires);
        if (cJSON_GetArraySize(sigs) > TENDER_TUF_MAX_SIGNATURES)
                return tender_error_set(err, TENDER_ERR_JSON, E2BIG, "signatures: more than %d",
                                        TENDER_TUF_MAX_SIGNATURES);
        for (const cJSON *c = sigs->child; c; c = c->next) {
                const char *keyid, *v;
                r = tender_json_get_string(c, "signatures[]", "keyid", true, &keyid, err);
                if (r >= 0)
                        r = tender_json_get_string(c, "signatures[]", "sig", true, &v, err);
                if (r < 0)
                        return r;
                r = check_signed_once(sigs, c, keyid, err);
                if (r < 0)
                        return r;
        }
        switch (m->type) {
        case TUF_ROOT:
                r = parse_root(m, s, err);
                break;
        case TUF_TIMESTAMP:
        case TUF_SNAPSHOT:
                r = parse_meta(m, s, err);
                break;
        default:
                r = parse_targets(m, s, err);
                break;
        }
        if (r < 0)
                return r;
        return tender_canonical_json(s, &m->canonical, &m->canonical_len, err);
}

int tuf_meta_parse(const char *data, size_t len, enum tuf_type type, const char *role,
                   struct tuf_meta **ret, struct tender_error *err) {
        static const size_t caps[TUF_TYPE_MAX] = {
                TENDER_TUF_ROOT_MAX_SIZE, TENDER_TUF_TIMESTAMP_MAX_SIZE,
                TENDER_TUF_SNAPSHOT_MAX_SIZE, TENDER_TUF_TARGETS_MAX_SIZE};
        _cleanup_(tuf_meta_freep) struct tuf_meta *m = calloc(1, sizeof(*m));
        if (!m || !(m->role = strdup(role)) || !(m->raw = malloc(len + 1)))
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        m->type = type;
        memcpy(m->raw, data, len);
        m->raw[len] = '\0';
        m->raw_len = len;
        int r = tender_canonical_json_parse(data, len, caps[type], TENDER_TUF_MAX_DEPTH, &m->doc,
                                            err);
        if (r >= 0)
                r = parse_signed(m, err);
        if (r < 0)
                return tender_error_prefix(err, "%s", role);
        *ret = TAKE_PTR(m);
        return 0;
}

static const struct tender_tuf_key *find_key(const struct tuf_keyset *ks, const char *keyid) {
        for (size_t i = 0; i < ks->n; i++)
                if (STREQ(ks->v[i].keyid, keyid))
                        return ks->v[i].key;
        return NULL;
}

static bool role_has_keyid(const struct tuf_role *role, const char *keyid) {
        for (char **k = role->keyids; k && *k; k++)
                if (STREQ(*k, keyid))
                        return true;
        return false;
}

int tuf_meta_verify(const struct tuf_meta *m, const struct tuf_keyset *keys,
                    const struct tuf_role *role, struct tender_error *err) {
        const struct tender_tuf_key *counted[TENDER_TUF_MAX_SIGNATURES];
        size_t n_counted = 0, bad = 0, unsupported = 0, foreign = 0, dup = 0;
        const cJSON *sigs = cJSON_GetObjectItemCaseSensitive(m->doc, "signatures");
        char last_reason[160] = "";
        for (const cJSON *c = sigs ? sigs->child : NULL; c; c = c->next) {
                const char *keyid = cJSON_GetObjectItemCaseSensitive(c, "keyid")->valuestring;
                const char *sig = cJSON_GetObjectItemCaseSensitive(c, "sig")->valuestring;
                const struct tender_tuf_key *k =
                        role_has_keyid(role, keyid) ? find_key(keys, keyid) : NULL;
                if (!k) {
                        foreign++;
                        continue;
                }
                if (!tender_tuf_key_usable(k)) {
                        unsupported++;
                        continue;
                }
                bool seen = false;
                for (size_t i = 0; i < n_counted && !seen; i++)
                        seen = counted[i] == k || tender_tuf_key_equal(counted[i], k);
                if (seen) {
                        dup++;
                        continue;
                }
                struct tender_error e = {0};
                if (tender_tuf_key_verify(k, m->canonical, m->canonical_len, sig, &e) < 0) {
                        bad++;
                        snprintf(last_reason, sizeof(last_reason), "; %.150s", e.message);
                        continue;
                }
                counted[n_counted++] = k;
        }
        if (n_counted >= role->threshold)
                return 0;
        return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                "%s: signature threshold not met: %zu of %" PRIu64
                                " needed (%zu bad, %zu by keys not of this role, %zu by "
                                "unsupported key types, %zu by a key already counted)%s",
                                m->role, n_counted, role->threshold, bad, foreign, unsupported, dup,
                                last_reason);
}

const struct tuf_metafile *tuf_meta_find(const struct tuf_meta *m, const char *name) {
        for (size_t i = 0; i < m->n_meta; i++)
                if (STREQ(m->meta[i].name, name))
                        return &m->meta[i];
        return NULL;
}
