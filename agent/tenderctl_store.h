/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* `tenderctl store provision|unlock|lock|status ...`; argv[0] is "store". Returns the exit
 * status. */
int tenderctl_store(int argc, char **argv);
