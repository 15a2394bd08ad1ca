/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tender/fileio.h"
#include "tender/http.h"
#include "tender/json.h"
#include "tender/log.h"

#define CONFIG_MAX_DEPTH 4
#define CONFIG_URL_MAX 2048
#define CONFIG_ID_MAX 64
#define CONFIG_TOKEN_MAX 512
#define CONFIG_POLL_MIN 1
#define CONFIG_POLL_MAX 86400
#define CONFIG_TIMEOUT_MIN 1
#define CONFIG_TIMEOUT_MAX 3600

#define DEFAULT_TENANT "DEFAULT"
#define DEFAULT_POLL_SEC 300
#define DEFAULT_HTTP_TIMEOUT_SEC 30
#define DEFAULT_REQUEST_TIMEOUT_SEC 60
#define DEFAULT_MIN_AVG_SPEED 4096
#define CONFIG_TOKEN_ORIGINS_MAX 16
#define CONFIG_ORIGIN_MAX 300
#define DEFAULT_STORE_ROOT "/var/lib/tender"
#define DEFAULT_RUNTIME_PATH "tender-runtime"
#define DEFAULT_RUNTIME_ROOT "/run/tender/runtime"
#define DEFAULT_RETRY_ATTEMPTS 5
#define DEFAULT_RETRY_BUDGET_SEC 900
#define CONFIG_REDIRECTS_MAX 10
#define CONFIG_RETRY_ATTEMPTS_MAX 100
#define CONFIG_RETRY_BUDGET_MAX 86400
#define CONFIG_PIN_MAX 1024
#define CONFIG_REPOSITORY_MAX 255  /* the Distribution spec's limit, before {app} is replaced */
#define CONFIG_SOCKET_PATH_MAX 108 /* sun_path */
#define DEFAULT_CONTROL_SOCKET "/run/tender/control.sock"
#define CONFIG_GROUP_MAX 32 /* like useradd's name limit */
#define DEFAULT_APP_LOCK_TTL_SEC 3600
#define DEFAULT_LOCK_RETRY_SEC 10
#define CONFIG_LOCK_TTL_MAX (7 * 86400)

static const char *const root_keys[] = {"server", "store",    "trust",   "tuf",         "runtime",
                                        "log",    "download", "control", "maintenance", "policy",
                                        "apps",   "mqtt",     "monitor", NULL};
static const char *const server_keys[] = {"url",
                                          "tenant",
                                          "controllerId",
                                          "targetToken",
                                          "pollIntervalSeconds",
                                          "httpTimeoutSeconds",
                                          "gatewayToken",
                                          "requestTimeoutSeconds",
                                          "tokenOrigins",
                                          NULL};
static const char *const store_keys[] = {"root", "allowUnencrypted", "budgetBytes", NULL};
static const char *const trust_keys[] = {"releaseKey", NULL};
static const char *const tuf_keys[] = {"root", "metadataUrl", "targetsUrl", NULL};
static const char *const runtime_keys[] = {"path", "root", NULL};
static const char *const log_keys[] = {"level", NULL};
static const char *const download_keys[] = {"caFile",
                                            "pinnedPublicKey",
                                            "clientCert",
                                            "clientKey",
                                            "maxBytesPerSecond",
                                            "lowSpeedBytesPerSecond",
                                            "minAverageBytesPerSecond",
                                            "maxRedirects",
                                            "allowHttpRedirects",
                                            "retryAttempts",
                                            "retryBudgetSeconds",
                                            "registry",
                                            NULL};
static const char *const registry_keys[] = {"url", "repository", "credentialsFile", NULL};
static const char *const control_keys[] = {"socket", "group", "appLockTtlSeconds",
                                           "lockRetrySeconds", NULL};

void tender_config_free(struct tender_config *c) {
        if (!c)
                return;
        free(c->server_url);
        free(c->tenant);
        free(c->controller_id);
        free(c->target_token);
        free(c->gateway_token);
        tender_strv_free(c->token_origins);
        free(c->maintenance_windows);
        free(c->store_root);
        free(c->tuf_root);
        free(c->tuf_metadata_url);
        free(c->tuf_targets_url);
        free(c->runtime_path);
        free(c->runtime_root);
        free(c->download_ca_file);
        free(c->download_pinned_public_key);
        free(c->download_client_cert);
        free(c->download_client_key);
        free(c->registry_url);
        free(c->registry_repository);
        free(c->registry_credentials_file);
        free(c->control_socket);
        free(c->control_group);
        tender_policy_done(&c->policy);
        free(c->mqtt_host);
        free(c->mqtt_ca_file);
        free(c->mqtt_client_cert);
        free(c->mqtt_client_key);
        free(c->mqtt_topic_prefix);
        free(c);
}

