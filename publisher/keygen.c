/* SPDX-License-Identifier: Apache-2.0 */
/* tender-publish keygen: a new P-256 release key pair. */
#include <getopt.h>
#include <stdio.h>

#include "publish.h"
#include "tender/log.h"
#include "tender/sign.h"

int cmd_keygen(int argc, char **argv) {
        static const struct option options[] = {
                {"private", required_argument, NULL, 'p'},
                {"public", required_argument, NULL, 'P'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *priv = NULL, *pub = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'p':
                        priv = optarg;
                        break;
                case 'P':
                        pub = optarg;
                        break;
                case 'h':
                        puts("Usage: tender-publish keygen --private FILE --public FILE\n"
                             "Writes a new EC P-256 key pair as PEM; the private file gets mode "
                             "0600.\nExisting files are never replaced.");
                        return 0;
                default:
                        return 2;
                }
        }
        if (!priv || !pub || optind != argc) {
                log_error("keygen needs --private FILE and --public FILE");
                return 2;
        }
        struct tender_error err = {0};
        if (tender_sign_keygen(priv, pub, &err) < 0) {
                log_error("%s", err.message);
                return 1;
        }
        _cleanup_(tender_verifier_freep) struct tender_verifier *v = NULL;
        if (tender_verifier_load(pub, &v, &err) < 0) {
                log_error("%s", err.message);
                return 1;
        }
        printf("keyid: %s\n", tender_verifier_keyid(v));
        return 0;
}
