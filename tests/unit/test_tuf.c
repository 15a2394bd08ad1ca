/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TUF client against repositories the test signs itself (served from a temp dir through a
 * fetcher hook). Every attack must fail with an error naming the role and the reason, and leave
 * the trusted files unchanged.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "fixture.h"
#include "tender/digest.h"
#include "tender/fileio.h"
#include "tender/tuf.h"
#include "test.h"

enum { K_ROOT1, K_ROOT2, K_ROOT3, K_TS, K_SNAP, K_TARG, K_DELEG, K_TS2, K_A, K_B, NKEYS };
#define NOW ((time_t) 1900000000) /* 2030-03-17 */
#define DAY 86400
#define TARGET "apps/hello/2.0.0.json"
#define TARGET_DATA "{\"app\": \"hello\"}\n"

static struct {
        char dir[64];
        int server_fd, meta_fd, targets_fd, client_fd;
        char key[NKEYS][128];
        cJSON *pub[NKEYS];
        char keyid[NKEYS][65];
        bool consistent;
        char requests[256][256];
        size_t n_requests;
} F;

static int fetch(void *userdata, const char *url, size_t max, char **ret, size_t *ret_len,
                 struct tender_error *err) {
        if (F.n_requests < ELEMENTSOF(F.requests))
                snprintf(F.requests[F.n_requests++], sizeof(F.requests[0]), "%s", url);
        int fd = strncmp(url, "test://m/", 9) == 0 ? F.meta_fd : F.targets_fd;
        char path[512];
        /* The client percent-encodes; the test's files use the same encoding on disk. */
        snprintf(path, sizeof(path), "%s", url + 9);
        int r = tender_read_file_at(fd, path, max, ret, ret_len);
        if (r == -ENOENT)
                return tender_error_set(err, TENDER_ERR_NETWORK, ENOENT, "GET %s: 404", url);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_NETWORK, -r, "GET %s", url);
        return 0;
}

static bool requested(const char *url) {
        for (size_t i = 0; i < F.n_requests; i++)
                if (STREQ(F.requests[i], url))
                        return true;
        return false;
}

static void expires_string(time_t t, char buf[32]) {
        struct tm tm;
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

static cJSON *base_signed(const char *type, uint64_t version, time_t expires) {
        char when[32];
        expires_string(expires, when);
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "_type", type);
        cJSON_AddStringToObject(s, "spec_version", "1.0.31");
        cJSON_AddNumberToObject(s, "version", (double) version);
        cJSON_AddStringToObject(s, "expires", when);
        return s;
}

static cJSON *role_obj(const int *keys, size_t n, uint64_t threshold) {
        cJSON *r = cJSON_CreateObject(), *ids = cJSON_AddArrayToObject(r, "keyids");
        for (size_t i = 0; i < n; i++)
                cJSON_AddItemToArray(ids, cJSON_CreateString(F.keyid[keys[i]]));
        cJSON_AddNumberToObject(r, "threshold", (double) threshold);
        return r;
}

static void add_key(cJSON *keys, int k) {
        if (!cJSON_GetObjectItem(keys, F.keyid[k]))
                cJSON_AddItemToObject(keys, F.keyid[k], cJSON_Duplicate(F.pub[k], true));
}

static cJSON *root_signed(uint64_t version, time_t expires, const int *root_keys, size_t n,
                          uint64_t threshold, int ts_key) {
        cJSON *s = base_signed("root", version, expires);
        cJSON_AddBoolToObject(s, "consistent_snapshot", F.consistent);
        cJSON *keys = cJSON_AddObjectToObject(s, "keys"),
              *roles = cJSON_AddObjectToObject(s, "roles");
        for (size_t i = 0; i < n; i++)
                add_key(keys, root_keys[i]);
        const int others[] = {ts_key, K_SNAP, K_TARG};
        for (size_t i = 0; i < 3; i++)
                add_key(keys, others[i]);
        cJSON_AddItemToObject(roles, "root", role_obj(root_keys, n, threshold));
        cJSON_AddItemToObject(roles, "timestamp", role_obj(&others[0], 1, 1));
        cJSON_AddItemToObject(roles, "snapshot", role_obj(&others[1], 1, 1));
        cJSON_AddItemToObject(roles, "targets", role_obj(&others[2], 1, 1));
        return s;
}

/* Signs and writes metadata/<file>; takes signed. */
static void publish_as(const char *file, cJSON *s, const int *keys, size_t n) {
        char *paths[8];
        for (size_t i = 0; i < n; i++)
                paths[i] = F.key[keys[i]];
        char *doc = NULL;
        size_t len;
        struct tender_error err = {0};
        if (tender_tuf_sign_metadata(s, paths, n, &doc, &len, &err) < 0)
                fprintf(stderr, "sign: %s\n", err.message);
        tender_write_file_atomic_at(F.meta_fd, file, doc, len, 0644);
        free(doc);
        cJSON_Delete(s);
}

/* Like publish_as, plus a copy of signature `which` under key id `as` (the signer's own id:
 * the same key signing twice; another id listing the same key: one key under two ids). */
static void publish_dup(const char *file, cJSON *s, const int *keys, size_t n, size_t which,
                        const char *as) {
        char *paths[8];
        for (size_t i = 0; i < n; i++)
                paths[i] = F.key[keys[i]];
        char *doc = NULL;
        size_t len;
        struct tender_error err = {0};
        if (tender_tuf_sign_metadata(s, paths, n, &doc, &len, &err) < 0)
                fprintf(stderr, "sign: %s\n", err.message);
        cJSON *d = cJSON_Parse(doc), *sigs = cJSON_GetObjectItem(d, "signatures");
        cJSON *copy = cJSON_Duplicate(cJSON_GetArrayItem(sigs, (int) which), true);
        cJSON_ReplaceItemInObject(copy, "keyid", cJSON_CreateString(as));
        cJSON_AddItemToArray(sigs, copy);
        free(doc);
        doc = cJSON_Print(d);
        tender_write_file_atomic_at(F.meta_fd, file, doc, strlen(doc), 0644);
        free(doc);
        cJSON_Delete(d);
        cJSON_Delete(s);
}

