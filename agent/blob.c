/* SPDX-License-Identifier: Apache-2.0 */
#include "blob.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "control.h"
#include "report.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/log.h"
#include "tender/registry.h"

/* The blob clients, made on first use and kept while tenderd runs (its configuration does not
 * change meanwhile), so that a registry token serves every later blob too. Kept here rather
 * than in struct agent: only this file uses them. */
static struct {
        const struct tender_config *cfg;  /* what they were made from; NULL: not yet */
        struct tender_http *http;         /* the registry's */
        struct tender_registry *registry; /* NULL: blobs from DDI artifact URLs */
        struct tender_http *ddi; /* DDI artifacts: the token, to the server's origins only */
        bool https;              /* server.url is https: only https artifact links */
} sources;

static void sources_done(void) {
        tender_registry_free(sources.registry);
        tender_http_free(sources.http);
        tender_http_free(sources.ddi);
        sources = (typeof(sources)){0};
}

/* "username:password" on one line; refused when group or others may read it. */
static int read_credentials(const char *path, char **ret_user, char **ret_password,
                            struct tender_error *err) {
        _cleanup_free_ char *data = NULL;
        struct stat st;
        size_t len = 0;

        if (stat(path, &st) < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, -errno,
                                              "download.registry.credentialsFile %s", path);
        if (st.st_mode & 077)
                return tender_error_set(err, TENDER_ERR_CONFIG, EPERM,
                                        "download.registry.credentialsFile %s is readable by group "
                                        "or others",
                                        path);
        int r = tender_read_file_at(AT_FDCWD, path, BLOB_CREDENTIALS_MAX, &data, &len);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, r,
                                              "download.registry.credentialsFile %s", path);
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
                data[--len] = '\0';
        char *colon = strchr(data, ':');
        if (!colon || colon == data || memchr(data, '\n', len) || strlen(data) != len) {
                explicit_bzero(data, len);
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "download.registry.credentialsFile %s: expected one line "
                                        "username:password",
                                        path);
        }
        *colon = '\0';
        *ret_user = strdup(data);
        *ret_password = strdup(colon + 1);
        explicit_bzero(data, len);
        return *ret_user && *ret_password ? 0 : -ENOMEM;
}

static int make_registry(const struct tender_config *cfg, struct tender_error *err) {
        _cleanup_free_ char *user = NULL, *password = NULL;
        int r;

        if (cfg->registry_credentials_file) {
                r = read_credentials(cfg->registry_credentials_file, &user, &password, err);
                if (r < 0)
                        return r;
        }
        struct tender_registry_options ro = {.username = user, .password = password};
        r = tender_registry_new(sources.http, cfg->registry_url, &ro, &sources.registry);
        if (password)
                explicit_bzero(password, strlen(password));
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, r, "download.registry.url %s",
                                              cfg->registry_url);
        return 0;
}

static int sources_init(const struct tender_config *cfg, struct tender_error *err) {
        _cleanup_free_ char *auth = NULL;
        struct tender_http_options opts;
        char **origins = NULL;
        int r;

        if (sources.cfg == cfg)
                return 0;
        sources_done();
        ddi_http_options(cfg, &opts);
        r = tender_http_new(&opts, &sources.http);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_NETWORK, r, "blob HTTP client");
        r = ddi_auth_header(cfg, &auth);
        if (r >= 0)
                r = ddi_auth_origins(cfg, &origins);
        opts.auth_header = auth;
        opts.auth_origins = (const char *const *) origins;
        if (r >= 0)
                r = tender_http_new(&opts, &sources.ddi);
        tender_strv_free(origins);
        if (r < 0) {
                sources_done();
                return tender_error_set_errno(err, TENDER_ERR_NETWORK, r, "blob HTTP client");
        }
        sources.https = strncmp(cfg->server_url, "https://", 8) == 0;
        if (cfg->registry_url && (r = make_registry(cfg, err)) < 0) {
                sources_done();
                return r;
        }
        sources.cfg = cfg;
        return 0;
}

int blob_repository_name(const char *template, const char *app, char *buf, size_t size) {
        static const char key[] = "{app}";
        size_t n = 0, app_len = strlen(app);

        for (const char *p = template; *p;) {
                const char *part = strncmp(p, key, sizeof(key) - 1) == 0 ? app : p;
                size_t len = part == app ? app_len : 1;
                if (n + len >= size || n + len > TENDER_REGISTRY_REPOSITORY_MAX)
                        return -ENAMETOOLONG;
                memcpy(buf + n, part, len);
                n += len;
                p += part == app ? sizeof(key) - 1 : 1;
        }
        buf[n] = '\0';
        return 0;
}

struct progress {
        struct agent *a;
        const struct blob_request *req;
        const char *digest;
        uint64_t last_ms;
        uint64_t last_step;
};

