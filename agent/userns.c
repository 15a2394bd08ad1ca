/* SPDX-License-Identifier: Apache-2.0 */
#include "userns.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "overlay.h"
#include "tender/fileio.h"
#include "tender/log.h"
#include "update.h"

#define SHIFT_MAX_DEPTH 256
#define PROBE_DIR "tmp/userns-probe"

static struct {
        enum userns_mode mode;
        char reason[TENDER_ERROR_MESSAGE_MAX];
        uint32_t pool_base, pool_size, range;
        uint32_t layers_owner;
} st = {.mode = USERNS_OFF};

enum userns_mode userns_mode(void) {
        return st.mode;
}

const char *userns_mode_name(enum userns_mode mode) {
        switch (mode) {
        case USERNS_IDMAPPED:
                return "idmapped";
        case USERNS_SHARED:
                return "shared";
        case USERNS_UNAVAILABLE:
                return "unavailable";
        default:
                return "off";
        }
}

const char *userns_reason(void) {
        return st.reason;
}

uint32_t userns_layer_offset(void) {
        return st.layers_owner;
}

uint32_t userns_layer_range(void) {
        return st.mode == USERNS_OFF || st.mode == USERNS_UNAVAILABLE ? 0 : st.range;
}

/* The base the mode gives an app's files: its own range, the shared one, or host root. */
static uint32_t files_target(const struct tender_idmap_app *e) {
        switch (st.mode) {
        case USERNS_IDMAPPED:
                return e->base;
        case USERNS_SHARED:
                return st.pool_base;
        default:
                return 0;
        }
}

static uint32_t layers_target(void) {
        switch (st.mode) {
        case USERNS_SHARED:
                return st.pool_base;
        case USERNS_IDMAPPED:
                return st.layers_owner; /* the idmapped mount maps whatever owner they have */
        default:
                return 0;
        }
}

static int write_map(pid_t pid, const char *file, uint32_t from, uint32_t to, uint32_t count) {
        char path[64], line[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
        int n = snprintf(line, sizeof(line), "%u %u %u\n", from, to, count);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return write(fd, line, (size_t) n) == n ? 0 : -errno;
}

int userns_idmap_fd(uint32_t from, uint32_t to, uint32_t count) {
        int ready[2], hold[2], r = 0;
        char c = 0;
        if (pipe2(ready, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(hold, O_CLOEXEC) < 0) {
                r = -errno;
                close(ready[0]);
                close(ready[1]);
                return r;
        }
        pid_t pid = fork();
        if (pid == 0) {
                /* The helper: its user namespace only lends its maps to the mount. */
                close(ready[0]);
                close(hold[1]);
                c = unshare(CLONE_NEWUSER) < 0 ? 1 : 0;
                (void) !write(ready[1], &c, 1);
                (void) !read(hold[0], &c, 1);
                _exit(0);
        }
        close(ready[1]);
        close(hold[0]);
        if (pid < 0)
                r = -errno;
        else if (read(ready[0], &c, 1) != 1 || c != 0)
                r = -EPERM; /* unshare(CLONE_NEWUSER) failed in the helper */
        if (r >= 0)
                r = write_map(pid, "uid_map", from, to, count);
        if (r >= 0)
                r = write_map(pid, "gid_map", from, to, count);
        int fd = -1;
        if (r >= 0) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = -errno;
        }
        close(hold[1]);
        close(ready[0]);
        if (pid > 0)
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        return r < 0 ? r : fd;
}

/* Changes the owner of entry name in dfd from [from, from+count) to the same offset from to;
 * ids outside that range stay. chown clears setuid/setgid bits: they are put back. */
static int shift_one(int dfd, const char *name, const struct stat *s, uint32_t from, uint32_t to,
                     uint32_t count) {
        uid_t uid = s->st_uid;
        gid_t gid = s->st_gid;
        bool u = uid >= from && uid - from < count, g = gid >= from && gid - from < count;
        if (!u && !g)
                return 0;
        if (fchownat(dfd, name, u ? uid - from + to : (uid_t) -1, g ? gid - from + to : (gid_t) -1,
                     AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH)) < 0)
                return -errno;
        if (!S_ISLNK(s->st_mode) && !S_ISDIR(s->st_mode) && (s->st_mode & (S_ISUID | S_ISGID)) &&
            fchmodat(dfd, name, s->st_mode & 07777, 0) < 0)
                return -errno;
        update_crash_named("migrate-file");
        return 1;
}

