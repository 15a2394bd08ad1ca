/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hawkBit Direct Device Integration (DDI) documents: parsing what the server sends (the poll
 * reply and a deploymentBase) and building what the device sends (feedback, configData).
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
#define TENDER_DDI_DETAIL_MAX 1024 /* bytes per details[] entry; longer ones are cut */

/* Reply to GET {base}/{tenant}/controller/v1/{controllerId}. */
struct tender_ddi_poll {
        uint64_t sleep_sec;    /* config.polling.sleep; 0 when absent */
        char *deployment_base; /* _links.deploymentBase.href or NULL */
        char *config_data;     /* _links.configData.href or NULL */
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

struct tender_ddi_artifact {
        char *filename;
        uint64_t size;
        char *url; /* _links.download-http, else _links.download */
};

struct tender_ddi_chunk {
        char *part;
        char *name;    /* the app */
        char *version; /* the release */
        struct tender_ddi_artifact *artifacts;
        size_t n_artifacts;
};

struct tender_ddi_deployment {
        char *id; /* the action id */
        enum tender_ddi_handling download;
        enum tender_ddi_handling update;
        struct tender_ddi_chunk *chunks;
        size_t n_chunks;
};

int tender_ddi_deployment_parse(const char *data, size_t len, struct tender_ddi_deployment **ret,
                                struct tender_error *err);
void tender_ddi_deployment_free(struct tender_ddi_deployment *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_ddi_deployment, tender_ddi_deployment_free);

/* The chunk's artifact with exactly this filename, or NULL. */
const struct tender_ddi_artifact *tender_ddi_chunk_artifact(const struct tender_ddi_chunk *c,
                                                            const char *filename);

enum tender_ddi_execution {
        TENDER_DDI_PROCEEDING,
        TENDER_DDI_CLOSED,
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
/* The feedback URL: the deploymentBase href without its query, plus "/feedback". */
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
