/* SPDX-License-Identifier: Apache-2.0 */
#include "repo.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/md.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tender/digest.h"
#include "tender/fileio.h"
#include "tender/manifest.h"

#define HASH_CHUNK (64 * 1024)

struct cache_entry {
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
        struct mock_hashes hashes;
};

struct mock_repo {
        int fd;
        struct cache_entry *cache;
        size_t n_cache;
};

int mock_repo_open(const char *dir, struct mock_repo **ret, struct tender_error *err) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, errno,
                                              "Failed to open repository %s", dir);
        struct mock_repo *r = calloc(1, sizeof(*r));
        if (!r) {
                close(fd);
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        }
        r->fd = fd;
        *ret = r;
        return 0;
}

void mock_repo_free(struct mock_repo *r) {
        if (!r)
                return;
        if (r->fd >= 0)
                close(r->fd);
        free(r->cache);
        free(r);
}

/* Relative, at most MOCK_REPO_PATH_DEPTH components, none empty, "." or "..". */
static bool path_acceptable(const char *path) {
        size_t len = strnlen(path, MOCK_REPO_PATH_MAX + 1);
        if (len == 0 || len > MOCK_REPO_PATH_MAX || path[0] == '/')
                return false;
        unsigned depth = 0;
        for (const char *p = path;;) {
                const char *slash = strchrnul(p, '/');
                size_t n = (size_t) (slash - p);
                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                if (++depth > MOCK_REPO_PATH_DEPTH)
                        return false;
                if (!*slash)
                        return true;
                p = slash + 1;
        }
}

/* No symlink is followed and nothing outside the repository is reached (tender_open_beneath):
 * a way out is refused (403), like a path that is not acceptable. */
static int open_beneath(int dirfd, const char *path) {
        int fd = tender_open_beneath(dirfd, path, O_RDONLY | O_NOCTTY);
        return fd == -EXDEV || fd == -ELOOP ? -EPERM : fd;
}

int mock_repo_open_file(struct mock_repo *r, const char *path) {
        if (!path_acceptable(path))
                return -EPERM;
        _cleanup_close_ int fd = open_beneath(r->fd, path);
        if (fd < 0)
                return fd == -ENOTDIR ? -ENOENT : fd;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -ENOENT;
        return TAKE_FD(fd);
}

static void hex(const unsigned char *b, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[b[i] >> 4];
                out[2 * i + 1] = digits[b[i] & 0xf];
        }
        out[2 * n] = '\0';
}

/* MD5 and SHA-1 are what hawkBit clients check; they come from mbedTLS's generic md layer,
 * whose API is the same in 2.28 and 3.x. */
