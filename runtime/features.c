/* SPDX-License-Identifier: Apache-2.0 */
/* `features`: the runtime-spec 1.1 features document, built from the tables the parser uses, so
 * that it lists exactly what create accepts. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>

#include "cli.h"
#include "hooks.h"
#include "seccomp_filter.h"
#include "spec.h"
#include "tender/oci_spec.h"

#include "ops.h"

#define OCI_VERSION_MIN "1.0.0"

static int add_caps(cJSON *linux_) {
        cJSON *caps = cJSON_AddArrayToObject(linux_, "capabilities");
        if (!caps)
                return -ENOMEM;
        for (int c = 0; c < 64; c++) {
                const char *name = tender_oci_cap_name(c);
                if (name && !cJSON_AddItemToArray(caps, cJSON_CreateString(name)))
                        return -ENOMEM;
        }
        return 0;
}

/* cgroup v1 and v2 (no systemd driver, no rdma); no AppArmor, SELinux or Intel RDT. */
static int add_linux_flags(cJSON *linux_) {
        cJSON *cg = cJSON_AddObjectToObject(linux_, "cgroup");
        if (!cg || !cJSON_AddBoolToObject(cg, "v1", true) ||
            !cJSON_AddBoolToObject(cg, "v2", true) ||
            !cJSON_AddBoolToObject(cg, "systemd", false) ||
            !cJSON_AddBoolToObject(cg, "systemdUser", false) ||
            !cJSON_AddBoolToObject(cg, "rdma", false))
                return -ENOMEM;
        static const char *const absent[] = {"apparmor", "selinux", "intelRdt"};
        for (size_t i = 0; i < ELEMENTSOF(absent); i++) {
                cJSON *o = cJSON_AddObjectToObject(linux_, absent[i]);
                if (!o || !cJSON_AddBoolToObject(o, "enabled", false))
                        return -ENOMEM;
        }
        return 0;
}

static int add_annotations(cJSON *root) {
        const struct scmp_version *v = seccomp_version();
        char version[48];
        snprintf(version, sizeof(version), "%u.%u.%u", v->major, v->minor, v->micro);
        cJSON *a = cJSON_AddObjectToObject(root, "annotations");
        if (!a || !cJSON_AddStringToObject(a, "io.github.seccomp.libseccomp.version", version) ||
            !cJSON_AddStringToObject(a, "org.tender.runtime.version", TENDER_VERSION))
                return -ENOMEM;
        return 0;
}

static cJSON *features(void) {
        _cleanup_(cJSON_Deletep) cJSON *root = cJSON_CreateObject();
        cJSON *hooks, *linux_, *seccomp;
        if (!root || !cJSON_AddStringToObject(root, "ociVersionMin", OCI_VERSION_MIN) ||
            !cJSON_AddStringToObject(root, "ociVersionMax", TENDER_RT_OCI_VERSION) ||
            !(hooks = cJSON_AddArrayToObject(root, "hooks")) || tender_rt_hooks_features(hooks) < 0)
                return NULL;
        if (!(linux_ = cJSON_CreateObject()) || tender_rt_spec_features(root, linux_) < 0 ||
            !cJSON_AddItemToObject(root, "linux", linux_) || add_caps(linux_) < 0 ||
            add_linux_flags(linux_) < 0 ||
            !(seccomp = cJSON_AddObjectToObject(linux_, "seccomp")) ||
            tender_rt_seccomp_features(seccomp) < 0 || add_annotations(root) < 0)
                return NULL;
        return TAKE_PTR(root);
}

int tender_rt_cmd_features(int argc, char **argv, const struct tender_rt_global *g) {
        (void) argv;
        (void) g;
        if (argc != 1)
                return tender_rt_cli_usage("usage: features");
        _cleanup_(cJSON_Deletep) cJSON *doc = features();
        _cleanup_free_ char *text = doc ? cJSON_Print(doc) : NULL;
        if (!text)
                return tender_rt_cli_usage("features: out of memory");
        puts(text);
        return 0;
}
