/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TUF client (The Update Framework, specification 1.0.x, "detailed client workflow") and the
 * key and signing helpers tender-publish uses to write a TUF repository. docs/tuf.md describes
 * the trust model, the limits and how the agent calls this.
 *
 * Agent call sequence:
 *
 *     tender_tuf_open(store_tuf_dirfd, &opts, &tuf, &err);     // trusted root.json must be there
 *     tender_tuf_refresh(tuf, &err);                           // root chain, timestamp, snapshot,
 * targets tender_tuf_fetch_target(tuf, "apps/hello/2.0.0.json", TENDER_MANIFEST_MAX_SIZE, &bytes,
 * &len, &info, &err);      // length and hashes checked
 *     ... info->app, info->version, info->release_counter ...
 *
 * Errors are TENDER_ERR_VERIFY (or _NETWORK, _JSON, _SYSTEM) and their message starts with the
 * role ("timestamp: ...", "targets: ...", "delegated role \"x\": ...") and says the reason.
 * An expired role after a successful download is -ESTALE ("... expired ..."), so a caller can
 * report a freeze attack on its own. A failed refresh leaves every trusted file whose new version
 * did not verify as it was; roles verified before the failure (e.g. a rotated root) stay updated,
 * as the specification asks.
 *
 * Key types: "ecdsa"/"ecdsa-sha2-nistp256" (scheme ecdsa-sha2-nistp256, PEM public key, DER
 * signature), "rsa" (scheme rsassa-pss-sha256, PEM public key of at least 2048 bits) and
 * "ed25519" (scheme ed25519, 64 hex digits of public key, 128 of signature; libsodium). Any
 * other type is parsed but never counts toward a threshold.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tender/digest.h"
#include "tender/error.h"

/* Download caps for metadata whose length nothing signed tells (spec 5.x: "an upper bound"). */
#define TENDER_TUF_ROOT_MAX_SIZE (512 * 1024)
#define TENDER_TUF_TIMESTAMP_MAX_SIZE (16 * 1024)
#define TENDER_TUF_SNAPSHOT_MAX_SIZE (2 * 1024 * 1024)
#define TENDER_TUF_TARGETS_MAX_SIZE (5 * 1024 * 1024)
#define TENDER_TUF_MAX_DEPTH 32           /* JSON nesting of a metadata document */
#define TENDER_TUF_MAX_ROOT_ROTATIONS 256 /* new roots fetched in one refresh */
#define TENDER_TUF_MAX_DELEGATIONS 32     /* delegated roles visited in one target lookup */
#define TENDER_TUF_MAX_KEYS 256           /* keys in one keys object */
#define TENDER_TUF_MAX_ROLES 256          /* delegated roles in one targets document */
#define TENDER_TUF_MAX_SIGNATURES 256     /* signatures on one document */
#define TENDER_TUF_NAME_MAX 255           /* role names and target path components */
#define TENDER_TUF_TARGET_PATH_MAX 1024

/* Fetches url into a malloc'd NUL-terminated buffer of at most max bytes (more is -EFBIG).
 * A missing file is -ENOENT. The default fetcher is tender_http_get. */
typedef int (*tender_tuf_fetch_fn)(void *userdata, const char *url, size_t max, char **ret_body,
                                   size_t *ret_len, struct tender_error *err);

struct tender_tuf_options {
        const char *metadata_url;  /* base URL of <role>.json files (a trailing '/' is fine) */
        const char *targets_url;   /* base URL of target files; NULL: no target downloads */
        tender_tuf_fetch_fn fetch; /* NULL: HTTP(S) through tender/http.h */
        void *fetch_userdata;
        const char *ca_file; /* for the default fetcher; NULL: the system's bundle */
        time_t now;          /* 0: the time at the start of each refresh */
};

struct tender_tuf;

/* What the trusted targets metadata says of one target. */
struct tender_tuf_target {
        char *name;
        uint64_t length;
        bool have_sha256, have_sha512;
        uint8_t sha256[32], sha512[64];
        cJSON *custom; /* a copy of "custom", or NULL */
        /* tender's release fields from custom, when present ("app", "version",
         * "releaseCounter"); has_release says all three were there and well-formed. */
        bool has_release;
        char *app, *version;
        uint64_t release_counter;
};

/* Verifies that root_json is a root document signed by a threshold of its own root keys and
 * writes it durably as dirfd/root.json, dropping any other trusted metadata there. The caller
 * vouches for the document (provisioning); its expiry is checked on refresh, not here. */
int tender_tuf_init(int dirfd, const char *root_json, size_t len, struct tender_error *err);

/* Opens the trusted metadata in dirfd (borrowed; stays open while *ret lives): root.json must
 * verify; timestamp, snapshot and targets are loaded when present and verify, else ignored. */
int tender_tuf_open(int dirfd, const struct tender_tuf_options *opts, struct tender_tuf **ret,
                    struct tender_error *err);
void tender_tuf_free(struct tender_tuf *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_tuf, tender_tuf_free);

