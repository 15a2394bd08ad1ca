/* SPDX-License-Identifier: Apache-2.0 */
/* TUF repository helpers for tender-publish: keys by key id, signing, versioned writes. */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tender/canonical_json.h"
#include "tender/digest.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/tuf.h"
#include "tuf.h"

#define DAY 86400
#define MAX_SIGNERS 64

const char *const tuf_role_names[ROLE_MAX] = {"root", "timestamp", "snapshot", "targets"};
static const uint64_t default_days[ROLE_MAX] = {365, 1, 7, 90};

void tuf_repo_done(struct tuf_repo *r) {
        if (r->meta_fd >= 0)
                close(r->meta_fd);
        if (r->targets_fd >= 0)
                close(r->targets_fd);
        free(r->keys_dir);
        for (int i = 0; i < ROLE_MAX; i++)
                cJSON_Delete(r->signed_[i]);
        memset(r, 0, sizeof(*r));
        r->meta_fd = r->targets_fd = -1;
}

/* The keys must not be served: refuse a keys dir inside the repository. */
static int check_keys_outside(const char *repo, const char *keys, struct tender_error *err) {
        char rp[PATH_MAX], kp[PATH_MAX];
        if (!realpath(repo, rp) || !realpath(keys, kp))
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, errno,
                                              "Failed to resolve %s or %s", repo, keys);
        size_t n = strlen(rp);
        if (strncmp(kp, rp, n) == 0 && (kp[n] == '/' || kp[n] == '\0'))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "The keys dir %s is inside the published tree %s", keys,
                                        repo);
        return 0;
}

static int load_signed(struct tuf_repo *r, int role, struct tender_error *err) {
        char file[32];
        snprintf(file, sizeof(file), "%s.json", tuf_role_names[role]);
        _cleanup_free_ char *data = NULL;
        size_t len;
        int q = tender_read_file_at(r->meta_fd, file, TENDER_TUF_TARGETS_MAX_SIZE, &data, &len);
        if (q < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, -q,
                                              "Failed to read tuf/metadata/%s", file);
        _cleanup_(cJSON_Deletep) cJSON *doc = NULL;
        q = tender_canonical_json_parse(data, len, TENDER_TUF_TARGETS_MAX_SIZE,
                                        TENDER_TUF_MAX_DEPTH, &doc, err);
        if (q < 0)
                return tender_error_prefix(err, "tuf/metadata/%s", file);
        cJSON *s = cJSON_DetachItemFromObjectCaseSensitive(doc, "signed");
        if (!cJSON_IsObject(s)) {
                cJSON_Delete(s);
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "tuf/metadata/%s: no \"signed\" object", file);
        }
        r->signed_[role] = s;
        return 0;
}

int tuf_repo_open(const char *repo, const char *keys_dir, bool create, struct tuf_repo *ret,
                  struct tender_error *err) {
        struct tuf_repo r = {.meta_fd = -1, .targets_fd = -1};
        int q = 0;
        if (create && ((q = tender_mkdir_p_at(AT_FDCWD, repo, 0755)) < 0 ||
                       (q = tender_mkdir_p_at(AT_FDCWD, keys_dir, 0700)) < 0))
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, -q,
                                              "Failed to create %s or %s", repo, keys_dir);
        q = check_keys_outside(repo, keys_dir, err);
        if (q < 0)
                return q;
        _cleanup_close_ int fd = open(repo, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, errno, "Failed to open %s",
                                              repo);
        if (create && ((q = tender_mkdir_p_at(fd, "tuf/metadata", 0755)) < 0 ||
                       (q = tender_mkdir_p_at(fd, "tuf/targets", 0755)) < 0))
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, -q, "Failed to create %s/tuf",
                                              repo);
        r.meta_fd = openat(fd, "tuf/metadata", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        r.targets_fd = openat(fd, "tuf/targets", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        r.keys_dir = strdup(keys_dir);
        memcpy(r.days, default_days, sizeof(r.days));
        if (r.meta_fd < 0 || r.targets_fd < 0 || !r.keys_dir) {
                q = tender_error_set_errno(err, TENDER_ERR_CONFIG, errno ? errno : ENOMEM,
                                           "%s is not a TUF repository (tuf/metadata, "
                                           "tuf/targets); run tender-publish tuf-init",
                                           repo);
                tuf_repo_done(&r);
                return q;
        }
        if (create && faccessat(r.meta_fd, "root.json", F_OK, 0) == 0) {
                tuf_repo_done(&r);
                return tender_error_set(err, TENDER_ERR_CONFIG, EEXIST,
                                        "%s already holds a TUF repository", repo);
        }
        for (int i = 0; !create && i < ROLE_MAX; i++) {
                q = load_signed(&r, i, err);
                if (q < 0) {
                        tuf_repo_done(&r);
                        return q;
                }
        }
        *ret = r;
        return 0;
}

int tuf_parse_expires(struct tuf_repo *r, const char *arg, struct tender_error *err) {
        const char *eq = strchr(arg, '=');
        for (int i = 0; eq && i < ROLE_MAX; i++) {
                size_t n = strlen(tuf_role_names[i]);
                char *end;
                if ((size_t) (eq - arg) != n || strncmp(arg, tuf_role_names[i], n) != 0)
                        continue;
                errno = 0;
                unsigned long long v = strtoull(eq + 1, &end, 10);
                if (errno || *end || end == eq + 1 || v > 36500)
                        break;
                r->days[i] = v;
                return 0;
        }
        return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                "--expires %s: expected ROLE=DAYS (root, timestamp, snapshot, "
                                "targets; 0..36500 days)",
                                arg);
}

