/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "publish.h"
#include "tender/digest.h"
#include "tender/fileio.h"
#include "tender/name.h"
#include "tender/sign.h"

#define COPY_CHUNK (256 * 1024)
#define REPO_MAX_VERSIONS 10000 /* per app; a repo beyond this wants an index, not a scan */

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

int parse_u64_option(const char *opt, const char *s, uint64_t *ret, struct tender_error *err) {
        char *end;
        if (!s || *s < '0' || *s > '9')
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "%s: \"%s\" is not a non-negative integer", opt,
                                        s ? s : "");
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > (1ULL << 53))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "%s: \"%s\" is not an integer up to 2^53", opt, s);
        *ret = v;
        return 0;
}

int repo_open(const char *path, bool create, int *ret_fd, struct tender_error *err) {
        if (create) {
                int r = tender_mkdir_p_at(AT_FDCWD, path, 0755);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                                      "Failed to create repository %s", path);
        }
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "Failed to open repository %s", path);
        if (create) {
                int r = tender_mkdir_p_at(fd, "blobs/sha256", 0755);
                if (r >= 0)
                        r = tender_mkdir_p_at(fd, "apps", 0755);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                                      "Failed to create the layout of %s", path);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int open_blobs_dir(int repo_fd, struct tender_error *err) {
        int fd = openat(repo_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "Failed to open blobs/sha256 of the repository");
        return fd;
}

/* Hashes an existing repository blob: 1 when it matches digest and size, 0 when not. */
static int blob_matches(int dir_fd, const char *hex, const struct tender_digest *d, uint64_t size) {
        _cleanup_close_ int fd = openat(dir_fd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct tender_digest actual;
        uint64_t actual_size;
        int r = tender_sha256_fd(fd, &actual, &actual_size);
        if (r < 0)
                return r;
        return actual_size == size && tender_digest_equal(&actual, d);
}

static int copy_hashed(int src, int dst, struct tender_digest *ret_digest, uint64_t *ret_size) {
        _cleanup_free_ char *buf = malloc(COPY_CHUNK);
        struct tender_sha256 *h = tender_sha256_new();
        uint64_t size = 0;
        int r = 0;
        if (!buf || !h) {
                tender_sha256_free(h);
                return -ENOMEM;
        }
        for (;;) {
                ssize_t n = read(src, buf, COPY_CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : 0;
                        break;
                }
                tender_sha256_update(h, buf, (size_t) n);
                size += (uint64_t) n;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(dst, buf + off, (size_t) (n - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0) {
                                r = -errno;
                                break;
                        }
                        off += w;
                }
                if (r < 0)
                        break;
        }
        tender_sha256_final(h, ret_digest);
        tender_sha256_free(h);
        *ret_size = size;
        return r;
}

int repo_put_blob(int repo_fd, int layout_fd, const struct tender_oci_layer *l,
                  struct tender_error *err) {
        char hex[65], name[TENDER_DIGEST_STRING_MAX], tmp[96];
        tender_digest_hex(&l->digest, hex);
        tender_digest_format(&l->digest, name);
        _cleanup_close_ int dir = open_blobs_dir(repo_fd, err);
        if (dir < 0)
                return dir;
        if (blob_matches(dir, hex, &l->digest, l->size) == 1)
                return 0;

        _cleanup_close_ int src = tender_oci_blob_open(layout_fd, &l->digest, err);
        if (src < 0)
                return src;
        snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", hex, (int) getpid());
        _cleanup_close_ int dst =
                openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (dst < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "Failed to create a temporary file for blob %s",
                                              name);
        struct tender_digest got;
        uint64_t size;
        int r = copy_hashed(src, dst, &got, &size);
        if (r < 0)
                r = tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "Failed to copy blob %s",
                                           name);
        else if (size != l->size || !tender_digest_equal(&got, &l->digest))
                /* The layout changed under us since the scan. */
                r = tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                     "Blob %s changed while it was copied", name);
        else if (fsync(dst) < 0)
                r = tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "Failed to fsync blob %s",
                                           name);
        else if (renameat(dir, tmp, dir, hex) < 0)
                r = tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                           "Failed to rename blob %s into place", name);
        if (r < 0) {
                unlinkat(dir, tmp, 0);
                return r;
        }
        r = tender_fsync_dir_at(dir, ".");
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "Failed to fsync blobs/sha256");
        return 0;
}

