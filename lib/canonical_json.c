/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/canonical_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tender/json.h"

struct buf {
        char *data;
        size_t len, size;
};

static int buf_add(struct buf *b, const char *s, size_t n) {
        if (n > SIZE_MAX / 2 - b->len)
                return -ENOMEM;
        if (b->len + n + 1 > b->size) {
                size_t size = b->size ? b->size : 256;
                while (size < b->len + n + 1)
                        size *= 2;
                char *p = realloc(b->data, size);
                if (!p)
                        return -ENOMEM;
                b->data = p;
                b->size = size;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

static int add_string(struct buf *b, const char *s) {
        int r = buf_add(b, "\"", 1);
        for (const char *p = s; r >= 0 && *p;) {
                size_t run = strcspn(p, "\"\\");
                r = buf_add(b, p, run);
                p += run;
                if (r >= 0 && *p) {
                        char esc[2] = {'\\', *p++};
                        r = buf_add(b, esc, 2);
                }
        }
        return r < 0 ? r : buf_add(b, "\"", 1);
}

static int compare_members(const void *a, const void *b) {
        const cJSON *x = *(const cJSON *const *) a, *y = *(const cJSON *const *) b;
        return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

static int encode(struct buf *b, const cJSON *n, unsigned depth, struct tender_error *err);

static int encode_object(struct buf *b, const cJSON *n, unsigned depth, struct tender_error *err) {
        size_t count = 0;
        for (const cJSON *c = n->child; c; c = c->next)
                count++;
        _cleanup_free_ const cJSON **members = calloc(count ? count : 1, sizeof(*members));
        if (!members)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        size_t i = 0;
        for (const cJSON *c = n->child; c; c = c->next)
                members[i++] = c;
        /* Byte order of UTF-8 keys is code point order, which is what other encoders sort by. */
        qsort(members, count, sizeof(*members), compare_members);
        int r = buf_add(b, "{", 1);
        for (i = 0; r >= 0 && i < count; i++) {
                if (i > 0)
                        r = buf_add(b, ",", 1);
                if (r >= 0)
                        r = add_string(b, members[i]->string ? members[i]->string : "");
                if (r >= 0)
                        r = buf_add(b, ":", 1);
                if (r >= 0)
                        r = encode(b, members[i], depth + 1, err);
                if (r < 0 && r != -ENOMEM)
                        return r;
        }
        if (r < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        return buf_add(b, "}", 1) < 0
                       ? tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory")
                       : 0;
}

static int encode_number(struct buf *b, const cJSON *n, struct tender_error *err) {
        double v = n->valuedouble;
        double mag = v < 0 ? -v : v;
        if (!(mag <= TENDER_CANONICAL_JSON_INT_MAX) || (double) (int64_t) v != v)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "canonical JSON has integers up to 2^53 only, not %g", v);
        char tmp[32];
        int len = snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t) v);
        return buf_add(b, tmp, (size_t) len);
}

static int encode(struct buf *b, const cJSON *n, unsigned depth, struct tender_error *err) {
        int r;
        if (depth > TENDER_CANONICAL_JSON_MAX_DEPTH)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "canonical JSON nested deeper than %d levels",
                                        TENDER_CANONICAL_JSON_MAX_DEPTH);
        if (cJSON_IsObject(n))
                return encode_object(b, n, depth, err);
        if (cJSON_IsArray(n)) {
                r = buf_add(b, "[", 1);
                for (const cJSON *c = n->child; r >= 0 && c; c = c->next) {
                        if (c != n->child)
                                r = buf_add(b, ",", 1);
                        if (r >= 0)
                                r = encode(b, c, depth + 1, err);
                        if (r < 0 && r != -ENOMEM)
                                return r;
                }
                if (r >= 0)
                        r = buf_add(b, "]", 1);
        } else if (cJSON_IsString(n) && n->valuestring) {
                r = add_string(b, n->valuestring);
        } else if (cJSON_IsNumber(n)) {
                r = encode_number(b, n, err);
                if (r < 0 && r != -ENOMEM)
                        return r;
        } else if (cJSON_IsTrue(n)) {
                r = buf_add(b, "true", 4);
        } else if (cJSON_IsFalse(n)) {
                r = buf_add(b, "false", 5);
        } else if (cJSON_IsNull(n)) {
                r = buf_add(b, "null", 4);
        } else {
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "canonical JSON cannot encode this value");
        }
        return r < 0 ? tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory") : 0;
}

int tender_canonical_json(const cJSON *node, char **ret, size_t *ret_len,
                          struct tender_error *err) {
        struct buf b = {0};
        if (!node)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "no value to encode");
        int r = encode(&b, node, 0, err);
        if (r >= 0 && !b.data)
                r = tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        if (r < 0) {
                free(b.data);
                return r;
        }
        if (ret_len)
                *ret_len = b.len;
        *ret = b.data;
        return 0;
}

/* Numbers outside strings may hold digits only: a fraction, an exponent or a sign would be
 * re-encoded differently from what the signer saw, if at all. */
static int scan_numbers(const char *data, size_t len, struct tender_error *err) {
        bool in_string = false;
        for (size_t i = 0; i < len; i++) {
                char c = data[i];
                if (in_string) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (c == '"') {
                        in_string = true;
                        continue;
                }
                if (c != '-' && (c < '0' || c > '9'))
                        continue;
                size_t n = 0;
                bool digits = true;
                /* Bounded by len: the data need not be NUL-terminated. */
                while (i + n < len && data[i + n] && strchr("0123456789+-.eE", data[i + n])) {
                        if (data[i + n] < '0' || data[i + n] > '9')
                                digits = false;
                        n++;
                }
                if (!digits || (n > 1 && c == '0'))
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                "number at offset %zu is not a plain integer "
                                                "(no sign, fraction, exponent or leading zero)",
                                                i);
                i += n - 1;
        }
        return 0;
}

int tender_canonical_json_parse(const char *data, size_t len, size_t max_size, unsigned max_depth,
                                cJSON **ret, struct tender_error *err) {
        /* Before the number scan, which would otherwise read an oversized document. */
        int r = tender_json_check_size(data, len, max_size, err);
        if (r < 0)
                return r;
        r = scan_numbers(data, len, err);
        if (r < 0)
                return r;
        return tender_json_parse(data, len, max_size, max_depth, ret, err);
}
