/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local monitoring endpoint (docs/mqtt.md, "Local HTTP"): off unless monitor.port is set;
 * listens on 127.0.0.1 only and serves, from the status document (status_json):
 *   GET /healthz  200 "ok" when every app's container runs, else 503 naming the others
 *   GET /metrics  the Prometheus text format (version 0.0.4)
 */
#pragma once

#include "tender/error.h"

struct agent;

int monitor_start(struct agent *a, struct tender_error *err);
void monitor_stop(void);
