/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>
#include <string.h>

#include "cli.h"

int tender_rt_cmd_kill(int argc, char **argv, const struct tender_rt_global *g) {
        struct tender_error err = {0};
        int sig = SIGTERM;
        /* runc accepts --all; with a pid namespace killing the init kills everything anyway. */
        if (argc > 1 && (STREQ(argv[1], "--all") || STREQ(argv[1], "-a"))) {
                argc--;
                argv++;
        }
        if (argc != 2 && argc != 3)
                return tender_rt_cli_usage("usage: kill ID [SIGNAL]");
        if (argc == 3 && (sig = tender_rt_parse_signal(argv[2])) < 0)
                return tender_rt_cli_usage("kill: unknown signal \"%s\"", argv[2]);
        if (tender_rt_kill(g, argv[1], sig, &err) < 0)
                return tender_rt_cli_error(&err);
        return 0;
}
