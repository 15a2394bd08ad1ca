/* SPDX-License-Identifier: Apache-2.0 */
/* tender-publish: release keys and signed releases from OCI image layouts (docs/publisher.md). */
#include <stdio.h>
#include <string.h>

#include "publish.h"
#include "tender/log.h"
#include "tuf.h"

static void usage(FILE *f) {
        fputs("Usage: tender-publish COMMAND [OPTIONS]\n"
              "\n"
              "Commands:\n"
              "  keygen --private FILE --public FILE   make a P-256 release key pair\n"
              "  release --layout DIR --ref TAG --app NAME --version VER --counter N\n"
              "          --repo OUT [--key PRIVATE.pem] [deployment options]\n"
              "                                        publish a release (tuf-add signs it for\n"
              "                                        tenderd; --key: a detached signature)\n"
              "  verify --repo OUT --app NAME --version VER --public KEY.pem\n"
              "                                        check a --key signature and the blobs\n"
              "  delta make|apply ...                  layer deltas (docs/delta-format.md)\n"
              "  tuf-init, tuf-add, tuf-remove, tuf-rotate, tuf-refresh\n"
              "                                        manage the TUF repository (docs/tuf.md)\n"
              "\n"
              "Run 'tender-publish COMMAND --help' for a command's options.\n",
              f);
}

int main(int argc, char **argv) {
        static const struct {
                const char *name;
                int (*run)(int argc, char **argv);
        } commands[] = {
                {"keygen", cmd_keygen},         {"release", cmd_release},
                {"verify", cmd_verify},         {"tuf-init", cmd_tuf_init},
                {"tuf-add", cmd_tuf_add},       {"tuf-remove", cmd_tuf_remove},
                {"tuf-rotate", cmd_tuf_rotate}, {"tuf-refresh", cmd_tuf_refresh},
                {"delta", cmd_delta},
        };
        tender_log_setup("tender-publish", TENDER_LOG_STDERR);
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (STREQ(argv[1], "--help") || STREQ(argv[1], "-h") || STREQ(argv[1], "help")) {
                usage(stdout);
                return 0;
        }
        if (STREQ(argv[1], "--version")) {
                puts("tender-publish " TENDER_VERSION);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (STREQ(argv[1], commands[i].name))
                        return commands[i].run(argc - 1, argv + 1);
        log_error("Unknown command \"%s\"", argv[1]);
        usage(stderr);
        return 2;
}
