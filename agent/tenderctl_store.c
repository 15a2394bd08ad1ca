/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tenderctl store: encryption of the store (docs/store.md).
 *
 *   provision --key-file F   set an fscrypt v2 policy on the (empty) store directory
 *   unlock --key-file F      add the key at boot (tender-store-unlock.service)
 *   lock                     remove the key (files still open keep it until closed)
 *   status [--json]          how the store is encrypted; exits 1 when tenderd would refuse it
 *   provision|unlock --luks2 --device DEV --key-file F [--name N] [--force]
 *                            LUKS2 on a block device instead (build option TENDER_LUKS2)
 *
 * The store directory comes from --root, or from store.root of the configuration.
 */
#include "tenderctl_store.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tender/config.h"
#include "tender/fscrypt.h"
#include "tender/luks2.h"

struct store_args {
        const char *config;
        const char *root;
        const char *key_file;
        const char *device; /* --luks2 */
        const char *name;
        bool luks2;
        bool force;
        bool json;
        struct tender_config *cfg;
};

static void store_args_done(struct store_args *a) {
        tender_config_free(a->cfg);
}

static void store_usage(FILE *f) {
        fprintf(f, "Usage: tenderctl store provision|unlock --key-file FILE [--root DIR]\n"
                   "       tenderctl store lock|status [--json] [--root DIR]\n"
                   "       (--config FILE instead of --root: the store.root it names)\n"
                   "       tenderctl store provision|unlock --luks2 --device DEV --key-file FILE\n"
                   "                 [--name NAME] [--force]\n");
}

static int parse_store_args(int argc, char **argv, struct store_args *a) {
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'},   {"root", required_argument, NULL, 'r'},
                {"key-file", required_argument, NULL, 'k'}, {"json", no_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},           {"luks2", no_argument, NULL, 'L'},
                {"device", required_argument, NULL, 'D'},   {"name", required_argument, NULL, 'N'},
                {"force", no_argument, NULL, 'F'},          {},
        };
        struct tender_error err = {0};
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "c:r:k:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        a->config = optarg;
                        break;
                case 'r':
                        a->root = optarg;
                        break;
                case 'k':
                        a->key_file = optarg;
                        break;
                case 'j':
                        a->json = true;
                        break;
                case 'L':
                        a->luks2 = true;
                        break;
                case 'D':
                        a->device = optarg;
                        break;
                case 'N':
                        a->name = optarg;
                        break;
                case 'F':
                        a->force = true;
                        break;
                case 'h':
                        store_usage(stdout);
                        return 0;
                default:
                        store_usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind != argc) {
                store_usage(stderr);
                return -EINVAL;
        }
        if (!a->root && !a->luks2) { /* LUKS2 works on a device, not the store directory */
                const char *path = a->config ? a->config : TENDER_CONFIG_PATH_DEFAULT;
                if (tender_config_load(path, &a->cfg, &err) < 0) {
                        fprintf(stderr, "tenderctl: %s\n", err.message); /* names the path */
                        return -EINVAL;
                }
                a->root = a->cfg->store_root;
        }
        return 1;
}

static int with_key(const struct store_args *a, bool provision) {
        uint8_t key[TENDER_FSCRYPT_KEY_SIZE], id[TENDER_FSCRYPT_KEY_ID_SIZE];
        struct tender_error err = {0};
        int r;
        if (!a->key_file) {
                fprintf(stderr, "tenderctl: --key-file is required\n");
                return 2;
        }
        r = tender_fscrypt_key_load(a->key_file, key, &err);
        if (r >= 0)
                r = provision ? tender_fscrypt_provision(a->root, key, id, &err)
                              : tender_fscrypt_unlock(a->root, key, &err);
        explicit_bzero(key, sizeof(key));
        if (r < 0) {
                fprintf(stderr, "tenderctl: %s\n", err.message);
                return 1;
        }
        if (provision) {
                printf("%s: fscrypt policy v2 (AES-256-XTS, AES-256-CTS), key ", a->root);
                for (size_t i = 0; i < sizeof(id); i++)
                        printf("%02x", id[i]);
                printf("\n");
        }
        return 0;
}