static int shift_tree_fd(int dfd, uint32_t from, uint32_t to, uint32_t count, unsigned depth) {
        if (depth > SHIFT_MAX_DEPTH)
                return -ELOOP;
        int fd = dup(dfd);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        struct dirent *de;
        int r = 0;
        while (r >= 0 && (de = readdir(d))) {
                struct stat s;
                if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
                        continue;
                if (fstatat(dfd, de->d_name, &s, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = errno == ENOENT ? 0 : -errno;
                        continue;
                }
                /* Children first, then the directory (its mode may forbid nothing to root). */
                if (S_ISDIR(s.st_mode)) {
                        _cleanup_close_ int sub = openat(
                                dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        r = sub < 0 ? -errno : shift_tree_fd(sub, from, to, count, depth + 1);
                }
                if (r >= 0)
                        r = shift_one(dfd, de->d_name, &s, from, to, count);
        }
        closedir(d);
        return r < 0 ? r : 0;
}

/* Shifts the tree at rel beneath the store root, the top included; a missing one is fine. */
static int shift_tree(int root_fd, const char *rel, uint32_t from, uint32_t to, uint32_t count) {
        struct stat s;
        _cleanup_close_ int fd =
                openat(root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        int r = shift_tree_fd(fd, from, to, count, 0);
        if (r >= 0 && fstat(fd, &s) < 0)
                r = -errno;
        if (r >= 0)
                r = shift_one(fd, "", &s, from, to, count);
        return r < 0 ? r : 0;
}

int userns_shift_new_layer(int dir_fd) {
        if (st.layers_owner == 0)
                return 0;
        int r = shift_tree_fd(dir_fd, 0, st.layers_owner, st.range, 0);
        return r;
}

/* The app's files: volumes (each volume, not the volumes dir: that stays host root's) and the
 * upper and work dirs of every release. */
static int shift_app_files(struct tender_store *store, const char *app, uint32_t from,
                           uint32_t to) {
        int root = tender_store_root_fd(store);
        const char *const parts[] = {"volumes", "releases"};
        int r = 0;
        for (size_t p = 0; p < ELEMENTSOF(parts) && r >= 0; p++) {
                char rel[2 * TENDER_NAME_MAX + 32];
                snprintf(rel, sizeof(rel), "apps/%s/%s", app, parts[p]);
                _cleanup_close_ int fd =
                        openat(root, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        r = errno == ENOENT ? 0 : -errno;
                        continue;
                }
                DIR *d = fdopendir(dup(fd));
                if (!d)
                        return -errno;
                struct dirent *de;
                while (r >= 0 && (de = readdir(d))) {
                        if (!tender_name_valid(de->d_name))
                                continue;
                        char sub[sizeof(rel) + TENDER_NAME_MAX + 16];
                        if (p == 0) {
                                snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name);
                                r = shift_tree(root, sub, from, to, st.range);
                                continue;
                        }
                        snprintf(sub, sizeof(sub), "%s/%s/upper", rel, de->d_name);
                        r = shift_tree(root, sub, from, to, st.range);
                        snprintf(sub, sizeof(sub), "%s/%s/work", rel, de->d_name);
                        if (r >= 0)
                                r = shift_tree(root, sub, from, to, st.range);
                }
                closedir(d);
        }
        return r;
}

/* Brings owner w to target: journals the shift in state/idmap, shifts, records it done. A
 * shift found in flight (killed before) is redone first: ids already moved are outside the
 * source range, so doing it again moves only the rest. */
static int migrate(struct tender_store *store, struct tender_idmap *m, struct tender_idmap_owner *w,
                   uint32_t target, const char *what,
                   int (*shift)(struct tender_store *, const char *, uint32_t, uint32_t),
                   const char *app, struct tender_error *err) {
        int r;
        if (!w->shifting && w->owner == target)
                return 0;
        if (!w->shifting) {
                w->shifting = true;
                w->shift_to = target;
                r = tender_store_idmap_save(store, m);
                if (r < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                                      "journal the shift of %s", what);
                update_crash_named("migrate-begin");
        }
        log_notice("Shifting the owners of %s from host ids %u.. to %u.. (%u ids)", what, w->owner,
                   w->shift_to, st.range);
        uint64_t t0 = tender_now_ms();
        r = shift(store, app, w->owner, w->shift_to);
        if (r >= 0 && syncfs(tender_store_root_fd(store)) < 0)
                r = -errno;
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "shift the owners of %s to host ids %u..", what,
                                              w->shift_to);
        update_crash_named("migrate-end");
        w->owner = w->shift_to;
        w->shifting = false;
        w->shift_to = 0;
        r = tender_store_idmap_save(store, m);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "record the shift of %s",
                                              what);
        log_notice("Shifted the owners of %s in %llu ms", what,
                   (unsigned long long) (tender_now_ms() - t0));
        return 0;
}

