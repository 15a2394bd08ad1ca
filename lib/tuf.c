/* SPDX-License-Identifier: Apache-2.0 */
/* TUF client: trusted metadata, the root chain and the timestamp/snapshot/targets updates
 * (specification 1.0.x, section 5 "Detailed client workflow"). */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tender/fileio.h"
#include "tender/http.h"
#include "tender/json.h"
#include "tuf_internal.h"

#define ROLE_FILE_MAX (TENDER_TUF_NAME_MAX * 3 + 32)
#define URL_MAX 4096

char *tender_tuf_quote(const char *s, bool keep_slash) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(s);
        if (n > SIZE_MAX / 3 - 1)
                return NULL;
        char *out = malloc(3 * n + 1), *p = out;
        if (!out)
                return NULL;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                    (*c >= '0' && *c <= '9') || strchr("-._~", *c) || (keep_slash && *c == '/')) {
                        *p++ = (char) *c;
                } else {
                        *p++ = '%';
                        *p++ = hex[*c >> 4];
                        *p++ = hex[*c & 0xf];
                }
        }
        *p = '\0';
        return out;
}

static int http_fetch(struct tender_tuf *t, const char *url, size_t max, char **ret_body,
                      size_t *ret_len, struct tender_error *err) {
        if (!t->http) {
                struct tender_http_options o = {.ca_file = t->ca_file};
                int r = tender_http_new(&o, &t->http);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, -r,
                                                      "Failed to set up HTTP");
        }
        return tender_http_get(t->http, url, max, ret_body, ret_len, err);
}

int tuf_fetch(struct tender_tuf *t, const char *base, const char *file, size_t max, char **ret_body,
              size_t *ret_len, struct tender_error *err) {
        char url[URL_MAX];
        if (!base)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "no URL configured");
        size_t blen = strlen(base);
        while (blen > 0 && base[blen - 1] == '/')
                blen--;
        if ((size_t) snprintf(url, sizeof(url), "%.*s/%s", (int) blen, base, file) >= sizeof(url))
                return tender_error_set(err, TENDER_ERR_CONFIG, ENAMETOOLONG, "URL too long");
        size_t len = 0;
        char *body = NULL;
        int r = t->fetch ? t->fetch(t->fetch_userdata, url, max, &body, &len, err)
                         : http_fetch(t, url, max, &body, &len, err);
        if (r < 0)
                return r;
        if (len > max) { /* a custom fetcher that ignored the cap */
                free(body);
                return tender_error_set(err, TENDER_ERR_NETWORK, EFBIG, "%s: more than %zu bytes",
                                        url, max);
        }
        *ret_body = body;
        *ret_len = len;
        return 0;
}

/* Spec 5.3.8, 5.4.5, 5.5.7, 5.6.6: each role is persisted as soon as it verified, so the
 * rollback protection it gives holds even when a later step fails. Each write is durable and
 * atomic (temp file, fsync, rename, fsync of the directory): a crash leaves the old or the new
 * copy, and whatever mix of versions it leaves is re-verified by the next refresh. */
int tuf_persist(struct tender_tuf *t, const char *file, const struct tuf_meta *m,
                struct tender_error *err) {
        int r = tender_write_file_atomic_at(t->dirfd, file, m->raw, m->raw_len, 0644);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, -r,
                                              "%s: Failed to persist %s", m->role, file);
        return 0;
}

static int check_expiry(const struct tender_tuf *t, const struct tuf_meta *m,
                        struct tender_error *err) {
        if (m->expires > t->now)
                return 0;
        char when[32];
        struct tm tm;
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&m->expires, &tm));
        return tender_error_set(err, TENDER_ERR_VERIFY, ESTALE,
                                "%s: version %" PRIu64 " expired at %s (freeze attack or a stale "
                                "repository)",
                                m->role, m->version, when);
}

/* Reads dirfd/file and parses it; NULL-safe errors are dropped: a missing or broken local copy
 * is simply not trusted. */
