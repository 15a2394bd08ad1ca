/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LUKS2 provisioning and unlocking of the store's block device over libcryptsetup. Compiled only
 * with TENDER_LUKS2=ON (lib/CMakeLists.txt). libcryptsetup reports its reasons through a log
 * callback; the first error it logged goes into the tender_error so that tenderctl shows it.
 */
#include "tender/luks2.h"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <libcryptsetup.h>
#include <string.h>
#include <sys/stat.h>

#define REASON_MAX 256

struct luks2_log {
        char reason[REASON_MAX];
};

static void log_capture(int level, const char *msg, void *userdata) {
        struct luks2_log *log = userdata;
        size_t n;
        /* The first error is the cause ("Cannot initialize device-mapper"); later ones follow. */
        if (level != CRYPT_LOG_ERROR || !msg || *log->reason)
                return;
        snprintf(log->reason, sizeof(log->reason), "%s", msg);
        n = strlen(log->reason);
        while (n > 0 && (log->reason[n - 1] == '\n' || log->reason[n - 1] == '.'))
                log->reason[--n] = '\0';
}

/* "libcryptsetup's reason" when it logged one, else the errno's text. */
static const char *reason(const struct luks2_log *log, int r) {
        return *log->reason ? log->reason : strerror(-r);
}

static void crypt_freep(struct crypt_device **cd) {
        if (*cd)
                crypt_free(*cd);
}

static void blkid_freep(blkid_probe *pr) {
        if (*pr)
                blkid_free_probe(*pr);
}

int tender_luks2_name_check(const char *name, struct tender_error *err) {
        size_t n = name ? strlen(name) : 0;
        if (n == 0 || n > TENDER_LUKS2_NAME_MAX || name[0] == '.' ||
            strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != n)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "invalid mapping name '%s' (1 to %d of A-Z a-z 0-9 _ . -, "
                                        "not starting with '.')",
                                        name ? name : "", TENDER_LUKS2_NAME_MAX);
        return 0;
}

/* Opens the device for probing; O_EXCL on a block device fails with EBUSY while it is mounted
 * or held by a mapping, which formatting must never touch. */
static int open_device(const char *device, struct tender_error *err) {
        struct stat st;
        int fd = open(device, O_RDONLY | O_CLOEXEC | O_EXCL);
        if (fd < 0 && errno == EBUSY)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EBUSY,
                                        "%s is in use (mounted or mapped); refusing to format it",
                                        device);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "%s", device);
        if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode)) {
                close(fd);
                return tender_error_set(err, TENDER_ERR_CONFIG, ENOTBLK, "%s is not a block device",
                                        device);
        }
        return fd;
}

/* -EEXIST when blkid finds a file system, a LUKS header or a partition table on fd. */
static int refuse_used(int fd, const char *device, struct tender_error *err) {
        _cleanup_(blkid_freep) blkid_probe pr = blkid_new_probe();
        const char *type = NULL;
        int r;
        if (!pr || blkid_probe_set_device(pr, fd, 0, 0) < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO, "%s: cannot probe", device);
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
        blkid_probe_enable_partitions(pr, 1);
        r = blkid_do_safeprobe(pr);
        if (r == 1)
                return 0;
        if (r == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) < 0)
                blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL);
        if (r == -1)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EIO, "%s: cannot probe", device);
        return tender_error_set(err, TENDER_ERR_CONFIG, EEXIST,
                                "%s already holds %s; refusing to format it (--force overwrites)",
                                device, type ? type : "several signatures");
}

static int format(struct crypt_device *cd, const char *device, const uint8_t *key,
                  const struct luks2_log *log, struct tender_error *err) {
        struct crypt_pbkdf_type pbkdf = {
                .type = CRYPT_KDF_ARGON2ID,
                .hash = "sha256",
                .iterations = TENDER_LUKS2_PBKDF_ITERATIONS,
                .max_memory_kb = TENDER_LUKS2_PBKDF_MEMORY_KB,
                .parallel_threads = TENDER_LUKS2_PBKDF_THREADS,
                .flags = CRYPT_PBKDF_NO_BENCHMARK,
        };
        struct crypt_params_luks2 params = {.pbkdf = &pbkdf};
        int r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL,
                             TENDER_LUKS2_VOLUME_KEY_SIZE, &params);
        if (r < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, -r, "formatting %s as LUKS2: %s",
                                        device, reason(log, r));
        r = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, (const char *) key,
                                            TENDER_FSCRYPT_KEY_SIZE);
        if (r < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, -r, "adding the key to %s: %s",
                                        device, reason(log, r));
        return 0;
}

