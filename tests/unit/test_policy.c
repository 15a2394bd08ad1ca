/* SPDX-License-Identifier: Apache-2.0 */
/* The device policy (lib/policy.c): agent.json's "policy" parsed, and releases checked against
 * it: every privilege, the per-app cap, the sum over apps, the defaults. */
#include <string.h>

#include "tender/json.h"
#include "tender/policy.h"
#include "test.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define MIB 1048576

static struct tender_release_manifest *manifest(const char *deployment) {
        char text[4096];
        struct tender_release_manifest *m = NULL;
        struct tender_error err = {0};
        snprintf(text, sizeof(text),
                 "{\"schemaVersion\": 1, \"app\": \"hello\", \"version\": \"2.0\", "
                 "\"releaseCounter\": 1, \"image\": {\"manifestDigest\": \"" D1 "\", "
                 "\"config\": {\"entrypoint\": [\"/a\"]}, \"layers\": [{\"mediaType\": "
                 "\"application/vnd.oci.image.layer.v1.tar\", \"digest\": \"" D1 "\", "
                 "\"size\": 1, \"diffId\": \"" D1 "\", \"uncompressedSize\": 1}]}, "
                 "\"deployment\": {%s}}",
                 deployment);
        if (tender_manifest_parse(text, strlen(text), &m, &err) < 0)
                fprintf(stderr, "manifest: %s\n", err.message);
        return m;
}

static int policy(const char *json, struct tender_policy *p, struct tender_error *err) {
        _cleanup_(cJSON_Deletep) cJSON *o = NULL;
        if (json && tender_json_parse(json, strlen(json), 65536, 16, &o, err) < 0)
                return -EINVAL;
        return tender_policy_parse(o, p, err);
}

/* check DEPLOYMENT against POLICY: 0, or -EPERM with the message containing both words. */
static void refused(const char *policy_json, const char *deployment, const char *request,
                    const char *key) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = manifest(deployment);
        struct tender_policy p;
        struct tender_error err = {0};
        ASSERT_TRUE(m != NULL);
        ASSERT_OK(policy(policy_json, &p, &err));
        int r = tender_policy_check(&p, m, NULL, 0, &err);
        tender_policy_done(&p);
        if (r != -EPERM)
                TEST_FAIL_("%s: got %d, expected a refusal naming %s", deployment, r, key);
        ASSERT_CONTAINS(err.message, request);
        ASSERT_CONTAINS(err.message, key);
        ASSERT_CONTAINS(err.message, "hello 2.0");
}

static void allowed(const char *policy_json, const char *deployment) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = manifest(deployment);
        struct tender_policy p;
        struct tender_error err = {0};
        ASSERT_TRUE(m != NULL);
        ASSERT_OK(policy(policy_json, &p, &err));
        int r = tender_policy_check(&p, m, NULL, 0, &err);
        tender_policy_done(&p);
        if (r < 0)
                TEST_FAIL_("%s refused: %s", deployment, err.message);
}

TEST(default_policy_allows_only_the_hardened_default) {
        allowed(NULL, "");
        allowed(NULL, "\"privileges\": {\"capabilities\": [\"CAP_CHOWN\"], \"seccomp\": "
                      "\"default\"}"); /* in the default set anyway */
        refused(NULL, "\"privileges\": {\"capabilities\": [\"CAP_SYS_ADMIN\"]}",
                "capability CAP_SYS_ADMIN", "policy.capabilities");
        refused(NULL, "\"privileges\": {\"devices\": [{\"path\": \"/dev/ttyUSB0\"}]}",
                "device /dev/ttyUSB0", "policy.devices");
        refused(NULL, "\"network\": \"host\"", "deployment.network", "policy.hostNetwork");
        refused(NULL, "\"readonlyRootfs\": false", "deployment.readonlyRootfs",
                "policy.writableRootfs");
        refused(NULL, "\"privileges\": {\"seccomp\": \"unconfined\"}", "seccomp \"unconfined\"",
                "policy.seccomp");
        refused(NULL, "\"privileges\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\"}}",
                "seccomp \"custom\"", "policy.seccomp");
}

