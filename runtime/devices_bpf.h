/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device rules on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program built from the rules as a
 * handful of instructions per rule and loaded with bpf(2) (no libbpf). What the v1 devices
 * controller does with devices.allow/deny, the program does per access: the rules are matched
 * from the last to the first, an allow rule grants the accesses it names, a deny rule refuses
 * them, and what no rule grants is refused (a fresh v2 cgroup has no list to inherit; runc and
 * crun deny by default too).
 */
#pragma once

#include <stddef.h>

#include "spec.h"
#include "tender/error.h"

/* Builds the program for rules[0..n) (in config order), loads it and attaches it to the cgroup2
 * directory cgroupfd (BPF_F_ALLOW_MULTI: an ancestor's program still applies). */
int tender_rt_devices_bpf_attach(int cgroupfd, const struct tender_rt_device_rule *rules, size_t n,
                                 struct tender_error *err);
