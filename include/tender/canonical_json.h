/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Canonical JSON (OLPC), the byte form TUF signs: objects with keys sorted by their bytes, no
 * whitespace, strings escaping only '"' and '\\', integers only. Also the strict parser TUF
 * metadata goes through: tender/json.h's limits (size, depth, duplicate keys, NUL) plus no
 * floats, exponents or negative numbers, which have no canonical form.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>

#include "tender/error.h"

/* Deepest tree the encoder walks; tender_json_parse bounds parsed trees below this. */
#define TENDER_CANONICAL_JSON_MAX_DEPTH 64
/* Largest magnitude of an integer: beyond 2^53 a double no longer holds it exactly. */
#define TENDER_CANONICAL_JSON_INT_MAX 9007199254740992.0

/* Encodes node into a malloc'd NUL-terminated buffer (ret_len may be NULL). -EINVAL with an
 * error naming the reason for a float, an integer beyond 2^53, a raw value or too deep a tree. */
int tender_canonical_json(const cJSON *node, char **ret, size_t *ret_len, struct tender_error *err);

/* Parses len bytes like tender_json_parse (max_size, max_depth, duplicate keys refused) and
 * refuses numbers with a fraction, an exponent or a minus sign anywhere in the document. */
int tender_canonical_json_parse(const char *data, size_t len, size_t max_size, unsigned max_depth,
                                cJSON **ret, struct tender_error *err);
