/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File helpers, fd-first. Durable writes go: temp file in the same directory, write, fsync,
 * rename over the target, fsync the directory. An fsync error fails the operation.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Writes data to dirfd/path durably and atomically. Returns 0 or -errno. */
int tender_write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len,
                                mode_t mode);

/* Reads a whole regular file (not following a final symlink) into a NUL-terminated buffer.
 * -EFBIG if it holds more than max bytes. *ret_data is malloc'd; ret_len may be NULL. */
int tender_read_file_at(int dirfd, const char *path, size_t max, char **ret_data, size_t *ret_len);

/* fsync of dirfd/path, a directory ("." for dirfd itself). */
int tender_fsync_dir_at(int dirfd, const char *path);

/* mkdir -p of a relative path beneath dirfd, never following symlinks. Existing dirs are fine. */
int tender_mkdir_p_at(int dirfd, const char *path, mode_t mode);

/* rm -rf of dirfd/path without following symlinks and without crossing mount points.
 * A missing path is success. */
int tender_rm_rf_at(int dirfd, const char *path);

/* The errno of a failed openat(dirfd, name, O_NOFOLLOW | O_DIRECTORY ...): Linux says ENOTDIR
 * for a symlink there, where openat2's RESOLVE_NO_SYMLINKS says ELOOP; the walks that stand in
 * for openat2 on kernels without it (< 5.6, qemu-user) say ELOOP too, so that a symlink is told
 * from a file whichever way the path was opened. Any other e is returned as is. */
int tender_nofollow_errno(int dirfd, const char *name, int e);

/* The one safe resolver: opens path beneath dirfd as openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) does, with flags (open(2)
 * flags; O_NOFOLLOW and O_CLOEXEC are added, O_CREAT is refused with -EINVAL). Returns the fd or
 * -errno: -EXDEV for an absolute path, a ".." that leaves dirfd or a mount crossed, -ELOOP for a
 * symlink anywhere on the path, -ENOTDIR for a file where a directory must be, -ENOENT.
 * Where openat2 is missing or refused (Linux < 5.6, qemu-user, seccomp; asked once) the same
 * is done by a walk, one component at a time with O_NOFOLLOW, that refuses every "..", every
 * symlink (ELOOP, as openat2) and every mount crossing. The environment variable
 * TENDER_TEST_NO_OPENAT2 forces the walk (the unit tests run both ways). */
int tender_open_beneath(int dirfd, const char *path, int flags);

/* Points linkpath at target atomically: a temp symlink renamed over linkpath, then dir fsync. */
int tender_symlink_atomic_at(int dirfd, const char *target, const char *linkpath);
