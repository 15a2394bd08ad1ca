/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resource limits of an app: what a release manifest asks for (deployment.resources) and what
 * a device's policy allows and gives by default (agent.json policy.resources). The same JSON
 * keys in both places (docs/release-manifest.md); 0 (or NULL) means "not set".
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "tender/error.h"

#define TENDER_CPU_PERIOD_DEFAULT_US 100000 /* the CFS period that "cpus" uses */
#define TENDER_CPUS_MAX 1024
#define TENDER_CPUSET_MAX 256

struct tender_resources {
        uint64_t memory;             /* memoryBytes: hard limit */
        uint64_t memory_reservation; /* memoryReservationBytes: soft limit, <= memory */
        uint64_t memory_swap;        /* memorySwapBytes: memory plus swap, >= memory */
        uint64_t cpu_millis;         /* cpus x 1000: quota of cpus x the default period */
        uint64_t cpu_quota_us;       /* cpuQuotaMicroseconds (not with cpus) */
        uint64_t cpu_period_us;      /* cpuPeriodMicroseconds, 1000-1000000 (with the quota) */
        uint64_t cpu_weight;         /* cpuWeight: 1-10000, the cgroup v2 scale */
        char *cpuset;                /* cpuset: CPU list "0-1,3" */
        uint64_t pids;               /* pids: most tasks */
        uint64_t io_weight;          /* ioWeight: 10-1000 */
};

/* Parses the object at path (e.g. "deployment.resources"): unknown keys, bad values and
 * inconsistent pairs (reservation above the limit, cpus with a quota) refused naming the key.
 * allowed: the keys accepted (NULL: all of them). Fills only what is present. */
int tender_resources_parse(const cJSON *o, const char *path, const char *const *allowed,
                           struct tender_resources *ret, struct tender_error *err);
/* Adds the set fields to o (memoryBytes and pids always when always_memory_pids). */
bool tender_resources_to_json(cJSON *o, const struct tender_resources *r, bool always_memory_pids);
void tender_resources_done(struct tender_resources *r);

/* CPU bandwidth in thousandths of a CPU: cpus, or quota/period; 0 when unlimited. */
uint64_t tender_resources_cpu_millis(const struct tender_resources *r);
/* Fills what r leaves unset from defaults (cpuset copied). -ENOMEM. */
int tender_resources_apply_defaults(struct tender_resources *r,
                                    const struct tender_resources *defaults);
