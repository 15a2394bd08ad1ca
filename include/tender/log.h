/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: to journald with structured fields when journald runs, else to stderr.
 * Library code logs at debug level only; executables log the rest.
 */
#pragma once

#include <syslog.h>

#include "tender/macro.h"

enum tender_log_target {
        TENDER_LOG_AUTO, /* journald if its socket exists, else stderr */
        TENDER_LOG_STDERR,
        TENDER_LOG_JOURNAL,
};

/* Optional structured context attached to a message (journald fields TENDER_APP, ...). */
struct tender_log_ctx {
        const char *app;
        const char *version;
        const char *state;
        const char *deployment;
        const char *digest;
};

void tender_log_setup(const char *identifier, enum tender_log_target target);
void tender_log_set_level(int level);
int tender_log_get_level(void);
/* Parses "error", "warning", "notice", "info", "debug"; returns the syslog level or -EINVAL. */
int tender_log_parse_level(const char *s);

void tender_log_full(int level, const struct tender_log_ctx *ctx, const char *file, int line,
                     const char *func, const char *fmt, ...) _printf_(6, 7);

#define tender_log(level, ctx, ...)                                                                \
        do {                                                                                       \
                if ((level) <= tender_log_get_level())                                             \
                        tender_log_full((level), (ctx), __FILE__, __LINE__, __func__,              \
                                        __VA_ARGS__);                                              \
        } while (0)

#define log_debug(...) tender_log(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...) tender_log(LOG_INFO, NULL, __VA_ARGS__)
#define log_notice(...) tender_log(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_warning(...) tender_log(LOG_WARNING, NULL, __VA_ARGS__)
#define log_error(...) tender_log(LOG_ERR, NULL, __VA_ARGS__)
