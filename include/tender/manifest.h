/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Release manifests: what one version of an app is and how it is deployed.
 * The JSON format is specified in docs/release-manifest.md; parse and serialize round-trip.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tender/digest.h"
#include "tender/error.h"
#include "tender/name.h"
#include "tender/resources.h"

#define TENDER_MANIFEST_MAX_SIZE (1024 * 1024)
#define TENDER_MANIFEST_MAX_DEPTH 16
#define TENDER_MANIFEST_MAX_LAYERS 128
#define TENDER_MANIFEST_MAX_STRV 256 /* args, env entries */
#define TENDER_MANIFEST_MAX_VOLUMES 32
#define TENDER_MANIFEST_MAX_DELTAS 256
#define TENDER_MANIFEST_MAX_DEVICES 64
#define TENDER_MANIFEST_MAX_CAPS 64
#define TENDER_SECCOMP_PROFILE_MAX (256 * 1024)  /* a custom profile, as compact JSON */
#define TENDER_DELTA_ALGORITHM "tender-delta-v4" /* docs/delta-format.md */

enum tender_network_mode {
        TENDER_NETWORK_NONE, /* own network namespace with loopback only (default) */
        TENDER_NETWORK_HOST,
};

enum tender_swap_strategy {
        TENDER_SWAP_STOP_START, /* default */
        TENDER_SWAP_START_STOP,
};

/* When tenderd starts a stopped container of the current release again (docs/agent.md). */
enum tender_restart_policy {
        TENDER_RESTART_ALWAYS,     /* default */
        TENDER_RESTART_ON_FAILURE, /* after a non-zero exit or a signal; exit 0 stays stopped */
        TENDER_RESTART_NO,
};

#define TENDER_RESTART_MAX 100000        /* deployment.restart.maxRestarts */
#define TENDER_RESTART_WINDOW_MAX 604800 /* deployment.restart.windowSeconds: a week */
#define TENDER_RESTART_WINDOW_DEFAULT 600

/* The one table of a release manifest's defaults (docs/release-manifest.md): what the parser
 * starts from and the serialiser leaves out, what tender-publish offers, what the agent falls
 * back to. tender_manifest_set_defaults applies them all. */
#define TENDER_STOP_TIMEOUT_DEFAULT 10   /* deployment.stopTimeoutSeconds */
#define TENDER_HEALTH_WINDOW_DEFAULT 10  /* health.windowSeconds */
#define TENDER_HEALTH_INTERVAL_DEFAULT 1 /* health.intervalSeconds */
#define TENDER_HEALTH_TIMEOUT_DEFAULT 1  /* health.timeoutSeconds */
#define TENDER_HEALTH_RETRIES_DEFAULT 3  /* health.retries */

enum tender_health_probe {
        TENDER_HEALTH_PROBE_NONE,
        TENDER_HEALTH_PROBE_TCP,  /* connect to 127.0.0.1:port */
        TENDER_HEALTH_PROBE_HTTP, /* GET http://127.0.0.1:port/path answers 2xx or 3xx */
        TENDER_HEALTH_PROBE_EXEC, /* a command run in the container by the runtime exits 0 */
};

#define TENDER_HEALTH_PATH_MAX 1024
#define TENDER_HEALTH_SECONDS_MAX 86400
#define TENDER_HEALTH_EXEC_ARGS_MAX 64 /* health.exec.command entries */

struct tender_layer {
        char *media_type;             /* application/vnd.oci.image.layer.v1.tar(+gzip|+zstd) */
        struct tender_digest digest;  /* of the blob as fetched */
        uint64_t size;                /* blob bytes */
        struct tender_digest diff_id; /* of the uncompressed tar */
        uint64_t uncompressed_size;
};

/* A layer delta offered with the release (docs/delta-format.md): rebuilds layer `to` from the
 * extracted layer `from`. The blob is fetched and checked like a layer blob. */
struct tender_layer_delta {
        struct tender_digest from;   /* diff_id of the old layer */
        struct tender_digest to;     /* diff_id of one of this release's layers */
        struct tender_digest digest; /* of the delta blob */
        uint64_t size;               /* blob bytes */
        char *algorithm;             /* TENDER_DELTA_ALGORITHM; others are skipped by devices */
};

