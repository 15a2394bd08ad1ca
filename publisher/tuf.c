/* SPDX-License-Identifier: Apache-2.0 */
/* tender-publish tuf-init / tuf-add / tuf-remove / tuf-rotate / tuf-refresh (docs/tuf.md). */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "publish.h"
#include "tender/digest.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/log.h"
#include "tender/manifest.h"
#include "tender/name.h"
#include "tender/tuf.h"
#include "tuf.h"

struct tuf_opts {
        const char *repo, *keys, *app, *version, *file, *role;
        uint64_t count, threshold;
        bool no_consistent;
        const char *expires[8];
        size_t n_expires;
        enum tender_tuf_keytype key_type;
};

enum { OPT_EXPIRES = 256, OPT_NO_CONSISTENT, OPT_KEY_TYPE };

static int parse_opts(int argc, char **argv, const char *usage, struct tuf_opts *o) {
        static const struct option options[] = {
                {"repo", required_argument, NULL, 'r'},
                {"keys", required_argument, NULL, 'k'},
                {"app", required_argument, NULL, 'a'},
                {"version", required_argument, NULL, 'v'},
                {"file", required_argument, NULL, 'f'},
                {"role", required_argument, NULL, 'R'},
                {"root-keys", required_argument, NULL, 'n'},
                {"count", required_argument, NULL, 'n'},
                {"root-threshold", required_argument, NULL, 't'},
                {"threshold", required_argument, NULL, 't'},
                {"expires", required_argument, NULL, OPT_EXPIRES},
                {"no-consistent-snapshot", no_argument, NULL, OPT_NO_CONSISTENT},
                {"key-type", required_argument, NULL, OPT_KEY_TYPE},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct tender_error err = {0};
        int c;
        o->count = o->threshold = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'r':
                        o->repo = optarg;
                        break;
                case 'k':
                        o->keys = optarg;
                        break;
                case 'a':
                        o->app = optarg;
                        break;
                case 'v':
                        o->version = optarg;
                        break;
                case 'f':
                        o->file = optarg;
                        break;
                case 'R':
                        o->role = optarg;
                        break;
                case 'n':
                case 't':
                        if (parse_u64_option(c == 'n' ? "--count" : "--threshold", optarg,
                                             c == 'n' ? &o->count : &o->threshold, &err) < 0) {
                                log_error("%s", err.message);
                                return 2;
                        }
                        break;
                case OPT_EXPIRES:
                        if (o->n_expires >= ELEMENTSOF(o->expires)) {
                                log_error("Too many --expires");
                                return 2;
                        }
                        o->expires[o->n_expires++] = optarg;
                        break;
                case OPT_NO_CONSISTENT:
                        o->no_consistent = true;
                        break;
                case OPT_KEY_TYPE:
                        if (STREQ(optarg, "ecdsa"))
                                o->key_type = TENDER_TUF_KEY_ECDSA_P256;
                        else if (STREQ(optarg, "ed25519"))
                                o->key_type = TENDER_TUF_KEY_ED25519;
                        else {
                                log_error("--key-type takes ecdsa or ed25519");
                                return 2;
                        }
                        break;
                case 'h':
                        puts(usage);
                        return 1;
                default:
                        return 2;
                }
        }
        if (!o->repo || !o->keys || optind != argc) {
                log_error("Needs --repo DIR and --keys DIR");
                fprintf(stderr, "%s\n", usage); /* several lines: not a log message */
                return 2;
        }
        return 0;
}

static int open_repo(const struct tuf_opts *o, bool create, struct tuf_repo *r,
                     struct tender_error *err) {
        int q = tuf_repo_open(o->repo, o->keys, create, r, err);
        r->key_type = o->key_type;
        for (size_t i = 0; q >= 0 && i < o->n_expires; i++)
                q = tuf_parse_expires(r, o->expires[i], err);
        return q;
}

static int finish(struct tuf_repo *r, int q, const struct tender_error *err) {
        tuf_repo_done(r);
        if (q < 0) {
                log_error("%s", err->message);
                return 1;
        }
        return 0;
}