/* Identifiers end up in DDI URL paths (/<tenant>/controller/v1/<controllerId>), so they are kept
 * to a charset that needs no escaping, and "." / ".." cannot walk the path. */
static bool valid_id(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > CONFIG_ID_MAX || STREQ(s, ".") || STREQ(s, ".."))
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Printable ASCII without spaces: the value goes into a URL or an HTTP header, where a space,
 * CR or LF would change what is sent. */
static bool printable_no_space(const char *s) {
        for (; *s; s++)
                if (*s <= ' ' || *s >= 0x7f)
                        return false;
        return true;
}

static bool valid_url(const char *s) {
        const char *rest;
        if (strncmp(s, "http://", 7) == 0)
                rest = s + 7;
        else if (strncmp(s, "https://", 8) == 0)
                rest = s + 8;
        else
                return false;
        return *rest && *rest != '/' && strlen(s) <= CONFIG_URL_MAX && printable_no_space(s);
}

static bool valid_abs_path(const char *s) {
        return s[0] == '/' && strlen(s) < PATH_MAX;
}

/* "key: <what is wrong> (got "value")" */
static int config_error(struct tender_error *err, const char *key, const char *what,
                        const char *value) {
        if (value)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "%s: %s (got \"%.64s%s\")",
                                        key, what, value, strlen(value) > 64 ? "..." : "");
        return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "%s: %s", key, what);
}

/* A string member into a malloc'd copy, def when absent (NULL def: stays NULL). */
static int get_str(const cJSON *obj, const char *path, const char *key, bool required,
                   const char *def, char **ret, struct tender_error *err) {
        const char *s = def;
        int r = tender_json_get_string(obj, path, key, required, &s, err);
        if (r < 0)
                return r;
        if (!s)
                return 0;
        char *copy = strdup(s);
        if (!copy)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        *ret = copy;
        return 0;
}

static int get_range(const cJSON *obj, const char *path, const char *key, uint64_t def,
                     uint64_t min, uint64_t max, uint64_t *ret, struct tender_error *err) {
        uint64_t v = def;
        int r = tender_json_get_u64(obj, path, key, false, &v, err);
        if (r < 0)
                return r;
        if (v < min || v > max)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "%s.%s: must be between %llu and %llu (got %llu)", path,
                                        key, (unsigned long long) min, (unsigned long long) max,
                                        (unsigned long long) v);
        *ret = v;
        return 0;
}

/* server.tokenOrigins: ["https://cdn.example.com", ...], each an origin only (no path), kept
 * as tender_http_origin normalises it; https only when server.url is https. */
static int parse_token_origins(const cJSON *server, struct tender_config *c,
                               struct tender_error *err) {
        bool https = strncmp(c->server_url, "https://", 8) == 0;
        char key[48];
        int r = tender_json_get_strv(server, "server", "tokenOrigins", false,
                                     CONFIG_TOKEN_ORIGINS_MAX, &c->token_origins, err);
        for (size_t i = 0; r >= 0 && c->token_origins && c->token_origins[i]; i++) {
                char *o = c->token_origins[i], norm[CONFIG_ORIGIN_MAX];
                const char *rest = strstr(o, "://");
                snprintf(key, sizeof(key), "server.tokenOrigins[%zu]", i);
                size_t host_len = rest ? strcspn(rest + 3, "/?#") : 0;
                if (!valid_url(o) || !rest ||
                    (rest[3 + host_len] && !STREQ(rest + 3 + host_len, "/")) ||
                    tender_http_origin(o, norm, sizeof(norm)) < 0)
                        return config_error(err, key, "expected an origin, \"https://host[:port]\"",
                                            o);
                if (https && strncmp(norm, "https://", 8) != 0)
                        return config_error(err, key,
                                            "not http while server.url is https: the token "
                                            "never goes out in cleartext",
                                            o);
                char *copy = strdup(norm);
                if (!copy)
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
                free(o);
                c->token_origins[i] = copy;
        }
        return r;
}