/* Is name active on device? 1 yes, 0 not active, -EEXIST active on another device. */
static int active_on(const char *device, const char *name, struct tender_error *err) {
        _cleanup_(crypt_freep) struct crypt_device *acd = NULL;
        struct stat want, have;
        const char *under;
        if (crypt_init_by_name(&acd, name) < 0)
                return 0;
        under = crypt_get_device_name(acd);
        if (under && stat(device, &want) == 0 && stat(under, &have) == 0 &&
            want.st_rdev == have.st_rdev)
                return 1;
        return tender_error_set(err, TENDER_ERR_CONFIG, EEXIST,
                                "/dev/mapper/%s is already active on another device (%s), not %s",
                                name, under ? under : "?", device);
}

/* Checks key against cd's keyslots, then activates name unless it is active already. */
static int activate(struct crypt_device *cd, const char *device, const char *name,
                    const uint8_t *key, struct luks2_log *log, struct tender_error *err) {
        char vk[TENDER_LUKS2_VOLUME_KEY_SIZE * 2];
        size_t vk_size = sizeof(vk);
        int r = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, vk, &vk_size, (const char *) key,
                                     TENDER_FSCRYPT_KEY_SIZE);
        if (r == -EPERM || r == -ENOENT)
                return tender_error_set(err, TENDER_ERR_VERIFY, EKEYREJECTED,
                                        "wrong key for %s: no LUKS2 keyslot opens with it", device);
        if (r < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, -r, "opening a keyslot of %s: %s",
                                        device, reason(log, r));
        crypt_status_info status = crypt_status(cd, name);
        if (status == CRYPT_ACTIVE || status == CRYPT_BUSY) {
                explicit_bzero(vk, sizeof(vk));
                return active_on(device, name, err);
        }
        *log->reason = '\0';
        r = crypt_activate_by_volume_key(cd, name, vk, vk_size, 0);
        explicit_bzero(vk, sizeof(vk));
        if (r < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, -r,
                                        "activating %s as /dev/mapper/%s: %s", device, name,
                                        reason(log, r));
        return 0;
}

static int init(struct crypt_device **ret_cd, const char *device, struct luks2_log *log,
                struct tender_error *err) {
        int r = crypt_init(ret_cd, device);
        if (r < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, -r, "%s: %s", device,
                                        reason(log, r));
        crypt_set_log_callback(*ret_cd, log_capture, log);
        return 0;
}

int tender_luks2_provision(const char *device, const char *name,
                           const uint8_t key[static TENDER_FSCRYPT_KEY_SIZE], bool force,
                           struct tender_error *err) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        struct luks2_log log = {""};
        int r = tender_luks2_name_check(name, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open_device(device, err);
        if (fd < 0)
                return fd;
        if (!force && (r = refuse_used(fd, device, err)) < 0)
                return r;
        close(TAKE_FD(fd)); /* libcryptsetup opens the device itself */
        if ((r = init(&cd, device, &log, err)) < 0 || (r = format(cd, device, key, &log, err)) < 0)
                return r;
        r = activate(cd, device, name, key, &log, err);
        return r < 0 ? tender_error_prefix(err, "%s is formatted as LUKS2", device) : 0;
}

int tender_luks2_unlock(const char *device, const char *name,
                        const uint8_t key[static TENDER_FSCRYPT_KEY_SIZE],
                        struct tender_error *err) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        struct luks2_log log = {""};
        int r = tender_luks2_name_check(name, err);
        if (r < 0 || (r = init(&cd, device, &log, err)) < 0)
                return r;
        r = crypt_load(cd, CRYPT_LUKS2, NULL);
        if (r < 0)
                return tender_error_set(err, TENDER_ERR_CONFIG, ENODEV,
                                        "%s holds no LUKS2 header: %s", device, reason(&log, r));
        return activate(cd, device, name, key, &log, err);
}
