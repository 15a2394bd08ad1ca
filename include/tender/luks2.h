/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LUKS2 provisioning of the store's block device through libcryptsetup (docs/store.md). Built
 * only with the CMake option TENDER_LUKS2 (which defines TENDER_HAVE_LUKS2); without it,
 * tenderctl refuses --luks2. The key is the store's 64-byte key file (tender_fscrypt_key_load),
 * used as the keyslot's passphrase; the volume key is a fresh random 512-bit key.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tender/error.h"
#include "tender/fscrypt.h"

#define TENDER_LUKS2_NAME_DEFAULT "tender-store"
/* A device-mapper name under /dev/mapper: [A-Za-z0-9_.-], not starting with '.'. */
#define TENDER_LUKS2_NAME_MAX 64
#define TENDER_LUKS2_VOLUME_KEY_SIZE 64 /* aes-xts-plain64 with two 256-bit keys */
/* argon2id cost of the keyslot. The passphrase is a 512-bit random key, so the KDF adds nothing
 * against guessing; a fixed, modest cost keeps unlocking at boot fast and the same on every
 * device (no benchmark), and fits devices with little memory. */
#define TENDER_LUKS2_PBKDF_MEMORY_KB 65536
#define TENDER_LUKS2_PBKDF_ITERATIONS 4
#define TENDER_LUKS2_PBKDF_THREADS 1

/* 0 when name is a usable device-mapper name (see TENDER_LUKS2_NAME_MAX), else -EINVAL. */
int tender_luks2_name_check(const char *name, struct tender_error *err);

/* Formats the block device as LUKS2 (aes-xts-plain64, 512-bit volume key, argon2id keyslot
 * holding key) and activates it as /dev/mapper/<name>. Refuses with -EEXIST a device that holds
 * a file system, a partition table or a LUKS header unless force, and with -EBUSY a device in
 * use (mounted, mapped). Destroys the device's contents. A failure after formatting leaves the
 * header written: tender_luks2_unlock() retries the activation. */
int tender_luks2_provision(const char *device, const char *name,
                           const uint8_t key[static TENDER_FSCRYPT_KEY_SIZE], bool force,
                           struct tender_error *err);

/* Activates the LUKS2 device as /dev/mapper/<name> with key. Returns 0 when activated, 1 when
 * it was already active (on this device); -EKEYREJECTED for a wrong key (checked even when
 * active), -EEXIST when name is active on another device, -ENODEV when the device holds no
 * LUKS2 header. Messages name the device and libcryptsetup's reason. */
int tender_luks2_unlock(const char *device, const char *name,
                        const uint8_t key[static TENDER_FSCRYPT_KEY_SIZE],
                        struct tender_error *err);
