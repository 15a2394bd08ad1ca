/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <syslog.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/config.h"
#include "tender/fileio.h"
#include "test.h"

#define MINIMAL                                                                                    \
        "{\"server\": {\"url\": \"http://127.0.0.1:8080\", \"controllerId\": \"dev1\"},"           \
        " \"tuf\": {\"root\": \"/etc/tender/root.json\"}}"

static const char full[] =
        "{\"server\": {\"url\": \"https://updates.example.com/ddi\", \"tenant\": \"fleet_2\","
        "             \"controllerId\": \"dev-1.a_b\", \"targetToken\": \"s3cr3t-Token\","
        "             \"pollIntervalSeconds\": 60, \"httpTimeoutSeconds\": 10},"
        " \"store\": {\"root\": \"/data/tender\", \"allowUnencrypted\": true, \"budgetBytes\": "
        "1000000},"
        " \"tuf\": {\"root\": \"/etc/tender/tuf-root.json\", \"metadataUrl\": "
        "\"https://tuf.example/m\", \"targetsUrl\": \"https://cdn.example/t/\"},"
        " \"runtime\": {\"path\": \"/usr/bin/crun\", \"root\": \"/run/crun\"},"
        " \"log\": {\"level\": \"debug\"}}";

static int parse(const char *s, struct tender_config **ret, struct tender_error *err) {
        return tender_config_parse(s, strlen(s), ret, err);
}

/* Parsing s fails with -EINVAL (or want_errno) and an error in the config domain naming key. */
#define ASSERT_CONFIG_ERR(s, want_errno, key)                                                      \
        do {                                                                                       \
                struct tender_error _e = {0};                                                      \
                struct tender_config *_c = NULL;                                                   \
                ASSERT_ERR(parse(s, &_c, &_e), want_errno);                                        \
                ASSERT_TRUE(_c == NULL);                                                           \
                ASSERT_EQ(_e.domain, TENDER_ERR_CONFIG);                                           \
                ASSERT_CONTAINS(_e.message, key);                                                  \
        } while (0)

TEST(minimal_defaults) {
        struct tender_error err = {0};
        _cleanup_(tender_config_freep) struct tender_config *c = NULL;
        ASSERT_OK(parse(MINIMAL, &c, &err));
        ASSERT_STREQ(c->server_url, "http://127.0.0.1:8080");
        ASSERT_STREQ(c->tenant, "DEFAULT");
        ASSERT_STREQ(c->controller_id, "dev1");
        ASSERT_TRUE(c->target_token == NULL);
        ASSERT_EQ(c->poll_interval_sec, 300);
        ASSERT_EQ(c->http_timeout_sec, 30);
        ASSERT_STREQ(c->store_root, "/var/lib/tender");
        ASSERT_FALSE(c->store_allow_unencrypted);
        ASSERT_EQ(c->store_budget_bytes, 0);
        ASSERT_STREQ(c->tuf_root, "/etc/tender/root.json");
        ASSERT_STREQ(c->tuf_metadata_url, "http://127.0.0.1:8080/repo/tuf/metadata");
        ASSERT_STREQ(c->tuf_targets_url, "http://127.0.0.1:8080/repo/tuf/targets");
        ASSERT_STREQ(c->runtime_path, "tender-runtime");
        ASSERT_STREQ(c->runtime_root, "/run/tender/runtime");
        ASSERT_EQ(c->log_level, LOG_INFO);
}

#define WITH_APPS(apps)                                                                            \
        "{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"                           \
        " \"tuf\": {\"root\": \"/k\"}, \"apps\": " apps "}"

TEST(apps_user_namespaces) {
        struct tender_error err = {0};
        _cleanup_(tender_config_freep) struct tender_config *c = NULL, *d = NULL;
        ASSERT_OK(parse(MINIMAL, &c, &err));
        ASSERT_TRUE(c->apps_user_namespaces);
        ASSERT_EQ(c->apps_id_range, 65536);
        ASSERT_EQ(c->apps_id_pool_base, 1000000);
        ASSERT_EQ(c->apps_id_pool_size, 257u * 65536u);
        ASSERT_OK(parse(WITH_APPS("{\"userNamespaces\": false, \"idRangeSize\": 4096,"
                                  " \"idPool\": {\"base\": 200000, \"size\": 40960}}"),
                        &d, &err));
        ASSERT_FALSE(d->apps_user_namespaces);
        ASSERT_EQ(d->apps_id_range, 4096);
        ASSERT_EQ(d->apps_id_pool_base, 200000);
        ASSERT_EQ(d->apps_id_pool_size, 40960);
        ASSERT_CONFIG_ERR(WITH_APPS("{\"idPool\": {\"base\": 0}}"), EINVAL, "apps.idPool.base");
        ASSERT_CONFIG_ERR(WITH_APPS("{\"idPool\": {\"base\": 65535}}"), EINVAL, "apps.idPool.base");
        ASSERT_CONFIG_ERR(WITH_APPS("{\"idPool\": {\"size\": 200000}}"), EINVAL,
                          "apps.idPool.size: must be a multiple");
        ASSERT_CONFIG_ERR(WITH_APPS("{\"idPool\": {\"size\": 65536}}"), EINVAL, "apps.idPool.size");
        ASSERT_CONFIG_ERR(WITH_APPS("{\"idPool\": {\"base\": 4294000000}}"), EINVAL,
                          "apps.idPool: base + size");
        ASSERT_CONFIG_ERR(WITH_APPS("{\"idRangeSize\": 100}"), EINVAL, "apps.idRangeSize");
        ASSERT_CONFIG_ERR(WITH_APPS("{\"userNamespaces\": \"no\"}"), EINVAL, "apps.userNamespaces");
        ASSERT_CONFIG_ERR(WITH_APPS("{\"idPool\": {\"start\": 1}}"), EINVAL, "apps.idPool");
}

