/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.json of a release's bundle, built by a pure function: from the release manifest, the
 * device's policy, the app's id mapping and the host paths it binds (found or made by the
 * caller, agent/container.c), with no I/O, so that every field can be unit-tested.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdint.h>

#include "tender/error.h"
#include "tender/manifest.h"
#include "tender/policy.h"

/* The app's user namespace: container ids 0..count-1 are host ids host_uid.., host_gid... */
struct bundle_idmap {
        uint32_t host_uid, host_gid, count;
};

/* A host device node the release was allowed (deployment.privileges.devices), as found by
 * stat(2) on the host. */
struct bundle_device {
        char type; /* 'c' or 'b' */
        uint32_t major, minor;
        uint32_t mode; /* permission bits */
};

/* Host paths the bundle binds; the caller made them. */
struct bundle_paths {
        const char *notify_dir;     /* bound at NOTIFY_CONTAINER_DIR; used when m->health_notify */
        const char *lock_file;      /* the app lock, bound at LOCK_APP_MOUNT */
        const char *const *volumes; /* m->n_volumes host dirs, in m->volumes' order */
        const char *cgroup_parent;  /* absolute cgroup path; the container's is <parent>/<id> */
        const struct bundle_device *devices; /* m->n_devices, in m->devices' order */
};

/* config.json (OCI runtime spec 1.0.2) of release m: the hardened default of
 * tender/oci_spec.h (capabilities, seccomp, masked and read-only paths, every namespace but the
 * user namespace without idmap, the network namespace with network "host"), the release's own
 * privileges (checked against the policy before: tender_policy_check), its resources with the
 * policy's defaults (policy NULL: the built-in policy). idmap NULL: no user namespace. NULL
 * with err set when the manifest cannot make one (a non-numeric user, no command). */
cJSON *bundle_build(const struct tender_release_manifest *m, const struct tender_policy *policy,
                    const struct bundle_idmap *idmap, const struct bundle_paths *paths,
                    struct tender_error *err);
