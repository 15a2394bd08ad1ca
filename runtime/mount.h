/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's file system view, built by the init in its new mount namespace: / made
 * slave (or as linux.rootfsPropagation says), the rootfs bind-mounted onto itself, the spec's
 * mounts beneath it (mount points created without following symlinks out of the rootfs),
 * /dev basics when /dev is a tmpfs, pivot_root, masked and read-only paths, read-only root.
 */
#pragma once

#include "spec.h"

/* Run in the container init only. mount_setup builds everything beneath the rootfs (the
 * createRuntime and createContainer hooks run after it); mount_enter makes it the root
 * (pivot_root, or chroot without a mount namespace of its own), masks paths, applies
 * linux.rootfsPropagation and root.readonly. */
int tender_rt_mount_setup(const struct tender_rt_spec *spec, struct tender_error *err);
int tender_rt_mount_enter(const struct tender_rt_spec *spec, struct tender_error *err);
