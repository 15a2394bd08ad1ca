/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer extraction with libarchive (tar, tar+gzip, tar+zstd).
 *
 * Every entry is created beneath the destination directory fd, one component at a time without
 * following symlinks (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, else an O_NOFOLLOW walk):
 * absolute paths, ".." components and paths through symlinks are refused, hardlinks must point
 * to an earlier entry of the same layer. Device nodes, FIFOs, sockets and setuid/setgid bits
 * are dropped unless the options allow them; trusted.*, security.* and user.overlay.* xattrs are
 * filtered. OCI whiteouts (".wh.<name>", ".wh..wh..opq") become overlayfs whiteouts (0/0
 * character devices) and opaque directories (trusted.overlay.opaque=y); a bare ".wh." is
 * refused. A whiteout of this layer that an entry needs as its parent (".wh.x" then "x/f")
 * becomes an opaque directory.
 *
 * The tar stream is read once: its sha256 and size are computed while the entries are written
 * and must equal the layer's diff_id and uncompressed_size (reading stops as soon as the size
 * is exceeded, so a compression bomb costs no more than the manifest says). On any failure the
 * destination directory is emptied again before returning.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tender/error.h"
#include "tender/manifest.h"

#define TENDER_EXTRACT_MAX_ENTRIES 1000000
#define TENDER_EXTRACT_MAX_PATH 4096

/* What a release allows an image to carry; zero-initialized means the safe defaults. */
struct tender_extract_options {
        bool allow_devices; /* create character/block devices and FIFOs (never sockets) */
        bool allow_setid;   /* keep setuid/setgid bits on non-directories */
        /* Ownership shift into a user-namespace range: uid/gid + offset on disk. With id_range
         * set, an owner >= id_range in the archive is refused (it would leave the range). */
        uint32_t uid_offset;
        uint32_t gid_offset;
        uint32_t id_range;    /* 0: no range check */
        uint64_t max_entries; /* 0: TENDER_EXTRACT_MAX_ENTRIES */
        size_t max_path; /* bytes of an entry path or link target; 0: TENDER_EXTRACT_MAX_PATH */
        /* Cap on the sum of the entries' sizes (sparse files can claim more than the stream
         * holds); 0: the layer's uncompressed_size. */
        uint64_t max_total_size;
};

/* blob_fd: the verified blob, read from offset 0. dest_dir: an existing empty directory.
 * Errors name the entry (or the diff_id) that was refused. Default options. Returns 0. */
int tender_layer_extract(int blob_fd, const char *dest_dir, const struct tender_layer *layer,
                         struct tender_error *err);

/* The same beneath an open directory fd, with options (NULL: defaults). Returns the number of
 * entries read from the archive. */
int tender_layer_extract_at(int blob_fd, int dest_fd, const struct tender_layer *layer,
                            const struct tender_extract_options *opts, struct tender_error *err);

/* A caller's supply of uncompressed tar (layer deltas): the size of the next piece and
 * *ret_buf (valid until the next call), 0 at the end, or a negative errno. */
typedef ssize_t (*tender_extract_source_fn)(void *userdata, const void **ret_buf);

/* tender_layer_extract_at reading the tar from source: the same checks, the same digest and
 * size verification (the whole stream is read, also past the tar's end), the same cleanup. */
int tender_layer_extract_source_at(tender_extract_source_fn source, void *userdata, int dest_fd,
                                   const struct tender_layer *layer,
                                   const struct tender_extract_options *opts,
                                   struct tender_error *err);