static int parse_server(const cJSON *server, struct tender_config *c, struct tender_error *err) {
        int r = tender_json_check_keys(server, "server", server_keys, err);
        if (r >= 0)
                r = get_str(server, "server", "url", true, NULL, &c->server_url, err);
        if (r >= 0 && !valid_url(c->server_url))
                r = config_error(err, "server.url", "expected an http:// or https:// URL",
                                 c->server_url);
        if (r >= 0)
                r = get_str(server, "server", "tenant", false, DEFAULT_TENANT, &c->tenant, err);
        if (r >= 0 && !valid_id(c->tenant))
                r = config_error(err, "server.tenant",
                                 "expected 1 to 64 of the characters A-Z a-z 0-9 . _ -", c->tenant);
        if (r >= 0)
                r = get_str(server, "server", "controllerId", true, NULL, &c->controller_id, err);
        if (r >= 0 && !valid_id(c->controller_id))
                r = config_error(err, "server.controllerId",
                                 "expected 1 to 64 of the characters A-Z a-z 0-9 . _ -",
                                 c->controller_id);
        if (r >= 0)
                r = get_str(server, "server", "targetToken", false, NULL, &c->target_token, err);
        /* The token is a secret: the message does not echo it. */
        if (r >= 0 && c->target_token &&
            (!*c->target_token || strlen(c->target_token) > CONFIG_TOKEN_MAX ||
             !printable_no_space(c->target_token)))
                r = config_error(err, "server.targetToken",
                                 "expected 1 to 512 printable characters without spaces", NULL);
        if (r >= 0)
                r = get_str(server, "server", "gatewayToken", false, NULL, &c->gateway_token, err);
        if (r >= 0 && c->gateway_token &&
            (!*c->gateway_token || strlen(c->gateway_token) > CONFIG_TOKEN_MAX ||
             !printable_no_space(c->gateway_token)))
                r = config_error(err, "server.gatewayToken",
                                 "expected 1 to 512 printable characters without spaces", NULL);
        /* One Authorization header: a device authenticates as itself or through its gateway. */
        if (r >= 0 && c->gateway_token && c->target_token)
                r = config_error(err, "server.gatewayToken", "not together with server.targetToken",
                                 NULL);
        if (r >= 0)
                r = get_range(server, "server", "pollIntervalSeconds", DEFAULT_POLL_SEC,
                              CONFIG_POLL_MIN, CONFIG_POLL_MAX, &c->poll_interval_sec, err);
        if (r >= 0)
                r = get_range(server, "server", "httpTimeoutSeconds", DEFAULT_HTTP_TIMEOUT_SEC,
                              CONFIG_TIMEOUT_MIN, CONFIG_TIMEOUT_MAX, &c->http_timeout_sec, err);
        if (r >= 0)
                r = get_range(server, "server", "requestTimeoutSeconds",
                              DEFAULT_REQUEST_TIMEOUT_SEC, CONFIG_TIMEOUT_MIN, CONFIG_TIMEOUT_MAX,
                              &c->request_timeout_sec, err);
        if (r >= 0)
                r = parse_token_origins(server, c, err);
        return r;
}

static int parse_paths(const cJSON *root, struct tender_config *c, struct tender_error *err) {
        const cJSON *store = NULL, *trust = NULL, *runtime = NULL;
        int r = tender_json_get_object(root, "", "store", false, &store, err);
        if (r >= 0)
                r = tender_json_check_keys(store, "store", store_keys, err);
        if (r >= 0)
                r = get_str(store, "store", "root", false, DEFAULT_STORE_ROOT, &c->store_root, err);
        if (r >= 0 && !valid_abs_path(c->store_root))
                r = config_error(err, "store.root", "expected an absolute path", c->store_root);
        /* Staging onto an unencrypted store must be asked for in so many words. */
        if (r >= 0)
                r = tender_json_get_bool(store, "store", "allowUnencrypted", false,
                                         &c->store_allow_unencrypted, err);
        if (r >= 0)
                r = get_range(store, "store", "budgetBytes", 0, 0, UINT64_MAX,
                              &c->store_budget_bytes, err);

        if (r >= 0)
                r = tender_json_get_object(root, "", "trust", false, &trust, err);
        if (r >= 0)
                r = tender_json_check_keys(trust, "trust", trust_keys, err);
        /* The single release key is gone: a config still naming it would otherwise look valid
         * while the device trusts something else than its administrator thinks. */
        if (r >= 0 && cJSON_GetObjectItemCaseSensitive(trust, "releaseKey"))
                r = config_error(err, "trust.releaseKey",
                                 "no longer supported: releases are verified through TUF; set "
                                 "tuf.root (and tuf.metadataUrl, tuf.targetsUrl) instead",
                                 NULL);

        if (r >= 0)
                r = tender_json_get_object(root, "", "runtime", false, &runtime, err);
        if (r >= 0)
                r = tender_json_check_keys(runtime, "runtime", runtime_keys, err);
        if (r >= 0)
                r = get_str(runtime, "runtime", "path", false, DEFAULT_RUNTIME_PATH,
                            &c->runtime_path, err);
        /* A bare name is looked up in PATH; anything with a slash must not depend on the
         * working directory. */
        if (r >= 0 && (!*c->runtime_path || strlen(c->runtime_path) >= PATH_MAX ||
                       (strchr(c->runtime_path, '/') && c->runtime_path[0] != '/')))
                r = config_error(err, "runtime.path", "expected a program name or an absolute path",
                                 c->runtime_path);
        if (r >= 0)
                r = get_str(runtime, "runtime", "root", false, DEFAULT_RUNTIME_ROOT,
                            &c->runtime_root, err);
        if (r >= 0 && !valid_abs_path(c->runtime_root))
                r = config_error(err, "runtime.root", "expected an absolute path", c->runtime_root);
        return r;
}

