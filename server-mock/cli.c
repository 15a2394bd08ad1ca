/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tender/escape.h"
#include "tender/json.h"
#include "tender/macro.h"

#define CLI_URL_DEFAULT "http://127.0.0.1:8080"
#define CLI_REPLY_MAX (64 * 1024 * 1024)
#define CLI_TIMEOUT_SEC 30
#define CLI_URL_MAX 2048

struct buf {
        char *data;
        size_t len;
        bool too_big;
};

static void usage(FILE *f) {
        fprintf(f, "Usage: tender-server-mock rollout [--url URL] [--token TOKEN] COMMAND ...\n"
                   "Groups and rollouts through the management API of a running "
                   "tender-server-mock.\n\n"
                   "  group NAME --targets ID[,ID...]        a group of these controller ids\n"
                   "  group NAME --attribute KEY=VALUE ...   every target whose configData has "
                   "them\n"
                   "  groups                                 list the groups and their members\n"
                   "  create NAME --app APP --version VERSION --group GROUP [--group GROUP...]\n"
                   "         [--canary PERCENT] [--success PERCENT] [--error PERCENT]\n"
                   "                                         start a rollout over the groups in "
                   "order\n"
                   "  list                                   every rollout\n"
                   "  status NAME                            one rollout: phases, devices, "
                   "history\n"
                   "  pause NAME | resume NAME | cancel NAME\n"
                   "  device ID                              a target, its actions and rollouts\n\n"
                   "  --url URL      the server (default $TENDER_MOCK_URL or " CLI_URL_DEFAULT ")\n"
                   "  --token TOKEN  its --mgmt-token (default $TENDER_MOCK_TOKEN)\n"
                   "Replies are printed as JSON on stdout; errors go to stderr with exit status "
                   "1.\n");
}

static size_t on_data(char *p, size_t size, size_t n, void *userdata) {
        struct buf *b = userdata;
        size_t k = size * n;
        if (b->len + k > CLI_REPLY_MAX) {
                b->too_big = true;
                return 0;
        }
        char *q = realloc(b->data, b->len + k + 1);
        if (!q)
                return 0;
        memcpy(q + b->len, p, k);
        b->data = q;
        b->len += k;
        b->data[b->len] = '\0';
        return k;
}

/* method url[path] with an optional JSON body; prints the reply or the server's message. */
static int request(const char *base, const char *token, const char *method, const char *path,
                   const cJSON *body) {
        char url[CLI_URL_MAX], auth[512];
        if ((size_t) snprintf(url, sizeof(url), "%s/mock/%s", base, path) >= sizeof(url)) {
                fprintf(stderr, "tender-server-mock rollout: URL too long\n");
                return 2;
        }
        _cleanup_free_ char *text = body ? cJSON_PrintUnformatted(body) : NULL;
        struct buf b = {0};
        struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (token) {
                snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
                headers = curl_slist_append(headers, auth);
        }
        CURL *c = curl_easy_init();
        if (!c || !headers || (body && !text)) {
                fprintf(stderr, "tender-server-mock rollout: out of memory\n");
                curl_slist_free_all(headers);
                curl_easy_cleanup(c);
                return 1;
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, (long) CLI_TIMEOUT_SEC);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (text)
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
        CURLcode cr = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(headers);
        curl_easy_cleanup(c);
        _cleanup_free_ char *data = b.data;
        if (cr != CURLE_OK) {
                fprintf(stderr, "tender-server-mock rollout: %s %s: %s\n", method, url,
                        b.too_big ? "reply too large" : curl_easy_strerror(cr));
                return 1;
        }
        _cleanup_(cJSON_Deletep) cJSON *reply = data ? cJSON_Parse(data) : NULL;
        if (status < 200 || status > 299) {
                /* The server's words, escaped: they go to a terminal. */
                const char *msg =
                        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "message"));
                char safe[1024], safe_url[CLI_URL_MAX];
                fprintf(stderr, "tender-server-mock rollout: %s %s: HTTP %ld%s%s\n", method,
                        tender_escape(safe_url, sizeof(safe_url), url), status, msg ? ": " : "",
                        msg ? tender_escape(safe, sizeof(safe), msg) : "");
                return 1;
        }
        _cleanup_free_ char *pretty = reply ? cJSON_Print(reply) : NULL;
        if (pretty)
                printf("%s\n", pretty);
        return 0;
}

/* "a,b,c" into a JSON array of strings. */
static cJSON *split_list(const char *s) {
        cJSON *arr = cJSON_CreateArray();
        while (arr && *s) {
                size_t n = strcspn(s, ",");
                char item[256];
                if (n > 0 && n < sizeof(item)) {
                        memcpy(item, s, n);
                        item[n] = '\0';
                        cJSON *v = cJSON_CreateString(item);
                        if (!v || !cJSON_AddItemToArray(arr, v)) {
                                cJSON_Delete(v);
                                cJSON_Delete(arr);
                                return NULL;
                        }
                }
                s += n + (s[n] == ',');
        }
        return arr;
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "tender-server-mock rollout: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, " (see tender-server-mock rollout --help)\n");
        va_end(ap);
        return 2;
}

