/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store encryption: detection of dm-crypt and fscrypt, and fscrypt v2 provisioning.
 *
 * fscrypt v2 keys live in the file system's keyring, not a process's: once added (by
 * `tenderctl store unlock` at boot) every process sees the store's contents, and removing the
 * key locks it again for all. The key identifier is derived by the kernel from the key, so a
 * wrong key shows up as an identifier that differs from the policy's.
 */
#include "tender/fscrypt.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fscrypt.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tender/fileio.h"

/* A device-mapper uuid or name is at most 129 bytes, but sysfs reports every attribute's size
 * as the page size (4096), and tender_read_file_at refuses a file whose size exceeds the cap:
 * with a cap below that, no dm-crypt store was ever recognised on a real kernel (the device
 * test tier found it; the unit tests' fake sysfs has files of their true size). */
#define SYSFS_DM_UUID_MAX 4096

const char *tender_encryption_kind_name(enum tender_encryption_kind kind) {
        switch (kind) {
        case TENDER_ENCRYPTION_DM_CRYPT:
                return "dm-crypt";
        case TENDER_ENCRYPTION_FSCRYPT:
                return "fscrypt";
        default:
                return "none";
        }
}

static void hex(const uint8_t *b, size_t n, char *out) {
        for (size_t i = 0; i < n; i++)
                sprintf(out + 2 * i, "%02x", b[i]);
}

/* Opens path, or its nearest existing ancestor (the store may not be created yet). */
static int open_existing(const char *path) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof(p), "%s", path) >= (int) sizeof(p))
                return -ENAMETOOLONG;
        for (;;) {
                int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0 || errno != ENOENT)
                        return fd >= 0 ? fd : -errno;
                char *slash = strrchr(p, '/');
                if (!slash)
                        return -ENOENT;
                if (slash == p)
                        slash[1] = '\0';
                else
                        *slash = '\0';
        }
}

/* Is the block device dir (a /sys/dev/block/M:m or /sys/block/X/slaves/Y path) dm-crypt, or
 * built on one? */
static bool sysfs_is_crypt(const char *dir, unsigned depth, char *ret_name, size_t name_size) {
        char p[PATH_MAX];
        _cleanup_free_ char *uuid = NULL;
        if (depth > TENDER_ENCRYPTION_DM_MAX_DEPTH)
                return false;
        snprintf(p, sizeof(p), "%s/dm/uuid", dir);
        if (tender_read_file_at(AT_FDCWD, p, SYSFS_DM_UUID_MAX, &uuid, NULL) >= 0 &&
            strncmp(uuid, "CRYPT-", 6) == 0) {
                snprintf(p, sizeof(p), "%s/dm/name", dir);
                _cleanup_free_ char *name = NULL;
                if (tender_read_file_at(AT_FDCWD, p, SYSFS_DM_UUID_MAX, &name, NULL) >= 0) {
                        name[strcspn(name, "\n")] = '\0';
                        snprintf(ret_name, name_size, "%s", name);
                }
                return true;
        }
        snprintf(p, sizeof(p), "%s/slaves", dir);
        DIR *d = opendir(p);
        if (!d)
                return false;
        bool found = false;
        for (struct dirent *de; !found && (de = readdir(d));) {
                char sub[PATH_MAX];
                if (de->d_name[0] == '.')
                        continue;
                if (snprintf(sub, sizeof(sub), "%s/%s", p, de->d_name) < (int) sizeof(sub))
                        found = sysfs_is_crypt(sub, depth + 1, ret_name, name_size);
        }
        closedir(d);
        return found;
}

static int detect_fscrypt(int fd, struct tender_encryption_status *st) {
        struct fscrypt_get_policy_ex_arg arg = {.policy_size = sizeof(arg.policy)};
        if (ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &arg) < 0) {
                /* ENODATA: not encrypted; ENOTTY/EOPNOTSUPP: the file system has no fscrypt */
                return errno == ENODATA || errno == ENOTTY || errno == EOPNOTSUPP ? 0 : -errno;
        }
        st->kind = TENDER_ENCRYPTION_FSCRYPT;
        st->policy_version = arg.policy.version == FSCRYPT_POLICY_V2 ? 2 : 1;
        if (arg.policy.version != FSCRYPT_POLICY_V2) {
                /* v1 keys live in process keyrings; the best test is whether names decrypt,
                 * which needs a child entry. Treat it as unlocked: reads fail clearly if not. */
                return 0;
        }
        memcpy(st->key_id, arg.policy.v2.master_key_identifier, sizeof(st->key_id));
        struct fscrypt_get_key_status_arg ks = {.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER};
        memcpy(ks.key_spec.u.identifier, st->key_id, sizeof(st->key_id));
        if (ioctl(fd, FS_IOC_GET_ENCRYPTION_KEY_STATUS, &ks) < 0)
                return -errno;
        st->locked = ks.status != FSCRYPT_KEY_STATUS_PRESENT;
        return 0;
}

