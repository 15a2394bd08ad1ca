/* SPDX-License-Identifier: Apache-2.0 */
/* config.json of a release (agent/bundle.c), built without I/O from the manifest, the device's
 * policy, the id mapping and the host paths. */
#include <string.h>

#include "bundle.h"
#include "lock.h"
#include "notify.h"
#include "tender/json.h"
#include "tender/manifest.h"
#include "test.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define LAYER                                                                                      \
        "{\"mediaType\": \"application/vnd.oci.image.layer.v1.tar\", \"digest\": \"" D1 "\", "     \
        "\"size\": 1, \"diffId\": \"" D1 "\", \"uncompressedSize\": 1}"

static const char *const volume_dirs[] = {"/store/volumes/hello/data", NULL};
static const struct bundle_paths paths = {.notify_dir = "/store/releases/hello/1/notify",
                                          .lock_file = "/store/locks/hello",
                                          .volumes = volume_dirs,
                                          .cgroup_parent = "/tender-test"};

/* A manifest with `deployment` and `config` spliced in. */
static struct tender_release_manifest *manifest(const char *config, const char *deployment) {
        char text[4096];
        struct tender_release_manifest *m = NULL;
        struct tender_error err = {0};
        snprintf(text, sizeof(text),
                 "{\"schemaVersion\": 1, \"app\": \"hello\", \"version\": \"1.0\", "
                 "\"releaseCounter\": 1, \"image\": {\"manifestDigest\": \"" D1 "\", "
                 "\"config\": {%s}, \"layers\": [" LAYER "]}, \"deployment\": {%s}}",
                 config, deployment);
        if (tender_manifest_parse(text, strlen(text), &m, &err) < 0) {
                fprintf(stderr, "manifest: %s\n", err.message);
                return NULL;
        }
        return m;
}

static cJSON *build(const char *config, const char *deployment, struct tender_error *err) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m =
                manifest(config, deployment);
        return m ? bundle_build(m, NULL, NULL, &paths, err) : NULL;
}

static const cJSON *at(const cJSON *o, const char *a, const char *b) {
        o = cJSON_GetObjectItemCaseSensitive(o, a);
        return b ? cJSON_GetObjectItemCaseSensitive(o, b) : o;
}

/* The mount at dest, or NULL. */
static const cJSON *mount_at(const cJSON *root, const char *dest) {
        const cJSON *m;
        cJSON_ArrayForEach(m, at(root, "mounts", NULL)) {
                const cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "destination");
                if (cJSON_IsString(d) && STREQ(d->valuestring, dest))
                        return m;
        }
        return NULL;
}

static bool has_namespace(const cJSON *root, const char *type) {
        const cJSON *n;
        cJSON_ArrayForEach(n, at(root, "linux", "namespaces")) {
                const cJSON *t = cJSON_GetObjectItemCaseSensitive(n, "type");
                if (cJSON_IsString(t) && STREQ(t->valuestring, type))
                        return true;
        }
        return false;
}

TEST(process_from_the_manifest) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *c =
                build("\"entrypoint\": [\"/bin/app\"], \"cmd\": [\"--serve\"], \"user\": "
                      "\"1000:100\", \"workingDir\": \"/srv\", \"env\": [\"A=1\"]",
                      "\"env\": [\"B=2\"]", &err);
        ASSERT_TRUE(c != NULL);
        const cJSON *args = at(c, "process", "args");
        ASSERT_EQ(cJSON_GetArraySize(args), 2);
        ASSERT_STREQ(cJSON_GetArrayItem(args, 0)->valuestring, "/bin/app");
        ASSERT_STREQ(cJSON_GetArrayItem(args, 1)->valuestring, "--serve");
        ASSERT_EQ(at(at(c, "process", "user"), "uid", NULL)->valueint, 1000);
        ASSERT_EQ(at(at(c, "process", "user"), "gid", NULL)->valueint, 100);
        ASSERT_STREQ(at(c, "process", "cwd")->valuestring, "/srv");
        const cJSON *env = at(c, "process", "env");
        ASSERT_EQ(cJSON_GetArraySize(env), 2);
        ASSERT_STREQ(cJSON_GetArrayItem(env, 1)->valuestring, "B=2");
        ASSERT_TRUE(cJSON_IsTrue(at(c, "process", "noNewPrivileges")));
        ASSERT_STREQ(at(c, "hostname", NULL)->valuestring, "hello");
        ASSERT_STREQ(at(c, "linux", "cgroupsPath")->valuestring, "/tender-test/hello-1_0");
}

TEST(no_command_refused) {
        struct tender_error err = {0};
        ASSERT_TRUE(build("", "", &err) == NULL);
        ASSERT_CONTAINS(err.message, "no command");
}

TEST(mounts_bind_the_given_paths) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *c =
                build("\"entrypoint\": [\"/a\"]",
                      "\"volumes\": [{\"name\": \"data\", \"path\": \"/var/data\"}]", &err);
        ASSERT_TRUE(c != NULL);
        ASSERT_STREQ(at(mount_at(c, "/var/data"), "source", NULL)->valuestring, volume_dirs[0]);
        ASSERT_STREQ(at(mount_at(c, LOCK_APP_MOUNT), "source", NULL)->valuestring, paths.lock_file);
        ASSERT_TRUE(mount_at(c, NOTIFY_CONTAINER_DIR) == NULL); /* no health.notify */
        ASSERT_TRUE(mount_at(c, "/tmp") != NULL);               /* read-only root: a tmpfs */
        ASSERT_TRUE(cJSON_IsTrue(at(c, "root", "readonly")));
}

TEST(network_namespace_unless_host) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *own = build("\"entrypoint\": [\"/a\"]", "", &err);
        _cleanup_(cJSON_Deletep) cJSON *host =
                build("\"entrypoint\": [\"/a\"]", "\"network\": \"host\"", &err);
        ASSERT_TRUE(own && host);
        ASSERT_TRUE(has_namespace(own, "network"));
        ASSERT_FALSE(has_namespace(host, "network"));
        ASSERT_TRUE(has_namespace(host, "pid"));
}

TEST_MAIN()