/* Dispatch: 0 = go on, else the exit code to return. */
#define PARSE(usage)                                                                               \
        struct tuf_opts o = {0};                                                                   \
        int _p = parse_opts(argc, argv, usage, &o);                                                \
        if (_p != 0)                                                                               \
                return _p == 1 ? 0 : _p;                                                           \
        struct tender_error err = {0};                                                             \
        struct tuf_repo r = {.meta_fd = -1, .targets_fd = -1}

static cJSON *new_signed(const char *type) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "_type", type);
        cJSON_AddStringToObject(s, "spec_version", "1.0.31");
        cJSON_AddNumberToObject(s, "version", 0);
        cJSON_AddStringToObject(s, "expires", "1970-01-01T00:00:00Z");
        return s;
}

static int tuf_init(struct tuf_repo *r, const struct tuf_opts *o, struct tender_error *err) {
        if (o->threshold < 1 || o->threshold > o->count || o->count > 32)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "--root-threshold must be 1..--root-keys (at most 32)");
        cJSON *root = r->signed_[ROLE_ROOT] = new_signed("root");
        r->signed_[ROLE_TARGETS] = new_signed("targets");
        r->signed_[ROLE_SNAPSHOT] = new_signed("snapshot");
        r->signed_[ROLE_TIMESTAMP] = new_signed("timestamp");
        cJSON_AddBoolToObject(root, "consistent_snapshot", !o->no_consistent);
        cJSON_AddObjectToObject(root, "keys");
        cJSON *roles = cJSON_AddObjectToObject(root, "roles");
        for (int i = 0; i < ROLE_MAX; i++) {
                cJSON *role = cJSON_AddObjectToObject(roles, tuf_role_names[i]);
                cJSON_AddArrayToObject(role, "keyids");
                cJSON_AddNumberToObject(role, "threshold",
                                        i == ROLE_ROOT ? (double) o->threshold : 1);
        }
        cJSON_AddObjectToObject(r->signed_[ROLE_TARGETS], "targets");
        cJSON_AddObjectToObject(r->signed_[ROLE_SNAPSHOT], "meta");
        cJSON_AddObjectToObject(r->signed_[ROLE_TIMESTAMP], "meta");
        int q = 0;
        for (int i = 0; q >= 0 && i < ROLE_MAX; i++)
                for (uint64_t k = 0; q >= 0 && k < (i == ROLE_ROOT ? o->count : 1); k++)
                        q = tuf_repo_new_key(r, i, err);
        if (q >= 0)
                q = tuf_repo_commit_role(r, ROLE_ROOT, NULL, err);
        if (q >= 0)
                q = tuf_repo_commit(r, true, err);
        return q;
}

int cmd_tuf_init(int argc, char **argv) {
        PARSE("Usage: tender-publish tuf-init --repo DIR --keys KEYDIR [--root-keys N]\n"
              "       [--root-threshold T] [--no-consistent-snapshot] [--expires ROLE=DAYS]\n"
              "       [--key-type ecdsa|ed25519]\n"
              "Makes keys (KEYDIR/<keyid>.pem, outside DIR; ECDSA P-256 unless --key-type) and\n"
              "version 1 of every role in DIR/tuf/metadata.");
        int q = open_repo(&o, true, &r, &err);
        if (q >= 0)
                q = tuf_init(&r, &o, &err);
        if (q >= 0)
                printf("TUF repository in %s/tuf, root keys %" PRIu64 " (threshold %" PRIu64
                       "), private keys in %s\n",
                       o.repo, o.count, o.threshold, o.keys);
        return finish(&r, q, &err);
}

/* Highest release counter among other targets of the same app. */
static int check_counter(const cJSON *targets, const char *name, const char *app, uint64_t counter,
                         struct tender_error *err) {
        for (const cJSON *t = targets->child; t; t = t->next) {
                const cJSON *c = cJSON_GetObjectItem(t, "custom");
                const char *other = NULL;
                uint64_t oc = 0;
                if (STREQ(t->string, name) ||
                    tender_json_get_string(c, "custom", "app", false, &other, NULL) < 0 || !other ||
                    !STREQ(other, app) ||
                    tender_json_get_u64(c, "custom", "releaseCounter", false, &oc, NULL) < 0)
                        continue;
                if (oc >= counter)
                        return tender_error_set(err, TENDER_ERR_CONFIG, ERANGE,
                                                "release counter %" PRIu64
                                                " is not higher than %" PRIu64 " of %s",
                                                counter, oc, t->string);
        }
        return 0;
}

