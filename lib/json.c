/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Longest JSON path kept for error messages; deeper paths are cut, which only shortens them. */
#define JSON_PATH_MAX 256
/* Largest integer a double holds exactly: beyond it two different numbers compare equal.
 * cJSON keeps only the double, so 2^53 + 1 in the text reads as 2^53 and is accepted. */
#define JSON_INT_MAX 9007199254740992.0 /* 2^53 */

/* "path.key", or "key" at the root, for error messages. */
static const char *member_path(char buf[static JSON_PATH_MAX], const char *path, const char *key) {
        snprintf(buf, JSON_PATH_MAX, "%s%s%s", path ? path : "", path && *path ? "." : "", key);
        return buf;
}

/* Bounds nesting before cJSON recurses, and refuses what cJSON would silently mangle or let
 * through: NUL bytes (cJSON stops at them), "\u0000" escapes (cJSON cuts the string there, so
 * "a\u0000b" would read as "a") and raw control characters inside strings (RFC 8259 wants them
 * escaped; cJSON keeps them, other JSON readers such as runc's and crun's refuse the document). */
static int scan(const char *data, size_t len, unsigned max_depth, struct tender_error *err) {
        unsigned depth = 0;
        bool in_string = false;
        for (size_t i = 0; i < len; i++) {
                char c = data[i];
                if (c == '\0')
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                "NUL byte at offset %zu", i);
                if (in_string) {
                        if ((unsigned char) c < 0x20)
                                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                        "control character 0x%02x in a string "
                                                        "at offset %zu (must be escaped)",
                                                        (unsigned) c, i);
                        if (c == '"') {
                                in_string = false;
                        } else if (c == '\\' && i + 1 < len) {
                                i++;
                                if (data[i] == 'u' && i + 4 < len &&
                                    memcmp(data + i + 1, "0000", 4) == 0)
                                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                                "\\u0000 in a string at offset %zu",
                                                                i - 1);
                        }
                        continue;
                }
                switch (c) {
                case '"':
                        in_string = true;
                        break;
                case '{':
                case '[':
                        if (++depth > max_depth)
                                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                        "nested deeper than %u levels at offset "
                                                        "%zu",
                                                        max_depth, i);
                        break;
                case '}':
                case ']':
                        /* An unbalanced close is cJSON's to report. */
                        if (depth > 0)
                                depth--;
                        break;
                }
        }
        return 0;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Walks the tree (its depth already bounded) and refuses an object holding a key twice: which
 * of the two a reader would pick is ambiguous, and signed documents must read one way only. */
static int check_duplicates(const cJSON *node, char *path, size_t plen, struct tender_error *err) {
        if (cJSON_IsObject(node)) {
                size_t n = 0;
                for (const cJSON *c = node->child; c; c = c->next)
                        n++;
                if (n > 1) {
                        _cleanup_free_ const char **names = malloc(n * sizeof(*names));
                        if (!names)
                                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM,
                                                        "out of memory");
                        size_t i = 0;
                        for (const cJSON *c = node->child; c; c = c->next)
                                names[i++] = c->string ? c->string : "";
                        qsort(names, n, sizeof(*names), compare_names);
                        for (i = 1; i < n; i++)
                                if (STREQ(names[i - 1], names[i]))
                                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                                "%s%sduplicate key \"%s\"", path,
                                                                plen ? ": " : "", names[i]);
                }
        }
        if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
                return 0;
        size_t index = 0;
        for (const cJSON *c = node->child; c; c = c->next, index++) {
                if (cJSON_IsObject(node))
                        snprintf(path + plen, JSON_PATH_MAX - plen, "%s%s", plen ? "." : "",
                                 c->string ? c->string : "");
                else
                        snprintf(path + plen, JSON_PATH_MAX - plen, "[%zu]", index);
                size_t nlen = strlen(path);
                int r = check_duplicates(c, path, nlen, err);
                path[plen] = '\0';
                if (r < 0)
                        return r;
        }
        return 0;
}

int tender_json_check_size(const char *data, size_t len, size_t max_size,
                           struct tender_error *err) {
        if (!data)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "no document");
        if (len > max_size)
                return tender_error_set(err, TENDER_ERR_JSON, EFBIG,
                                        "document of %zu bytes exceeds the limit of %zu", len,
                                        max_size);
        return 0;
}

int tender_json_parse(const char *data, size_t len, size_t max_size, unsigned max_depth,
                      cJSON **ret, struct tender_error *err) {
        int r = tender_json_check_size(data, len, max_size, err);
        if (r < 0)
                return r;
        if (max_depth == 0)
                max_depth = TENDER_JSON_MAX_DEPTH_DEFAULT;
        r = scan(data, len, max_depth, err);
        if (r < 0)
                return r;

        /* A NUL-terminated copy lets cJSON check that nothing but whitespace follows the value. */
        _cleanup_free_ char *copy = malloc(len + 1);
        if (!copy)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        memcpy(copy, data, len);
        copy[len] = '\0';
        const char *end = NULL;
        _cleanup_(cJSON_Deletep) cJSON *root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
        if (!root) {
                size_t off = end && end >= copy && end <= copy + len ? (size_t) (end - copy) : 0;
                if (!end)
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "malformed JSON");
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "malformed JSON at offset %zu", off);
        }
        char path[JSON_PATH_MAX] = "";
        r = check_duplicates(root, path, 0, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(root);
        return 0;
}

