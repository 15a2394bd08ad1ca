/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "tender/escape.h"

#define FIELD_MAX 256 /* a context field, escaped */

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

/* Messages and context fields quote what the server, a layer or an app sent: each is escaped
 * here, so that none can add a line to stderr, a field to the journal or a terminal sequence. */
void tender_log_full(int level, const struct tender_log_ctx *ctx, const char *file, int line,
                     const char *func, const char *fmt, ...) {
        int saved = errno;
        char raw[2048], msg[2 * sizeof(raw)];
        char app[FIELD_MAX], version[FIELD_MAX], state[FIELD_MAX];
        const struct tender_log_ctx empty = {0};
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        tender_escape(msg, sizeof(msg), raw);
        if (!ctx)
                ctx = &empty;
        tender_escape(app, sizeof(app), ctx->app);
        tender_escape(version, sizeof(version), ctx->version);
        tender_escape(state, sizeof(state), ctx->state);

        if (use_journal) {
                char code_line[32], deployment[FIELD_MAX], digest[FIELD_MAX];
                snprintf(code_line, sizeof(code_line), "%d", line);
                sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level, "SYSLOG_IDENTIFIER=%s",
                                log_identifier, "CODE_FILE=%s", file, "CODE_LINE=%s", code_line,
                                "CODE_FUNC=%s", func, "TENDER_APP=%s", app, "TENDER_VERSION=%s",
                                version, "TENDER_STATE=%s", state, "TENDER_DEPLOYMENT=%s",
                                tender_escape(deployment, sizeof(deployment), ctx->deployment),
                                "TENDER_DIGEST=%s",
                                tender_escape(digest, sizeof(digest), ctx->digest), NULL);
        } else {
                struct timespec ts;
                struct tm tm;
                char stamp[32];
                clock_gettime(CLOCK_REALTIME, &ts);
                gmtime_r(&ts.tv_sec, &tm);
                strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
                char where[3 * FIELD_MAX + 8] = "";
                if (ctx->app)
                        snprintf(where, sizeof(where), " [%s%s%s%s%s]", app,
                                 ctx->version ? " " : "", version, ctx->state ? " " : "", state);
                fprintf(stderr, "%s.%03ld %s %s:%s %s\n", stamp, ts.tv_nsec / 1000000,
                        log_identifier, level_name(level), where, msg);
        }
        errno = saved;
}
