/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading OCI image layouts (image-spec v1: oci-layout, index.json, blobs/sha256/<hex>), the
 * input of tender-publish.
 *
 * Every blob is opened beneath the layout directory fd, component by component without
 * following symlinks, and the JSON blobs (manifest, config) are checked against their
 * descriptor's size and digest before they are parsed. Layer blobs are checked by
 * tender_oci_layer_scan, which also computes what a release manifest needs from them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tender/digest.h"
#include "tender/error.h"

#define TENDER_OCI_LAYOUT_FILE_MAX_SIZE 4096
#define TENDER_OCI_INDEX_MAX_SIZE (1024 * 1024)
#define TENDER_OCI_MANIFEST_MAX_SIZE (1024 * 1024)
#define TENDER_OCI_CONFIG_MAX_SIZE (8 * 1024 * 1024)
#define TENDER_OCI_MAX_DEPTH 32
#define TENDER_OCI_MAX_LAYERS 128
#define TENDER_OCI_MAX_STRV 256
/* A decompression bomb stops here rather than filling the disk or running forever. */
#define TENDER_OCI_LAYER_MAX_UNCOMPRESSED (256ULL * 1024 * 1024 * 1024)

#define TENDER_OCI_REF_ANNOTATION "org.opencontainers.image.ref.name"

struct tender_oci_layer {
        char *media_type; /* one of the four tender_oci_layer_media_type_supported accepts */
        struct tender_digest digest;
        uint64_t size;
};

struct tender_oci_image {
        struct tender_digest manifest_digest;
        uint64_t manifest_size;
        struct tender_digest config_digest;
        /* From the config's "config" object. The vectors are NULL-terminated and never NULL;
         * user and working_dir are NULL when the image leaves them unset or empty. */
        char **entrypoint;
        char **cmd;
        char **env;
        char *user;
        char *working_dir;
        /* config.Healthcheck as Docker writes it: Test (NULL when absent or null), and
         * Interval, Timeout, StartPeriod in nanoseconds and Retries (0 when unset). */
        char **healthcheck_test;
        uint64_t healthcheck_interval_ns, healthcheck_timeout_ns, healthcheck_start_period_ns;
        uint64_t healthcheck_retries;
        struct tender_digest *diff_ids; /* rootfs.diff_ids, in layer order */
        size_t n_diff_ids;
        struct tender_oci_layer *layers;
        size_t n_layers;
};

/* What a pass over a layer blob found. */
struct tender_oci_layer_scan {
        struct tender_digest digest; /* of the blob's bytes */
        uint64_t size;
        struct tender_digest diff_id; /* of the uncompressed tar */
        uint64_t uncompressed_size;
};

/* tar, tar+gzip, tar+zstd (OCI) and Docker's rootfs.diff.tar.gzip. */
bool tender_oci_layer_media_type_supported(const char *media_type);

/* Loads the image whose index.json entry carries the annotation
 * org.opencontainers.image.ref.name == ref; with ref NULL the index must hold exactly one
 * manifest. Errors name the file or digest that failed (-ENOENT for an unknown ref, -EBADMSG for
 * a digest or size mismatch, -EINVAL for malformed or unsupported documents, -EFBIG over a
 * limit). Layer blobs are not read here. */
int tender_oci_image_load(int layout_fd, const char *ref, struct tender_oci_image **ret,
                          struct tender_error *err);
void tender_oci_image_free(struct tender_oci_image *img);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_oci_image, tender_oci_image_free);

/* Opens blobs/sha256/<hex> beneath layout_fd read-only, refusing symlinks and non-regular files.
 * Returns the fd (O_CLOEXEC) or -errno. */
int tender_oci_blob_open(int layout_fd, const struct tender_digest *digest,
                         struct tender_error *err);

/* Reads the blob from blob_fd's current offset to EOF once: digest and size of the bytes, and,
 * decompressing as a stream per media_type, the diff_id and size of the tar inside. Refuses
 * data whose compression does not match the media type, and more than
 * TENDER_OCI_LAYER_MAX_UNCOMPRESSED bytes. The caller compares the results with descriptors. */
int tender_oci_layer_scan(int blob_fd, const char *media_type, struct tender_oci_layer_scan *ret,
                          struct tender_error *err);