/* group NAME (--targets LIST | --attribute K=V...) */
static int cmd_group(const char *url, const char *token, int argc, char **argv) {
        _cleanup_(cJSON_Deletep) cJSON *body = cJSON_CreateObject();
        cJSON *attrs = NULL;
        if (argc < 2 || !body || !cJSON_AddStringToObject(body, "name", argv[1]))
                return usage_error("%s", "group needs a NAME");
        for (int i = 2; i < argc; i++) {
                if (STREQ(argv[i], "--targets") && i + 1 < argc) {
                        cJSON *list = split_list(argv[++i]);
                        if (!list || !cJSON_AddItemToObject(body, "targets", list)) {
                                cJSON_Delete(list);
                                return 1;
                        }
                } else if (STREQ(argv[i], "--attribute") && i + 1 < argc) {
                        const char *kv = argv[++i], *eq = strchr(kv, '=');
                        char key[256];
                        if (!eq || eq == kv || (size_t) (eq - kv) >= sizeof(key))
                                return usage_error("--attribute: expected KEY=VALUE, got %s", kv);
                        memcpy(key, kv, (size_t) (eq - kv));
                        key[eq - kv] = '\0';
                        if (!attrs && !(attrs = cJSON_AddObjectToObject(body, "attributes")))
                                return 1;
                        if (!cJSON_AddStringToObject(attrs, key, eq + 1))
                                return 1;
                } else
                        return usage_error("group: unexpected %s", argv[i]);
        }
        return request(url, token, "POST", "groups", body);
}

static bool add_percent(cJSON *body, const char *key, const char *text) {
        char *end = NULL;
        long v = strtol(text, &end, 10);
        if (!end || *end || end == text || v < 0 || v > 100)
                return false;
        return cJSON_AddNumberToObject(body, key, (double) v) != NULL;
}

/* create NAME --app A --version V --group G... [--canary P] [--success P] [--error P] */
static int cmd_create(const char *url, const char *token, int argc, char **argv) {
        _cleanup_(cJSON_Deletep) cJSON *body = cJSON_CreateObject();
        cJSON *groups = NULL;
        if (argc < 2 || !body || !cJSON_AddStringToObject(body, "name", argv[1]) ||
            !(groups = cJSON_AddArrayToObject(body, "groups")))
                return usage_error("%s", "create needs a NAME");
        for (int i = 2; i < argc; i++) {
                const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
                bool ok = val != NULL;
                if (ok && STREQ(opt, "--app"))
                        ok = cJSON_AddStringToObject(body, "app", val) != NULL;
                else if (ok && STREQ(opt, "--version"))
                        ok = cJSON_AddStringToObject(body, "version", val) != NULL;
                else if (ok && STREQ(opt, "--group")) {
                        cJSON *g = cJSON_CreateString(val);
                        ok = g && cJSON_AddItemToArray(groups, g);
                } else if (ok && STREQ(opt, "--canary"))
                        ok = add_percent(body, "canaryPercent", val);
                else if (ok && STREQ(opt, "--success"))
                        ok = add_percent(body, "successThreshold", val);
                else if (ok && STREQ(opt, "--error"))
                        ok = add_percent(body, "errorThreshold", val);
                else
                        return usage_error("create: unexpected %s", opt);
                if (!ok)
                        return usage_error("create: bad value for %s", opt);
                i++;
        }
        return request(url, token, "POST", "rollouts", body);
}

int mock_cli_main(int argc, char **argv) {
        const char *url = getenv("TENDER_MOCK_URL"), *token = getenv("TENDER_MOCK_TOKEN");
        int i = 1;
        for (; i < argc && argv[i][0] == '-'; i++) {
                if (STREQ(argv[i], "--help") || STREQ(argv[i], "-h")) {
                        usage(stdout);
                        return 0;
                } else if (STREQ(argv[i], "--url") && i + 1 < argc)
                        url = argv[++i];
                else if (STREQ(argv[i], "--token") && i + 1 < argc)
                        token = argv[++i];
                else
                        return usage_error("unknown option %s", argv[i]);
        }
        if (!url || !url[0])
                url = CLI_URL_DEFAULT;
        if (token && !token[0])
                token = NULL;
        char base[CLI_URL_MAX];
        snprintf(base, sizeof(base), "%s", url);
        for (size_t n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
                base[n - 1] = '\0';
        if (i >= argc)
                return usage_error("%s", "a COMMAND is needed");
        const char *cmd = argv[i];
        int n = argc - i;
        char **args = argv + i;
        char path[CLI_URL_MAX];
        if (STREQ(cmd, "group"))
                return cmd_group(base, token, n, args);
        if (STREQ(cmd, "groups") && n == 1)
                return request(base, token, "GET", "groups", NULL);
        if (STREQ(cmd, "create"))
                return cmd_create(base, token, n, args);
        if (STREQ(cmd, "list") && n == 1)
                return request(base, token, "GET", "rollouts", NULL);
        if (n != 2 || strchr(args[1], '/') || strchr(args[1], '?') || strlen(args[1]) > 256)
                return usage_error("unknown command or arguments: %s", cmd);
        if (STREQ(cmd, "status"))
                snprintf(path, sizeof(path), "rollouts/%s", args[1]);
        else if (STREQ(cmd, "device"))
                snprintf(path, sizeof(path), "targets/%s", args[1]);
        else if (STREQ(cmd, "pause") || STREQ(cmd, "resume") || STREQ(cmd, "cancel"))
                snprintf(path, sizeof(path), "rollouts/%s/%s", args[1], cmd);
        else
                return usage_error("unknown command %s", cmd);
        bool get = STREQ(cmd, "status") || STREQ(cmd, "device");
        return request(base, token, get ? "GET" : "POST", path, NULL);
}
