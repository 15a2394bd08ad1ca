/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "tender/fileio.h"

#define EXEC_ENV_OPTIONS_MAX 256

int tender_rt_cmd_exec(int argc, char **argv, const struct tender_rt_global *g) {
        static const struct option options[] = {
                {"detach", no_argument, NULL, 'd'},    {"cwd", required_argument, NULL, 'c'},
                {"env", required_argument, NULL, 'e'}, {"pid-file", required_argument, NULL, 'p'},
                {"tty", no_argument, NULL, 't'},       {0},
        };
        struct tender_rt_exec_opts o = {0};
        struct tender_error err = {0};
        char *env[EXEC_ENV_OPTIONS_MAX + 1] = {0};
        size_t n_env = 0;
        int c, status = 0;
        while ((c = getopt_long(argc, argv, "+dc:e:p:t", options, NULL)) != -1) {
                if (c == 'd')
                        o.detach = true;
                else if (c == 'c')
                        o.cwd = optarg;
                else if (c == 'p')
                        o.pid_file = optarg;
                else if (c == 'e' && n_env < EXEC_ENV_OPTIONS_MAX && strchr(optarg, '='))
                        env[n_env++] = optarg;
                else if (c == 't')
                        return tender_rt_cli_usage("exec: a terminal is not supported");
                else
                        return tender_rt_cli_usage("exec: bad option");
        }
        if (optind >= argc - 1)
                return tender_rt_cli_usage("usage: exec [--detach] [--cwd DIR] [--env NAME=VALUE] "
                                           "[--pid-file FILE] ID [--] COMMAND [ARG...]");
        o.id = argv[optind++];
        if (optind < argc && STREQ(argv[optind], "--"))
                optind++;
        if (optind >= argc)
                return tender_rt_cli_usage("exec: no command");
        o.args = argv + optind;
        o.extra_env = env;
        if (o.cwd && o.cwd[0] != '/')
                return tender_rt_cli_usage("exec: --cwd must be absolute");
        if (tender_rt_exec(g, &o, &status, &err) < 0)
                return tender_rt_cli_error(&err);
        return status;
}
