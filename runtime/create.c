/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <string.h>

#include "cli.h"

int tender_rt_cmd_create(int argc, char **argv, const struct tender_rt_global *g) {
        static const struct option options[] = {
                {"bundle", required_argument, NULL, 'b'},
                {"pid-file", required_argument, NULL, 'p'},
                {"output-log", no_argument, NULL, 'o'},
                {"console-socket", required_argument, NULL, 'c'},
                {0},
        };
        struct tender_rt_create_opts o = {.bundle = "."};
        struct tender_error err = {0};
        int c;
        while ((c = getopt_long(argc, argv, "+b:", options, NULL)) != -1) {
                if (c == 'b')
                        o.bundle = optarg;
                else if (c == 'p')
                        o.pid_file = optarg;
                else if (c == 'o')
                        o.output_log = true;
                else if (c == 'c')
                        o.console_socket = optarg;
                else
                        return tender_rt_cli_usage("create: unknown option");
        }
        if (optind != argc - 1)
                return tender_rt_cli_usage(
                        "usage: create [--bundle DIR] [--pid-file FILE] [--output-log] "
                        "[--console-socket SOCKET] ID");
        o.id = argv[optind];
        if (tender_rt_create(g, &o, &err) < 0)
                return tender_rt_cli_error(&err);
        return 0;
}
