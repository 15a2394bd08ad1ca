/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI runtime spec (config.json) parsed into what the runtime honours. Every field is checked
 * before anything is created; errors name the JSON path of the bad field ("mounts[2].options").
 * Fields the runtime cannot honour are refused rather than ignored.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tender/error.h"
#include "tender/json.h"

/* A field of config.json the runtime refuses: EINVAL in the config domain, for the parsers of
 * spec.c, spec_linux.c and seccomp_filter.c. */
#define config_error(err, ...) tender_error_set((err), TENDER_ERR_CONFIG, EINVAL, __VA_ARGS__)

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
#define TENDER_RT_MAX_IDMAPS 64 /* the kernel takes 340; a handful is normal */
#define TENDER_RT_MAX_RLIMITS 16
#define TENDER_RT_MAX_DEVICES 128
#define TENDER_RT_MAX_DEVICE_RULES 256
#define TENDER_RT_MAX_SYSCTLS 64
#define TENDER_RT_MAX_SECCOMP_RULES 1024
#define TENDER_RT_MAX_SECCOMP_NAMES 1024
#define TENDER_RT_CPUSET_MAX 256
#define TENDER_RT_MAX_THROTTLE 16
#define TENDER_RT_MAX_HUGEPAGES 8
#define TENDER_RT_MAX_NET_PRIORITIES 32
#define TENDER_RT_PAGE_SIZE_MAX 16
#define TENDER_RT_IFNAME_MAX 16

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

struct tender_rt_idmap {
        uint32_t container_id, host_id, size;
};

struct tender_rt_rlimit {
        int resource; /* RLIMIT_* */
        uint64_t soft, hard;
};

/* The five capability sets as bit masks (1 << CAP_*); all empty without process.capabilities,
 * as with runc and crun. */
struct tender_rt_caps {
        uint64_t bounding, effective, inheritable, permitted, ambient;
        /* Ambient capabilities the config names outside permitted & inheritable: the kernel
         * would not raise them, so they are left out of ambient (create warns, as runc does). */
        uint64_t ambient_dropped;
};

struct tender_rt_device {
        const char *path; /* absolute, inside the container */
        char type;        /* 'c', 'b', 'u' or 'p' */
        uint32_t major, minor;
        uint32_t mode; /* permission bits */
        uint32_t uid, gid;
};

struct tender_rt_device_rule {
        bool allow;
        char type;          /* 'a', 'c' or 'b' */
        int64_t major;      /* -1: any */
        int64_t minor;      /* -1: any */
        const char *access; /* subset of "rwm" */
};

struct tender_rt_sysctl {
        const char *key; /* "net.ipv4.ip_forward" */
        const char *value;
};

struct tender_rt_cpu {
        uint64_t shares;  /* 0: unset */
        int64_t quota;    /* microseconds per period, -1: unset or unlimited */
        uint64_t period;  /* 0: unset */
        const char *cpus; /* cpuset, NULL: unset */
        const char *mems;
};

/* One entry of linux.resources.blockIO.throttle*Device. */
struct tender_rt_throttle {
        uint32_t major, minor;
        uint64_t rate;
};

enum tender_rt_throttle_kind {
        TENDER_RT_THROTTLE_READ_BPS,
        TENDER_RT_THROTTLE_WRITE_BPS,
        TENDER_RT_THROTTLE_READ_IOPS,
        TENDER_RT_THROTTLE_WRITE_IOPS,
        TENDER_RT_THROTTLE_KINDS,
};

struct tender_rt_hugepage {
        char page_size[TENDER_RT_PAGE_SIZE_MAX]; /* "2MB", "1GB", "64KB" */
        uint64_t limit;                          /* bytes */
};

struct tender_rt_net_priority {
        char name[TENDER_RT_IFNAME_MAX]; /* interface */
        uint32_t priority;
};

/* The limits of controllers many machines lack: blkio throttling, hugetlb, net_cls and
 * net_prio (linux.resources.blockIO.throttle*, hugepageLimits, network). */
struct tender_rt_device_limits {
        struct tender_rt_throttle throttle[TENDER_RT_THROTTLE_KINDS][TENDER_RT_MAX_THROTTLE];
        size_t n_throttle[TENDER_RT_THROTTLE_KINDS];
        struct tender_rt_hugepage hugepages[TENDER_RT_MAX_HUGEPAGES];
        size_t n_hugepages;
        bool has_class_id;
        uint32_t class_id;
        struct tender_rt_net_priority priorities[TENDER_RT_MAX_NET_PRIORITIES];
        size_t n_priorities;
};

