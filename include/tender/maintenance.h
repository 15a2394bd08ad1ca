/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Maintenance windows of the configuration (maintenance.windows): weekly slots of local time in
 * which tenderd may swap a running app for its update. Syntax (docs/configuration.md):
 *
 *     [DAYS ]HH:MM-HH:MM      DAYS: "*", or a comma list of Mon..Sun and ranges ("Mon-Fri",
 *                             "Sat,Sun", "Fri-Mon"); omitted means every day
 *
 * The end is exclusive and may be 24:00. An end at or before the start runs past midnight: the
 * window belongs to the day it starts on ("Fri 22:00-02:00" is Friday night to Saturday 02:00).
 * Pure functions, no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TENDER_MAINTENANCE_MAX_WINDOWS 32
#define TENDER_MAINTENANCE_SPEC_MAX 64 /* bytes of one window's text */

struct tender_maintenance_window {
        uint8_t days;       /* bit d set: the window opens on weekday d (0 = Sunday, as tm_wday) */
        uint16_t start_min; /* minutes after local midnight */
        uint16_t end_min;   /* exclusive, 1..1440; <= start_min: ends the next day */
};

/* Parses one window; -EINVAL (nothing written) when spec does not follow the syntax above. */
int tender_maintenance_window_parse(const char *spec, struct tender_maintenance_window *ret);

/* Whether the local time tm (tm_wday, tm_hour, tm_min) lies inside w. */
bool tender_maintenance_window_contains(const struct tender_maintenance_window *w,
                                        const struct tm *tm);

#define TENDER_MAINTENANCE_WEEK_MIN (7 * 1440)

/* Minutes from the local time tm (its minute, seconds ignored) to the first minute inside any of
 * the n windows: 0 when tm lies inside one, TENDER_MAINTENANCE_WEEK_MIN when none ever opens
 * (n == 0 or no day set). Counts in wall-clock minutes of the week; a DST shift on the way makes
 * it an hour off, so callers look again at that time rather than trust it blindly. */
unsigned tender_maintenance_minutes_to_open(const struct tender_maintenance_window *w, size_t n,
                                            const struct tm *tm);
