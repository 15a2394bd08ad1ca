/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device's store (docs/agent.md):
 *
 *   blobs/sha256/<hex>              verified blobs (downloads go through <hex>.part)
 *   layers/sha256/<diffid-hex>/     extracted layers; complete once renamed in from tmp/
 *   apps/<app>/releases/<version>/  manifest.json(.sig), bundle/config.json, bundle/rootfs,
 *                                   upper/, work/
 *   apps/<app>/current, previous    symlinks "releases/<version>", swapped atomically
 *   apps/<app>/counter              highest committed release counter
 *   apps/<app>/bad/<version>        release that failed its health gate
 *   apps/<app>/volumes/<name>/      persistent volumes, never removed by updates
 *   tmp/                            staging, emptied at start
 *   state/last-action               id of the last DDI action fully handled
 *   state/last-feedback             the final feedback sent for it
 *   state/pins/<app>                the update in flight: version, blob and layer digests
 *   state/idmap                     the apps' host id ranges and who owns their files
 *
 * All access goes through a directory fd on the root; app, version and volume names must pass
 * tender_name_valid so that they stay one path component.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tender/digest.h"
#include "tender/error.h"
#include "tender/manifest.h"
#include "tender/name.h"

#define TENDER_STORE_MAX_APPS 256
#define TENDER_STORE_MAX_RELEASES 1024
#define TENDER_STORE_COUNTER_MAX_SIZE 32
#define TENDER_STORE_ACTION_MAX_SIZE 256
#define TENDER_STORE_FEEDBACK_MAX_SIZE (64 * 1024)
#define TENDER_STORE_PIN_MAX_SIZE (1024 * 1024)
#define TENDER_STORE_DU_MAX_DEPTH 64

struct tender_store;

/* Opens (creating with mode 0700 what is missing) the store at root. */
int tender_store_open(const char *root, struct tender_store **ret, struct tender_error *err);
void tender_store_free(struct tender_store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_store, tender_store_free);

int tender_store_root_fd(const struct tender_store *s);
const char *tender_store_root(const struct tender_store *s);

/* Removes everything beneath tmp/. */
int tender_store_clean_tmp(struct tender_store *s);
/* Creates an empty directory tmp/<random>; *ret_rel is its path relative to the root. */
int tender_store_make_tmp_dir(struct tender_store *s, char **ret_rel);

/* Blobs. The fd of blobs/sha256 (owned by the store) for tender_http_download. */
int tender_store_blobs_fd(const struct tender_store *s);
/* Opens blobs/sha256/<hex> read-only. */
int tender_store_blob_open(const struct tender_store *s, const struct tender_digest *d);

/* Layers. */
bool tender_store_has_layer(const struct tender_store *s, const struct tender_digest *diff_id);
/* Renames tmp_rel (from make_tmp_dir) to layers/sha256/<hex>. When the layer already exists,
 * tmp_rel is removed and 0 returned. */
int tender_store_commit_layer(struct tender_store *s, const char *tmp_rel,
                              const struct tender_digest *diff_id);
/* Absolute path of a layer directory (malloc'd). */
int tender_store_layer_path(const struct tender_store *s, const struct tender_digest *diff_id,
                            char **ret_path);

/* Releases. Creates apps/<app>/releases/<version>/ with manifest.json, manifest.json.sig (not
 * when sig is NULL),
 * bundle/rootfs, upper/, work/ (an existing release dir is reused: its manifest rewritten). */
int tender_store_release_prepare(struct tender_store *s, const char *app, const char *version,
                                 const char *manifest, size_t manifest_len, const char *sig,
                                 size_t sig_len, struct tender_error *err);
/* Absolute path of apps/<app>/releases/<version> (malloc'd); does not check existence. */
int tender_store_release_path(const struct tender_store *s, const char *app, const char *version,
                              char **ret_path);
/* Parses the stored manifest.json of a release (verified when it was installed). */
int tender_store_release_manifest(const struct tender_store *s, const char *app,
                                  const char *version, struct tender_release_manifest **ret,
                                  struct tender_error *err);
/* Reads the stored manifest bytes (to compare with a re-offered release). */
int tender_store_release_manifest_bytes(const struct tender_store *s, const char *app,
                                        const char *version, char **ret_data, size_t *ret_len);

