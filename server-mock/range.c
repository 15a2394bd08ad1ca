/* SPDX-License-Identifier: Apache-2.0 */
#include "range.h"

#include <stdbool.h>
#include <string.h>

/* Decimal digits into *ret; false on no digits or overflow. Advances *p past the digits. */
static bool parse_u64(const char **p, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;
        if (*s < '0' || *s > '9')
                return false;
        for (; *s >= '0' && *s <= '9'; s++) {
                unsigned d = (unsigned) (*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        *p = s;
        *ret = v;
        return true;
}

static const char *skip_ws(const char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

enum mock_range_result mock_range_parse(const char *header, uint64_t size, uint64_t *ret_first,
                                        uint64_t *ret_last) {
        if (!header || strnlen(header, MOCK_RANGE_HEADER_MAX + 1) > MOCK_RANGE_HEADER_MAX)
                return MOCK_RANGE_NONE;
        const char *p = skip_ws(header);
        if (strncasecmp(p, "bytes", 5) != 0)
                return MOCK_RANGE_NONE;
        p = skip_ws(p + 5);
        if (*p != '=')
                return MOCK_RANGE_NONE;
        p = skip_ws(p + 1);

        uint64_t first = 0, last = 0;
        bool has_first = false, has_last = false;
        if (*p != '-') {
                if (!parse_u64(&p, &first))
                        return MOCK_RANGE_NONE;
                has_first = true;
        }
        if (*p != '-')
                return MOCK_RANGE_NONE;
        p++;
        if (*p >= '0' && *p <= '9') {
                if (!parse_u64(&p, &last))
                        return MOCK_RANGE_NONE;
                has_last = true;
        }
        p = skip_ws(p);
        if (*p != '\0') /* a second range (",") or garbage: serve the whole file */
                return MOCK_RANGE_NONE;

        if (!has_first) {
                if (!has_last)
                        return MOCK_RANGE_NONE; /* "bytes=-" */
                /* suffix: the last `last` bytes */
                if (last == 0 || size == 0)
                        return MOCK_RANGE_UNSATISFIABLE;
                *ret_first = last >= size ? 0 : size - last;
                *ret_last = size - 1;
                return MOCK_RANGE_OK;
        }
        if (has_last && last < first)
                return MOCK_RANGE_NONE; /* invalid, so ignored */
        if (first >= size)
                return MOCK_RANGE_UNSATISFIABLE;
        *ret_first = first;
        *ret_last = !has_last || last >= size ? size - 1 : last;
        return MOCK_RANGE_OK;
}
