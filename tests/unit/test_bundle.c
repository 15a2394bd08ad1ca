/* SPDX-License-Identifier: Apache-2.0 */
/* config.json of a release (agent/bundle.c), built without I/O from the manifest, the device's
 * policy, the id mapping and the host paths. */
#include <string.h>

#include "bundle.h"
#include "lock.h"
#include "notify.h"
#include "tender/json.h"
#include "tender/manifest.h"
#include "tender/oci_spec.h"
#include "test.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define LAYER                                                                                      \
        "{\"mediaType\": \"application/vnd.oci.image.layer.v1.tar\", \"digest\": \"" D1 "\", "     \
        "\"size\": 1, \"diffId\": \"" D1 "\", \"uncompressedSize\": 1}"

static const char *const volume_dirs[] = {"/store/volumes/hello/data", NULL};
static const struct bundle_device devices[] = {
        {.type = 'c', .major = 188, .minor = 0, .mode = 0660}};
static const struct bundle_paths paths = {.notify_dir = "/store/releases/hello/1/notify",
                                          .lock_file = "/store/locks/hello",
                                          .volumes = volume_dirs,
                                          .cgroup_parent = "/tender-test",
                                          .devices = devices};

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

static cJSON *build_with(const char *config, const char *deployment,
                         const struct tender_policy *policy, const struct bundle_idmap *idmap,
                         struct tender_error *err) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m =
                manifest(config, deployment);
        return m ? bundle_build(m, policy, idmap, &paths, err) : NULL;
}

static cJSON *build(const char *config, const char *deployment, struct tender_error *err) {
        return build_with(config, deployment, NULL, NULL, err);
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

static bool has_string(const cJSON *array, const char *s) {
        const cJSON *i;
        cJSON_ArrayForEach(i, array) {
                if (cJSON_IsString(i) && STREQ(i->valuestring, s))
                        return true;
        }
        return false;
}

static double num(const cJSON *o, const char *a, const char *b) {
        const cJSON *n = at(o, a, b);
        return cJSON_IsNumber(n) ? n->valuedouble : -1;
}

/* The hardened default of tender/oci_spec.h, whole, in every bundle. */
TEST(hardened_default) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *c = build("\"entrypoint\": [\"/a\"]", "", &err);
        _cleanup_(cJSON_Deletep) cJSON *caps = tender_oci_capabilities(NULL, 0);
        _cleanup_(cJSON_Deletep) cJSON *seccomp = tender_oci_seccomp();
        _cleanup_(cJSON_Deletep) cJSON *masked = tender_oci_masked_paths();
        _cleanup_(cJSON_Deletep) cJSON *ro = tender_oci_readonly_paths();
        ASSERT_TRUE(c != NULL);
        ASSERT_TRUE(cJSON_Compare(at(c, "process", "capabilities"), caps, true));
        ASSERT_EQ(cJSON_GetArraySize(at(at(c, "process", "capabilities"), "effective", NULL)),
                  (int) tender_oci_n_default_caps);
        ASSERT_EQ(cJSON_GetArraySize(at(at(c, "process", "capabilities"), "ambient", NULL)), 0);
        ASSERT_TRUE(cJSON_Compare(at(c, "linux", "seccomp"), seccomp, true));
        ASSERT_TRUE(cJSON_Compare(at(c, "linux", "maskedPaths"), masked, true));
        ASSERT_TRUE(cJSON_Compare(at(c, "linux", "readonlyPaths"), ro, true));
        ASSERT_TRUE(has_namespace(c, "cgroup"));
        ASSERT_TRUE(has_namespace(c, "pid"));
        ASSERT_TRUE(has_namespace(c, "ipc"));
        ASSERT_TRUE(has_namespace(c, "uts"));
        ASSERT_TRUE(has_namespace(c, "mount"));
        ASSERT_FALSE(has_namespace(c, "user")); /* without an id mapping */
        ASSERT_TRUE(at(c, "linux", "uidMappings") == NULL);
        /* the built-in policy's defaults: as `tender-runtime spec` */
        ASSERT_EQ(num(at(c, "linux", "resources"), "memory", "limit"),
                  TENDER_POLICY_DEFAULT_MEMORY);
        ASSERT_EQ(num(at(c, "linux", "resources"), "pids", "limit"), TENDER_POLICY_DEFAULT_PIDS);
        /* no user namespace: container root could mknod; only the standard nodes pass */
        const cJSON *rules = at(at(c, "linux", "resources"), "devices", NULL);
        ASSERT_EQ(cJSON_GetArraySize(rules), 1);
        ASSERT_TRUE(cJSON_IsFalse(at(cJSON_GetArrayItem(rules, 0), "allow", NULL)));
        ASSERT_STREQ(at(cJSON_GetArrayItem(rules, 0), "access", NULL)->valuestring, "rwm");
}