static int parse_log(const cJSON *root, struct tender_config *c, struct tender_error *err) {
        const cJSON *log = NULL;
        const char *level = NULL;
        int r = tender_json_get_object(root, "", "log", false, &log, err);
        if (r >= 0)
                r = tender_json_check_keys(log, "log", log_keys, err);
        if (r >= 0)
                r = tender_json_get_string(log, "log", "level", false, &level, err);
        if (r < 0)
                return r;
        c->log_level = LOG_INFO;
        if (level) {
                int l = tender_log_parse_level(level);
                if (l < 0)
                        return config_error(err, "log.level",
                                            "expected one of error, warning, notice, info, debug",
                                            level);
                c->log_level = l;
        }
        return 0;
}

/* An optional absolute path member. */
static int get_abs_path(const cJSON *obj, const char *path, const char *key, char **ret,
                        struct tender_error *err) {
        int r = get_str(obj, path, key, false, NULL, ret, err);
        if (r >= 0 && *ret && !valid_abs_path(*ret)) {
                char full[64];
                snprintf(full, sizeof(full), "%s.%s", path, key);
                r = config_error(err, full, "expected an absolute path", *ret);
        }
        return r;
}

/* download.registry: where layers come from when not from the DDI artifacts. The repository
 * is a template so that one setting serves every app of the device. */
static int parse_registry(const cJSON *d, struct tender_config *c, struct tender_error *err) {
        const cJSON *reg = NULL;
        int r = tender_json_get_object(d, "download", "registry", false, &reg, err);
        if (r < 0 || !reg)
                return r;
        r = tender_json_check_keys(reg, "download.registry", registry_keys, err);
        if (r >= 0)
                r = get_str(reg, "download.registry", "url", true, NULL, &c->registry_url, err);
        if (r >= 0 && (strlen(c->registry_url) > CONFIG_URL_MAX ||
                       (strncmp(c->registry_url, "http://", 7) != 0 &&
                        strncmp(c->registry_url, "https://", 8) != 0)))
                return config_error(err, "download.registry.url",
                                    "expected an http:// or https:// URL", c->registry_url);
        if (r >= 0)
                r = get_str(reg, "download.registry", "repository", false, "{app}",
                            &c->registry_repository, err);
        if (r >= 0 && (strlen(c->registry_repository) > CONFIG_REPOSITORY_MAX ||
                       !printable_no_space(c->registry_repository)))
                return config_error(err, "download.registry.repository",
                                    "expected a repository name, \"{app}\" for the app's name",
                                    c->registry_repository);
        if (r >= 0)
                r = get_abs_path(reg, "download.registry", "credentialsFile",
                                 &c->registry_credentials_file, err);
        return r;
}