static struct tuf_meta *read_local(struct tender_tuf *t, const char *file, enum tuf_type type,
                                   const char *role, size_t max) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        struct tuf_meta *m = NULL;
        if (tender_read_file_at(t->dirfd, file, max, &data, &len) < 0)
                return NULL;
        if (tuf_meta_parse(data, len, type, role, &m, NULL) < 0)
                return NULL;
        return m;
}

static int verify_root_self(const struct tuf_meta *root, struct tender_error *err) {
        return tuf_meta_verify(root, &root->keys, &root->top[TUF_ROOT], err);
}

int tender_tuf_init(int dirfd, const char *root_json, size_t len, struct tender_error *err) {
        _cleanup_(tuf_meta_freep) struct tuf_meta *root = NULL;
        int r = tuf_meta_parse(root_json, len, TUF_ROOT, "root", &root, err);
        if (r >= 0)
                r = verify_root_self(root, err);
        if (r < 0)
                return r;
        r = tender_write_file_atomic_at(dirfd, "root.json", root_json, len, 0644);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, -r,
                                              "root: Failed to write root.json");
        for (int i = TUF_TIMESTAMP; i < TUF_TYPE_MAX; i++) {
                char file[32];
                snprintf(file, sizeof(file), "%s.json", tuf_type_names[i]);
                if (unlinkat(dirfd, file, 0) < 0 && errno != ENOENT)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                                      "Failed to remove %s", file);
        }
        return 0;
}

