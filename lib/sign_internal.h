/* SPDX-License-Identifier: Apache-2.0 */
/* Private to lib/: what release verification (sign.c) and signing (sign_make.c) share. */
#pragma once

#include <mbedtls/pk.h>

#include "tender/error.h"

#define SIG_METHOD "ecdsa-sha2-nistp256"
#define KEYID_HEX_LEN 64

/* Release keys are EC P-256 only: -EINVAL (TENDER_ERR_VERIFY) naming path otherwise. */
int tender_sign_check_p256(mbedtls_pk_context *pk, const char *path, struct tender_error *err);

/* The key id: lowercase hex SHA-256 of the DER SubjectPublicKeyInfo. 0 or -EIO. */
int tender_sign_keyid(mbedtls_pk_context *pk, char out[KEYID_HEX_LEN + 1]);
