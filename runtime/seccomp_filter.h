/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.seccomp through libseccomp. The filter is compiled while config.json is parsed, so that
 * a bad profile is refused before anything is created; the init loads it just before execve.
 */
#pragma once

#include <stdbool.h>

#include "tender/error.h"
#include "tender/json.h"

struct tender_rt_seccomp;

/* Builds the filter from the linux.seccomp object. Syscall names this libseccomp does not know
 * are skipped (as runc and crun do); anything else malformed is refused naming its JSON path. */
int tender_rt_seccomp_parse(const cJSON *obj, struct tender_rt_seccomp **ret,
                            struct tender_error *err);
/* Loads the filter into the calling thread. Does not set no_new_privs by itself. */
int tender_rt_seccomp_load(const struct tender_rt_seccomp *s);
void tender_rt_seccomp_free(struct tender_rt_seccomp *s);
/* Adds the features document's linux.seccomp members (enabled, actions, operators, archs). */
int tender_rt_seccomp_features(cJSON *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tender_rt_seccomp, tender_rt_seccomp_free);