TEST(policy_grants) {
        const char *p = "{\"capabilities\": [\"CAP_NET_ADMIN\"], \"devices\": [\"/dev/ttyUSB0\"], "
                        "\"hostNetwork\": true, \"writableRootfs\": true, \"seccomp\": \"custom\"}";
        allowed(p, "\"privileges\": {\"capabilities\": [\"CAP_NET_ADMIN\"], \"devices\": "
                   "[{\"path\": \"/dev/ttyUSB0\"}], \"seccomp\": {\"defaultAction\": "
                   "\"SCMP_ACT_ERRNO\"}}, \"network\": \"host\", \"readonlyRootfs\": false");
        refused(p, "\"privileges\": {\"capabilities\": [\"CAP_NET_ADMIN\", \"CAP_SYS_TIME\"]}",
                "CAP_SYS_TIME", "policy.capabilities");
        refused(p, "\"privileges\": {\"devices\": [{\"path\": \"/dev/ttyUSB1\"}]}", "/dev/ttyUSB1",
                "policy.devices");
        refused(p, "\"privileges\": {\"seccomp\": \"unconfined\"}", "unconfined", "policy.seccomp");
        allowed("{\"seccomp\": \"unconfined\"}", "\"privileges\": {\"seccomp\": \"unconfined\"}");
}

#define BUDGET                                                                                     \
        "{\"resources\": {\"appMax\": {\"memoryBytes\": 134217728, \"cpus\": 1, \"pids\": 200}, "  \
        "\"total\": {\"memoryBytes\": 201326592, \"cpus\": 1.5, \"pids\": 300}}}"

TEST(per_app_cap) {
        allowed(BUDGET, "\"resources\": {\"memoryBytes\": 134217728, \"cpus\": 1}");
        refused(BUDGET, "\"resources\": {\"memoryBytes\": 134217729}", "memoryBytes 134217729",
                "policy.resources.appMax.memoryBytes");
        refused(BUDGET, "\"resources\": {\"memoryBytes\": 1048576, \"cpus\": 1.5}", "cpus 1500",
                "policy.resources.appMax.cpus");
        refused(BUDGET,
                "\"resources\": {\"memoryBytes\": 1048576, \"cpuQuotaMicroseconds\": 150000}",
                "cpus 1500", "policy.resources.appMax.cpus");
        refused(BUDGET, "\"resources\": {\"memoryBytes\": 1048576, \"cpus\": 1, \"pids\": 201}",
                "pids 201", "policy.resources.appMax.pids");
        /* without cpus, the app is not limited: the cap cannot hold */
        refused("{\"resources\": {\"appMax\": {\"cpus\": 1}}}", "", "no cpus limit",
                "policy.resources.appMax.cpus");
}

static void check_with_others(const char *deployment, const struct tender_policy_app *others,
                              size_t n, int want, const char *key) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = manifest(deployment);
        struct tender_policy p;
        struct tender_error err = {0};
        ASSERT_OK(policy(BUDGET, &p, &err));
        int r = tender_policy_check(&p, m, others, n, &err);
        tender_policy_done(&p);
        ASSERT_EQ(r, want);
        if (key)
                ASSERT_CONTAINS(err.message, key);
}

