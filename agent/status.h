/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device status document (docs/mqtt.md, "Status document"): agent state, each app's
 * version, health, restarts and cgroup figures, store use, the MQTT queue. One builder for
 * every view: the MQTT retained status and the DDI configData attributes (both sinks of the
 * report path, fed by status_refresh), `tenderctl status --json`'s "device", /healthz and
 * /metrics.
 *
 * Cheap to build at idle: a container's state comes from the last check of the restart policy
 * (agent_container_seen) while that is recent, and the store's use (a walk of the store) is
 * computed again only after an update changed the store, or hourly.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>

struct agent;

/* The status document now. Any thread. */
cJSON *status_json(struct agent *a);
/* Main loop: builds the document when something was reported since the last build (an update's
 * states, a health change), when the telemetry interval (mqtt.statusIntervalSeconds, with MQTT
 * on) is due, or when force; emits it as a REPORT_STATUS event when its stable part (all but
 * the time, resource figures, store figures and the queue's length) changed, when telemetry is
 * due, or when force. */
void status_refresh(struct agent *a, bool force);

/* Text from the server, a layer or an app into a JSON payload: one line of valid UTF-8
 * (tender/escape.h); NULL as null. */
void status_add_text(cJSON *o, const char *key, const char *s);
/* "time": now, UTC, RFC 3339. */
void status_add_time(cJSON *o);