static int hash_fd(int fd, struct mock_hashes *ret) {
        static const mbedtls_md_type_t types[] = {MBEDTLS_MD_MD5, MBEDTLS_MD_SHA1,
                                                  MBEDTLS_MD_SHA256};
        mbedtls_md_context_t ctx[ELEMENTSOF(types)];
        int r = 0;
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                mbedtls_md_init(&ctx[i]);
        for (size_t i = 0; i < ELEMENTSOF(types) && r == 0; i++) {
                const mbedtls_md_info_t *info = mbedtls_md_info_from_type(types[i]);
                if (!info || mbedtls_md_setup(&ctx[i], info, 0) != 0 ||
                    mbedtls_md_starts(&ctx[i]) != 0)
                        r = -ENOTSUP;
        }

        _cleanup_free_ unsigned char *buf = r == 0 ? malloc(HASH_CHUNK) : NULL;
        if (r == 0 && !buf)
                r = -ENOMEM;
        for (off_t off = 0; r == 0;) {
                ssize_t n = pread(fd, buf, HASH_CHUNK, off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                for (size_t i = 0; i < ELEMENTSOF(types); i++)
                        mbedtls_md_update(&ctx[i], buf, (size_t) n);
                off += n;
        }

        if (r == 0) {
                unsigned char out[TENDER_SHA256_SIZE];
                mbedtls_md_finish(&ctx[0], out);
                hex(out, 16, ret->md5);
                mbedtls_md_finish(&ctx[1], out);
                hex(out, 20, ret->sha1);
                mbedtls_md_finish(&ctx[2], out);
                hex(out, 32, ret->sha256);
        }
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                mbedtls_md_free(&ctx[i]);
        return r;
}

int mock_repo_hashes(struct mock_repo *r, int fd, uint64_t *ret_size, struct mock_hashes *ret) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        for (size_t i = 0; i < r->n_cache; i++) {
                const struct cache_entry *e = &r->cache[i];
                if (e->dev == st.st_dev && e->ino == st.st_ino && e->size == st.st_size &&
                    e->mtime.tv_sec == st.st_mtim.tv_sec &&
                    e->mtime.tv_nsec == st.st_mtim.tv_nsec) {
                        *ret = e->hashes;
                        *ret_size = (uint64_t) st.st_size;
                        return 0;
                }
        }

        struct mock_hashes h;
        int k = hash_fd(fd, &h);
        if (k < 0)
                return k;

        if (!r->cache || r->n_cache >= MOCK_HASH_CACHE_MAX) {
                /* A bounded cache: start over rather than track ages. */
                free(r->cache);
                r->n_cache = 0;
                r->cache = calloc(MOCK_HASH_CACHE_MAX, sizeof(*r->cache));
        }
        if (r->cache)
                r->cache[r->n_cache++] = (struct cache_entry){
                        .dev = st.st_dev,
                        .ino = st.st_ino,
                        .size = st.st_size,
                        .mtime = st.st_mtim,
                        .hashes = h,
                };
        *ret = h;
        *ret_size = (uint64_t) st.st_size;
        return 0;
}

bool mock_repo_has_release(struct mock_repo *r, const char *app, const char *version) {
        char path[MOCK_ARTIFACT_PATH_MAX], swu[MOCK_ARTIFACT_PATH_MAX];
        snprintf(path, sizeof(path), "apps/%s/%s.json", app, version);
        snprintf(swu, sizeof(swu), "apps/%s/%s.swu", app, version);
        _cleanup_close_ int fd = mock_repo_open_file(r, path);
        _cleanup_close_ int sfd = fd < 0 ? mock_repo_open_file(r, swu) : -EBADF;
        return fd >= 0 || sfd >= 0;
}

int mock_read_fd(int fd, size_t max, char **ret_data, size_t *ret_len) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        size_t len = (size_t) st.st_size;
        _cleanup_free_ char *data = malloc(len + 1);
        if (!data)
                return -ENOMEM;
        size_t done = 0;
        while (done < len) {
                ssize_t n = pread(fd, data + done, len - done, (off_t) done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break; /* shrank meanwhile */
                done += (size_t) n;
        }
        data[done] = '\0';
        *ret_data = TAKE_PTR(data);
        *ret_len = done;
        return 0;
}

static int artifact_fill(struct mock_repo *r, struct mock_artifact *a, const char *filename,
                         const char *path, struct tender_error *err) {
        snprintf(a->filename, sizeof(a->filename), "%s", filename);
        snprintf(a->path, sizeof(a->path), "%s", path);
        _cleanup_close_ int fd = mock_repo_open_file(r, path);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SERVER, -fd, "%s", path);
        int k = mock_repo_hashes(r, fd, &a->size, &a->hashes);
        if (k < 0)
                return tender_error_set_errno(err, TENDER_ERR_SERVER, -k, "Failed to hash %s",
                                              path);
        return 0;
}

/* Delta blobs after the layers, each once. A delta blob missing from the repository is left
 * out rather than failing the release: devices then fetch the full layer. */
static int add_deltas(struct mock_repo *r, const struct tender_release_manifest *m,
                      struct mock_artifact *arts, size_t *n, struct tender_error *err) {
        for (size_t i = 0; i < m->n_deltas; i++) {
                char digest[TENDER_DIGEST_STRING_MAX], hexd[65], path[MOCK_ARTIFACT_PATH_MAX];
                tender_digest_format(&m->deltas[i].digest, digest);
                bool seen = false;
                for (size_t j = 2; j < *n && !seen; j++)
                        seen = STREQ(arts[j].filename, digest);
                if (seen)
                        continue;
                snprintf(path, sizeof(path), "blobs/sha256/%s",
                         tender_digest_hex(&m->deltas[i].digest, hexd));
                int k = artifact_fill(r, &arts[*n], digest, path, err);
                if (k == -ENOENT)
                        continue;
                if (k < 0)
                        return k;
                (*n)++;
        }
        return 0;
}

