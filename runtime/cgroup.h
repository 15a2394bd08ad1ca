/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container cgroups. Pure cgroup v2 (/sys/fs/cgroup is cgroup2): one directory with memory.max,
 * pids.max and the others, device rules as a BPF program (devices_bpf.c). v1 or hybrid: the v1
 * memory and pids hierarchies hold the limits (cpu, cpuset, blkio, devices, hugetlb, net_cls and
 * net_prio too when the config sets theirs), and the unified hierarchy (/sys/fs/cgroup/unified),
 * when mounted, holds the membership as well, and the limits of a controller bound to it
 * instead of to v1. A limit the machine cannot apply (no controller,
 * no swap accounting, no I/O weights, no v2 equivalent) fails create, naming the field and the
 * controller.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "spec.h"
#include "tender/error.h"

struct tender_rt_cgroup_limits {
        int64_t memory;                  /* bytes, -1 for none */
        int64_t memory_reservation;      /* bytes, -1 for none */
        int64_t memory_swap;             /* memory plus swap in bytes, -1 for none */
        int64_t memory_swappiness;       /* 0-100, -1 for none (v1 only) */
        bool disable_oom_killer;         /* v1 only */
        int64_t pids;                    /* -1 for none */
        uint64_t blkio_weight;           /* 10-1000, 0 for none */
        const struct tender_rt_cpu *cpu; /* may be NULL */
        /* blkio throttling, hugetlb, net_cls/net_prio; may be NULL */
        const struct tender_rt_device_limits *dev;
        /* Device rules (v1 devices controller, v2 BPF program), in order, after "deny all";
         * has_device_rules: the config has them (a machine without a devices controller then
         * fails create). The runtime's default nodes and linux.devices are allowed after them. */
        bool has_device_rules;
        const struct tender_rt_device_rule *device_rules;
        size_t n_device_rules;
        const struct tender_rt_device *devices;
        size_t n_devices;
};

/* Creates the cgroup `path` (absolute, e.g. "/tender/web") in every hierarchy and sets the
 * limits. On failure the caller undoes with tender_rt_cgroup_destroy. */
int tender_rt_cgroup_create(const char *path, const struct tender_rt_cgroup_limits *limits,
                            struct tender_error *err);
/* Moves the calling process into the cgroup in every hierarchy. */
int tender_rt_cgroup_enter(const char *path, struct tender_error *err);
/* Moves process pid into the cgroup in every hierarchy where it was created. Used by the
 * monitor: an init in a user namespace may not write the host's cgroup files. */
int tender_rt_cgroup_enter_pid(const char *path, pid_t pid, struct tender_error *err);
/* SIGKILLs every process left in the cgroup, in every hierarchy. Best effort. */
void tender_rt_cgroup_kill(const char *path);
/* Removes the cgroup directories (not their parents); missing ones are fine. Waits a bounded
 * time for the cgroup to empty. */
int tender_rt_cgroup_destroy(const char *path, struct tender_error *err);