TEST(full) {
        struct tender_error err = {0};
        _cleanup_(tender_config_freep) struct tender_config *c = NULL;
        ASSERT_OK(parse(full, &c, &err));
        ASSERT_STREQ(c->server_url, "https://updates.example.com/ddi");
        ASSERT_STREQ(c->tenant, "fleet_2");
        ASSERT_STREQ(c->controller_id, "dev-1.a_b");
        ASSERT_STREQ(c->target_token, "s3cr3t-Token");
        ASSERT_EQ(c->poll_interval_sec, 60);
        ASSERT_EQ(c->http_timeout_sec, 10);
        ASSERT_STREQ(c->store_root, "/data/tender");
        ASSERT_TRUE(c->store_allow_unencrypted);
        ASSERT_EQ(c->store_budget_bytes, 1000000);
        ASSERT_STREQ(c->tuf_root, "/etc/tender/tuf-root.json");
        ASSERT_STREQ(c->tuf_metadata_url, "https://tuf.example/m");
        ASSERT_STREQ(c->tuf_targets_url, "https://cdn.example/t/");
        ASSERT_STREQ(c->runtime_path, "/usr/bin/crun");
        ASSERT_STREQ(c->runtime_root, "/run/crun");
        ASSERT_EQ(c->log_level, LOG_DEBUG);
        tender_config_free(NULL);
}

TEST(required_missing) {
        ASSERT_CONFIG_ERR("{\"server\": {\"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}}",
                          ENOENT, "server.url: missing");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\"},"
                          " \"tuf\": {\"root\": \"/k\"}}",
                          ENOENT, "server.controllerId: missing");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"}}", ENOENT,
                          "tuf.root: missing");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {}}",
                          ENOENT, "tuf.root: missing");
        ASSERT_CONFIG_ERR("{\"tuf\": {\"root\": \"/k\"}}", ENOENT, "server.url: missing");
        ASSERT_CONFIG_ERR("{}", ENOENT, "server.url");
}

/* The single release key is gone; a config still naming it is refused, not silently ignored. */
TEST(release_key_removed) {
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}, \"trust\": {\"releaseKey\": \"/k.pem\"}}",
                          EINVAL, "trust.releaseKey: no longer supported");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"trust\": {\"releaseKey\": \"/k.pem\"}}",
                          EINVAL, "set tuf.root");
}

/* A trailing slash on server.url does not double in the derived TUF URLs. */
TEST(tuf_url_defaults) {
        static const char s[] = "{\"server\": {\"url\": \"https://h:8443/base//\", "
                                "\"controllerId\": \"d\"}, \"tuf\": {\"root\": \"/r.json\"}}";
        struct tender_error err = {0};
        _cleanup_(tender_config_freep) struct tender_config *c = NULL;
        ASSERT_OK(parse(s, &c, &err));
        ASSERT_STREQ(c->tuf_metadata_url, "https://h:8443/base/repo/tuf/metadata");
        ASSERT_STREQ(c->tuf_targets_url, "https://h:8443/base/repo/tuf/targets");
}

TEST(unknown_keys) {
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\","
                          " \"tennant\": \"x\"}, \"tuf\": {\"root\": \"/k\"}}",
                          EINVAL, "server.tennant: unknown key");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}, \"srever\": {}}",
                          EINVAL, "srever: unknown key");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}, \"log\": {\"lvl\": \"info\"}}",
                          EINVAL, "log.lvl: unknown key");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}, \"store\": {\"Root\": \"/x\"}}",
                          EINVAL, "store.Root: unknown key");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"},"
                          " \"store\": {\"allowUnencrypted\": \"yes\"}}",
                          EINVAL, "store.allowUnencrypted");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"},"
                          " \"store\": {\"budgetBytes\": -1}}",
                          EINVAL, "store.budgetBytes");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\", \"key\": \"/x\"}}",
                          EINVAL, "tuf.key: unknown key");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}, \"runtime\": {\"args\": []}}",
                          EINVAL, "runtime.args: unknown key");
}

