/* SPDX-License-Identifier: Apache-2.0 */
/* tender-publish's subcommands and the release repository helpers they share (private). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tender/error.h"
#include "tender/manifest.h"
#include "tender/oci_layout.h"

int cmd_keygen(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_delta(int argc, char **argv);

/* Opens (with create: makes) the repository directory and its apps/ and blobs/sha256/. */
int repo_open(const char *path, bool create, int *ret_fd, struct tender_error *err);

/* Copies a layer blob from the layout into blobs/sha256/<hex> durably, hashing while copying.
 * An existing blob that verifies is kept; one that does not is replaced. */
int repo_put_blob(int repo_fd, int layout_fd, const struct tender_oci_layer *l,
                  struct tender_error *err);

/* Checks blobs/sha256/<hex> against the layer: size and digest, and, decompressing it, diff_id
 * and uncompressed size. -ENOENT when missing, -EBADMSG on a mismatch. */
int repo_check_blob(int repo_fd, const struct tender_layer *l, struct tender_error *err);

/* Reads apps/<app>/<version>.json (or .sig with sig) within limits. */
int repo_read_release(int repo_fd, const char *app, const char *version, bool sig, char **ret,
                      size_t *ret_len, struct tender_error *err);

/* Before publishing `json` as app/version with counter: refuses a different manifest under the
 * same version and a counter not above every other version's. Returns 1 when the very same
 * manifest is already published, 0 when the version is new. */
int repo_check_versions(int repo_fd, const char *app, const char *version, uint64_t counter,
                        const char *json, struct tender_error *err);

/* The manifests of app's k releases with the highest counters below `below`, newest first, into
 * ret (room for k); *ret_n says how many. The caller frees them. */
int repo_last_releases(int repo_fd, const char *app, uint64_t below, size_t k,
                       struct tender_release_manifest **ret, size_t *ret_n,
                       struct tender_error *err);

/* Layer deltas of a release (release_delta.c, docs/delta-format.md#releases). */
#define RELEASE_DELTAS_DEFAULT 2 /* --deltas: previous releases to make deltas from */
#define RELEASE_DELTAS_MAX 16
#define DELTA_THRESHOLD_DEFAULT 80 /* a delta is kept when at most this % of the layer blob */

struct release_delta_opts {
        uint64_t k;         /* previous releases; 0: none */
        uint64_t threshold; /* percent */
};

/* Delta blobs made for a release, held in hidden temporary files of the repository's
 * blobs/sha256 until release_deltas_put renames them in. */
struct release_deltas {
        char (*tmp)[64]; /* temporary names, "" once renamed */
        struct tender_digest *digests;
        size_t n;
};

/* Makes deltas from the layers of app's last o->k releases (below m's counter) to each of m's
 * layers, paired by position, keeps those within the threshold and appends them to m->deltas.
 * When this version is already in the repository, its deltas are taken over instead, so that a
 * retried release job publishes the same manifest. */
int release_deltas_make(const struct release_delta_opts *o, int repo_fd, int layout_fd,
                        const struct tender_oci_image *img, struct tender_release_manifest *m,
                        struct release_deltas *ret, struct tender_error *err);
/* Moves the delta blobs into blobs/sha256/<hex> durably. */
int release_deltas_put(int repo_fd, struct release_deltas *d, struct tender_error *err);
/* Removes temporary files left (after a failure) and frees d's arrays. */
void release_deltas_done(int repo_fd, struct release_deltas *d);

/* Checks blobs/sha256/<hex> of a delta: size and digest as listed, and a delta header naming
 * the entry's from and to. -EBADMSG on a mismatch. */
int repo_check_delta(int repo_fd, const struct tender_layer_delta *d, struct tender_error *err);

/* delta.c: a layer blob as an uncompressed tar the generator can map: a plain tar dup'ed, a
 * compressed one decompressed into an unnamed temporary file. */
int delta_open_tar(int blob_fd, bool *ret_compressed, int *ret_fd, struct tender_error *err);

/* Parses a decimal u64 option value; -EINVAL names the option. */
int parse_u64_option(const char *opt, const char *s, uint64_t *ret, struct tender_error *err);

/* release_privileges.c: --cpus, --cpu-weight, --cpuset, --memory-reservation, --memory-swap,
 * --io-weight, --cap-add, --device, --seccomp (opt without the dashes) into m. */
int release_privilege_option(const char *opt, const char *arg, struct tender_release_manifest *m,
                             struct tender_error *err);
/* What the release asks a device for beyond the hardened default, and its resources: one
 * "requests: ..." line each (naming the agent.json policy key that must allow it). */
void release_print_requests(FILE *f, const struct tender_release_manifest *m);
