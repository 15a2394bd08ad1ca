/* SPDX-License-Identifier: Apache-2.0 */
/* config.json parsing: what is accepted, and that every refusal names the JSON path. */
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spec.h"
#include "statedir.h"
#include "tender/fileio.h"
#include "test.h"

static char bundle[] = "/tmp/tender-spec-test.XXXXXX";

static int write_config(const char *json) {
        if (!bundle[sizeof(bundle) - 2] || bundle[sizeof(bundle) - 2] == 'X') {
                if (!mkdtemp(bundle))
                        return -errno;
                char rootfs[64];
                snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
                if (mkdir(rootfs, 0755) < 0)
                        return -errno;
        }
        char path[64];
        snprintf(path, sizeof(path), "%s/config.json", bundle);
        FILE *f = fopen(path, "we");
        if (!f)
                return -errno;
        fputs(json, f);
        return fclose(f) == 0 ? 0 : -EIO;
}

/* A minimal valid config with one part replaced. */
static int load_with(const char *process, const char *rest, struct tender_rt_spec **ret,
                     struct tender_error *err) {
        /* rest goes inside "linux"; a part after "}," closes "linux" and adds top-level keys. */
        char json[4096];
        snprintf(json, sizeof(json),
                 "{\"ociVersion\":\"1.0.2\",\"process\":%s,\"root\":{\"path\":\"rootfs\"},"
                 "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"uts\"}]%s%s}",
                 process, rest, strstr(rest, "},") ? "" : "}");
        int r = write_config(json);
        if (r < 0)
                return r;
        return tender_rt_spec_load(bundle, ret, err);
}

#define GOOD_PROCESS "{\"args\":[\"sh\"],\"cwd\":\"/\"}"

static void expect_refusal(const char *process, const char *rest, const char *path) {
        struct tender_rt_spec *spec = NULL;
        struct tender_error err = {0};
        int r = load_with(process, rest, &spec, &err);
        tender_rt_spec_free(spec);
        if (r >= 0)
                TEST_FAIL_("accepted, expected a refusal naming %s", path);
        if (!strstr(err.message, path))
                TEST_FAIL_("\"%s\" does not name %s", err.message, path);
}