static void publish1(const char *file, cJSON *s, int key) {
        publish_as(file, s, &key, 1);
}

static void add_metafile(cJSON *meta, const char *name, uint64_t version, bool with_hash) {
        cJSON *e = cJSON_AddObjectToObject(meta, name);
        cJSON_AddNumberToObject(e, "version", (double) version);
        if (!with_hash)
                return;
        char file[300];
        if (F.consistent)
                snprintf(file, sizeof(file), "%" PRIu64 ".%s", version, name);
        else
                snprintf(file, sizeof(file), "%s", name);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        tender_read_file_at(F.meta_fd, file, 1 << 24, &data, &len);
        struct tender_digest d;
        char hex[65];
        tender_sha256_buffer(data, len, &d);
        cJSON_AddNumberToObject(e, "length", (double) len);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "hashes"), "sha256",
                                tender_digest_hex(&d, hex));
}

static void add_target(cJSON *targets_signed, const char *name, const char *data, size_t len) {
        cJSON *t = cJSON_GetObjectItem(targets_signed, "targets");
        cJSON *e = cJSON_AddObjectToObject(t, name);
        struct tender_digest d;
        char hex[65];
        tender_sha256_buffer(data, len, &d);
        cJSON_AddNumberToObject(e, "length", (double) len);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "hashes"), "sha256",
                                tender_digest_hex(&d, hex));
        cJSON *c = cJSON_AddObjectToObject(e, "custom");
        cJSON_AddStringToObject(c, "app", "hello");
        cJSON_AddStringToObject(c, "version", "2.0.0");
        cJSON_AddNumberToObject(c, "releaseCounter", 5);
        /* The file under its name, and under <sha256>.<base> for consistent snapshots. */
        char path[600], dir[512];
        snprintf(dir, sizeof(dir), "%s", name);
        char *slash = strrchr(dir, '/');
        if (slash) {
                *slash = '\0';
                tender_mkdir_p_at(F.targets_fd, dir, 0755);
                snprintf(path, sizeof(path), "%s/%s.%s", dir, hex, slash + 1);
        } else {
                snprintf(path, sizeof(path), "%s.%s", hex, name);
        }
        tender_write_file_atomic_at(F.targets_fd, name, data, len, 0644);
        tender_write_file_atomic_at(F.targets_fd, path, data, len, 0644);
}

static cJSON *targets_signed(uint64_t version, time_t expires) {
        cJSON *s = base_signed("targets", version, expires);
        cJSON_AddObjectToObject(s, "targets");
        add_target(s, TARGET, TARGET_DATA, strlen(TARGET_DATA));
        return s;
}

static const char *vfile(char buf[64], uint64_t version, const char *role) {
        if (F.consistent)
                snprintf(buf, 64, "%" PRIu64 ".%s.json", version, role);
        else
                snprintf(buf, 64, "%s.json", role);
        return buf;
}

static void publish_snapshot(uint64_t version, time_t expires, uint64_t targets_version) {
        char f[64];
        cJSON *s = base_signed("snapshot", version, expires);
        add_metafile(cJSON_AddObjectToObject(s, "meta"), "targets.json", targets_version, true);
        publish1(vfile(f, version, "snapshot"), s, K_SNAP);
}

static void publish_timestamp(uint64_t version, time_t expires, uint64_t snapshot_version,
                              int key) {
        cJSON *s = base_signed("timestamp", version, expires);
        add_metafile(cJSON_AddObjectToObject(s, "meta"), "snapshot.json", snapshot_version, true);
        publish1("timestamp.json", s, key);
}

/* targets v, snapshot v, timestamp v, all fresh. */
static void publish_top(uint64_t v) {
        char f[64];
        publish1(vfile(f, v, "targets"), targets_signed(v, NOW + 30 * DAY), K_TARG);
        publish_snapshot(v, NOW + 7 * DAY, v);
        publish_timestamp(v, NOW + DAY, v, K_TS);
}

static void teardown(void) {
        for (int i = 0; i < NKEYS; i++)
                cJSON_Delete(F.pub[i]);
        close(F.server_fd);
        close(F.meta_fd);
        close(F.targets_fd);
        close(F.client_fd);
        memset(&F, 0, sizeof(F));
}

