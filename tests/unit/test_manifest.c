/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "tender/manifest.h"
#include "test.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

/* The example of docs/release-manifest.md, with a placeholder to break one field at a time. */
static const char full[] =
        "{\n"
        "  \"schemaVersion\": 1,\n"
        "  \"app\": \"hello\",\n"
        "  \"version\": \"1.0.0\",\n"
        "  \"releaseCounter\": 7,\n"
        "  \"image\": {\n"
        "    \"manifestDigest\": \"" D1 "\",\n"
        "    \"config\": {\n"
        "      \"entrypoint\": [\"/bin/app\"],\n"
        "      \"cmd\": [\"--serve\"],\n"
        "      \"env\": [\"PATH=/bin\"],\n"
        "      \"user\": \"1000:1000\",\n"
        "      \"workingDir\": \"/srv\"\n"
        "    },\n"
        "    \"layers\": [\n"
        "      {\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\",\n"
        "       \"digest\": \"" D2 "\", \"size\": 1234,\n"
        "       \"diffId\": \"" D3 "\", \"uncompressedSize\": 5497558138880}\n"
        "    ]\n"
        "  },\n"
        "  \"deployment\": {\n"
        "    \"args\": [\"/bin/app\", \"--verbose\"],\n"
        "    \"env\": [\"MODE=prod\"],\n"
        "    \"network\": \"host\",\n"
        "    \"readonlyRootfs\": false,\n"
        "    \"resources\": {\"memoryBytes\": 67108864, \"pids\": 128},\n"
        "    \"volumes\": [{\"name\": \"data\", \"path\": \"/data\"}],\n"
        "    \"stopTimeoutSeconds\": 3,\n"
        "    \"strategy\": \"start-stop\"\n"
        "  },\n"
        "  \"health\": {\"windowSeconds\": 30}\n"
        "}\n";

static const char minimal[] = "{\"schemaVersion\": 1, \"app\": \"a\", \"version\": \"1\", "
                              "\"releaseCounter\": 1, \"image\": {\"manifestDigest\": \"" D1 "\", "
                              "\"config\": {}, \"layers\": [{\"mediaType\": "
                              "\"application/vnd.oci.image.layer.v1.tar+zstd\", \"digest\": "
                              "\"" D2 "\", \"size\": 1, \"diffId\": \"" D3 "\", "
                              "\"uncompressedSize\": 2}]}}";

static int parse(const char *s, struct tender_release_manifest **ret, struct tender_error *err) {
        return tender_manifest_parse(s, strlen(s), ret, err);
}

/* `full` with the first occurrence of `from` replaced by `to`. */
static char *edit(const char *from, const char *to) {
        static char buf[sizeof(full) + 8192];
        const char *p = strstr(full, from);
        if (!p)
                return NULL;
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int) (p - full), full, to, p + strlen(from));
        return buf;
}

TEST(parse_full) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        struct tender_error err = {0};
        ASSERT_OK(parse(full, &m, &err));
        ASSERT_STREQ(m->app, "hello");
        ASSERT_STREQ(m->version, "1.0.0");
        ASSERT_EQ(m->release_counter, 7);
        ASSERT_STREQ(m->entrypoint[0], "/bin/app");
        ASSERT_TRUE(m->entrypoint[1] == NULL);
        ASSERT_STREQ(m->cmd[0], "--serve");
        ASSERT_STREQ(m->user, "1000:1000");
        ASSERT_STREQ(m->working_dir, "/srv");
        ASSERT_EQ(m->n_layers, 1);
        ASSERT_EQ(m->layers[0].size, 1234);
        ASSERT_EQ(m->layers[0].uncompressed_size, 5497558138880ULL);
        ASSERT_STREQ(m->args[1], "--verbose");
        ASSERT_STREQ(m->extra_env[0], "MODE=prod");
        ASSERT_EQ(m->network, TENDER_NETWORK_HOST);
        ASSERT_FALSE(m->readonly_rootfs);
        ASSERT_EQ(m->resources.memory, 67108864);
        ASSERT_EQ(m->resources.pids, 128);
        ASSERT_EQ(m->n_volumes, 1);
        ASSERT_STREQ(m->volumes[0].path, "/data");
        ASSERT_EQ(m->stop_timeout_sec, 3);
        ASSERT_EQ(m->strategy, TENDER_SWAP_START_STOP);
        ASSERT_EQ(m->health_window_sec, 30);
}

