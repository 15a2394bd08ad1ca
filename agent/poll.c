/* SPDX-License-Identifier: Apache-2.0 */
#include "poll.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control.h"
#include "tender/json.h"
#include "tender/log.h"

int ddi_auth_header(const struct tender_config *cfg, char **ret) {
        *ret = NULL;
        if (cfg->target_token)
                return asprintf(ret, "Authorization: TargetToken %s", cfg->target_token) < 0
                               ? -ENOMEM
                               : 0;
        /* A gateway token authenticates every device of the tenant (config allows one of both). */
        if (cfg->gateway_token)
                return asprintf(ret, "Authorization: GatewayToken %s", cfg->gateway_token) < 0
                               ? -ENOMEM
                               : 0;
        return 0;
}

void ddi_http_options(const struct tender_config *cfg, struct tender_http_options *ret) {
        /* download.* applies to every transfer of tenderd: TLS to the server too. */
        *ret = (struct tender_http_options){
                .ca_file = cfg->download_ca_file,
                .timeout_sec = cfg->http_timeout_sec,
                .request_timeout_sec = cfg->request_timeout_sec,
                .min_avg_bytes_per_sec = cfg->download_min_avg_bytes_per_sec,
                .low_speed_bytes_per_sec = cfg->download_low_speed_bytes_per_sec,
                .max_recv_bytes_per_sec = cfg->download_max_bytes_per_sec,
                .pinned_public_key = cfg->download_pinned_public_key,
                .client_cert = cfg->download_client_cert,
                .client_key = cfg->download_client_key,
                .max_redirects = (unsigned) cfg->download_max_redirects,
                .redirect_protocols = cfg->download_allow_http_redirects ? "http,https" : "https",
                /* SIGTERM, supervision and the watchdog go on while the server is slow. */
                .tick = control_transfer_tick,
        };
}

int ddi_auth_origins(const struct tender_config *cfg, char ***ret) {
        size_t n = tender_strv_length(cfg->token_origins);
        char origin[512], **v = calloc(n + 2, sizeof(char *));
        if (!v)
                return -ENOMEM;
        int r = tender_http_origin(cfg->server_url, origin, sizeof(origin));
        if (r >= 0 && !(v[0] = strdup(origin)))
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (!(v[i + 1] = strdup(cfg->token_origins[i])))
                        r = -ENOMEM;
        if (r < 0) {
                tender_strv_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

int ddi_check_link(const struct ddi_client *c, const char *what, const char *url,
                   struct tender_error *err) {
        if (c->https && strncmp(url, "https://", 8) != 0)
                return tender_error_set(err, TENDER_ERR_SERVER, EPROTO,
                                        "%s %s: refused, server.url is https and tenderd never "
                                        "goes down to http",
                                        what, url);
        return 0;
}

int ddi_client_init(struct ddi_client *c, const struct tender_config *cfg,
                    struct tender_error *err) {
        _cleanup_free_ char *auth = NULL;
        char **origins = NULL;
        struct tender_http_options opts;
        int r;

        *c = (struct ddi_client){.https = strncmp(cfg->server_url, "https://", 8) == 0};
        if (ddi_auth_header(cfg, &auth) < 0)
                return -ENOMEM;
        r = ddi_auth_origins(cfg, &origins);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, r, "server.url %s",
                                              cfg->server_url);
        ddi_http_options(cfg, &opts);
        opts.auth_header = auth;
        opts.auth_origins = (const char *const *) origins;
        r = tender_http_new(&opts, &c->http);
        tender_strv_free(origins);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_NETWORK, r, "HTTP client setup");
        r = tender_ddi_controller_url(cfg->server_url, cfg->tenant ? cfg->tenant : "DEFAULT",
                                      cfg->controller_id, &c->controller_url);
        if (r < 0) {
                ddi_client_done(c);
                return r;
        }
        return 0;
}

void ddi_client_done(struct ddi_client *c) {
        tender_http_free(c->http);
        free(c->controller_url);
        free(c->installed_checked);
        *c = (struct ddi_client){0};
}

/* The parsers' out-parameters differ in type; these adapters give them one signature. */
typedef int (*ddi_parse_fn)(const char *data, size_t len, void *ret, struct tender_error *err);

static int parse_poll(const char *data, size_t len, void *ret, struct tender_error *err) {
        return tender_ddi_poll_parse(data, len, ret, err);
}

static int parse_deployment(const char *data, size_t len, void *ret, struct tender_error *err) {
        return tender_ddi_deployment_parse(data, len, ret, err);
}

static int parse_cancel(const char *data, size_t len, void *ret, struct tender_error *err) {
        return tender_ddi_cancel_parse(data, len, ret, err);
}

/* GETs a DDI document of at most TENDER_DDI_MAX_SIZE bytes and parses it; a parse error is
 * prefixed with what (when not NULL), so the server's feedback names the document. */
static int ddi_get_json(struct ddi_client *c, const char *href, ddi_parse_fn parse,
                        const char *what, void *ret, char **ret_action_id,
                        struct tender_error *err) {
        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        int r = ddi_check_link(c, what ? what : "controller", href, err);
        if (r < 0)
                return r;
        r = tender_http_get(c->http, href, TENDER_DDI_MAX_SIZE, &body, &len, err);
        if (r < 0)
                return r;
        r = parse(body, len, ret, err);
        if (r < 0 && ret_action_id && r != -ENOMEM)
                (void) tender_ddi_action_id(body, len, ret_action_id);
        if (r < 0 && what)
                return tender_error_prefix(err, "%s", what);
        return r;
}