/* Keys, repository root v1 (one root key) and targets/snapshot/timestamp v1; client init. */
static int setup(bool consistent) {
        memset(&F, 0, sizeof(F));
        F.consistent = consistent;
        const struct fixture_dir *d = fixture_dir("tuf");
        if (!d)
                return -EIO;
        snprintf(F.dir, sizeof(F.dir), "%s", d->path);
        int dfd = open(F.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        tender_mkdir_p_at(dfd, "server/metadata", 0755);
        tender_mkdir_p_at(dfd, "server/targets", 0755);
        tender_mkdir_p_at(dfd, "client", 0755);
        tender_mkdir_p_at(dfd, "keys", 0700);
        F.meta_fd = openat(dfd, "server/metadata", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        F.targets_fd = openat(dfd, "server/targets", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        F.server_fd = openat(dfd, "server", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        F.client_fd = openat(dfd, "client", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(dfd);
        for (int i = 0; i < NKEYS; i++) {
                struct tender_error err = {0};
                snprintf(F.key[i], sizeof(F.key[i]), "%s/keys/%d.pem", F.dir, i);
                if (tender_tuf_keygen(F.key[i], TENDER_TUF_KEY_ECDSA_P256, &err) < 0 ||
                    tender_tuf_key_public(F.key[i], &F.pub[i], &err) < 0 ||
                    tender_tuf_keyid(F.pub[i], F.keyid[i], &err) < 0) {
                        fprintf(stderr, "%s\n", err.message);
                        return -EIO;
                }
        }
        const int rk[] = {K_ROOT1};
        publish1("1.root.json", root_signed(1, NOW + 365 * DAY, rk, 1, 1, K_TS), K_ROOT1);
        publish_top(1);
        _cleanup_free_ char *root = NULL;
        size_t len;
        int r = tender_read_file_at(F.meta_fd, "1.root.json", 1 << 20, &root, &len);
        if (r < 0)
                return r;
        struct tender_error err = {0};
        r = tender_tuf_init(F.client_fd, root, len, &err);
        if (r < 0)
                fprintf(stderr, "init: %s\n", err.message);
        return r;
}

static int open_client(struct tender_tuf **ret, struct tender_error *err) {
        struct tender_tuf_options o = {
                .metadata_url = "test://m",
                .targets_url = "test://t",
                .fetch = fetch,
                .now = NOW,
        };
        return tender_tuf_open(F.client_fd, &o, ret, err);
}

static int refresh(struct tender_error *err) {
        _cleanup_(tender_tuf_freep) struct tender_tuf *t = NULL;
        int r = open_client(&t, err);
        return r < 0 ? r : tender_tuf_refresh(t, err);
}

/* The trusted files, in the order a refresh updates them. */
enum { S_ROOT, S_TIMESTAMP, S_SNAPSHOT, S_TARGETS };

/* The bytes of the trusted files from `from` on, to show a failed refresh left them alone. */
static char *client_state(int from) {
        static const char *const files[] = {"root.json", "timestamp.json", "snapshot.json",
                                            "targets.json"};
        char *all = strdup("");
        for (size_t i = (size_t) from; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *data = NULL;
                char *next = NULL;
                if (tender_read_file_at(F.client_fd, files[i], 1 << 24, &data, NULL) < 0)
                        data = strdup("(none)");
                if (asprintf(&next, "%s|%s:%s", all, files[i], data) < 0)
                        next = NULL;
                free(all);
                all = next;
        }
        return all;
}

/* Refresh must fail with -errnum and a message holding role and reason; the trusted files from
 * `from` on are unchanged (the roles before it verified and may have been persisted: 5.4.5,
 * 5.5.7). */
#define ASSERT_REFUSED_FROM(from, errnum, role, reason)                                            \
        do {                                                                                       \
                _cleanup_free_ char *_before = client_state(from);                                 \
                struct tender_error _e = {0};                                                      \
                ASSERT_ERR(refresh(&_e), errnum);                                                  \
                ASSERT_CONTAINS(_e.message, role);                                                 \
                ASSERT_CONTAINS(_e.message, reason);                                               \
                _cleanup_free_ char *_after = client_state(from);                                  \
                if (!_before || !_after || !STREQ(_before, _after))                                \
                        TEST_FAIL_("trusted metadata changed by a failed refresh");                \
        } while (0)

/* Refused with every trusted file unchanged. */
#define ASSERT_REFUSED(errnum, role, reason) ASSERT_REFUSED_FROM(S_ROOT, errnum, role, reason)

/* The version of a role in the client's trusted files, as a new client loads them. */
static uint64_t trusted_version(const char *role) {
        struct tender_error err = {0};
        _cleanup_(tender_tuf_freep) struct tender_tuf *t = NULL;
        if (open_client(&t, &err) < 0)
                return UINT64_MAX;
        return tender_tuf_version(t, role);
}

#define SETUP(c)                                                                                   \
        do {                                                                                       \
                if (setup(c) < 0) {                                                                \
                        teardown();                                                                \
                        TEST_FAIL_("setup failed");                                                \
                }                                                                                  \
        } while (0)

/* A first refresh that succeeds, so later ones have trusted versions to defend. */
#define SETUP_REFRESHED(c)                                                                         \
        do {                                                                                       \
                SETUP(c);                                                                          \
                struct tender_error _e = {0};                                                      \
                int _r = refresh(&_e);                                                             \
                if (_r < 0) {                                                                      \
                        fprintf(stderr, "%s\n", _e.message);                                       \
                        teardown();                                                                \
                        TEST_FAIL_("first refresh failed");                                        \
                }                                                                                  \
        } while (0)

static void happy(bool consistent) {
        SETUP(consistent);
        struct tender_error err = {0};
        _cleanup_(tender_tuf_freep) struct tender_tuf *t = NULL;
        ASSERT_OK(open_client(&t, &err));
        int r = tender_tuf_refresh(t, &err);
        if (r < 0)
                fprintf(stderr, "%s\n", err.message);
        ASSERT_OK(r);
        ASSERT_EQ(tender_tuf_version(t, "timestamp"), 1);
        ASSERT_EQ(tender_tuf_version(t, "targets"), 1);
        _cleanup_free_ char *data = NULL;
        size_t len;
        _cleanup_(tender_tuf_target_freep) struct tender_tuf_target *info = NULL;
        r = tender_tuf_fetch_target(t, TARGET, 1 << 20, &data, &len, &info, &err);
        if (r < 0)
                fprintf(stderr, "%s\n", err.message);
        ASSERT_OK(r);
        ASSERT_EQ(len, strlen(TARGET_DATA));
        ASSERT_TRUE(info->has_release);
        ASSERT_STREQ(info->app, "hello");
        ASSERT_STREQ(info->version, "2.0.0");
        ASSERT_EQ(info->release_counter, 5);
        ASSERT_TRUE(requested(consistent ? "test://m/1.snapshot.json" : "test://m/snapshot.json"));
        ASSERT_TRUE(requested("test://m/2.root.json"));
        /* Persisted under the role names. */
        ASSERT_EQ(faccessat(F.client_fd, "timestamp.json", F_OK, 0), 0);
        ASSERT_EQ(faccessat(F.client_fd, "snapshot.json", F_OK, 0), 0);
        ASSERT_EQ(faccessat(F.client_fd, "targets.json", F_OK, 0), 0);
        ASSERT_ERR(tender_tuf_get_target(t, "apps/none.json", &info, &err), ENOENT);
        ASSERT_CONTAINS(err.message, "no trusted role lists it");
        teardown();
}

TEST(happy_path) {
        happy(false);
}

TEST(happy_path_consistent_snapshot) {
        happy(true);
}

TEST(root_rotation_needs_old_and_new_threshold) {
        SETUP_REFRESHED(false);
        const int newkeys[] = {K_ROOT2, K_ROOT3};
        /* Signed only by the new keys. */
        publish_as("2.root.json", root_signed(2, NOW + DAY * 365, newkeys, 2, 2, K_TS), newkeys, 2);
        ASSERT_REFUSED(EBADMSG, "root", "threshold not met");
        /* Only by the old key. */
        publish1("2.root.json", root_signed(2, NOW + DAY * 365, newkeys, 2, 2, K_TS), K_ROOT1);
        ASSERT_REFUSED(EBADMSG, "root", "by its own keys");
        /* One of two new keys: under the new threshold. */
        const int old_and_one[] = {K_ROOT1, K_ROOT2};
        publish_as("2.root.json", root_signed(2, NOW + DAY * 365, newkeys, 2, 2, K_TS), old_and_one,
                   2);
        ASSERT_REFUSED(EBADMSG, "root", "1 of 2 needed");
        /* The same new key signing twice under its key id makes the document invalid. */
        const int dup[] = {K_ROOT1, K_ROOT2, K_ROOT2};
        publish_as("2.root.json", root_signed(2, NOW + DAY * 365, newkeys, 2, 2, K_TS), dup, 3);
        ASSERT_REFUSED(EINVAL, "root: signatures: key id", "signs more than once");
        /* All of them: accepted. */
        const int all[] = {K_ROOT1, K_ROOT2, K_ROOT3};
        publish_as("2.root.json", root_signed(2, NOW + DAY * 365, newkeys, 2, 2, K_TS), all, 3);
        struct tender_error err = {0};
        ASSERT_OK(refresh(&err));
        _cleanup_(tender_tuf_freep) struct tender_tuf *t = NULL;
        ASSERT_OK(open_client(&t, &err));
        ASSERT_EQ(tender_tuf_version(t, "root"), 2);
        teardown();
}

TEST(root_version_skipped_or_lowered) {
        SETUP_REFRESHED(false);
        const int rk[] = {K_ROOT1};
        publish1("2.root.json", root_signed(3, NOW + DAY * 365, rk, 1, 1, K_TS), K_ROOT1);
        ASSERT_REFUSED(EBADMSG, "root", "expected 2");
        publish1("2.root.json", root_signed(1, NOW + DAY * 365, rk, 1, 1, K_TS), K_ROOT1);
        ASSERT_REFUSED(EBADMSG, "root", "expected 2");
        teardown();
}

TEST(root_expired_after_chain) {
        SETUP_REFRESHED(false);
        const int rk[] = {K_ROOT1};
        publish1("2.root.json", root_signed(2, NOW - DAY, rk, 1, 1, K_TS), K_ROOT1);
        struct tender_error e = {0};
        ASSERT_ERR(refresh(&e), ESTALE);
        ASSERT_CONTAINS(e.message, "root: version 2 expired");
        teardown();
}

TEST(timestamp_attacks) {
        SETUP_REFRESHED(false);
        publish_timestamp(1, NOW + DAY, 1, K_SNAP);
        ASSERT_REFUSED(EBADMSG, "timestamp", "threshold not met");
        publish_top(2);
        struct tender_error e = {0};
        ASSERT_OK(refresh(&e));
        /* Replay of version 1. */
        publish_timestamp(1, NOW + DAY, 1, K_TS);
        ASSERT_REFUSED(EBADMSG, "timestamp", "rollback");
        /* A newer timestamp pointing at an older snapshot. */
        publish_timestamp(3, NOW + DAY, 1, K_TS);
        ASSERT_REFUSED(EBADMSG, "timestamp: snapshot version 1", "rollback");
        /* Expired. */
        publish_timestamp(3, NOW - 1, 2, K_TS);
        ASSERT_REFUSED(ESTALE, "timestamp", "expired");
        teardown();
}

/* Each case comes with a newer timestamp: a timestamp that verified is trusted (and persisted)
 * even when its snapshot is then refused, and a timestamp of the same version is not read
 * again. */
TEST(snapshot_attacks) {
        SETUP_REFRESHED(false);
        /* Timestamp's hash of snapshot does not match (mix and match). */
        publish_snapshot(2, NOW + 7 * DAY, 1);
        publish_timestamp(2, NOW + DAY, 2, K_TS);
        /* Same length (DER signatures vary by a byte or two; signing is deterministic), other
         * bytes. */
        struct stat st1, st2;
        ASSERT_EQ(fstatat(F.meta_fd, "snapshot.json", &st1, 0), 0);
        for (int i = 0; i < 50; i++) {
                publish_snapshot(2, NOW + 8 * DAY + i, 1);
                ASSERT_EQ(fstatat(F.meta_fd, "snapshot.json", &st2, 0), 0);
                if (st1.st_size == st2.st_size)
                        break;
        }
        ASSERT_REFUSED_FROM(S_SNAPSHOT, EBADMSG, "snapshot", "hash mismatch");
        ASSERT_EQ(trusted_version("timestamp"), 2);
        ASSERT_EQ(trusted_version("snapshot"), 1);
        /* Version other than the one timestamp lists. */
        publish_snapshot(3, NOW + 7 * DAY, 1);
        publish_timestamp(3, NOW + DAY, 2, K_TS);
        ASSERT_REFUSED_FROM(S_SNAPSHOT, EBADMSG, "snapshot",
                            "is not the version 2 timestamp lists");
        /* Targets version rollback in snapshot. */
        char f[64];
        publish1(vfile(f, 3, "targets"), targets_signed(3, NOW + 30 * DAY), K_TARG);
        publish_snapshot(2, NOW + 7 * DAY, 3);
        publish_timestamp(4, NOW + DAY, 2, K_TS);
        struct tender_error e = {0};
        ASSERT_OK(refresh(&e));
        publish1(vfile(f, 2, "targets"), targets_signed(2, NOW + 30 * DAY), K_TARG);
        publish_snapshot(3, NOW + 7 * DAY, 2);
        publish_timestamp(5, NOW + DAY, 3, K_TS);
        ASSERT_REFUSED_FROM(S_SNAPSHOT, EBADMSG, "snapshot: targets.json version 2", "rollback");
        /* A role dropped. */
        cJSON *s = base_signed("snapshot", 3, NOW + 7 * DAY);
        cJSON_AddObjectToObject(s, "meta");
        publish1(vfile(f, 3, "snapshot"), s, K_SNAP);
        publish_timestamp(6, NOW + DAY, 3, K_TS);
        ASSERT_REFUSED_FROM(S_SNAPSHOT, EBADMSG, "snapshot: targets.json", "dropped");
        /* Expired. */
        publish1(vfile(f, 4, "targets"), targets_signed(4, NOW + 30 * DAY), K_TARG);
        publish_snapshot(3, NOW - DAY, 4);
        publish_timestamp(7, NOW + DAY, 3, K_TS);
        ASSERT_REFUSED_FROM(S_SNAPSHOT, ESTALE, "snapshot", "expired");
        ASSERT_EQ(trusted_version("timestamp"), 7);
        ASSERT_EQ(trusted_version("snapshot"), 2);
        teardown();
}

/* Version n of snapshot and timestamp each time, as in snapshot_attacks. */
TEST(targets_attacks) {
        SETUP_REFRESHED(true);
        char f[64];
        /* Snapshot says targets v2, the file says 3. */
        publish1(vfile(f, 2, "targets"), targets_signed(3, NOW + 30 * DAY), K_TARG);
        publish_snapshot(2, NOW + 7 * DAY, 2);
        publish_timestamp(2, NOW + DAY, 2, K_TS);
        ASSERT_REFUSED_FROM(S_TARGETS, EBADMSG, "targets", "is not the version 2 snapshot lists");
        /* Signed by the wrong key. */
        publish1(vfile(f, 3, "targets"), targets_signed(3, NOW + 30 * DAY), K_SNAP);
        publish_snapshot(3, NOW + 7 * DAY, 3);
        publish_timestamp(3, NOW + DAY, 3, K_TS);
        ASSERT_REFUSED_FROM(S_TARGETS, EBADMSG, "targets", "threshold not met");
        /* Expired. */
        publish1(vfile(f, 4, "targets"), targets_signed(4, NOW - DAY), K_TARG);
        publish_snapshot(4, NOW + 7 * DAY, 4);
        publish_timestamp(4, NOW + DAY, 4, K_TS);
        ASSERT_REFUSED_FROM(S_TARGETS, ESTALE, "targets", "expired");
        ASSERT_EQ(trusted_version("snapshot"), 4);
        ASSERT_EQ(trusted_version("targets"), 1);
        teardown();
}

/* Root v2 with `role` given keys {main, K_A, K_B} and K_A once more under the id "alias",
 * threshold 2; the other roles as root_signed has them. */
static void publish_root_2_of_3(const char *role, int main_key) {
        const int rk[] = {K_ROOT1};
        cJSON *s = root_signed(2, NOW + 365 * DAY, rk, 1, 1, K_TS);
        cJSON *keys = cJSON_GetObjectItem(s, "keys");
        const int rkeys[] = {main_key, K_A, K_B};
        for (size_t i = 0; i < ELEMENTSOF(rkeys); i++)
                add_key(keys, rkeys[i]);
        cJSON_AddItemToObject(keys, "alias", cJSON_Duplicate(F.pub[K_A], true));
        cJSON *r = role_obj(rkeys, ELEMENTSOF(rkeys), 2);
        cJSON_AddItemToArray(cJSON_GetObjectItem(r, "keyids"), cJSON_CreateString("alias"));
        cJSON_ReplaceItemInObject(cJSON_GetObjectItem(s, "roles"), role, r);
        publish1("2.root.json", s, K_ROOT1);
}

/* Version v of targets, snapshot and timestamp; role `type` (S_TIMESTAMP, S_SNAPSHOT or
 * S_TARGETS) signed by `keys` (plus a copy of the first signature under `dup_as`, if given),
 * the others by their usual key. */
static void publish_top_signed_by(int type, uint64_t v, const int *keys, size_t n,
                                  const char *dup_as) {
        char f[64];
        cJSON *docs[] = {NULL, base_signed("timestamp", v, NOW + DAY),
                         base_signed("snapshot", v, NOW + 7 * DAY),
                         targets_signed(v, NOW + 30 * DAY)};
        const char *files[] = {NULL, "timestamp.json", vfile(f, v, "snapshot"), NULL};
        const int usual[] = {K_ROOT1, K_TS, K_SNAP, K_TARG};
        char tf[64];
        files[S_TARGETS] = vfile(tf, v, "targets");
        for (int i = S_TARGETS; i >= S_TIMESTAMP; i--) {
                if (i == S_SNAPSHOT)
                        add_metafile(cJSON_AddObjectToObject(docs[i], "meta"), "targets.json", v,
                                     true);
                if (i == S_TIMESTAMP)
                        add_metafile(cJSON_AddObjectToObject(docs[i], "meta"), "snapshot.json", v,
                                     true);
                if (i != type)
                        publish1(files[i], docs[i], usual[i]);
                else if (dup_as)
                        publish_dup(files[i], docs[i], keys, n, 0, dup_as);
                else
                        publish_as(files[i], docs[i], keys, n);
        }
}

/* Thresholds above 1 for timestamp, snapshot and targets: k of n distinct keys. */
static void threshold_2_of_3(int type, const char *role, int main_key) {
        SETUP_REFRESHED(true);
        publish_root_2_of_3(role, main_key);
        const int one[] = {main_key}, two[] = {main_key, K_B}, three[] = {K_B, K_A, main_key},
                  with_a[] = {K_A, main_key}, foreign[] = {main_key, K_DELEG};
        /* Two distinct keys of three: met (and root v2 trusted from then on). */
        publish_top_signed_by(type, 2, two, 2, NULL);
        struct tender_error e = {0};
        int r = refresh(&e);
        if (r < 0)
                fprintf(stderr, "%s\n", e.message);
        ASSERT_OK(r);
        ASSERT_EQ(trusted_version("root"), 2);
        ASSERT_EQ(trusted_version(role), 2);
        char why[128];
        snprintf(why, sizeof(why), "%s: signature threshold not met: 1 of 2 needed", role);
        /* One key of three. */
        publish_top_signed_by(type, 3, one, 1, NULL);
        ASSERT_REFUSED_FROM(type, EBADMSG, why, "0 bad");
        /* One of them and a key not of the role. */
        publish_top_signed_by(type, 4, foreign, 2, NULL);
        ASSERT_REFUSED_FROM(type, EBADMSG, why, "1 by keys not of this role");
        /* K_A under its id and again under "alias": one key, counted once. */
        publish_top_signed_by(type, 5, with_a, 1, "alias");
        ASSERT_REFUSED_FROM(type, EBADMSG, why, "1 by a key already counted");
        /* The same key twice under its own id: the document is invalid. */
        publish_top_signed_by(type, 6, one, 1, F.keyid[main_key]);
        char dup[160];
        snprintf(dup, sizeof(dup), "%s: signatures: key id %s signs more than once", role,
                 F.keyid[main_key]);
        ASSERT_REFUSED_FROM(type, EINVAL, dup, "");
        ASSERT_EQ(trusted_version(role), 2);
        /* All three: met. */
        publish_top_signed_by(type, 7, three, 3, NULL);
        ASSERT_OK(refresh(&e));
        ASSERT_EQ(trusted_version(role), 7);
        teardown();
}

TEST(timestamp_threshold_2_of_3) {
        threshold_2_of_3(S_TIMESTAMP, "timestamp", K_TS);
}

TEST(snapshot_threshold_2_of_3) {
        threshold_2_of_3(S_SNAPSHOT, "snapshot", K_SNAP);
}

TEST(targets_threshold_2_of_3) {
        threshold_2_of_3(S_TARGETS, "targets", K_TARG);
}

/* Spec 5.4.5: timestamp is persisted as soon as it verified. A snapshot refused afterwards
 * does not undo it, so a replay of the older timestamp is a rollback from then on. */
TEST(timestamp_persisted_before_snapshot) {
        SETUP(false);
        /* First refresh: snapshot v1 replaced by one signed with the wrong key. */
        cJSON *s = base_signed("snapshot", 1, NOW + 7 * DAY);
        add_metafile(cJSON_AddObjectToObject(s, "meta"), "targets.json", 1, true);
        publish1("snapshot.json", s, K_TARG);
        publish_timestamp(1, NOW + DAY, 1, K_TS);
        _cleanup_free_ char *ts1 = NULL;
        ASSERT_OK(tender_read_file_at(F.meta_fd, "timestamp.json", 1 << 20, &ts1, NULL));
        ASSERT_REFUSED_FROM(S_SNAPSHOT, EBADMSG, "snapshot", "threshold not met");
        ASSERT_EQ(trusted_version("timestamp"), 1);
        /* Timestamp v2 whose snapshot is refused again. */
        publish_timestamp(2, NOW + DAY, 1, K_TS);
        ASSERT_REFUSED_FROM(S_SNAPSHOT, EBADMSG, "snapshot", "threshold not met");
        ASSERT_EQ(trusted_version("timestamp"), 2);
        /* The older timestamp is a rollback now. */
        tender_write_file_atomic_at(F.meta_fd, "timestamp.json", ts1, strlen(ts1), 0644);
        ASSERT_REFUSED(EBADMSG, "timestamp: version 1", "rollback");
        /* The repository repaired: the mix left on disk (timestamp v2, no snapshot) is
         * re-verified and completed. */
        publish_top(3);
        struct tender_error e = {0};
        ASSERT_OK(refresh(&e));
        ASSERT_EQ(trusted_version("timestamp"), 3);
        ASSERT_EQ(trusted_version("snapshot"), 3);
        ASSERT_EQ(trusted_version("targets"), 3);
        teardown();
}

/* A timestamp of the trusted version with other content is not read again, and not persisted
 * over the trusted one (5.4.3: only a newer version replaces it). */
TEST(timestamp_same_version_kept) {
        SETUP_REFRESHED(false);
        _cleanup_free_ char *before = client_state(S_TIMESTAMP);
        publish_top(2);
        publish_timestamp(1, NOW + 2 * DAY, 2, K_TS);
        struct tender_error e = {0};
        ASSERT_OK(refresh(&e));
        _cleanup_free_ char *after = client_state(S_TIMESTAMP);
        ASSERT_STREQ(before, after);
        ASSERT_EQ(trusted_version("snapshot"), 1);
        teardown();
}

/* Spec 5.5.7: snapshot is persisted as soon as it verified; a targets refused afterwards does
 * not undo it, so snapshot's rollback check then defends the targets version it listed. */
TEST(snapshot_persisted_before_targets) {
        SETUP_REFRESHED(true);
        char f[64];
        publish1(vfile(f, 2, "targets"), targets_signed(2, NOW + 30 * DAY), K_SNAP);
        publish_snapshot(2, NOW + 7 * DAY, 2);
        publish_timestamp(2, NOW + DAY, 2, K_TS);
        ASSERT_REFUSED_FROM(S_TARGETS, EBADMSG, "targets", "threshold not met");
        ASSERT_EQ(trusted_version("timestamp"), 2);
        ASSERT_EQ(trusted_version("snapshot"), 2);
        ASSERT_EQ(trusted_version("targets"), 1);
        /* A newer snapshot that goes back to targets v1 (still served as 1.targets.json). */
        publish_snapshot(3, NOW + 7 * DAY, 1);
        publish_timestamp(3, NOW + DAY, 3, K_TS);
        ASSERT_REFUSED_FROM(S_SNAPSHOT, EBADMSG, "snapshot: targets.json version 1", "rollback");
        teardown();
}

TEST(metadata_over_its_cap) {
        SETUP_REFRESHED(false);
        size_t n = TENDER_TUF_TIMESTAMP_MAX_SIZE + 1;
        char *big = malloc(n);
        memset(big, ' ', n);
        big[0] = '{';
        big[n - 1] = '}';
        tender_write_file_atomic_at(F.meta_fd, "timestamp.json", big, n, 0644);
        free(big);
        ASSERT_REFUSED(EFBIG, "timestamp", "GET");
        teardown();
}

TEST(fast_forward_recovery) {
        SETUP_REFRESHED(false);
        publish_top(5);
        struct tender_error e = {0};
        ASSERT_OK(refresh(&e));
        /* The timestamp key rotates and the repository starts over at timestamp version 1. */
        const int rk[] = {K_ROOT1};
        publish1("2.root.json", root_signed(2, NOW + 365 * DAY, rk, 1, 1, K_TS2), K_ROOT1);
        publish_timestamp(1, NOW + DAY, 5, K_TS2);
        int r = refresh(&e);
        if (r < 0)
                fprintf(stderr, "%s\n", e.message);
        ASSERT_OK(r);
        _cleanup_(tender_tuf_freep) struct tender_tuf *t = NULL;
        ASSERT_OK(open_client(&t, &e));
        ASSERT_EQ(tender_tuf_version(t, "timestamp"), 1);
        teardown();
}

static struct tender_tuf *fresh_client(struct tender_error *err) {
        struct tender_tuf *t = NULL;
        if (open_client(&t, err) < 0 || tender_tuf_refresh(t, err) < 0) {
                tender_tuf_free(t);
                return NULL;
        }
        return t;
}

TEST(target_length_and_hash) {
        SETUP(false);
        /* Serve wrong bytes under the target's name. */
        struct tender_error e = {0};
        static const char *const bodies[] = {"{\"app\": \"hello\"}", "{\"app\": \"hello\"}\n\n",
                                             "{\"app\": \"hellO\"}\n"};
        static const char *const reasons[] = {"signed length", "too large", "hash mismatch"};
        for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
                tender_write_file_atomic_at(F.targets_fd, TARGET, bodies[i], strlen(bodies[i]),
                                            0644);
                _cleanup_(tender_tuf_freep) struct tender_tuf *t = fresh_client(&e);
                ASSERT_TRUE(t != NULL);
                char *data = NULL;
                size_t len;
                ASSERT_TRUE(tender_tuf_fetch_target(t, TARGET, 1 << 20, &data, &len, NULL, &e) < 0);
                ASSERT_CONTAINS(e.message, "target \"" TARGET "\"");
                ASSERT_CONTAINS(e.message, reasons[i]);
        }
        teardown();
}

TEST(unknown_hash_types_only) {
        SETUP(false);
        char f[64];
        cJSON *s = base_signed("targets", 2, NOW + 30 * DAY);
        cJSON *e = cJSON_AddObjectToObject(cJSON_AddObjectToObject(s, "targets"), "x.json");
        cJSON_AddNumberToObject(e, "length", 3);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "hashes"), "md5",
                                "00112233445566778899aabbccddeeff");
        publish1(vfile(f, 2, "targets"), s, K_TARG);
        publish_snapshot(2, NOW + 7 * DAY, 2);
        publish_timestamp(2, NOW + DAY, 2, K_TS);
        struct tender_error err = {0};
        _cleanup_(tender_tuf_freep) struct tender_tuf *t = fresh_client(&err);
        ASSERT_TRUE(t != NULL);
        _cleanup_(tender_tuf_target_freep) struct tender_tuf_target *tt = NULL;
        ASSERT_ERR(tender_tuf_get_target(t, "x.json", &tt, &err), ENOTSUP);
        ASSERT_CONTAINS(err.message, "no supported hash type");
        teardown();
}

TEST(bad_target_names) {
        SETUP(false);
        char f[64];
        cJSON *s = targets_signed(2, NOW + 30 * DAY);
        static const char *const names[] = {"../etc/passwd", "/abs", "a//b", "a/./b"};
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                cJSON *e = cJSON_AddObjectToObject(cJSON_GetObjectItem(s, "targets"), names[i]);
                cJSON_AddNumberToObject(e, "length", 1);
                cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "hashes"), "sha256",
                                        "00112233445566778899aabbccddeeff00112233445566778899aab"
                                        "bccddeeff");
        }
        publish1(vfile(f, 2, "targets"), s, K_TARG);
        publish_snapshot(2, NOW + 7 * DAY, 2);
        publish_timestamp(2, NOW + DAY, 2, K_TS);
        struct tender_error err = {0};
        _cleanup_(tender_tuf_freep) struct tender_tuf *t = fresh_client(&err);
        ASSERT_TRUE(t != NULL);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char *data = NULL;
                size_t len;
                ASSERT_ERR(tender_tuf_fetch_target(t, names[i], 10, &data, &len, NULL, &err),
                           EINVAL);
                ASSERT_CONTAINS(err.message, "target");
        }
        /* '?' and '#' are percent-encoded in the URL. */
        _cleanup_free_ char *q = tender_tuf_quote("a b?c#d/e", true);
        ASSERT_STREQ(q, "a%20b%3Fc%23d/e");
        _cleanup_free_ char *r = tender_tuf_quote("../x", false);
        ASSERT_STREQ(r, "..%2Fx");
        teardown();
}

