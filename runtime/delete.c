/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <string.h>

#include "cli.h"

int tender_rt_cmd_delete(int argc, char **argv, const struct tender_rt_global *g) {
        static const struct option options[] = {
                {"force", no_argument, NULL, 'f'},
                {0},
        };
        struct tender_error err = {0};
        bool force = false;
        int c;
        while ((c = getopt_long(argc, argv, "+f", options, NULL)) != -1) {
                if (c == 'f')
                        force = true;
                else
                        return tender_rt_cli_usage("delete: unknown option");
        }
        if (optind != argc - 1)
                return tender_rt_cli_usage("usage: delete [--force] ID");
        int r = tender_rt_delete(g, argv[optind], force, &err);
        if (r < 0)
                return tender_rt_cli_error(&err);
        if (r > 0)
                (void) tender_rt_cli_error(&err); /* a poststop hook failed: a warning */
        return 0;
}