static void send_progress(struct progress *p, uint64_t done, uint64_t total) {
        const struct tender_journal_record *rec = p->req->rec;
        char detail[TENDER_DDI_DETAIL_MAX];

        snprintf(detail, sizeof(detail), "downloading %s: %llu of %llu bytes", p->digest,
                 (unsigned long long) done, (unsigned long long) total);
        /* The report path's DDI sink uses the DDI client, not the blob's: that one is in the
         * middle of its transfer. A lost progress message does not matter. */
        report_emit(&(struct report_event){.kind = REPORT_PROGRESS,
                                           .app = rec->app,
                                           .version = rec->version,
                                           .action_id = rec->action_id,
                                           .deployment_base = rec->deployment_base,
                                           .detail = detail,
                                           .has_progress = true,
                                           .cnt = done,
                                           .of = total,
                                           .log = p->req->log});
}

static void on_progress(uint64_t done, uint64_t total, void *userdata) {
        struct progress *p = userdata;
        uint64_t now = tender_now_ms(),
                 step = total ? done * 100 / total / BLOB_PROGRESS_STEP_PERCENT : 0;

        report_transfer(done, total);
        /* A slow blob can take longer than WatchdogSec: a moving transfer is a live tenderd. */
        control_watchdog_ping();
        if (done >= total)
                return; /* the end is reported by the layer count that follows */
        if (now - p->last_ms < BLOB_PROGRESS_MAX_GAP_MS &&
            (step <= p->last_step || now - p->last_ms < BLOB_PROGRESS_MIN_GAP_MS))
                return;
        p->last_ms = now;
        p->last_step = step;
        send_progress(p, done, total);
}

static int fetch_from_registry(struct agent *a, const struct blob_request *req, int dirfd,
                               const char *name, const struct tender_retry_policy *policy,
                               struct progress *p, struct tender_error *err) {
        char repository[TENDER_REGISTRY_REPOSITORY_MAX + 1];
        int r = blob_repository_name(a->cfg->registry_repository, req->rec->app, repository,
                                     sizeof(repository));
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, r,
                                              "download.registry.repository for %s", req->rec->app);
        tender_log(LOG_INFO, req->log, "Downloading blob %s (%llu bytes) from %s/%s", p->digest,
                   (unsigned long long) req->layer->size, a->cfg->registry_url, repository);
        struct tender_registry_blob b = {
                .repository = repository,
                .digest = req->layer->digest,
                .size = req->layer->size,
                .progress = on_progress,
                .userdata = p,
        };
        return tender_registry_fetch_blob(sources.registry, &b, dirfd, name, policy, err);
}

static int fetch_from_ddi(const struct blob_request *req, int dirfd, const char *name,
                          const struct tender_retry_policy *policy, struct progress *p,
                          struct tender_error *err) {
        const struct tender_ddi_artifact *art =
                req->chunk ? tender_ddi_chunk_artifact(req->chunk, p->digest) : NULL;
        const char *url = art ? tender_ddi_artifact_url(art, !sources.https) : NULL;
        if (!art || (!art->url && !art->url_http))
                return tender_error_set(err, TENDER_ERR_SERVER, ENOENT,
                                        "the deployment offers no artifact %s", p->digest);
        if (!url)
                return tender_error_set(err, TENDER_ERR_SERVER, EPROTO,
                                        "artifact %s: no https link (server.url is https and "
                                        "tenderd never goes down to http)",
                                        p->digest);
        tender_log(LOG_INFO, req->log, "Downloading blob %s (%llu bytes)", p->digest,
                   (unsigned long long) req->layer->size);
        struct tender_download d = {
                .url = url,
                .digest = req->layer->digest,
                .size = req->layer->size,
                .progress = on_progress,
                .userdata = p,
        };
        return tender_http_download_retry(sources.ddi, &d, dirfd, name, policy, err);
}

int blob_fetch(struct agent *a, const struct blob_request *req, struct tender_error *err) {
        char digest[TENDER_DIGEST_STRING_MAX], hex[65];
        int r = sources_init(a->cfg, err);
        if (r < 0)
                return r;

        tender_digest_format(&req->layer->digest, digest);
        tender_digest_hex(&req->layer->digest, hex);
        /* Backoff with jitter within a budget; 404/403 and bad digests end at once. */
        struct tender_retry_policy policy = {
                .max_attempts = (unsigned) a->cfg->download_retry_attempts,
                .budget_ms = a->cfg->download_retry_budget_sec * 1000,
        };
        struct progress p = {.a = a, .req = req, .digest = digest, .last_ms = tender_now_ms()};
        /* Short digest, as container tools show it: app and version must fit in 80 bytes. */
        char what[80];
        snprintf(what, sizeof(what), "%s %s sha256:%.12s", req->rec->app, req->rec->version, hex);
        report_transfer_begin(what, req->layer->size);
        int dirfd = tender_store_blobs_fd(a->store);
        if (sources.registry && !req->ddi_only)
                r = fetch_from_registry(a, req, dirfd, hex, &policy, &p, err);
        else
                r = fetch_from_ddi(req, dirfd, hex, &policy, &p, err);
        report_transfer_end();
        return r;
}