static int write_target(struct tuf_repo *r, const char *app, const char *version, const char *hex,
                        const char *data, size_t len, struct tender_error *err) {
        char dir[2 * TENDER_NAME_MAX], path[4 * TENDER_NAME_MAX + 80];
        snprintf(dir, sizeof(dir), "apps/%s", app);
        int q = tender_mkdir_p_at(r->targets_fd, dir, 0755);
        /* Both names: <hash>.<name> for consistent snapshots, plain for clients without. */
        snprintf(path, sizeof(path), "%s/%s.%s.json", dir, hex, version);
        if (q >= 0)
                q = tender_write_file_atomic_at(r->targets_fd, path, data, len, 0644);
        snprintf(path, sizeof(path), "%s/%s.json", dir, version);
        if (q >= 0)
                q = tender_write_file_atomic_at(r->targets_fd, path, data, len, 0644);
        if (q < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, -q,
                                              "Failed to write tuf/targets/%s", path);
        return 0;
}

static int tuf_add(struct tuf_repo *r, const struct tuf_opts *o, struct tender_error *err) {
        char path[4 * TENDER_NAME_MAX + 64], name[3 * TENDER_NAME_MAX], hex[65];
        if (!o->app || !o->version || !tender_name_valid(o->app) || !tender_name_valid(o->version))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "Needs valid --app NAME and --version VER");
        if (o->file)
                snprintf(path, sizeof(path), "%s", o->file);
        else
                snprintf(path, sizeof(path), "%s/apps/%s/%s.json", o->repo, o->app, o->version);
        _cleanup_free_ char *data = NULL;
        size_t len;
        int q = tender_read_file_at(AT_FDCWD, path, TENDER_MANIFEST_MAX_SIZE, &data, &len);
        if (q < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, -q, "Failed to read %s",
                                              path);
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        q = tender_manifest_parse(data, len, &m, err);
        if (q < 0)
                return tender_error_prefix(err, "%s", path);
        if (!STREQ(m->app, o->app) || !STREQ(m->version, o->version))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "%s is %s %s, not %s %s",
                                        path, m->app, m->version, o->app, o->version);
        snprintf(name, sizeof(name), "apps/%s/%s.json", o->app, o->version);
        struct tender_digest d;
        tender_sha256_buffer(data, len, &d);
        tender_digest_hex(&d, hex);
        cJSON *targets = cJSON_GetObjectItem(r->signed_[ROLE_TARGETS], "targets");
        const cJSON *old = cJSON_GetObjectItem(targets, name);
        if (old) {
                const char *h = NULL;
                tender_json_get_string(cJSON_GetObjectItem(old, "hashes"), "hashes", "sha256",
                                       false, &h, NULL);
                if (h && STREQ(h, hex))
                        return 0; /* the very same release again: nothing changes */
                return tender_error_set(err, TENDER_ERR_CONFIG, EEXIST,
                                        "%s is already a target with other content", name);
        }
        q = check_counter(targets, name, o->app, m->release_counter, err);
        if (q >= 0)
                q = write_target(r, o->app, o->version, hex, data, len, err);
        if (q < 0)
                return q;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToObject(targets, name, e);
        cJSON_AddNumberToObject(e, "length", (double) len);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "hashes"), "sha256", hex);
        cJSON *custom = cJSON_AddObjectToObject(e, "custom");
        cJSON_AddStringToObject(custom, "app", m->app);
        cJSON_AddStringToObject(custom, "version", m->version);
        if (!cJSON_AddNumberToObject(custom, "releaseCounter", (double) m->release_counter))
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        return tuf_repo_commit(r, true, err);
}

int cmd_tuf_add(int argc, char **argv) {
        PARSE("Usage: tender-publish tuf-add --repo DIR --keys KEYDIR --app NAME --version VER\n"
              "       [--file MANIFEST] [--expires ROLE=DAYS]\n"
              "Adds the release manifest (default DIR/apps/NAME/VER.json) as target\n"
              "apps/NAME/VER.json with custom app, version and releaseCounter.");
        int q = open_repo(&o, false, &r, &err);
        if (q >= 0)
                q = tuf_add(&r, &o, &err);
        return finish(&r, q, &err);
}

