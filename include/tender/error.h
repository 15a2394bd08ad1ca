/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error reporting.
 *
 * Functions return 0 (or a positive count) on success and a negative errno on failure. Where the
 * reason must reach a user or the update server, the caller passes a struct tender_error that the
 * failure site fills in one line:
 *
 *     return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG, "blob %s: digest mismatch", d);
 *
 * Filling never allocates. `err` may be NULL when the caller does not want the message.
 */
#pragma once

#include "tender/macro.h"

enum tender_error_domain {
        TENDER_ERR_NONE = 0,
        TENDER_ERR_SYSTEM,  /* file system, processes, memory */
        TENDER_ERR_CONFIG,  /* configuration files and command lines */
        TENDER_ERR_JSON,    /* malformed or out-of-limits JSON */
        TENDER_ERR_NETWORK, /* HTTP transfers */
        TENDER_ERR_VERIFY,  /* signatures, digests, sizes */
        TENDER_ERR_EXTRACT, /* layer archives */
        TENDER_ERR_RUNTIME, /* container runtime */
        TENDER_ERR_HEALTH,  /* health gate */
        TENDER_ERR_SERVER,  /* update server protocol */
};

#define TENDER_ERROR_MESSAGE_MAX 512

struct tender_error {
        enum tender_error_domain domain;
        int errnum; /* positive errno value */
        char message[TENDER_ERROR_MESSAGE_MAX];
};

/* Records the error (if err != NULL) and returns -errnum (errnum is made positive; 0 becomes EIO).
 */
int tender_error_set(struct tender_error *err, enum tender_error_domain domain, int errnum,
                     const char *fmt, ...) _printf_(4, 5);

/* Like tender_error_set, appending ": strerror(errnum)" to the message. */
int tender_error_set_errno(struct tender_error *err, enum tender_error_domain domain, int errnum,
                           const char *fmt, ...) _printf_(4, 5);

/* Prepends "context: " to an already set message, keeping domain and errnum. Returns -errnum. */
int tender_error_prefix(struct tender_error *err, const char *fmt, ...) _printf_(2, 3);

void tender_error_clear(struct tender_error *err);

/* "system", "config", ... for logs and reports. */
const char *tender_error_domain_name(enum tender_error_domain domain);
