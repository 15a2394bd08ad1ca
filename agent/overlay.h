/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rootfs of a release: an overlay of its layers (read-only, shared by every release that has
 * them, under layers/sha256) with the release's own upper and work dirs, mounted by tenderd on
 * releases/<app>/<version>/bundle/rootfs before the runtime's create.
 */
#pragma once

#include "tender/error.h"
#include "tender/manifest.h"
#include "tender/store.h"

/* Mounts the overlay on dir/bundle/rootfs (dir: the release's directory) unless something is
 * mounted there already. */
int overlay_mount(struct tender_store *store, const struct tender_release_manifest *m,
                  const char *dir, struct tender_error *err);

/* Unmounts the release's rootfs, every stacked mount (lazily when busy); nothing mounted is 0. */
int overlay_umount(struct tender_store *store, const char *app, const char *version);
