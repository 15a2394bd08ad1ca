/* SPDX-License-Identifier: Apache-2.0 */
/* The DDI conversation over HTTP: poll, fetch a deployment, send feedback and configData. */
#pragma once

#include "tender/config.h"
#include "tender/ddi.h"
#include "tender/http.h"
#include "tender/store.h"

struct ddi_client {
        struct tender_http *http;
        char *controller_url;
};

/* The HTTP options every transfer of tenderd uses (download.*), without any auth header. */
void ddi_http_options(const struct tender_config *cfg, struct tender_http_options *ret);
int ddi_client_init(struct ddi_client *c, const struct tender_config *cfg,
                    struct tender_error *err);
void ddi_client_done(struct ddi_client *c);

int ddi_poll(struct ddi_client *c, struct tender_ddi_poll **ret, struct tender_error *err);
int ddi_get_deployment(struct ddi_client *c, const char *href, struct tender_ddi_deployment **ret,
                       struct tender_error *err);
/* POSTs feedback JSON (built by tender_ddi_feedback_json) to the action's feedback URL. */
int ddi_send_feedback_json(struct ddi_client *c, const char *deployment_base, const char *json,
                           struct tender_error *err);
/* PUTs tender.version, arch and app.<name>.version of every current release. */
int ddi_send_config_data(struct ddi_client *c, const char *href, const struct tender_store *store,
                         struct tender_error *err);
