/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

static int normalize(int errnum) {
        if (errnum < 0)
                errnum = -errnum;
        return errnum == 0 ? EIO : errnum;
}

static int error_vset(struct tender_error *err, enum tender_error_domain domain, int errnum,
                      bool with_strerror, const char *fmt, va_list ap) _printf_(5, 0);

static int error_vset(struct tender_error *err, enum tender_error_domain domain, int errnum,
                      bool with_strerror, const char *fmt, va_list ap) {
        errnum = normalize(errnum);
        if (!err)
                return -errnum;
        err->domain = domain;
        err->errnum = errnum;
        int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
        if (with_strerror && n >= 0 && (size_t) n < sizeof(err->message))
                snprintf(err->message + n, sizeof(err->message) - (size_t) n, ": %s",
                         strerror(errnum));
        return -errnum;
}

int tender_error_set(struct tender_error *err, enum tender_error_domain domain, int errnum,
                     const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = error_vset(err, domain, errnum, false, fmt, ap);
        va_end(ap);
        return r;
}

int tender_error_set_errno(struct tender_error *err, enum tender_error_domain domain, int errnum,
                           const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = error_vset(err, domain, errnum, true, fmt, ap);
        va_end(ap);
        return r;
}

int tender_error_prefix(struct tender_error *err, const char *fmt, ...) {
        if (!err)
                return -EIO;
        char prefix[TENDER_ERROR_MESSAGE_MAX];
        char old[TENDER_ERROR_MESSAGE_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, err->message, sizeof(old));
        snprintf(err->message, sizeof(err->message), "%s: %s", prefix, old);
        return -normalize(err->errnum);
}

void tender_error_clear(struct tender_error *err) {
        if (!err)
                return;
        err->domain = TENDER_ERR_NONE;
        err->errnum = 0;
        err->message[0] = '\0';
}

const char *tender_error_domain_name(enum tender_error_domain domain) {
        static const char *const names[] = {
                [TENDER_ERR_NONE] = "none",       [TENDER_ERR_SYSTEM] = "system",
                [TENDER_ERR_CONFIG] = "config",   [TENDER_ERR_JSON] = "json",
                [TENDER_ERR_NETWORK] = "network", [TENDER_ERR_VERIFY] = "verify",
                [TENDER_ERR_EXTRACT] = "extract", [TENDER_ERR_RUNTIME] = "runtime",
                [TENDER_ERR_HEALTH] = "health",   [TENDER_ERR_SERVER] = "server",
        };
        if ((unsigned) domain >= ELEMENTSOF(names) || !names[domain])
                return "unknown";
        return names[domain];
}