static cJSON *root_role(const struct tuf_repo *r, const cJSON *root, int role) {
        return cJSON_GetObjectItem(cJSON_GetObjectItem(root, "roles"), tuf_role_names[role]);
}

int tuf_repo_new_key(struct tuf_repo *r, int role, struct tender_error *err) {
        char tmp[PATH_MAX], path[PATH_MAX], keyid[65];
        snprintf(tmp, sizeof(tmp), "%s/.new-%d.pem", r->keys_dir, (int) getpid());
        unlink(tmp);
        _cleanup_(cJSON_Deletep) cJSON *pub = NULL;
        int q = tender_tuf_keygen(tmp, r->key_type, err);
        if (q >= 0)
                q = tender_tuf_key_public(tmp, &pub, err);
        if (q >= 0)
                q = tender_tuf_keyid(pub, keyid, err);
        if (q < 0) {
                unlink(tmp);
                return q;
        }
        snprintf(path, sizeof(path), "%s/%s.pem", r->keys_dir, keyid);
        if (rename(tmp, path) < 0) {
                unlink(tmp);
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "Failed to store key %s", path);
        }
        cJSON *root = r->signed_[ROLE_ROOT];
        cJSON *keys = cJSON_GetObjectItem(root, "keys");
        cJSON *ids = cJSON_GetObjectItem(root_role(r, root, role), "keyids");
        if (!cJSON_AddItemToObject(keys, keyid, TAKE_PTR(pub)) ||
            !cJSON_AddItemToArray(ids, cJSON_CreateString(keyid)))
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        return 0;
}

static bool key_used(const cJSON *root, const char *keyid) {
        const cJSON *roles = cJSON_GetObjectItem(root, "roles");
        for (const cJSON *role = roles ? roles->child : NULL; role; role = role->next)
                for (const cJSON *id = cJSON_GetObjectItem(role, "keyids")->child; id;
                     id = id->next)
                        if (STREQ(id->valuestring, keyid))
                                return true;
        return false;
}

void tuf_repo_clear_role(struct tuf_repo *r, int role) {
        cJSON *root = r->signed_[ROLE_ROOT];
        cJSON *ids = cJSON_GetObjectItem(root_role(r, root, role), "keyids");
        while (cJSON_GetArraySize(ids) > 0)
                cJSON_DeleteItemFromArray(ids, 0);
        cJSON *keys = cJSON_GetObjectItem(root, "keys");
        for (cJSON *k = keys->child, *next; k; k = next) {
                next = k->next;
                if (!key_used(root, k->string))
                        cJSON_DeleteItemFromObjectCaseSensitive(keys, k->string);
        }
}

/* Private key paths for the role's keyids in `root`, appended to paths (deduplicated). */
static int add_signers(const struct tuf_repo *r, const cJSON *root, int role, char **paths,
                       size_t *n, struct tender_error *err) {
        const cJSON *ids = cJSON_GetObjectItem(root_role(r, root, role), "keyids");
        uint64_t threshold = 0, have = 0;
        tender_json_get_u64(root_role(r, root, role), "role", "threshold", true, &threshold, NULL);
        for (const cJSON *id = ids ? ids->child : NULL; id; id = id->next) {
                char path[PATH_MAX];
                snprintf(path, sizeof(path), "%s/%s.pem", r->keys_dir, id->valuestring);
                if (access(path, R_OK) < 0)
                        continue;
                have++;
                bool dup = false;
                for (size_t i = 0; i < *n && !dup; i++)
                        dup = STREQ(paths[i], path);
                if (dup)
                        continue;
                if (*n >= MAX_SIGNERS || !(paths[*n] = strdup(path)))
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "too many keys");
                (*n)++;
        }
        if (have < threshold)
                return tender_error_set(err, TENDER_ERR_CONFIG, ENOKEY,
                                        "%s: %" PRIu64 " private keys in %s, the threshold is "
                                        "%" PRIu64,
                                        tuf_role_names[role], have, r->keys_dir, threshold);
        return 0;
}

