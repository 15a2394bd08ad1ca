/* SPDX-License-Identifier: Apache-2.0 */
/* Private to lib/: the key handling that release signing (sign.c) and TUF keys (tuf_key.c)
 * share — P-256 key generation, PEM key files, ECDSA signing over SHA-256. Each caller keeps
 * its own policy and messages on top (which key types it accepts, how signatures are
 * encoded), so that the two formats can evolve apart without copying the mbedTLS plumbing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <mbedtls/pk.h>

#include "rng.h"
#include "tender/error.h"

/* PEM key files we read or write are a few hundred bytes (an RSA-8192 public key is under
 * 2 KiB); anything bigger is not a key. */
#define TENDER_PK_FILE_MAX (16 * 1024)
/* DER SubjectPublicKeyInfo of any key we accept fits easily. */
#define TENDER_PK_DER_MAX 2048

/* Reads a PEM key file (following symlinks: keys often live behind /etc links) into a malloc'd
 * NUL-terminated buffer; *ret_len counts the NUL, as mbedTLS' PEM parser wants. -ENOENT and
 * other open errors, -EINVAL when not a regular file, -EFBIG over TENDER_PK_FILE_MAX. */
int tender_pk_read_file(const char *path, unsigned char **ret, size_t *ret_len,
                        struct tender_error *err);

/* An EC key on curve P-256 (ECKEY or ECDSA type). */
bool tender_pk_is_p256(const mbedtls_pk_context *pk);

/* The DER SubjectPublicKeyInfo of pk's public half, at the start of out; returns its length,
 * or -EIO. */
int tender_pk_public_der(mbedtls_pk_context *pk, unsigned char out[static TENDER_PK_DER_MAX]);

/* Lowercase hex of in into out (2 * len + 1 bytes). */
void tender_pk_hex_encode(const unsigned char *in, size_t len, char *out);

/* A private key loaded from an unencrypted PEM file, with the seeded random generator that
 * parsing (mbedTLS 3) and ECDSA signing need. Zero-initialise it ({0}) before loading, so that
 * tender_pk_private_done() is safe on every path. */
struct tender_pk_private {
        mbedtls_pk_context pk;
        struct tender_rng rng;
        bool rng_ready;
        const char *path; /* for messages; the caller's string */
};

/* -EINVAL (TENDER_ERR_CONFIG) when the file is not an unencrypted PEM private key; read
 * errors as tender_pk_read_file. The PEM bytes are wiped after parsing. The key type is not
 * checked: that is the caller's policy. */
int tender_pk_private_load(struct tender_pk_private *k, const char *path,
                           const char *personalization, struct tender_error *err);
void tender_pk_private_done(struct tender_pk_private *k);

/* Signs the SHA-256 of data; the signature (DER for ECDSA) goes to sig, which holds
 * MBEDTLS_PK_SIGNATURE_MAX_SIZE bytes. */
int tender_pk_private_sign(struct tender_pk_private *k, const void *data, size_t len,
                           unsigned char sig[static MBEDTLS_PK_SIGNATURE_MAX_SIZE], size_t *ret_len,
                           struct tender_error *err);

/* Generates a new P-256 key into pk (initialised by the caller, still empty). */
int tender_pk_generate_p256(mbedtls_pk_context *pk, const char *personalization,
                            struct tender_error *err);

/* Creates path (O_EXCL: a key is never replaced, an old release key lost by a typo cannot be
 * recovered) with mode, writes data and fsyncs it; on failure the new file is removed. */
int tender_pk_write_new_file(const char *path, const void *data, size_t len, mode_t mode,
                             struct tender_error *err);

/* Writes pk's private key as PEM to a new file of mode 0600 (tender_pk_write_new_file); the
 * PEM buffer is wiped. */
int tender_pk_write_private_pem(mbedtls_pk_context *pk, const char *path, struct tender_error *err);
