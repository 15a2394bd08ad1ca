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
#include "tender/oci_spec.h"
#include "test.h"

static char bundle[] = "/tmp/tender-spec-test.XXXXXX";
static bool bundle_made;

static int write_config(const char *json) {
        /* A flag, not a look at the name: mkdtemp may well end the name with an 'X'. */
        if (!bundle_made) {
                if (!mkdtemp(bundle))
                        return -errno;
                bundle_made = true;
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
        char json[8192];
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
        _cleanup_free_ char *text = tender_oci_spec_default();
        ASSERT_OK(write_config(text));
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
        ASSERT_TRUE(tender_rt_spec_new_namespace(spec, CLONE_NEWCGROUP));
        ASSERT_TRUE(tender_rt_spec_new_namespace(spec, CLONE_NEWUSER));
        ASSERT_EQ(tender_rt_spec_host_uid(spec, 0), 100000);
        ASSERT_EQ(tender_rt_spec_host_gid(spec, 65535), 165535);
        ASSERT_EQ(tender_rt_spec_host_uid(spec, 65536), -1);
        ASSERT_EQ(__builtin_popcountll(spec->caps.bounding), 14);
        ASSERT_EQ(spec->caps.effective, spec->caps.bounding);
        ASSERT_EQ(spec->caps.inheritable, 0);
        ASSERT_EQ(spec->caps.ambient, 0);
        ASSERT_TRUE(spec->seccomp != NULL);
        ASSERT_EQ(spec->n_rlimits, 1);
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

TEST(security_fields) {
        _cleanup_(tender_rt_spec_freep) struct tender_rt_spec *spec = NULL;
        struct tender_error err = {0};
        ASSERT_OK(write_config(
                "{\"process\":{\"args\":[\"app\"],\"user\":{\"uid\":5,\"gid\":6},"
                "\"oomScoreAdj\":-5,"
                "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":20}],"
                "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_CHOWN\"],\"permitted\":["
                "\"CAP_KILL\"],\"inheritable\":[\"CAP_KILL\"],\"ambient\":[\"CAP_KILL\"]}},"
                "\"root\":{\"path\":\"rootfs\"},\"linux\":{"
                "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"uts\"},{\"type\":\"user\"},"
                "{\"type\":\"network\"}],\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,"
                "\"size\":10}],\"gidMappings\":[{\"containerID\":0,\"hostID\":2000,\"size\":10}],"
                "\"sysctl\":{\"net.ipv4.ping_group_range\":\"0 0\"},"
                "\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229}],"
                "\"resources\":{\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,"
                "\"cpus\":\"0\"},\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":"
                "true,\"type\":\"c\",\"major\":10,\"minor\":229,\"access\":\"rw\"}]},"
                "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":["
                "\"keyctl\",\"no_such_syscall\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1},"
                "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":"
                "0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":2,\"op\":"
                "\"SCMP_CMP_EQ\"}]}]}}}"));
        int r = tender_rt_spec_load(bundle, &spec, &err);
        if (r < 0)
                TEST_FAIL_("%s", err.message);
        ASSERT_EQ(tender_rt_spec_host_uid(spec, 5), 1005);
        ASSERT_EQ(tender_rt_spec_host_gid(spec, 6), 2006);
        ASSERT_EQ(spec->oom_score_adj, -5);
        ASSERT_TRUE(spec->has_oom_score_adj);
        ASSERT_EQ(spec->rlimits[0].soft, 10);
        ASSERT_EQ(spec->caps.bounding, (1u << 5) | 1u);
        ASSERT_EQ(spec->caps.ambient, 1u << 5);
        ASSERT_STREQ(spec->sysctls[0].key, "net.ipv4.ping_group_range");
        ASSERT_EQ(spec->devices[0].major, 10);
        ASSERT_EQ(spec->n_device_rules, 2);
        ASSERT_FALSE(spec->device_rules[0].allow);
        ASSERT_EQ(spec->device_rules[0].major, -1);
        ASSERT_EQ(spec->cpu.shares, 512);
        ASSERT_EQ(spec->cpu.quota, 50000);
        ASSERT_STREQ(spec->cpu.cpus, "0");
        ASSERT_TRUE(spec->seccomp != NULL);
        ASSERT_STREQ(tender_oci_cap_name(21), "CAP_SYS_ADMIN");
        ASSERT_EQ(tender_oci_cap_from_name("CAP_NET_RAW"), 13);
}

TEST(refusals_name_the_field) {
        expect_refusal("{\"args\":5}", "", "process.args");
        expect_refusal("{\"args\":[]}", "", "process.args");
        expect_refusal("{\"args\":[\"sh\"],\"cwd\":\"rel\"}", "", "process.cwd");
        expect_refusal("{\"args\":[\"sh\"],\"env\":[\"NOEQUALS\"]}", "", "process.env[0]");
        expect_refusal("{\"args\":[\"sh\"],\"user\":{\"uid\":\"root\"}}", "", "process.user.uid");
        expect_refusal("{\"args\":[\"sh\"],\"user\":{\"additionalGids\":[1,-2]}}", "",
                       "process.user.additionalGids[1]");
        expect_refusal("{\"args\":[\"sh\"],\"terminal\":1}", "", "process.terminal");
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
        expect_refusal(GOOD_PROCESS, ",\"seccomp\":{}", "linux.seccomp.defaultAction");
        expect_refusal(GOOD_PROCESS,
                       ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":["
                       "\"SCMP_ARCH_NOPE\"]}",
                       "linux.seccomp.architectures[0]");
        expect_refusal(GOOD_PROCESS,
                       ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{"
                       "\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{"
                       "\"index\":9,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                       "linux.seccomp.syscalls[0].args[0].index");
        expect_refusal(GOOD_PROCESS,
                       ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{"
                       "\"names\":[\"read\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
                       "linux.seccomp.syscalls[0].action");
        expect_refusal(GOOD_PROCESS, ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1}]",
                       "linux.uidMappings[0].size");
        expect_refusal(GOOD_PROCESS,
                       ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]",
                       "linux.uidMappings");
        expect_refusal("{\"args\":[\"sh\"],\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}}", "",
                       "process.capabilities.bounding[0]");
        expect_refusal("{\"args\":[\"sh\"],\"capabilities\":{\"effective\":[\"CAP_KILL\"]}}", "",
                       "process.capabilities.effective");
        expect_refusal("{\"args\":[\"sh\"],\"rlimits\":[{\"type\":\"RLIMIT_X\",\"soft\":1,"
                       "\"hard\":1}]}",
                       "", "process.rlimits[0].type");
        expect_refusal("{\"args\":[\"sh\"],\"oomScoreAdj\":2000}", "", "process.oomScoreAdj");
        expect_refusal(GOOD_PROCESS, ",\"sysctl\":{\"kernel.panic\":\"1\"}",
                       "linux.sysctl.kernel.panic");
        expect_refusal(GOOD_PROCESS, ",\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}",
                       "linux.sysctl.net.ipv4.ip_forward");
        expect_refusal(GOOD_PROCESS, ",\"devices\":[{\"path\":\"/dev/x\",\"type\":\"q\"}]",
                       "linux.devices[0].type");
        expect_refusal(GOOD_PROCESS,
                       ",\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwx\"}]}",
                       "linux.resources.devices[0].access");
        expect_refusal(GOOD_PROCESS, ",\"resources\":{\"cpu\":{\"shares\":1}}",
                       "linux.resources.cpu.shares");
        expect_refusal(GOOD_PROCESS, ",\"resources\":{\"cpu\":{\"cpus\":\"0;1\"}}",
                       "linux.resources.cpu.cpus");
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
        /* No namespaces: the caller's are shared (the spec), but nothing may be masked then. */
        ASSERT_OK(write_config("{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"rootfs\"}}"));
        ASSERT_OK(tender_rt_spec_load(bundle, &spec, &err));
        tender_rt_spec_freep(&spec);
        ASSERT_OK(write_config("{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"rootfs\"},"
                               "\"linux\":{\"maskedPaths\":[\"/proc/kcore\"]}}"));
        ASSERT_TRUE(tender_rt_spec_load(bundle, &spec, &err) < 0);
        ASSERT_CONTAINS(err.message, "mount namespace");
        /* A joined uts namespace takes the hostname. */
        ASSERT_OK(write_config("{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"rootfs\"},"
                               "\"hostname\":\"h\",\"linux\":{\"namespaces\":[{\"type\":"
                               "\"uts\",\"path\":\"/proc/1/ns/uts\"}]}}"));
        ASSERT_OK(tender_rt_spec_load(bundle, &spec, &err));
        tender_rt_spec_freep(&spec);
        ASSERT_OK(write_config("{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"rootfs\"},"
                               "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":"
                               "\"user\"}]}}"));
        ASSERT_TRUE(tender_rt_spec_load(bundle, &spec, &err) < 0);
        ASSERT_CONTAINS(err.message, "linux.uidMappings");
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

/* Resources tender-runtime applies; the others are refused, never dropped. */
TEST(resources_applied_or_refused) {
        _cleanup_(tender_rt_spec_freep) struct tender_rt_spec *spec = NULL;
        struct tender_error err = {0};
        int r = load_with(
                GOOD_PROCESS,
                ",\"resources\":{\"memory\":{\"limit\":64,\"reservation\":32,"
                "\"swap\":128,\"kernel\":null,\"swappiness\":17,\"disableOOMKiller\":true},"
                "\"blockIO\":{\"weight\":300,\"weightDevice\":[],\"throttleWriteIOPSDevice\":"
                "[{\"major\":8,\"minor\":1,\"rate\":300}]},\"hugepageLimits\":[{\"pageSize\":"
                "\"2MB\",\"limit\":4194304}],\"network\":{\"classID\":65537,\"priorities\":"
                "[{\"name\":\"eth0\",\"priority\":5}]}}}", /* "}," inside: closes linux */
                &spec, &err);
        if (r < 0)
                TEST_FAIL_("%s", err.message);
        ASSERT_EQ(spec->memory_limit, 64);
        ASSERT_EQ(spec->memory_reservation, 32);
        ASSERT_EQ(spec->memory_swap, 128);
        ASSERT_EQ(spec->blkio_weight, 300);
        ASSERT_EQ(spec->memory_swappiness, 17);
        ASSERT_TRUE(spec->disable_oom_killer);
        const struct tender_rt_device_limits *d = &spec->device_limits;
        ASSERT_EQ(d->n_throttle[TENDER_RT_THROTTLE_READ_BPS], 0);
        ASSERT_EQ(d->n_throttle[TENDER_RT_THROTTLE_WRITE_IOPS], 1);
        ASSERT_EQ(d->throttle[TENDER_RT_THROTTLE_WRITE_IOPS][0].rate, 300);
        ASSERT_EQ(d->n_hugepages, 1);
        ASSERT_STREQ(d->hugepages[0].page_size, "2MB");
        ASSERT_TRUE(d->has_class_id);
        ASSERT_EQ(d->class_id, 65537);
        ASSERT_EQ(d->n_priorities, 1);
        ASSERT_STREQ(d->priorities[0].name, "eth0");
        expect_refusal(GOOD_PROCESS, ",\"resources\":{\"memory\":{\"swappiness\":101}}",
                       "linux.resources.memory.swappiness");
        expect_refusal(GOOD_PROCESS,
                       ",\"resources\":{\"hugepageLimits\":[{\"pageSize\":\"2M/../x\","
                       "\"limit\":1}]}",
                       "linux.resources.hugepageLimits[0].pageSize");
        expect_refusal(GOOD_PROCESS,
                       ",\"resources\":{\"network\":{\"priorities\":[{\"name\":\"a b\","
                       "\"priority\":1}]}}",
                       "linux.resources.network.priorities[0].name");
        expect_refusal(GOOD_PROCESS, ",\"resources\":{\"memory\":{\"kernelTCP\":1}}",
                       "linux.resources.memory.kernelTCP");
        expect_refusal(GOOD_PROCESS, ",\"resources\":{\"memory\":{\"limit\":64,\"swap\":32}}",
                       "linux.resources.memory.swap");
        expect_refusal(GOOD_PROCESS, ",\"resources\":{\"blockIO\":{\"weight\":5}}",
                       "linux.resources.blockIO.weight");
        expect_refusal(GOOD_PROCESS,
                       ",\"resources\":{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8}]}}",
                       "linux.resources.blockIO.throttleReadBpsDevice");
        expect_refusal(GOOD_PROCESS, ",\"resources\":{\"hugepageLimits\":[{\"limit\":1}]}",
                       "linux.resources.hugepageLimits");
        expect_refusal(GOOD_PROCESS, ",\"resources\":{\"unified\":{\"memory.high\":\"1\"}}",
                       "linux.resources.unified");
        expect_refusal(GOOD_PROCESS, ",\"resources\":{\"cpu\":{\"realtimeRuntime\":1000}}",
                       "linux.resources.cpu.realtimeRuntime");
}

TEST(cleanup) {
        if (bundle_made)
                ASSERT_OK(tender_rm_rf_at(AT_FDCWD, bundle));
}

TEST_MAIN()
