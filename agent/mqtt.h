/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT, a sink of the report path (report.h), with libmosquitto (docs/mqtt.md):
 *   <prefix>/<controllerId>/status        retained status document, refreshed
 *   <prefix>/<controllerId>/availability  retained {"online": ...}; the last will says false
 *   <prefix>/<controllerId>/events        events at QoS 1, from the durable queue, in order
 * Off unless agent.json has an "mqtt" block. The broker being away, refusing TLS or the login
 * never holds up an update: events wait in the queue (mqtt_queue.h), the client reconnects
 * with a backoff in its own thread.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "tender/error.h"

struct agent;

/* Starts the client when configured (0 and nothing when not); registers the report sink.
 * An error (bad TLS files, no store) leaves MQTT off with err set; tenderd goes on. */
int mqtt_start(struct agent *a, struct tender_error *err);
/* The status document (docs/mqtt.md), also `tenderctl status --json`'s "device". Any thread;
 * asks the runtime for each app's state. */
cJSON *mqtt_status_json(struct agent *a);
/* Publishes the retained status when due (statusIntervalSeconds) or when force. Main loop. */
void mqtt_publish_status(struct agent *a, bool force);
/* Runs the rollback the command topic queued, and answers it. Main loop. */
void mqtt_run_commands(struct agent *a);
/* Marks the device offline on purpose (retained) and stops the client. */
void mqtt_stop(void);
