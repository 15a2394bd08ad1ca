/* SPDX-License-Identifier: Apache-2.0 */
/* The health gate: a started container must stay "running" for the release's window. */
#pragma once

#include <stdint.h>

#include "container.h"

#define HEALTH_POLL_INTERVAL_MS 200

/* Polls the container's state every HEALTH_POLL_INTERVAL_MS for window_sec seconds.
 * 0 when it was running at every look; otherwise -EIO (or the runtime's error) with err saying
 * how it failed, e.g. "exited with status 1 after 1.2 s". */
int health_gate(const struct runtime *rt, const char *id, uint64_t window_sec,
                struct tender_error *err);
