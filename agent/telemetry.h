/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resource use of a running container from its cgroup (docs/mqtt.md, "Status document"):
 * memory, CPU time, pids and OOM kills, read from the cgroup of the container's first process
 * as /proc/<pid>/cgroup names it, on cgroup v2 (the unified hierarchy) or v1 (memory, cpuacct,
 * pids controllers). A figure the kernel does not offer stays unknown.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct cgroup_usage {
        bool has_memory, has_cpu, has_pids, has_oom_kills;
        uint64_t memory_bytes, cpu_usec, pids, oom_kills;
};

/* Fills u for the cgroup of pid (zeroed first). 0, or -errno when /proc/<pid>/cgroup cannot be
 * read (the process is gone). */
int cgroup_usage_read(int pid, struct cgroup_usage *u);