TEST(defaults) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        struct tender_error err = {0};
        ASSERT_OK(parse(minimal, &m, &err));
        ASSERT_TRUE(m->entrypoint && !m->entrypoint[0]);
        ASSERT_TRUE(m->env && !m->env[0]);
        ASSERT_TRUE(m->user == NULL);
        ASSERT_TRUE(m->args == NULL);
        ASSERT_EQ(m->network, TENDER_NETWORK_NONE);
        ASSERT_TRUE(m->readonly_rootfs);
        ASSERT_EQ(m->stop_timeout_sec, 10);
        ASSERT_EQ(m->health_window_sec, 10);
        ASSERT_EQ(m->strategy, TENDER_SWAP_STOP_START);
        ASSERT_EQ(m->n_volumes, 0);
}

static void round_trip(const char *doc) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *a = NULL, *b = NULL;
        _cleanup_free_ char *ja = NULL, *jb = NULL;
        struct tender_error err = {0};
        ASSERT_OK(parse(doc, &a, &err));
        ASSERT_OK(tender_manifest_to_json(a, &ja));
        ASSERT_OK(parse(ja, &b, &err));
        ASSERT_OK(tender_manifest_to_json(b, &jb));
        ASSERT_STREQ(ja, jb);
        ASSERT_STREQ(a->app, b->app);
        ASSERT_EQ(a->release_counter, b->release_counter);
        ASSERT_EQ(a->n_layers, b->n_layers);
        ASSERT_TRUE(tender_digest_equal(&a->layers[0].diff_id, &b->layers[0].diff_id));
        ASSERT_EQ(a->layers[0].uncompressed_size, b->layers[0].uncompressed_size);
        ASSERT_EQ(a->readonly_rootfs, b->readonly_rootfs);
        ASSERT_EQ(a->network, b->network);
        ASSERT_EQ(a->n_volumes, b->n_volumes);
        ASSERT_EQ(!a->args, !b->args);
        ASSERT_EQ(a->health_window_sec, b->health_window_sec);
        ASSERT_EQ(!a->user, !b->user);
}

TEST(round_trip_full) {
        round_trip(full);
        /* large integers are written as integers, not in exponent form */
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        _cleanup_free_ char *j = NULL;
        ASSERT_OK(parse(full, &m, NULL));
        ASSERT_OK(tender_manifest_to_json(m, &j));
        ASSERT_CONTAINS(j, "5497558138880");
}

TEST(round_trip_minimal) {
        round_trip(minimal);
}

static void refused(const char *doc, const char *path_in_message);

#define RES "\"resources\": {\"memoryBytes\": 67108864, \"pids\": 128}"
#define PRIVILEGED                                                                                 \
        "\"resources\": {\"memoryBytes\": 67108864, \"memoryReservationBytes\": 33554432, "        \
        "\"memorySwapBytes\": 134217728, \"cpus\": 1.5, \"cpuWeight\": 200, \"cpuset\": "          \
        "\"0-1,3\", "                                                                              \
        "\"pids\": 128, \"ioWeight\": 500}, \"privileges\": {\"capabilities\": "                   \
        "[\"CAP_NET_ADMIN\"], "                                                                    \
        "\"devices\": [{\"path\": \"/dev/ttyUSB0\", \"access\": \"wr\"}], \"seccomp\": "           \
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}}"