/* Names of the throttle kinds in config.json ("throttleReadBpsDevice"), by kind. */
extern const char *const tender_rt_throttle_names[TENDER_RT_THROTTLE_KINDS];

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
        bool terminal; /* process.terminal: a pty, its master sent to --console-socket */
        const char *hostname;

        struct tender_rt_mount *mounts;
        size_t n_mounts;
        struct tender_rt_namespace namespaces[TENDER_RT_MAX_NAMESPACES];
        size_t n_namespaces;
        unsigned long rootfs_propagation;
        bool rootfs_propagation_set; /* linux.rootfsPropagation given: applied to / at the end */
        char **masked_paths;
        char **readonly_paths;

        const char *cgroups_path;   /* NULL: the default /tender/<id> */
        int64_t memory_limit;       /* bytes, -1 when unlimited */
        int64_t memory_reservation; /* bytes (soft limit), -1 when unset */
        int64_t memory_swap;        /* bytes of memory plus swap, -1 when unset */
        int64_t memory_swappiness;  /* 0-100, -1 when unset */
        bool disable_oom_killer;    /* linux.resources.memory.disableOOMKiller */
        int64_t pids_limit;         /* -1 when unlimited */
        uint64_t blkio_weight;      /* linux.resources.blockIO.weight, 0 when unset */
        struct tender_rt_device_limits device_limits;

        const cJSON *annotations; /* object of strings, may be NULL */

        /* Security and resources, parsed by spec_linux.c. */
        struct tender_rt_idmap uid_mappings[TENDER_RT_MAX_IDMAPS];
        size_t n_uid_mappings;
        struct tender_rt_idmap gid_mappings[TENDER_RT_MAX_IDMAPS];
        size_t n_gid_mappings;
        struct tender_rt_caps caps;
        struct tender_rt_rlimit rlimits[TENDER_RT_MAX_RLIMITS];
        size_t n_rlimits;
        bool has_oom_score_adj;
        int oom_score_adj;
        struct tender_rt_device *devices;
        size_t n_devices;
        struct tender_rt_device_rule *device_rules;
        size_t n_device_rules;
        bool has_device_rules; /* linux.resources.devices present (may be empty) */
        struct tender_rt_sysctl *sysctls;
        size_t n_sysctls;
        struct tender_rt_cpu cpu;
        struct tender_rt_seccomp *seccomp; /* compiled filter, NULL when none */
        const cJSON *hooks;                /* checked "hooks" object, NULL when none */
};

/* Parses bundle/config.json. *ret is malloc'd; free with tender_rt_spec_free. Errors are
 * TENDER_ERR_CONFIG naming the JSON path of the bad field, or the file that could not be read. */
int tender_rt_spec_load(const char *bundle, struct tender_rt_spec **ret, struct tender_error *err);
/* Adds the features document's "mountOptions" (to root) and "namespaces" (to linux_): exactly
 * what the parser accepts. */
int tender_rt_spec_features(cJSON *root, cJSON *linux_);
void tender_rt_spec_free(struct tender_rt_spec *spec);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_rt_spec, tender_rt_spec_free);

/* Parsers of spec_linux.c, called by tender_rt_spec_load. */
int tender_rt_spec_parse_process_security(struct tender_rt_spec *spec, const cJSON *process,
                                          struct tender_error *err);
/* linux.resources.blockIO's throttle*Device lists (bio: the blockIO object). */
int tender_rt_spec_parse_throttle(struct tender_rt_spec *spec, const cJSON *bio,
                                  struct tender_error *err);
int tender_rt_spec_parse_linux_security(struct tender_rt_spec *spec, const cJSON *linux_,
                                        struct tender_error *err);
/* The host id that container id `id` maps to, or -1 when unmapped (without a user namespace: id).
 */
int64_t tender_rt_spec_host_uid(const struct tender_rt_spec *spec, uint32_t id);
int64_t tender_rt_spec_host_gid(const struct tender_rt_spec *spec, uint32_t id);

/* Members of obj (at JSON path) not in known (NULL-terminated) that are not null, false or
 * empty: refused naming the first, since tender-runtime does not implement them (never dropped
 * silently). */
int tender_rt_spec_refuse_unknown(const cJSON *obj, const char *path, const char *const *known,
                                  struct tender_error *err);

/* Does the spec ask for a new namespace of this CLONE_NEW* type (without a path)? */
bool tender_rt_spec_new_namespace(const struct tender_rt_spec *spec, int type);
/* Looks up the namespace entry of a type, or NULL. */
const struct tender_rt_namespace *tender_rt_spec_namespace(const struct tender_rt_spec *spec,
                                                           int type);
