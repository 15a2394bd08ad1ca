/* SPDX-License-Identifier: Apache-2.0 */
/* The DDI conversation over HTTP: poll, fetch a deployment, a cancelAction or the installedBase,
 * send feedback and configData. Auth: TargetToken or GatewayToken header (server.*), client
 * certificate (download.clientCert), on every request to the server's origin (and to
 * server.tokenOrigins) only. With an https server.url, a link to plain http is refused. */
#pragma once

#include "tender/config.h"
#include "tender/ddi.h"
#include "tender/http.h"
#include "tender/store.h"

struct ddi_client {
        struct tender_http *http;
        bool https; /* server.url is https: links to http are refused */
        char *controller_url;
        char *installed_checked; /* the installedBase href last compared with the store */
};

/* The HTTP options every transfer of tenderd uses (download.*, deadlines, the transfer tick of
 * control.c), without any auth header. */
void ddi_http_options(const struct tender_config *cfg, struct tender_http_options *ret);
/* The origins the DDI token may go to: server.url's and server.tokenOrigins, NULL-terminated
 * (tender_strv_free). -ENOMEM, -EINVAL for a server.url without an origin. */
int ddi_auth_origins(const struct tender_config *cfg, char ***ret);
/* A link the server sent (what names it in the error): refused with -EPROTO when the server
 * is https and the link is not. */
int ddi_check_link(const struct ddi_client *c, const char *what, const char *url,
                   struct tender_error *err);
/* The DDI authorization header (TargetToken, else GatewayToken) as a malloc'd string, or NULL
 * when neither is configured. -ENOMEM. */
int ddi_auth_header(const struct tender_config *cfg, char **ret);
int ddi_client_init(struct ddi_client *c, const struct tender_config *cfg,
                    struct tender_error *err);
void ddi_client_done(struct ddi_client *c);

int ddi_poll(struct ddi_client *c, struct tender_ddi_poll **ret, struct tender_error *err);
int ddi_get_deployment(struct ddi_client *c, const char *href, struct tender_ddi_deployment **ret,
                       struct tender_error *err);
/* ddi_get_deployment that, when the reply came but cannot be used and still has a readable
 * action id, gives that id (malloc'd) in *ret_action_id, so that the failure can be reported. */
int ddi_fetch_deployment(struct ddi_client *c, const char *href, struct tender_ddi_deployment **ret,
                         char **ret_action_id, struct tender_error *err);
/* POSTs feedback JSON (built by tender_ddi_feedback_json) to the action's feedback URL. */
int ddi_send_feedback_json(struct ddi_client *c, const char *deployment_base, const char *json,
                           struct tender_error *err);
/* Sends a `proceeding` feedback of action_id with one detail line, and a progress count when
 * has_progress, to deployment_base (nothing without one: 0). Such feedback is informative: the
 * caller logs a failure and goes on. */
int ddi_send_proceeding(struct ddi_client *c, const char *deployment_base, const char *action_id,
                        const char *detail, bool has_progress, uint64_t cnt, uint64_t of,
                        struct tender_error *err);
/* GETs a cancelAction resource. */
int ddi_get_cancel(struct ddi_client *c, const char *href, struct tender_ddi_cancel **ret,
                   struct tender_error *err);
/* Answers a cancelAction: execution canceled (carried out, finished success) or rejected (the
 * update went past its swap and finishes), with one detail line. */
int ddi_send_cancel_feedback(struct ddi_client *c, const char *href, const char *action_id,
                             enum tender_ddi_execution execution, const char *detail,
                             struct tender_error *err);
/* The server's cancelAction href when it asks to stop action_id now, else NULL (also when the
 * poll fails: a cancel is only acted on when seen). */
char *ddi_pending_cancel(struct ddi_client *c, const char *action_id);
/* Compares the server's installedBase (href) with the store's current releases, once per href;
 * logs a mismatch. Returns the number of chunks the device does not run, or -errno. */
int ddi_check_installed(struct ddi_client *c, const char *href, const struct tender_store *store);
/* PUTs the attributes (mode merge) to href, the poll's configData link, or when NULL to
 * <controller>/configData (hawkBit takes them at any time). The report path's DDI sink sends
 * them (report.c). */
int ddi_send_config_data(struct ddi_client *c, const char *href,
                         const struct tender_ddi_attribute *attrs, size_t n,
                         struct tender_error *err);
