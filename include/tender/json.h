/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON over cJSON with limits. Every document from the network, a file or a user is parsed here,
 * so that size and nesting depth are bounded before cJSON recurses, duplicate keys are refused,
 * and errors name the JSON path of the bad field ("image.layers[1].digest").
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "tender/error.h"

#define TENDER_JSON_MAX_DEPTH_DEFAULT 32

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON, cJSON_Delete);

/* The size check every parser of a document from outside starts with: -EINVAL (TENDER_ERR_JSON)
 * for no data, -EFBIG naming both sizes for more than max_size bytes. */
int tender_json_check_size(const char *data, size_t len, size_t max_size, struct tender_error *err);

/* Parses len bytes (no NUL needed). Refuses more than max_size bytes, nesting deeper than
 * max_depth, duplicate keys in an object, trailing garbage. *ret is owned by the caller. */
int tender_json_parse(const char *data, size_t len, size_t max_size, unsigned max_depth,
                      cJSON **ret, struct tender_error *err);

/* Typed members. `path` names obj in errors ("" for the root, else e.g. "image.layers[1]").
 * Missing member: -ENOENT with an error when required, else 0 and *ret untouched.
 * Wrong type or out of range: -EINVAL with an error naming path.key. */
int tender_json_get_string(const cJSON *obj, const char *path, const char *key, bool required,
                           const char **ret, struct tender_error *err);
/* Integers must be whole numbers in [0, 2^53]. */
int tender_json_get_u64(const cJSON *obj, const char *path, const char *key, bool required,
                        uint64_t *ret, struct tender_error *err);
int tender_json_get_bool(const cJSON *obj, const char *path, const char *key, bool required,
                         bool *ret, struct tender_error *err);
int tender_json_get_object(const cJSON *obj, const char *path, const char *key, bool required,
                           const cJSON **ret, struct tender_error *err);
int tender_json_get_array(const cJSON *obj, const char *path, const char *key, bool required,
                          const cJSON **ret, struct tender_error *err);
/* Array of strings into a NULL-terminated malloc'd vector (free with tender_strv_free);
 * at most max_items. */
int tender_json_get_strv(const cJSON *obj, const char *path, const char *key, bool required,
                         size_t max_items, char ***ret, struct tender_error *err);

/* Refuses members of obj not listed in allowed (NULL-terminated), naming path.key. */
int tender_json_check_keys(const cJSON *obj, const char *path, const char *const *allowed,
                           struct tender_error *err);

void tender_strv_free(char **v);
size_t tender_strv_length(char *const *v);