static int parse_download(const cJSON *root, struct tender_config *c, struct tender_error *err) {
        const cJSON *d = NULL;
        int r = tender_json_get_object(root, "", "download", false, &d, err);
        if (r >= 0)
                r = tender_json_check_keys(d, "download", download_keys, err);
        if (r >= 0)
                r = get_abs_path(d, "download", "caFile", &c->download_ca_file, err);
        if (r >= 0)
                r = get_abs_path(d, "download", "clientCert", &c->download_client_cert, err);
        if (r >= 0)
                r = get_abs_path(d, "download", "clientKey", &c->download_client_key, err);
        if (r >= 0 && c->download_client_key && !c->download_client_cert)
                r = config_error(err, "download.clientKey", "needs download.clientCert", NULL);
        if (r >= 0)
                r = get_str(d, "download", "pinnedPublicKey", false, NULL,
                            &c->download_pinned_public_key, err);
        /* Pins go to libcurl as they are: "sha256//<base64>[;...]" or a key file. */
        if (r >= 0 && c->download_pinned_public_key &&
            (strlen(c->download_pinned_public_key) > CONFIG_PIN_MAX ||
             !printable_no_space(c->download_pinned_public_key) ||
             (strncmp(c->download_pinned_public_key, "sha256//", 8) != 0 &&
              c->download_pinned_public_key[0] != '/')))
                r = config_error(err, "download.pinnedPublicKey",
                                 "expected \"sha256//<base64>\" pins or an absolute path",
                                 c->download_pinned_public_key);
        if (r >= 0)
                r = get_range(d, "download", "maxBytesPerSecond", 0, 0, UINT64_MAX,
                              &c->download_max_bytes_per_sec, err);
        if (r >= 0)
                r = get_range(d, "download", "lowSpeedBytesPerSecond", 1, 1, UINT64_MAX,
                              &c->download_low_speed_bytes_per_sec, err);
        if (r >= 0)
                r = get_range(d, "download", "minAverageBytesPerSecond", DEFAULT_MIN_AVG_SPEED, 1,
                              UINT64_MAX, &c->download_min_avg_bytes_per_sec, err);
        if (r >= 0)
                r = get_range(d, "download", "maxRedirects", 0, 0, CONFIG_REDIRECTS_MAX,
                              &c->download_max_redirects, err);
        if (r >= 0)
                r = tender_json_get_bool(d, "download", "allowHttpRedirects", false,
                                         &c->download_allow_http_redirects, err);
        /* From https, never down to http (docs/downloads.md, "Credentials"). */
        if (r >= 0 && c->download_allow_http_redirects &&
            strncmp(c->server_url, "https://", 8) == 0)
                r = config_error(err, "download.allowHttpRedirects", "not with an https server.url",
                                 NULL);
        if (r >= 0)
                r = get_range(d, "download", "retryAttempts", DEFAULT_RETRY_ATTEMPTS, 1,
                              CONFIG_RETRY_ATTEMPTS_MAX, &c->download_retry_attempts, err);
        if (r >= 0)
                r = get_range(d, "download", "retryBudgetSeconds", DEFAULT_RETRY_BUDGET_SEC, 1,
                              CONFIG_RETRY_BUDGET_MAX, &c->download_retry_budget_sec, err);
        if (r >= 0)
                r = parse_registry(d, c, err);
        return r;
}

/* An optional URL member, else server.url (without its trailing slashes) + suffix. */
static int get_url_default(const cJSON *obj, const char *key, const char *server_url,
                           const char *suffix, char **ret, struct tender_error *err) {
        char full[64];
        int r = get_str(obj, "tuf", key, false, NULL, ret, err);
        snprintf(full, sizeof(full), "tuf.%s", key);
        if (r < 0)
                return r;
        if (*ret)
                return valid_url(*ret) ? 0
                                       : config_error(err, full,
                                                      "expected an http:// or https:// URL", *ret);
        size_t n = strlen(server_url);
        while (n > 0 && server_url[n - 1] == '/')
                n--;
        if (asprintf(ret, "%.*s%s", (int) n, server_url, suffix) < 0) {
                *ret = NULL;
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        }
        return 0;
}

/* The TUF repository: the provisioned root, and where metadata and targets are served. The
 * URLs default to server-mock's layout beneath server.url (/repo/tuf/...). */
static int parse_tuf(const cJSON *root, struct tender_config *c, struct tender_error *err) {
        const cJSON *tuf = NULL;
        int r = tender_json_get_object(root, "", "tuf", false, &tuf, err);
        if (r >= 0)
                r = tender_json_check_keys(tuf, "tuf", tuf_keys, err);
        if (r >= 0)
                r = get_str(tuf, "tuf", "root", true, NULL, &c->tuf_root, err);
        if (r >= 0 && !valid_abs_path(c->tuf_root))
                r = config_error(err, "tuf.root", "expected an absolute path", c->tuf_root);
        if (r >= 0)
                r = get_url_default(tuf, "metadataUrl", c->server_url, "/repo/tuf/metadata",
                                    &c->tuf_metadata_url, err);
        if (r >= 0)
                r = get_url_default(tuf, "targetsUrl", c->server_url, "/repo/tuf/targets",
                                    &c->tuf_targets_url, err);
        return r;
}

