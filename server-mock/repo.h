/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The release repository the mock serves (written by tender-publish):
 *   apps/<app>/<version>.json, apps/<app>/<version>.json.sig, blobs/sha256/<hex>.
 * Files are opened beneath the repository's directory fd only; hashes for DDI artifacts
 * are computed with mbedTLS and cached per (inode, size, mtime).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tender/error.h"

#define MOCK_REPO_PATH_MAX 4096       /* a request path below /repo/ */
#define MOCK_REPO_PATH_DEPTH 32       /* components in such a path */
#define MOCK_HASH_CACHE_MAX 4096      /* cached file hashes before the cache is reset */
#define MOCK_ARTIFACT_FILENAME_MAX 80 /* "sha256:" + 64 hex fits */
#define MOCK_ARTIFACT_PATH_MAX 256    /* apps/<app>/<version>.json.sig with 64-byte names */

struct mock_hashes {
        char md5[33];
        char sha1[41];
        char sha256[65];
};

struct mock_artifact {
        char filename[MOCK_ARTIFACT_FILENAME_MAX];
        char path[MOCK_ARTIFACT_PATH_MAX]; /* relative to the repository */
        uint64_t size;
        struct mock_hashes hashes;
};

struct mock_repo;

/* Opens the repository directory. */
int mock_repo_open(const char *dir, struct mock_repo **ret, struct tender_error *err);
void mock_repo_free(struct mock_repo *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mock_repo, mock_repo_free);

/* Opens a regular file by a relative path for reading. -EPERM for paths that are absolute,
 * hold "." / ".." / empty components, or resolve outside the repository (symlinks);
 * -ENOENT when missing or not a regular file. Returns the fd (O_CLOEXEC). */
/* Reads all of fd (at most max bytes, else -EFBIG), NUL-terminated. */
int mock_read_fd(int fd, size_t max, char **ret_data, size_t *ret_len);
int mock_repo_open_file(struct mock_repo *r, const char *path);

/* Size and hashes of an open file (from the cache when the file did not change). */
int mock_repo_hashes(struct mock_repo *r, int fd, uint64_t *ret_size, struct mock_hashes *ret);

/* Whether apps/<app>/<version>.json exists. app and version must be valid names. */
bool mock_repo_has_release(struct mock_repo *r, const char *app, const char *version);

/* The files of a release, in DDI order: release.json, release.json.sig, then one per distinct
 * layer blob ("sha256:<hex>"), then one per distinct delta blob of image.deltas that the
 * repository holds. The manifest is parsed with tender_manifest_parse.
 * -ENOENT when a file is missing, -EBADMSG (or the parser's error) for a bad manifest;
 * err says which. *ret is malloc'd. */
int mock_repo_release(struct mock_repo *r, const char *app, const char *version,
                      struct mock_artifact **ret, size_t *ret_n, struct tender_error *err);
