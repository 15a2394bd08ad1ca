/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encryption of the store (docs/store.md): tenderd stages updates only onto a store that is
 * encrypted at rest, either because its file system sits on dm-crypt (LUKS2), or because the
 * store directory has an fscrypt policy. The fscrypt part provisions and unlocks such a
 * policy (v2, AES-256-XTS contents, AES-256-CTS names) on ext4 (or f2fs) with the encrypt
 * feature, from a 64-byte key file.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tender/error.h"

#define TENDER_FSCRYPT_KEY_SIZE 64 /* AES-256-XTS takes a 512-bit master key */
#define TENDER_FSCRYPT_KEY_ID_SIZE 16
/* Device-mapper nesting followed when looking for dm-crypt (LVM on LUKS, verity, ...). */
#define TENDER_ENCRYPTION_DM_MAX_DEPTH 8

enum tender_encryption_kind {
        TENDER_ENCRYPTION_NONE = 0,
        TENDER_ENCRYPTION_DM_CRYPT,
        TENDER_ENCRYPTION_FSCRYPT,
};

struct tender_encryption_status {
        enum tender_encryption_kind kind;
        bool locked;        /* fscrypt: the policy's key is not added (contents unreadable) */
        int policy_version; /* fscrypt: 1 or 2 */
        uint8_t key_id[TENDER_FSCRYPT_KEY_ID_SIZE]; /* fscrypt v2 */
        char device[32];                            /* dm-crypt: "dm-N" */
};

/* How the directory (or, when it does not exist yet, its nearest existing ancestor) is
 * encrypted. dm-crypt is found through /sys/dev/block/M:m/dm/uuid ("CRYPT-...") of the file
 * system's device and of the devices beneath it. */
int tender_encryption_detect(const char *path, struct tender_encryption_status *ret,
                             struct tender_error *err);

/* The agent's check before staging: 0 when path is encrypted and unlocked. -ENOKEY when the
 * fscrypt key is missing ("run tenderctl store unlock"), -EPERM when nothing encrypts it and
 * allow_unencrypted is false. Fills *ret (may be NULL) whenever detection worked. */
int tender_encryption_check(const char *path, bool allow_unencrypted,
                            struct tender_encryption_status *ret, struct tender_error *err);

/* "kind" for logs and tenderctl: "none", "dm-crypt", "fscrypt". */
const char *tender_encryption_kind_name(enum tender_encryption_kind kind);

/* Reads a key file: exactly TENDER_FSCRYPT_KEY_SIZE bytes, not readable by group or others. */
int tender_fscrypt_key_load(const char *path, uint8_t key[static TENDER_FSCRYPT_KEY_SIZE],
                            struct tender_error *err);

/* Sets an fscrypt v2 policy on dir (created 0700 when missing; must be empty) with key, adding
 * the key to the file system first. Fails with -EEXIST when dir already has a policy, and
 * -EOPNOTSUPP when the file system lacks the encrypt feature. */
int tender_fscrypt_provision(const char *dir, const uint8_t key[static TENDER_FSCRYPT_KEY_SIZE],
                             uint8_t ret_key_id[static TENDER_FSCRYPT_KEY_ID_SIZE],
                             struct tender_error *err);

/* Adds key to dir's file system; -EKEYREJECTED (and the key removed again) when it is not the
 * key of dir's policy, -ENODATA when dir has no policy. */
int tender_fscrypt_unlock(const char *dir, const uint8_t key[static TENDER_FSCRYPT_KEY_SIZE],
                          struct tender_error *err);

/* Removes dir's policy key from the file system (files still open keep it until closed:
 * returns -EBUSY then). */
int tender_fscrypt_lock(const char *dir, struct tender_error *err);
