/* SPDX-License-Identifier: Apache-2.0 */
/* The health gate (docs/agent.md): a started container must stay running, with the same
 * process (no restart: a crash loop fails), for the release's window; when the release asks
 * for a probe, it must pass too. */
#pragma once

#include <stdint.h>

#include "container.h"

#define HEALTH_POLL_INTERVAL_MS 200

/* Polls the container's state every HEALTH_POLL_INTERVAL_MS for window_sec seconds.
 * 0 when it was running at every look; otherwise -EIO (or the runtime's error) with err saying
 * how it failed, e.g. "exited with status 1 after 1.2 s". */
int health_gate(const struct runtime *rt, const char *id, uint64_t window_sec,
                struct tender_error *err);

/* The gate with the release's settings (m->health_*) and, when the release sets
 * health.notify, the notify socket bound before the container started (notify.h): READY=1
 * must arrive within the window, and probe failures count only after it. A probe that fails
 * 2 x retries times in all during the window (flapping) fails the gate too. */
int health_gate_notify(const struct runtime *rt, const char *id,
                       const struct tender_release_manifest *m, int notify_fd,
                       struct tender_error *err);

/* health_gate_notify without a notify socket (a release with health.notify fails).
 * The gate with the release's settings (m->health_*): the container must keep running with
 * the same pid for the window, and, when a probe is set, probes run every interval (each
 * bounded by the timeout); failures before the start period ends do not count, `retries`
 * consecutive failures fail the gate, and the last probe of the window must have passed. */
int health_gate_release(const struct runtime *rt, const char *id,
                        const struct tender_release_manifest *m, struct tender_error *err);