TEST(user_namespace_with_an_idmap) {
        struct tender_error err = {0};
        struct bundle_idmap map = {.host_uid = 200000, .host_gid = 300000, .count = 65536};
        _cleanup_(cJSON_Deletep) cJSON *c =
                build_with("\"entrypoint\": [\"/a\"]", "", NULL, &map, &err);
        ASSERT_TRUE(c != NULL);
        ASSERT_TRUE(has_namespace(c, "user"));
        const cJSON *u = cJSON_GetArrayItem(at(c, "linux", "uidMappings"), 0);
        const cJSON *g = cJSON_GetArrayItem(at(c, "linux", "gidMappings"), 0);
        ASSERT_EQ(num(u, "containerID", NULL), 0);
        ASSERT_EQ(num(u, "hostID", NULL), 200000);
        ASSERT_EQ(num(u, "size", NULL), 65536);
        ASSERT_EQ(num(g, "hostID", NULL), 300000);
        /* the kernel refuses mknod in a user namespace: no device rules needed */
        ASSERT_TRUE(at(at(c, "linux", "resources"), "devices", NULL) == NULL);
}

TEST(privileges_granted) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *c =
                build("\"entrypoint\": [\"/a\"]",
                      "\"privileges\": {\"capabilities\": [\"CAP_NET_ADMIN\", \"CAP_CHOWN\"], "
                      "\"devices\": [{\"path\": \"/dev/ttyUSB0\", \"access\": \"rw\"}], "
                      "\"seccomp\": \"unconfined\"}",
                      &err);
        ASSERT_TRUE(c != NULL);
        const cJSON *caps = at(c, "process", "capabilities");
        ASSERT_TRUE(has_string(at(caps, "bounding", NULL), "CAP_NET_ADMIN"));
        ASSERT_TRUE(has_string(at(caps, "effective", NULL), "CAP_NET_ADMIN"));
        ASSERT_EQ(cJSON_GetArraySize(at(caps, "effective", NULL)),
                  (int) tender_oci_n_default_caps + 1); /* CAP_CHOWN not twice */
        ASSERT_EQ(cJSON_GetArraySize(at(caps, "inheritable", NULL)), 0);
        ASSERT_TRUE(at(c, "linux", "seccomp") == NULL);
        const cJSON *node = cJSON_GetArrayItem(at(c, "linux", "devices"), 0);
        ASSERT_STREQ(at(node, "path", NULL)->valuestring, "/dev/ttyUSB0");
        ASSERT_STREQ(at(node, "type", NULL)->valuestring, "c");
        ASSERT_EQ(num(node, "major", NULL), 188);
        ASSERT_EQ(num(node, "fileMode", NULL), 0660);
        const cJSON *rules = at(at(c, "linux", "resources"), "devices", NULL);
        ASSERT_EQ(cJSON_GetArraySize(rules), 2); /* deny all, then this one */
        const cJSON *allow = cJSON_GetArrayItem(rules, 1);
        ASSERT_TRUE(cJSON_IsTrue(at(allow, "allow", NULL)));
        ASSERT_EQ(num(allow, "minor", NULL), 0);
        ASSERT_STREQ(at(allow, "access", NULL)->valuestring, "rw");
}

TEST(custom_seccomp_profile) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *c =
                build("\"entrypoint\": [\"/a\"]",
                      "\"privileges\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_LOG\"}}", &err);
        ASSERT_TRUE(c != NULL);
        ASSERT_STREQ(at(at(c, "linux", "seccomp"), "defaultAction", NULL)->valuestring,
                     "SCMP_ACT_LOG");
}

