/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "tender/maintenance.h"
#include "test.h"

/* A local time on weekday wday (0 = Sunday) at hh:mm. */
static struct tm at(int wday, int hh, int mm) {
        return (struct tm){.tm_wday = wday, .tm_hour = hh, .tm_min = mm};
}

static bool in(const char *spec, int wday, int hh, int mm) {
        struct tender_maintenance_window w;
        struct tm tm = at(wday, hh, mm);
        if (tender_maintenance_window_parse(spec, &w) < 0) {
                fprintf(stderr, "  cannot parse \"%s\"\n", spec);
                test_failed_current = 1;
                return false;
        }
        return tender_maintenance_window_contains(&w, &tm);
}

TEST(parse_forms) {
        struct tender_maintenance_window w;
        ASSERT_OK(tender_maintenance_window_parse("Mon-Fri 02:00-04:00", &w));
        ASSERT_EQ(w.days, 0x3e);
        ASSERT_EQ(w.start_min, 120);
        ASSERT_EQ(w.end_min, 240);
        ASSERT_OK(tender_maintenance_window_parse("02:00-04:00", &w));
        ASSERT_EQ(w.days, 0x7f);
        ASSERT_OK(tender_maintenance_window_parse("* 00:00-24:00", &w));
        ASSERT_EQ(w.days, 0x7f);
        ASSERT_EQ(w.end_min, 1440);
        ASSERT_OK(tender_maintenance_window_parse("sat,sun 10:30-11:00", &w));
        ASSERT_EQ(w.days, 0x41);
        ASSERT_OK(tender_maintenance_window_parse("Fri-Mon 22:00-02:00", &w));
        ASSERT_EQ(w.days, 0x63); /* Fri, Sat, Sun, Mon */
        ASSERT_OK(tender_maintenance_window_parse("Mon,Wed-Thu 01:00-02:00", &w));
        ASSERT_EQ(w.days, 0x1a);
}

TEST(parse_refused) {
        static const char *const bad[] = {
                "",
                "Mon-Fri",
                "Mon-Fri 2:00-4:00",
                "Mon-Fri 02:00-04:60",
                "Mon-Fri 25:00-04:00",
                "Mon-Fri 24:00-04:00",
                "Mon-Fri 02:00-02:00",
                "Mon-Fri 02:00-00:00",
                "Mon-Fri 02:00_04:00",
                "Mon-Fri  02:00-04:00",
                " 02:00-04:00",
                "Monday 02:00-04:00",
                "Mon, 02:00-04:00",
                "Mon-Xyz 02:00-04:00",
                "Mon-Fri 02:00-04:00 ",
                "Mon-Fri02:00-04:00",
                "Mon-Fri 02:00-04:00x",
                "Mon,Tue,Wed,Thu,Fri,Sat,Sun,Mon,Tue,Wed,Thu,Fri,Sat,Sun,Mon 01:00-02:00",
                NULL,
        };
        struct tender_maintenance_window w = {.days = 9};
        for (size_t i = 0; bad[i]; i++) {
                if (tender_maintenance_window_parse(bad[i], &w) != -EINVAL) {
                        fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
                        test_failed_current = 1;
                }
        }
        ASSERT_EQ(w.days, 9); /* untouched */
        ASSERT_EQ(tender_maintenance_window_parse(NULL, &w), -EINVAL);
}

TEST(contains_same_day) {
        ASSERT_TRUE(in("Mon-Fri 02:00-04:00", 1, 2, 0));
        ASSERT_TRUE(in("Mon-Fri 02:00-04:00", 5, 3, 59));
        ASSERT_FALSE(in("Mon-Fri 02:00-04:00", 5, 4, 0)); /* end is exclusive */
        ASSERT_FALSE(in("Mon-Fri 02:00-04:00", 1, 1, 59));
        ASSERT_FALSE(in("Mon-Fri 02:00-04:00", 6, 3, 0)); /* Saturday */
        ASSERT_FALSE(in("Mon-Fri 02:00-04:00", 0, 3, 0)); /* Sunday */
        ASSERT_TRUE(in("00:00-24:00", 0, 23, 59));
        ASSERT_TRUE(in("00:00-24:00", 3, 0, 0));
}

TEST(contains_past_midnight) {
        /* Friday 22:00 to Saturday 02:00. */
        ASSERT_TRUE(in("Fri 22:00-02:00", 5, 22, 0));
        ASSERT_TRUE(in("Fri 22:00-02:00", 5, 23, 59));
        ASSERT_TRUE(in("Fri 22:00-02:00", 6, 1, 59));
        ASSERT_FALSE(in("Fri 22:00-02:00", 6, 2, 0));
        ASSERT_FALSE(in("Fri 22:00-02:00", 5, 1, 0)); /* Friday morning belongs to Thursday */
        ASSERT_FALSE(in("Fri 22:00-02:00", 6, 22, 30));
        /* Saturday's window wraps into Sunday through the week's end. */
        ASSERT_TRUE(in("Sat 23:00-01:00", 0, 0, 30));
        ASSERT_FALSE(in("Sat 23:00-01:00", 1, 0, 30));
}

static unsigned to_open(const char *spec, int wday, int hh, int mm) {
        struct tender_maintenance_window w;
        struct tm tm = at(wday, hh, mm);
        if (tender_maintenance_window_parse(spec, &w) < 0)
                return 99999;
        return tender_maintenance_minutes_to_open(&w, 1, &tm);
}

TEST(minutes_to_open) {
        ASSERT_EQ(to_open("Mon-Fri 02:00-04:00", 1, 2, 30), 0u); /* inside */
        ASSERT_EQ(to_open("Mon-Fri 02:00-04:00", 1, 1, 59), 1u);
        ASSERT_EQ(to_open("Mon-Fri 02:00-04:00", 1, 4, 0), 22u * 60); /* Tuesday 02:00 */
        /* Friday after the window: Monday 02:00, through the week's end. */
        ASSERT_EQ(to_open("Mon-Fri 02:00-04:00", 5, 4, 0), 70u * 60);
        /* Past midnight: Saturday 01:00 is inside Friday's window; Saturday 02:00 waits a week. */
        ASSERT_EQ(to_open("Fri 22:00-02:00", 6, 1, 0), 0u);
        ASSERT_EQ(to_open("Fri 22:00-02:00", 6, 2, 0), 6u * 1440 + 20 * 60);
        /* The earliest of several windows. */
        struct tender_maintenance_window w[2];
        struct tm tm = at(3, 12, 0);
        ASSERT_OK(tender_maintenance_window_parse("Sun 03:00-04:00", &w[0]));
        ASSERT_OK(tender_maintenance_window_parse("Wed 13:30-14:00", &w[1]));
        ASSERT_EQ(tender_maintenance_minutes_to_open(w, 2, &tm), 90u);
        ASSERT_EQ(tender_maintenance_minutes_to_open(w, 0, &tm),
                  (unsigned) TENDER_MAINTENANCE_WEEK_MIN);
}

TEST_MAIN()