/* A group name as useradd takes it: what getgrnam_r gets, nothing a shell would expand. */
static bool valid_group(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > CONFIG_GROUP_MAX || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
                            s[i]))
                        return false;
        return true;
}

static int parse_control(const cJSON *root, struct tender_config *c, struct tender_error *err) {
        const cJSON *o = NULL;
        int r = tender_json_get_object(root, "", "control", false, &o, err);
        if (r >= 0)
                r = tender_json_check_keys(o, "control", control_keys, err);
        if (r >= 0)
                r = get_str(o, "control", "socket", false, DEFAULT_CONTROL_SOCKET,
                            &c->control_socket, err);
        if (r >= 0 && (!valid_abs_path(c->control_socket) ||
                       strlen(c->control_socket) >= CONFIG_SOCKET_PATH_MAX))
                r = config_error(err, "control.socket",
                                 "expected an absolute path of at most 107 bytes",
                                 c->control_socket);
        if (r >= 0)
                r = get_str(o, "control", "group", false, NULL, &c->control_group, err);
        if (r >= 0 && c->control_group && !valid_group(c->control_group))
                r = config_error(err, "control.group", "expected a group name", c->control_group);
        if (r >= 0)
                r = get_range(o, "control", "appLockTtlSeconds", DEFAULT_APP_LOCK_TTL_SEC, 1,
                              CONFIG_LOCK_TTL_MAX, &c->app_lock_ttl_sec, err);
        if (r >= 0)
                r = get_range(o, "control", "lockRetrySeconds", DEFAULT_LOCK_RETRY_SEC, 1, 3600,
                              &c->lock_retry_sec, err);
        return r;
}

/* maintenance.windows: ["Mon-Fri 02:00-04:00", ...] (tender/maintenance.h). */
static int parse_maintenance(const cJSON *root, struct tender_config *c, struct tender_error *err) {
        static const char *const keys[] = {"windows", NULL};
        const cJSON *m = NULL;
        char **specs = NULL;
        int r = tender_json_get_object(root, "", "maintenance", false, &m, err);
        if (r < 0 || !m)
                return r;
        r = tender_json_check_keys(m, "maintenance", keys, err);
        if (r >= 0)
                r = tender_json_get_strv(m, "maintenance", "windows", false,
                                         TENDER_MAINTENANCE_MAX_WINDOWS, &specs, err);
        if (r < 0 || !specs)
                return r;
        size_t n = tender_strv_length(specs);
        c->maintenance_windows = calloc(n ? n : 1, sizeof(*c->maintenance_windows));
        if (!c->maintenance_windows)
                r = tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (tender_maintenance_window_parse(specs[i], &c->maintenance_windows[i]) < 0)
                        r = tender_error_set(
                                err, TENDER_ERR_CONFIG, EINVAL,
                                "maintenance.windows[%zu]: \"%.64s\" is not "
                                "\"[DAYS ]HH:MM-HH:MM\" (e.g. \"Mon-Fri 02:00-04:00\")",
                                i, specs[i]);
        }
        if (r >= 0)
                c->n_maintenance_windows = n;
        tender_strv_free(specs);
        return r;
}

/* apps: user namespaces and the pool of host ids the apps' ranges come from (docs/configuration.md,
 * "apps"). The pool holds a whole number of ranges, starts above the first range (so that a range
 * never overlaps host ids 0..rangeSize-1, which the migration shifts from) and fits in 32 bits. */
