/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/escape.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ELLIPSIS "..."

/* Length of the well-formed UTF-8 sequence at s (n bytes available) and its code point, or 0
 * when the bytes there are not one (RFC 3629: shortest form, no surrogates, up to U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s, size_t n, uint32_t *ret_cp) {
        static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
        unsigned char c = s[0];
        size_t len;
        uint32_t cp;

        if (c < 0x80) {
                *ret_cp = c;
                return 1;
        }
        if ((c & 0xe0) == 0xc0) {
                len = 2;
                cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
                len = 3;
                cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
                len = 4;
                cp = c & 0x07;
        } else
                return 0; /* a continuation byte, or 0xf8-0xff */
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret_cp = cp;
        return len;
}

bool tender_utf8_valid(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *) s;
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                size_t k = utf8_sequence(p + i, len - i, &cp);
                if (k == 0)
                        return false;
                i += k;
        }
        return true;
}

/* What the bytes at p become: *ret_in bytes consumed, the output written to out (at most 8
 * bytes), its length returned. */
static size_t escape_one(const unsigned char *p, size_t n, size_t *ret_in, char out[static 8]) {
        static const char hex[] = "0123456789abcdef";
        uint32_t cp = 0;
        size_t k = utf8_sequence(p, n, &cp);

        if (k == 1 && cp == '\\') {
                *ret_in = 1;
                memcpy(out, "\\\\", 2);
                return 2;
        }
        if ((k == 1 && cp >= 0x20 && cp < 0x7f) || (k > 1 && cp >= 0xa0)) {
                *ret_in = k;
                memcpy(out, p, k);
                return k;
        }
        /* A control character, or a byte of no well-formed sequence; a C1 control is two
         * bytes, escaped one at a time on the next calls. */
        *ret_in = 1;
        out[0] = '\\';
        out[1] = 'x';
        out[2] = hex[p[0] >> 4];
        out[3] = hex[p[0] & 0xf];
        return 4;
}

const char *tender_escape_mem(char *buf, size_t size, const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *) (s ? s : "");
        size_t total = 0, o = 0, in = 0;
        char piece[8];

        if (size < sizeof(ELLIPSIS)) {
                if (size > 0)
                        buf[0] = '\0';
                return buf;
        }
        for (size_t i = 0; i < len; i += in)
                total += escape_one(p + i, len - i, &in, piece);
        /* What does not fit is cut where a whole piece ends, with room left for the ellipsis. */
        bool cut = total + 1 > size;
        size_t limit = cut ? size - sizeof(ELLIPSIS) : size - 1;
        for (size_t i = 0; i < len; i += in) {
                size_t n = escape_one(p + i, len - i, &in, piece);
                if (o + n > limit)
                        break;
                memcpy(buf + o, piece, n);
                o += n;
        }
        if (cut)
                memcpy(buf + o, ELLIPSIS, sizeof(ELLIPSIS));
        else
                buf[o] = '\0';
        return buf;
}

const char *tender_escape(char *buf, size_t size, const char *s) {
        return tender_escape_mem(buf, size, s, s ? strlen(s) : 0);
}

char *tender_json_text_dup(const char *s, size_t len) {
        if (tender_utf8_valid(s, len) && !memchr(s, '\0', len))
                return strndup(s, len);
        size_t size = len * TENDER_ESCAPE_GROWTH + 4;
        char *v = malloc(size);
        if (v)
                tender_escape_mem(v, size, s, len);
        return v;
}