int tender_tuf_open(int dirfd, const struct tender_tuf_options *opts, struct tender_tuf **ret,
                    struct tender_error *err) {
        _cleanup_(tender_tuf_freep) struct tender_tuf *t = calloc(1, sizeof(*t));
        if (!t)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        t->dirfd = dirfd;
        t->fetch = opts->fetch;
        t->fetch_userdata = opts->fetch_userdata;
        t->fixed_now = opts->now;
        if ((opts->metadata_url && !(t->metadata_url = strdup(opts->metadata_url))) ||
            (opts->targets_url && !(t->targets_url = strdup(opts->targets_url))) ||
            (opts->ca_file && !(t->ca_file = strdup(opts->ca_file))))
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = tender_read_file_at(dirfd, "root.json", TENDER_TUF_ROOT_MAX_SIZE, &data, &len);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, -r,
                                              "root: no trusted root.json");
        r = tuf_meta_parse(data, len, TUF_ROOT, "root", &t->top[TUF_ROOT], err);
        if (r >= 0)
                r = verify_root_self(t->top[TUF_ROOT], err);
        if (r < 0)
                return tender_error_prefix(err, "trusted root.json");
        /* Local copies of the other roles, for versions and rollback checks. */
        for (int i = TUF_TIMESTAMP; i < TUF_TYPE_MAX; i++) {
                char file[32];
                snprintf(file, sizeof(file), "%s.json", tuf_type_names[i]);
                struct tuf_meta *m = read_local(t, file, (enum tuf_type) i, tuf_type_names[i],
                                                TENDER_TUF_TARGETS_MAX_SIZE);
                const struct tuf_meta *root = t->top[TUF_ROOT];
                if (m && tuf_meta_verify(m, &root->keys, &root->top[i], NULL) < 0) {
                        tuf_meta_free(m);
                        m = NULL;
                }
                t->top[i] = m;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

static void drop_delegated(struct tender_tuf *t) {
        for (size_t i = 0; i < t->n_delegated; i++)
                tuf_meta_free(t->delegated[i]);
        free(t->delegated);
        t->delegated = NULL;
        t->n_delegated = 0;
}

void tender_tuf_free(struct tender_tuf *t) {
        if (!t)
                return;
        for (int i = 0; i < TUF_TYPE_MAX; i++)
                tuf_meta_free(t->top[i]);
        drop_delegated(t);
        tender_http_free(t->http);
        free(t->metadata_url);
        free(t->targets_url);
        free(t->ca_file);
        free(t);
}

uint64_t tender_tuf_version(const struct tender_tuf *t, const char *role) {
        for (int i = 0; i < TUF_TYPE_MAX; i++)
                if (STREQ(role, tuf_type_names[i]))
                        return t->top[i] ? t->top[i]->version : 0;
        for (size_t i = 0; i < t->n_delegated; i++)
                if (STREQ(role, t->delegated[i]->role))
                        return t->delegated[i]->version;
        return 0;
}

static bool same_role_keys(const struct tuf_role *a, const struct tuf_role *b) {
        if (a->threshold != b->threshold ||
            tender_strv_length(a->keyids) != tender_strv_length(b->keyids))
                return false;
        for (char **k = a->keyids; *k; k++) {
                bool found = false;
                for (char **l = b->keyids; *l && !found; l++)
                        found = STREQ(*k, *l);
                if (!found)
                        return false;
        }
        return true;
}

/* Spec 5.3: N+1.root.json until there is none, each signed by a threshold of the trusted and
 * of its own root keys, version exactly N+1. */
static int update_root(struct tender_tuf *t, struct tender_error *err) {
        struct tuf_meta *const old = t->top[TUF_ROOT];
        struct tuf_meta *cur = old;
        for (unsigned step = 0; step < TENDER_TUF_MAX_ROOT_ROTATIONS; step++) {
                char file[48];
                uint64_t next = cur->version + 1;
                snprintf(file, sizeof(file), "%" PRIu64 ".root.json", next);
                _cleanup_free_ char *data = NULL;
                size_t len;
                struct tender_error ferr = {0};
                int r = tuf_fetch(t, t->metadata_url, file, TENDER_TUF_ROOT_MAX_SIZE, &data, &len,
                                  &ferr);
                if (r == -ENOENT || r == -EACCES)
                        break;
                if (r < 0) {
                        if (err)
                                *err = ferr;
                        return tender_error_prefix(err, "root: fetching %s", file);
                }
                _cleanup_(tuf_meta_freep) struct tuf_meta *m = NULL;
                r = tuf_meta_parse(data, len, TUF_ROOT, "root", &m, err);
                if (r < 0)
                        return r;
                r = tuf_meta_verify(m, &cur->keys, &cur->top[TUF_ROOT], err);
                if (r < 0)
                        return tender_error_prefix(
                                err, "root: %s (by the trusted root version %" PRIu64 ")", file,
                                cur->version);
                r = verify_root_self(m, err);
                if (r < 0)
                        return tender_error_prefix(err, "root: %s (by its own keys)", file);
                if (m->version != next)
                        return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                                "root: %s holds version %" PRIu64
                                                ", expected %" PRIu64 " (rollback or skip)",
                                                file, m->version, next);
                r = tuf_persist(t, "root.json", m, err);
                if (r < 0)
                        return r;
                if (cur != old)
                        tuf_meta_free(cur);
                cur = TAKE_PTR(m);
                t->top[TUF_ROOT] = cur;
        }
        if (cur != old) {
                /* Fast-forward recovery (5.3.11): rotated timestamp or snapshot keys make the
                 * old copies unverifiable, and their versions must not block new ones. */
                if (!same_role_keys(&old->top[TUF_TIMESTAMP], &cur->top[TUF_TIMESTAMP]) ||
                    !same_role_keys(&old->top[TUF_SNAPSHOT], &cur->top[TUF_SNAPSHOT])) {
                        for (int i = TUF_TIMESTAMP; i <= TUF_SNAPSHOT; i++) {
                                char file[32];
                                snprintf(file, sizeof(file), "%s.json", tuf_type_names[i]);
                                if (unlinkat(t->dirfd, file, 0) < 0 && errno != ENOENT)
                                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                                                      "Failed to remove %s", file);
                        }
                        int r = tender_fsync_dir_at(t->dirfd, NULL);
                        if (r < 0)
                                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, -r,
                                                              "Failed to sync the metadata "
                                                              "directory");
                }
                tuf_meta_free(old);
        }
        return check_expiry(t, cur, err);
}