TEST(privileges_and_resources) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        _cleanup_free_ char *j = NULL;
        struct tender_error err = {0};
        const char *doc = edit(RES, PRIVILEGED);
        ASSERT_TRUE(doc != NULL);
        ASSERT_OK(parse(doc, &m, &err));
        ASSERT_EQ(m->resources.memory_reservation, 33554432);
        ASSERT_EQ(m->resources.memory_swap, 134217728);
        ASSERT_EQ(m->resources.cpu_millis, 1500);
        ASSERT_EQ(tender_resources_cpu_millis(&m->resources), 1500);
        ASSERT_EQ(m->resources.cpu_weight, 200);
        ASSERT_STREQ(m->resources.cpuset, "0-1,3");
        ASSERT_EQ(m->resources.io_weight, 500);
        ASSERT_STREQ(m->capabilities[0], "CAP_NET_ADMIN");
        ASSERT_TRUE(m->capabilities[1] == NULL);
        ASSERT_EQ(m->n_devices, 1);
        ASSERT_STREQ(m->devices[0].path, "/dev/ttyUSB0");
        ASSERT_STREQ(m->devices[0].access, "rw"); /* normalized */
        ASSERT_EQ(m->seccomp, TENDER_SECCOMP_CUSTOM);
        ASSERT_CONTAINS(m->seccomp_profile, "SCMP_ACT_ALLOW");
        round_trip(doc);
        ASSERT_OK(tender_manifest_to_json(m, &j));
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *again = NULL;
        ASSERT_OK(parse(j, &again, &err));
        ASSERT_EQ(again->resources.cpu_millis, 1500);
        ASSERT_STREQ(again->devices[0].access, "rw");
        ASSERT_STREQ(again->seccomp_profile, m->seccomp_profile);
}

TEST(no_privileges_no_new_bytes) {
        /* A manifest asking nothing new serializes without the new keys (old ones stay the same
         * bytes when published again). */
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        _cleanup_free_ char *j = NULL;
        ASSERT_OK(parse(full, &m, NULL));
        ASSERT_OK(tender_manifest_to_json(m, &j));
        ASSERT_FALSE(strstr(j, "privileges"));
        ASSERT_FALSE(strstr(j, "cpus"));
        ASSERT_FALSE(strstr(j, "ioWeight"));
}

TEST(bad_privileges_and_resources) {
        refused(edit(RES, "\"privileges\": {\"capabilities\": [\"CAP_FLY\"]}"),
                "deployment.privileges.capabilities");
        refused(edit(RES, "\"privileges\": {\"capabilities\": [\"CAP_KILL\", \"CAP_KILL\"]}"),
                "deployment.privileges.capabilities");
        refused(edit(RES, "\"privileges\": {\"devices\": [{\"path\": \"/etc/passwd\"}]}"),
                "deployment.privileges.devices[0].path");
        refused(edit(RES, "\"privileges\": {\"devices\": [{\"path\": \"/dev/../etc\"}]}"),
                "deployment.privileges.devices[0].path");
        refused(edit(RES, "\"privileges\": {\"devices\": [{\"path\": \"/dev/x\", \"access\": "
                          "\"rx\"}]}"),
                "deployment.privileges.devices[0].access");
        refused(edit(RES, "\"privileges\": {\"seccomp\": \"off\"}"),
                "deployment.privileges.seccomp");
        refused(edit(RES, "\"privileges\": {\"seccomp\": {\"syscalls\": []}}"),
                "deployment.privileges.seccomp.defaultAction");
        refused(edit(RES, "\"privileges\": {\"privileged\": true}"),
                "deployment.privileges.privileged");
        refused(edit(RES, "\"resources\": {\"memoryBytes\": 10, \"memoryReservationBytes\": 20}"),
                "deployment.resources.memoryReservationBytes");
        refused(edit(RES, "\"resources\": {\"memoryBytes\": 20, \"memorySwapBytes\": 10}"),
                "deployment.resources.memorySwapBytes");
        refused(edit(RES, "\"resources\": {\"cpus\": 0.001}"), "deployment.resources.cpus");
        refused(edit(RES, "\"resources\": {\"cpus\": 1, \"cpuQuotaMicroseconds\": 50000}"),
                "deployment.resources.cpus");
        refused(edit(RES, "\"resources\": {\"cpuPeriodMicroseconds\": 50000}"),
                "deployment.resources.cpuPeriodMicroseconds");
        refused(edit(RES, "\"resources\": {\"cpuWeight\": 0}"), "deployment.resources.cpuWeight");
        refused(edit(RES, "\"resources\": {\"cpuWeight\": 10001}"),
                "deployment.resources.cpuWeight");
        refused(edit(RES, "\"resources\": {\"cpuset\": \"1-0\"}"), "deployment.resources.cpuset");
        refused(edit(RES, "\"resources\": {\"cpuset\": \"0,\"}"), "deployment.resources.cpuset");
        refused(edit(RES, "\"resources\": {\"ioWeight\": 5}"), "deployment.resources.ioWeight");
        refused(edit(RES, "\"resources\": {\"kernelMemory\": 5}"),
                "deployment.resources.kernelMemory");
}

