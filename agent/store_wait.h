/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "tender/config.h"

/* At start, before the store is opened: while the store's fscrypt key is not added (locked, or
 * only a wrong key tried), nothing in it can be read or written. tenderd then keeps polling,
 * refuses every deployment with the reason in its final feedback, leaves the running apps
 * alone and checks the store again after each poll. Returns 0 once the store is not locked
 * (at once when it never was), 1 when a stop signal came (control_stop_signal) or `once` polled
 * once while locked, and a negative errno when the DDI client cannot be set up. */
int agent_wait_store_unlocked(const struct tender_config *cfg, bool once);