/* Version that current/previous point to; -ENOENT when unset. */
int tender_store_get_current(const struct tender_store *s, const char *app, char **ret_version);
int tender_store_get_previous(const struct tender_store *s, const char *app, char **ret_version);
/* Commit: previous := old current (unless it is version already), current := version. */
int tender_store_set_current(struct tender_store *s, const char *app, const char *version);

/* Highest committed release counter; 0 when none. */
int tender_store_counter_get(const struct tender_store *s, const char *app, uint64_t *ret);
int tender_store_counter_set(struct tender_store *s, const char *app, uint64_t counter);

int tender_store_mark_bad(struct tender_store *s, const char *app, const char *version);
bool tender_store_is_bad(const struct tender_store *s, const char *app, const char *version);

/* Creates apps/<app>/volumes/<name> if missing; *ret_path is absolute (malloc'd). */
int tender_store_volume_path(struct tender_store *s, const char *app, const char *name,
                             char **ret_path);

/* state/last-action; -ENOENT when none. */
int tender_store_last_action_get(const struct tender_store *s, char **ret_id);
int tender_store_last_action_set(struct tender_store *s, const char *id);
/* state/last-feedback: the final feedback body sent for the last action, re-sent when the server
 * offers that action again (the first sending may have been lost). */
int tender_store_last_feedback_get(const struct tender_store *s, char **ret_json);
int tender_store_last_feedback_set(struct tender_store *s, const char *json);

/* Apps present in apps/ (NULL-terminated, sorted; free with tender_strv_free). */
int tender_store_list_apps(const struct tender_store *s, char ***ret_apps);

/* Releases present in apps/<app>/releases (NULL-terminated, sorted; free with tender_strv_free). */
int tender_store_list_releases(const struct tender_store *s, const char *app, char ***ret);
/* Removes app's releases (the current and previous links first, then the pin, releases/ and
 * bad/), and its volumes unless keep_volumes. The release counter stays, so the app keeps its
 * anti-rollback floor if it is installed again, and so does apps/<app> with it. Unmount the
 * releases' rootfs first: a mounted one is not descended into (-EBUSY). Layers and blobs no
 * release references any more go at the next tender_store_gc. */
int tender_store_remove_app(struct tender_store *s, const char *app, bool keep_volumes);

/* Removes, for every app, releases that are neither current nor previous nor pinned, then layers
 * and blobs (with their .part files) that no kept release's manifest or pin references. Returns
 * the number of entries removed. */
int tender_store_gc(struct tender_store *s, struct tender_error *err);
/* What tender_store_gc would free, in bytes of disk usage, without removing anything: in all,
 * and of blobs/ and layers/ alone (what tender_store_usage counts). */
int tender_store_gc_estimate(struct tender_store *s, uint64_t *ret_bytes,
                             uint64_t *ret_content_bytes, struct tender_error *err);

/* In-flight pin: while an update of app to m->version is under way, GC keeps m's blobs (and
 * their .part files, so downloads resume), its layers and its release dir, even before the
 * release is prepared. One pin per app, written atomically to state/pins/<app>; survives a
 * restart until tender_store_unpin (after commit or rollback). */
int tender_store_pin(struct tender_store *s, const char *app,
                     const struct tender_release_manifest *m);
int tender_store_unpin(struct tender_store *s, const char *app);
/* The pinned version; -ENOENT when none. */
int tender_store_get_pin(const struct tender_store *s, const char *app, char **ret_version);

/* Start-up scan, before anything else uses the store: empties tmp/ (half-extracted layers,
 * staging), removes entries of layers/sha256 and blobs/sha256 that are not complete
 * (<hex> directories, <hex> files, <hex>.part files) and runs GC, which removes .part files
 * no kept or pinned release will resume. A layer is complete exactly when its directory is
 * in layers/sha256 (tender_store_commit_layer renames it in after syncfs). Returns the number
 * of entries removed. */
int tender_store_scan(struct tender_store *s, struct tender_error *err);

/* Disk usage of blobs/, layers/ and tmp/: what the size budget counts. */
int tender_store_usage(const struct tender_store *s, uint64_t *ret_bytes);

