/* SPDX-License-Identifier: Apache-2.0 */
/*
 * User namespaces for the apps (docs/security.md, "User namespaces"). At start tenderd probes
 * what the kernel can do and picks a mode:
 *
 *   idmapped     each app has its own range of host ids from apps.idPool (state/idmap); the
 *                shared layers (owned by the store's layer owner, normally 0) are seen through
 *                an idmapped mount that shifts them into the app's range
 *   shared       the kernel cannot give overlayfs idmapped lower layers: every app gets the
 *                pool's first range, the layers are extracted (and shifted) at that offset
 *   off          apps.userNamespaces is false: apps run as host root (logged as a warning)
 *   unavailable  the kernel has no user namespaces: no app is started (never silently as root)
 *
 * An app's files (volumes, the releases' upper and work dirs) belong to its range; when the
 * range they belong to differs from the one the mode gives (a store of a release before user
 * namespaces: host root; a change of mode), they are shifted, journaled in state/idmap, before
 * the app starts.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bundle.h"
#include "tender/config.h"
#include "tender/store.h"

enum userns_mode {
        USERNS_OFF,
        USERNS_UNAVAILABLE,
        USERNS_SHARED,
        USERNS_IDMAPPED,
};

/* What an app's container gets. */
struct userns_app {
        bool enabled; /* false: no user namespace (mode off) */
        struct bundle_idmap idmap;
        bool idmapped_layers;  /* mount the layers through an idmapped mount */
        uint32_t layers_owner; /* the host id the layers' owner 0 is stored as */
};

/* Probes and picks the mode (logged; loudly when apps would not be isolated), makes the store's
 * path searchable for the apps' root, and shifts the layers when the mode needs another owner.
 * Call after tender_store_scan, before any container starts. */
void userns_init(const struct tender_config *cfg, struct tender_store *store);

enum userns_mode userns_mode(void);
const char *userns_mode_name(enum userns_mode mode);
/* Why the mode is not idmapped (empty when it is). */
const char *userns_reason(void);

/* The host id that layers extracted now must be owned by (uid and gid offset), and the size of
 * the range their ids must fit in (0: no check). */
uint32_t userns_layer_offset(void);
uint32_t userns_layer_range(void);
/* Shifts a freshly extracted layer (a delta's rebuild, extracted at 0) to the layers' owner. */
int userns_shift_new_layer(int dir_fd);

/* Whether the app's files belong to another range than the mode gives it (its container must
 * be stopped while userns_app_prepare shifts them). */
bool userns_app_needs_shift(struct tender_store *store, const char *app);
/* The app's range (allocated on first use and saved in state/idmap), with its files shifted
 * into it first when needed. Fails in mode unavailable. */
int userns_app_prepare(struct tender_store *store, const char *app, struct userns_app *ret,
                       struct tender_error *err);
/* Makes the paths the runtime walks as the app's root searchable (store root, apps, the app's
 * dir for its group only, the release dir and bundle), gives a new volume dir and the app's
 * lock file to its root. */
int userns_grant_paths(struct tender_store *store, const char *app, const char *version,
                       const struct userns_app *u, char *const *volumes, size_t n_volumes,
                       const char *lock_file, struct tender_error *err);

/* A user namespace fd whose maps send ids from..from+count-1 to to..: for MOUNT_ATTR_IDMAP. */
int userns_idmap_fd(uint32_t from, uint32_t to, uint32_t count);
