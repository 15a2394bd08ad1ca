/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 digests (mbedTLS) and their "sha256:<64 lowercase hex>" text form. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TENDER_SHA256_SIZE 32
#define TENDER_DIGEST_STRING_MAX (7 + 64 + 1) /* "sha256:" + hex + NUL */

struct tender_digest {
        uint8_t bytes[TENDER_SHA256_SIZE];
};

struct tender_sha256; /* streaming hash state, opaque */

/* Streaming: new returns NULL on ENOMEM. final writes the digest; the state can be freed after. */
struct tender_sha256 *tender_sha256_new(void);
void tender_sha256_update(struct tender_sha256 *h, const void *data, size_t len);
void tender_sha256_final(struct tender_sha256 *h, struct tender_digest *ret);
void tender_sha256_free(struct tender_sha256 *h);

/* Tests: 1 makes new hashes use mbedTLS's portable code even where the CPU has SHA-NI, 0 makes
 * them use SHA-NI where it has it, -1 (default) decides from CPUID. Not thread-safe. */
void tender_sha256_force_portable(int portable);

void tender_sha256_buffer(const void *data, size_t len, struct tender_digest *ret);
/* Hashes what is left of fd (reads to EOF). ret_size may be NULL. */
int tender_sha256_fd(int fd, struct tender_digest *ret, uint64_t *ret_size);

/* Decodes hex (an even number of digits, 2 to 2 * max) into out; *ret_len gets the bytes.
 * Lowercase only, so that one value has one text form, unless flags has TENDER_HEX_ANY_CASE
 * (TUF's keys and signatures, written by other tools). -EINVAL otherwise. */
#define TENDER_HEX_ANY_CASE 1
int tender_hex_decode(const char *in, uint8_t *out, size_t max, size_t *ret_len, int flags);

/* Accepts exactly "sha256:" followed by 64 lowercase hex digits; -EINVAL otherwise. */
int tender_digest_parse(const char *s, struct tender_digest *ret);
/* Writes "sha256:<hex>" into buf (TENDER_DIGEST_STRING_MAX bytes); returns buf. */
char *tender_digest_format(const struct tender_digest *d,
                           char buf[static TENDER_DIGEST_STRING_MAX]);
/* Writes the 64 hex digits only (store paths); buf holds 65 bytes. Returns buf. */
char *tender_digest_hex(const struct tender_digest *d, char buf[static 65]);
bool tender_digest_equal(const struct tender_digest *a, const struct tender_digest *b);