TEST(malformed_documents) {
        SETUP_REFRESHED(false);
#define TS_DOC(v)                                                                                  \
        "{\"signed\": {\"_type\": \"timestamp\", \"spec_version\": \"1.0.31\", \"expires\": "      \
        "\"2040-01-01T00:00:00Z\", \"meta\": {}, \"version\": " v "}, \"signatures\": []}"
        static const char *const docs[] = {
                "{\"signed\": {\"version\": 1, \"version\": 2}, \"signatures\": []}",
                TS_DOC("9223372036854775808"),
                TS_DOC("1.0"),
                TS_DOC("-1"),
                "{\"signed\": {\"_type\": \"snapshot\", \"spec_version\": \"1.0.0\", \"version\": "
                "2, "
                "\"expires\": \"2040-01-01T00:00:00Z\", \"meta\": {}}, \"signatures\": []}",
                "[1, 2",
        };
        static const char *const why[] = {
                "duplicate key",
                "between 0 and 2^53",
                "plain integer",
                "plain integer",
                "\"snapshot\", expected \"timestamp\"",
                "malformed JSON",
        };
        for (size_t i = 0; i < ELEMENTSOF(docs); i++) {
                tender_write_file_atomic_at(F.meta_fd, "timestamp.json", docs[i], strlen(docs[i]),
                                            0644);
                ASSERT_REFUSED(EINVAL, "timestamp", why[i]);
        }
        size_t n = 8000; /* 10,000 levels would hit the 16 KiB cap first */
        char *deep = malloc(2 * n);
        memset(deep, '[', n);
        memset(deep + n, ']', n);
        tender_write_file_atomic_at(F.meta_fd, "timestamp.json", deep, 2 * n, 0644);
        free(deep);
        ASSERT_REFUSED(EINVAL, "timestamp", "nested deeper than");
        teardown();
}