/* Finds key in obj. NULL obj (an optional parent that is absent) has no members. */
static int lookup(const cJSON *obj, const char *path, const char *key, bool required,
                  const cJSON **ret, struct tender_error *err) {
        char buf[JSON_PATH_MAX];
        if (obj && !cJSON_IsObject(obj))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: expected an object",
                                        path && *path ? path : "(root)");
        const cJSON *item = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
        if (!item) {
                if (required)
                        return tender_error_set(err, TENDER_ERR_JSON, ENOENT, "%s: missing",
                                                member_path(buf, path, key));
                return 0;
        }
        *ret = item;
        return 1;
}

static int type_error(const char *path, const char *key, const char *what,
                      struct tender_error *err) {
        char buf[JSON_PATH_MAX];
        return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: expected %s",
                                member_path(buf, path, key), what);
}

int tender_json_get_string(const cJSON *obj, const char *path, const char *key, bool required,
                           const char **ret, struct tender_error *err) {
        const cJSON *item;
        int r = lookup(obj, path, key, required, &item, err);
        if (r <= 0)
                return r;
        if (!cJSON_IsString(item) || !item->valuestring)
                return type_error(path, key, "a string", err);
        *ret = item->valuestring;
        return 0;
}

static bool is_json_int(const cJSON *item) {
        if (!cJSON_IsNumber(item))
                return false;
        double v = item->valuedouble;
        /* The range check comes first so that the conversion is defined. */
        return v >= 0 && v <= JSON_INT_MAX && (double) (uint64_t) v == v;
}

int tender_json_get_u64(const cJSON *obj, const char *path, const char *key, bool required,
                        uint64_t *ret, struct tender_error *err) {
        const cJSON *item;
        int r = lookup(obj, path, key, required, &item, err);
        if (r <= 0)
                return r;
        if (!cJSON_IsNumber(item))
                return type_error(path, key, "a number", err);
        if (!is_json_int(item))
                return type_error(path, key, "a whole number between 0 and 2^53", err);
        *ret = (uint64_t) item->valuedouble;
        return 0;
}

int tender_json_get_bool(const cJSON *obj, const char *path, const char *key, bool required,
                         bool *ret, struct tender_error *err) {
        const cJSON *item;
        int r = lookup(obj, path, key, required, &item, err);
        if (r <= 0)
                return r;
        if (!cJSON_IsBool(item))
                return type_error(path, key, "true or false", err);
        *ret = cJSON_IsTrue(item);
        return 0;
}

int tender_json_get_object(const cJSON *obj, const char *path, const char *key, bool required,
                           const cJSON **ret, struct tender_error *err) {
        const cJSON *item;
        int r = lookup(obj, path, key, required, &item, err);
        if (r <= 0)
                return r;
        if (!cJSON_IsObject(item))
                return type_error(path, key, "an object", err);
        *ret = item;
        return 0;
}

int tender_json_get_array(const cJSON *obj, const char *path, const char *key, bool required,
                          const cJSON **ret, struct tender_error *err) {
        const cJSON *item;
        int r = lookup(obj, path, key, required, &item, err);
        if (r <= 0)
                return r;
        if (!cJSON_IsArray(item))
                return type_error(path, key, "an array", err);
        *ret = item;
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(char *, tender_strv_free);

int tender_json_get_strv(const cJSON *obj, const char *path, const char *key, bool required,
                         size_t max_items, char ***ret, struct tender_error *err) {
        const cJSON *arr = NULL;
        int r = tender_json_get_array(obj, path, key, required, &arr, err);
        if (r < 0 || !arr)
                return r;
        char buf[JSON_PATH_MAX];
        size_t n = (size_t) cJSON_GetArraySize(arr);
        if (n > max_items)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "%s: %zu items, more than the limit of %zu",
                                        member_path(buf, path, key), n, max_items);
        _cleanup_(tender_strv_freep) char **v = calloc(n + 1, sizeof(char *));
        if (!v)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        size_t i = 0;
        for (const cJSON *c = arr->child; c && i < n; c = c->next, i++) {
                if (!cJSON_IsString(c) || !c->valuestring)
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                "%s[%zu]: expected a string",
                                                member_path(buf, path, key), i);
                v[i] = strdup(c->valuestring);
                if (!v[i])
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        }
        *ret = TAKE_PTR(v);
        return 0;
}

int tender_json_check_keys(const cJSON *obj, const char *path, const char *const *allowed,
                           struct tender_error *err) {
        if (!obj)
                return 0;
        if (!cJSON_IsObject(obj))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: expected an object",
                                        path && *path ? path : "(root)");
        for (const cJSON *c = obj->child; c; c = c->next) {
                const char *name = c->string ? c->string : "";
                bool known = false;
                for (size_t i = 0; allowed && allowed[i] && !known; i++)
                        known = STREQ(allowed[i], name);
                if (!known) {
                        char buf[JSON_PATH_MAX];
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: unknown key",
                                                member_path(buf, path, name));
                }
        }
        return 0;
}

void tender_strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

size_t tender_strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}