int repo_check_blob(int repo_fd, const struct tender_layer *l, struct tender_error *err) {
        char hex[65], name[TENDER_DIGEST_STRING_MAX], got[TENDER_DIGEST_STRING_MAX];
        tender_digest_hex(&l->digest, hex);
        tender_digest_format(&l->digest, name);
        _cleanup_close_ int dir = open_blobs_dir(repo_fd, err);
        if (dir < 0)
                return dir;
        _cleanup_close_ int fd = openat(dir, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_VERIFY, errno, "Blob %s", name);
        struct tender_oci_layer_scan scan;
        int r = tender_oci_layer_scan(fd, l->media_type, &scan, err);
        if (r < 0)
                return tender_error_prefix(err, "Blob %s", name);
        if (scan.size != l->size || !tender_digest_equal(&scan.digest, &l->digest))
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "Blob %s: content has digest %s (%" PRIu64
                                        " bytes, the manifest says %" PRIu64 ")",
                                        name, tender_digest_format(&scan.digest, got), scan.size,
                                        l->size);
        if (scan.uncompressed_size != l->uncompressed_size ||
            !tender_digest_equal(&scan.diff_id, &l->diff_id))
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "Blob %s: decompresses to diff_id %s, %" PRIu64
                                        " bytes, not what the manifest says",
                                        name, tender_digest_format(&scan.diff_id, got),
                                        scan.uncompressed_size);
        return 0;
}

int repo_read_release(int repo_fd, const char *app, const char *version, bool sig, char **ret,
                      size_t *ret_len, struct tender_error *err) {
        char path[3 * TENDER_NAME_MAX];
        if (!tender_name_valid(app) || !tender_name_valid(version))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "Invalid app or version name");
        snprintf(path, sizeof(path), "apps/%s/%s.json%s", app, version, sig ? ".sig" : "");
        int r = tender_read_file_at(repo_fd, path,
                                    sig ? TENDER_SIGNATURE_MAX_SIZE : TENDER_MANIFEST_MAX_SIZE, ret,
                                    ret_len);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "Failed to read %s", path);
        return 0;
}

static bool is_manifest_name(const char *name, char *ret_version, size_t size) {
        size_t n = strlen(name);
        if (n <= 5 || !STREQ(name + n - 5, ".json") || n - 5 >= size)
                return false;
        memcpy(ret_version, name, n - 5);
        ret_version[n - 5] = '\0';
        return tender_name_valid(ret_version);
}

/* Called with each published manifest of an app: its version and bytes. */
typedef int (*release_fn)(const char *version, const char *data, size_t len, void *userdata,
                          struct tender_error *err);

/* Calls fn for each apps/<app>/<version>.json of the repository (none when the app has no
 * directory yet), at most REPO_MAX_VERSIONS of them; stops at the first error. */
static int walk_releases(int repo_fd, const char *app, release_fn fn, void *userdata,
                         struct tender_error *err) {
        char dir_path[TENDER_NAME_MAX + 8];
        snprintf(dir_path, sizeof(dir_path), "apps/%s", app);
        int fd = openat(repo_fd, dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT)
                return 0;
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "Failed to open %s",
                                              dir_path);
        _cleanup_(closedirp) DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "Failed to read %s",
                                              dir_path);
        }
        unsigned seen = 0;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                char version[TENDER_NAME_MAX + 1];
                _cleanup_free_ char *data = NULL;
                size_t len;
                if (!is_manifest_name(de->d_name, version, sizeof(version)))
                        continue;
                if (++seen > REPO_MAX_VERSIONS)
                        return tender_error_set(err, TENDER_ERR_CONFIG, E2BIG,
                                                "%s holds more than %d versions", dir_path,
                                                REPO_MAX_VERSIONS);
                int r = repo_read_release(repo_fd, app, version, false, &data, &len, err);
                if (r < 0)
                        return r;
                r = fn(version, data, len, userdata, err);
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "Failed to read %s",
                                              dir_path);
        return 0;
}

