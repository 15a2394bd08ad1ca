/* SPDX-License-Identifier: Apache-2.0 */
/* tender-publish verify: the checks a device makes, on the repository side. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "publish.h"
#include "tender/log.h"
#include "tender/sign.h"

struct verify_opts {
        const char *repo, *app, *version, *public_key;
};

static int verify_release(const struct verify_opts *o, struct tender_error *err) {
        _cleanup_(tender_verifier_freep) struct tender_verifier *v = NULL;
        _cleanup_close_ int repo = -1;
        _cleanup_free_ char *data = NULL, *sig = NULL;
        size_t len, sig_len;
        int r = tender_verifier_load(o->public_key, &v, err);
        if (r >= 0)
                r = repo_open(o->repo, false, &repo, err);
        if (r >= 0)
                r = repo_read_release(repo, o->app, o->version, false, &data, &len, err);
        if (r >= 0)
                r = repo_read_release(repo, o->app, o->version, true, &sig, &sig_len, err);
        if (r < 0)
                return r;
        /* Signature first, as the device does: nothing unsigned reaches the parser. */
        r = tender_verifier_check(v, data, len, sig, sig_len, err);
        if (r < 0)
                return tender_error_prefix(err, "%s %s", o->app, o->version);
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        r = tender_manifest_parse(data, len, &m, err);
        if (r < 0)
                return tender_error_prefix(err, "%s %s", o->app, o->version);
        if (!STREQ(m->app, o->app) || !STREQ(m->version, o->version))
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "apps/%s/%s.json names %s %s inside", o->app, o->version,
                                        m->app, m->version);
        for (size_t i = 0; i < m->n_layers; i++) {
                r = repo_check_blob(repo, &m->layers[i], err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < m->n_deltas; i++) {
                r = repo_check_delta(repo, &m->deltas[i], err);
                if (r < 0)
                        return r;
        }
        printf("ok: %s %s, release counter %" PRIu64 ", %zu layers, %zu deltas, signed by %s\n",
               m->app, m->version, m->release_counter, m->n_layers, m->n_deltas,
               tender_verifier_keyid(v));
        release_print_requests(stdout, m);
        return 0;
}

int cmd_verify(int argc, char **argv) {
        static const struct option options[] = {
                {"repo", required_argument, NULL, 'r'},    {"app", required_argument, NULL, 'a'},
                {"version", required_argument, NULL, 'v'}, {"public", required_argument, NULL, 'p'},
                {"help", no_argument, NULL, 'h'},          {},
        };
        struct verify_opts o = {0};
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'r':
                        o.repo = optarg;
                        break;
                case 'a':
                        o.app = optarg;
                        break;
                case 'v':
                        o.version = optarg;
                        break;
                case 'p':
                        o.public_key = optarg;
                        break;
                case 'h':
                        puts("Usage: tender-publish verify --repo OUT --app NAME --version VER "
                             "--public KEY.pem\n"
                             "Checks the release's signature, manifest, and every blob's digest, "
                             "size and diff_id, and each delta blob's digest, size and header.");
                        return 0;
                default:
                        return 2;
                }
        }
        if (!o.repo || !o.app || !o.version || !o.public_key || optind != argc) {
                log_error("verify needs --repo, --app, --version and --public");
                return 2;
        }
        struct tender_error err = {0};
        if (verify_release(&o, &err) < 0) {
                log_error("%s", err.message);
                return 1;
        }
        return 0;
}