TEST(wrong_types) {
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\","
                          " \"pollIntervalSeconds\": \"300\"}, \"tuf\": {\"root\": \"/k\"}}",
                          EINVAL, "server.pollIntervalSeconds: expected a number");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": 8080, \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}}",
                          EINVAL, "server.url: expected a string");
        ASSERT_CONFIG_ERR("{\"server\": [], \"tuf\": {\"root\": \"/k\"}}", EINVAL,
                          "server: expected an object");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}, \"log\": {\"level\": 7}}",
                          EINVAL, "log.level: expected a string");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}, \"store\": \"/x\"}",
                          EINVAL, "store: expected an object");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": null},"
                          " \"tuf\": {\"root\": \"/k\"}}",
                          EINVAL, "server.controllerId: expected a string");
        ASSERT_CONFIG_ERR("[]", EINVAL, "expected a JSON object");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\",}}", EINVAL, "malformed JSON");
        ASSERT_CONFIG_ERR(MINIMAL " {}", EINVAL, "malformed JSON");
}

/* MINIMAL with one server member replaced or added. */
static char *with_server(const char *member) {
        char *s = NULL;
        if (asprintf(&s,
                     "{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\", %s},"
                     " \"tuf\": {\"root\": \"/k\"}}",
                     member) < 0)
                abort();
        /* A later duplicate would be refused; the replaced member comes first here. */
        return s;
}

#define ASSERT_SERVER_ERR(member, key)                                                             \
        do {                                                                                       \
                char *_s = with_server(member);                                                    \
                struct tender_error _e = {0};                                                      \
                struct tender_config *_c = NULL;                                                   \
                int _r = parse(_s, &_c, &_e);                                                      \
                free(_s);                                                                          \
                ASSERT_EQ(_r, -EINVAL);                                                            \
                ASSERT_CONTAINS(_e.message, key);                                                  \
        } while (0)

TEST(bad_values) {
        ASSERT_SERVER_ERR("\"pollIntervalSeconds\": 0", "server.pollIntervalSeconds");
        ASSERT_SERVER_ERR("\"pollIntervalSeconds\": 86401", "server.pollIntervalSeconds");
        ASSERT_SERVER_ERR("\"pollIntervalSeconds\": 1.5", "server.pollIntervalSeconds");
        ASSERT_SERVER_ERR("\"pollIntervalSeconds\": -5", "server.pollIntervalSeconds");
        ASSERT_SERVER_ERR("\"httpTimeoutSeconds\": 0", "server.httpTimeoutSeconds");
        ASSERT_SERVER_ERR("\"tenant\": \"a/b\"", "server.tenant");
        ASSERT_SERVER_ERR("\"tenant\": \"\"", "server.tenant");
        ASSERT_SERVER_ERR("\"targetToken\": \"abc\\r\\nX-Evil: 1\"", "server.targetToken");
        ASSERT_SERVER_ERR("\"targetToken\": \"\"", "server.targetToken");

        const char *bad_ids[] = {
                "\"\"",
                "\"dev 1\"",
                "\"..\"",
                "\"dev/1\"",
                "\"d\\u00e9v\"",
                "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""};
        for (size_t i = 0; i < ELEMENTSOF(bad_ids); i++) {
                char *s = NULL;
                ASSERT_TRUE(asprintf(&s,
                                     "{\"server\": {\"url\": \"http://h\", \"controllerId\": %s},"
                                     " \"tuf\": {\"root\": \"/k\"}}",
                                     bad_ids[i]) > 0);
                struct tender_error e = {0};
                struct tender_config *c = NULL;
                int r = parse(s, &c, &e);
                free(s);
                ASSERT_EQ(r, -EINVAL);
                ASSERT_CONTAINS(e.message, "server.controllerId");
        }
        /* 64 characters is the limit, and fine. */
        struct tender_config *c = NULL;
        struct tender_error e = {0};
        ASSERT_OK(parse("{\"server\": {\"url\": \"http://h\", \"controllerId\": "
                        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
                        " \"tuf\": {\"root\": \"/k\"}}",
                        &c, &e));
        tender_config_free(c);

        const char *bad_urls[] = {"\"ftp://h\"",      "\"http://\"",    "\"127.0.0.1:8080\"",
                                  "\"http:///path\"", "\"http://h x\"", "\"HTTP//h\""};
        for (size_t i = 0; i < ELEMENTSOF(bad_urls); i++) {
                char *s = NULL;
                ASSERT_TRUE(asprintf(&s,
                                     "{\"server\": {\"url\": %s, \"controllerId\": \"d\"},"
                                     " \"tuf\": {\"root\": \"/k\"}}",
                                     bad_urls[i]) > 0);
                struct tender_error ue = {0};
                c = NULL;
                int r = parse(s, &c, &ue);
                free(s);
                ASSERT_EQ(r, -EINVAL);
                ASSERT_CONTAINS(ue.message, "server.url");
        }

        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"etc/root.json\"}}",
                          EINVAL, "tuf.root: expected an absolute path");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\", \"metadataUrl\": \"ftp://x/m\"}}",
                          EINVAL, "tuf.metadataUrl: expected an http:// or https:// URL");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\", \"targetsUrl\": \"/t\"}}",
                          EINVAL, "tuf.targetsUrl: expected an http:// or https:// URL");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}, \"store\": {\"root\": \"var\"}}",
                          EINVAL, "store.root: expected an absolute path");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}, \"runtime\": {\"root\": \"\"}}",
                          EINVAL, "runtime.root");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}, \"runtime\": {\"path\": "
                          "\"bin/crun\"}}",
                          EINVAL, "runtime.path");
        ASSERT_CONFIG_ERR("{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"
                          " \"tuf\": {\"root\": \"/k\"}, \"log\": {\"level\": "
                          "\"verbose\"}}",
                          EINVAL, "log.level");
}

