/* SPDX-License-Identifier: Apache-2.0 */
/* tender-publish's TUF repository commands (docs/tuf.md) and their shared helpers. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "tender/error.h"
#include "tender/tuf.h"

int cmd_tuf_init(int argc, char **argv);
int cmd_tuf_add(int argc, char **argv);
int cmd_tuf_remove(int argc, char **argv);
int cmd_tuf_rotate(int argc, char **argv);
int cmd_tuf_refresh(int argc, char **argv);

enum { ROLE_ROOT, ROLE_TIMESTAMP, ROLE_SNAPSHOT, ROLE_TARGETS, ROLE_MAX };
extern const char *const tuf_role_names[ROLE_MAX];

/* A TUF repository beneath <repo>/tuf/ (metadata/ and targets/), private keys in keys_dir as
 * <keyid>.pem, kept out of the published tree. */
struct tuf_repo {
        int meta_fd, targets_fd;
        char *keys_dir;
        cJSON *signed_[ROLE_MAX];         /* the current "signed" of each role */
        uint64_t days[ROLE_MAX];          /* validity of a newly signed version */
        enum tender_tuf_keytype key_type; /* of keys tuf_repo_new_key makes */
};

int tuf_repo_open(const char *repo, const char *keys_dir, bool create, struct tuf_repo *ret,
                  struct tender_error *err);
void tuf_repo_done(struct tuf_repo *r);

/* Makes a key for role in keys_dir and adds it to the root's keys and the role's keyids. */
int tuf_repo_new_key(struct tuf_repo *r, int role, struct tender_error *err);
/* Drops the role's keys (and root's "keys" entries no role uses any more). */
void tuf_repo_clear_role(struct tuf_repo *r, int role);

/* Bumps version and expiry of role, signs it with the role's keys in keys_dir and writes
 * <version>.<role>.json (always for root, with consistent snapshots for the others) and
 * <role>.json. For root, extra_signer_root is the previous root whose keys sign too. */
int tuf_repo_commit_role(struct tuf_repo *r, int role, const cJSON *extra_signer_root,
                         struct tender_error *err);
/* Commits targets (when with_targets), then a new snapshot and timestamp. */
int tuf_repo_commit(struct tuf_repo *r, bool with_targets, struct tender_error *err);

/* Parses "--expires ROLE=DAYS". */
int tuf_parse_expires(struct tuf_repo *r, const char *arg, struct tender_error *err);
