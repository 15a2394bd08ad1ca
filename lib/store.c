/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/name.h"

#define STORE_DIR_MODE 0700
#define RELEASE_LINK_PREFIX "releases/"

struct tender_store {
        int root_fd;
        int blobs_fd;
        char *root;
};

static const char *const store_dirs[] = {
        "blobs/sha256", "layers/sha256", "apps", "tmp", "state",
};

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/* mkdir -p of the root itself: a trusted path from the configuration. */
static int mkdir_root(const char *root) {
        _cleanup_free_ char *p = strdup(root);
        if (!p)
                return -ENOMEM;
        for (char *c = p + 1; *c; c++) {
                if (*c != '/')
                        continue;
                *c = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *c = '/';
        }
        if (mkdir(p, STORE_DIR_MODE) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int tender_store_open(const char *root, struct tender_store **ret, struct tender_error *err) {
        _cleanup_(tender_store_freep) struct tender_store *s = NULL;
        int r;

        if (!root || root[0] == '\0')
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "store root is empty");
        r = mkdir_root(root);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "create store %s", root);
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->root_fd = s->blobs_fd = -1;
        s->root = strdup(root);
        if (!s->root)
                return -ENOMEM;
        s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->root_fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open store %s", root);
        for (size_t i = 0; i < ELEMENTSOF(store_dirs); i++) {
                r = tender_mkdir_p_at(s->root_fd, store_dirs[i], STORE_DIR_MODE);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "create %s/%s",
                                                      root, store_dirs[i]);
        }
        s->blobs_fd =
                openat(s->root_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s->blobs_fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open %s/blobs/sha256",
                                              root);
        *ret = TAKE_PTR(s);
        return 0;
}

void tender_store_free(struct tender_store *s) {
        if (!s)
                return;
        closep(&s->root_fd);
        closep(&s->blobs_fd);
        free(s->root);
        free(s);
}

int tender_store_root_fd(const struct tender_store *s) {
        return s->root_fd;
}

const char *tender_store_root(const struct tender_store *s) {
        return s->root;
}