/* A release for other DDI clients (a SWUpdate image for swupdate's suricatta, which installs
 * only artifacts named *.swu): apps/<app>/<version>.swu alone, offered as "<version>.swu". */
static int swu_release(struct mock_repo *r, const char *app, const char *version,
                       struct mock_artifact **ret, size_t *ret_n, struct tender_error *err) {
        char path[MOCK_ARTIFACT_PATH_MAX], filename[MOCK_ARTIFACT_FILENAME_MAX];
        snprintf(path, sizeof(path), "apps/%s/%s.swu", app, version);
        snprintf(filename, sizeof(filename), "%s.swu", version);
        _cleanup_free_ struct mock_artifact *arts = calloc(1, sizeof(*arts));
        if (!arts)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        int k = artifact_fill(r, arts, filename, path, err);
        if (k == -ENOENT)
                tender_error_set(err, TENDER_ERR_SERVER, ENOENT, "apps/%s/%s.json", app, version);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(arts);
        *ret_n = 1;
        return 0;
}

int mock_repo_release(struct mock_repo *r, const char *app, const char *version,
                      struct mock_artifact **ret, size_t *ret_n, struct tender_error *err) {
        char manifest_path[MOCK_ARTIFACT_PATH_MAX], sig_path[MOCK_ARTIFACT_PATH_MAX];
        snprintf(manifest_path, sizeof(manifest_path), "apps/%s/%s.json", app, version);
        snprintf(sig_path, sizeof(sig_path), "apps/%s/%s.json.sig", app, version);

        _cleanup_close_ int fd = mock_repo_open_file(r, manifest_path);
        if (fd == -ENOENT)
                return swu_release(r, app, version, ret, ret_n, err);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SERVER, -fd, "%s", manifest_path);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int k = mock_read_fd(fd, TENDER_MANIFEST_MAX_SIZE, &data, &len);
        if (k < 0)
                return tender_error_set_errno(err, TENDER_ERR_SERVER, -k, "Failed to read %s",
                                              manifest_path);
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        k = tender_manifest_parse(data, len, &m, err);
        if (k < 0)
                return tender_error_prefix(err, "%s", manifest_path);

        _cleanup_free_ struct mock_artifact *arts =
                calloc(m->n_layers + m->n_deltas + 2, sizeof(*arts));
        if (!arts)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        size_t n = 0;
        k = artifact_fill(r, &arts[n++], "release.json", manifest_path, err);
        if (k < 0)
                return k;
        /* Releases verified through TUF have no detached signature: offered when present. */
        _cleanup_close_ int sfd = mock_repo_open_file(r, sig_path);
        if (sfd >= 0) {
                k = artifact_fill(r, &arts[n++], "release.json.sig", sig_path, err);
                if (k < 0)
                        return k;
        }
        size_t first_blob = n;
        for (size_t i = 0; i < m->n_layers; i++) {
                char digest[TENDER_DIGEST_STRING_MAX], hexd[65], path[MOCK_ARTIFACT_PATH_MAX];
                tender_digest_format(&m->layers[i].digest, digest);
                bool seen = false;
                for (size_t j = first_blob; j < n && !seen; j++)
                        seen = STREQ(arts[j].filename, digest);
                if (seen) /* a layer repeated in an image is fetched once */
                        continue;
                snprintf(path, sizeof(path), "blobs/sha256/%s",
                         tender_digest_hex(&m->layers[i].digest, hexd));
                k = artifact_fill(r, &arts[n++], digest, path, err);
                if (k < 0)
                        return k;
        }
        k = add_deltas(r, m, arts, &n, err);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(arts);
        *ret_n = n;
        return 0;
}
