/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One deployment from the server, as a state machine: VERIFYING → DOWNLOADING → STAGING →
 * SWAPPING → HEALTH_CHECK → COMMITTING, or FAILED before the swap, or ROLLING_BACK after it.
 * Each step is a function from one state to the next so that a journal can record transitions.
 */
#pragma once

#include "container.h"
#include "poll.h"
#include "tender/config.h"
#include "tender/sign.h"
#include "tender/store.h"

struct agent {
        const struct tender_config *cfg;
        struct tender_store *store;
        struct tender_verifier *verifier;
        struct ddi_client ddi;
        struct runtime runtime;
};

/* Fetches deployment_base and handles it completely, final feedback included.
 * Returns 0 when the deployment was handled (even if it failed and was reported), negative
 * when it could not be fetched or its outcome could not be reported. */
int update_handle(struct agent *a, const char *deployment_base);

/* At start: (re)starts the current release of every app whose container is not running. */
int agent_recover(struct agent *a);