TEST(quota_as_cpus) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        ASSERT_OK(parse(edit(RES, "\"resources\": {\"cpuQuotaMicroseconds\": 25000, "
                                  "\"cpuPeriodMicroseconds\": 10000}"),
                        &m, NULL));
        ASSERT_EQ(tender_resources_cpu_millis(&m->resources), 2500);
}

static void refused(const char *doc, const char *path_in_message) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        struct tender_error err = {0};
        if (!doc)
                TEST_FAIL_("edit did not apply");
        int r = parse(doc, &m, &err);
        if (r >= 0)
                TEST_FAIL_("accepted a manifest that should fail at %s", path_in_message);
        ASSERT_TRUE(m == NULL);
        ASSERT_CONTAINS(err.message, path_in_message);
}

TEST(bad_names) {
        refused(edit("\"app\": \"hello\"", "\"app\": \"../x\""), "app");
        refused(edit("\"app\": \"hello\"", "\"app\": \"..\""), "app");
        refused(edit("\"app\": \"hello\"", "\"app\": \"a/b\""), "app");
        refused(edit("\"app\": \"hello\"", "\"app\": \"\""), "app");
        refused(edit("\"app\": \"hello\"", "\"app\": \"-x\""), "app");
        refused(edit("\"version\": \"1.0.0\"", "\"version\": \"1.0 0\""), "version");
        refused(edit("\"version\": \"1.0.0\"",
                     "\"version\": \"v12345678901234567890123456789012345678901234567890123456789"
                     "012345\""),
                "version");
        refused(edit("\"name\": \"data\"", "\"name\": \"../data\""), "deployment.volumes[0].name");
}

TEST(bad_digests) {
        refused(edit(D1, "sha256:abc"), "image.manifestDigest");
        refused(edit(D2, "sha512:2222222222222222222222222222222222222222222222222222222222222222"),
                "image.layers[0].digest");
        refused(edit(D3, "SHA256:3333333333333333333333333333333333333333333333333333333333333333"),
                "image.layers[0].diffId");
}