#ifdef TENDER_HAVE_LUKS2
static int with_luks2(const struct store_args *a, bool provision) {
        uint8_t key[TENDER_FSCRYPT_KEY_SIZE];
        struct tender_error err = {0};
        const char *name = a->name ? a->name : TENDER_LUKS2_NAME_DEFAULT;
        int r;
        if (!a->device || !a->key_file) {
                fprintf(stderr, "tenderctl: --luks2 needs --device and --key-file\n");
                return 2;
        }
        r = tender_luks2_name_check(name, &err);
        if (r >= 0)
                r = tender_fscrypt_key_load(a->key_file, key, &err);
        if (r >= 0)
                r = provision ? tender_luks2_provision(a->device, name, key, a->force, &err)
                              : tender_luks2_unlock(a->device, name, key, &err);
        explicit_bzero(key, sizeof(key));
        if (r < 0) {
                fprintf(stderr, "tenderctl: %s\n", err.message);
                return 1;
        }
        if (provision)
                printf("%s: LUKS2 (aes-xts-plain64, 512-bit key, argon2id) open as /dev/mapper/%s\n"
                       "next: mkfs.ext4 /dev/mapper/%s, mount it on the store's file system, and "
                       "unlock at boot with tenderctl store unlock --luks2\n",
                       a->device, name, name);
        else
                printf("%s: %s /dev/mapper/%s\n", a->device,
                       r > 0 ? "already active as" : "open as", name);
        return 0;
}
#else
static int with_luks2(const struct store_args *a, bool provision) {
        fprintf(stderr, "tenderctl: built without LUKS2 support (TENDER_LUKS2)\n");
        return 1;
}
#endif

static int show_status(const struct store_args *a) {
        struct tender_encryption_status st = {0};
        struct tender_error err = {0};
        char id[2 * TENDER_FSCRYPT_KEY_ID_SIZE + 1] = "";
        int r = tender_encryption_check(a->root, false, &st, &err);
        if (r < 0 && r != -ENOKEY && r != -EPERM) {
                fprintf(stderr, "tenderctl: %s\n", err.message);
                return 1;
        }
        for (size_t i = 0; st.policy_version == 2 && i < sizeof(st.key_id); i++)
                sprintf(id + 2 * i, "%02x", st.key_id[i]);
        const char *kind = tender_encryption_kind_name(st.kind);
        if (a->json) {
                cJSON *o = cJSON_CreateObject();
                _cleanup_free_ char *out = NULL;
                if (o && cJSON_AddStringToObject(o, "root", a->root) &&
                    cJSON_AddStringToObject(o, "encryption", kind) &&
                    cJSON_AddBoolToObject(o, "locked", st.locked) &&
                    cJSON_AddStringToObject(o, "keyId", id) &&
                    cJSON_AddStringToObject(o, "device", st.device))
                        out = cJSON_PrintUnformatted(o);
                cJSON_Delete(o);
                if (!out)
                        return 1;
                printf("%s\n", out);
        } else if (st.kind == TENDER_ENCRYPTION_FSCRYPT)
                printf("%s: fscrypt policy v%d, key %s, %s\n", a->root, st.policy_version,
                       *id ? id : "(v1)", st.locked ? "locked" : "unlocked");
        else if (st.kind == TENDER_ENCRYPTION_DM_CRYPT)
                printf("%s: on dm-crypt device %s\n", a->root, st.device);
        else
                printf("%s: not encrypted\n", a->root);
        if (r < 0)
                fprintf(stderr, "tenderctl: %s\n", err.message);
        return r < 0 ? 1 : 0;
}

int tenderctl_store(int argc, char **argv) {
        _cleanup_(store_args_done) struct store_args a = {0};
        struct tender_error err = {0};
        if (argc < 2) {
                store_usage(stderr);
                return 2;
        }
        const char *verb = argv[1];
        if (STREQ(verb, "--help") || STREQ(verb, "-h")) {
                store_usage(stdout);
                return 0;
        }
        int r = parse_store_args(argc - 1, argv + 1, &a);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        if (a.luks2 && (STREQ(verb, "provision") || STREQ(verb, "unlock")))
                return with_luks2(&a, STREQ(verb, "provision"));
        if (a.luks2 || a.device || a.name || a.force) {
                fprintf(stderr, "tenderctl: --luks2, --device, --name and --force go with "
                                "provision --luks2 or unlock --luks2\n");
                return 2;
        }
        if (STREQ(verb, "provision"))
                return with_key(&a, true);
        if (STREQ(verb, "unlock"))
                return with_key(&a, false);
        if (STREQ(verb, "status"))
                return show_status(&a);
        if (STREQ(verb, "lock")) {
                if (tender_fscrypt_lock(a.root, &err) < 0) {
                        fprintf(stderr, "tenderctl: %s\n", err.message);
                        return 1;
                }
                return 0;
        }
        store_usage(stderr);
        return 2;
}