/* The specification's client workflow: root chain (each N+1 signed by a threshold of the old
 * and the new root keys), root expiry, timestamp, snapshot, top-level targets. Each verified
 * role is persisted durably before the next step. */
int tender_tuf_refresh(struct tender_tuf *t, struct tender_error *err);

/* Looks name up through the top-level targets and its delegations (pre-order, terminating
 * roles, at most TENDER_TUF_MAX_DELEGATIONS visits), fetching and verifying delegated roles.
 * -ENOENT when no trusted role lists it. Needs a successful refresh first. */
int tender_tuf_get_target(struct tender_tuf *t, const char *name, struct tender_tuf_target **ret,
                          struct tender_error *err);
void tender_tuf_target_free(struct tender_tuf_target *tt);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_tuf_target, tender_tuf_target_free);

/* Downloads the target's bytes (consistent snapshots: <dir>/<sha256>.<base>) from targets_url,
 * reading at most its signed length, and checks length and every known hash. */
int tender_tuf_download_target(struct tender_tuf *t, const struct tender_tuf_target *tt,
                               char **ret_data, size_t *ret_len, struct tender_error *err);

/* Checks bytes against the target's signed length and every known hash (download_target does
 * this; a caller checks a copy it kept, e.g. a cache, the same way). -EBADMSG on a mismatch. */
int tender_tuf_check_target(const struct tender_tuf_target *tt, const void *data, size_t len,
                            struct tender_error *err);

/* get_target then download_target; refuses a target longer than max. */
int tender_tuf_fetch_target(struct tender_tuf *t, const char *name, size_t max, char **ret_data,
                            size_t *ret_len, struct tender_tuf_target **ret_info,
                            struct tender_error *err);

/* Trusted versions (0 when a role is not trusted yet), for status reports and tests. */
uint64_t tender_tuf_version(const struct tender_tuf *t, const char *role);

/* Percent-encodes everything but [A-Za-z0-9._~-] (and '/' when keep_slash): role names in file
 * names and URLs, target paths in URLs. Returns a malloc'd string or NULL on ENOMEM. */
char *tender_tuf_quote(const char *s, bool keep_slash);

/* --- keys and signatures (tender-publish, tests) --- */

struct tender_tuf_key;

/* Parses a TUF key object. Supported types verify; unknown ones load as unusable keys whose
 * signatures never count, so a document may list them. -EINVAL on a malformed object, an RSA
 * key under 2048 bits or an Ed25519 key that is not 64 hex digits. */
int tender_tuf_key_parse(const cJSON *obj, struct tender_tuf_key **ret, struct tender_error *err);
void tender_tuf_key_free(struct tender_tuf_key *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_tuf_key, tender_tuf_key_free);
/* Whether signatures by this key can be checked; type name for messages. */
bool tender_tuf_key_usable(const struct tender_tuf_key *k);
const char *tender_tuf_key_type(const struct tender_tuf_key *k);
/* Same public key material (a key listed under two ids counts once). */
bool tender_tuf_key_equal(const struct tender_tuf_key *a, const struct tender_tuf_key *b);
/* Checks sig_hex (lowercase hex) over msg: 0, or -EBADMSG / -ENOTSUP / -EINVAL with a reason. */
int tender_tuf_key_verify(const struct tender_tuf_key *k, const void *msg, size_t len,
                          const char *sig_hex, struct tender_error *err);

/* The key id TUF uses: sha256 hex of the canonical JSON of the key object. */
int tender_tuf_keyid(const cJSON *key_obj, char ret[static 65], struct tender_error *err);

/* Publisher side (tender-publish; tenderd never signs). Key files are PEM: an EC P-256 key as
 * mbedTLS writes it, or an Ed25519 key as PKCS#8 (RFC 8410, as `openssl genpkey -algorithm
 * ed25519` writes it). */
enum tender_tuf_keytype { TENDER_TUF_KEY_ECDSA_P256, TENDER_TUF_KEY_ED25519 };
/* A new private key of that type, file mode 0600, never replacing a file. */
int tender_tuf_keygen(const char *private_pem_path, enum tender_tuf_keytype type,
                      struct tender_error *err);
/* The TUF key object of a private key file's public half: {"keytype": "ecdsa", "scheme":
 * "ecdsa-sha2-nistp256", "keyval": {"public": PEM}} or {"keytype": "ed25519", "scheme":
 * "ed25519", "keyval": {"public": 64 hex digits}}. */
int tender_tuf_key_public(const char *private_pem_path, cJSON **ret, struct tender_error *err);
/* Signs msg with the private key (ECDSA P-256: hex of the DER signature over its SHA-256;
 * Ed25519: hex of the 64-byte signature over msg). */
int tender_tuf_sign(const char *private_pem_path, const void *msg, size_t len, char **ret_sig_hex,
                    struct tender_error *err);
/* Signs the "signed" object with each private key and returns the metadata document
 * {"signatures": [...], "signed": ...} as indented JSON, malloc'd. */
int tender_tuf_sign_metadata(const cJSON *signed_obj, char *const *private_pem_paths, size_t n_keys,
                             char **ret, size_t *ret_len, struct tender_error *err);