TEST(bad_values) {
        refused(edit("\"/data\"", "\"data\""), "deployment.volumes[0].path");
        refused(edit("\"/data\"", "\"/data/../etc\""), "deployment.volumes[0].path");
        refused(edit("\"/srv\"", "\"srv\""), "image.config.workingDir");
        refused(edit("\"1000:1000\"", "\"nobody\""), "image.config.user");
        refused(edit("\"host\"", "\"bridge\""), "deployment.network");
        refused(edit("\"start-stop\"", "\"blue-green\""), "deployment.strategy");
        refused(edit("\"MODE=prod\"", "\"MODE\""), "deployment.env[0]");
        refused(edit("\"releaseCounter\": 7", "\"releaseCounter\": 0"), "releaseCounter");
        refused(edit("\"releaseCounter\": 7", "\"releaseCounter\": -1"), "releaseCounter");
        refused(edit("\"releaseCounter\": 7", "\"releaseCounter\": \"7\""), "releaseCounter");
        refused(edit("\"schemaVersion\": 1", "\"schemaVersion\": 2"), "schemaVersion");
        refused(edit("\"size\": 1234", "\"size\": 1.5"), "image.layers[0].size");
        refused(edit("\"readonlyRootfs\": false", "\"readonlyRootfs\": 0"),
                "deployment.readonlyRootfs");
        refused(edit("application/vnd.oci.image.layer.v1.tar+gzip", "application/x-tar"),
                "image.layers[0].mediaType");
        refused(edit("\"args\": [\"/bin/app\", \"--verbose\"]", "\"args\": []"), "deployment.args");
}

TEST(missing_fields) {
        refused(edit("\"app\": \"hello\",", ""), "app");
        refused(edit("\"releaseCounter\": 7,", ""), "releaseCounter");
        refused(edit("\"manifestDigest\": \"" D1 "\",", ""), "image.manifestDigest");
        refused(edit("\"diffId\": \"" D3 "\", ", ""), "image.layers[0].diffId");
        refused(edit("\"uncompressedSize\": 5497558138880", "\"x\": 1"), "image.layers[0]");
        refused(edit("\"schemaVersion\": 1,", ""), "schemaVersion");
}

TEST(unknown_keys) {
        refused(edit("\"app\": \"hello\"", "\"app\": \"hello\", \"colour\": \"red\""), "colour");
        refused(edit("\"pids\": 128", "\"pids\": 128, \"cpu\": 2"), "deployment.resources.cpu");
        refused(edit("\"windowSeconds\": 30", "\"windowSecs\": 30"), "health.windowSecs");
        refused(edit("\"size\": 1234", "\"size\": 1234, \"urls\": []"), "image.layers[0].urls");
}

TEST(too_many_layers) {
        static char doc[256 * 1024];
        const char *layer = "{\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\", "
                            "\"digest\": \"" D2 "\", \"size\": 1, \"diffId\": \"" D3 "\", "
                            "\"uncompressedSize\": 2}";
        size_t n = (size_t) snprintf(doc, sizeof(doc),
                                     "{\"schemaVersion\": 1, \"app\": \"a\", \"version\": \"1\", "
                                     "\"releaseCounter\": 1, \"image\": {\"manifestDigest\": "
                                     "\"" D1 "\", \"config\": {}, \"layers\": [");
        for (int i = 0; i < TENDER_MANIFEST_MAX_LAYERS + 1; i++)
                n += (size_t) snprintf(doc + n, sizeof(doc) - n, "%s%s", i ? "," : "", layer);
        snprintf(doc + n, sizeof(doc) - n, "]}}");
        refused(doc, "image.layers");
        refused(edit("\"layers\": [", "\"layers\": [], \"x\": ["), "image.x");
}

TEST(not_json) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        struct tender_error err = {0};
        ASSERT_TRUE(parse("{\"app\": ", &m, &err) < 0);
        ASSERT_TRUE(parse("[]", &m, &err) < 0);
        ASSERT_TRUE(parse("", &m, &err) < 0);
}

TEST(names) {
        ASSERT_TRUE(tender_name_valid("hello"));
        ASSERT_TRUE(tender_name_valid("1.0.0-rc_1"));
        ASSERT_FALSE(tender_name_valid("."));
        ASSERT_FALSE(tender_name_valid(".hidden"));
        ASSERT_FALSE(tender_name_valid("a b"));
        ASSERT_FALSE(tender_name_valid(NULL));
}