static int parse_release(const char *app, const char *version, const char *data, size_t len,
                         struct tender_release_manifest **ret, struct tender_error *err) {
        int r = tender_manifest_parse(data, len, ret, err);
        if (r < 0)
                return tender_error_prefix(err, "apps/%s/%s.json", app, version);
        return 0;
}

struct versions_check {
        const char *app, *version, *json;
        bool identical, have_other;
        uint64_t max_counter;
        char max_version[TENDER_NAME_MAX + 1];
};

static int check_version(const char *other, const char *data, size_t len, void *userdata,
                         struct tender_error *err) {
        struct versions_check *c = userdata;
        if (STREQ(other, c->version)) {
                if (len != strlen(c->json) || memcmp(data, c->json, len) != 0)
                        return tender_error_set(err, TENDER_ERR_CONFIG, EEXIST,
                                                "%s %s is already published with a different "
                                                "manifest; release a new version instead",
                                                c->app, c->version);
                c->identical = true;
                return 0;
        }
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        int r = parse_release(c->app, other, data, len, &m, err);
        if (r < 0)
                return r;
        if (!c->have_other || m->release_counter > c->max_counter) {
                c->have_other = true;
                c->max_counter = m->release_counter;
                snprintf(c->max_version, sizeof(c->max_version), "%s", other);
        }
        return 0;
}

int repo_check_versions(int repo_fd, const char *app, const char *version, uint64_t counter,
                        const char *json, struct tender_error *err) {
        struct versions_check c = {.app = app, .version = version, .json = json};
        int r = walk_releases(repo_fd, app, check_version, &c, err);
        if (r < 0)
                return r;
        /* Publishing the very same manifest again is idempotent (a retried release job), even
         * when later versions exist: it changes nothing a device could see. */
        if (c.identical)
                return 1;
        if (c.have_other && c.max_counter >= counter)
                return tender_error_set(err, TENDER_ERR_CONFIG, ERANGE,
                                        "release counter %" PRIu64 " is not higher than %" PRIu64
                                        " of %s %s already in the repository",
                                        counter, c.max_counter, app, c.max_version);
        return 0;
}

/* Keeps the k manifests with the highest counters below `below`, newest first. */
static void keep_newest(struct tender_release_manifest **v, size_t k, size_t *n,
                        struct tender_release_manifest *m) {
        size_t i = *n;
        if (i == k) {
                if (m->release_counter <= v[k - 1]->release_counter) {
                        tender_manifest_free(m);
                        return;
                }
                tender_manifest_free(v[--i]);
        } else
                (*n)++;
        for (; i > 0 && v[i - 1]->release_counter < m->release_counter; i--)
                v[i] = v[i - 1];
        v[i] = m;
}

struct last_releases {
        const char *app;
        uint64_t below;
        size_t k, n;
        struct tender_release_manifest **v;
};

static int add_release(const char *version, const char *data, size_t len, void *userdata,
                       struct tender_error *err) {
        struct last_releases *l = userdata;
        struct tender_release_manifest *m = NULL;
        int r = parse_release(l->app, version, data, len, &m, err);
        if (r < 0)
                return r;
        if (m->release_counter < l->below)
                keep_newest(l->v, l->k, &l->n, m);
        else
                tender_manifest_free(m);
        return 0;
}

int repo_last_releases(int repo_fd, const char *app, uint64_t below, size_t k,
                       struct tender_release_manifest **ret, size_t *ret_n,
                       struct tender_error *err) {
        struct last_releases l = {.app = app, .below = below, .k = k, .v = ret};
        int r = k > 0 ? walk_releases(repo_fd, app, add_release, &l, err) : 0;
        if (r < 0) {
                for (size_t i = 0; i < l.n; i++)
                        tender_manifest_free(ret[i]);
                return r;
        }
        *ret_n = l.n;
        return 0;
}
