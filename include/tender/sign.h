/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Release signatures: ECDSA P-256 over SHA-256 (mbedTLS), ASN.1 DER encoded.
 *
 * A release manifest `<version>.json` has a detached signature `<version>.json.sig`, a JSON
 * document {"keyid": "<sha256 hex of the public key's DER SubjectPublicKeyInfo>",
 * "method": "ecdsa-sha2-nistp256", "sig": "<hex of the DER signature>"}.
 * This single-key scheme is the interface the TUF client replaces (docs/release-manifest.md).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tender/error.h"

#define TENDER_SIGNATURE_MAX_SIZE 4096

struct tender_verifier; /* a trusted public key */

int tender_verifier_load(const char *public_pem_path, struct tender_verifier **ret,
                         struct tender_error *err);
void tender_verifier_free(struct tender_verifier *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_verifier, tender_verifier_free);

/* The key id (64 hex digits) of the verifier's key. */
const char *tender_verifier_keyid(const struct tender_verifier *v);

/* Checks the detached signature document sig (the .sig file's bytes) over data.
 * -EBADMSG with an error naming the key id on a bad or foreign signature; -EINVAL when the
 * signature document is malformed. */
int tender_verifier_check(const struct tender_verifier *v, const void *data, size_t len,
                          const char *sig, size_t sig_len, struct tender_error *err);

/* Publisher side. Generates a P-256 key pair into two PEM files (private one mode 0600). */
int tender_sign_keygen(const char *private_pem_path, const char *public_pem_path,
                       struct tender_error *err);
/* Signs data with the private key; *ret_sig is the malloc'd NUL-terminated signature document. */
int tender_sign(const char *private_pem_path, const void *data, size_t len, char **ret_sig,
                struct tender_error *err);