/* A targets-type document (top-level or delegated) without targets, delegating to `n` roles. */
static cJSON *delegator(const char *type, uint64_t v, const char *const *roles, size_t n,
                        const char *paths, bool terminating_first) {
        cJSON *s = base_signed(type, v, NOW + 30 * DAY);
        cJSON_AddObjectToObject(s, "targets");
        cJSON *d = cJSON_AddObjectToObject(s, "delegations");
        add_key(cJSON_AddObjectToObject(d, "keys"), K_DELEG);
        cJSON *arr = cJSON_AddArrayToObject(d, "roles");
        for (size_t i = 0; i < n; i++) {
                const int k = K_DELEG;
                cJSON *r = role_obj(&k, 1, 1);
                cJSON_AddStringToObject(r, "name", roles[i]);
                cJSON_AddBoolToObject(r, "terminating", i == 0 && terminating_first);
                cJSON_AddItemToArray(cJSON_AddArrayToObject(r, "paths"), cJSON_CreateString(paths));
                cJSON_AddItemToObject(arr, "", r);
        }
        return s;
}

static void publish_role(const char *role, cJSON *s, int key) {
        _cleanup_free_ char *q = tender_tuf_quote(role, false);
        char file[300];
        snprintf(file, sizeof(file), "%s.json", q);
        publish1(file, s, key);
}

