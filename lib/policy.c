/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/policy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tender/json.h"
#include "tender/macro.h"
#include "tender/oci_spec.h"

#define POLICY_LIST_MAX 256

static const char *const keys[] = {"capabilities", "devices",   "hostNetwork", "writableRootfs",
                                   "seccomp",      "resources", NULL};
static const char *const resources_keys[] = {"default", "appMax", "total", NULL};
static const char *const budget_keys[] = {"memoryBytes", "cpus", "pids", NULL};

void tender_policy_init(struct tender_policy *p) {
        *p = (struct tender_policy){
                .app_default = {.memory = TENDER_POLICY_DEFAULT_MEMORY,
                                .pids = TENDER_POLICY_DEFAULT_PIDS},
        };
}

void tender_policy_done(struct tender_policy *p) {
        tender_strv_free(p->capabilities);
        tender_strv_free(p->devices);
        tender_resources_done(&p->app_default);
        tender_resources_done(&p->app_max);
        tender_resources_done(&p->total);
        p->capabilities = p->devices = NULL;
}

static int policy_error(struct tender_error *err, const char *key, const char *what,
                        const char *value) {
        return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "policy.%s: %s \"%.64s\"", key,
                                what, value);
}

static int parse_lists(const cJSON *o, struct tender_policy *p, struct tender_error *err) {
        int r = tender_json_get_strv(o, "policy", "capabilities", false, POLICY_LIST_MAX,
                                     &p->capabilities, err);
        for (size_t i = 0; r >= 0 && p->capabilities && p->capabilities[i]; i++)
                if (tender_oci_cap_from_name(p->capabilities[i]) < 0)
                        r = policy_error(err, "capabilities", "unknown capability",
                                         p->capabilities[i]);
        if (r >= 0)
                r = tender_json_get_strv(o, "policy", "devices", false, POLICY_LIST_MAX,
                                         &p->devices, err);
        for (size_t i = 0; r >= 0 && p->devices && p->devices[i]; i++)
                if (strncmp(p->devices[i], "/dev/", 5) != 0 || strstr(p->devices[i], "/../") ||
                    strstr(p->devices[i], "/./"))
                        r = policy_error(err, "devices", "not a path under /dev/", p->devices[i]);
        return r;
}

static int parse_seccomp(const cJSON *o, struct tender_policy *p, struct tender_error *err) {
        const char *s = NULL;
        int r = tender_json_get_string(o, "policy", "seccomp", false, &s, err);
        if (r < 0 || !s || STREQ(s, "default"))
                return r;
        if (STREQ(s, "custom"))
                p->seccomp = TENDER_SECCOMP_CUSTOM;
        else if (STREQ(s, "unconfined"))
                p->seccomp = TENDER_SECCOMP_UNCONFINED;
        else
                return policy_error(err, "seccomp",
                                    "want \"default\", \"custom\" or \"unconfined\", not", s);
        return 0;
}

/* A default above the per-app cap: the built-in one is lowered to the cap, one the device's
 * owner wrote is an error (no release leaving the value out could ever be installed). */
static int fit_default(uint64_t *def, uint64_t max, const cJSON *d, const char *key,
                       struct tender_error *err) {
        if (!max || *def <= max)
                return 0;
        if (d && cJSON_GetObjectItemCaseSensitive(d, key))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "policy.resources.default.%s: above "
                                        "policy.resources.appMax.%s",
                                        key, key);
        *def = max;
        return 0;
}

static int fit_defaults(struct tender_policy *p, const cJSON *d, struct tender_error *err) {
        int r = fit_default(&p->app_default.memory, p->app_max.memory, d, "memoryBytes", err);
        if (r >= 0)
                r = fit_default(&p->app_default.pids, p->app_max.pids, d, "pids", err);
        if (r >= 0 && p->app_max.cpu_millis &&
            tender_resources_cpu_millis(&p->app_default) > p->app_max.cpu_millis)
                r = tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                     "policy.resources.default.cpus: above "
                                     "policy.resources.appMax.cpus");
        return r;
}

