/* SPDX-License-Identifier: Apache-2.0 */
/* tender-publish release's options for privileges and resources beyond --memory and --pids,
 * and the summary of what a release asks a device for (docs/publisher.md). The values are
 * checked again by parsing the manifest before anything is written. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publish.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/oci_spec.h"

#define SECCOMP_FILE_MAX TENDER_SECCOMP_PROFILE_MAX

static int bad_option(struct tender_error *err, const char *opt, const char *why, const char *arg) {
        return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "%s: %s \"%s\"", opt, why, arg);
}

static int parse_cpus(const char *arg, struct tender_resources *r, struct tender_error *err) {
        char *end = NULL;
        errno = 0;
        double v = strtod(arg, &end);
        if (errno || end == arg || *end || !(v >= 0.01 && v <= TENDER_CPUS_MAX))
                return bad_option(err, "--cpus", "want a number of CPUs from 0.01 to 1024, not",
                                  arg);
        r->cpu_millis = (uint64_t) (v * 1000 + 0.5);
        return 0;
}

static int add_cap(struct tender_release_manifest *m, const char *arg, struct tender_error *err) {
        size_t n = tender_strv_length(m->capabilities);
        if (tender_oci_cap_from_name(arg) < 0)
                return bad_option(err, "--cap-add", "unknown capability", arg);
        if (n >= TENDER_MANIFEST_MAX_CAPS)
                return bad_option(err, "--cap-add", "too many at", arg);
        char **v = realloc(m->capabilities, (n + 2) * sizeof(char *));
        if (!v)
                return -ENOMEM;
        m->capabilities = v;
        v[n] = strdup(arg);
        v[n + 1] = NULL;
        return v[n] ? 0 : -ENOMEM;
}

/* PATH[:ACCESS], ACCESS some of rwm (default rw). */
static int add_device(struct tender_release_manifest *m, const char *arg,
                      struct tender_error *err) {
        const char *colon = strchr(arg, ':');
        const char *access = colon ? colon + 1 : "rw";
        size_t len = colon ? (size_t) (colon - arg) : strlen(arg);
        if (m->n_devices >= TENDER_MANIFEST_MAX_DEVICES)
                return bad_option(err, "--device", "too many at", arg);
        if (strlen(access) >= sizeof(m->devices[0].access) ||
            strspn(access, "rwm") != strlen(access) || !*access)
                return bad_option(err, "--device", "want PATH[:ACCESS] with ACCESS of rwm, not",
                                  arg);
        struct tender_device *d = realloc(m->devices, (m->n_devices + 1) * sizeof(*d));
        if (!d)
                return -ENOMEM;
        m->devices = d;
        d = &m->devices[m->n_devices];
        *d = (struct tender_device){.path = strndup(arg, len)};
        if (!d->path)
                return -ENOMEM;
        snprintf(d->access, sizeof(d->access), "%s", access);
        m->n_devices++;
        return 0;
}

/* default, unconfined, or a file holding an OCI linux.seccomp object. */
static int set_seccomp(struct tender_release_manifest *m, const char *arg,
                       struct tender_error *err) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(cJSON_Deletep) cJSON *o = NULL;
        size_t len;
        free(m->seccomp_profile);
        m->seccomp_profile = NULL;
        m->seccomp = TENDER_SECCOMP_DEFAULT;
        if (STREQ(arg, "default"))
                return 0;
        if (STREQ(arg, "unconfined")) {
                m->seccomp = TENDER_SECCOMP_UNCONFINED;
                return 0;
        }
        int r = tender_read_file_at(AT_FDCWD, arg, SECCOMP_FILE_MAX, &data, &len);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, r, "--seccomp: read %s", arg);
        r = tender_json_parse(data, len, SECCOMP_FILE_MAX, TENDER_JSON_MAX_DEPTH_DEFAULT, &o, err);
        if (r < 0)
                return tender_error_prefix(err, "--seccomp %s", arg);
        m->seccomp = TENDER_SECCOMP_CUSTOM;
        m->seccomp_profile = cJSON_PrintUnformatted(o);
        return m->seccomp_profile ? 0 : -ENOMEM;
}

int release_privilege_option(const char *opt, const char *arg, struct tender_release_manifest *m,
                             struct tender_error *err) {
        struct tender_resources *res = &m->resources;
        if (STREQ(opt, "cpus"))
                return parse_cpus(arg, res, err);
        if (STREQ(opt, "cpu-weight"))
                return parse_u64_option("--cpu-weight", arg, &res->cpu_weight, err);
        if (STREQ(opt, "cpuset")) {
                free(res->cpuset);
                return (res->cpuset = strdup(arg)) ? 0 : -ENOMEM;
        }
        if (STREQ(opt, "memory-reservation"))
                return parse_u64_option("--memory-reservation", arg, &res->memory_reservation, err);
        if (STREQ(opt, "memory-swap"))
                return parse_u64_option("--memory-swap", arg, &res->memory_swap, err);
        if (STREQ(opt, "io-weight"))
                return parse_u64_option("--io-weight", arg, &res->io_weight, err);
        if (STREQ(opt, "cap-add"))
                return add_cap(m, arg, err);
        if (STREQ(opt, "device"))
                return add_device(m, arg, err);
        if (STREQ(opt, "seccomp"))
                return set_seccomp(m, arg, err);
        return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "--%s: unknown option", opt);
}

static const char *const seccomp_names[] = {"default", "custom profile", "unconfined"};

void release_print_requests(FILE *f, const struct tender_release_manifest *m) {
        bool any = false;
        for (size_t i = 0; m->capabilities && m->capabilities[i]; i++, any = true)
                fprintf(f, "requests: capability %s (policy.capabilities)\n", m->capabilities[i]);
        for (size_t i = 0; i < m->n_devices; i++, any = true)
                fprintf(f, "requests: device %s, access %s (policy.devices)\n", m->devices[i].path,
                        m->devices[i].access);
        if (m->network == TENDER_NETWORK_HOST && (any = true))
                fprintf(f, "requests: the host's network (policy.hostNetwork)\n");
        if (!m->readonly_rootfs && (any = true))
                fprintf(f, "requests: a writable root file system (policy.writableRootfs)\n");
        if (m->seccomp != TENDER_SECCOMP_DEFAULT && (any = true))
                fprintf(f, "requests: seccomp %s (policy.seccomp)\n", seccomp_names[m->seccomp]);
        if (!any)
                fprintf(f, "requests: nothing beyond the hardened default\n");
        const struct tender_resources *r = &m->resources;
        fprintf(f, "resources:");
        if (r->memory)
                fprintf(f, " memory %" PRIu64, r->memory);
        if (r->memory_reservation)
                fprintf(f, " reservation %" PRIu64, r->memory_reservation);
        if (r->memory_swap)
                fprintf(f, " memory+swap %" PRIu64, r->memory_swap);
        if (tender_resources_cpu_millis(r))
                fprintf(f, " cpus %.3f", (double) tender_resources_cpu_millis(r) / 1000);
        if (r->cpu_weight)
                fprintf(f, " cpu-weight %" PRIu64, r->cpu_weight);
        if (r->cpuset)
                fprintf(f, " cpuset %s", r->cpuset);
        if (r->pids)
                fprintf(f, " pids %" PRIu64, r->pids);
        if (r->io_weight)
                fprintf(f, " io-weight %" PRIu64, r->io_weight);
        fprintf(f, "%s\n",
                r->memory || r->pids || tender_resources_cpu_millis(r) || r->cpu_weight ||
                                r->cpuset || r->io_weight
                        ? ""
                        : " the device's defaults (policy.resources.default)");
}
