/* SPDX-License-Identifier: Apache-2.0 */
/* Health probes run inside a container's network namespace: a forked child joins it with
 * setns(2), so tenderd itself never leaves the host's namespaces. */
#pragma once

#include <stdint.h>

#include "container.h"
#include "tender/error.h"
#include "tender/manifest.h"

#define PROBE_MESSAGE_MAX 160
#define PROBE_RESPONSE_MAX 4096 /* bytes of the HTTP answer read for its status line */

/* Runs the probe of type `type` against 127.0.0.1:port (and path for HTTP) in the network
 * namespace of pid, for at most timeout_ms. 0 when healthy; -EIO (failed), -ETIMEDOUT (no
 * answer in time) or another -errno, with err saying what was seen. */
int probe_run(int pid, enum tender_health_probe type, uint16_t port, const char *path,
              uint64_t timeout_ms, struct tender_error *err);

/* Runs the release's exec probe: command in container id through the runtime, for at most
 * timeout_ms. 0 when it exited 0; -EIO (non-zero exit, with the start of its output in err),
 * -ETIMEDOUT (killed at the timeout) or another -errno. */
int probe_exec(const struct runtime *rt, const char *id, char *const *command, uint64_t timeout_ms,
               struct tender_error *err);
