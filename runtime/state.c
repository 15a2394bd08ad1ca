/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int tender_rt_cmd_state(int argc, char **argv, const struct tender_rt_global *g) {
        struct tender_error err = {0};
        _cleanup_free_ char *json = NULL;
        if (argc != 2)
                return tender_rt_cli_usage("usage: state ID");
        if (tender_rt_state(g, argv[1], &json, &err) < 0)
                return tender_rt_cli_error(&err);
        puts(json);
        return 0;
}