static int set_expiry(cJSON *s, uint64_t days, struct tender_error *err) {
        char when[32];
        time_t t = time(NULL) + (time_t) (days * DAY);
        struct tm tm;
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        cJSON *v = cJSON_CreateString(when);
        if (!v || (cJSON_GetObjectItem(s, "expires") ? !cJSON_ReplaceItemInObject(s, "expires", v)
                                                     : !cJSON_AddItemToObject(s, "expires", v)))
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        return 0;
}

static bool consistent(const struct tuf_repo *r) {
        return cJSON_IsTrue(cJSON_GetObjectItem(r->signed_[ROLE_ROOT], "consistent_snapshot"));
}

static void free_paths(char **paths, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(paths[i]);
}

int tuf_repo_commit_role(struct tuf_repo *r, int role, const cJSON *extra_signer_root,
                         struct tender_error *err) {
        cJSON *s = r->signed_[role];
        uint64_t version = 0;
        tender_json_get_u64(s, "signed", "version", false, &version, NULL);
        version++;
        cJSON_ReplaceItemInObject(s, "version", cJSON_CreateNumber((double) version));
        int q = set_expiry(s, r->days[role], err);
        if (q < 0)
                return q;
        char *paths[MAX_SIGNERS];
        size_t n = 0;
        q = add_signers(r, r->signed_[ROLE_ROOT], role, paths, &n, err);
        if (q >= 0 && extra_signer_root)
                q = add_signers(r, extra_signer_root, ROLE_ROOT, paths, &n, err);
        _cleanup_free_ char *doc = NULL;
        size_t len = 0;
        if (q >= 0)
                q = tender_tuf_sign_metadata(s, paths, n, &doc, &len, err);
        free_paths(paths, n);
        if (q < 0)
                return q;
        char file[64];
        const char *name = tuf_role_names[role];
        if (role == ROLE_ROOT || (role != ROLE_TIMESTAMP && consistent(r))) {
                snprintf(file, sizeof(file), "%" PRIu64 ".%s.json", version, name);
                q = tender_write_file_atomic_at(r->meta_fd, file, doc, len, 0644);
        }
        snprintf(file, sizeof(file), "%s.json", name);
        if (q >= 0)
                q = tender_write_file_atomic_at(r->meta_fd, file, doc, len, 0644);
        if (q < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, -q,
                                              "Failed to write tuf/metadata/%s", file);
        return 0;
}

/* {"version": v, "length": n, "hashes": {"sha256": ...}} of metadata/<role>.json. */
static cJSON *metafile(const struct tuf_repo *r, int role, struct tender_error *err) {
        char file[32], hex[65];
        snprintf(file, sizeof(file), "%s.json", tuf_role_names[role]);
        _cleanup_free_ char *data = NULL;
        size_t len;
        int q = tender_read_file_at(r->meta_fd, file, TENDER_TUF_TARGETS_MAX_SIZE, &data, &len);
        if (q < 0) {
                tender_error_set_errno(err, TENDER_ERR_SYSTEM, -q, "Failed to read %s", file);
                return NULL;
        }
        struct tender_digest d;
        tender_sha256_buffer(data, len, &d);
        uint64_t version = 0;
        tender_json_get_u64(r->signed_[role], "signed", "version", false, &version, NULL);
        cJSON *e = cJSON_CreateObject();
        cJSON *h = cJSON_AddObjectToObject(e, "hashes");
        if (!cJSON_AddNumberToObject(e, "version", (double) version) ||
            !cJSON_AddNumberToObject(e, "length", (double) len) || !h ||
            !cJSON_AddStringToObject(h, "sha256", tender_digest_hex(&d, hex))) {
                cJSON_Delete(e);
                tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
                return NULL;
        }
        return e;
}

static int set_meta(struct tuf_repo *r, int role, int listed, struct tender_error *err) {
        char name[32];
        snprintf(name, sizeof(name), "%s.json", tuf_role_names[listed]);
        cJSON *e = metafile(r, listed, err);
        if (!e)
                return -EIO;
        cJSON *meta = cJSON_GetObjectItem(r->signed_[role], "meta");
        cJSON_DeleteItemFromObjectCaseSensitive(meta, name);
        if (!cJSON_AddItemToObject(meta, name, e))
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        return 0;
}

int tuf_repo_commit(struct tuf_repo *r, bool with_targets, struct tender_error *err) {
        int q = 0;
        if (with_targets)
                q = tuf_repo_commit_role(r, ROLE_TARGETS, NULL, err);
        if (q >= 0)
                q = set_meta(r, ROLE_SNAPSHOT, ROLE_TARGETS, err);
        if (q >= 0)
                q = tuf_repo_commit_role(r, ROLE_SNAPSHOT, NULL, err);
        if (q >= 0)
                q = set_meta(r, ROLE_TIMESTAMP, ROLE_SNAPSHOT, err);
        if (q >= 0)
                q = tuf_repo_commit_role(r, ROLE_TIMESTAMP, NULL, err);
        return q;
}
