/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/escape.h"
#include "tender/macro.h"
#include "test.h"

#define ESC(lit) tender_escape_mem(buf, sizeof(buf), lit, sizeof(lit) - 1)

TEST(printable_ascii_kept) {
        char in[96], buf[256];
        size_t n = 0;
        for (int c = 0x20; c < 0x7f; c++)
                if (c != '\\')
                        in[n++] = (char) c;
        in[n] = '\0';
        ASSERT_STREQ(tender_escape(buf, sizeof(buf), in), in);
        ASSERT_STREQ(tender_escape(buf, sizeof(buf), NULL), "");
}

TEST(every_control_character_and_del) {
        char buf[64], want[8];
        for (int c = 0; c < 0x20; c++) {
                char in[3] = {'a', (char) c, 'b'};
                snprintf(want, sizeof(want), "a\\x%02xb", c);
                ASSERT_STREQ(tender_escape_mem(buf, sizeof(buf), in, 3), want);
        }
        ASSERT_STREQ(ESC("\x7f"), "\\x7f");
        /* The notify and journal separators, a terminal's escape: */
        ASSERT_STREQ(ESC("1.0\nWATCHDOG=trigger\nREADY=1"), "1.0\\x0aWATCHDOG=trigger\\x0aREADY=1");
        ASSERT_STREQ(ESC("\x1b[2J\r"), "\\x1b[2J\\x0d");
}

TEST(backslash_doubled) {
        char buf[32];
        /* A literal "\x0a" in the input does not read back as an escaped newline. */
        ASSERT_STREQ(ESC("a\\x0a"), "a\\\\x0a");
}

TEST(valid_multibyte_kept) {
        char buf[64];
        /* U+00A0 (first after C1), é, U+07FF, U+0800, €, U+FFFD, U+FFFF, 😀, U+10FFFF */
        const char in[] = "\xc2\xa0\xc3\xa9\xdf\xbf\xe0\xa0\x80\xe2\x82\xac\xef\xbf\xbd\xef\xbf"
                          "\xbf\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf";
        ASSERT_STREQ(ESC(in), in);
        ASSERT_TRUE(tender_utf8_valid(in, sizeof(in) - 1));
}

TEST(c1_controls_escaped) {
        char buf[32];
        ASSERT_STREQ(ESC("\xc2\x80"), "\\xc2\\x80");
        ASSERT_STREQ(ESC("\xc2\x9b"
                         "31m"),
                     "\\xc2\\x9b31m"); /* CSI */
        ASSERT_STREQ(ESC("\xc2\x9f"), "\\xc2\\x9f");
        ASSERT_TRUE(tender_utf8_valid("\xc2\x9b", 2)); /* valid UTF-8, still escaped */
}

/* Each of these is not UTF-8: every byte comes out as \xNN. */
TEST(invalid_utf8_escaped) {
        static const struct {
                const char *in, *want;
        } cases[] = {
                {"\xc0\xaf", "\\xc0\\xaf"},                            /* overlong '/' */
                {"\xc1\xbf", "\\xc1\\xbf"},                            /* overlong U+007F */
                {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},                   /* overlong, 3 bytes */
                {"\xe0\x9f\xbf", "\\xe0\\x9f\\xbf"},                   /* overlong U+07FF */
                {"\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"},          /* overlong, 4 bytes */
                {"\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"},          /* overlong U+FFFF */
                {"\xed\xa0\x80", "\\xed\\xa0\\x80"},                   /* U+D800, a surrogate */
                {"\xed\xbf\xbf", "\\xed\\xbf\\xbf"},                   /* U+DFFF */
                {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},          /* U+110000 */
                {"\xf7\xbf\xbf\xbf", "\\xf7\\xbf\\xbf\\xbf"},          /* U+1FFFFF */
                {"\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80"}, /* 5-byte form */
                {"\xfe\xff", "\\xfe\\xff"},
                {"\x80", "\\x80"}, /* stray continuation */
                {"\xbf"
                 "a",
                 "\\xbfa"},
                {"\xc3", "\\xc3"}, /* truncated at the end */
                {"\xe2\x82", "\\xe2\\x82"},
                {"\xf0\x9f\x98", "\\xf0\\x9f\\x98"},
                {"\xe2\x82"
                 "a",
                 "\\xe2\\x82a"},                   /* truncated before ASCII */
                {"\xc3\xc3\xa9", "\\xc3\xc3\xa9"}, /* truncated before a valid one */
        };
        char buf[64];
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *got = tender_escape(buf, sizeof(buf), cases[i].in);
                if (strcmp(got, cases[i].want) != 0)
                        TEST_FAIL_("case %zu: \"%s\", expected \"%s\"", i, got, cases[i].want);
                if (tender_utf8_valid(cases[i].in, strlen(cases[i].in)))
                        TEST_FAIL_("case %zu read as valid UTF-8", i);
        }
}

TEST(nul_bytes_escaped) {
        char buf[32];
        ASSERT_STREQ(tender_escape_mem(buf, sizeof(buf), "a\0b", 3), "a\\x00b");
}

/* The output never overflows, ends in "..." when cut, and cuts no escape or sequence. */
TEST(bounded_output) {
        char buf[8];
        ASSERT_STREQ(tender_escape(buf, sizeof(buf), "abcdefg"), "abcdefg"); /* fits exactly */
        ASSERT_STREQ(tender_escape(buf, sizeof(buf), "abcdefgh"), "abcd...");
        ASSERT_STREQ(tender_escape(buf, sizeof(buf), "a\nbcdefgh"), "a..."); /* \x0a whole */
        ASSERT_STREQ(tender_escape(buf, sizeof(buf),
                                   "ab\xe2\x82\xac"
                                   "cdef"),
                     "ab..."); /* € whole */
        ASSERT_STREQ(tender_escape(buf, 4, "abcd"), "...");
        ASSERT_STREQ(tender_escape(buf, 4, "abc"), "abc");
        char big[4 * 300 + 1];
        char in[300];
        memset(in, '\n', sizeof(in));
        tender_escape_mem(big, sizeof(big), in, sizeof(in));
        ASSERT_EQ(strlen(big), 4 * 300);
        tender_escape_mem(big, 100, in, sizeof(in));
        ASSERT_EQ(strlen(big), 99);
        ASSERT_STREQ(big + 96, "...");
}

/* Whatever the input, the output is valid UTF-8 without a control character. */
TEST(output_always_clean) {
        char in[256], buf[1100];
        for (int i = 0; i < 256; i++)
                in[i] = (char) (255 - i);
        tender_escape_mem(buf, sizeof(buf), in, sizeof(in));
        ASSERT_TRUE(tender_utf8_valid(buf, strlen(buf)));
        for (const unsigned char *p = (const unsigned char *) buf; *p; p++)
                ASSERT_TRUE(*p >= 0x20 && *p != 0x7f && *p < 0x80);
}

TEST(json_text_kept_unless_invalid) {
        static const char text[] = "caf\xc3\xa9 \x1b[2J\n";
        char *v = tender_json_text_dup(text, sizeof(text) - 1);
        ASSERT_STREQ(v, "caf\xc3\xa9 \x1b[2J\n"); /* valid UTF-8: cJSON escapes the rest */
        free(v);
        v = tender_json_text_dup("a\xff"
                                 "b",
                                 3);
        ASSERT_STREQ(v, "a\\xffb");
        ASSERT_TRUE(tender_utf8_valid(v, strlen(v)));
        free(v);
        v = tender_json_text_dup("a\0b", 3); /* a NUL would cut the string short */
        ASSERT_STREQ(v, "a\\x00b");
        free(v);
}

TEST_MAIN()
