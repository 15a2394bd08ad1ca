/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>

#include "tenderctl_control.h"
#include "test.h"

TEST(durations) {
        uint64_t s = 0;
        ASSERT_OK(tenderctl_parse_duration("90", &s));
        ASSERT_EQ(s, 90);
        ASSERT_OK(tenderctl_parse_duration("45s", &s));
        ASSERT_EQ(s, 45);
        ASSERT_OK(tenderctl_parse_duration("30m", &s));
        ASSERT_EQ(s, 1800);
        ASSERT_OK(tenderctl_parse_duration("1h", &s));
        ASSERT_EQ(s, 3600);
        ASSERT_OK(tenderctl_parse_duration("2d", &s));
        ASSERT_EQ(s, 172800);
        ASSERT_ERR(tenderctl_parse_duration("0", &s), EINVAL);
        ASSERT_ERR(tenderctl_parse_duration("-1h", &s), EINVAL);
        ASSERT_ERR(tenderctl_parse_duration("1hh", &s), EINVAL);
        ASSERT_ERR(tenderctl_parse_duration("h", &s), EINVAL);
        ASSERT_ERR(tenderctl_parse_duration("1w", &s), EINVAL);
        ASSERT_ERR(tenderctl_parse_duration("99999999999999999999d", &s), EINVAL);
}

TEST(progress_bar) {
        char line[256];
        tenderctl_progress_bar("blob", 512 * 1024, 1024 * 1024, 10, line, sizeof(line));
        ASSERT_STREQ(line, "blob [#####-----]  50% 0.5/1.0 MiB");
        tenderctl_progress_bar("blob", 0, 0, 4, line, sizeof(line));
        ASSERT_STREQ(line, "blob [----]   0% 0.0/0.0 MiB");
        /* done past total (a resumed .part counted twice) stays at 100 %. */
        tenderctl_progress_bar("blob", 3, 2, 4, line, sizeof(line));
        ASSERT_STREQ(line, "blob [####] 100% 0.0/0.0 MiB");
}

TEST_MAIN()
