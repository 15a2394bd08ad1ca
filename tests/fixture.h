/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the unit tests set up, once (tests/test.h runs the tests):
 *
 *     const struct fixture_dir *t = fixture_dir("fileio");
 *     ASSERT_TRUE(t);            // t->path, t->fd (an O_DIRECTORY fd)
 *
 * A fixture dir is removed with all it holds when the test ends, passed, failed (an assertion
 * returns early) or skipped, without a shell and without following symlinks or crossing mount
 * points (tender_rm_rf_at). A forked child that _exit()s leaves it to its parent.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tender/fileio.h"
#include "tender/store.h"
#include "test.h"

struct fixture_dir {
        int fd;
        char path[PATH_MAX];
};

static inline void fixture_dir_remove(void *p) {
        struct fixture_dir *d = p;
        if (d->fd >= 0)
                close(d->fd);
        int r = tender_rm_rf_at(AT_FDCWD, d->path);
        if (r < 0)
                fprintf(stderr, "  could not remove %s: %s\n", d->path, strerror(-r));
        free(d);
}

/* A new empty directory /tmp/tender-<name>.XXXXXX, open; NULL (said on stderr) on failure. */
static inline const struct fixture_dir *fixture_dir(const char *name) {
        struct fixture_dir *d = calloc(1, sizeof(*d));
        if (!d)
                return NULL;
        snprintf(d->path, sizeof(d->path), "/tmp/tender-%s.XXXXXX", name);
        if (!mkdtemp(d->path)) {
                fprintf(stderr, "  mkdtemp %s: %m\n", d->path);
                free(d);
                return NULL;
        }
        d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        test_defer(fixture_dir_remove, d);
        return d->fd >= 0 ? d : NULL;
}

/* A fixture_dir as an fd of the caller's own (it closes it), for tests that pass fds around;
 * its path in *ret_path when not NULL. -1 on failure. */
static inline int fixture_dir_fd(const char *name, const char **ret_path) {
        const struct fixture_dir *d = fixture_dir(name);
        if (!d)
                return -1;
        if (ret_path)
                *ret_path = d->path;
        return fcntl(d->fd, F_DUPFD_CLOEXEC, 3);
}

/* dirfd/path exists (not following a last symlink). */
static inline bool fixture_exists_at(int dirfd, const char *path) {
        struct stat st;
        return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The regular file dirfd/name holds exactly these len bytes. */
static inline bool fixture_file_is(int dirfd, const char *name, const void *data, size_t len) {
        char *got = NULL;
        size_t n = 0;
        bool same = tender_read_file_at(dirfd, name, len + 1, &got, &n) >= 0 && n == len &&
                    memcmp(got, data, len) == 0;
        free(got);
        return same;
}

/* Entries of the directory dirfd/path but "." and ".."; 0 when it cannot be read. */
static inline unsigned fixture_count_entries(int dirfd, const char *path) {
        int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        unsigned n = 0;
        if (!d) {
                if (fd >= 0)
                        close(fd);
                return 0;
        }
        for (struct dirent *de; (de = readdir(d));)
                n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        closedir(d);
        return n;
}

/* The store tests' store: opened at <fixture dir>/store, whose path fixture_store_root holds
 * (for the paths a test reads behind the store's back). The caller frees the store (it may
 * close and reopen it: fixture_store_freep); the directory goes when the test ends. */
static char fixture_store_root[PATH_MAX];

static inline int fixture_store_new(const char *name, struct tender_store **ret) {
        struct tender_error err = {0};
        const struct fixture_dir *d = fixture_dir(name);
        if (!d)
                return -EIO;
        snprintf(fixture_store_root, sizeof(fixture_store_root), "%s/store", d->path);
        int r = tender_store_open(fixture_store_root, ret, &err);
        if (r < 0)
                fprintf(stderr, "  %s\n", err.message);
        return r;
}

static inline void fixture_store_freep(struct tender_store **s) {
        tender_store_free(*s);
}

/* fixture_store_root/rel exists (following symlinks: a dangling one does not). */
static inline bool fixture_store_exists(const char *rel) {
        char p[PATH_MAX + 256];
        snprintf(p, sizeof(p), "%s/%s", fixture_store_root, rel);
        return access(p, F_OK) == 0;
}
