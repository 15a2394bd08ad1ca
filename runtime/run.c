/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <string.h>

#include "cli.h"

int tender_rt_cmd_run(int argc, char **argv, const struct tender_rt_global *g) {
        static const struct option options[] = {
                {"bundle", required_argument, NULL, 'b'},
                {"pid-file", required_argument, NULL, 'p'},
                {"output-log", no_argument, NULL, 'o'},
                {"console-socket", required_argument, NULL, 'c'},
                {"detach", no_argument, NULL, 'd'},
                {0},
        };
        struct tender_rt_create_opts o = {.bundle = "."};
        struct tender_error err = {0};
        bool detach = false;
        int c, status;
        while ((c = getopt_long(argc, argv, "+b:d", options, NULL)) != -1) {
                if (c == 'b')
                        o.bundle = optarg;
                else if (c == 'p')
                        o.pid_file = optarg;
                else if (c == 'o')
                        o.output_log = true;
                else if (c == 'c')
                        o.console_socket = optarg;
                else if (c == 'd')
                        detach = true;
                else
                        return tender_rt_cli_usage("run: unknown option");
        }
        if (optind != argc - 1)
                return tender_rt_cli_usage(
                        "usage: run [--detach] [--bundle DIR] [--pid-file FILE] [--output-log] "
                        "[--console-socket SOCKET] ID");
        o.id = argv[optind];
        if (tender_rt_create(g, &o, &err) < 0)
                return tender_rt_cli_error(&err);
        if (tender_rt_start(g, o.id, &err) < 0) {
                tender_rt_cli_error(&err);
                (void) tender_rt_delete(g, o.id, true, NULL);
                return 1;
        }
        if (tender_rt_run_hooks(g, o.id, "poststart", &err) < 0)
                (void) tender_rt_cli_error(&err); /* a warning, as with start */
        if (detach)
                return 0;
        if (tender_rt_wait(g, o.id, &status, &err) < 0)
                return tender_rt_cli_error(&err);
        int r = tender_rt_delete(g, o.id, false, &err);
        if (r < 0)
                return tender_rt_cli_error(&err);
        if (r > 0)
                (void) tender_rt_cli_error(&err); /* a poststop hook failed */
        return status;
}