static int shift_layers(struct tender_store *store, const char *unused, uint32_t from,
                        uint32_t to) {
        (void) unused;
        return shift_tree(tender_store_root_fd(store), "layers/sha256", from, to, st.range);
}

/* An idmapped overlay in tmp/: a layer with a file of owner 0, mounted through a mount that
 * maps 0 to the pool's second range; the file must show that owner. */
static int probe_idmapped(struct tender_store *store, char *why, size_t why_size) {
        int root = tender_store_root_fd(store);
        const char *const dirs[] = {PROBE_DIR "/layers/l", PROBE_DIR "/upper", PROBE_DIR "/work",
                                    PROBE_DIR "/merged"};
        uint32_t to = st.pool_base + st.range;
        char merged[PATH_MAX];
        struct stat s;
        int r = 0;

        (void) tender_rm_rf_at(root, PROBE_DIR);
        for (size_t i = 0; i < ELEMENTSOF(dirs) && r >= 0; i++)
                r = tender_mkdir_p_at(root, dirs[i], 0755);
        if (r >= 0)
                r = tender_write_file_atomic_at(root, PROBE_DIR "/layers/l/f", "", 0, 0644);
        if (r < 0) {
                snprintf(why, why_size, "probe dir: %s", strerror(-r));
                return r;
        }
        snprintf(merged, sizeof(merged), "%s/" PROBE_DIR "/merged", tender_store_root(store));
        uint64_t t0 = tender_now_ms();
        _cleanup_close_ int ns = userns_idmap_fd(0, to, st.range);
        _cleanup_close_ int layers =
                openat(root, PROBE_DIR "/layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char opts[PATH_MAX * 2 + 64];
        snprintf(opts, sizeof(opts),
                 "lowerdir=l,upperdir=%s/" PROBE_DIR "/upper,workdir=%s/" PROBE_DIR "/work",
                 tender_store_root(store), tender_store_root(store));
        r = ns < 0 ? ns : layers < 0 ? -errno : 0;
        if (r >= 0)
                r = overlay_mount_idmapped_at(layers, ".", merged, opts, ns);
        if (r < 0)
                snprintf(why, why_size, "overlayfs over an idmapped mount: %s", strerror(-r));
        else if (fstatat(root, PROBE_DIR "/merged/f", &s, 0) < 0) {
                r = -errno;
                snprintf(why, why_size, "overlayfs over an idmapped mount: %s", strerror(-r));
        } else if (s.st_uid != to) {
                r = -EOPNOTSUPP;
                snprintf(why, why_size, "overlayfs over an idmapped mount shows owner %u, not %u",
                         (unsigned) s.st_uid, to);
        }
        if (r >= 0)
                log_info("User namespaces: idmapped overlay probe took %llu ms",
                         (unsigned long long) (tender_now_ms() - t0));
        (void) umount2(merged, MNT_DETACH);
        (void) tender_rm_rf_at(root, PROBE_DIR);
        return r;
}

/* Each ancestor of the store root must let others search it: the runtime walks to the bundle as
 * the app's root, which host-root-owned dirs treat as "others". */
static void check_searchable(const char *root) {
        _cleanup_free_ char *p = strdup(root);
        for (char *c = p ? strrchr(p, '/') : NULL; c && c > p; c = strrchr(p, '/')) {
                struct stat s;
                *c = '\0';
                if (stat(p, &s) == 0 && !(s.st_mode & S_IXOTH))
                        tender_log(LOG_CRIT, NULL,
                                   "User namespaces: %s (mode %04o) is not searchable by other "
                                   "users: apps cannot reach their bundles beneath %s "
                                   "(chmod o+x %s)",
                                   p, (unsigned) (s.st_mode & 07777), root, p);
        }
}

static enum userns_mode probe(struct tender_store *store) {
        char why[TENDER_ERROR_MESSAGE_MAX / 2];
        int ns = getenv("TENDER_TEST_NO_USERNS") ? -ENOSYS
                                                 : userns_idmap_fd(0, st.pool_base, st.range);
        if (ns < 0) {
                snprintf(st.reason, sizeof(st.reason), "the kernel gives no user namespace (%s)",
                         strerror(-ns));
                return USERNS_UNAVAILABLE;
        }
        close(ns);
        if (getenv("TENDER_TEST_NO_IDMAP")) {
                snprintf(st.reason, sizeof(st.reason), "TENDER_TEST_NO_IDMAP is set");
                return USERNS_SHARED;
        }
        if (probe_idmapped(store, why, sizeof(why)) < 0) {
                snprintf(st.reason, sizeof(st.reason), "%s", why);
                return USERNS_SHARED;
        }
        st.reason[0] = '\0';
        return USERNS_IDMAPPED;
}

void userns_init(const struct tender_config *cfg, struct tender_store *store) {
        struct tender_idmap *m = calloc(1, sizeof(*m));
        struct tender_error err = {0};

        st.pool_base = cfg->apps_id_pool_base;
        st.pool_size = cfg->apps_id_pool_size;
        st.range = cfg->apps_id_range;
        if (!cfg->apps_user_namespaces) {
                st.mode = USERNS_OFF;
                snprintf(st.reason, sizeof(st.reason), "apps.userNamespaces is false");
                tender_log(LOG_WARNING, NULL,
                           "User namespaces are off (apps.userNamespaces is false): every app "
                           "runs as root of the host");
        } else {
                st.mode = probe(store);
                if (st.mode == USERNS_IDMAPPED)
                        log_info("User namespaces: each app in its own id range of %u from "
                                 "apps.idPool (%u, %u ids), layers through idmapped mounts",
                                 st.range, st.pool_base, st.pool_size);
                else if (st.mode == USERNS_SHARED)
                        tender_log(LOG_WARNING, NULL,
                                   "User namespaces: fallback to one device-wide range %u..%u "
                                   "for every app, layers owned by it: %s; apps are isolated "
                                   "from the host, not from each other",
                                   st.pool_base, st.pool_base + st.range - 1, st.reason);
                else
                        tender_log(LOG_CRIT, NULL,
                                   "User namespaces unavailable: %s. No app is started: apps do "
                                   "not run as host root unless apps.userNamespaces is false",
                                   st.reason);
                check_searchable(tender_store_root(store));
                (void) fchmod(tender_store_root_fd(store), 0711);
                (void) fchmodat(tender_store_root_fd(store), "apps", 0711, 0);
        }
        if (!m || tender_store_idmap_load(store, m, &err) < 0) {
                tender_log(LOG_CRIT, NULL, "User namespaces: %s; no app is started",
                           m ? err.message : "out of memory");
                snprintf(st.reason, sizeof(st.reason), "%s", m ? err.message : "out of memory");
                st.mode = USERNS_UNAVAILABLE;
                free(m);
                return;
        }
        st.layers_owner = m->layers.owner;
        if (st.mode != USERNS_UNAVAILABLE && migrate(store, m, &m->layers, layers_target(),
                                                     "the layers", shift_layers, NULL, &err) < 0) {
                tender_log(LOG_CRIT, NULL, "User namespaces: %s; no app is started", err.message);
                snprintf(st.reason, sizeof(st.reason), "%s", err.message);
                st.mode = USERNS_UNAVAILABLE;
        }
        st.layers_owner = m->layers.owner;
        free(m);
}

/* Loads state/idmap and finds or allocates the app's entry (saving a new one). */
static int app_entry(struct tender_store *store, struct tender_idmap *m, const char *app,
                     struct tender_idmap_app **ret, struct tender_error *err) {
        int r = tender_store_idmap_load(store, m, err);
        if (r < 0)
                return r;
        if (tender_idmap_find(m, app)) {
                *ret = tender_idmap_find(m, app);
                return 0;
        }
        int dropped = tender_store_idmap_prune(store, m);
        if (dropped > 0)
                log_info("User namespaces: freed the id ranges of %d removed apps", dropped);
        r = tender_idmap_alloc(m, app, st.pool_base, st.pool_size, st.range, ret, err);
        if (r < 0)
                return r;
        r = tender_store_idmap_save(store, m);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "save state/idmap");
        log_info("User namespaces: %s gets host ids %u..%u", app, (*ret)->base,
                 (*ret)->base + st.range - 1);
        return 0;
}

