/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tender-bundle: prints the config.json tenderd writes for a release (agent/bundle.c), for
 * bench/runtime-start and for looking at what a device would run. The host paths the bundle
 * binds are made up under --paths DIR (DIR/volumes/<name>, DIR/notify, DIR/lock); nothing is
 * created. With --config, agent.json's policy gives the resource defaults; --userns HOST:COUNT
 * adds a user namespace mapping container ids 0..COUNT-1 to HOST.. (uid and gid).
 *
 *   tender-bundle [--config agent.json] [--paths DIR] [--userns HOST:COUNT] MANIFEST
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "tender/config.h"
#include "tender/fileio.h"
#include "tender/json.h"

struct opts {
        const char *config, *paths, *manifest;
        struct bundle_idmap idmap;
        bool userns;
};

static int usage(void) {
        fputs("usage: tender-bundle [--config agent.json] [--paths DIR] [--userns HOST:COUNT] "
              "MANIFEST\n"
              "       tender-bundle --version\n",
              stderr);
        return 2;
}

static int parse(int argc, char **argv, struct opts *o) {
        static const struct option options[] = {{"config", required_argument, NULL, 'c'},
                                                {"paths", required_argument, NULL, 'p'},
                                                {"userns", required_argument, NULL, 'u'},
                                                {}};
        int c;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c == 'c')
                        o->config = optarg;
                else if (c == 'p')
                        o->paths = optarg;
                else if (c == 'u' &&
                         sscanf(optarg, "%" SCNu32 ":%" SCNu32, &o->idmap.host_uid,
                                &o->idmap.count) == 2 &&
                         o->idmap.count > 0) {
                        o->idmap.host_gid = o->idmap.host_uid;
                        o->userns = true;
                } else
                        return -EINVAL;
        }
        if (optind != argc - 1)
                return -EINVAL;
        o->manifest = argv[optind];
        return 0;
}

/* Host paths under dir, in the manifest's volume order. */
static char **volume_paths(const char *dir, const struct tender_release_manifest *m) {
        char **v = calloc(m->n_volumes + 1, sizeof(char *));
        for (size_t i = 0; v && i < m->n_volumes; i++)
                if (asprintf(&v[i], "%s/volumes/%s", dir, m->volumes[i].name) < 0)
                        v[i] = NULL;
        return v;
}

int main(int argc, char **argv) {
        struct opts o = {.paths = "/var/lib/tender/bundle-paths"};
        _cleanup_(tender_config_freep) struct tender_config *cfg = NULL;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        _cleanup_free_ char *data = NULL, *notify = NULL, *lock = NULL;
        struct tender_error err = {0};
        size_t len;

        if (argc == 2 && strcmp(argv[1], "--version") == 0) {
                puts("tender-bundle " TENDER_VERSION);
                return 0;
        }
        if (parse(argc, argv, &o) < 0)
                return usage();
        if (o.config && tender_config_load(o.config, &cfg, &err) < 0) {
                fprintf(stderr, "tender-bundle: %s\n", err.message);
                return 1;
        }
        int r = tender_read_file_at(AT_FDCWD, o.manifest, TENDER_MANIFEST_MAX_SIZE, &data, &len);
        if (r < 0) {
                fprintf(stderr, "tender-bundle: %s: %s\n", o.manifest, strerror(-r));
                return 1;
        }
        if (tender_manifest_parse(data, len, &m, &err) < 0) {
                fprintf(stderr, "tender-bundle: %s: %s\n", o.manifest, err.message);
                return 1;
        }
        char **volumes = volume_paths(o.paths, m);
        struct bundle_device *devices = calloc(m->n_devices + 1, sizeof(*devices));
        if (!volumes || !devices || asprintf(&notify, "%s/notify", o.paths) < 0 ||
            asprintf(&lock, "%s/lock", o.paths) < 0)
                return 1;
        struct bundle_paths paths = {.notify_dir = notify,
                                     .lock_file = lock,
                                     .volumes = (const char *const *) volumes,
                                     .cgroup_parent = "/tender",
                                     .devices = devices};
        _cleanup_(cJSON_Deletep) cJSON *c = bundle_build(m, cfg ? &cfg->policy : NULL,
                                                         o.userns ? &o.idmap : NULL, &paths, &err);
        tender_strv_free(volumes);
        free(devices);
        if (!c) {
                fprintf(stderr, "tender-bundle: %s\n", err.message);
                return 1;
        }
        _cleanup_free_ char *text = cJSON_Print(c);
        if (!text)
                return 1;
        puts(text);
        return 0;
}
