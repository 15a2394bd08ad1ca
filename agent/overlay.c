/* SPDX-License-Identifier: Apache-2.0 */
#include "overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tender/fileio.h"

#define OVERLAY_OPTIONS_MAX 4096 /* one page: the kernel's limit for mount data */

static bool is_mount_point(const char *path) {
        struct stat st, parent;
        char up[PATH_MAX];
        snprintf(up, sizeof(up), "%s/..", path);
        return stat(path, &st) == 0 && stat(up, &parent) == 0 && st.st_dev != parent.st_dev;
}

int overlay_mount_idmapped_at(int dir_fd, const char *cwd_rel, const char *target, const char *opts,
                              int userns_fd) {
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns_fd};
        _cleanup_close_ int tree = (int) syscall(
                SYS_open_tree, dir_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (tree < 0)
                return -errno;
        if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return -errno;
        _cleanup_close_ int cwd = openat(tree, cwd_rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cwd < 0 || fchdir(cwd) < 0)
                return -errno;
        int r = mount("overlay", target, "overlay", 0, opts) < 0 ? -errno : 0;
        (void) !chdir("/");
        return r;
}

/* The upper and work dirs of a release made since the app's files were shifted: the app's. */
static int own_upper(const char *dir, uint32_t id) {
        const char *const sub[] = {"upper", "work"};
        for (size_t i = 0; i < ELEMENTSOF(sub); i++) {
                char p[PATH_MAX];
                struct stat s;
                snprintf(p, sizeof(p), "%s/%s", dir, sub[i]);
                if (lstat(p, &s) < 0)
                        return -errno;
                if (s.st_uid == 0 && s.st_gid == 0 && lchown(p, id, id) < 0)
                        return -errno;
        }
        return 0;
}

/* lowerdir names the layers relative to layers/sha256 (tenderd's cwd while mounting) so that
 * more of them fit in the one page of mount options. */
int overlay_mount(struct tender_store *store, const struct tender_release_manifest *m,
                  const char *dir, const struct userns_app *u, struct tender_error *err) {
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

        if (u && u->enabled) {
                r = own_upper(dir, u->idmap.host_uid);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                                      "chown the upper dir in %s", dir);
        }
        if (u && u->enabled && u->idmapped_layers) {
                /* The clone covers layers/ so that ../empty resolves inside it. */
                _cleanup_close_ int layers_fd = openat(tender_store_root_fd(store), "layers",
                                                       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                _cleanup_close_ int ns =
                        userns_idmap_fd(u->layers_owner, u->idmap.host_uid, u->idmap.count);
                r = layers_fd < 0 ? -errno : ns;
                if (r >= 0)
                        r = overlay_mount_idmapped_at(layers_fd, "sha256", rootfs, opts, ns);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                                      "mount overlay of idmapped layers on %s",
                                                      rootfs);
                return 0;
        }
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
