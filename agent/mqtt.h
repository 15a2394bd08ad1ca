/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MQTT, a sink of the report path (report.h), with libmosquitto (docs/mqtt.md):
 *   <prefix>/<controllerId>/status        retained status document (status.h), on change
 *                                         and every mqtt.statusIntervalSeconds
 *   <prefix>/<controllerId>/availability  retained {"online": ...}; the last will says false
 *   <prefix>/<controllerId>/events        events at QoS 1, from the durable queue, in order
 * Off unless agent.json has an "mqtt" block. The broker being away, refusing TLS or the login
 * never holds up an update: events wait in the queue (mqtt_queue.h), the client reconnects
 * with a backoff in its own thread.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tender/error.h"

struct agent;

/* Starts the client when configured (0 and nothing when not); registers the report sink.
 * An error (bad TLS files, no store) leaves MQTT off with err set; tenderd goes on. */
int mqtt_start(struct agent *a, struct tender_error *err);
/* The queue's figures for the status document (status.h); left alone when MQTT is off. */
void mqtt_queue_figures(uint64_t *length, uint64_t *dropped);
/* mqtt.statusIntervalSeconds when MQTT is on (the status goes out at least that often, with
 * fresh resource figures), else 0. */
uint64_t mqtt_telemetry_interval_sec(void);
/* Runs the rollback the command topic queued, and answers it. Main loop. */
void mqtt_run_commands(struct agent *a);
/* Marks the device offline on purpose (retained) and stops the client. */
void mqtt_stop(void);
