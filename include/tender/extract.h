/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer extraction with libarchive (tar, tar+gzip, tar+zstd).
 *
 * Every entry is created beneath the destination directory: absolute paths, ".." components and
 * paths through symlinks are refused, hardlinks must point inside the layer. OCI whiteouts
 * (".wh.<name>", ".wh..wh..opq") become overlayfs whiteouts. The sha256 of the uncompressed tar
 * must equal the layer's diff_id and its size must not exceed uncompressed_size; otherwise the
 * extraction fails and the caller discards the directory.
 */
#pragma once

#include "tender/error.h"
#include "tender/manifest.h"

#define TENDER_EXTRACT_MAX_ENTRIES 1000000
#define TENDER_EXTRACT_MAX_PATH 4096

/* blob_fd: the verified blob, read from offset 0. dest_dir: an existing empty directory.
 * Errors name the entry (or the diff_id) that was refused. */
int tender_layer_extract(int blob_fd, const char *dest_dir, const struct tender_layer *layer,
                         struct tender_error *err);