static int parse_resources(const cJSON *o, struct tender_policy *p, struct tender_error *err) {
        const cJSON *res = NULL, *d = NULL, *max = NULL, *total = NULL;
        int r = tender_json_get_object(o, "policy", "resources", false, &res, err);
        if (r < 0 || !res)
                return r;
        r = tender_json_check_keys(res, "policy.resources", resources_keys, err);
        if (r >= 0)
                r = tender_json_get_object(res, "policy.resources", "default", false, &d, err);
        if (r >= 0 && d)
                r = tender_resources_parse(d, "policy.resources.default", NULL, &p->app_default,
                                           err);
        if (r >= 0)
                r = tender_json_get_object(res, "policy.resources", "appMax", false, &max, err);
        if (r >= 0 && max)
                r = tender_resources_parse(max, "policy.resources.appMax", budget_keys, &p->app_max,
                                           err);
        if (r >= 0)
                r = tender_json_get_object(res, "policy.resources", "total", false, &total, err);
        if (r >= 0 && total)
                r = tender_resources_parse(total, "policy.resources.total", budget_keys, &p->total,
                                           err);
        return r < 0 ? r : fit_defaults(p, d, err);
}

int tender_policy_parse(const cJSON *o, struct tender_policy *p, struct tender_error *err) {
        tender_policy_init(p);
        if (!o)
                return 0;
        int r = tender_json_check_keys(o, "policy", keys, err);
        if (r >= 0)
                r = parse_lists(o, p, err);
        if (r >= 0)
                r = tender_json_get_bool(o, "policy", "hostNetwork", false, &p->host_network, err);
        if (r >= 0)
                r = tender_json_get_bool(o, "policy", "writableRootfs", false, &p->writable_rootfs,
                                         err);
        if (r >= 0)
                r = parse_seccomp(o, p, err);
        if (r >= 0)
                r = parse_resources(o, p, err);
        return r;
}

int tender_policy_resources(const struct tender_policy *p, const struct tender_release_manifest *m,
                            struct tender_resources *ret) {
        *ret = m->resources;
        ret->cpuset = NULL;
        if (m->resources.cpuset && !(ret->cpuset = strdup(m->resources.cpuset)))
                return -ENOMEM;
        return tender_resources_apply_defaults(ret, &p->app_default);
}

static bool listed(char *const *list, const char *s) {
        for (size_t i = 0; list && list[i]; i++)
                if (STREQ(list[i], s))
                        return true;
        return false;
}

static int refuse(struct tender_error *err, const struct tender_release_manifest *m,
                  const char *what, const char *field, const char *key) {
        return tender_error_set(err, TENDER_ERR_CONFIG, EPERM,
                                "%s %s asks for %s (%s), which this device's policy does not "
                                "allow (policy.%s)",
                                m->app, m->version, what, field, key);
}

static const char *const seccomp_names[] = {"default", "custom", "unconfined"};

static int check_privileges(const struct tender_policy *p, const struct tender_release_manifest *m,
                            struct tender_error *err) {
        char what[TENDER_ERROR_MESSAGE_MAX / 4];
        for (size_t i = 0; m->capabilities && m->capabilities[i]; i++) {
                const char *c = m->capabilities[i];
                if (tender_oci_cap_is_default(c) || listed(p->capabilities, c))
                        continue;
                snprintf(what, sizeof(what), "capability %s", c);
                return refuse(err, m, what, "deployment.privileges.capabilities", "capabilities");
        }
        for (size_t i = 0; i < m->n_devices; i++) {
                if (listed(p->devices, m->devices[i].path))
                        continue;
                snprintf(what, sizeof(what), "device %s", m->devices[i].path);
                return refuse(err, m, what, "deployment.privileges.devices", "devices");
        }
        if (m->network == TENDER_NETWORK_HOST && !p->host_network)
                return refuse(err, m, "the host's network", "deployment.network \"host\"",
                              "hostNetwork");
        if (!m->readonly_rootfs && !p->writable_rootfs)
                return refuse(err, m, "a writable root file system",
                              "deployment.readonlyRootfs false", "writableRootfs");
        if (m->seccomp > p->seccomp) {
                snprintf(what, sizeof(what), "seccomp \"%s\"", seccomp_names[m->seccomp]);
                return refuse(err, m, what, "deployment.privileges.seccomp", "seccomp");
        }
        return 0;
}

