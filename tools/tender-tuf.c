/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tender-tuf: init / refresh / download over the library's TUF client, speaking the TUF
 * conformance-client command line:
 *
 *   tender-tuf --metadata-dir D init ROOT_JSON
 *   tender-tuf --metadata-dir D --metadata-url U refresh
 *   tender-tuf --metadata-dir D --metadata-url U --target-name P [--target-name P2 ...]
 *              --target-base-url T --target-dir O download
 *
 * O is the artifact cache: a target already there with the signed length and hashes is not
 * downloaded again.
 *
 * Exit 0 on success, 1 on any failure, bad usage included (the reason goes to stderr).
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tender/fileio.h"
#include "tender/tuf.h"

#define MAX_TARGET_NAMES 64
#define TARGET_MAX_SIZE (1024ULL * 1024 * 1024) /* a target this tool writes whole */

struct args {
        const char *metadata_dir, *metadata_url, *target_base_url, *target_dir;
        const char *target_names[MAX_TARGET_NAMES];
        size_t n_targets;
};

static void usage(FILE *f) {
        fputs("Usage: tender-tuf --metadata-dir DIR init ROOT_JSON\n"
              "       tender-tuf --metadata-dir DIR --metadata-url URL refresh\n"
              "       tender-tuf --metadata-dir DIR --metadata-url URL --target-name PATH...\n"
              "                  --target-base-url URL --target-dir DIR download\n"
              "       tender-tuf --version | --help\n",
              f);
}

static int fail(const struct tender_error *err) {
        fprintf(stderr, "tender-tuf: %s\n", err->message);
        return 1;
}

static int cmd_init(int dirfd, const char *root_path) {
        struct tender_error err = {0};
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = tender_read_file_at(AT_FDCWD, root_path, TENDER_TUF_ROOT_MAX_SIZE, &data, &len);
        if (r < 0) {
                fprintf(stderr, "tender-tuf: Failed to read %s: %s\n", root_path, strerror(-r));
                return 1;
        }
        return tender_tuf_init(dirfd, data, len, &err) < 0 ? fail(&err) : 0;
}

static int open_refreshed(int dirfd, const struct args *a, struct tender_tuf **ret) {
        struct tender_tuf_options o = {
                .metadata_url = a->metadata_url,
                .targets_url = a->target_base_url,
        };
        struct tender_error err = {0};
        _cleanup_(tender_tuf_freep) struct tender_tuf *t = NULL;
        if (tender_tuf_open(dirfd, &o, &t, &err) < 0 || tender_tuf_refresh(t, &err) < 0)
                return fail(&err);
        *ret = TAKE_PTR(t);
        return 0;
}

/* The target directory is the protocol's artifact cache: a file there whose length and hashes
 * are what the trusted metadata signs is used as it is, without a request. Anything else there
 * is never trusted: it is replaced by a verified download, or removed when the download fails,
 * so the directory never holds a file the trusted metadata does not vouch for. */
static bool cached(int out, const char *file, const struct tender_tuf_target *tt) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        if (tender_read_file_at(out, file, (size_t) tt->length, &data, &len) < 0)
                return false;
        return tender_tuf_check_target(tt, data, len, NULL) >= 0;
}

static int download_one(struct tender_tuf *t, int out, const char *name) {
        struct tender_error err = {0};
        _cleanup_(tender_tuf_target_freep) struct tender_tuf_target *tt = NULL;
        _cleanup_free_ char *data = NULL, *file = NULL;
        size_t len;
        if (tender_tuf_get_target(t, name, &tt, &err) < 0)
                return fail(&err);
        if (tt->length > TARGET_MAX_SIZE) {
                fprintf(stderr, "tender-tuf: target %s: %llu bytes, more than this tool keeps\n",
                        tt->name, (unsigned long long) tt->length);
                return 1;
        }
        /* One file per target, its name quoted whole, so no name leaves target_dir. */
        file = tender_tuf_quote(name, false);
        if (!file)
                return 1;
        if (cached(out, file, tt))
                return 0;
        if (tender_tuf_download_target(t, tt, &data, &len, &err) < 0) {
                if (unlinkat(out, file, 0) < 0 && errno != ENOENT && errno != EISDIR)
                        fprintf(stderr, "tender-tuf: Failed to remove the stale %s: %m\n", file);
                return fail(&err);
        }
        int r = tender_write_file_atomic_at(out, file, data, len, 0644);
        if (r < 0) {
                fprintf(stderr, "tender-tuf: Failed to write %s: %s\n", file, strerror(-r));
                return 1;
        }
        return 0;
}

static int cmd_download(int dirfd, const struct args *a) {
        _cleanup_(tender_tuf_freep) struct tender_tuf *t = NULL;
        if (open_refreshed(dirfd, a, &t) != 0)
                return 1;
        _cleanup_close_ int out = open(a->target_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (out < 0) {
                fprintf(stderr, "tender-tuf: Failed to open %s: %m\n", a->target_dir);
                return 1;
        }
        for (size_t i = 0; i < a->n_targets; i++)
                if (download_one(t, out, a->target_names[i]) != 0)
                        return 1;
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"metadata-dir", required_argument, NULL, 'd'},
                {"metadata-url", required_argument, NULL, 'm'},
                {"target-name", required_argument, NULL, 'n'},
                {"target-base-url", required_argument, NULL, 'b'},
                {"target-dir", required_argument, NULL, 'o'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {},
        };
        struct args a = {0};
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'd':
                        a.metadata_dir = optarg;
                        break;
                case 'm':
                        a.metadata_url = optarg;
                        break;
                case 'n':
                        if (a.n_targets >= MAX_TARGET_NAMES) {
                                fprintf(stderr, "tender-tuf: at most %d target names\n",
                                        MAX_TARGET_NAMES);
                                return 1;
                        }
                        a.target_names[a.n_targets++] = optarg;
                        break;
                case 'b':
                        a.target_base_url = optarg;
                        break;
                case 'o':
                        a.target_dir = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'V':
                        puts("tender-tuf " TENDER_VERSION);
                        return 0;
                default:
                        usage(stderr);
                        return 1;
                }
        }
        if (!a.metadata_dir || optind >= argc) {
                usage(stderr);
                return 1;
        }
        const char *cmd = argv[optind];
        _cleanup_close_ int dirfd = -1;
        if (STREQ(cmd, "init") && optind + 2 == argc) {
                if (tender_mkdir_p_at(AT_FDCWD, a.metadata_dir, 0755) < 0) {
                        fprintf(stderr, "tender-tuf: Failed to create %s\n", a.metadata_dir);
                        return 1;
                }
        }
        dirfd = open(a.metadata_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                fprintf(stderr, "tender-tuf: Failed to open %s: %m\n", a.metadata_dir);
                return 1;
        }
        if (STREQ(cmd, "init") && optind + 2 == argc)
                return cmd_init(dirfd, argv[optind + 1]);
        if (optind + 1 != argc || !a.metadata_url) {
                usage(stderr);
                return 1;
        }
        if (STREQ(cmd, "refresh")) {
                _cleanup_(tender_tuf_freep) struct tender_tuf *t = NULL;
                return open_refreshed(dirfd, &a, &t);
        }
        if (STREQ(cmd, "download")) {
                if (a.n_targets == 0 || !a.target_base_url || !a.target_dir) {
                        usage(stderr);
                        return 1;
                }
                return cmd_download(dirfd, &a);
        }
        usage(stderr);
        return 1;
}
