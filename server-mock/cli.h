/* SPDX-License-Identifier: Apache-2.0 */
/* `tender-server-mock rollout ...`: the management API's groups and rollouts from a shell. */
#pragma once

/* argv[0] is "rollout". Returns the exit status: 0, 1 (the server refused or is unreachable),
 * 2 (usage). */
int mock_cli_main(int argc, char **argv);
