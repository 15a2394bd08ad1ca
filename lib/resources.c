/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/resources.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tender/json.h"
#include "tender/macro.h"

#define CPU_PERIOD_MIN_US 1000
#define CPU_PERIOD_MAX_US 1000000
#define CPU_MILLIS_MIN 10 /* 0.01 CPU: the kernel's smallest quota (1 ms) per 100 ms */

static const char *const all_keys[] = {"memoryBytes",
                                       "memoryReservationBytes",
                                       "memorySwapBytes",
                                       "cpus",
                                       "cpuQuotaMicroseconds",
                                       "cpuPeriodMicroseconds",
                                       "cpuWeight",
                                       "cpuset",
                                       "pids",
                                       "ioWeight",
                                       NULL};

static int invalid(struct tender_error *err, const char *path, const char *key, const char *why) {
        return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s.%s: %s", path, key, why);
}

/* "0-3,6": numbers and ascending ranges, comma-separated. */
static bool cpuset_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > TENDER_CPUSET_MAX)
                return false;
        while (*s) {
                char *end;
                if (*s < '0' || *s > '9')
                        return false;
                unsigned long a = strtoul(s, &end, 10), b = a;
                if (*end == '-') {
                        if (end[1] < '0' || end[1] > '9')
                                return false;
                        b = strtoul(end + 1, &end, 10);
                }
                if (b < a || b > 4095 || (*end && *end != ','))
                        return false;
                s = *end ? end + 1 : end;
                if (*end && !*s)
                        return false;
        }
        return true;
}

static int parse_cpus(const cJSON *o, const char *path, struct tender_resources *r,
                      struct tender_error *err) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "cpus");
        if (!c)
                return 0;
        if (!cJSON_IsNumber(c) || !isfinite(c->valuedouble) ||
            c->valuedouble * 1000 < CPU_MILLIS_MIN || c->valuedouble > TENDER_CPUS_MAX)
                return invalid(err, path, "cpus", "want a number of CPUs from 0.01 to 1024");
        r->cpu_millis = (uint64_t) (c->valuedouble * 1000 + 0.5);
        return 0;
}

static int get(const cJSON *o, const char *path, const char *key, uint64_t *v,
               struct tender_error *err) {
        return tender_json_get_u64(o, path, key, false, v, err);
}

static int check(const char *path, const struct tender_resources *r, struct tender_error *err) {
        if (r->memory_reservation && r->memory && r->memory_reservation > r->memory)
                return invalid(err, path, "memoryReservationBytes", "above memoryBytes");
        if (r->memory_swap && (!r->memory || r->memory_swap < r->memory))
                return invalid(err, path, "memorySwapBytes",
                               "counts memory plus swap: needs memoryBytes and at least as much");
        if (r->cpu_millis && (r->cpu_quota_us || r->cpu_period_us))
                return invalid(err, path, "cpus",
                               "either cpus or cpuQuotaMicroseconds/cpuPeriodMicroseconds");
        if (r->cpu_period_us && !r->cpu_quota_us)
                return invalid(err, path, "cpuPeriodMicroseconds", "without cpuQuotaMicroseconds");
        if (r->cpu_period_us &&
            (r->cpu_period_us < CPU_PERIOD_MIN_US || r->cpu_period_us > CPU_PERIOD_MAX_US))
                return invalid(err, path, "cpuPeriodMicroseconds", "want 1000-1000000");
        if (r->cpu_quota_us && (r->cpu_quota_us < CPU_PERIOD_MIN_US ||
                                r->cpu_quota_us > (uint64_t) TENDER_CPUS_MAX * CPU_PERIOD_MAX_US))
                return invalid(err, path, "cpuQuotaMicroseconds", "want at least 1000");
        if (r->cpu_weight > 10000)
                return invalid(err, path, "cpuWeight", "want 1-10000");
        if (r->io_weight && (r->io_weight < 10 || r->io_weight > 1000))
                return invalid(err, path, "ioWeight", "want 10-1000");
        if (r->cpuset && !cpuset_valid(r->cpuset))
                return invalid(err, path, "cpuset", "want a CPU list such as \"0-1,3\"");
        return 0;
}