TEST(token_not_echoed) {
        char *s = with_server("\"targetToken\": \"hunter2 secret\"");
        struct tender_error e = {0};
        struct tender_config *c = NULL;
        ASSERT_ERR(parse(s, &c, &e), EINVAL);
        free(s);
        ASSERT_CONTAINS(e.message, "server.targetToken");
        ASSERT_TRUE(strstr(e.message, "hunter2") == NULL);
}

TEST(log_levels) {
        const char *names[] = {"error", "warning", "notice", "info", "debug"};
        const int levels[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char *s = NULL;
                ASSERT_TRUE(asprintf(&s,
                                     "{\"server\": {\"url\": \"http://h\", \"controllerId\": "
                                     "\"d\"}, \"tuf\": {\"root\": \"/k\"},"
                                     " \"log\": {\"level\": \"%s\"}}",
                                     names[i]) > 0);
                struct tender_error e = {0};
                struct tender_config *c = NULL;
                int r = parse(s, &c, &e);
                free(s);
                ASSERT_OK(r);
                ASSERT_EQ(c->log_level, levels[i]);
                tender_config_free(c);
        }
}

TEST(load_from_file) {
        const struct fixture_dir *t = fixture_dir("config");
        ASSERT_TRUE(t);
        const char *dir = t->path;
        int dfd = t->fd;
        char good[PATH_MAX], bad[PATH_MAX], link[PATH_MAX], big[PATH_MAX], missing[PATH_MAX];
        snprintf(good, sizeof(good), "%s/agent.json", dir);
        snprintf(bad, sizeof(bad), "%s/bad.json", dir);
        snprintf(link, sizeof(link), "%s/link.json", dir);
        snprintf(big, sizeof(big), "%s/big.json", dir);
        snprintf(missing, sizeof(missing), "%s/missing.json", dir);
        ASSERT_OK(tender_write_file_atomic_at(dfd, "agent.json", full, strlen(full), 0644));
        const char *b = "{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\","
                        " \"tennant\": \"x\"}, \"tuf\": {\"root\": \"/k\"}}";
        ASSERT_OK(tender_write_file_atomic_at(dfd, "bad.json", b, strlen(b), 0644));
        ASSERT_EQ(symlinkat("agent.json", dfd, "link.json"), 0);
        size_t n = TENDER_CONFIG_MAX_SIZE + 1;
        char *huge = malloc(n);
        ASSERT_TRUE(huge);
        memset(huge, ' ', n);
        ASSERT_OK(tender_write_file_atomic_at(dfd, "big.json", huge, n, 0644));
        free(huge);

        struct tender_error err = {0};
        struct tender_config *c = NULL;
        ASSERT_OK(tender_config_load(good, &c, &err));
        ASSERT_STREQ(c->controller_id, "dev-1.a_b");
        tender_config_free(c);
        c = NULL;
        ASSERT_OK(tender_config_load(link, &c, &err));
        ASSERT_STREQ(c->tenant, "fleet_2");
        tender_config_free(c);
        c = NULL;

        ASSERT_ERR(tender_config_load(bad, &c, &err), EINVAL);
        ASSERT_CONTAINS(err.message, bad);
        ASSERT_CONTAINS(err.message, "server.tennant: unknown key");
        ASSERT_EQ(err.domain, TENDER_ERR_CONFIG);
        ASSERT_ERR(tender_config_load(missing, &c, &err), ENOENT);
        ASSERT_CONTAINS(err.message, missing);
        ASSERT_ERR(tender_config_load(big, &c, &err), EFBIG);
        ASSERT_CONTAINS(err.message, big);
        ASSERT_ERR(tender_config_load(bad, &c, NULL), EINVAL);
        ASSERT_TRUE(c == NULL);
}