TEST(resources) {
        struct tender_error err = {0};
        _cleanup_(cJSON_Deletep) cJSON *c =
                build("\"entrypoint\": [\"/a\"]",
                      "\"resources\": {\"memoryBytes\": 64, \"memoryReservationBytes\": 32, "
                      "\"memorySwapBytes\": 128, \"cpus\": 0.5, \"cpuWeight\": 200, \"cpuset\": "
                      "\"0-1\", \"pids\": 64, \"ioWeight\": 300}",
                      &err);
        ASSERT_TRUE(c != NULL);
        const cJSON *res = at(c, "linux", "resources");
        ASSERT_EQ(num(res, "memory", "limit"), 64);
        ASSERT_EQ(num(res, "memory", "reservation"), 32);
        ASSERT_EQ(num(res, "memory", "swap"), 128);
        ASSERT_EQ(num(res, "cpu", "quota"), 50000);
        ASSERT_EQ(num(res, "cpu", "period"), 100000);
        /* runtimes map shares s to weight 1 + (s - 2) * 9999 / 262142: 5220 is 200 */
        ASSERT_EQ(num(res, "cpu", "shares"), 5220);
        ASSERT_EQ(1 + (5220 - 2) * 9999 / 262142, 200);
        ASSERT_EQ(1 + (5219 - 2) * 9999 / 262142, 199);
        ASSERT_STREQ(at(at(res, "cpu", NULL), "cpus", NULL)->valuestring, "0-1");
        ASSERT_EQ(num(res, "pids", "limit"), 64);
        ASSERT_EQ(num(res, "blockIO", "weight"), 300);

        _cleanup_(cJSON_Deletep) cJSON *q = build("\"entrypoint\": [\"/a\"]",
                                                  "\"resources\": {\"cpuQuotaMicroseconds\": "
                                                  "20000, \"cpuPeriodMicroseconds\": 10000, "
                                                  "\"cpuWeight\": 10000}",
                                                  &err);
        ASSERT_EQ(num(at(q, "linux", "resources"), "cpu", "quota"), 20000);
        ASSERT_EQ(num(at(q, "linux", "resources"), "cpu", "period"), 10000);
        ASSERT_EQ(num(at(q, "linux", "resources"), "cpu", "shares"), 262144);
}

TEST(policy_defaults) {
        struct tender_error err = {0};
        struct tender_policy p;
        tender_policy_init(&p);
        p.app_default.memory = 0;
        p.app_default.cpu_millis = 250;
        p.app_default.pids = 10;
        _cleanup_(cJSON_Deletep) cJSON *c = build_with(
                "\"entrypoint\": [\"/a\"]", "\"resources\": {\"pids\": 5}", &p, NULL, &err);
        ASSERT_TRUE(c != NULL);
        const cJSON *res = at(c, "linux", "resources");
        ASSERT_TRUE(at(res, "memory", NULL) == NULL);
        ASSERT_EQ(num(res, "cpu", "quota"), 25000);
        ASSERT_EQ(num(res, "pids", "limit"), 5); /* the release's own value wins */
}

/* docs/security.md, "User namespaces": an image user outside the app's range is refused. */
TEST(user_outside_the_range) {
        struct tender_error err = {0};
        struct bundle_idmap map = {.host_uid = 200000, .host_gid = 200000, .count = 65536};
        _cleanup_(cJSON_Deletep) cJSON *in = build_with(
                "\"entrypoint\": [\"/a\"], \"user\": \"65535:65535\"", "", NULL, &map, &err);
        ASSERT_TRUE(in != NULL);
        ASSERT_TRUE(build_with("\"entrypoint\": [\"/a\"], \"user\": \"1000:65536\"", "", NULL, &map,
                               &err) == NULL);
        ASSERT_CONTAINS(err.message, "gid 65536 is outside the app's 65536 ids");
        /* without a user namespace, any id goes */
        _cleanup_(cJSON_Deletep) cJSON *root = build_with(
                "\"entrypoint\": [\"/a\"], \"user\": \"1000:65536\"", "", NULL, NULL, &err);
        ASSERT_TRUE(root != NULL);
}

TEST_MAIN()