bool userns_app_needs_shift(struct tender_store *store, const char *app) {
        _cleanup_free_ struct tender_idmap *m = calloc(1, sizeof(*m));
        struct tender_idmap_app *e;
        if (!m || st.mode == USERNS_UNAVAILABLE || tender_store_idmap_load(store, m, NULL) < 0)
                return false;
        e = tender_idmap_find(m, app);
        if (!e) /* allocated with owner 0 when it starts: its files are host root's */
                return st.mode != USERNS_OFF;
        return e->files.shifting || e->files.owner != files_target(e);
}

int userns_app_prepare(struct tender_store *store, const char *app, struct userns_app *ret,
                       struct tender_error *err) {
        _cleanup_free_ struct tender_idmap *m = calloc(1, sizeof(*m));
        struct tender_idmap_app *e;
        char what[TENDER_NAME_MAX + 32];

        *ret = (struct userns_app){0};
        if (!m)
                return -ENOMEM;
        if (st.mode == USERNS_UNAVAILABLE)
                return tender_error_set(err, TENDER_ERR_RUNTIME, EPERM,
                                        "%s: not started: user namespaces unavailable: %s", app,
                                        st.reason);
        int r;
        if (st.mode == USERNS_OFF) {
                /* The layout before user namespaces: no range; files of a range go back. */
                r = tender_store_idmap_load(store, m, err);
                if (r < 0 || !(e = tender_idmap_find(m, app)))
                        return r;
        } else {
                r = app_entry(store, m, app, &e, err);
                if (r < 0)
                        return r;
        }
        snprintf(what, sizeof(what), "the files of %s", app);
        r = migrate(store, m, &e->files, files_target(e), what, shift_app_files, app, err);
        if (r < 0)
                return r;
        if (st.mode == USERNS_OFF)
                return 0;
        uint32_t base = files_target(e);
        *ret = (struct userns_app){
                .enabled = true,
                .idmap = {.host_uid = base, .host_gid = base, .count = st.range},
                .idmapped_layers = st.mode == USERNS_IDMAPPED,
                .layers_owner = st.layers_owner,
        };
        return 0;
}