int tender_encryption_detect(const char *path, struct tender_encryption_status *ret,
                             struct tender_error *err) {
        struct tender_encryption_status st = {0};
        struct stat sb;
        char sys[64];
        _cleanup_close_ int fd = open_existing(path);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, fd, "open %s", path);
        int r = detect_fscrypt(fd, &st);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "read the encryption policy of %s", path);
        if (st.kind == TENDER_ENCRYPTION_NONE && fstat(fd, &sb) == 0 && major(sb.st_dev) != 0) {
                snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(sb.st_dev),
                         minor(sb.st_dev));
                if (sysfs_is_crypt(sys, 0, st.device, sizeof(st.device)))
                        st.kind = TENDER_ENCRYPTION_DM_CRYPT;
        }
        *ret = st;
        return 0;
}

int tender_encryption_check(const char *path, bool allow_unencrypted,
                            struct tender_encryption_status *ret, struct tender_error *err) {
        struct tender_encryption_status st;
        char id[2 * TENDER_FSCRYPT_KEY_ID_SIZE + 1];
        int r = tender_encryption_detect(path, &st, err);
        if (r < 0)
                return r;
        if (ret)
                *ret = st;
        if (st.kind == TENDER_ENCRYPTION_FSCRYPT && st.locked) {
                hex(st.key_id, sizeof(st.key_id), id);
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOKEY,
                                        "store %s is locked: its fscrypt key %s is not added "
                                        "(run tenderctl store unlock)",
                                        path, id);
        }
        if (st.kind == TENDER_ENCRYPTION_NONE && !allow_unencrypted)
                return tender_error_set(err, TENDER_ERR_CONFIG, EPERM,
                                        "store %s is not encrypted (neither on dm-crypt nor under "
                                        "an fscrypt policy); provision it with tenderctl store "
                                        "provision, or set store.allowUnencrypted",
                                        path);
        return 0;
}

int tender_fscrypt_key_load(const char *path, uint8_t key[static TENDER_FSCRYPT_KEY_SIZE],
                            struct tender_error *err) {
        struct stat st;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, errno, "open key file %s",
                                              path);
        if (fstat(fd, &st) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "stat %s", path);
        if (S_ISREG(st.st_mode) && (st.st_mode & 0077))
                return tender_error_set(err, TENDER_ERR_CONFIG, EPERM,
                                        "key file %s is readable by group or others", path);
        uint8_t buf[TENDER_FSCRYPT_KEY_SIZE + 1];
        size_t n = 0;
        while (n < sizeof(buf)) {
                ssize_t k = read(fd, buf + n, sizeof(buf) - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        explicit_bzero(buf, sizeof(buf));
                        return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "read %s",
                                                      path);
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n != TENDER_FSCRYPT_KEY_SIZE) {
                explicit_bzero(buf, sizeof(buf));
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "key file %s must hold exactly %d bytes", path,
                                        TENDER_FSCRYPT_KEY_SIZE);
        }
        memcpy(key, buf, TENDER_FSCRYPT_KEY_SIZE);
        explicit_bzero(buf, sizeof(buf));
        return 0;
}

/* FS_IOC_ADD_ENCRYPTION_KEY: the kernel answers with the key's identifier. */
static int add_key(int fd, const uint8_t key[static TENDER_FSCRYPT_KEY_SIZE],
                   uint8_t ret_id[static TENDER_FSCRYPT_KEY_ID_SIZE]) {
        union {
                struct fscrypt_add_key_arg arg;
                uint8_t bytes[sizeof(struct fscrypt_add_key_arg) + TENDER_FSCRYPT_KEY_SIZE];
        } u = {0};
        u.arg.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
        u.arg.raw_size = TENDER_FSCRYPT_KEY_SIZE;
        memcpy(u.arg.raw, key, TENDER_FSCRYPT_KEY_SIZE);
        int r = ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, &u.arg) < 0 ? -errno : 0;
        if (r >= 0)
                memcpy(ret_id, u.arg.key_spec.u.identifier, TENDER_FSCRYPT_KEY_ID_SIZE);
        explicit_bzero(&u, sizeof(u));
        return r;
}

static int remove_key(int fd, const uint8_t id[static TENDER_FSCRYPT_KEY_ID_SIZE]) {
        struct fscrypt_remove_key_arg arg = {.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER};
        memcpy(arg.key_spec.u.identifier, id, TENDER_FSCRYPT_KEY_ID_SIZE);
        if (ioctl(fd, FS_IOC_REMOVE_ENCRYPTION_KEY, &arg) < 0)
                return -errno;
        return arg.removal_status_flags & FSCRYPT_KEY_REMOVAL_STATUS_FLAG_FILES_BUSY ? -EBUSY : 0;
}

