/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"

int tender_rt_cmd_start(int argc, char **argv, const struct tender_rt_global *g) {
        struct tender_error err = {0};
        if (argc != 2)
                return tender_rt_cli_usage("usage: start ID");
        if (tender_rt_start(g, argv[1], &err) < 0)
                return tender_rt_cli_error(&err);
        /* A failing poststart hook is a warning: the container runs on (OCI). */
        if (tender_rt_run_hooks(g, argv[1], "poststart", &err) < 0)
                (void) tender_rt_cli_error(&err);
        return 0;
}
