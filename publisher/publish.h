/* SPDX-License-Identifier: Apache-2.0 */
/* tender-publish's subcommands and the release repository helpers they share (private). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

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

/* Parses a decimal u64 option value; -EINVAL names the option. */
int parse_u64_option(const char *opt, const char *s, uint64_t *ret, struct tender_error *err);