int tender_fscrypt_provision(const char *dir, const uint8_t key[static TENDER_FSCRYPT_KEY_SIZE],
                             uint8_t ret_key_id[static TENDER_FSCRYPT_KEY_ID_SIZE],
                             struct tender_error *err) {
        struct fscrypt_policy_v2 policy = {
                .version = FSCRYPT_POLICY_V2,
                .contents_encryption_mode = FSCRYPT_MODE_AES_256_XTS,
                .filenames_encryption_mode = FSCRYPT_MODE_AES_256_CTS,
                .flags = FSCRYPT_POLICY_FLAGS_PAD_32,
        };
        struct tender_encryption_status st = {0};
        int r;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "create %s", dir);
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open %s", dir);
        r = detect_fscrypt(fd, &st);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "read policy of %s", dir);
        if (st.kind == TENDER_ENCRYPTION_FSCRYPT)
                return tender_error_set(err, TENDER_ERR_CONFIG, EEXIST,
                                        "%s is already encrypted (fscrypt policy v%d)", dir,
                                        st.policy_version);
        r = add_key(fd, key, policy.master_key_identifier);
        if (r == -ENOTTY || r == -EOPNOTSUPP)
                return tender_error_set(err, TENDER_ERR_CONFIG, EOPNOTSUPP,
                                        "the file system of %s does not support fscrypt (ext4 "
                                        "needs the encrypt feature: tune2fs -O encrypt)",
                                        dir);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "add key for %s", dir);
        if (ioctl(fd, FS_IOC_SET_ENCRYPTION_POLICY, &policy) < 0) {
                int e = errno;
                (void) remove_key(fd, policy.master_key_identifier);
                if (e == ENOTEMPTY)
                        return tender_error_set(err, TENDER_ERR_CONFIG, e,
                                                "%s is not empty: an fscrypt policy can only be "
                                                "set on an empty directory",
                                                dir);
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, e,
                                              "set the fscrypt policy on %s", dir);
        }
        if (fsync(fd) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "sync %s", dir);
        memcpy(ret_key_id, policy.master_key_identifier, TENDER_FSCRYPT_KEY_ID_SIZE);
        return 0;
}

static int open_policy_dir(const char *dir, struct tender_encryption_status *st,
                           struct tender_error *err) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open %s", dir);
        int r = detect_fscrypt(fd, st);
        if (r >= 0 && (st->kind != TENDER_ENCRYPTION_FSCRYPT || st->policy_version != 2))
                r = tender_error_set(err, TENDER_ERR_CONFIG, ENODATA,
                                     "%s has no fscrypt v2 policy (run tenderctl store provision)",
                                     dir);
        else if (r < 0)
                r = tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "read policy of %s", dir);
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int tender_fscrypt_unlock(const char *dir, const uint8_t key[static TENDER_FSCRYPT_KEY_SIZE],
                          struct tender_error *err) {
        struct tender_encryption_status st = {0};
        uint8_t id[TENDER_FSCRYPT_KEY_ID_SIZE];
        char want[2 * TENDER_FSCRYPT_KEY_ID_SIZE + 1], got[sizeof(want)];
        _cleanup_close_ int fd = open_policy_dir(dir, &st, err);
        if (fd < 0)
                return fd;
        int r = add_key(fd, key, id);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "add key for %s", dir);
        if (memcmp(id, st.key_id, sizeof(id)) != 0) {
                /* Not this store's key: leave no stray key in the file system's keyring. */
                (void) remove_key(fd, id);
                hex(st.key_id, sizeof(st.key_id), want);
                hex(id, sizeof(id), got);
                return tender_error_set(err, TENDER_ERR_CONFIG, EKEYREJECTED,
                                        "wrong key for %s: its identifier is %s, the store's "
                                        "policy wants %s",
                                        dir, got, want);
        }
        return 0;
}

/* An fd on dir's file system that does not pin an inode of the encrypted tree (the key can
 * only be evicted when none is in use): dir's parent when it is on the same file system. */
static int open_fs_outside(const char *dir) {
        char parent[PATH_MAX];
        struct stat a, b;
        if (snprintf(parent, sizeof(parent), "%s/..", dir) >= (int) sizeof(parent))
                return -ENAMETOOLONG;
        int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &a) < 0 || stat(dir, &b) < 0 || a.st_dev != b.st_dev) {
                close(fd);
                return -EXDEV;
        }
        return fd;
}

int tender_fscrypt_lock(const char *dir, struct tender_error *err) {
        struct tender_encryption_status st = {0};
        int pfd = open_policy_dir(dir, &st, err);
        if (pfd < 0)
                return pfd;
        _cleanup_close_ int fd = open_fs_outside(dir);
        if (fd < 0)
                fd = TAKE_FD(pfd); /* dir is a mount point: the removal may report busy */
        closep(&pfd);
        int r = remove_key(fd, st.key_id);
        if (r == -EBUSY)
                return tender_error_set(err, TENDER_ERR_SYSTEM, EBUSY,
                                        "%s: key removed, but files still open keep it in use",
                                        dir);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "remove key of %s", dir);
        return 0;
}