static int parse_apps(const cJSON *root, struct tender_config *c, struct tender_error *err) {
        static const char *const keys[] = {"userNamespaces", "idPool", "idRangeSize", NULL};
        static const char *const pool_keys[] = {"base", "size", NULL};
        const cJSON *o = NULL, *pool = NULL;
        uint64_t range = TENDER_ID_RANGE_DEFAULT, base = TENDER_ID_POOL_BASE_DEFAULT,
                 size = TENDER_ID_POOL_SIZE_DEFAULT;
        c->apps_user_namespaces = true;
        int r = tender_json_get_object(root, "", "apps", false, &o, err);
        if (r >= 0)
                r = tender_json_check_keys(o, "apps", keys, err);
        if (r >= 0)
                r = tender_json_get_bool(o, "apps", "userNamespaces", false,
                                         &c->apps_user_namespaces, err);
        if (r >= 0)
                r = get_range(o, "apps", "idRangeSize", TENDER_ID_RANGE_DEFAULT, 1024, 1u << 24,
                              &range, err);
        if (r >= 0)
                r = tender_json_get_object(o, "apps", "idPool", false, &pool, err);
        if (r >= 0)
                r = tender_json_check_keys(pool, "apps.idPool", pool_keys, err);
        if (r >= 0)
                r = get_range(pool, "apps.idPool", "base", TENDER_ID_POOL_BASE_DEFAULT, range,
                              UINT32_MAX - 1, &base, err);
        if (r >= 0)
                r = get_range(pool, "apps.idPool", "size", TENDER_ID_POOL_SIZE_DEFAULT, 2 * range,
                              UINT32_MAX, &size, err);
        if (r >= 0 && size % range != 0)
                r = tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                     "apps.idPool.size: must be a multiple of apps.idRangeSize "
                                     "(%llu), got %llu",
                                     (unsigned long long) range, (unsigned long long) size);
        /* The last id of the pool must stay below 4294967295 ((uid_t) -1). */
        if (r >= 0 && base + size > UINT32_MAX)
                r = tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                     "apps.idPool: base + size must be at most %u (got %llu)",
                                     UINT32_MAX, (unsigned long long) (base + size));
        if (r >= 0) {
                c->apps_id_range = (uint32_t) range;
                c->apps_id_pool_base = (uint32_t) base;
                c->apps_id_pool_size = (uint32_t) size;
        }
        return r;
}

/* mqtt: the broker that receives the device's status and events (docs/mqtt.md). */
static bool valid_topic_prefix(const char *s) {
        size_t n = strlen(s);
        return n > 0 && n <= 64 && s[0] != '/' && s[n - 1] != '/' && printable_no_space(s) &&
               !strpbrk(s, "+#");
}

static int parse_mqtt_tls(const cJSON *m, struct tender_config *c, struct tender_error *err) {
        int r = get_abs_path(m, "mqtt", "caFile", &c->mqtt_ca_file, err);
        if (r >= 0)
                r = get_abs_path(m, "mqtt", "clientCert", &c->mqtt_client_cert, err);
        if (r >= 0)
                r = get_abs_path(m, "mqtt", "clientKey", &c->mqtt_client_key, err);
        if (r >= 0 && c->mqtt_client_cert && !c->mqtt_ca_file)
                r = config_error(err, "mqtt.clientCert", "needs mqtt.caFile (TLS)",
                                 c->mqtt_client_cert);
        if (r >= 0 && c->mqtt_client_key && !c->mqtt_client_cert)
                r = config_error(err, "mqtt.clientKey", "needs mqtt.clientCert",
                                 c->mqtt_client_key);
        return r;
}

static int parse_mqtt(const cJSON *root, struct tender_config *c, struct tender_error *err) {
        static const char *const keys[] = {"host",
                                           "port",
                                           "caFile",
                                           "clientCert",
                                           "clientKey",
                                           "topicPrefix",
                                           "keepaliveSeconds",
                                           "queueMaxEvents",
                                           "statusIntervalSeconds",
                                           "commands",
                                           NULL};
        const cJSON *m = NULL;
        int r = tender_json_get_object(root, "", "mqtt", false, &m, err);
        if (r < 0 || !m)
                return r;
        r = tender_json_check_keys(m, "mqtt", keys, err);
        if (r >= 0)
                r = get_str(m, "mqtt", "host", true, NULL, &c->mqtt_host, err);
        if (r >= 0 && (strlen(c->mqtt_host) > 253 || !printable_no_space(c->mqtt_host)))
                return config_error(err, "mqtt.host", "expected a host name or address",
                                    c->mqtt_host);
        if (r >= 0)
                r = parse_mqtt_tls(m, c, err);
        if (r >= 0)
                r = get_range(m, "mqtt", "port", c->mqtt_ca_file ? 8883 : 1883, 1, 65535,
                              &c->mqtt_port, err);
        if (r >= 0)
                r = get_str(m, "mqtt", "topicPrefix", false, "tender", &c->mqtt_topic_prefix, err);
        if (r >= 0 && !valid_topic_prefix(c->mqtt_topic_prefix))
                return config_error(err, "mqtt.topicPrefix",
                                    "expected at most 64 printable bytes without spaces, + or #, "
                                    "not starting or ending with /",
                                    c->mqtt_topic_prefix);
        if (r >= 0)
                r = get_range(m, "mqtt", "keepaliveSeconds", 60, 5, 3600, &c->mqtt_keepalive_sec,
                              err);
        if (r >= 0)
                r = get_range(m, "mqtt", "queueMaxEvents", 1000, 1, 1000000,
                              &c->mqtt_queue_max_events, err);
        if (r >= 0)
                r = get_range(m, "mqtt", "statusIntervalSeconds", 60, 1, 86400,
                              &c->mqtt_status_interval_sec, err);
        if (r >= 0)
                r = tender_json_get_bool(m, "mqtt", "commands", false, &c->mqtt_commands, err);
        return r;
}

