/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device's policy (agent.json "policy", docs/configuration.md): what a release may ask for
 * beyond the hardened default, the resources an app gets when its release sets none, and the
 * device's budget (per app and over all apps). Default: nothing beyond the hardened default.
 * The check is pure: tenderd runs it before anything is downloaded or swapped, and its error
 * names the request (the manifest's field) and the policy key that refuses it.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "tender/error.h"
#include "tender/manifest.h"
#include "tender/resources.h"

#define TENDER_POLICY_DEFAULT_MEMORY (256 * 1024 * 1024) /* as `tender-runtime spec` */
#define TENDER_POLICY_DEFAULT_PIDS 1024

struct tender_policy {
        char **capabilities;                 /* capabilities; NULL: none beyond the default set */
        char **devices;                      /* devices: device paths a release may ask for */
        bool host_network;                   /* hostNetwork */
        bool writable_rootfs;                /* writableRootfs */
        enum tender_seccomp_mode seccomp;    /* seccomp: the most allowed, default < custom <
                                                unconfined */
        struct tender_resources app_default; /* resources.default: for what a release omits */
        struct tender_resources app_max;     /* resources.appMax: memoryBytes, cpus, pids */
        struct tender_resources total;       /* resources.total: the same, summed over apps */
};

/* The built-in policy: nothing allowed, default memory and pids as `tender-runtime spec`. */
void tender_policy_init(struct tender_policy *p);
/* Parses agent.json's "policy" object (o may be NULL: the built-in policy). */
int tender_policy_parse(const cJSON *o, struct tender_policy *p, struct tender_error *err);
void tender_policy_done(struct tender_policy *p);

/* What release m runs with: its resources, what it leaves out from resources.default. */
int tender_policy_resources(const struct tender_policy *p, const struct tender_release_manifest *m,
                            struct tender_resources *ret);

/* Another app's current release, for the sums over apps. */
struct tender_policy_app {
        const char *app, *version;
        struct tender_resources resources; /* effective (tender_policy_resources) */
};

/* Checks release m against the policy: every privilege it asks for, its effective resources
 * against resources.appMax, and the sums with the other apps' current releases against
 * resources.total. -EPERM with an error naming the request and the policy key. */
int tender_policy_check(const struct tender_policy *p, const struct tender_release_manifest *m,
                        const struct tender_policy_app *others, size_t n_others,
                        struct tender_error *err);