int ddi_poll(struct ddi_client *c, struct tender_ddi_poll **ret, struct tender_error *err) {
        return ddi_get_json(c, c->controller_url, parse_poll, NULL, ret, NULL, err);
}

int ddi_get_deployment(struct ddi_client *c, const char *href, struct tender_ddi_deployment **ret,
                       struct tender_error *err) {
        return ddi_get_json(c, href, parse_deployment, "deploymentBase", ret, NULL, err);
}

int ddi_fetch_deployment(struct ddi_client *c, const char *href, struct tender_ddi_deployment **ret,
                         char **ret_action_id, struct tender_error *err) {
        return ddi_get_json(c, href, parse_deployment, "deploymentBase", ret, ret_action_id, err);
}

int ddi_send_feedback_json(struct ddi_client *c, const char *deployment_base, const char *json,
                           struct tender_error *err) {
        _cleanup_free_ char *url = NULL;
        int r = tender_ddi_feedback_url(deployment_base, &url);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SERVER, r, "feedback URL");
        r = ddi_check_link(c, "feedback", url, err);
        if (r < 0)
                return r;
        return tender_http_send_json(c->http, "POST", url, json, err);
}

int ddi_send_proceeding(struct ddi_client *c, const char *deployment_base, const char *action_id,
                        const char *detail, bool has_progress, uint64_t cnt, uint64_t of,
                        struct tender_error *err) {
        _cleanup_free_ char *json = NULL;
        const char *details[] = {detail, NULL};
        struct tender_ddi_feedback f = {
                .action_id = action_id,
                .execution = TENDER_DDI_PROCEEDING,
                .finished = TENDER_DDI_NONE,
                .has_progress = has_progress,
                .progress_cnt = cnt,
                .progress_of = of,
                .details = details,
        };
        if (!deployment_base)
                return 0;
        int r = tender_ddi_feedback_json(&f, &json);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "feedback");
        return ddi_send_feedback_json(c, deployment_base, json, err);
}

int ddi_get_cancel(struct ddi_client *c, const char *href, struct tender_ddi_cancel **ret,
                   struct tender_error *err) {
        return ddi_get_json(c, href, parse_cancel, "cancelAction", ret, NULL, err);
}

int ddi_send_cancel_feedback(struct ddi_client *c, const char *href, const char *action_id,
                             enum tender_ddi_execution execution, const char *detail,
                             struct tender_error *err) {
        _cleanup_free_ char *json = NULL;
        const char *details[] = {detail, NULL};
        struct tender_ddi_feedback f = {
                .action_id = action_id,
                .execution = execution,
                .finished = execution == TENDER_DDI_REJECTED ? TENDER_DDI_NONE : TENDER_DDI_SUCCESS,
                .details = details,
        };
        int r = tender_ddi_feedback_json(&f, &json);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "cancel feedback");
        return ddi_send_feedback_json(c, href, json, err);
}

char *ddi_pending_cancel(struct ddi_client *c, const char *action_id) {
        _cleanup_(tender_ddi_poll_freep) struct tender_ddi_poll *p = NULL;
        _cleanup_(tender_ddi_cancel_freep) struct tender_ddi_cancel *cancel = NULL;
        struct tender_error err = {0};

        if (ddi_poll(c, &p, &err) < 0 || !p->cancel_action)
                return NULL;
        if (ddi_get_cancel(c, p->cancel_action, &cancel, &err) < 0) {
                log_debug("Failed to read %s: %s", p->cancel_action, err.message);
                return NULL;
        }
        return STREQ(cancel->stop_id, action_id) ? TAKE_PTR(p->cancel_action) : NULL;
}

int ddi_check_installed(struct ddi_client *c, const char *href, const struct tender_store *store) {
        _cleanup_(tender_ddi_deployment_freep) struct tender_ddi_deployment *d = NULL;
        struct tender_error err = {0};
        int mismatches = 0;

        if (c->installed_checked && STREQ(c->installed_checked, href))
                return 0;
        int r = ddi_get_deployment(c, href, &d, &err);
        if (r < 0) {
                log_warning("Failed to read the installedBase %s: %s", href, err.message);
                return r;
        }
        for (size_t i = 0; i < d->n_chunks; i++) {
                _cleanup_free_ char *current = NULL;
                const struct tender_ddi_chunk *ch = &d->chunks[i];
                if (tender_store_get_current(store, ch->name, &current) >= 0 &&
                    STREQ(current, ch->version))
                        continue;
                log_warning("The server believes %s %s is installed (action %s); the device runs "
                            "%s",
                            ch->name, ch->version, d->id, current ? current : "no release of it");
                mismatches++;
        }
        if (!mismatches)
                log_info("The server's installedBase (action %s) matches the device", d->id);
        free(c->installed_checked);
        c->installed_checked = strdup(href);
        return mismatches;
}

int ddi_send_config_data(struct ddi_client *c, const char *href,
                         const struct tender_ddi_attribute *attrs, size_t n,
                         struct tender_error *err) {
        _cleanup_free_ char *json = NULL, *own = NULL;
        int r = tender_ddi_config_data_json(attrs, n, &json);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "configData");
        if (!href) {
                if (asprintf(&own, "%s/configData", c->controller_url) < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "configData");
                href = own;
        }
        r = ddi_check_link(c, "configData", href, err);
        if (r < 0)
                return r;
        return tender_http_send_json(c->http, "PUT", href, json, err);
}