/* targets v2 delegating; snapshot v2 listing targets and the roles; timestamp v2. */
static void publish_delegation(uint64_t v, const char *const *roles, size_t n,
                               bool terminating_first) {
        char f[64];
        publish1(vfile(f, v, "targets"),
                 delegator("targets", v, roles, n, "apps/*/*", terminating_first), K_TARG);
        cJSON *s = base_signed("snapshot", v, NOW + 7 * DAY);
        cJSON *meta = cJSON_AddObjectToObject(s, "meta");
        add_metafile(meta, "targets.json", v, true);
        for (size_t i = 0; i < n; i++) {
                char name[300];
                snprintf(name, sizeof(name), "%s.json", roles[i]);
                add_metafile(meta, name, v - 1, false);
        }
        publish1(vfile(f, v, "snapshot"), s, K_SNAP);
        publish_timestamp(v, NOW + DAY, v, K_TS);
}

static int lookup(const char *name, struct tender_error *err) {
        _cleanup_(tender_tuf_freep) struct tender_tuf *t = fresh_client(err);
        if (!t)
                return -EIO;
        _cleanup_(tender_tuf_target_freep) struct tender_tuf_target *tt = NULL;
        return tender_tuf_get_target(t, name, &tt, err);
}

TEST(delegated_targets) {
        SETUP(false);
        const char *const roles[] = {"apps", "../evil"};
        publish_delegation(2, roles, 2, false);
        publish_role("apps", delegator("targets", 1, NULL, 0, "", false), K_DELEG);
        publish_role("../evil", targets_signed(1, NOW + 30 * DAY), K_DELEG);
        struct tender_error err = {0};
        int r = lookup(TARGET, &err);
        if (r < 0)
                fprintf(stderr, "%s\n", err.message);
        ASSERT_OK(r);
        /* Both visited in order, stored under quoted names beneath the metadata dir. */
        ASSERT_EQ(faccessat(F.client_fd, "apps.json", F_OK, 0), 0);
        ASSERT_EQ(faccessat(F.client_fd, "..%2Fevil.json", F_OK, 0), 0);
        ASSERT_TRUE(requested("test://m/..%2Fevil.json"));
        /* Paths that do not match skip the delegation. */
        ASSERT_ERR(lookup("other/x.json", &err), ENOENT);
        ASSERT_ERR(lookup("apps/hello/x/y.json", &err), ENOENT);

        /* A terminating first role that lacks the target ends the search. */
        publish_delegation(3, roles, 2, true);
        publish_role("apps", delegator("targets", 2, NULL, 0, "", false), K_DELEG);
        publish_role("../evil", targets_signed(2, NOW + 30 * DAY), K_DELEG);
        ASSERT_ERR(lookup(TARGET, &err), ENOENT);

        /* A delegated role signed by a key it was not delegated to. */
        publish_delegation(4, roles, 2, false);
        publish_role("apps", delegator("targets", 3, NULL, 0, "", false), K_TARG);
        ASSERT_ERR(lookup(TARGET, &err), EBADMSG);
        ASSERT_CONTAINS(err.message, "delegated role \"apps\": signature threshold not met");
        teardown();
}