/* Space planning (lib/space.c), before fetching anything for an update. */
struct tender_store_plan_options {
        uint64_t budget_bytes;   /* cap on tender_store_usage; 0: none */
        unsigned margin_percent; /* of the bytes needed; 0: TENDER_STORE_MARGIN_PERCENT */
        uint64_t margin_min;     /* bytes; 0: TENDER_STORE_MARGIN_MIN */
};
#define TENDER_STORE_MARGIN_PERCENT 10
#define TENDER_STORE_MARGIN_MIN (8ULL * 1024 * 1024)

struct tender_store_plan {
        uint64_t download_bytes; /* blobs not yet present, less what their .part files hold */
        uint64_t extract_bytes;  /* uncompressed sizes of layers not yet extracted */
        uint64_t margin_bytes;
        uint64_t needed_bytes;      /* the sum of the three */
        uint64_t available_bytes;   /* statvfs: free for unprivileged use now */
        uint64_t reclaimable_bytes; /* what GC would free */
        uint64_t usage_bytes;       /* tender_store_usage now */
        bool gc_needed;             /* fits only after tender_store_gc */
};

/* The delta that rebuilds layer l of m most cheaply from a layer the store has extracted: the
 * smallest of m->deltas to l's diff_id whose source is in layers/, whose algorithm this build
 * applies and that is smaller than l's blob. NULL when there is none (fetch the full layer). */
const struct tender_layer_delta *tender_store_pick_delta(const struct tender_store *s,
                                                         const struct tender_release_manifest *m,
                                                         const struct tender_layer *l);

/* Computes what installing m needs (a layer that has a delta to pick counts the delta's blob);
 * fails with -ENOSPC and a message giving the figures when the store cannot hold it even after GC
 * (file system space, or budget). Pin m first: the estimate of what GC frees honours pins. *ret is
 * filled on success and on -ENOSPC. */
int tender_store_plan(struct tender_store *s, const struct tender_release_manifest *m,
                      const struct tender_store_plan_options *opts, struct tender_store_plan *ret,
                      struct tender_error *err);

/* User-namespace id ranges (state/idmap, docs/security.md "User namespaces"). Each app has a
 * range of host ids [base, base + size) its container's ids 0..size-1 map to, allocated once
 * and kept across updates and rollbacks. `owner` is the base its volumes and releases' upper and
 * work dirs are owned by now (0: host root, as before user namespaces); while `shifting`, a
 * shift of those files from owner to shift_to is in flight (to be redone: it is idempotent). The
 * same pair describes the layers in layers/sha256. */
struct tender_idmap_owner {
        uint32_t owner;
        bool shifting;
        uint32_t shift_to;
};

struct tender_idmap_app {
        char app[TENDER_NAME_MAX + 1];
        uint32_t base;
        struct tender_idmap_owner files;
};

struct tender_idmap {
        struct tender_idmap_owner layers;
        size_t n_apps;
        struct tender_idmap_app apps[TENDER_STORE_MAX_APPS];
};

#define TENDER_STORE_IDMAP_MAX_SIZE (128 * 1024)

/* Reads state/idmap; a missing file gives an empty map (layers owned by 0). A damaged one is an
 * error (-EBADMSG): ranges must never be handed out twice. */
int tender_store_idmap_load(const struct tender_store *s, struct tender_idmap *ret,
                            struct tender_error *err);
/* Writes state/idmap atomically (temp file, fsync, rename, fsync dir). */
int tender_store_idmap_save(struct tender_store *s, const struct tender_idmap *m);
/* The app's entry, or NULL. */
struct tender_idmap_app *tender_idmap_find(struct tender_idmap *m, const char *app);
/* The app's range: its entry when it has one (whatever the pool says now: a range never
 * moves), else a new entry with the lowest free range of the pool, leaving out the pool's first
 * range (the device-wide one, tender_idmap_shared_base). New entries have files.owner 0.
 * -ENOSPC with a message naming apps.idPool when every range is taken. Does not save. */
int tender_idmap_alloc(struct tender_idmap *m, const char *app, uint32_t pool_base,
                       uint32_t pool_size, uint32_t range, struct tender_idmap_app **ret,
                       struct tender_error *err);
/* Drops the entries of apps that have no apps/<app> dir any more: their ranges are free again.
 * Returns the number dropped. Does not save. */
int tender_store_idmap_prune(const struct tender_store *s, struct tender_idmap *m);
