/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hawkBit Direct Device Integration (DDI) documents: parsing what the server sends (the poll
 * reply, a deploymentBase or installedBase, a cancelAction) and building what the device sends
 * (feedback, configData).
 * Pure functions, no I/O. Unknown fields are tolerated, as hawkBit adds them over versions;
 * the fields tender uses are checked and errors name their JSON path ("deployment.chunks[0].name").
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tender/error.h"

#define TENDER_DDI_MAX_SIZE (1024 * 1024) /* one DDI JSON document */
#define TENDER_DDI_MAX_DEPTH 16
#define TENDER_DDI_MAX_CHUNKS 32
#define TENDER_DDI_MAX_ARTIFACTS 512 /* per chunk: release.json, .sig, one per blob */
#define TENDER_DDI_URL_MAX 4096
#define TENDER_DDI_ID_MAX 128                       /* action ids */
#define TENDER_DDI_SLEEP_MAX_SEC (7 * 24 * 3600ULL) /* polling.sleep is clamped to a week */
#define TENDER_DDI_DETAILS_MAX 16
#define TENDER_DDI_DETAIL_MAX 1024   /* bytes per details[] entry; longer ones are cut */
#define TENDER_DDI_MAX_METADATA 64   /* chunk metadata entries */
#define TENDER_DDI_METADATA_MAX 4096 /* bytes per metadata key or value */

/* Reply to GET {base}/{tenant}/controller/v1/{controllerId}. */
struct tender_ddi_poll {
        uint64_t sleep_sec;    /* config.polling.sleep; 0 when absent */
        char *deployment_base; /* _links.deploymentBase.href or NULL */
        char *config_data;     /* _links.configData.href or NULL */
        char *cancel_action;   /* _links.cancelAction.href or NULL */
        char *installed_base;  /* _links.installedBase.href or NULL */
};

int tender_ddi_poll_parse(const char *data, size_t len, struct tender_ddi_poll **ret,
                          struct tender_error *err);
void tender_ddi_poll_free(struct tender_ddi_poll *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_ddi_poll, tender_ddi_poll_free);

/* "HH:MM:SS" (hours 0-999, minutes and seconds 0-59) into seconds; -EINVAL otherwise.
 * Values above TENDER_DDI_SLEEP_MAX_SEC are clamped, 0 becomes 1 (no busy polling). */
int tender_ddi_parse_sleep(const char *s, uint64_t *ret_sec);

enum tender_ddi_handling {
        TENDER_DDI_SKIP,
        TENDER_DDI_ATTEMPT,
        TENDER_DDI_FORCED,
};

/* deployment.maintenanceWindow: absent when the action has no window. */
enum tender_ddi_window {
        TENDER_DDI_WINDOW_NONE,
        TENDER_DDI_WINDOW_AVAILABLE,
        TENDER_DDI_WINDOW_UNAVAILABLE,
};

struct tender_ddi_artifact {
        char *filename;
        uint64_t size;
        char *url;      /* _links.download (https with hawkBit), or NULL */
        char *url_http; /* _links.download-http, or NULL */
        /* hashes.*, lower-case hex, NULL when absent. tender trusts only the signed release
         * manifest's digests; these are checked for shape and kept for logs. */
        char *sha1, *md5, *sha256;
};

struct tender_ddi_metadata {
        char *key;
        char *value;
};

struct tender_ddi_chunk {
        char *part;
        char *name;    /* the app */
        char *version; /* the release */
        struct tender_ddi_artifact *artifacts;
        size_t n_artifacts;
        struct tender_ddi_metadata *metadata; /* metadata[], key/value pairs of the module */
        size_t n_metadata;
        bool encrypted; /* hawkBit's artifact encryption; tender's artifacts are signed instead */
};

struct tender_ddi_deployment {
        char *id; /* the action id */
        enum tender_ddi_handling download;
        enum tender_ddi_handling update;
        enum tender_ddi_window window; /* deployment.maintenanceWindow */
        struct tender_ddi_chunk *chunks;
        size_t n_chunks;
};

int tender_ddi_deployment_parse(const char *data, size_t len, struct tender_ddi_deployment **ret,
                                struct tender_error *err);
void tender_ddi_deployment_free(struct tender_ddi_deployment *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_ddi_deployment, tender_ddi_deployment_free);

/* The action id ("id") of a document that may not otherwise parse, so that a deploymentBase
 * tenderd cannot use can still be reported. -EINVAL when there is none usable. */
int tender_ddi_action_id(const char *data, size_t len, char **ret_id);

/* installedBase has the deploymentBase's shape: parse it with tender_ddi_deployment_parse. */

/* The chunk's metadata value for key, or NULL. */
const char *tender_ddi_chunk_metadata(const struct tender_ddi_chunk *c, const char *key);

/* Reply to GET {controller}/cancelAction/{actionId}. */
struct tender_ddi_cancel {
        char *id;      /* the cancel action's id (hawkBit: the same as stop_id) */
        char *stop_id; /* cancelAction.stopId: the action to stop */
};

int tender_ddi_cancel_parse(const char *data, size_t len, struct tender_ddi_cancel **ret,
                            struct tender_error *err);
void tender_ddi_cancel_free(struct tender_ddi_cancel *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_ddi_cancel, tender_ddi_cancel_free);

/* The link to download a from: with allow_http (server.url is http), download-http, else
 * download; without, download only, and only an https one. NULL when there is none. */
const char *tender_ddi_artifact_url(const struct tender_ddi_artifact *a, bool allow_http);

/* The chunk's artifact with exactly this filename, or NULL. */
const struct tender_ddi_artifact *tender_ddi_chunk_artifact(const struct tender_ddi_chunk *c,
                                                            const char *filename);

enum tender_ddi_execution {
        TENDER_DDI_PROCEEDING,
        TENDER_DDI_CLOSED,
        TENDER_DDI_REJECTED, /* a cancel the device refuses (the update went too far) */
        TENDER_DDI_CANCELED, /* a cancel carried out */
};

enum tender_ddi_finished {
        TENDER_DDI_NONE,
        TENDER_DDI_SUCCESS,
        TENDER_DDI_FAILURE,
};

struct tender_ddi_feedback {
        const char *action_id;
        enum tender_ddi_execution execution;
        enum tender_ddi_finished finished;
        bool has_progress;
        uint64_t progress_cnt, progress_of;
        const char *const *details; /* NULL-terminated, may be NULL */
};

/* Builds the feedback body (malloc'd). -EINVAL on a missing action id. */
int tender_ddi_feedback_json(const struct tender_ddi_feedback *f, char **ret_json);
/* The feedback URL: the deploymentBase (or cancelAction) href without its query, plus
 * "/feedback". */
int tender_ddi_feedback_url(const char *deployment_base, char **ret_url);

struct tender_ddi_attribute {
        const char *key;
        const char *value;
};

/* {"mode":"merge","data":{key:value...}} (malloc'd). */
int tender_ddi_config_data_json(const struct tender_ddi_attribute *attrs, size_t n,
                                char **ret_json);

/* {base}/{tenant}/controller/v1/{controllerId}, without a doubled '/'. */
int tender_ddi_controller_url(const char *base, const char *tenant, const char *controller_id,
                              char **ret_url);
