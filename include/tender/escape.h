/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Escaping for the sinks that other parties read: logs (stderr and journal fields), systemd's
 * notify socket, a terminal (tenderctl) and the JSON sent to the update server. Text from the
 * server, the TUF repository, a layer or a container may hold anything; what leaves escaped is
 * one line of printable text in valid UTF-8 that cannot start a new line, a new journal field
 * or sd_notify assignment, or a terminal escape sequence (docs/agent.md "Escaping").
 *
 * Kept as is: printable ASCII (0x20-0x7e) except the backslash, and well-formed UTF-8 sequences
 * of code points from U+00A0 up to U+10FFFF other than surrogates. Written as \xNN (two
 * lower-case hex digits), byte by byte: the C0 controls (0x00-0x1f, so newline and ESC), DEL,
 * the C1 controls (U+0080-U+009F, which some terminals obey) and every byte that is not part
 * of a well-formed sequence (overlong forms, surrogates, beyond U+10FFFF, truncated sequences,
 * stray continuation bytes). A backslash becomes "\\", so that the output reads back one way.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Worst-case growth: one input byte becomes four ("\xNN"). */
#define TENDER_ESCAPE_GROWTH 4

/* Writes s (len bytes, NULs included) escaped to buf, always NUL-terminated. When it does not
 * fit in size bytes the output ends in "..." and no escape or UTF-8 sequence is cut. size must
 * be at least 4. Returns buf, for use as a printf argument. */
const char *tender_escape_mem(char *buf, size_t size, const char *s, size_t len);

/* tender_escape_mem of a C string; NULL reads as "". */
const char *tender_escape(char *buf, size_t size, const char *s);

/* A NUL-terminated copy of s (len bytes) for a JSON string: as it is when it is well-formed UTF-8
 * without NUL (a JSON encoder escapes its control characters), else escaped as above. NULL
 * when out of memory. */
char *tender_json_text_dup(const char *s, size_t len);

/* True when s (len bytes) is well-formed UTF-8 (any code point, controls included). */
bool tender_utf8_valid(const char *s, size_t len);