#define D4 "sha256:4444444444444444444444444444444444444444444444444444444444444444"
#define DELTA(from, to, alg)                                                                       \
        "\"layers\": [\n      {\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\",\n"  \
        "       \"digest\": \"" D2 "\", \"size\": 1234,\n"                                         \
        "       \"diffId\": \"" D3 "\", \"uncompressedSize\": 5497558138880}\n    ],\n"            \
        "    \"deltas\": [{\"from\": \"" from "\", \"to\": \"" to "\", \"digest\": \"" D4 "\", "   \
        "\"size\": 99, \"algorithm\": \"" alg "\"}]"

static const char *with_delta(const char *replacement) {
        static char buf[sizeof(full) + 1024];
        const char *a = strstr(full, "\"layers\": [");
        const char *b = strstr(a, "    ]\n  },");
        snprintf(buf, sizeof(buf), "%.*s%s\n  },%s", (int) (a - full), full, replacement,
                 b + strlen("    ]\n  },"));
        return buf;
}

TEST(deltas_parse_and_round_trip) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL, *m2 = NULL;
        _cleanup_free_ char *json = NULL;
        struct tender_error err = {0};
        struct tender_digest d1, d3;
        ASSERT_OK(parse(with_delta(DELTA(D1, D3, "tender-delta-v4")), &m, &err));
        ASSERT_EQ(m->n_deltas, 1);
        ASSERT_OK(tender_digest_parse(D1, &d1));
        ASSERT_OK(tender_digest_parse(D3, &d3));
        ASSERT_TRUE(tender_digest_equal(&m->deltas[0].from, &d1));
        ASSERT_TRUE(tender_digest_equal(&m->deltas[0].to, &d3));
        ASSERT_EQ(m->deltas[0].size, 99);
        ASSERT_STREQ(m->deltas[0].algorithm, TENDER_DELTA_ALGORITHM);
        ASSERT_OK(tender_manifest_to_json(m, &json));
        ASSERT_OK(parse(json, &m2, &err));
        ASSERT_EQ(m2->n_deltas, 1);
        ASSERT_TRUE(tender_digest_equal(&m2->deltas[0].to, &d3));
        /* Without deltas, none are written. */
        tender_manifest_free(TAKE_PTR(m));
        free(TAKE_PTR(json));
        ASSERT_OK(parse(full, &m, &err));
        ASSERT_EQ(m->n_deltas, 0);
        ASSERT_OK(tender_manifest_to_json(m, &json));
        ASSERT_TRUE(strstr(json, "deltas") == NULL);
}

