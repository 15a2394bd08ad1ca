/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP Range header parsing for static files (RFC 9110 §14), single ranges only. */
#pragma once

#include <stdint.h>

#define MOCK_RANGE_HEADER_MAX 256

enum mock_range_result {
        MOCK_RANGE_NONE = 0,          /* no usable Range: serve the whole file with 200 */
        MOCK_RANGE_OK = 1,            /* serve [first, last] with 206 */
        MOCK_RANGE_UNSATISFIABLE = 2, /* 416 with "Content-Range: bytes *\/size" */
};

/* Parses "bytes=a-b", "bytes=a-" and "bytes=-n" against a file of `size` bytes. Syntax errors,
 * other units and multiple ranges give MOCK_RANGE_NONE: RFC 9110 lets a server ignore those.
 * A range starting at or after the end (or a zero suffix) is MOCK_RANGE_UNSATISFIABLE.
 * ret_first and ret_last (inclusive) are written only for MOCK_RANGE_OK. */
enum mock_range_result mock_range_parse(const char *header, uint64_t size, uint64_t *ret_first,
                                        uint64_t *ret_last);
