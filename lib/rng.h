/* SPDX-License-Identifier: Apache-2.0 */
/* Private to lib/: the CTR-DRBG random generator that key generation and signing use. */
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "tender/error.h"

struct tender_rng {
        mbedtls_entropy_context entropy;
        mbedtls_ctr_drbg_context drbg;
};

/* Seeds from the system's entropy. On failure nothing is left to release. */
int tender_rng_init(struct tender_rng *g, const char *personalization, struct tender_error *err);
void tender_rng_done(struct tender_rng *g);
