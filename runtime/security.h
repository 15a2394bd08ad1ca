/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying config.json's security settings. Two sides:
 *  - the monitor (host root, in the parent user namespace) sets up the freshly cloned init from
 *    outside: id mappings, rlimits (prlimit), oomScoreAdj, cgroup membership — things a process
 *    in a new user namespace may not do to itself;
 *  - the init, just before execve, drops to process.user and the capability sets, sets
 *    no_new_privs and loads the seccomp filter.
 */
#pragma once

#include <sys/types.h>

#include "spec.h"
#include "tender/error.h"

/* Runs in the monitor right after clone, before the init is let go. */
int tender_rt_setup_child(const struct tender_rt_spec *spec, pid_t pid, const char *cgroup_path,
                          struct tender_error *err);

/* Runs in the init after `start`: user, capabilities, no_new_privs, seccomp, in the order that
 * keeps each step permitted. On failure err says which step. */
int tender_rt_finalize(const struct tender_rt_spec *spec, struct tender_error *err);

/* Writes the sysctls of linux.sysctl through /proc/sys (namespaced ones only, checked when the
 * spec was parsed). Runs in the init after the namespaces exist, before the mounts. */
int tender_rt_write_sysctls(const struct tender_rt_spec *spec, struct tender_error *err);
