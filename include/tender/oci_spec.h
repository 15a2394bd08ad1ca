/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tender's hardened default OCI runtime config (runtime spec 1.0.2), in one place for its two
 * users: `tender-runtime spec` writes the whole document, tenderd builds every app's bundle from
 * the same parts (agent/bundle.c). Docker's 14 default capabilities (none inheritable or
 * ambient), a seccomp allowlist modelled on Docker's default profile, Docker's masked and
 * read-only paths, the standard mounts, every namespace. Built from tables: the same output on
 * every run.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TENDER_OCI_VERSION "1.0.2"

/* Docker's default capability set, in the order the spec lists it. */
extern const char *const tender_oci_default_caps[];
extern const size_t tender_oci_n_default_caps;

/* Capability name ("CAP_CHOWN") to number, -1 when unknown; and back (NULL when unknown). */
int tender_oci_cap_from_name(const char *name);
const char *tender_oci_cap_name(int cap);
/* Is the capability in the default set? */
bool tender_oci_cap_is_default(const char *name);

/* process.capabilities: the default set plus n_extra names (duplicates of the default set are
 * not repeated) in bounding, effective and permitted; inheritable and ambient empty. */
cJSON *tender_oci_capabilities(const char *const *extra, size_t n_extra);

/* linux.seccomp: the default allowlist for the architecture tender was built for. */
cJSON *tender_oci_seccomp(void);

/* linux.maskedPaths and linux.readonlyPaths. */
cJSON *tender_oci_masked_paths(void);
cJSON *tender_oci_readonly_paths(void);
/* [{containerID 0, hostID host, size count}]: uidMappings or gidMappings. */
cJSON *tender_oci_idmap(uint32_t host, uint32_t count);

/* Appends {destination, type, source, options} to the mounts array; options NULL-terminated. */
void tender_oci_add_mount(cJSON *mounts, const char *dest, const char *type, const char *source,
                          const char *const *options);
/* Appends /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue and a read-only /sys. */
void tender_oci_add_default_mounts(cJSON *mounts);

/* The whole default document of `tender-runtime spec` as text (cJSON_Print; free() it), NULL
 * when out of memory. */
char *tender_oci_spec_default(void);
