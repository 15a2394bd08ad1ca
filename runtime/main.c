/* SPDX-License-Identifier: Apache-2.0 */
/* tender-runtime: global options and subcommand dispatch, like crun and runc. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "statedir.h"

static FILE *log_file;
static bool debug;

static void log_line(const char *msg) {
        fprintf(stderr, "tender-runtime: %s\n", msg);
        if (log_file) {
                char stamp[32];
                time_t now = time(NULL);
                struct tm tm;
                gmtime_r(&now, &tm);
                strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
                fprintf(log_file, "%s error: %s\n", stamp, msg);
                fflush(log_file);
        }
}

int tender_rt_cli_error(const struct tender_error *err) {
        log_line(err->message[0] ? err->message : strerror(err->errnum ? err->errnum : EIO));
        return 1;
}

int tender_rt_cli_usage(const char *fmt, ...) {
        char msg[TENDER_ERROR_MESSAGE_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_line(msg);
        return 1;
}

static void usage(FILE *f) {
        fputs("Usage: tender-runtime [--root DIR] [--log FILE] [--debug] COMMAND [ARGS]\n"
              "\n"
              "Commands:\n"
              "  create [--bundle DIR] [--pid-file FILE] [--output-log]\n"
              "         [--console-socket SOCKET] ID          create a container; it inherits\n"
              "                                               our stdio, or with --output-log\n"
              "                                               logs to journald or "
              "ROOT/ID/output.log\n"
              "  start ID                                     start a created container\n"
              "  state ID                                     print its OCI state\n"
              "  kill ID [SIGNAL]                             signal its init (TERM)\n"
              "  delete [--force] ID                          delete it\n"
              "  run [--detach] [--bundle DIR] [--pid-file FILE] [--output-log]\n"
              "      [--console-socket SOCKET] ID\n"
              "                                               create, start, wait, delete\n"
              "  exec [--detach] [--cwd DIR] [--env N=V] ID -- COMMAND...\n"
              "                                               run a command in it\n"
              "  list [--quiet] [--format table|json]         list containers\n"
              "  spec                                         write a default config.json\n"
              "  features                                     print the OCI features document\n"
              "\n"
              "Options: --root DIR (state, default " TENDER_RT_DEFAULT_ROOT "), --log FILE,\n"
              "--debug, --version, --help\n",
              f);
}

static const struct {
        const char *name;
        int (*fn)(int argc, char **argv, const struct tender_rt_global *g);
} commands[] = {
        {"create", tender_rt_cmd_create}, {"start", tender_rt_cmd_start},
        {"state", tender_rt_cmd_state},   {"kill", tender_rt_cmd_kill},
        {"delete", tender_rt_cmd_delete}, {"run", tender_rt_cmd_run},
        {"spec", tender_rt_cmd_spec},     {"exec", tender_rt_cmd_exec},
        {"list", tender_rt_cmd_list},     {"features", tender_rt_cmd_features},
};

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"root", required_argument, NULL, 'r'},
                {"log", required_argument, NULL, 'l'},
                {"log-format", required_argument, NULL, 'f'},
                {"debug", no_argument, NULL, 'd'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'v'},
                {0},
        };
        struct tender_rt_global g = {.root = TENDER_RT_DEFAULT_ROOT};
        int c;

        /* "+": stop at the subcommand, whose options are its own. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
                switch (c) {
                case 'r':
                        g.root = optarg;
                        break;
                case 'l':
                        log_file = fopen(optarg, "ae");
                        if (!log_file)
                                return tender_rt_cli_usage("open log %s: %m", optarg);
                        break;
                case 'f':
                        break; /* crun/runc callers pass --log-format; the log is plain text */
                case 'd':
                        /* Not through tender/log.h: it would link libsystemd (and six more
                         * libraries) into every container start. */
                        debug = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'v':
                        /* As every tender binary prints it (tests/integration/deb-package);
                         * the spec version is in `features`. */
                        printf("tender-runtime %s\n", TENDER_VERSION);
                        return 0;
                default:
                        usage(stderr);
                        return 1;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return 1;
        }
        const char *cmd = argv[optind];
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (STREQ(cmd, commands[i].name)) {
                        if (debug)
                                fprintf(stderr, "tender-runtime: %s (root %s)\n", cmd, g.root);
                        /* The subcommand parses its own argv, starting at its name. */
                        int argc_sub = argc - optind;
                        char **argv_sub = argv + optind;
                        optind = 0;
                        return commands[i].fn(argc_sub, argv_sub, &g);
                }
        return tender_rt_cli_usage("unknown command \"%s\"", cmd);
}
