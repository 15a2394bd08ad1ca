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
#include "userns.h"

/* Mounts the overlay on dir/bundle/rootfs (dir: the release's directory) unless something is
 * mounted there already. With u enabled (NULL: no user namespace) the upper and work dirs belong
 * to the app's root, and with u->idmapped_layers the layers are seen through an idmapped mount
 * (userns.h) that maps their owner to the app's range. */
int overlay_mount(struct tender_store *store, const struct tender_release_manifest *m,
                  const char *dir, const struct userns_app *u, struct tender_error *err);

/* mount("overlay", target, opts) with the relative lowerdirs of opts looked up from cwd_rel
 * within an idmapped clone of dir_fd's tree (detached: only the overlay keeps it), whose ids are
 * mapped by userns_fd. */
int overlay_mount_idmapped_at(int dir_fd, const char *cwd_rel, const char *target, const char *opts,
                              int userns_fd);

/* Unmounts the release's rootfs, every stacked mount (lazily when busy); nothing mounted is 0. */
int overlay_umount(struct tender_store *store, const char *app, const char *version);