TEST(deltas_refused) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        struct tender_error err = {0};
        ASSERT_ERR(parse(with_delta(DELTA(D1, D2, "tender-delta-v1")), &m, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "image.deltas[0].to");
        ASSERT_ERR(parse(with_delta(DELTA(D1, D3, "Bad Alg")), &m, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "algorithm");
        ASSERT_ERR(parse(with_delta(DELTA("sha256:xyz", D3, "tender-delta-v1")), &m, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "image.deltas[0].from");
}

TEST(health_probes) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        struct tender_error err = {0};
        ASSERT_OK(parse(edit("\"windowSeconds\": 30",
                             "\"windowSeconds\": 30, \"startPeriodSeconds\": 5, "
                             "\"intervalSeconds\": 2, \"timeoutSeconds\": 3, \"retries\": 4, "
                             "\"http\": {\"port\": 8080, \"path\": \"/healthz\"}"),
                        &m, &err));
        ASSERT_EQ(m->health_start_period_sec, 5);
        ASSERT_EQ(m->health_interval_sec, 2);
        ASSERT_EQ(m->health_timeout_sec, 3);
        ASSERT_EQ(m->health_retries, 4);
        ASSERT_EQ((int) m->health_probe, TENDER_HEALTH_PROBE_HTTP);
        ASSERT_EQ(m->health_port, 8080);
        ASSERT_STREQ(m->health_http_path, "/healthz");
        round_trip(edit("\"windowSeconds\": 30",
                        "\"windowSeconds\": 30, \"startPeriodSeconds\": 5, "
                        "\"intervalSeconds\": 2, \"retries\": 4, \"tcp\": {\"port\": 53}"));

        _cleanup_(tender_manifest_freep) struct tender_release_manifest *d = NULL;
        ASSERT_OK(parse(minimal, &d, &err));
        ASSERT_EQ(d->health_interval_sec, 1);
        ASSERT_EQ(d->health_timeout_sec, 1);
        ASSERT_EQ(d->health_retries, 3);
        ASSERT_EQ((int) d->health_probe, TENDER_HEALTH_PROBE_NONE);
        /* Defaults are not written: manifests from before the probes serialize as before. */
        _cleanup_free_ char *json = NULL;
        ASSERT_OK(tender_manifest_to_json(d, &json));
        ASSERT_TRUE(strstr(json, "retries") == NULL && strstr(json, "intervalSeconds") == NULL);
}

TEST(health_refused) {
        refused(edit("\"windowSeconds\": 30", "\"windowSeconds\": 30, \"tcp\": {\"port\": 0}"),
                "health.tcp.port");
        refused(edit("\"windowSeconds\": 30", "\"windowSeconds\": 30, \"http\": {\"port\": 70000}"),
                "health.http.port");
        refused(edit("\"windowSeconds\": 30",
                     "\"windowSeconds\": 30, \"http\": {\"port\": 80, \"path\": \"x y\"}"),
                "health.http.path");
        refused(edit("\"windowSeconds\": 30", "\"windowSeconds\": 30, \"tcp\": {\"port\": 1}, "
                                              "\"http\": {\"port\": 2}"),
                "health");
        refused(edit("\"windowSeconds\": 30", "\"windowSeconds\": 30, \"intervalSeconds\": 0"),
                "health.intervalSeconds");
        refused(edit("\"windowSeconds\": 30", "\"windowSeconds\": 30, \"retries\": 0"),
                "health.retries");
        refused(edit("\"windowSeconds\": 30", "\"windowSeconds\": 30, \"tcp\": {\"host\": 1}"),
                "health.tcp.host");
}

TEST(health_exec_notify) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        struct tender_error err = {0};
        const char *h = "\"windowSeconds\": 30, \"notify\": true, "
                        "\"exec\": {\"command\": [\"/bin/sh\", \"-c\", \"test -e /tmp/ok\"]}";
        ASSERT_OK(parse(edit("\"windowSeconds\": 30", h), &m, &err));
        ASSERT_EQ((int) m->health_probe, TENDER_HEALTH_PROBE_EXEC);
        ASSERT_TRUE(m->health_notify);
        ASSERT_TRUE(m->health_exec[2] && !m->health_exec[3]);
        ASSERT_STREQ(m->health_exec[2], "test -e /tmp/ok");
        round_trip(edit("\"windowSeconds\": 30", h));
        round_trip(edit("\"windowSeconds\": 30", "\"windowSeconds\": 30, \"notify\": true"));

        /* notify false is the default and is not written back. */
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *d = NULL;
        _cleanup_free_ char *json = NULL;
        ASSERT_OK(parse(edit("\"windowSeconds\": 30", "\"windowSeconds\": 30, \"notify\": false"),
                        &d, &err));
        ASSERT_TRUE(!d->health_notify);
        ASSERT_TRUE(d->health_exec == NULL);
        ASSERT_OK(tender_manifest_to_json(d, &json));
        ASSERT_TRUE(strstr(json, "notify") == NULL && strstr(json, "exec") == NULL);
}

