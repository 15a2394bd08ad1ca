/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>

static int log_level = LOG_INFO;
static bool use_journal;
static const char *log_identifier = "tender";

void tender_log_setup(const char *identifier, enum tender_log_target target) {
        if (identifier)
                log_identifier = identifier;
        switch (target) {
        case TENDER_LOG_JOURNAL:
                use_journal = true;
                break;
        case TENDER_LOG_STDERR:
                use_journal = false;
                break;
        case TENDER_LOG_AUTO:
                use_journal = access("/run/systemd/journal/socket", W_OK) == 0;
                break;
        }
}

void tender_log_set_level(int level) {
        log_level = level;
}

int tender_log_get_level(void) {
        return log_level;
}

int tender_log_parse_level(const char *s) {
        static const struct {
                const char *name;
                int level;
        } names[] = {
                {"error", LOG_ERR}, {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
                {"info", LOG_INFO}, {"debug", LOG_DEBUG},
        };
        for (size_t i = 0; s && i < ELEMENTSOF(names); i++)
                if (strcmp(s, names[i].name) == 0)
                        return names[i].level;
        return -EINVAL;
}

static const char *level_name(int level) {
        switch (level) {
        case LOG_EMERG:
        case LOG_ALERT:
        case LOG_CRIT:
                return "critical";
        case LOG_ERR:
                return "error";
        case LOG_WARNING:
                return "warning";
        case LOG_NOTICE:
                return "notice";
        case LOG_INFO:
                return "info";
        default:
                return "debug";
        }
}

void tender_log_full(int level, const struct tender_log_ctx *ctx, const char *file, int line,
                     const char *func, const char *fmt, ...) {
        int saved = errno;
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        if (use_journal) {
                char code_line[32];
                snprintf(code_line, sizeof(code_line), "%d", line);
                const struct tender_log_ctx empty = {0};
                if (!ctx)
                        ctx = &empty;
                sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level, "SYSLOG_IDENTIFIER=%s",
                                log_identifier, "CODE_FILE=%s", file, "CODE_LINE=%s", code_line,
                                "CODE_FUNC=%s", func, "TENDER_APP=%s", ctx->app ? ctx->app : "",
                                "TENDER_VERSION=%s", ctx->version ? ctx->version : "",
                                "TENDER_STATE=%s", ctx->state ? ctx->state : "",
                                "TENDER_DEPLOYMENT=%s", ctx->deployment ? ctx->deployment : "",
                                "TENDER_DIGEST=%s", ctx->digest ? ctx->digest : "", NULL);
        } else {
                struct timespec ts;
                struct tm tm;
                char stamp[32];
                clock_gettime(CLOCK_REALTIME, &ts);
                gmtime_r(&ts.tv_sec, &tm);
                strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
                char where[160] = "";
                if (ctx && ctx->app)
                        snprintf(where, sizeof(where), " [%s%s%s%s%s]", ctx->app,
                                 ctx->version ? " " : "", ctx->version ? ctx->version : "",
                                 ctx->state ? " " : "", ctx->state ? ctx->state : "");
                fprintf(stderr, "%s.%03ld %s %s:%s %s\n", stamp, ts.tv_nsec / 1000000,
                        log_identifier, level_name(level), where, msg);
        }
        errno = saved;
}
