/* SPDX-License-Identifier: Apache-2.0 */
/* Private to lib/tuf*.c: parsed TUF metadata and signature thresholds. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "tender/tuf.h"

enum tuf_type { TUF_ROOT, TUF_TIMESTAMP, TUF_SNAPSHOT, TUF_TARGETS, TUF_TYPE_MAX };

struct tuf_keyentry {
        char *keyid;
        struct tender_tuf_key *key;
};

struct tuf_keyset {
        struct tuf_keyentry *v;
        size_t n;
};

/* A top-level role of root, or a delegated role of a targets document. */
struct tuf_role {
        char *name;
        char **keyids; /* NULL-terminated, no duplicates */
        uint64_t threshold;
        bool terminating;
        char **paths;    /* NULL: none given */
        char **prefixes; /* path_hash_prefixes; NULL: none given */
};

struct tuf_hashes {
        bool have_sha256, have_sha512;
        uint8_t sha256[32], sha512[64];
        size_t count; /* all hashes listed, known or not */
};

/* An entry of timestamp's or snapshot's "meta". */
struct tuf_metafile {
        char *name;
        uint64_t version;
        bool has_length;
        uint64_t length;
        struct tuf_hashes hashes;
};

struct tuf_meta {
        enum tuf_type type;
        char *role; /* the role name, for messages ("timestamp", "delegated role \"x\"") */
        char *raw;  /* the bytes as fetched or stored */
        size_t raw_len;
        cJSON *doc;
        const cJSON *signed_part;
        char *canonical; /* canonical JSON of "signed": what signatures cover */
        size_t canonical_len;
        uint64_t version;
        time_t expires;

        /* root */
        bool consistent_snapshot;
        struct tuf_keyset keys;
        struct tuf_role top[TUF_TYPE_MAX];

        /* timestamp, snapshot */
        struct tuf_metafile *meta;
        size_t n_meta;

        /* targets */
        const cJSON *targets;
        struct tuf_keyset dkeys;
        struct tuf_role *droles;
        size_t n_droles;
};

extern const char *const tuf_type_names[TUF_TYPE_MAX];

/* Parses (copying data) a document of the given type; errors start with `role`. */
int tuf_meta_parse(const char *data, size_t len, enum tuf_type type, const char *role,
                   struct tuf_meta **ret, struct tender_error *err);
void tuf_meta_free(struct tuf_meta *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tuf_meta, tuf_meta_free);

/* Counts distinct keys of `role` (found in keys) with a good signature over m's signed part;
 * -EBADMSG "<m->role>: threshold not met ..." when fewer than role->threshold. */
int tuf_meta_verify(const struct tuf_meta *m, const struct tuf_keyset *keys,
                    const struct tuf_role *role, struct tender_error *err);

const struct tuf_metafile *tuf_meta_find(const struct tuf_meta *m, const char *name);

int tuf_hashes_parse(const cJSON *obj, const char *path, struct tuf_hashes *ret,
                     struct tender_error *err);
/* 0 when every known hash matches; -EBADMSG on a mismatch; -ENOTSUP when none is known. */
int tuf_hashes_check(const struct tuf_hashes *h, const void *data, size_t len);

/* Parses "YYYY-MM-DDTHH:MM:SSZ". */
int tuf_parse_time(const char *s, time_t *ret);

struct tuf_http_state; /* the default fetcher's connection */

struct tender_tuf {
        int dirfd; /* borrowed */
        char *metadata_url, *targets_url;
        tender_tuf_fetch_fn fetch;
        void *fetch_userdata;
        char *ca_file;
        struct tender_http *http; /* default fetcher, made on first use */
        time_t fixed_now, now;
        bool refreshed;
        struct tuf_meta *top[TUF_TYPE_MAX];
        struct tuf_meta **delegated; /* verified during this session, by role name */
        size_t n_delegated;
};

/* Fetches base/<file> (file already quoted) with a cap. */
int tuf_fetch(struct tender_tuf *t, const char *base, const char *file, size_t max, char **ret_body,
              size_t *ret_len, struct tender_error *err);

/* Writes m's bytes as dirfd/file, durably and atomically, as soon as m verified. */
int tuf_persist(struct tender_tuf *t, const char *file, const struct tuf_meta *m,
                struct tender_error *err);

/* Checks data against snapshot's or timestamp's entry for it: length and hashes. */
int tuf_check_metafile(const struct tuf_metafile *f, const char *role, const char *data, size_t len,
                       struct tender_error *err);

/* Loads the role's metadata: the trusted local copy when it still matches `f`, else a download;
 * verified by `keys`/`spec`, version equal to f->version, not expired. A download of the
 * top-level targets or of a delegated role is persisted at once (tuf_persist). */
int tuf_load_role(struct tender_tuf *t, enum tuf_type type, const char *role,
                  const struct tuf_metafile *f, const struct tuf_keyset *keys,
                  const struct tuf_role *spec, struct tuf_meta **ret, struct tender_error *err);
