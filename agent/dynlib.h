/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Libraries of optional features, loaded when the feature is configured (docs/packaging.md,
 * "Memory"): tenderd does not link libmosquitto (mqtt.c) or libmicrohttpd (monitor.c), whose
 * TLS libraries would otherwise cost every device their relocated data. Each user keeps one
 * table of the functions it calls, typed with the header's own prototypes, e.g.
 *     static struct { typeof(&mosquitto_new) new; } mo;
 *     static const struct dynlib_sym syms[] = {{"mosquitto_new", (void **) &mo.new}};
 * and fills it with dynlib_load(); the SONAME comes from the build (cmake/Soname.cmake).
 */
#pragma once
#include "tender/error.h"
#include <stddef.h>

struct dynlib_sym {
        const char *name;
        void **slot; /* a function pointer of the table */
};

/* Loads SONAME (once; it stays loaded) and resolves every symbol into its slot. On error (no
 * such library, a function missing) the message names the library and KEY, the configuration
 * that asked for it, and nothing in the table is set. */
int dynlib_load(const char *soname, const char *key, const struct dynlib_sym *syms, size_t n,
                struct tender_error *err);