/* monitor: the local HTTP endpoint, always on 127.0.0.1. */
static int parse_monitor(const cJSON *root, struct tender_config *c, struct tender_error *err) {
        static const char *const keys[] = {"port", NULL};
        const cJSON *m = NULL;
        int r = tender_json_get_object(root, "", "monitor", false, &m, err);
        if (r < 0 || !m)
                return r;
        r = tender_json_check_keys(m, "monitor", keys, err);
        if (r >= 0)
                r = get_range(m, "monitor", "port", 9101, 0, 65535, &c->monitor_port, err);
        c->monitor_enabled = r >= 0;
        return r;
}

static int parse_config(const char *data, size_t len, struct tender_config **ret,
                        struct tender_error *err) {
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        int r = tender_json_parse(data, len, TENDER_CONFIG_MAX_SIZE, CONFIG_MAX_DEPTH, &root, err);
        if (r < 0)
                return r;
        if (!cJSON_IsObject(root))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "expected a JSON object");

        _cleanup_(tender_config_freep) struct tender_config *c = calloc(1, sizeof(*c));
        if (!c)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        const cJSON *server = NULL, *policy = NULL;
        tender_policy_init(&c->policy);
        r = tender_json_check_keys(root, "", root_keys, err);
        if (r >= 0)
                r = tender_json_get_object(root, "", "server", false, &server, err);
        if (r >= 0)
                r = parse_server(server, c, err);
        if (r >= 0)
                r = parse_paths(root, c, err);
        if (r >= 0)
                r = parse_tuf(root, c, err);
        if (r >= 0)
                r = parse_log(root, c, err);
        if (r >= 0)
                r = parse_download(root, c, err);
        if (r >= 0)
                r = parse_control(root, c, err);
        if (r >= 0)
                r = parse_maintenance(root, c, err);
        if (r >= 0)
                r = tender_json_get_object(root, "", "policy", false, &policy, err);
        if (r >= 0)
                r = tender_policy_parse(policy, &c->policy, err);
        if (r >= 0)
                r = parse_apps(root, c, err);
        if (r >= 0)
                r = parse_mqtt(root, c, err);
        if (r >= 0)
                r = parse_monitor(root, c, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int tender_config_parse(const char *data, size_t len, struct tender_config **ret,
                        struct tender_error *err) {
        int r = parse_config(data, len, ret, err);
        /* Whichever layer found the problem, it is a problem of the configuration. */
        if (r < 0 && err && err->domain == TENDER_ERR_JSON)
                err->domain = TENDER_ERR_CONFIG;
        return r;
}

int tender_config_load(const char *path, struct tender_config **ret, struct tender_error *err) {
        if (!path)
                path = TENDER_CONFIG_PATH_DEFAULT;
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = tender_read_file_at(AT_FDCWD, path, TENDER_CONFIG_MAX_SIZE, &data, &len);
        if (r == -ELOOP) {
                /* The configuration is the administrator's file: a symlink to it is fine. */
                _cleanup_free_ char *real = realpath(path, NULL);
                r = real ? tender_read_file_at(AT_FDCWD, real, TENDER_CONFIG_MAX_SIZE, &data, &len)
                         : -errno;
        }
        if (r == -EFBIG)
                return tender_error_set(err, TENDER_ERR_CONFIG, EFBIG,
                                        "%s: larger than the limit of %d bytes", path,
                                        TENDER_CONFIG_MAX_SIZE);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, r, "%s: cannot read", path);
        r = tender_config_parse(data, len, ret, err);
        if (r < 0) {
                (void) tender_error_prefix(err, "%s", path);
                return r;
        }
        return 0;
}
