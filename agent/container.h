/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A release's container through an OCI runtime CLI (tender-runtime, crun or runc; see
 * runtime_cli.h). The rootfs is an overlay of the release's layers mounted by tenderd on
 * bundle/rootfs (overlay.h); bundle/config.json is built from the release manifest (bundle.h).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "runtime_cli.h"
#include "tender/error.h"
#include "tender/manifest.h"
#include "tender/policy.h"
#include "tender/store.h"

/* Writes bundle/config.json of the release (OCI runtime spec 1.0.2, bundle.h), with the
 * policy's resource defaults; creates volumes. The release passed tender_policy_check. */
int container_write_config(struct tender_store *store, const struct tender_release_manifest *m,
                           const struct tender_policy *policy, struct tender_error *err);

/* Mounts the overlay (if not mounted), creates and starts the container. config.json is written
 * again (with policy, as container_write_config) when its user namespace is not the one the app
 * has now (userns.h). */
int container_start(const struct runtime *rt, struct tender_store *store,
                    const struct tender_release_manifest *m, const struct tender_policy *policy,
                    struct tender_error *err);

/* SIGTERM, up to timeout_sec for it to stop, SIGKILL; then delete and unmount its rootfs.
 * A container that does not exist is only unmounted. */
int container_stop(const struct runtime *rt, struct tender_store *store, const char *app,
                   const char *version, uint64_t timeout_sec, struct tender_error *err);
