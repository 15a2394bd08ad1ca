/* SPDX-License-Identifier: Apache-2.0 */
/* TUF metadata parser: each role type; a root that parses is also checked against its own
 * keys, which runs key parsing and signature verification on fuzzed input. */
#include <stdint.h>
#include <stdlib.h>

#include "tuf_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        for (int type = 0; type < TUF_TYPE_MAX; type++) {
                struct tuf_meta *m = NULL;
                struct tender_error err = {0};
                if (tuf_meta_parse((const char *) data, size, (enum tuf_type) type, "fuzz", &m,
                                   &err) < 0)
                        continue;
                if (type == TUF_ROOT)
                        (void) tuf_meta_verify(m, &m->keys, &m->top[TUF_ROOT], &err);
                for (size_t i = 0; type == TUF_TARGETS && i < m->n_droles; i++)
                        (void) tuf_meta_verify(m, &m->dkeys, &m->droles[i], &err);
                tuf_meta_free(m);
        }
        return 0;
}