int cmd_tuf_remove(int argc, char **argv) {
        PARSE("Usage: tender-publish tuf-remove --repo DIR --keys KEYDIR --app NAME --version "
              "VER\nRemoves target apps/NAME/VER.json (its files stay for clients mid-update).");
        int q = open_repo(&o, false, &r, &err);
        char name[3 * TENDER_NAME_MAX];
        snprintf(name, sizeof(name), "apps/%s/%s.json", o.app ? o.app : "",
                 o.version ? o.version : "");
        cJSON *targets = q >= 0 ? cJSON_GetObjectItem(r.signed_[ROLE_TARGETS], "targets") : NULL;
        if (q >= 0 && !cJSON_GetObjectItem(targets, name))
                q = tender_error_set(&err, TENDER_ERR_CONFIG, ENOENT, "No target %s", name);
        if (q >= 0) {
                cJSON_DeleteItemFromObjectCaseSensitive(targets, name);
                q = tuf_repo_commit(&r, true, &err);
        }
        return finish(&r, q, &err);
}

static int tuf_rotate(struct tuf_repo *r, const struct tuf_opts *o, struct tender_error *err) {
        int role = -1;
        for (int i = 0; o->role && i < ROLE_MAX; i++)
                if (STREQ(o->role, tuf_role_names[i]))
                        role = i;
        if (role < 0 || o->threshold < 1 || o->threshold > o->count || o->count > 32)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "Needs --role root|timestamp|snapshot|targets and "
                                        "1 <= --threshold <= --count <= 32");
        _cleanup_(cJSON_Deletep) cJSON *old_root = cJSON_Duplicate(r->signed_[ROLE_ROOT], true);
        if (!old_root)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        tuf_repo_clear_role(r, role);
        cJSON *spec = cJSON_GetObjectItem(cJSON_GetObjectItem(r->signed_[ROLE_ROOT], "roles"),
                                          tuf_role_names[role]);
        cJSON_ReplaceItemInObject(spec, "threshold", cJSON_CreateNumber((double) o->threshold));
        int q = 0;
        for (uint64_t k = 0; q >= 0 && k < o->count; k++)
                q = tuf_repo_new_key(r, role, err);
        /* The new root is signed by a threshold of the old root keys and of the new ones. */
        if (q >= 0)
                q = tuf_repo_commit_role(r, ROLE_ROOT, old_root, err);
        if (q >= 0)
                q = tuf_repo_commit(r, role == ROLE_TARGETS, err);
        return q;
}

int cmd_tuf_rotate(int argc, char **argv) {
        PARSE("Usage: tender-publish tuf-rotate --repo DIR --keys KEYDIR --role ROLE\n"
              "       [--count N] [--threshold T] [--expires ROLE=DAYS] [--key-type "
              "ecdsa|ed25519]\n"
              "Replaces ROLE's keys with N new ones (threshold T) in a new root version signed\n"
              "by the old and the new root keys; re-signs what the new keys sign. Old private\n"
              "keys stay in KEYDIR: remove them once devices have the new root.");
        int q = open_repo(&o, false, &r, &err);
        if (q >= 0)
                q = tuf_rotate(&r, &o, &err);
        return finish(&r, q, &err);
}

int cmd_tuf_refresh(int argc, char **argv) {
        PARSE("Usage: tender-publish tuf-refresh --repo DIR --keys KEYDIR [--role timestamp]\n"
              "       [--expires ROLE=DAYS]\n"
              "Signs new snapshot and timestamp versions (only timestamp with --role timestamp)\n"
              "with fresh expiry dates; run it from cron well within the timestamp's validity.");
        int q = open_repo(&o, false, &r, &err);
        if (q >= 0 && o.role && STREQ(o.role, "timestamp"))
                q = tuf_repo_commit_role(&r, ROLE_TIMESTAMP, NULL, &err);
        else if (q >= 0)
                q = tuf_repo_commit(&r, false, &err);
        return finish(&r, q, &err);
}
