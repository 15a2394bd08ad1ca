/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <string.h>

#include "cli.h"

int tender_rt_cmd_list(int argc, char **argv, const struct tender_rt_global *g) {
        static const struct option options[] = {
                {"quiet", no_argument, NULL, 'q'},
                {"format", required_argument, NULL, 'f'},
                {0},
        };
        struct tender_error err = {0};
        bool quiet = false, json = false;
        int c;
        while ((c = getopt_long(argc, argv, "+qf:", options, NULL)) != -1) {
                if (c == 'q')
                        quiet = true;
                else if (c == 'f' && (STREQ(optarg, "json") || STREQ(optarg, "table")))
                        json = STREQ(optarg, "json");
                else
                        return tender_rt_cli_usage("list: bad option");
        }
        if (optind != argc)
                return tender_rt_cli_usage("usage: list [--quiet] [--format table|json]");
        if (tender_rt_list(g, quiet, json, &err) < 0)
                return tender_rt_cli_error(&err);
        return 0;
}
