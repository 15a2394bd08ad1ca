/* SPDX-License-Identifier: Apache-2.0 */
/* The tender-runtime command line: main.c parses the global options and dispatches to one
 * small file per subcommand. Each returns the process exit code. */
#pragma once

#include "ops.h"
#include "tender/error.h"

/* Prints "tender-runtime: <message>" to stderr (and the --log file), returns 1. */
int tender_rt_cli_error(const struct tender_error *err);
/* Same, for usage errors with a literal message. */
int tender_rt_cli_usage(const char *fmt, ...) _printf_(1, 2);

int tender_rt_cmd_create(int argc, char **argv, const struct tender_rt_global *g);
int tender_rt_cmd_start(int argc, char **argv, const struct tender_rt_global *g);
int tender_rt_cmd_state(int argc, char **argv, const struct tender_rt_global *g);
int tender_rt_cmd_kill(int argc, char **argv, const struct tender_rt_global *g);
int tender_rt_cmd_delete(int argc, char **argv, const struct tender_rt_global *g);
int tender_rt_cmd_run(int argc, char **argv, const struct tender_rt_global *g);
int tender_rt_cmd_exec(int argc, char **argv, const struct tender_rt_global *g);
int tender_rt_cmd_list(int argc, char **argv, const struct tender_rt_global *g);
int tender_rt_cmd_spec(int argc, char **argv, const struct tender_rt_global *g);
int tender_rt_cmd_features(int argc, char **argv, const struct tender_rt_global *g);
