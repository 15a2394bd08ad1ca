/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The security and resource parts of config.json: id mappings, capabilities, rlimits,
 * oomScoreAdj, devices, device cgroup rules, sysctl, CPU limits and seccomp. Like spec.c, every
 * refusal names the JSON path of the bad field.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "seccomp_filter.h"
#include "spec.h"
#include "tender/oci_spec.h"

#define PATH_NAME_MAX 96
#define OOM_SCORE_ADJ_MIN (-1000)
#define OOM_SCORE_ADJ_MAX 1000

/* Index = CAP_* number (linux/capability.h), up to CAP_CHECKPOINT_RESTORE (40). */

static const struct {
        const char *name;
        int resource;
} rlimit_names[] = {
        {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_CORE", RLIMIT_CORE},
        {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
        {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
        {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK},
};

/* Namespaced sysctls (as runc allows them) and the namespace each needs. */
static const struct {
        const char *prefix;
        bool exact;
        int ns;
} sysctl_allowed[] = {
        {"kernel.msgmax", true, CLONE_NEWIPC},     {"kernel.msgmnb", true, CLONE_NEWIPC},
        {"kernel.msgmni", true, CLONE_NEWIPC},     {"kernel.sem", true, CLONE_NEWIPC},
        {"kernel.shmall", true, CLONE_NEWIPC},     {"kernel.shmmax", true, CLONE_NEWIPC},
        {"kernel.shmmni", true, CLONE_NEWIPC},     {"kernel.shm_rmid_forced", true, CLONE_NEWIPC},
        {"fs.mqueue.", false, CLONE_NEWIPC},       {"kernel.hostname", true, CLONE_NEWUTS},
        {"kernel.domainname", true, CLONE_NEWUTS}, {"net.", false, CLONE_NEWNET},
};

static int64_t map_id(const struct tender_rt_idmap *maps, size_t n, uint32_t id) {
        for (size_t i = 0; i < n; i++)
                if (id >= maps[i].container_id && id - maps[i].container_id < maps[i].size)
                        return (int64_t) maps[i].host_id + (id - maps[i].container_id);
        return -1;
}

int64_t tender_rt_spec_host_uid(const struct tender_rt_spec *spec, uint32_t id) {
        if (!tender_rt_spec_new_namespace(spec, CLONE_NEWUSER))
                return id;
        return map_id(spec->uid_mappings, spec->n_uid_mappings, id);
}

int64_t tender_rt_spec_host_gid(const struct tender_rt_spec *spec, uint32_t id) {
        if (!tender_rt_spec_new_namespace(spec, CLONE_NEWUSER))
                return id;
        return map_id(spec->gid_mappings, spec->n_gid_mappings, id);
}

/* A whole number in [min, max] (JSON numbers are doubles). */
static int get_int(const cJSON *obj, const char *path, const char *key, bool required, double min,
                   double max, double *ret, struct tender_error *err) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
        if (!item) {
                if (required)
                        return tender_error_set(err, TENDER_ERR_CONFIG, ENOENT, "%s.%s: missing",
                                                path, key);
                return 0;
        }
        if (!cJSON_IsNumber(item) || item->valuedouble < min || item->valuedouble > max ||
            item->valuedouble != (double) (int64_t) item->valuedouble)
                return config_error(err, "%s.%s: expected a whole number between %.0f and %.0f",
                                    path, key, min, max);
        *ret = item->valuedouble;
        return 1;
}

static int parse_idmaps(const cJSON *linux_, const char *key, struct tender_rt_idmap *maps,
                        size_t *n, struct tender_error *err) {
        const cJSON *list = NULL, *item;
        int r = tender_json_get_array(linux_, "linux", key, false, &list, err);
        if (r < 0 || !list)
                return r;
        cJSON_ArrayForEach(item, list) {
                char path[PATH_NAME_MAX];
                snprintf(path, sizeof(path), "linux.%s[%zu]", key, *n);
                if (*n >= TENDER_RT_MAX_IDMAPS)
                        return config_error(err, "linux.%s: more than %d entries", key,
                                            TENDER_RT_MAX_IDMAPS);
                if (!cJSON_IsObject(item))
                        return config_error(err, "%s: not an object", path);
                double c = 0, h = 0, s = 0;
                if ((r = get_int(item, path, "containerID", true, 0, UINT32_MAX - 1.0, &c, err)) <
                            0 ||
                    (r = get_int(item, path, "hostID", true, 0, UINT32_MAX - 1.0, &h, err)) < 0 ||
                    (r = get_int(item, path, "size", true, 1, UINT32_MAX, &s, err)) < 0)
                        return r;
                if (c + s > UINT32_MAX || h + s > UINT32_MAX)
                        return config_error(err, "%s.size: the range passes 2^32", path);
                maps[(*n)++] = (struct tender_rt_idmap){(uint32_t) c, (uint32_t) h, (uint32_t) s};
        }
        return 0;
}

static int parse_cap_set(const cJSON *caps, const char *key, uint64_t *ret,
                         struct tender_error *err) {
        char **names = NULL;
        int r = tender_json_get_strv(caps, "process.capabilities", key, false, 64, &names, err);
        if (r < 0)
                return r;
        *ret = 0;
        for (size_t i = 0; names && names[i]; i++) {
                int c = tender_oci_cap_from_name(names[i]);
                if (c < 0) {
                        r = config_error(err,
                                         "process.capabilities.%s[%zu]: unknown capability "
                                         "\"%s\"",
                                         key, i, names[i]);
                        break;
                }
                *ret |= UINT64_C(1) << c;
        }
        tender_strv_free(names);
        return r < 0 ? r : 0;
}

static int parse_caps(struct tender_rt_spec *spec, const cJSON *process, struct tender_error *err) {
        const cJSON *caps = NULL;
        int r = tender_json_get_object(process, "process", "capabilities", false, &caps, err);
        /* Absent: every set stays empty, as with runc and crun (the spec names what to keep). */
        if (r < 0 || !caps)
                return r;
        struct tender_rt_caps *c = &spec->caps;
        if ((r = parse_cap_set(caps, "bounding", &c->bounding, err)) < 0 ||
            (r = parse_cap_set(caps, "effective", &c->effective, err)) < 0 ||
            (r = parse_cap_set(caps, "inheritable", &c->inheritable, err)) < 0 ||
            (r = parse_cap_set(caps, "permitted", &c->permitted, err)) < 0 ||
            (r = parse_cap_set(caps, "ambient", &c->ambient, err)) < 0)
                return r;
        /* The kernel would refuse these at capset/prctl time, after create succeeded. */
        if (c->effective & ~c->permitted)
                return config_error(err, "process.capabilities.effective: not a subset of "
                                         "permitted");
        /* As runc and crun: the kernel raises no ambient capability outside permitted and
         * inheritable; those are left out (create warns), not a reason to refuse. */
        c->ambient_dropped = c->ambient & ~(c->permitted & c->inheritable);
        c->ambient &= c->permitted & c->inheritable;
        return 0;
}

static int parse_rlimits(struct tender_rt_spec *spec, const cJSON *process,
                         struct tender_error *err) {
        const cJSON *list = NULL, *item;
        int r = tender_json_get_array(process, "process", "rlimits", false, &list, err);
        if (r < 0 || !list)
                return r;
        cJSON_ArrayForEach(item, list) {
                char path[PATH_NAME_MAX];
                snprintf(path, sizeof(path), "process.rlimits[%zu]", spec->n_rlimits);
                if (spec->n_rlimits >= TENDER_RT_MAX_RLIMITS)
                        return config_error(err, "process.rlimits: more than %d entries",
                                            TENDER_RT_MAX_RLIMITS);
                const char *type = NULL;
                uint64_t soft = 0, hard = 0;
                if (!cJSON_IsObject(item))
                        return config_error(err, "%s: not an object", path);
                if ((r = tender_json_get_string(item, path, "type", true, &type, err)) < 0 ||
                    (r = tender_json_get_u64(item, path, "soft", true, &soft, err)) < 0 ||
                    (r = tender_json_get_u64(item, path, "hard", true, &hard, err)) < 0)
                        return r;
                int res = -1;
                for (size_t k = 0; k < ELEMENTSOF(rlimit_names); k++)
                        if (STREQ(type, rlimit_names[k].name))
                                res = rlimit_names[k].resource;
                if (res < 0)
                        return config_error(err, "%s.type: unknown rlimit \"%s\"", path, type);
                for (size_t k = 0; k < spec->n_rlimits; k++)
                        if (spec->rlimits[k].resource == res)
                                return config_error(err, "%s.type: \"%s\" listed twice", path,
                                                    type);
                if (soft > hard)
                        return config_error(err, "%s.soft: above hard", path);
                spec->rlimits[spec->n_rlimits++] = (struct tender_rt_rlimit){res, soft, hard};
        }
        return 0;
}

int tender_rt_spec_parse_process_security(struct tender_rt_spec *spec, const cJSON *process,
                                          struct tender_error *err) {
        double oom = 0;
        int r;
        if ((r = parse_caps(spec, process, err)) < 0 || (r = parse_rlimits(spec, process, err)) < 0)
                return r;
        r = get_int(process, "process", "oomScoreAdj", false, OOM_SCORE_ADJ_MIN, OOM_SCORE_ADJ_MAX,
                    &oom, err);
        if (r < 0)
                return r;
        spec->has_oom_score_adj = r > 0;
        spec->oom_score_adj = (int) oom;
        return 0;
}

static int parse_device(const cJSON *item, const char *path, struct tender_rt_device *d,
                        struct tender_error *err) {
        const char *type = NULL;
        double major = 0, minor = 0, mode = 0666, uid = 0, gid = 0;
        int r;
        if (!cJSON_IsObject(item))
                return config_error(err, "%s: not an object", path);
        if ((r = tender_json_get_string(item, path, "path", true, &d->path, err)) < 0 ||
            (r = tender_json_get_string(item, path, "type", true, &type, err)) < 0 ||
            (r = get_int(item, path, "major", false, 0, 4095, &major, err)) < 0 ||
            (r = get_int(item, path, "minor", false, 0, 1048575, &minor, err)) < 0 ||
            (r = get_int(item, path, "fileMode", false, 0, 07777, &mode, err)) < 0 ||
            (r = get_int(item, path, "uid", false, 0, UINT32_MAX - 1.0, &uid, err)) < 0 ||
            (r = get_int(item, path, "gid", false, 0, UINT32_MAX - 1.0, &gid, err)) < 0)
                return r;
        if (d->path[0] != '/' || !strncmp(d->path, "/..", 3) || strstr(d->path, "/../"))
                return config_error(err, "%s.path: must be an absolute path without \"..\"", path);
        if (strlen(type) != 1 || !strchr("cbup", type[0]))
                return config_error(err, "%s.type: expected c, b, u or p", path);
        if (type[0] != 'p' && (!cJSON_GetObjectItemCaseSensitive(item, "major") ||
                               !cJSON_GetObjectItemCaseSensitive(item, "minor")))
                return config_error(err, "%s: a %s device needs major and minor", path, type);
        *d = (struct tender_rt_device){d->path,          type[0],         (uint32_t) major,
                                       (uint32_t) minor, (uint32_t) mode, (uint32_t) uid,
                                       (uint32_t) gid};
        return 0;
}

static int parse_devices(struct tender_rt_spec *spec, const cJSON *linux_,
                         struct tender_error *err) {
        const cJSON *list = NULL, *item;
        int r = tender_json_get_array(linux_, "linux", "devices", false, &list, err);
        if (r < 0 || !list)
                return r;
        int n = cJSON_GetArraySize(list);
        if (n > TENDER_RT_MAX_DEVICES)
                return config_error(err, "linux.devices: more than %d entries",
                                    TENDER_RT_MAX_DEVICES);
        spec->devices = calloc((size_t) n + 1, sizeof(*spec->devices));
        if (!spec->devices)
                return -ENOMEM;
        cJSON_ArrayForEach(item, list) {
                char path[PATH_NAME_MAX];
                snprintf(path, sizeof(path), "linux.devices[%zu]", spec->n_devices);
                if ((r = parse_device(item, path, &spec->devices[spec->n_devices], err)) < 0)
                        return r;
                spec->n_devices++;
        }
        return 0;
}

static int parse_device_rule(const cJSON *item, const char *path, struct tender_rt_device_rule *d,
                             struct tender_error *err) {
        const char *type = "a";
        double major = -1, minor = -1;
        int r;
        d->access = "rwm";
        if (!cJSON_IsObject(item))
                return config_error(err, "%s: not an object", path);
        if ((r = tender_json_get_bool(item, path, "allow", true, &d->allow, err)) < 0 ||
            (r = tender_json_get_string(item, path, "type", false, &type, err)) < 0 ||
            (r = tender_json_get_string(item, path, "access", false, &d->access, err)) < 0 ||
            (r = get_int(item, path, "major", false, -1, 4095, &major, err)) < 0 ||
            (r = get_int(item, path, "minor", false, -1, 1048575, &minor, err)) < 0)
                return r;
        if (strlen(type) != 1 || !strchr("acb", type[0]))
                return config_error(err, "%s.type: expected a, c or b", path);
        if (!d->access[0] || strspn(d->access, "rwm") != strlen(d->access) || strlen(d->access) > 3)
                return config_error(err, "%s.access: expected letters of \"rwm\"", path);
        d->type = type[0];
        d->major = (int64_t) major;
        d->minor = (int64_t) minor;
        return 0;
}

const char *const tender_rt_throttle_names[TENDER_RT_THROTTLE_KINDS] = {
        "throttleReadBpsDevice",
        "throttleWriteBpsDevice",
        "throttleReadIOPSDevice",
        "throttleWriteIOPSDevice",
};

int tender_rt_spec_parse_throttle(struct tender_rt_spec *spec, const cJSON *bio,
                                  struct tender_error *err) {
        struct tender_rt_device_limits *d = &spec->device_limits;
        for (size_t k = 0; k < TENDER_RT_THROTTLE_KINDS; k++) {
                const cJSON *list = NULL, *item;
                int r = tender_json_get_array(bio, "linux.resources.blockIO",
                                              tender_rt_throttle_names[k], false, &list, err);
                if (r < 0)
                        return r;
                if (!list)
                        continue;
                cJSON_ArrayForEach(item, list) {
                        char path[PATH_NAME_MAX];
                        double major = 0, minor = 0;
                        uint64_t rate = 0;
                        snprintf(path, sizeof(path), "linux.resources.blockIO.%s[%zu]",
                                 tender_rt_throttle_names[k], d->n_throttle[k]);
                        if (d->n_throttle[k] >= TENDER_RT_MAX_THROTTLE)
                                return config_error(err, "%s: more than %d entries", path,
                                                    TENDER_RT_MAX_THROTTLE);
                        if (!cJSON_IsObject(item))
                                return config_error(err, "%s: not an object", path);
                        if ((r = get_int(item, path, "major", true, 0, 4095, &major, err)) < 0 ||
                            (r = get_int(item, path, "minor", true, 0, 1048575, &minor, err)) < 0 ||
                            (r = tender_json_get_u64(item, path, "rate", true, &rate, err)) < 0)
                                return r;
                        d->throttle[k][d->n_throttle[k]++] = (struct tender_rt_throttle){
                                (uint32_t) major, (uint32_t) minor, rate};
                }
        }
        return 0;
}

/* "2MB", "1GB", "64KB": the suffix of the hugetlb.<size>.* cgroup files. */
static bool page_size_valid(const char *s) {
        size_t digits = strspn(s, "0123456789");
        return digits > 0 && digits < TENDER_RT_PAGE_SIZE_MAX - 3 && s[0] != '0' &&
               strlen(s + digits) == 2 && strchr("KMG", s[digits]) && s[digits + 1] == 'B';
}

static int parse_hugepages(struct tender_rt_spec *spec, const cJSON *res,
                           struct tender_error *err) {
        struct tender_rt_device_limits *d = &spec->device_limits;
        const cJSON *list = NULL, *item;
        int r = tender_json_get_array(res, "linux.resources", "hugepageLimits", false, &list, err);
        if (r < 0 || !list)
                return r;
        cJSON_ArrayForEach(item, list) {
                char path[PATH_NAME_MAX];
                const char *size = NULL;
                struct tender_rt_hugepage *h = &d->hugepages[d->n_hugepages];
                snprintf(path, sizeof(path), "linux.resources.hugepageLimits[%zu]", d->n_hugepages);
                if (d->n_hugepages >= TENDER_RT_MAX_HUGEPAGES)
                        return config_error(err, "%s: more than %d entries", path,
                                            TENDER_RT_MAX_HUGEPAGES);
                if (!cJSON_IsObject(item))
                        return config_error(err, "%s: not an object", path);
                if ((r = tender_json_get_string(item, path, "pageSize", true, &size, err)) < 0 ||
                    (r = tender_json_get_u64(item, path, "limit", true, &h->limit, err)) < 0)
                        return r;
                if (!page_size_valid(size))
                        return config_error(err, "%s.pageSize: expected a size such as \"2MB\"",
                                            path);
                snprintf(h->page_size, sizeof(h->page_size), "%s", size);
                d->n_hugepages++;
        }
        return 0;
}

static int parse_network(struct tender_rt_spec *spec, const cJSON *res, struct tender_error *err) {
        static const char *const known[] = {"classID", "priorities", NULL};
        struct tender_rt_device_limits *d = &spec->device_limits;
        const char *p = "linux.resources.network";
        const cJSON *net = NULL, *list = NULL, *item;
        double v = 0;
        int r = tender_json_get_object(res, "linux.resources", "network", false, &net, err);
        if (r < 0 || !net)
                return r;
        if ((r = tender_rt_spec_refuse_unknown(net, p, known, err)) < 0 ||
            (r = get_int(net, p, "classID", false, 0, UINT32_MAX, &v, err)) < 0)
                return r;
        d->has_class_id = r > 0;
        d->class_id = (uint32_t) v;
        if ((r = tender_json_get_array(net, p, "priorities", false, &list, err)) < 0 || !list)
                return r;
        cJSON_ArrayForEach(item, list) {
                char path[PATH_NAME_MAX];
                const char *name = NULL;
                snprintf(path, sizeof(path), "%s.priorities[%zu]", p, d->n_priorities);
                if (d->n_priorities >= TENDER_RT_MAX_NET_PRIORITIES)
                        return config_error(err, "%s: more than %d entries", path,
                                            TENDER_RT_MAX_NET_PRIORITIES);
                if (!cJSON_IsObject(item))
                        return config_error(err, "%s: not an object", path);
                if ((r = tender_json_get_string(item, path, "name", true, &name, err)) < 0 ||
                    (r = get_int(item, path, "priority", true, 0, UINT32_MAX, &v, err)) < 0)
                        return r;
                if (!name[0] || strlen(name) >= TENDER_RT_IFNAME_MAX ||
                    strcspn(name, "/: \t\n") != strlen(name))
                        return config_error(err, "%s.name: not an interface name", path);
                struct tender_rt_net_priority *np = &d->priorities[d->n_priorities++];
                snprintf(np->name, sizeof(np->name), "%s", name);
                np->priority = (uint32_t) v;
        }
        return 0;
}

static int parse_resources(struct tender_rt_spec *spec, const cJSON *linux_,
                           struct tender_error *err) {
        const cJSON *res = NULL, *cpu = NULL, *list = NULL, *item;
        double v = 0;
        int r = tender_json_get_object(linux_, "linux", "resources", false, &res, err);
        if (r < 0 || !res)
                return r;
        if ((r = parse_hugepages(spec, res, err)) < 0 || (r = parse_network(spec, res, err)) < 0 ||
            (r = tender_json_get_object(res, "linux.resources", "cpu", false, &cpu, err)) < 0 ||
            (r = tender_json_get_array(res, "linux.resources", "devices", false, &list, err)) < 0)
                return r;
        spec->cpu.quota = -1;
        if (cpu) {
                static const char *const known[] = {"shares", "quota", "period",
                                                    "cpus",   "mems",  NULL};
                const char *p = "linux.resources.cpu";
                if ((r = tender_rt_spec_refuse_unknown(cpu, p, known, err)) < 0 ||
                    (r = get_int(cpu, p, "shares", false, 2, 262144, &v, err)) < 0)
                        return r;
                spec->cpu.shares = r ? (uint64_t) v : 0;
                if ((r = get_int(cpu, p, "quota", false, -1, INT64_MAX / 2.0, &v, err)) < 0)
                        return r;
                spec->cpu.quota = r ? (int64_t) v : -1;
                if ((r = get_int(cpu, p, "period", false, 1000, 1000000, &v, err)) < 0)
                        return r;
                spec->cpu.period = r ? (uint64_t) v : 0;
                if ((r = tender_json_get_string(cpu, p, "cpus", false, &spec->cpu.cpus, err)) < 0 ||
                    (r = tender_json_get_string(cpu, p, "mems", false, &spec->cpu.mems, err)) < 0)
                        return r;
                if (spec->cpu.quota == 0 || (spec->cpu.quota > 0 && spec->cpu.quota < 1000))
                        return config_error(err, "%s.quota: at least 1000 (or -1)", p);
                if ((spec->cpu.cpus &&
                     (strlen(spec->cpu.cpus) >= TENDER_RT_CPUSET_MAX ||
                      strspn(spec->cpu.cpus, "0123456789,-") != strlen(spec->cpu.cpus))))
                        return config_error(err, "%s.cpus: not a cpu list", p);
                if ((spec->cpu.mems &&
                     (strlen(spec->cpu.mems) >= TENDER_RT_CPUSET_MAX ||
                      strspn(spec->cpu.mems, "0123456789,-") != strlen(spec->cpu.mems))))
                        return config_error(err, "%s.mems: not a node list", p);
        }
        if (!list)
                return 0;
        int n = cJSON_GetArraySize(list);
        if (n > TENDER_RT_MAX_DEVICE_RULES)
                return config_error(err, "linux.resources.devices: more than %d entries",
                                    TENDER_RT_MAX_DEVICE_RULES);
        spec->has_device_rules = true;
        spec->device_rules = calloc((size_t) n + 1, sizeof(*spec->device_rules));
        if (!spec->device_rules)
                return -ENOMEM;
        cJSON_ArrayForEach(item, list) {
                char path[PATH_NAME_MAX];
                snprintf(path, sizeof(path), "linux.resources.devices[%zu]", spec->n_device_rules);
                if ((r = parse_device_rule(item, path, &spec->device_rules[spec->n_device_rules],
                                           err)) < 0)
                        return r;
                spec->n_device_rules++;
        }
        return 0;
}

static int parse_sysctl(struct tender_rt_spec *spec, const cJSON *linux_,
                        struct tender_error *err) {
        const cJSON *obj = NULL, *item;
        int r = tender_json_get_object(linux_, "linux", "sysctl", false, &obj, err);
        if (r < 0 || !obj)
                return r;
        int n = cJSON_GetArraySize(obj);
        if (n > TENDER_RT_MAX_SYSCTLS)
                return config_error(err, "linux.sysctl: more than %d entries",
                                    TENDER_RT_MAX_SYSCTLS);
        spec->sysctls = calloc((size_t) n + 1, sizeof(*spec->sysctls));
        if (!spec->sysctls)
                return -ENOMEM;
        cJSON_ArrayForEach(item, obj) {
                const char *key = item->string;
                if (!cJSON_IsString(item))
                        return config_error(err, "linux.sysctl.%s: not a string", key);
                if (!key[0] || strstr(key, "..") || strchr(key, '/') ||
                    strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(key))
                        return config_error(err, "linux.sysctl.%s: not a sysctl name", key);
                int ns = 0;
                for (size_t k = 0; k < ELEMENTSOF(sysctl_allowed) && !ns; k++)
                        if (sysctl_allowed[k].exact ? STREQ(key, sysctl_allowed[k].prefix)
                                                    : !strncmp(key, sysctl_allowed[k].prefix,
                                                               strlen(sysctl_allowed[k].prefix)))
                                ns = sysctl_allowed[k].ns;
                if (!ns)
                        return config_error(err, "linux.sysctl.%s: not a namespaced sysctl", key);
                if (!tender_rt_spec_new_namespace(spec, ns))
                        return config_error(err, "linux.sysctl.%s: needs a new %s namespace", key,
                                            ns == CLONE_NEWNET   ? "network"
                                            : ns == CLONE_NEWUTS ? "uts"
                                                                 : "ipc");
                spec->sysctls[spec->n_sysctls++] =
                        (struct tender_rt_sysctl){key, item->valuestring};
        }
        return 0;
}

static int check_userns(const struct tender_rt_spec *spec, struct tender_error *err) {
        bool userns = tender_rt_spec_new_namespace(spec, CLONE_NEWUSER);
        const struct tender_rt_namespace *user = tender_rt_spec_namespace(spec, CLONE_NEWUSER);
        if (user && user->path && tender_rt_spec_new_namespace(spec, CLONE_NEWPID))
                return config_error(err, "linux.namespaces: a new pid namespace inside a joined "
                                         "user namespace is not supported");
        if (!userns && (spec->n_uid_mappings || spec->n_gid_mappings))
                return config_error(err, "linux.uidMappings: needs a new user namespace");
        if (!userns)
                return 0;
        if (!spec->n_uid_mappings)
                return config_error(err, "linux.uidMappings: a new user namespace needs them");
        if (!spec->n_gid_mappings)
                return config_error(err, "linux.gidMappings: a new user namespace needs them");
        if (tender_rt_spec_host_uid(spec, spec->uid) < 0)
                return config_error(err, "process.user.uid: %u is not mapped", spec->uid);
        if (tender_rt_spec_host_gid(spec, spec->gid) < 0)
                return config_error(err, "process.user.gid: %u is not mapped", spec->gid);
        for (size_t i = 0; i < spec->n_gids; i++)
                if (tender_rt_spec_host_gid(spec, spec->gids[i]) < 0)
                        return config_error(err, "process.user.additionalGids[%zu]: not mapped", i);
        return 0;
}

int tender_rt_spec_parse_linux_security(struct tender_rt_spec *spec, const cJSON *linux_,
                                        struct tender_error *err) {
        const cJSON *seccomp = NULL;
        int r;
        if ((r = parse_idmaps(linux_, "uidMappings", spec->uid_mappings, &spec->n_uid_mappings,
                              err)) < 0 ||
            (r = parse_idmaps(linux_, "gidMappings", spec->gid_mappings, &spec->n_gid_mappings,
                              err)) < 0 ||
            (r = check_userns(spec, err)) < 0 || (r = parse_devices(spec, linux_, err)) < 0 ||
            (r = parse_resources(spec, linux_, err)) < 0 ||
            (r = parse_sysctl(spec, linux_, err)) < 0)
                return r;
        if ((r = tender_json_get_object(linux_, "linux", "seccomp", false, &seccomp, err)) < 0)
                return r;
        if (seccomp && (r = tender_rt_seccomp_parse(seccomp, &spec->seccomp, err)) < 0)
                return r;
        return 0;
}
