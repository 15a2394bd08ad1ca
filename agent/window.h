/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The swap's time gates (docs/agent.md, "Swap gates"): the deployment's update handling type
 * (skip defers, forced ignores the configured windows), the server's maintenanceWindow, and
 * the configuration's maintenance.windows. A deferred update stays downloaded and staged; its
 * journal record stays at "staging" and the next poll that offers the action runs it again up
 * to the gate (each step is idempotent).
 */
#pragma once

#include <stddef.h>

#include "update.h"

/* 1 when the swap of rec's update must wait now, with the reason in why (a full sentence
 * for logs and feedback); 0 when it may go ahead. Uses a->deployment; NULL (journal replay)
 * never defers. */
int window_defer_swap(struct agent *a, const struct tender_journal_record *rec, char *why,
                      size_t why_size);

/* Tells the server that rec's update waits (proceeding, details = rec->message). Returns 0:
 * a lost progress message is sent again at the next poll. */
int window_report_deferred(struct agent *a, const struct tender_journal_record *rec);
