/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hawkBit's cancelAction (docs/agent.md, "Cancel"): the server asks to stop an action. Before
 * its swap the device drops the update (journal record and pin; the running release is
 * untouched) and confirms; once the swap happened (or the action finished) it rejects the
 * cancel and finishes the update, whose outcome it reports as usual.
 */
#pragma once

#include "update.h"

/* Handles the cancelAction at href. Returns 0 when answered, -errno when the server could not
 * be read or answered (it offers the cancel again at the next poll). */
int cancel_handle(struct agent *a, const char *href);

/* Before the final feedback of rec: when the server asks to cancel this action, tells it the
 * cancel is rejected (the update went past its swap). Costs one poll of the controller base. */
void cancel_reject_pending(struct agent *a, const struct tender_journal_record *rec);