TEST(delegation_visit_limit) {
        SETUP(false);
        /* r0 -> r1 -> ... -> r39, each delegating the target onwards. */
        char names[40][8];
        const char *roles[40];
        for (size_t i = 0; i < 40; i++) {
                snprintf(names[i], sizeof(names[i]), "r%zu", i);
                roles[i] = names[i];
        }
        char f[64];
        publish1(vfile(f, 2, "targets"), delegator("targets", 2, roles, 1, "apps/*/*", false),
                 K_TARG);
        cJSON *s = base_signed("snapshot", 2, NOW + 7 * DAY);
        cJSON *meta = cJSON_AddObjectToObject(s, "meta");
        add_metafile(meta, "targets.json", 2, true);
        for (size_t i = 0; i < 40; i++) {
                char name[32];
                snprintf(name, sizeof(name), "%s.json", roles[i]);
                add_metafile(meta, name, 1, false);
                publish_role(roles[i],
                             delegator("targets", 1, i + 1 < 40 ? &roles[i + 1] : NULL,
                                       i + 1 < 40 ? 1 : 0, "apps/*/*", false),
                             K_DELEG);
        }
        publish1(vfile(f, 2, "snapshot"), s, K_SNAP);
        publish_timestamp(2, NOW + DAY, 2, K_TS);
        struct tender_error err = {0};
        ASSERT_ERR(lookup(TARGET, &err), ELOOP);
        ASSERT_CONTAINS(err.message, "more than 32 roles visited");
        teardown();
}

TEST_MAIN()
