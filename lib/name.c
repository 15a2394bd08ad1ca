/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/name.h"

#include <string.h>

#include "tender/macro.h"

bool tender_name_valid(const char *s) {
        if (!s || !*s || strnlen(s, TENDER_NAME_MAX + 1) > TENDER_NAME_MAX || STREQ(s, ".") ||
            STREQ(s, ".."))
                return false;
        for (const char *p = s; *p; p++) {
                bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                             (*p >= '0' && *p <= '9');
                if (!alnum && (p == s || (*p != '.' && *p != '_' && *p != '-')))
                        return false;
        }
        return true;
}
