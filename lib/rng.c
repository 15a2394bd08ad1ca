/* SPDX-License-Identifier: Apache-2.0 */
#include "rng.h"

#include <string.h>

int tender_rng_init(struct tender_rng *g, const char *personalization, struct tender_error *err) {
        mbedtls_entropy_init(&g->entropy);
        mbedtls_ctr_drbg_init(&g->drbg);
        int r = mbedtls_ctr_drbg_seed(&g->drbg, mbedtls_entropy_func, &g->entropy,
                                      (const unsigned char *) personalization,
                                      strlen(personalization));
        if (r != 0) {
                tender_rng_done(g);
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO,
                                        "Failed to seed the random generator (mbedTLS -0x%04x)",
                                        (unsigned) -r);
        }
        return 0;
}

void tender_rng_done(struct tender_rng *g) {
        mbedtls_ctr_drbg_free(&g->drbg);
        mbedtls_entropy_free(&g->entropy);
}