/* Gives rel beneath the store root owner uid:gid and mode, unless it has them already (a store
 * made read-only or immutable under a running app then still starts it). */
static int set_owner_mode(int root, const char *rel, uid_t uid, gid_t gid, mode_t mode) {
        struct stat s;
        if (fstatat(root, rel, &s, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if ((s.st_uid != uid || s.st_gid != gid) &&
            fchownat(root, rel, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if ((s.st_mode & 07777) != mode && !S_ISLNK(s.st_mode) && fchmodat(root, rel, mode, 0) < 0)
                return -errno;
        return 0;
}

int userns_grant_paths(struct tender_store *store, const char *app, const char *version,
                       const struct userns_app *u, char *const *volumes, size_t n_volumes,
                       const char *lock_file, struct tender_error *err) {
        int root = tender_store_root_fd(store);
        char rel[3 * TENDER_NAME_MAX + 32];
        uint32_t base = u->idmap.host_uid;
        int r = 0;
        if (!u->enabled)
                return 0;
        /* Only the app's group may pass its dir: another app's root is "others" here. The
         * dirs beneath it on the way to the bundle and the volumes: searchable, not listable. */
        for (size_t i = 0; i < 5 && r >= 0; i++) {
                if (i == 0 || i == 1 || i == 4)
                        snprintf(rel, sizeof(rel), "apps/%s%s", app,
                                 i == 1   ? "/releases"
                                 : i == 4 ? "/volumes"
                                          : "");
                else
                        snprintf(rel, sizeof(rel), "apps/%s/releases/%s%s", app, version,
                                 i == 3 ? "/bundle" : "");
                r = set_owner_mode(root, rel, 0, i == 0 ? base : 0, i == 0 ? 0710 : 0711);
        }
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "chown/chmod %s", rel);
        /* A volume made now (new, still host root's) goes to the app's root; a volume of the
         * app's files was shifted with them. */
        for (size_t i = 0; i < n_volumes; i++) {
                struct stat s;
                if (lstat(volumes[i], &s) == 0 && S_ISDIR(s.st_mode) && s.st_uid == 0 &&
                    s.st_gid == 0 && lchown(volumes[i], base, base) < 0)
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "chown %s",
                                                      volumes[i]);
        }
        struct stat s;
        if (lock_file && lstat(lock_file, &s) == 0 && (s.st_uid != base || s.st_gid != base) &&
            lchown(lock_file, base, base) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "chown %s", lock_file);
        return 0;
}