/* The seccomp filter a release asks for (deployment.privileges.seccomp). */
enum tender_seccomp_mode {
        TENDER_SECCOMP_DEFAULT,    /* the hardened default allowlist */
        TENDER_SECCOMP_CUSTOM,     /* the release's own profile */
        TENDER_SECCOMP_UNCONFINED, /* no filter */
};

/* A host device node the release asks for (deployment.privileges.devices). */
struct tender_device {
        char *path;     /* /dev/..., the same path inside the container */
        char access[4]; /* some of "rwm", in that order */
};

struct tender_volume {
        char *name; /* tender_name_valid */
        char *path; /* absolute path inside the container */
};

struct tender_release_manifest {
        unsigned schema_version; /* 1 */
        char *app;
        char *version;
        uint64_t release_counter;

        /* image */
        struct tender_digest image_digest; /* the OCI image manifest's digest */
        char **entrypoint;                 /* NULL-terminated, may be empty */
        char **cmd;
        char **env;
        char *user;        /* "uid[:gid]", numeric; NULL = 0:0 */
        char *working_dir; /* NULL = "/" */
        struct tender_layer *layers;
        size_t n_layers;
        struct tender_layer_delta *deltas; /* optional */
        size_t n_deltas;

        /* deployment */
        char **args; /* overrides entrypoint+cmd when not NULL */
        char **extra_env;
        enum tender_network_mode network;
        bool readonly_rootfs;              /* default true */
        struct tender_resources resources; /* deployment.resources */
        struct tender_volume *volumes;
        size_t n_volumes;
        uint64_t stop_timeout_sec; /* default TENDER_STOP_TIMEOUT_DEFAULT */
        enum tender_swap_strategy strategy;

        /* privileges beyond the hardened default (deployment.privileges); a device runs them
         * only when its agent.json policy allows (docs/security.md). network host and
         * readonlyRootfs false above are privileges too. */
        char **capabilities; /* extra capabilities ("CAP_NET_ADMIN"), NULL-terminated or NULL */
        struct tender_device *devices;
        size_t n_devices;
        enum tender_seccomp_mode seccomp;
        char *seccomp_profile; /* TENDER_SECCOMP_CUSTOM: the OCI linux.seccomp object, JSON */

        /* health */
        uint64_t health_window_sec;            /* default 10: must stay up this long */
        uint64_t health_start_period_sec;      /* default 0: probe failures not counted before */
        uint64_t health_interval_sec;          /* default 1: between probes */
        uint64_t health_timeout_sec;           /* default 1: per probe */
        uint64_t health_retries;               /* default 3: consecutive failures = unhealthy */
        enum tender_health_probe health_probe; /* default none: the process staying up only */
        uint16_t health_port;                  /* tcp, http: inside the app's network namespace */
        char *health_http_path;                /* http: "/..." (default "/") */
        char **health_exec;                    /* exec: the command, NULL-terminated */
        bool health_notify; /* default false: READY=1 on the notify socket within the window */

        /* restart policy (deployment.restart) */
        enum tender_restart_policy restart_policy;
        uint64_t restart_max;        /* default 0: no limit; more in the window = crash loop */
        uint64_t restart_window_sec; /* default TENDER_RESTART_WINDOW_DEFAULT */
};

/* Parses and validates a manifest (names, digests, absolute volume paths, limits).
 * Errors name the JSON path of the bad field. */
int tender_manifest_parse(const char *data, size_t len, struct tender_release_manifest **ret,
                          struct tender_error *err);
/* Serializes to formatted JSON (malloc'd, NUL-terminated). */
int tender_manifest_to_json(const struct tender_release_manifest *m, char **ret_json);
void tender_manifest_free(struct tender_release_manifest *m);

/* Sets the fields that have a default to it (a read-only rootfs, the timeouts, the health gate,
 * the restart window); the others stay as they are, zero in a new manifest. */
void tender_manifest_set_defaults(struct tender_release_manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_release_manifest, tender_manifest_free);