/* One budgeted resource: its name in JSON, how to read it. */
struct budget {
        const char *key;
        uint64_t (*get)(const struct tender_resources *r);
        const char *unit;
};

static uint64_t get_memory(const struct tender_resources *r) {
        return r->memory;
}
static uint64_t get_pids(const struct tender_resources *r) {
        return r->pids;
}

static const struct budget budgets[] = {
        {"memoryBytes", get_memory, "bytes"},
        {"cpus", tender_resources_cpu_millis, "thousandths of a CPU"},
        {"pids", get_pids, "tasks"},
};

static int over_app(struct tender_error *err, const struct tender_release_manifest *m,
                    const char *key, uint64_t want, uint64_t cap, const char *unit) {
        if (want == 0)
                return tender_error_set(err, TENDER_ERR_CONFIG, EPERM,
                                        "%s %s sets no %s limit (deployment.resources.%s, nor "
                                        "policy.resources.default.%s), but this device caps it "
                                        "(policy.resources.appMax.%s)",
                                        m->app, m->version, key, key, key, key);
        return tender_error_set(err, TENDER_ERR_CONFIG, EPERM,
                                "%s %s asks for %s %" PRIu64 " %s (deployment.resources.%s), "
                                "above this device's cap of %" PRIu64 " per app "
                                "(policy.resources.appMax.%s)",
                                m->app, m->version, key, want, unit, key, cap, key);
}

static int over_total(struct tender_error *err, const struct tender_release_manifest *m,
                      const char *key, const char *unlimited, uint64_t want, uint64_t sum,
                      uint64_t cap, const char *unit) {
        if (unlimited)
                return tender_error_set(err, TENDER_ERR_CONFIG, EPERM,
                                        "%s %s: %s runs without a %s limit, so the sum over the "
                                        "apps cannot be kept within policy.resources.total.%s",
                                        m->app, m->version, unlimited, key, key);
        return tender_error_set(err, TENDER_ERR_CONFIG, EPERM,
                                "%s %s asks for %s %" PRIu64 " %s (deployment.resources.%s): "
                                "with the other apps %" PRIu64
                                ", above this device's budget of %" PRIu64
                                " (policy.resources.total.%s)",
                                m->app, m->version, key, want, unit, key, sum, cap, key);
}

int tender_policy_check(const struct tender_policy *p, const struct tender_release_manifest *m,
                        const struct tender_policy_app *others, size_t n_others,
                        struct tender_error *err) {
        _cleanup_(tender_resources_done) struct tender_resources eff = {0};
        int r = check_privileges(p, m, err);
        if (r < 0)
                return r;
        if (tender_policy_resources(p, m, &eff) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(budgets); i++) {
                const struct budget *b = &budgets[i];
                uint64_t want = b->get(&eff), max = b->get(&p->app_max), total = b->get(&p->total),
                         sum = want;
                if (max && (want == 0 || want > max))
                        return over_app(err, m, b->key, want, max, b->unit);
                if (!total)
                        continue;
                if (want == 0)
                        return over_total(err, m, b->key, "this release", 0, 0, total, b->unit);
                for (size_t j = 0; j < n_others; j++) {
                        uint64_t o = b->get(&others[j].resources);
                        if (o == 0)
                                return over_total(err, m, b->key, others[j].app, 0, 0, total,
                                                  b->unit);
                        sum += o;
                }
                if (sum > total)
                        return over_total(err, m, b->key, NULL, want, sum, total, b->unit);
        }
        return 0;
}
