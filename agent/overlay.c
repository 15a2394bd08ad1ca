/* SPDX-License-Identifier: Apache-2.0 */
#include "overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tender/fileio.h"

#define OVERLAY_OPTIONS_MAX 4096 /* one page: the kernel's limit for mount data */

static bool is_mount_point(const char *path) {
        struct stat st, parent;
        char up[PATH_MAX];
        snprintf(up, sizeof(up), "%s/..", path);
        return stat(path, &st) == 0 && stat(up, &parent) == 0 && st.st_dev != parent.st_dev;
}

/* lowerdir names the layers relative to layers/sha256 (tenderd's cwd while mounting) so that
 * more of them fit in the one page of mount options. */
int overlay_mount(struct tender_store *store, const struct tender_release_manifest *m,
                  const char *dir, struct tender_error *err) {
        char opts[OVERLAY_OPTIONS_MAX], rootfs[PATH_MAX];
        size_t len;
        int r;

        snprintf(rootfs, sizeof(rootfs), "%s/bundle/rootfs", dir);
        if (is_mount_point(rootfs))
                return 0;
        if (m->n_layers == 0) {
                /* overlay needs a lower dir: an empty one in the release. */
                r = tender_mkdir_p_at(tender_store_root_fd(store), "layers/empty", 0755);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "mkdir empty");
                len = (size_t) snprintf(opts, sizeof(opts), "lowerdir=../empty");
        } else {
                len = (size_t) snprintf(opts, sizeof(opts), "lowerdir=");
                for (size_t i = m->n_layers; i > 0 && len < sizeof(opts); i--) {
                        char hex[65];
                        len += (size_t) snprintf(opts + len, sizeof(opts) - len, "%s%s",
                                                 i == m->n_layers ? "" : ":",
                                                 tender_digest_hex(&m->layers[i - 1].diff_id, hex));
                }
        }
        if (len < sizeof(opts))
                len += (size_t) snprintf(opts + len, sizeof(opts) - len,
                                         ",upperdir=%s/upper,workdir=%s/work", dir, dir);
        if (len >= sizeof(opts))
                return tender_error_set(err, TENDER_ERR_RUNTIME, E2BIG,
                                        "%s %s: overlay options exceed %d bytes (%zu layers)",
                                        m->app, m->version, OVERLAY_OPTIONS_MAX, m->n_layers);

        _cleanup_close_ int layers_fd = openat(tender_store_root_fd(store), "layers/sha256",
                                               O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (layers_fd < 0 || fchdir(layers_fd) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "enter %s/layers/sha256", tender_store_root(store));
        r = mount("overlay", rootfs, "overlay", 0, opts) < 0 ? -errno : 0;
        (void) !chdir("/");
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r, "mount overlay on %s",
                                              rootfs);
        return 0;
}

int overlay_umount(struct tender_store *store, const char *app, const char *version) {
        _cleanup_free_ char *dir = NULL;
        char rootfs[PATH_MAX];
        int r = tender_store_release_path(store, app, version, &dir);
        if (r < 0)
                return r;
        snprintf(rootfs, sizeof(rootfs), "%s/bundle/rootfs", dir);
        while (is_mount_point(rootfs))
                if (umount2(rootfs, 0) < 0 && umount2(rootfs, MNT_DETACH) < 0)
                        return -errno;
        return 0;
}