/* The trusted copy of a top-level role on disk, if it still verifies under the current root. */
static struct tuf_meta *trusted_local(struct tender_tuf *t, enum tuf_type type) {
        char file[32];
        snprintf(file, sizeof(file), "%s.json", tuf_type_names[type]);
        struct tuf_meta *m =
                read_local(t, file, type, tuf_type_names[type], TENDER_TUF_TARGETS_MAX_SIZE);
        const struct tuf_meta *root = t->top[TUF_ROOT];
        if (m && tuf_meta_verify(m, &root->keys, &root->top[type], NULL) < 0) {
                tuf_meta_free(m);
                return NULL;
        }
        return m;
}

static void set_top(struct tender_tuf *t, enum tuf_type type, struct tuf_meta *m) {
        tuf_meta_free(t->top[type]);
        t->top[type] = m;
}

/* Spec 5.4. */
static int update_timestamp(struct tender_tuf *t, struct tender_error *err) {
        const struct tuf_meta *root = t->top[TUF_ROOT];
        _cleanup_(tuf_meta_freep) struct tuf_meta *old = trusted_local(t, TUF_TIMESTAMP);
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = tuf_fetch(t, t->metadata_url, "timestamp.json", TENDER_TUF_TIMESTAMP_MAX_SIZE,
                          &data, &len, err);
        if (r < 0)
                return tender_error_prefix(err, "timestamp");
        _cleanup_(tuf_meta_freep) struct tuf_meta *m = NULL;
        r = tuf_meta_parse(data, len, TUF_TIMESTAMP, "timestamp", &m, err);
        if (r >= 0)
                r = tuf_meta_verify(m, &root->keys, &root->top[TUF_TIMESTAMP], err);
        if (r < 0)
                return r;
        if (old && m->version < old->version)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "timestamp: version %" PRIu64
                                        " is lower than the trusted version %" PRIu64 " (rollback)",
                                        m->version, old->version);
        if (old && m->version == old->version) {
                /* Nothing new; the trusted one stays (it may still have expired). */
                r = check_expiry(t, old, err);
                if (r >= 0)
                        set_top(t, TUF_TIMESTAMP, TAKE_PTR(old));
                return r;
        }
        if (old) {
                const struct tuf_metafile *a = tuf_meta_find(old, "snapshot.json"),
                                          *b = tuf_meta_find(m, "snapshot.json");
                if (b->version < a->version)
                        return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                                "timestamp: snapshot version %" PRIu64
                                                " is lower than the trusted %" PRIu64 " (rollback)",
                                                b->version, a->version);
        }
        r = check_expiry(t, m, err);
        if (r >= 0)
                r = tuf_persist(t, "timestamp.json", m, err);
        if (r >= 0)
                set_top(t, TUF_TIMESTAMP, TAKE_PTR(m));
        return r;
}

int tuf_check_metafile(const struct tuf_metafile *f, const char *role, const char *data, size_t len,
                       struct tender_error *err) {
        if (f->has_length && len != f->length)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "%s: %zu bytes, the signed length is %" PRIu64, role, len,
                                        f->length);
        if (f->hashes.count == 0)
                return 0;
        int r = tuf_hashes_check(&f->hashes, data, len);
        if (r == -ENOTSUP)
                return tender_error_set(err, TENDER_ERR_VERIFY, ENOTSUP,
                                        "%s: no supported hash type (sha256, sha512) listed", role);
        if (r < 0)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "%s: hash mismatch with the signed hashes", role);
        return 0;
}

