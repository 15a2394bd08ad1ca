/* SPDX-License-Identifier: Apache-2.0 */
/* Counters of what /repo/ served, per file: requests and body bytes handed to the connection.
 * Tests read them through GET /mock/stats to prove that a resumed download did not fetch a
 * blob twice. Safe to call from MHD's thread outside the handlers' lock. */
#pragma once

#include <cjson/cJSON.h>
#include <stdint.h>

#define MOCK_STATS_FILES_MAX 1024 /* distinct paths counted; later ones go to "other" */

void mock_stats_request(const char *path);
/* Bytes of path's body read for sending (counted when read, so a transfer cut short counts
 * at most one block more than the peer received: an upper bound). */
void mock_stats_bytes(const char *path, uint64_t n);
/* {"bytes": total, "requests": total, "files": {"<path>": {"requests": n, "bytes": n}}} */
cJSON *mock_stats_to_json(void);
void mock_stats_reset(void);
