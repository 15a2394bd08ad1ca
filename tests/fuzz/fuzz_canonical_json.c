/* SPDX-License-Identifier: Apache-2.0 */
/* Canonical JSON: the strict parser, then the encoder, whose output must parse back to the same
 * canonical bytes (when it is valid JSON, i.e. holds no raw control characters). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tender/canonical_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        cJSON *j = NULL;
        char *out = NULL, *again = NULL;
        size_t len = 0, len2 = 0;
        if (tender_canonical_json_parse((const char *) data, size, 1 << 20, 32, &j, NULL) < 0)
                return 0;
        if (tender_canonical_json(j, &out, &len, NULL) == 0) {
                cJSON *k = NULL;
                if (tender_canonical_json_parse(out, len, 1 << 21, 32, &k, NULL) == 0 &&
                    tender_canonical_json(k, &again, &len2, NULL) == 0 &&
                    (len != len2 || memcmp(out, again, len) != 0))
                        abort();
                cJSON_Delete(k);
        }
        free(again);
        free(out);
        cJSON_Delete(j);
        return 0;
}