int tender_resources_parse(const cJSON *o, const char *path, const char *const *allowed,
                           struct tender_resources *ret, struct tender_error *err) {
        const char *cpuset = NULL;
        int r = tender_json_check_keys(o, path, allowed ? allowed : all_keys, err);
        if (r >= 0)
                r = get(o, path, "memoryBytes", &ret->memory, err);
        if (r >= 0)
                r = get(o, path, "memoryReservationBytes", &ret->memory_reservation, err);
        if (r >= 0)
                r = get(o, path, "memorySwapBytes", &ret->memory_swap, err);
        if (r >= 0)
                r = parse_cpus(o, path, ret, err);
        if (r >= 0)
                r = get(o, path, "cpuQuotaMicroseconds", &ret->cpu_quota_us, err);
        if (r >= 0)
                r = get(o, path, "cpuPeriodMicroseconds", &ret->cpu_period_us, err);
        if (r >= 0)
                r = get(o, path, "cpuWeight", &ret->cpu_weight, err);
        if (r >= 0 && cJSON_GetObjectItemCaseSensitive(o, "cpuWeight") && ret->cpu_weight == 0)
                r = invalid(err, path, "cpuWeight", "want 1-10000");
        if (r >= 0)
                r = tender_json_get_string(o, path, "cpuset", false, &cpuset, err);
        if (r >= 0)
                r = get(o, path, "pids", &ret->pids, err);
        if (r >= 0)
                r = get(o, path, "ioWeight", &ret->io_weight, err);
        if (r < 0)
                return r;
        if (cpuset) {
                free(ret->cpuset);
                ret->cpuset = strdup(cpuset);
                if (!ret->cpuset)
                        return -ENOMEM;
        }
        return check(path, ret, err);
}

static bool add_u64(cJSON *o, const char *key, uint64_t v) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return cJSON_AddRawToObject(o, key, buf) != NULL;
}

bool tender_resources_to_json(cJSON *o, const struct tender_resources *r, bool always_memory_pids) {
        if ((always_memory_pids || r->memory) && !add_u64(o, "memoryBytes", r->memory))
                return false;
        if ((r->memory_reservation &&
             !add_u64(o, "memoryReservationBytes", r->memory_reservation)) ||
            (r->memory_swap && !add_u64(o, "memorySwapBytes", r->memory_swap)) ||
            (r->cpu_millis && !cJSON_AddNumberToObject(o, "cpus", (double) r->cpu_millis / 1000)) ||
            (r->cpu_quota_us && !add_u64(o, "cpuQuotaMicroseconds", r->cpu_quota_us)) ||
            (r->cpu_period_us && !add_u64(o, "cpuPeriodMicroseconds", r->cpu_period_us)) ||
            (r->cpu_weight && !add_u64(o, "cpuWeight", r->cpu_weight)) ||
            (r->cpuset && !cJSON_AddStringToObject(o, "cpuset", r->cpuset)))
                return false;
        if ((always_memory_pids || r->pids) && !add_u64(o, "pids", r->pids))
                return false;
        return !r->io_weight || add_u64(o, "ioWeight", r->io_weight);
}

void tender_resources_done(struct tender_resources *r) {
        free(r->cpuset);
        r->cpuset = NULL;
}

uint64_t tender_resources_cpu_millis(const struct tender_resources *r) {
        if (r->cpu_millis)
                return r->cpu_millis;
        if (!r->cpu_quota_us)
                return 0;
        uint64_t period = r->cpu_period_us ? r->cpu_period_us : TENDER_CPU_PERIOD_DEFAULT_US;
        return (r->cpu_quota_us * 1000 + period - 1) / period; /* rounded up: budgets are caps */
}

int tender_resources_apply_defaults(struct tender_resources *r, const struct tender_resources *d) {
        if (!r->memory)
                r->memory = d->memory;
        if (!r->memory_reservation && (!r->memory || d->memory_reservation <= r->memory))
                r->memory_reservation = d->memory_reservation;
        if (!r->memory_swap && r->memory && d->memory_swap >= r->memory)
                r->memory_swap = d->memory_swap;
        if (!r->cpu_millis && !r->cpu_quota_us) {
                r->cpu_millis = d->cpu_millis;
                r->cpu_quota_us = d->cpu_quota_us;
                r->cpu_period_us = d->cpu_period_us;
        }
        if (!r->cpu_weight)
                r->cpu_weight = d->cpu_weight;
        if (!r->pids)
                r->pids = d->pids;
        if (!r->io_weight)
                r->io_weight = d->io_weight;
        if (!r->cpuset && d->cpuset) {
                r->cpuset = strdup(d->cpuset);
                if (!r->cpuset)
                        return -ENOMEM;
        }
        return 0;
}
