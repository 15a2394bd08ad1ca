/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI runtime spec (config.json) parsed into what the runtime honours. Every field is checked
 * before anything is created; errors name the JSON path of the bad field ("mounts[2].options").
 * Fields the runtime cannot honour yet (user namespaces, seccomp, a terminal) are refused rather
 * than ignored.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tender/error.h"
#include "tender/json.h"

#define TENDER_RT_SPEC_MAX_SIZE (4u << 20)
#define TENDER_RT_SPEC_MAX_DEPTH 16
#define TENDER_RT_MAX_ARGS 4096
#define TENDER_RT_MAX_ENV 4096
#define TENDER_RT_MAX_MOUNTS 256
#define TENDER_RT_MAX_MOUNT_OPTIONS 64
#define TENDER_RT_MAX_GIDS 64
#define TENDER_RT_MAX_PATHS 256
#define TENDER_RT_MAX_NAMESPACES 8
#define TENDER_RT_HOSTNAME_MAX 64
#define TENDER_RT_CGROUP_PATH_MAX 1024

struct tender_rt_mount {
        const char *destination; /* absolute, inside the container */
        const char *type;        /* "bind" for bind mounts */
        const char *source;      /* may be NULL for pseudo file systems */
        unsigned long flags;     /* MS_* without propagation */
        unsigned long propagation;
        bool bind;
        char *data; /* unrecognised options joined by ',' (malloc'd, may be NULL) */
};

struct tender_rt_namespace {
        int type;         /* CLONE_NEW* */
        const char *path; /* join this namespace instead of creating one; may be NULL */
};

struct tender_rt_spec {
        cJSON *json;  /* owns every const char * below */
        char *bundle; /* absolute */
        char *rootfs; /* absolute, resolved against the bundle */
        bool readonly;

        char **args;
        char **env;
        const char *cwd;
        uint32_t uid, gid;
        gid_t *gids;
        size_t n_gids;
        bool no_new_privileges;
        const char *hostname;

        struct tender_rt_mount *mounts;
        size_t n_mounts;
        struct tender_rt_namespace namespaces[TENDER_RT_MAX_NAMESPACES];
        size_t n_namespaces;
        unsigned long rootfs_propagation;
        char **masked_paths;
        char **readonly_paths;

        const char *cgroups_path; /* NULL: the default /tender/<id> */
        int64_t memory_limit;     /* bytes, -1 when unlimited */
        int64_t pids_limit;       /* -1 when unlimited */

        const cJSON *annotations; /* object of strings, may be NULL */
};

/* Parses bundle/config.json. *ret is malloc'd; free with tender_rt_spec_free. Errors are
 * TENDER_ERR_CONFIG naming the JSON path of the bad field, or the file that could not be read. */
int tender_rt_spec_load(const char *bundle, struct tender_rt_spec **ret, struct tender_error *err);
void tender_rt_spec_free(struct tender_rt_spec *spec);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_rt_spec, tender_rt_spec_free);

/* Does the spec ask for a new namespace of this CLONE_NEW* type (without a path)? */
bool tender_rt_spec_new_namespace(const struct tender_rt_spec *spec, int type);
/* Looks up the namespace entry of a type, or NULL. */
const struct tender_rt_namespace *tender_rt_spec_namespace(const struct tender_rt_spec *spec,
                                                           int type);

/* The default config.json written by `tender-runtime spec` (static text). */
const char *tender_rt_spec_default(void);
