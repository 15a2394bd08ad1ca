/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/maintenance.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

static const char *const day_names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

/* A three-letter day name at s; -1 when there is none. */
static int parse_day(const char *s) {
        for (int d = 0; d < 7; d++)
                if (strncasecmp(s, day_names[d], 3) == 0)
                        return d;
        return -1;
}

/* "Mon", "Mon-Fri", "Fri-Mon" (wrapping through the weekend), comma-separated, or "*". */
static int parse_days(const char *s, size_t len, uint8_t *ret) {
        uint8_t days = 0;
        size_t i = 0;

        if (len == 1 && s[0] == '*') {
                *ret = 0x7f;
                return 0;
        }
        while (i < len) {
                if (len - i < 3)
                        return -EINVAL;
                int from = parse_day(s + i), to;
                if (from < 0)
                        return -EINVAL;
                i += 3;
                to = from;
                if (i < len && s[i] == '-') {
                        if (len - i < 4 || (to = parse_day(s + i + 1)) < 0)
                                return -EINVAL;
                        i += 4;
                }
                for (int d = from;; d = (d + 1) % 7) {
                        days |= (uint8_t) (1u << d);
                        if (d == to)
                                break;
                }
                if (i < len && s[i++] != ',')
                        return -EINVAL;
                if (i == len && s[len - 1] == ',')
                        return -EINVAL;
        }
        if (!days)
                return -EINVAL;
        *ret = days;
        return 0;
}

/* "HH:MM" with HH 00-24 and MM 00-59; 24:00 only where allow_24 says. */
static int parse_clock(const char *s, bool allow_24, uint16_t *ret) {
        for (int i = 0; i < 5; i++)
                if (i == 2 ? s[i] != ':' : !(s[i] >= '0' && s[i] <= '9'))
                        return -EINVAL;
        unsigned h = (unsigned) (s[0] - '0') * 10 + (unsigned) (s[1] - '0');
        unsigned m = (unsigned) (s[3] - '0') * 10 + (unsigned) (s[4] - '0');
        if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
                return -EINVAL;
        *ret = (uint16_t) (h * 60 + m);
        return 0;
}

int tender_maintenance_window_parse(const char *spec, struct tender_maintenance_window *ret) {
        struct tender_maintenance_window w = {.days = 0x7f};
        size_t len;

        if (!spec || (len = strlen(spec)) > TENDER_MAINTENANCE_SPEC_MAX || len < 11)
                return -EINVAL;
        /* The times are the last 11 bytes: "HH:MM-HH:MM". */
        const char *times = spec + len - 11;
        if (times > spec) {
                if (times[-1] != ' ' || times - 1 == spec)
                        return -EINVAL;
                if (parse_days(spec, (size_t) (times - 1 - spec), &w.days) < 0)
                        return -EINVAL;
        }
        if (parse_clock(times, false, &w.start_min) < 0 || times[5] != '-' ||
            parse_clock(times + 6, true, &w.end_min) < 0 || w.end_min == 0 ||
            w.end_min == w.start_min)
                return -EINVAL;
        *ret = w;
        return 0;
}

bool tender_maintenance_window_contains(const struct tender_maintenance_window *w,
                                        const struct tm *tm) {
        unsigned now = (unsigned) (tm->tm_hour * 60 + tm->tm_min);
        unsigned today = (unsigned) tm->tm_wday % 7, yesterday = (today + 6) % 7;
        bool opens_today = w->days & (1u << today);

        if (w->start_min < w->end_min)
                return opens_today && now >= w->start_min && now < w->end_min;
        /* Past midnight: the evening part today, or the morning part of yesterday's window. */
        return (opens_today && now >= w->start_min) ||
               ((w->days & (1u << yesterday)) && now < w->end_min);
}

unsigned tender_maintenance_minutes_to_open(const struct tender_maintenance_window *w, size_t n,
                                            const struct tm *tm) {
        unsigned start =
                (unsigned) (tm->tm_wday % 7) * 1440 + (unsigned) (tm->tm_hour * 60 + tm->tm_min);
        /* At most a week of minutes times 32 windows: cheap, and it needs no calendar maths
         * for windows past midnight or through the week's end. */
        for (unsigned m = 0; m < TENDER_MAINTENANCE_WEEK_MIN; m++) {
                unsigned t = (start + m) % TENDER_MAINTENANCE_WEEK_MIN;
                struct tm at = {.tm_wday = (int) (t / 1440),
                                .tm_hour = (int) (t % 1440 / 60),
                                .tm_min = (int) (t % 60)};
                for (size_t i = 0; i < n; i++)
                        if (tender_maintenance_window_contains(&w[i], &at))
                                return m;
        }
        return TENDER_MAINTENANCE_WEEK_MIN;
}
