/* SPDX-License-Identifier: Apache-2.0 */
/* TEST_MAX + 1 tests in one file: test.h must refuse to run a file that lost one (check.sh). */
#include "test.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define TEST_AT(name) TEST(name)
#define ONE                                                                                        \
        TEST_AT(CAT(t, __COUNTER__)) {                                                             \
        }
#define EIGHT ONE ONE ONE ONE ONE ONE ONE ONE
#define SIXTY_FOUR EIGHT EIGHT EIGHT EIGHT EIGHT EIGHT EIGHT EIGHT
SIXTY_FOUR SIXTY_FOUR SIXTY_FOUR SIXTY_FOUR SIXTY_FOUR SIXTY_FOUR SIXTY_FOUR SIXTY_FOUR
        ONE _Static_assert(__COUNTER__ == TEST_MAX + 1, "one test more than TEST_MAX");

TEST_MAIN()