/* MINIMAL plus a "download" section with the given members. */
#define WITH_DOWNLOAD(members)                                                                     \
        "{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"                           \
        " \"tuf\": {\"root\": \"/k\"}, \"download\": {" members "}}"

TEST(download_defaults_and_values) {
        struct tender_error err = {0};
        _cleanup_(tender_config_freep) struct tender_config *c = NULL;
        ASSERT_OK(parse(MINIMAL, &c, &err));
        ASSERT_TRUE(c->download_ca_file == NULL && c->download_pinned_public_key == NULL);
        ASSERT_TRUE(c->download_client_cert == NULL && c->download_client_key == NULL);
        ASSERT_EQ(c->download_max_bytes_per_sec, 0);
        ASSERT_EQ(c->download_low_speed_bytes_per_sec, 1);
        ASSERT_EQ(c->download_max_redirects, 0);
        ASSERT_FALSE(c->download_allow_http_redirects);
        ASSERT_EQ(c->download_retry_attempts, 5);
        ASSERT_EQ(c->download_retry_budget_sec, 900);
        tender_config_free(c);
        c = NULL;

        ASSERT_OK(parse(WITH_DOWNLOAD("\"caFile\": \"/etc/tender/ca.pem\","
                                      " \"pinnedPublicKey\": \"sha256//AAAA=;sha256//BBBB=\","
                                      " \"clientCert\": \"/etc/tender/dev.pem\","
                                      " \"clientKey\": \"/etc/tender/dev.key\","
                                      " \"maxBytesPerSecond\": 500000,"
                                      " \"lowSpeedBytesPerSecond\": 100, \"maxRedirects\": 3,"
                                      " \"allowHttpRedirects\": true, \"retryAttempts\": 8,"
                                      " \"retryBudgetSeconds\": 3600"),
                        &c, &err));
        ASSERT_STREQ(c->download_ca_file, "/etc/tender/ca.pem");
        ASSERT_STREQ(c->download_pinned_public_key, "sha256//AAAA=;sha256//BBBB=");
        ASSERT_STREQ(c->download_client_cert, "/etc/tender/dev.pem");
        ASSERT_STREQ(c->download_client_key, "/etc/tender/dev.key");
        ASSERT_EQ(c->download_max_bytes_per_sec, 500000);
        ASSERT_EQ(c->download_low_speed_bytes_per_sec, 100);
        ASSERT_EQ(c->download_max_redirects, 3);
        ASSERT_TRUE(c->download_allow_http_redirects);
        ASSERT_EQ(c->download_retry_attempts, 8);
        ASSERT_EQ(c->download_retry_budget_sec, 3600);
}

TEST(download_bad_values) {
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"caFile\": \"ca.pem\""), EINVAL, "download.caFile");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"clientKey\": \"/k.pem\""), EINVAL,
                          "download.clientKey: needs download.clientCert");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"pinnedPublicKey\": \"md5//x\""), EINVAL,
                          "download.pinnedPublicKey");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"pinnedPublicKey\": \"sha256//a b\""), EINVAL,
                          "download.pinnedPublicKey");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"maxRedirects\": 11"), EINVAL, "download.maxRedirects");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"lowSpeedBytesPerSecond\": 0"), EINVAL,
                          "download.lowSpeedBytesPerSecond");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"retryAttempts\": 0"), EINVAL, "download.retryAttempts");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"retryBudgetSeconds\": 0"), EINVAL,
                          "download.retryBudgetSeconds");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"allowHttpRedirects\": 1"), EINVAL,
                          "download.allowHttpRedirects");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"retries\": 3"), EINVAL, "download.retries");
}

TEST(download_registry) {
        struct tender_error err = {0};
        _cleanup_(tender_config_freep) struct tender_config *c = NULL;
        ASSERT_OK(parse(MINIMAL, &c, &err));
        ASSERT_TRUE(c->registry_url == NULL && c->registry_repository == NULL);
        ASSERT_TRUE(c->registry_credentials_file == NULL);
        tender_config_free(c);
        c = NULL;

        ASSERT_OK(parse(WITH_DOWNLOAD("\"registry\": {\"url\": \"https://reg.example:5000\"}"), &c,
                        &err));
        ASSERT_STREQ(c->registry_url, "https://reg.example:5000");
        ASSERT_STREQ(c->registry_repository, "{app}");
        ASSERT_TRUE(c->registry_credentials_file == NULL);
        tender_config_free(c);
        c = NULL;

        ASSERT_OK(parse(WITH_DOWNLOAD("\"registry\": {\"url\": \"http://127.0.0.1:5000\","
                                      " \"repository\": \"fleet/{app}\","
                                      " \"credentialsFile\": \"/etc/tender/registry.cred\"}"),
                        &c, &err));
        ASSERT_STREQ(c->registry_url, "http://127.0.0.1:5000");
        ASSERT_STREQ(c->registry_repository, "fleet/{app}");
        ASSERT_STREQ(c->registry_credentials_file, "/etc/tender/registry.cred");

        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"registry\": {}"), ENOENT, "download.registry.url");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"registry\": {\"url\": \"ftp://r\"}"), EINVAL,
                          "download.registry.url");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"registry\": {\"url\": \"https://r\","
                                        " \"repository\": \"a b\"}"),
                          EINVAL, "download.registry.repository");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"registry\": {\"url\": \"https://r\","
                                        " \"credentialsFile\": \"cred\"}"),
                          EINVAL, "download.registry.credentialsFile");
        ASSERT_CONFIG_ERR(WITH_DOWNLOAD("\"registry\": {\"url\": \"https://r\", \"user\": \"x\"}"),
                          EINVAL, "download.registry.user");
}