/* Spec 5.5.5: no role listed by the trusted snapshot may vanish or go back. */
static int check_snapshot_rollback(const struct tuf_meta *old, const struct tuf_meta *m,
                                   struct tender_error *err) {
        for (size_t i = 0; i < old->n_meta; i++) {
                const struct tuf_metafile *a = &old->meta[i], *b = tuf_meta_find(m, a->name);
                if (!b)
                        return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                                "snapshot: %.200s was dropped (the trusted "
                                                "snapshot lists it)",
                                                a->name);
                if (b->version < a->version)
                        return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                                "snapshot: %.200s version %" PRIu64
                                                " is lower than the trusted %" PRIu64 " (rollback)",
                                                a->name, b->version, a->version);
        }
        return 0;
}

static int update_snapshot(struct tender_tuf *t, struct tender_error *err) {
        const struct tuf_meta *root = t->top[TUF_ROOT];
        const struct tuf_metafile *f = tuf_meta_find(t->top[TUF_TIMESTAMP], "snapshot.json");
        _cleanup_(tuf_meta_freep) struct tuf_meta *old = trusted_local(t, TUF_SNAPSHOT);
        if (old && old->version == f->version &&
            tuf_check_metafile(f, "snapshot", old->raw, old->raw_len, NULL) >= 0 &&
            old->expires > t->now) {
                set_top(t, TUF_SNAPSHOT, TAKE_PTR(old));
                return 0;
        }
        char file[48];
        if (root->consistent_snapshot)
                snprintf(file, sizeof(file), "%" PRIu64 ".snapshot.json", f->version);
        else
                snprintf(file, sizeof(file), "snapshot.json");
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = tuf_fetch(t, t->metadata_url, file,
                          f->has_length ? f->length : TENDER_TUF_SNAPSHOT_MAX_SIZE, &data, &len,
                          err);
        if (r < 0)
                return tender_error_prefix(err, "snapshot");
        r = tuf_check_metafile(f, "snapshot", data, len, err);
        if (r < 0)
                return r;
        _cleanup_(tuf_meta_freep) struct tuf_meta *m = NULL;
        r = tuf_meta_parse(data, len, TUF_SNAPSHOT, "snapshot", &m, err);
        if (r >= 0)
                r = tuf_meta_verify(m, &root->keys, &root->top[TUF_SNAPSHOT], err);
        if (r < 0)
                return r;
        if (m->version != f->version)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "snapshot: version %" PRIu64 " is not the version %" PRIu64
                                        " timestamp lists",
                                        m->version, f->version);
        if (old) {
                r = check_snapshot_rollback(old, m, err);
                if (r < 0)
                        return r;
        }
        r = check_expiry(t, m, err);
        if (r >= 0)
                r = tuf_persist(t, "snapshot.json", m, err);
        if (r >= 0)
                set_top(t, TUF_SNAPSHOT, TAKE_PTR(m));
        return r;
}

static int update_targets(struct tender_tuf *t, struct tender_error *err) {
        const struct tuf_meta *root = t->top[TUF_ROOT];
        const struct tuf_metafile *f = tuf_meta_find(t->top[TUF_SNAPSHOT], "targets.json");
        if (!f)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "snapshot: does not list targets.json");
        struct tuf_meta *m = NULL;
        int r = tuf_load_role(t, TUF_TARGETS, "targets", f, &root->keys, &root->top[TUF_TARGETS],
                              &m, err);
        if (r >= 0)
                set_top(t, TUF_TARGETS, m);
        return r;
}

int tender_tuf_refresh(struct tender_tuf *t, struct tender_error *err) {
        t->now = t->fixed_now ? t->fixed_now : time(NULL);
        t->refreshed = false;
        drop_delegated(t);
        /* Each role is persisted as soon as it verified (tuf_persist): a rotated root revokes
         * keys, a newer timestamp or snapshot raises the rollback floor, and a later failure
         * must undo neither. */
        int r = update_root(t, err);
        if (r >= 0)
                r = update_timestamp(t, err);
        if (r >= 0)
                r = update_snapshot(t, err);
        if (r >= 0)
                r = update_targets(t, err);
        if (r >= 0)
                t->refreshed = true;
        return r;
}