TEST(sum_over_apps) {
        struct tender_policy_app others[] = {
                {"a", "1", {.memory = 64 * MIB, .cpu_millis = 500, .pids = 100}},
                {"b", "1", {.memory = 32 * MIB, .cpu_quota_us = 20000, .pids = 50}},
        };
        /* 96 MiB of others + 96 = 192 MiB <= 192 MiB; cpus 0.5 + 0.2 + 0.8 = 1.5 */
        check_with_others("\"resources\": {\"memoryBytes\": 100663296, \"cpus\": 0.8, \"pids\": "
                          "150}",
                          others, 2, 0, NULL);
        check_with_others("\"resources\": {\"memoryBytes\": 100663297, \"cpus\": 0.8, \"pids\": "
                          "1}",
                          others, 2, -EPERM, "policy.resources.total.memoryBytes");
        check_with_others("\"resources\": {\"memoryBytes\": 1048576, \"cpus\": 0.9, \"pids\": 1}",
                          others, 2, -EPERM, "policy.resources.total.cpus");
        check_with_others("\"resources\": {\"memoryBytes\": 1048576, \"cpus\": 0.1, \"pids\": 151}",
                          others, 2, -EPERM, "policy.resources.total.pids");
        /* another app without a limit makes any sum unknowable */
        struct tender_policy_app unlimited[] = {{"c", "1", {.memory = 0, .pids = 1}}};
        check_with_others("\"resources\": {\"memoryBytes\": 1048576, \"cpus\": 0.1}", unlimited, 1,
                          -EPERM, "c runs without a memoryBytes limit");
}

TEST(defaults_fill_what_a_release_leaves_out) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m =
                manifest("\"resources\": {\"pids\": 7}");
        struct tender_policy p;
        struct tender_resources r = {0};
        ASSERT_OK(policy(NULL, &p, NULL));
        ASSERT_OK(tender_policy_resources(&p, m, &r));
        ASSERT_EQ(r.memory, TENDER_POLICY_DEFAULT_MEMORY);
        ASSERT_EQ(r.pids, 7);
        tender_resources_done(&r);
        tender_policy_done(&p);
        ASSERT_OK(policy("{\"resources\": {\"default\": {\"memoryBytes\": 0, \"cpus\": 0.5, "
                         "\"cpuset\": \"0\"}}}",
                         &p, NULL));
        ASSERT_OK(tender_policy_resources(&p, m, &r));
        ASSERT_EQ(r.memory, 0); /* the device chose: no default memory limit */
        ASSERT_EQ(r.cpu_millis, 500);
        ASSERT_STREQ(r.cpuset, "0");
        tender_resources_done(&r);
        tender_policy_done(&p);
}

TEST(builtin_default_fits_the_cap) {
        struct tender_policy p;
        struct tender_error err = {0};
        ASSERT_OK(policy("{\"resources\": {\"appMax\": {\"memoryBytes\": 1048576, \"pids\": 10}}}",
                         &p, &err));
        ASSERT_EQ(p.app_default.memory, 1048576);
        ASSERT_EQ(p.app_default.pids, 10);
        tender_policy_done(&p);
        ASSERT_ERR(policy("{\"resources\": {\"appMax\": {\"pids\": 10}, \"default\": {\"pids\": "
                          "11}}}",
                          &p, &err),
                   EINVAL);
        ASSERT_CONTAINS(err.message, "policy.resources.default.pids");
        tender_policy_done(&p);
}

TEST(bad_policies) {
        static const struct {
                const char *json, *key;
        } cases[] = {
                {"{\"capabilities\": [\"CAP_FLY\"]}", "policy.capabilities"},
                {"{\"devices\": [\"/etc/passwd\"]}", "policy.devices"},
                {"{\"devices\": [\"/dev/../etc/passwd\"]}", "policy.devices"},
                {"{\"seccomp\": \"none\"}", "policy.seccomp"},
                {"{\"hostNetwork\": 1}", "policy.hostNetwork"},
                {"{\"privileged\": true}", "policy.privileged"},
                {"{\"resources\": {\"appMax\": {\"cpuset\": \"0\"}}}",
                 "policy.resources.appMax.cpuset"},
                {"{\"resources\": {\"total\": {\"cpus\": 0}}}", "policy.resources.total.cpus"},
                {"{\"resources\": {\"perApp\": {}}}", "policy.resources.perApp"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct tender_policy p;
                struct tender_error err = {0};
                int r = policy(cases[i].json, &p, &err);
                tender_policy_done(&p);
                if (r >= 0)
                        TEST_FAIL_("%s accepted", cases[i].json);
                ASSERT_CONTAINS(err.message, cases[i].key);
        }
}

TEST_MAIN()