TEST(health_exec_refused) {
        refused(edit("\"windowSeconds\": 30", "\"windowSeconds\": 30, \"exec\": {}"),
                "health.exec.command");
        refused(edit("\"windowSeconds\": 30", "\"windowSeconds\": 30, \"exec\": {\"command\": []}"),
                "health.exec.command");
        refused(edit("\"windowSeconds\": 30",
                     "\"windowSeconds\": 30, \"exec\": {\"command\": [\"\"]}"),
                "health.exec.command");
        refused(edit("\"windowSeconds\": 30",
                     "\"windowSeconds\": 30, \"exec\": {\"command\": [1]}"),
                "health.exec");
        refused(edit("\"windowSeconds\": 30",
                     "\"windowSeconds\": 30, \"exec\": {\"cmd\": [\"x\"]}"),
                "health.exec.cmd");
        refused(edit("\"windowSeconds\": 30", "\"windowSeconds\": 30, \"tcp\": {\"port\": 1}, "
                                              "\"exec\": {\"command\": [\"x\"]}"),
                "exclude");
        refused(edit("\"windowSeconds\": 30", "\"windowSeconds\": 30, \"notify\": 1"),
                "health.notify");
}

#define STRATEGY "\"strategy\": \"start-stop\""

TEST(restart_policy) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL, *d = NULL;
        _cleanup_free_ char *json = NULL;
        struct tender_error err = {0};
        const char *rs = STRATEGY ", \"restart\": {\"policy\": \"on-failure\", "
                                  "\"maxRestarts\": 5, \"windowSeconds\": 120}";
        ASSERT_OK(parse(edit(STRATEGY, rs), &m, &err));
        ASSERT_EQ((int) m->restart_policy, TENDER_RESTART_ON_FAILURE);
        ASSERT_EQ(m->restart_max, 5);
        ASSERT_EQ(m->restart_window_sec, 120);
        round_trip(edit(STRATEGY, rs));
        round_trip(edit(STRATEGY, STRATEGY ", \"restart\": {\"policy\": \"no\"}"));

        /* Defaults: always, no limit, 600 s; not written back (old manifests keep their bytes). */
        ASSERT_OK(parse(minimal, &d, &err));
        ASSERT_EQ((int) d->restart_policy, TENDER_RESTART_ALWAYS);
        ASSERT_EQ(d->restart_max, 0);
        ASSERT_EQ(d->restart_window_sec, TENDER_RESTART_WINDOW_DEFAULT);
        ASSERT_OK(tender_manifest_to_json(d, &json));
        ASSERT_TRUE(strstr(json, "restart") == NULL);
        free(json);
        json = NULL;
        tender_manifest_free(d);
        d = NULL;
        ASSERT_OK(parse(edit(STRATEGY, STRATEGY ", \"restart\": {\"policy\": \"always\"}"), &d,
                        &err));
        ASSERT_OK(tender_manifest_to_json(d, &json));
        ASSERT_TRUE(strstr(json, "restart") == NULL);

        /* A struct built without the parser (tender-publish): window 0 means the default. */
        d->restart_window_sec = 0;
        d->restart_policy = TENDER_RESTART_NO;
        free(json);
        json = NULL;
        ASSERT_OK(tender_manifest_to_json(d, &json));
        ASSERT_CONTAINS(json, "\"no\"");
        ASSERT_TRUE(strstr(json, "600") == NULL);
}

TEST(restart_refused) {
        refused(edit(STRATEGY, STRATEGY ", \"restart\": {\"policy\": \"sometimes\"}"),
                "deployment.restart.policy");
        refused(edit(STRATEGY, STRATEGY ", \"restart\": {\"windowSeconds\": 0}"),
                "deployment.restart.windowSeconds");
        refused(edit(STRATEGY, STRATEGY ", \"restart\": {\"maxRestarts\": 1000000}"),
                "deployment.restart.maxRestarts");
        refused(edit(STRATEGY, STRATEGY ", \"restart\": {\"delay\": 1}"),
                "deployment.restart.delay");
        refused(edit(STRATEGY, STRATEGY ", \"restart\": \"always\""), "deployment.restart");
}

TEST_MAIN()