TEST(default_spec_parses) {
        _cleanup_(tender_rt_spec_freep) struct tender_rt_spec *spec = NULL;
        struct tender_error err = {0};
        ASSERT_OK(write_config(tender_rt_spec_default()));
        int r = tender_rt_spec_load(bundle, &spec, &err);
        if (r < 0)
                TEST_FAIL_("%s", err.message);
        ASSERT_STREQ(spec->args[0], "sh");
        ASSERT_TRUE(spec->readonly);
        ASSERT_TRUE(spec->no_new_privileges);
        ASSERT_STREQ(spec->hostname, "tender");
        ASSERT_EQ(spec->memory_limit, 268435456);
        ASSERT_EQ(spec->pids_limit, 1024);
        ASSERT_TRUE(tender_rt_spec_new_namespace(spec, CLONE_NEWPID));
        ASSERT_TRUE(tender_rt_spec_new_namespace(spec, CLONE_NEWNET));
        ASSERT_FALSE(tender_rt_spec_new_namespace(spec, CLONE_NEWCGROUP));
        ASSERT_EQ(spec->n_mounts, 7);
        ASSERT_STREQ(spec->mounts[5].destination, "/sys");
        ASSERT_EQ(spec->mounts[5].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
        ASSERT_STREQ(spec->mounts[1].data, "mode=755,size=65536k");
        ASSERT_TRUE(spec->rootfs[0] == '/');
}

TEST(user_mounts_and_limits) {
        _cleanup_(tender_rt_spec_freep) struct tender_rt_spec *spec = NULL;
        struct tender_error err = {0};
        int r = load_with("{\"args\":[\"app\"],\"cwd\":\"/srv\",\"user\":{\"uid\":1000,"
                          "\"gid\":100,\"additionalGids\":[5,6]},\"env\":[\"A=b\"]}",
                          ",\"resources\":{\"memory\":{\"limit\":-1},\"pids\":{\"limit\":0}},"
                          "\"cgroupsPath\":\"/apps/x\"},\"mounts\":[{\"destination\":\"/d\","
                          "\"source\":\"/tmp\",\"options\":[\"rbind\",\"ro\",\"rprivate\"]}]",
                          &spec, &err);
        if (r < 0)
                TEST_FAIL_("%s", err.message);
        ASSERT_EQ(spec->uid, 1000);
        ASSERT_EQ(spec->gid, 100);
        ASSERT_EQ(spec->n_gids, 2);
        ASSERT_EQ(spec->gids[1], 6);
        ASSERT_STREQ(spec->cwd, "/srv");
        ASSERT_EQ(spec->memory_limit, -1);
        ASSERT_EQ(spec->pids_limit, -1);
        ASSERT_STREQ(spec->cgroups_path, "/apps/x");
        ASSERT_TRUE(spec->mounts[0].bind);
        ASSERT_EQ(spec->mounts[0].flags, MS_BIND | MS_REC | MS_RDONLY);
        ASSERT_EQ(spec->mounts[0].propagation, MS_PRIVATE | MS_REC);
}

TEST(refusals_name_the_field) {
        expect_refusal("{\"args\":5}", "", "process.args");
        expect_refusal("{\"args\":[]}", "", "process.args");
        expect_refusal("{\"args\":[\"sh\"],\"cwd\":\"rel\"}", "", "process.cwd");
        expect_refusal("{\"args\":[\"sh\"],\"env\":[\"NOEQUALS\"]}", "", "process.env[0]");
        expect_refusal("{\"args\":[\"sh\"],\"user\":{\"uid\":\"root\"}}", "", "process.user.uid");
        expect_refusal("{\"args\":[\"sh\"],\"user\":{\"additionalGids\":[1,-2]}}", "",
                       "process.user.additionalGids[1]");
        expect_refusal("{\"args\":[\"sh\"],\"terminal\":true}", "", "process.terminal");
        expect_refusal(GOOD_PROCESS,
                       "},\"mounts\":[{\"destination\":\"/a\",\"type\":\"tmpfs\"},"
                       "{\"destination\":\"b\",\"type\":\"tmpfs\"}]",
                       "mounts[1].destination");
        expect_refusal(GOOD_PROCESS, "},\"mounts\":[{\"destination\":\"/a\",\"options\":[1]}]",
                       "mounts[0].options");
        expect_refusal(GOOD_PROCESS, "},\"mounts\":[{\"destination\":\"/a\",\"type\":\"bind\"}]",
                       "mounts[0].source");
        expect_refusal(GOOD_PROCESS, ",\"cgroupsPath\":\"/a/../b\"", "linux.cgroupsPath");
        expect_refusal(GOOD_PROCESS, ",\"cgroupsPath\":\"system.slice:x:y\"", "linux.cgroupsPath");
        expect_refusal(GOOD_PROCESS, ",\"seccomp\":{}", "linux.seccomp");
        expect_refusal(GOOD_PROCESS, ",\"resources\":{\"memory\":{\"limit\":1.5}}",
                       "linux.resources.memory.limit");
        expect_refusal(GOOD_PROCESS, "},\"annotations\":{\"a\":1}", "annotations.a");
}

TEST(missing_pieces) {
        struct tender_rt_spec *spec = NULL;
        struct tender_error err = {0};
        ASSERT_OK(write_config("{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"nope\"},"
                               "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}"));
        ASSERT_ERR(tender_rt_spec_load(bundle, &spec, &err), ENOENT);
        ASSERT_CONTAINS(err.message, "root.path");
        ASSERT_OK(write_config("{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"rootfs\"},"
                               "\"hostname\":\"h\",\"linux\":{\"namespaces\":[{\"type\":"
                               "\"mount\"}]}}"));
        ASSERT_TRUE(tender_rt_spec_load(bundle, &spec, &err) < 0);
        ASSERT_CONTAINS(err.message, "hostname");
        ASSERT_OK(write_config("{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"rootfs\"}}"));
        ASSERT_TRUE(tender_rt_spec_load(bundle, &spec, &err) < 0);
        ASSERT_CONTAINS(err.message, "mount namespace");
        ASSERT_OK(write_config("{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"rootfs\"},"
                               "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":"
                               "\"user\"}]}}"));
        ASSERT_TRUE(tender_rt_spec_load(bundle, &spec, &err) < 0);
        ASSERT_CONTAINS(err.message, "linux.namespaces[1].type");
        ASSERT_OK(write_config("{\"process\":"));
        ASSERT_TRUE(tender_rt_spec_load(bundle, &spec, &err) < 0);
        ASSERT_CONTAINS(err.message, "config.json");
}

TEST(ids) {
        ASSERT_TRUE(tender_rt_id_valid("web-1.a_b"));
        ASSERT_TRUE(tender_rt_id_valid("0"));
        ASSERT_FALSE(tender_rt_id_valid(""));
        ASSERT_FALSE(tender_rt_id_valid(".hidden"));
        ASSERT_FALSE(tender_rt_id_valid("-x"));
        ASSERT_FALSE(tender_rt_id_valid("a/b"));
        ASSERT_FALSE(tender_rt_id_valid(".."));
        ASSERT_FALSE(tender_rt_id_valid("a b"));
}

TEST(cleanup) {
        if (bundle[sizeof(bundle) - 2] != 'X')
                ASSERT_OK(tender_rm_rf_at(AT_FDCWD, bundle));
}

TEST_MAIN()