static int open_dir_at(int dirfd, const char *path, DIR **ret) {
        int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

static bool dot_or_dotdot(const char *n) {
        return STREQ(n, ".") || STREQ(n, "..");
}

int tender_store_clean_tmp(struct tender_store *s) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r, ret = 0;

        r = open_dir_at(s->root_fd, "tmp", &d);
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                if (dot_or_dotdot(de->d_name))
                        continue;
                r = tender_rm_rf_at(dirfd(d), de->d_name);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

int tender_store_make_tmp_dir(struct tender_store *s, char **ret_rel) {
        uint8_t rnd[8];
        char *rel;

        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                return -EIO;
        if (asprintf(&rel, "tmp/%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
                     rnd[4], rnd[5], rnd[6], rnd[7]) < 0)
                return -ENOMEM;
        if (mkdirat(s->root_fd, rel, STORE_DIR_MODE) < 0) {
                int r = -errno;
                free(rel);
                return r;
        }
        *ret_rel = rel;
        return 0;
}

int tender_store_blobs_fd(const struct tender_store *s) {
        return s->blobs_fd;
}

int tender_store_blob_open(const struct tender_store *s, const struct tender_digest *d) {
        char hex[65];
        int fd = openat(s->blobs_fd, tender_digest_hex(d, hex), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static void layer_rel(const struct tender_digest *diff_id, char buf[static 80]) {
        char hex[65];
        snprintf(buf, 80, "layers/sha256/%s", tender_digest_hex(diff_id, hex));
}

bool tender_store_has_layer(const struct tender_store *s, const struct tender_digest *diff_id) {
        char rel[80];
        struct stat st;
        layer_rel(diff_id, rel);
        return fstatat(s->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int tender_store_commit_layer(struct tender_store *s, const char *tmp_rel,
                              const struct tender_digest *diff_id) {
        char rel[80];
        layer_rel(diff_id, rel);
        /* The rename is the layer's completion marker (a marker file inside would show up in
         * the container's rootfs): its files must be on disk before it. */
        if (syncfs(s->root_fd) < 0)
                return -errno;
        if (renameat(s->root_fd, tmp_rel, s->root_fd, rel) < 0) {
                if (errno != ENOTEMPTY && errno != EEXIST)
                        return -errno;
                /* Someone completed the same layer first: it is identical by its diff_id. */
                return tender_rm_rf_at(s->root_fd, tmp_rel);
        }
        return tender_fsync_dir_at(s->root_fd, "layers/sha256");
}

int tender_store_layer_path(const struct tender_store *s, const struct tender_digest *diff_id,
                            char **ret_path) {
        char rel[80];
        layer_rel(diff_id, rel);
        return asprintf(ret_path, "%s/%s", s->root, rel) < 0 ? -ENOMEM : 0;
}

static int check_names(const char *app, const char *version) {
        if (!tender_name_valid(app) || (version && !tender_name_valid(version)))
                return -EINVAL;
        return 0;
}

static int read_link_version(const struct tender_store *s, const char *app, const char *which,
                             char **ret_version) {
        char rel[2 * TENDER_NAME_MAX + 32], target[TENDER_NAME_MAX + 32];
        if (check_names(app, NULL) < 0)
                return -EINVAL;
        snprintf(rel, sizeof(rel), "apps/%s/%s", app, which);
        ssize_t n = readlinkat(s->root_fd, rel, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        const char *v = target + strlen(RELEASE_LINK_PREFIX);
        if (strncmp(target, RELEASE_LINK_PREFIX, strlen(RELEASE_LINK_PREFIX)) != 0 ||
            !tender_name_valid(v))
                return -EBADMSG;
        char *copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        *ret_version = copy;
        return 0;
}

int tender_store_get_current(const struct tender_store *s, const char *app, char **ret_version) {
        return read_link_version(s, app, "current", ret_version);
}

int tender_store_get_previous(const struct tender_store *s, const char *app, char **ret_version) {
        return read_link_version(s, app, "previous", ret_version);
}

static int app_dir_open(const struct tender_store *s, const char *app, bool create) {
        char rel[TENDER_NAME_MAX + 16];
        int r;
        if (check_names(app, NULL) < 0)
                return -EINVAL;
        snprintf(rel, sizeof(rel), "apps/%s", app);
        if (create) {
                r = tender_mkdir_p_at(s->root_fd, rel, STORE_DIR_MODE);
                if (r < 0)
                        return r;
        }
        int fd = openat(s->root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int tender_store_set_current(struct tender_store *s, const char *app, const char *version) {
        _cleanup_free_ char *old = NULL;
        _cleanup_close_ int fd = -1;
        char target[TENDER_NAME_MAX + 16];
        int r;

        if (check_names(app, version) < 0)
                return -EINVAL;
        fd = app_dir_open(s, app, true);
        if (fd < 0)
                return fd;
        r = tender_store_get_current(s, app, &old);
        if (r < 0 && r != -ENOENT)
                return r;
        /* previous first: a crash in between leaves current unchanged and previous == current. */
        if (old && !STREQ(old, version)) {
                snprintf(target, sizeof(target), RELEASE_LINK_PREFIX "%s", old);
                r = tender_symlink_atomic_at(fd, target, "previous");
                if (r < 0)
                        return r;
        }
        snprintf(target, sizeof(target), RELEASE_LINK_PREFIX "%s", version);
        return tender_symlink_atomic_at(fd, target, "current");
}

int tender_store_counter_get(const struct tender_store *s, const char *app, uint64_t *ret) {
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = app_dir_open(s, app, false);
        char *end;

        if (fd == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (fd < 0)
                return fd;
        int r = tender_read_file_at(fd, "counter", TENDER_STORE_COUNTER_MAX_SIZE, &data, NULL);
        if (r == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (r < 0)
                return r;
        errno = 0;
        unsigned long long v = strtoull(data, &end, 10);
        if (errno != 0 || end == data || (*end != '\n' && *end != '\0') || data[0] == '-')
                return -EBADMSG;
        *ret = v;
        return 0;
}

int tender_store_counter_set(struct tender_store *s, const char *app, uint64_t counter) {
        _cleanup_close_ int fd = app_dir_open(s, app, true);
        char buf[TENDER_STORE_COUNTER_MAX_SIZE];
        if (fd < 0)
                return fd;
        int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", counter);
        return tender_write_file_atomic_at(fd, "counter", buf, (size_t) n, 0600);
}

int tender_store_mark_bad(struct tender_store *s, const char *app, const char *version) {
        _cleanup_close_ int fd = -1;
        char rel[TENDER_NAME_MAX + 8];
        int r;

        if (check_names(app, version) < 0)
                return -EINVAL;
        fd = app_dir_open(s, app, true);
        if (fd < 0)
                return fd;
        r = tender_mkdir_p_at(fd, "bad", STORE_DIR_MODE);
        if (r < 0)
                return r;
        snprintf(rel, sizeof(rel), "bad/%s", version);
        return tender_write_file_atomic_at(fd, rel, "", 0, 0600);
}

bool tender_store_is_bad(const struct tender_store *s, const char *app, const char *version) {
        char rel[2 * TENDER_NAME_MAX + 16];
        if (check_names(app, version) < 0)
                return false;
        snprintf(rel, sizeof(rel), "apps/%s/bad/%s", app, version);
        return faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static void release_rel(const char *app, const char *version, char buf[static 160]) {
        snprintf(buf, 160, "apps/%s/releases/%s", app, version);
}

int tender_store_release_path(const struct tender_store *s, const char *app, const char *version,
                              char **ret_path) {
        char rel[160];
        if (check_names(app, version) < 0)
                return -EINVAL;
        release_rel(app, version, rel);
        return asprintf(ret_path, "%s/%s", s->root, rel) < 0 ? -ENOMEM : 0;
}

static bool is_current_or_previous(const struct tender_store *s, const char *app,
                                   const char *version) {
        _cleanup_free_ char *cur = NULL, *prev = NULL;
        tender_store_get_current(s, app, &cur);
        tender_store_get_previous(s, app, &prev);
        return (cur && STREQ(cur, version)) || (prev && STREQ(prev, version));
}

int tender_store_release_prepare(struct tender_store *s, const char *app, const char *version,
                                 const char *manifest, size_t manifest_len, const char *sig,
                                 size_t sig_len, struct tender_error *err) {
        static const char *const subdirs[] = {"bundle/rootfs", "upper", "work"};
        _cleanup_close_ int fd = -1;
        char rel[160];
        int r;

        if (check_names(app, version) < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EINVAL, "invalid release name");
        release_rel(app, version, rel);
        /* A release that is not kept is a leftover of a failed attempt: start from scratch so
         * that its upper dir holds nothing the new container did not write. */
        if (!is_current_or_previous(s, app, version)) {
                r = tender_rm_rf_at(s->root_fd, rel);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "remove stale %s",
                                                      rel);
        }
        r = tender_mkdir_p_at(s->root_fd, rel, STORE_DIR_MODE);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "create %s", rel);
        fd = openat(s->root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open %s", rel);
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                /* The container's root must be traversable by its (possibly unprivileged) user. */
                r = tender_mkdir_p_at(fd, subdirs[i], 0755);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "create %s/%s",
                                                      rel, subdirs[i]);
        }
        r = tender_write_file_atomic_at(fd, "manifest.json", manifest, manifest_len, 0600);
        /* TUF-verified releases have no detached signature (sig NULL). */
        if (r >= 0 && sig)
                r = tender_write_file_atomic_at(fd, "manifest.json.sig", sig, sig_len, 0600);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "write manifest to %s",
                                              rel);
        return 0;
}

int tender_store_release_manifest_bytes(const struct tender_store *s, const char *app,
                                        const char *version, char **ret_data, size_t *ret_len) {
        char rel[180];
        if (check_names(app, version) < 0)
                return -EINVAL;
        snprintf(rel, sizeof(rel), "apps/%s/releases/%s/manifest.json", app, version);
        return tender_read_file_at(s->root_fd, rel, TENDER_MANIFEST_MAX_SIZE, ret_data, ret_len);
}

int tender_store_release_manifest(const struct tender_store *s, const char *app,
                                  const char *version, struct tender_release_manifest **ret,
                                  struct tender_error *err) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = tender_store_release_manifest_bytes(s, app, version, &data, &len);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "read manifest of %s %s",
                                              app, version);
        return tender_manifest_parse(data, len, ret, err);
}

int tender_store_volume_path(struct tender_store *s, const char *app, const char *name,
                             char **ret_path) {
        char rel[2 * TENDER_NAME_MAX + 32];
        int r;
        if (check_names(app, name) < 0)
                return -EINVAL;
        snprintf(rel, sizeof(rel), "apps/%s/volumes/%s", app, name);
        r = tender_mkdir_p_at(s->root_fd, rel, 0755);
        if (r < 0)
                return r;
        return asprintf(ret_path, "%s/%s", s->root, rel) < 0 ? -ENOMEM : 0;
}

int tender_store_last_action_get(const struct tender_store *s, char **ret_id) {
        char *data = NULL;
        int r = tender_read_file_at(s->root_fd, "state/last-action", TENDER_STORE_ACTION_MAX_SIZE,
                                    &data, NULL);
        if (r < 0)
                return r;
        data[strcspn(data, "\n")] = '\0';
        *ret_id = data;
        return 0;
}

int tender_store_last_feedback_get(const struct tender_store *s, char **ret_json) {
        return tender_read_file_at(s->root_fd, "state/last-feedback",
                                   TENDER_STORE_FEEDBACK_MAX_SIZE, ret_json, NULL);
}

int tender_store_last_feedback_set(struct tender_store *s, const char *json) {
        size_t len = strlen(json);
        if (len > TENDER_STORE_FEEDBACK_MAX_SIZE)
                return -EFBIG;
        return tender_write_file_atomic_at(s->root_fd, "state/last-feedback", json, len, 0600);
}

int tender_store_last_action_set(struct tender_store *s, const char *id) {
        _cleanup_free_ char *line = NULL;
        if (strlen(id) >= TENDER_STORE_ACTION_MAX_SIZE || strchr(id, '\n'))
                return -EINVAL;
        if (asprintf(&line, "%s\n", id) < 0)
                return -ENOMEM;
        return tender_write_file_atomic_at(s->root_fd, "state/last-action", line, strlen(line),
                                           0600);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Names in dirfd/path that pass tender_name_valid, sorted. */
static int list_names(int dirfd, const char *path, size_t max, char ***ret) {
        _cleanup_closedir_ DIR *d = NULL;
        char **v = NULL;
        size_t n = 0;
        struct dirent *de;
        int r;

        r = open_dir_at(dirfd, path, &d);
        if (r == -ENOENT)
                d = NULL;
        else if (r < 0)
                return r;
        v = calloc(max + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        while (d && (de = readdir(d))) {
                if (!tender_name_valid(de->d_name))
                        continue;
                if (n == max || !(v[n] = strdup(de->d_name))) {
                        tender_strv_free(v);
                        return n == max ? -E2BIG : -ENOMEM;
                }
                n++;
        }
        qsort(v, n, sizeof(char *), cmp_str);
        *ret = v;
        return (int) n;
}

int tender_store_list_apps(const struct tender_store *s, char ***ret_apps) {
        return list_names(s->root_fd, "apps", TENDER_STORE_MAX_APPS, ret_apps);
}

int tender_store_list_releases(const struct tender_store *s, const char *app, char ***ret) {
        char rel[TENDER_NAME_MAX + 16];
        if (check_names(app, NULL) < 0)
                return -EINVAL;
        snprintf(rel, sizeof(rel), "apps/%s/releases", app);
        return list_names(s->root_fd, rel, TENDER_STORE_MAX_RELEASES, ret);
}

/* current goes first: from then on nothing starts the app, whatever a crash leaves behind;
 * what is left is the releases' files, which the next GC removes (neither current nor previous). */
int tender_store_remove_app(struct tender_store *s, const char *app, bool keep_volumes) {
        static const char *const order[] = {"current", "previous"};
        _cleanup_close_ int fd = app_dir_open(s, app, false);
        if (fd < 0)
                return fd;
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                if (unlinkat(fd, order[i], 0) < 0 && errno != ENOENT)
                        return -errno;
        int r = tender_fsync_dir_at(fd, ".");
        if (r >= 0) {
                r = tender_store_unpin(s, app);
                r = r == -ENOENT ? 0 : r; /* no state/pins yet */
        }
        if (r >= 0)
                r = tender_rm_rf_at(fd, "releases");
        if (r >= 0)
                r = tender_rm_rf_at(fd, "bad");
        if (r >= 0 && !keep_volumes)
                r = tender_rm_rf_at(fd, "volumes");
        return r < 0 ? r : tender_fsync_dir_at(fd, ".");
}

/* Hex digests that kept releases reference: layers (diff ids) and blobs. */
struct refs {
        char (*hex)[65];
        size_t n, cap;
};

static int refs_add_hex(struct refs *r, const char *hex) {
        for (size_t i = 0; i < r->n; i++)
                if (STREQ(r->hex[i], hex))
                        return 0;
        if (r->n == r->cap) {
                size_t cap = r->cap ? r->cap * 2 : 64;
                void *p = realloc(r->hex, cap * sizeof(*r->hex));
                if (!p)
                        return -ENOMEM;
                r->hex = p;
                r->cap = cap;
        }
        snprintf(r->hex[r->n++], sizeof(r->hex[0]), "%s", hex);
        return 0;
}

static int refs_add(struct refs *r, const struct tender_digest *d) {
        char hex[65];
        return refs_add_hex(r, tender_digest_hex(d, hex));
}

/* What may follow <hex> in blobs/sha256: nothing, a download in progress, and the download's
 * If-Range validator where the file system has no user xattrs (lib/http.c). */
static bool blob_suffix_ok(const char *suffix, bool complete_ok) {
        return (complete_ok && *suffix == '\0') || STREQ(suffix, ".part") ||
               STREQ(suffix, ".part.etag");
}

static bool refs_has(const struct refs *r, const char *name) {
        for (size_t i = 0; i < r->n; i++)
                if (strncmp(r->hex[i], name, 64) == 0 && blob_suffix_ok(name + 64, true))
                        return true;
        return false;
}

/* One GC run, or its dry run (what it would free, for space planning). */
struct gc {
        struct tender_store *s;
        bool dry_run;
        struct refs layers, blobs;
        uint64_t bytes, content_bytes; /* all; of blobs/ and layers/ only */
        int removed;
        struct tender_error *err;
};

/* Disk usage of dirfd/name (not following symlinks), at most TENDER_STORE_DU_MAX_DEPTH deep. */
static uint64_t du_at(int parent_fd, const char *name, unsigned depth) {
        struct stat st;
        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        uint64_t total = (uint64_t) st.st_blocks * 512;
        if (!S_ISDIR(st.st_mode) || depth >= TENDER_STORE_DU_MAX_DEPTH)
                return total;
        _cleanup_closedir_ DIR *d = NULL;
        if (open_dir_at(parent_fd, name, &d) < 0)
                return total;
        for (struct dirent *de; (de = readdir(d));)
                if (!dot_or_dotdot(de->d_name))
                        total += du_at(dirfd(d), de->d_name, depth + 1);
        return total;
}

static int gc_remove(struct gc *g, int dirfd, const char *name, bool content) {
        if (g->dry_run) {
                uint64_t n = du_at(dirfd, name, 0);
                g->bytes += n;
                g->content_bytes += content ? n : 0;
                g->removed++;
                return 0;
        }
        int r = tender_rm_rf_at(dirfd, name);
        if (r >= 0)
                g->removed++;
        return r;
}

static int gc_keep_release(struct gc *g, const char *app, const char *version) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        int r = tender_store_release_manifest(g->s, app, version, &m, g->err);
        for (size_t j = 0; r >= 0 && j < m->n_layers; j++) {
                r = refs_add(&g->layers, &m->layers[j].diff_id);
                if (r >= 0)
                        r = refs_add(&g->blobs, &m->layers[j].digest);
        }
        return r;
}

/* state/pins/<app>: "version\n" then "blob <hex>\n" / "layer <hex>\n" lines. */
static int read_pin(const struct tender_store *s, const char *app, char **ret_data) {
        char rel[TENDER_NAME_MAX + 16];
        snprintf(rel, sizeof(rel), "state/pins/%s", app);
        return tender_read_file_at(s->root_fd, rel, TENDER_STORE_PIN_MAX_SIZE, ret_data, NULL);
}

/* Adds the pin's digests to the refs; *ret_version is the pinned version (or NULL). */
static int gc_pin(struct gc *g, const char *app, char **ret_version) {
        _cleanup_free_ char *data = NULL;
        int r = read_pin(g->s, app, &data);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        char *save = NULL, *line = strtok_r(data, "\n", &save);
        if (!line || !tender_name_valid(line))
                return -EBADMSG;
        *ret_version = strdup(line);
        if (!*ret_version)
                return -ENOMEM;
        while ((line = strtok_r(NULL, "\n", &save))) {
                bool blob = strncmp(line, "blob ", 5) == 0;
                const char *hex = line + (blob ? 5 : 6);
                if ((!blob && strncmp(line, "layer ", 6) != 0) || strlen(hex) != 64)
                        return -EBADMSG;
                r = refs_add_hex(blob ? &g->blobs : &g->layers, hex);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int gc_app(struct gc *g, const char *app) {
        _cleanup_free_ char *cur = NULL, *prev = NULL, *pinned = NULL;
        char **releases = NULL;
        char rel[160];
        int r;

        tender_store_get_current(g->s, app, &cur);
        tender_store_get_previous(g->s, app, &prev);
        r = gc_pin(g, app, &pinned);
        if (r < 0)
                return tender_error_set_errno(g->err, TENDER_ERR_SYSTEM, r, "read pin of %s", app);
        snprintf(rel, sizeof(rel), "apps/%s/releases", app);
        r = list_names(g->s->root_fd, rel, 4096, &releases);
        if (r < 0)
                return tender_error_set_errno(g->err, TENDER_ERR_SYSTEM, r, "list %s", rel);
        for (size_t i = 0; releases[i] && r >= 0; i++) {
                const char *v = releases[i];
                bool is_pinned = pinned && STREQ(v, pinned);
                if ((cur && STREQ(v, cur)) || (prev && STREQ(v, prev)) || is_pinned) {
                        r = gc_keep_release(g, app, v);
                        if (r == -ENOENT && is_pinned)
                                r = 0; /* prepared after the fetch; the pin holds its refs */
                        continue;
                }
                release_rel(app, v, rel);
                r = gc_remove(g, g->s->root_fd, rel, false);
                if (r < 0)
                        tender_error_set_errno(g->err, TENDER_ERR_SYSTEM, r, "remove %s", rel);
        }
        tender_strv_free(releases);
        return r;
}

static int gc_pins_without_app(struct gc *g, char *const *apps) {
        char **pinned = NULL;
        int r = list_names(g->s->root_fd, "state/pins", TENDER_STORE_MAX_APPS, &pinned);
        if (r < 0)
                return tender_error_set_errno(g->err, TENDER_ERR_SYSTEM, r, "list state/pins");
        for (size_t i = 0; pinned[i] && r >= 0; i++) {
                bool has_app = false;
                for (size_t j = 0; apps[j] && !has_app; j++)
                        has_app = STREQ(apps[j], pinned[i]);
                if (!has_app)
                        r = gc_app(g, pinned[i]);
        }
        tender_strv_free(pinned);
        return r;
}

/* Removes entries of dir (64-hex names, optionally ".part") that refs does not hold. */
static int gc_dir(struct gc *g, const char *dir, const struct refs *refs) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        r = open_dir_at(g->s->root_fd, dir, &d);
        if (r < 0)
                return tender_error_set_errno(g->err, TENDER_ERR_SYSTEM, r, "open %s", dir);
        while ((de = readdir(d))) {
                if (dot_or_dotdot(de->d_name) || strlen(de->d_name) < 64 ||
                    refs_has(refs, de->d_name))
                        continue;
                r = gc_remove(g, dirfd(d), de->d_name, true);
                if (r < 0)
                        return tender_error_set_errno(g->err, TENDER_ERR_SYSTEM, r, "remove %s/%s",
                                                      dir, de->d_name);
        }
        return 0;
}

static int gc_run(struct gc *g) {
        char **apps = NULL;
        int r = tender_store_list_apps(g->s, &apps);
        if (r < 0)
                return tender_error_set_errno(g->err, TENDER_ERR_SYSTEM, r, "list apps");
        for (size_t i = 0; apps[i] && r >= 0; i++)
                r = gc_app(g, apps[i]);
        /* A first install has a pin before its app has a directory in apps/. */
        if (r >= 0)
                r = gc_pins_without_app(g, apps);
        /* Layers and blobs go only when every kept manifest could be read: a manifest that
         * failed to parse might reference anything. */
        if (r >= 0)
                r = gc_dir(g, "layers/sha256", &g->layers);
        if (r >= 0)
                r = gc_dir(g, "blobs/sha256", &g->blobs);
        tender_strv_free(apps);
        free(g->layers.hex);
        free(g->blobs.hex);
        return r < 0 ? r : g->removed;
}

int tender_store_gc(struct tender_store *s, struct tender_error *err) {
        struct gc g = {.s = s, .err = err};
        return gc_run(&g);
}

int tender_store_gc_estimate(struct tender_store *s, uint64_t *ret_bytes,
                             uint64_t *ret_content_bytes, struct tender_error *err) {
        struct gc g = {.s = s, .dry_run = true, .err = err};
        int r = gc_run(&g);
        if (r >= 0) {
                *ret_bytes = g.bytes;
                *ret_content_bytes = g.content_bytes;
        }
        return r;
}

int tender_store_pin(struct tender_store *s, const char *app,
                     const struct tender_release_manifest *m) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        char hex[65], rel[TENDER_NAME_MAX + 16];
        if (check_names(app, m->version) < 0)
                return -EINVAL;
        FILE *f = open_memstream(&data, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%s\n", m->version);
        for (size_t i = 0; i < m->n_layers; i++) {
                fprintf(f, "blob %s\n", tender_digest_hex(&m->layers[i].digest, hex));
                fprintf(f, "layer %s\n", tender_digest_hex(&m->layers[i].diff_id, hex));
        }
        /* A delta download in flight resumes after a restart like a layer blob's. */
        for (size_t i = 0; i < m->n_deltas; i++)
                fprintf(f, "blob %s\n", tender_digest_hex(&m->deltas[i].digest, hex));
        if (fclose(f) != 0)
                return -ENOMEM;
        if (len > TENDER_STORE_PIN_MAX_SIZE)
                return -E2BIG;
        int r = tender_mkdir_p_at(s->root_fd, "state/pins", STORE_DIR_MODE);
        if (r < 0)
                return r;
        snprintf(rel, sizeof(rel), "state/pins/%s", app);
        return tender_write_file_atomic_at(s->root_fd, rel, data, len, 0600);
}

int tender_store_unpin(struct tender_store *s, const char *app) {
        char rel[TENDER_NAME_MAX + 16];
        if (check_names(app, NULL) < 0)
                return -EINVAL;
        snprintf(rel, sizeof(rel), "state/pins/%s", app);
        if (unlinkat(s->root_fd, rel, 0) < 0 && errno != ENOENT)
                return -errno;
        return tender_fsync_dir_at(s->root_fd, "state/pins");
}

int tender_store_get_pin(const struct tender_store *s, const char *app, char **ret_version) {
        _cleanup_free_ char *data = NULL;
        if (check_names(app, NULL) < 0)
                return -EINVAL;
        int r = read_pin(s, app, &data);
        if (r < 0)
                return r;
        data[strcspn(data, "\n")] = '\0';
        if (!tender_name_valid(data))
                return -EBADMSG;
        *ret_version = TAKE_PTR(data);
        return 0;
}

static bool is_hex64(const char *name, const char *suffix) {
        size_t n = strspn(name, "0123456789abcdef");
        return n == 64 && STREQ(name + 64, suffix);
}

/* Entries of dir whose name is not <hex> (or <hex>.part where allowed) or of the wrong type
 * are leftovers (temp files of an older version, a crash between steps): removed. */
static int scan_dir(struct tender_store *s, const char *dir, bool want_dir, bool allow_part) {
        _cleanup_closedir_ DIR *d = NULL;
        struct stat st;
        int r = open_dir_at(s->root_fd, dir, &d), removed = 0;
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                if (dot_or_dotdot(de->d_name))
                        continue;
                bool part = allow_part && strspn(de->d_name, "0123456789abcdef") == 64 &&
                            blob_suffix_ok(de->d_name + 64, false);
                bool ok = (is_hex64(de->d_name, "") || part) &&
                          fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                          (want_dir && !part ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
                if (ok)
                        continue;
                r = tender_rm_rf_at(dirfd(d), de->d_name);
                if (r < 0)
                        return r;
                removed++;
        }
        return removed;
}

int tender_store_scan(struct tender_store *s, struct tender_error *err) {
        int r = tender_store_clean_tmp(s), removed = 0;
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "clean %s/tmp", s->root);
        r = scan_dir(s, "layers/sha256", true, false);
        if (r >= 0) {
                removed += r;
                r = scan_dir(s, "blobs/sha256", false, true);
        }
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "scan %s", s->root);
        removed += r;
        /* A .part that no kept or pinned release references will never be resumed. */
        r = tender_store_gc(s, err);
        return r < 0 ? r : removed + r;
}

int tender_store_usage(const struct tender_store *s, uint64_t *ret_bytes) {
        static const char *const dirs[] = {"blobs", "layers", "tmp"};
        uint64_t total = 0;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                total += du_at(s->root_fd, dirs[i], 0);
        *ret_bytes = total;
        return 0;
}