#define WITH_CONTROL(members)                                                                      \
        "{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"                           \
        " \"tuf\": {\"root\": \"/k\"}, \"control\": {" members "}}"

TEST(control_defaults_and_values) {
        struct tender_error err = {0};
        _cleanup_(tender_config_freep) struct tender_config *c = NULL;
        ASSERT_OK(parse(MINIMAL, &c, &err));
        ASSERT_STREQ(c->control_socket, "/run/tender/control.sock");
        ASSERT_TRUE(c->control_group == NULL);
        ASSERT_EQ(c->app_lock_ttl_sec, 3600);
        ASSERT_EQ(c->lock_retry_sec, 10);
        tender_config_free(c);
        c = NULL;

        ASSERT_OK(parse(WITH_CONTROL("\"socket\": \"/run/t/c.sock\", \"group\": \"tender-ops\","
                                     " \"appLockTtlSeconds\": 60, \"lockRetrySeconds\": 2"),
                        &c, &err));
        ASSERT_STREQ(c->control_socket, "/run/t/c.sock");
        ASSERT_STREQ(c->control_group, "tender-ops");
        ASSERT_EQ(c->app_lock_ttl_sec, 60);
        ASSERT_EQ(c->lock_retry_sec, 2);
}

TEST(control_bad_values) {
        ASSERT_CONFIG_ERR(WITH_CONTROL("\"socket\": \"c.sock\""), EINVAL, "control.socket");
        ASSERT_CONFIG_ERR(
                WITH_CONTROL("\"socket\": \"/"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
                EINVAL, "control.socket");
        ASSERT_CONFIG_ERR(WITH_CONTROL("\"group\": \"a b\""), EINVAL, "control.group");
        ASSERT_CONFIG_ERR(WITH_CONTROL("\"group\": \"-x\""), EINVAL, "control.group");
        ASSERT_CONFIG_ERR(WITH_CONTROL("\"group\": \"\""), EINVAL, "control.group");
        ASSERT_CONFIG_ERR(WITH_CONTROL("\"appLockTtlSeconds\": 0"), EINVAL,
                          "control.appLockTtlSeconds");
        ASSERT_CONFIG_ERR(WITH_CONTROL("\"lockRetrySeconds\": 3601"), EINVAL,
                          "control.lockRetrySeconds");
        ASSERT_CONFIG_ERR(WITH_CONTROL("\"sockets\": \"/x\""), EINVAL, "control.sockets");
}

#define WITH_MAINTENANCE(members)                                                                  \
        "{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"                           \
        " \"tuf\": {\"root\": \"/k\"}, \"maintenance\": {" members "}}"

TEST(maintenance_windows) {
        _cleanup_(tender_config_freep) struct tender_config *c = NULL;
        ASSERT_OK(parse(MINIMAL, &c, NULL));
        ASSERT_EQ(c->n_maintenance_windows, 0);
        tender_config_free(TAKE_PTR(c));
        ASSERT_OK(parse(
                WITH_MAINTENANCE("\"windows\": [\"Mon-Fri 02:00-04:00\", \"Sat 22:00-02:00\"]"), &c,
                NULL));
        ASSERT_EQ(c->n_maintenance_windows, 2);
        ASSERT_EQ(c->maintenance_windows[0].days, 0x3e);
        ASSERT_EQ(c->maintenance_windows[1].start_min, 22 * 60);
        ASSERT_CONFIG_ERR(WITH_MAINTENANCE("\"windows\": [\"Mon-Fri 02:00-04:00\", \"Mon 2-4\"]"),
                          EINVAL, "maintenance.windows[1]");
        ASSERT_CONFIG_ERR(WITH_MAINTENANCE("\"windows\": \"Mon 02:00-04:00\""), EINVAL,
                          "maintenance.windows");
        ASSERT_CONFIG_ERR(WITH_MAINTENANCE("\"window\": []"), EINVAL, "maintenance.window");
}

#define WITH_POLICY(members)                                                                       \
        "{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"                           \
        " \"tuf\": {\"root\": \"/k\"}, \"policy\": {" members "}}"

TEST(policy) {
        _cleanup_(tender_config_freep) struct tender_config *c = NULL;
        ASSERT_OK(parse(MINIMAL, &c, NULL));
        /* the built-in policy: nothing beyond the hardened default */
        ASSERT_TRUE(c->policy.capabilities == NULL);
        ASSERT_FALSE(c->policy.host_network);
        ASSERT_FALSE(c->policy.writable_rootfs);
        ASSERT_EQ(c->policy.seccomp, TENDER_SECCOMP_DEFAULT);
        ASSERT_EQ(c->policy.app_default.memory, TENDER_POLICY_DEFAULT_MEMORY);
        ASSERT_EQ(c->policy.app_default.pids, TENDER_POLICY_DEFAULT_PIDS);
        tender_config_free(TAKE_PTR(c));
        ASSERT_OK(parse(WITH_POLICY("\"capabilities\": [\"CAP_NET_ADMIN\"], \"hostNetwork\": true, "
                                    "\"resources\": {\"total\": {\"cpus\": 1.5}}"),
                        &c, NULL));
        ASSERT_STREQ(c->policy.capabilities[0], "CAP_NET_ADMIN");
        ASSERT_TRUE(c->policy.host_network);
        ASSERT_EQ(c->policy.total.cpu_millis, 1500);
        ASSERT_CONFIG_ERR(WITH_POLICY("\"hostNetwork\": \"yes\""), EINVAL, "policy.hostNetwork");
        ASSERT_CONFIG_ERR(WITH_POLICY("\"capabilities\": [\"NET_ADMIN\"]"), EINVAL,
                          "policy.capabilities");
}

#define WITH_MQTT(members)                                                                         \
        "{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"                           \
        " \"tuf\": {\"root\": \"/k\"}, \"mqtt\": {" members "}}"

TEST(mqtt) {
        _cleanup_(tender_config_freep) struct tender_config *c = NULL;
        ASSERT_OK(parse(MINIMAL, &c, NULL));
        ASSERT_TRUE(c->mqtt_host == NULL); /* off unless configured */
        tender_config_free(TAKE_PTR(c));
        ASSERT_OK(parse(WITH_MQTT("\"host\": \"b.example\""), &c, NULL));
        ASSERT_EQ(c->mqtt_port, 1883);
        ASSERT_STREQ(c->mqtt_topic_prefix, "tender");
        ASSERT_EQ(c->mqtt_keepalive_sec, 60);
        ASSERT_EQ(c->mqtt_queue_max_events, 1000);
        ASSERT_EQ(c->mqtt_status_interval_sec, 60);
        ASSERT_FALSE(c->mqtt_commands); /* the command topic is off by default */
        tender_config_free(TAKE_PTR(c));
        ASSERT_OK(parse(WITH_MQTT("\"host\": \"b\", \"caFile\": \"/ca\", \"clientCert\": \"/c\","
                                  " \"topicPrefix\": \"fleet/eu\", \"queueMaxEvents\": 3"),
                        &c, NULL));
        ASSERT_EQ(c->mqtt_port, 8883);
        ASSERT_STREQ(c->mqtt_client_cert, "/c");
        ASSERT_STREQ(c->mqtt_topic_prefix, "fleet/eu");
        ASSERT_EQ(c->mqtt_queue_max_events, 3);
        tender_config_free(TAKE_PTR(c));
        ASSERT_OK(parse(WITH_MQTT("\"host\": \"b\", \"commands\": true"), &c, NULL));
        ASSERT_TRUE(c->mqtt_commands);
        ASSERT_CONFIG_ERR(WITH_MQTT("\"host\": \"b\", \"commands\": 1"), EINVAL, "mqtt.commands");
        ASSERT_CONFIG_ERR(WITH_MQTT("\"port\": 1"), ENOENT, "mqtt.host");
        ASSERT_CONFIG_ERR(WITH_MQTT("\"host\": \"a b\""), EINVAL, "mqtt.host");
        ASSERT_CONFIG_ERR(WITH_MQTT("\"host\": \"b\", \"clientCert\": \"/c\""), EINVAL,
                          "mqtt.clientCert: needs mqtt.caFile");
        ASSERT_CONFIG_ERR(WITH_MQTT("\"host\": \"b\", \"caFile\": \"ca.pem\""), EINVAL,
                          "mqtt.caFile");
        ASSERT_CONFIG_ERR(WITH_MQTT("\"host\": \"b\", \"topicPrefix\": \"a/#\""), EINVAL,
                          "mqtt.topicPrefix");
        ASSERT_CONFIG_ERR(WITH_MQTT("\"host\": \"b\", \"topicPrefix\": \"a/\""), EINVAL,
                          "mqtt.topicPrefix");
        ASSERT_CONFIG_ERR(WITH_MQTT("\"host\": \"b\", \"queueMaxEvents\": 0"), EINVAL,
                          "mqtt.queueMaxEvents");
        ASSERT_CONFIG_ERR(WITH_MQTT("\"host\": \"b\", \"hots\": 1"), EINVAL, "mqtt.hots");
}

#define WITH_MONITOR(members)                                                                      \
        "{\"server\": {\"url\": \"http://h\", \"controllerId\": \"d\"},"                           \
        " \"tuf\": {\"root\": \"/k\"}, \"monitor\": {" members "}}"

TEST(monitor) {
        _cleanup_(tender_config_freep) struct tender_config *c = NULL;
        ASSERT_OK(parse(MINIMAL, &c, NULL));
        ASSERT_FALSE(c->monitor_enabled); /* off unless configured */
        tender_config_free(TAKE_PTR(c));
        ASSERT_OK(parse(WITH_MONITOR(""), &c, NULL));
        ASSERT_TRUE(c->monitor_enabled);
        ASSERT_EQ(c->monitor_port, 9101);
        tender_config_free(TAKE_PTR(c));
        ASSERT_OK(parse(WITH_MONITOR("\"port\": 0"), &c, NULL));
        ASSERT_EQ(c->monitor_port, 0);
        ASSERT_CONFIG_ERR(WITH_MONITOR("\"port\": 65536"), EINVAL, "monitor.port");
        ASSERT_CONFIG_ERR(WITH_MONITOR("\"listen\": \"0.0.0.0\""), EINVAL, "monitor.listen");
}

TEST(gateway_token) {
        _cleanup_(tender_config_freep) struct tender_config *c = NULL;
        char *s = with_server("\"gatewayToken\": \"gw-Secret\"");
        ASSERT_OK(parse(s, &c, NULL));
        free(s);
        ASSERT_STREQ(c->gateway_token, "gw-Secret");
        ASSERT_TRUE(c->target_token == NULL);
        s = with_server("\"gatewayToken\": \"a\", \"targetToken\": \"b\"");
        ASSERT_CONFIG_ERR(s, EINVAL, "server.gatewayToken: not together with server.targetToken");
        free(s);
        s = with_server("\"gatewayToken\": \"hunter2 secret\"");
        struct tender_error e = {0};
        ASSERT_ERR(parse(s, &c, &e), EINVAL);
        free(s);
        ASSERT_CONTAINS(e.message, "server.gatewayToken");
        ASSERT_TRUE(strstr(e.message, "hunter2") == NULL);
}

#define WITH_SERVER(url, members)                                                                  \
        "{\"server\": {\"url\": \"" url "\", \"controllerId\": \"d\"" members "},"                 \
        " \"tuf\": {\"root\": \"/k\"}}"

/* Where the token may go besides server.url, and the request deadlines (issue 13). */
TEST(token_origins_and_deadlines) {
        struct tender_error err = {0};
        _cleanup_(tender_config_freep) struct tender_config *c = NULL;
        ASSERT_OK(parse(WITH_SERVER("https://h", ""), &c, &err));
        ASSERT_TRUE(c->token_origins == NULL);
        ASSERT_EQ(c->request_timeout_sec, 60);
        ASSERT_EQ(c->download_min_avg_bytes_per_sec, 4096);
        tender_config_free(c);
        c = NULL;
        ASSERT_OK(parse(WITH_SERVER("https://h", ", \"tokenOrigins\": [\"https://CDN.example\","
                                                 " \"https://files.example:8443/\"],"
                                                 " \"requestTimeoutSeconds\": 20"),
                        &c, &err));
        ASSERT_STREQ(c->token_origins[0], "https://cdn.example:443");
        ASSERT_STREQ(c->token_origins[1], "https://files.example:8443");
        ASSERT_TRUE(c->token_origins[2] == NULL);
        ASSERT_EQ(c->request_timeout_sec, 20);
        ASSERT_CONFIG_ERR(WITH_SERVER("https://h", ", \"tokenOrigins\": [\"http://cdn.example\"]"),
                          EINVAL, "server.tokenOrigins[0]: not http");
        ASSERT_CONFIG_ERR(WITH_SERVER("http://h", ", \"tokenOrigins\": [\"https://cdn/x\"]"),
                          EINVAL, "server.tokenOrigins[0]: expected an origin");
        ASSERT_CONFIG_ERR(WITH_SERVER("http://h", ", \"tokenOrigins\": [\"ftp://cdn\"]"), EINVAL,
                          "server.tokenOrigins[0]");
        ASSERT_CONFIG_ERR(WITH_SERVER("http://h", ", \"requestTimeoutSeconds\": 0"), EINVAL,
                          "server.requestTimeoutSeconds");
        /* From an https server, never a redirect down to http. */
        ASSERT_CONFIG_ERR(
                "{\"server\": {\"url\": \"https://h\", \"controllerId\": \"d\"},"
                " \"tuf\": {\"root\": \"/k\"}, \"download\": {\"allowHttpRedirects\": true}}",
                EINVAL, "download.allowHttpRedirects: not with an https server.url");
}

TEST_MAIN()
