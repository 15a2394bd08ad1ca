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

struct tender_policy; /* tender/config.h; NULL: nothing beyond the hardened default */

/* The app's user namespace: container ids 0..count-1 are host ids host_uid.., host_gid... */
struct bundle_idmap {
        uint32_t host_uid, host_gid, count;
};

/* Host paths the bundle binds; the caller made them. */
struct bundle_paths {
        const char *notify_dir;     /* bound at NOTIFY_CONTAINER_DIR; used when m->health_notify */
        const char *lock_file;      /* the app lock, bound at LOCK_APP_MOUNT */
        const char *const *volumes; /* m->n_volumes host dirs, in m->volumes' order */
        const char *cgroup_parent;  /* absolute cgroup path; the container's is <parent>/<id> */
};

/* config.json (OCI runtime spec 1.0.2) of release m. idmap NULL: no user namespace. NULL with
 * err set when the manifest cannot make one (a non-numeric user, no command). */
cJSON *bundle_build(const struct tender_release_manifest *m, const struct tender_policy *policy,
                    const struct bundle_idmap *idmap, const struct bundle_paths *paths,
                    struct tender_error *err);
