/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tenderd's configuration, /etc/tender/agent.json by default. Unknown keys, wrong types and bad
 * values are refused with an error naming the key ("server.pollIntervalSeconds: ...").
 * Format and defaults: docs/configuration.md.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tender/error.h"
#include "tender/maintenance.h"
#include "tender/policy.h"

#define TENDER_CONFIG_PATH_DEFAULT "/etc/tender/agent.json"
#define TENDER_CONFIG_MAX_SIZE (64 * 1024)
/* apps.idRangeSize and apps.idPool: 65536 ids per app, 257 ranges (the device-wide range of
 * the fallback, then one per app for TENDER_STORE_MAX_APPS apps) from host id 1000000. */
#define TENDER_ID_RANGE_DEFAULT 65536u
#define TENDER_ID_POOL_BASE_DEFAULT 1000000u
#define TENDER_ID_POOL_SIZE_DEFAULT (257u * 65536u)

struct tender_config {
        /* server */
        char *server_url;             /* required, http:// or https:// */
        char *tenant;                 /* default "DEFAULT" */
        char *controller_id;          /* required, [A-Za-z0-9._-] */
        char *target_token;           /* optional, sent as "Authorization: TargetToken ..." */
        char *gateway_token;          /* optional, "...: GatewayToken ..."; not with target_token */
        uint64_t poll_interval_sec;   /* default 300; the server's polling.sleep overrides it */
        uint64_t http_timeout_sec;    /* default 30, applies to each request's connect+idle */
        uint64_t request_timeout_sec; /* default 60: the whole of each small request */
        /* Origins ("https://host:port", normalised) other than server.url's that may receive the
         * token with artifact downloads; NULL-terminated, NULL when none. */
        char **token_origins;
        /* store */
        char *store_root;             /* default /var/lib/tender */
        bool store_allow_unencrypted; /* default false: refuse a store without dm-crypt/fscrypt */
        uint64_t store_budget_bytes;  /* cap on blobs+layers+tmp; default 0 = none */
        /* tuf: every release manifest is a TUF target (docs/tuf.md) */
        char *tuf_root;         /* required, provisioned root.json, copied to <store>/tuf once */
        char *tuf_metadata_url; /* default <server.url>/repo/tuf/metadata */
        char *tuf_targets_url;  /* default <server.url>/repo/tuf/targets */
        /* runtime */
        char *runtime_path; /* default "tender-runtime" (looked up in PATH) */
        char *runtime_root; /* default /run/tender/runtime */
        /* log */
        int log_level; /* syslog level, default LOG_INFO */
        /* download: every HTTP transfer of tenderd (TLS settings apply to the server too) */
        char *download_ca_file;                    /* NULL: system CAs; else the only anchor */
        char *download_pinned_public_key;          /* "sha256//..." or a key file, or NULL */
        char *download_client_cert;                /* mTLS, or NULL */
        char *download_client_key;                 /* NULL: in the certificate file */
        uint64_t download_max_bytes_per_sec;       /* default 0 = unlimited */
        uint64_t download_low_speed_bytes_per_sec; /* default 1 */
        uint64_t download_min_avg_bytes_per_sec;   /* default 4096: bounds a blob's deadline */
        uint64_t download_max_redirects;           /* default 0 = not followed */
        bool download_allow_http_redirects;        /* default false: redirects to https only */
        uint64_t download_retry_attempts;          /* default 5 */
        uint64_t download_retry_budget_sec;        /* default 900 */
        /* download.registry: layers from an OCI registry instead of DDI artifact URLs */
        char *registry_url;              /* "http(s)://host[:port]", or NULL: DDI artifacts */
        char *registry_repository;       /* "{app}" replaced by the app; default "{app}" */
        char *registry_credentials_file; /* "username:password", or NULL: anonymous */
        /* control: tenderctl's socket and update locks (docs/agent.md) */
        char *control_socket;      /* default /run/tender/control.sock */
        char *control_group;       /* NULL: root only (0600); else 0660 with this group */
        uint64_t app_lock_ttl_sec; /* default 3600: an app lock defers a swap at most this long */
        uint64_t lock_retry_sec;   /* default 10: how often a deferred swap checks the locks */
        /* maintenance: weekly windows for the swap of an "attempt" update; none = any time */
        struct tender_maintenance_window *maintenance_windows;
        size_t n_maintenance_windows;
        /* policy: privileges and resources a release may have (tender/policy.h) */
        struct tender_policy policy;
        /* apps: every app in its own user namespace (docs/security.md, "User namespaces") */
        bool apps_user_namespaces;  /* default true; false: apps run as host root (loudly) */
        uint32_t apps_id_range;     /* ids per app, default TENDER_ID_RANGE_DEFAULT */
        uint32_t apps_id_pool_base; /* first host id of the pool */
        uint32_t apps_id_pool_size; /* ids in the pool, a multiple of apps_id_range */
        /* mqtt: health and events to a broker (docs/mqtt.md); off while mqtt_host is NULL */
        char *mqtt_host;                   /* broker host name or address */
        uint64_t mqtt_port;                /* default 8883 with mqtt_ca_file, else 1883 */
        char *mqtt_ca_file;                /* TLS with this CA as the only anchor; NULL: plain */
        char *mqtt_client_cert;            /* TLS client certificate, or NULL */
        char *mqtt_client_key;             /* NULL: in the certificate file */
        char *mqtt_topic_prefix;           /* default "tender": <prefix>/<controllerId>/... */
        uint64_t mqtt_keepalive_sec;       /* default 60 */
        uint64_t mqtt_queue_max_events;    /* default 1000: the store-and-forward bound */
        uint64_t mqtt_status_interval_sec; /* default 60: the retained status, refreshed */
        bool mqtt_commands;                /* default false: the command topic is not read */
        /* monitor: /healthz and /metrics on 127.0.0.1 (docs/mqtt.md); off unless the block is */
        bool monitor_enabled;
        uint64_t monitor_port; /* 0: any free port (logged) */
};

int tender_config_load(const char *path, struct tender_config **ret, struct tender_error *err);
int tender_config_parse(const char *data, size_t len, struct tender_config **ret,
                        struct tender_error *err);
void tender_config_free(struct tender_config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_config, tender_config_free);
