/* SPDX-License-Identifier: Apache-2.0 */
#include "tenderctl_control.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tender/escape.h"
#include "tender/macro.h"

#define BAR_WIDTH 30

/* A malloc'd escaped copy of s, never cut. */
static char *escape_dup(const char *s) {
        size_t n = strlen(s), size = n * TENDER_ESCAPE_GROWTH + 4;
        char *e = malloc(size);
        return e ? (char *) tender_escape_mem(e, size, s, n) : NULL;
}

int tenderctl_escape_reply(cJSON *node) {
        for (cJSON *c = node; c; c = c->next) {
                if (c->string && !(c->type & cJSON_StringIsConst)) {
                        char *e = escape_dup(c->string);
                        if (!e)
                                return -ENOMEM;
                        free(c->string);
                        c->string = e;
                }
                if (cJSON_IsString(c) && c->valuestring) {
                        char *e = escape_dup(c->valuestring);
                        if (!e)
                                return -ENOMEM;
                        free(c->valuestring);
                        c->valuestring = e;
                }
                if (c->child && tenderctl_escape_reply(c->child) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int tenderctl_request(const char *socket_path, const cJSON *req, cJSON **ret_reply) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_free_ char *out = cJSON_PrintUnformatted(req), *in = NULL;
        size_t len = 0, cap = 0;

        if (!out)
                return -ENOMEM;
        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, socket_path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        if (dprintf(fd, "%s\n", out) < 0 || shutdown(fd, SHUT_WR) < 0)
                return -errno;
        for (;;) {
                if (len + 4096 + 1 > cap) {
                        if (cap >= TENDERCTL_REPLY_MAX)
                                return -E2BIG;
                        cap = cap ? cap * 2 : 8192;
                        char *p = realloc(in, cap);
                        if (!p)
                                return -ENOMEM;
                        in = p;
                }
                ssize_t n = read(fd, in + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (!in)
                return -ECONNRESET; /* closed without a reply */
        in[len] = 0;
        cJSON *reply = cJSON_ParseWithLength(in, len);
        if (!reply || !cJSON_IsObject(reply)) {
                cJSON_Delete(reply);
                return -EBADMSG;
        }
        if (tenderctl_escape_reply(reply) < 0) {
                cJSON_Delete(reply);
                return -ENOMEM;
        }
        *ret_reply = reply;
        return 0;
}

int tenderctl_parse_duration(const char *s, uint64_t *ret_sec) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        uint64_t mul = 1;
        if (errno || end == s || s[0] == '-')
                return -EINVAL;
        if (*end == 'd')
                mul = 86400;
        else if (*end == 'h')
                mul = 3600;
        else if (*end == 'm')
                mul = 60;
        else if (*end != 's' && *end != 0)
                return -EINVAL;
        if (*end && end[1])
                return -EINVAL;
        if (v == 0 || v > UINT64_MAX / mul)
                return -EINVAL;
        *ret_sec = v * mul;
        return 0;
}

void tenderctl_progress_bar(const char *what, uint64_t done, uint64_t total, unsigned width,
                            char *buf, size_t size) {
        char bar[BAR_WIDTH * 2 + 1];
        if (width > BAR_WIDTH * 2)
                width = BAR_WIDTH * 2;
        unsigned pct = total ? (unsigned) (done >= total ? 100 : done * 100 / total) : 0;
        unsigned fill = total ? pct * width / 100 : 0;
        for (unsigned i = 0; i < width; i++)
                bar[i] = i < fill ? '#' : '-';
        bar[width] = 0;
        snprintf(buf, size, "%s [%s] %3u%% %.1f/%.1f MiB", what, bar, pct,
                 (double) done / 1048576.0, (double) total / 1048576.0);
}

static const char *str(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsString(v) ? v->valuestring : "-";
}

static double num(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_lock(const cJSON *app) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(app, "lock");
        bool held = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(app, "appLock"));
        if (cJSON_IsObject(l)) {
                double left = num(l, "until") - (double) time(NULL);
                printf("operator %.0fs%s%s", left > 0 ? left : 0, *str(l, "reason") ? " " : "",
                       str(l, "reason"));
        }
        if (held)
                printf("%sapp", cJSON_IsObject(l) ? ", " : "");
        if (!held && !cJSON_IsObject(l))
                printf("-");
        printf("\n");
}

static void print_status(const cJSON *reply, bool tty) {
        const cJSON *apps = cJSON_GetObjectItemCaseSensitive(reply, "apps"), *a;
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(reply, "update");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(reply, "progress");

        printf("%-20s %-12s %-12s %8s  %-8s %s\n", "APP", "CURRENT", "PREVIOUS", "COUNTER",
               "STATUS", "LOCK");
        cJSON_ArrayForEach(a, apps) {
                printf("%-20s %-12s %-12s %8.0f  %-8s ", str(a, "name"), str(a, "current"),
                       str(a, "previous"), num(a, "releaseCounter"), str(a, "status"));
                print_lock(a);
        }
        if (cJSON_IsObject(u)) {
                printf("\nUpdate: %s %s, %s (action %s)\n", str(u, "app"), str(u, "version"),
                       str(u, "state"), str(u, "action"));
                if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(u, "deferred")))
                        printf("Swap deferred: %s\n", str(u, "deferred"));
        } else
                printf("\nUpdate: none in flight\n");
        const cJSON *ns = cJSON_GetObjectItemCaseSensitive(reply, "userNamespaces");
        if (cJSON_IsObject(ns)) {
                const char *why =
                        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ns, "reason"));
                printf("User namespaces: %s%s%s%s\n", str(ns, "mode"),
                       STREQ(str(ns, "mode"), "shared") ? " (fallback: one device-wide range)" : "",
                       why && *why ? ": " : "", why && *why ? why : "");
        }
        if (cJSON_IsObject(p)) {
                char line[256];
                tenderctl_progress_bar(str(p, "what"), (uint64_t) num(p, "done"),
                                       (uint64_t) num(p, "total"), tty ? BAR_WIDTH : 0, line,
                                       sizeof(line));
                printf("%s\n", line);
        }
}

static int request(const struct tenderctl_options *o, cJSON *req, cJSON **ret_reply,
                   bool *ret_unreachable) {
        int r = tenderctl_request(o->socket, req, ret_reply);
        cJSON_Delete(req);
        if (r == -ENOENT || r == -ECONNREFUSED)
                *ret_unreachable = true; /* the caller says so, or falls back */
        else if (r < 0)
                fprintf(stderr, "tenderctl: %s: %s\n", o->socket,
                        r == -EACCES ? "permission denied (root or the control group only)"
                                     : strerror(-r));
        else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(*ret_reply, "ok"))) {
                fprintf(stderr, "tenderctl: %s\n", str(*ret_reply, "error"));
                cJSON_Delete(*ret_reply);
                return -EIO;
        }
        return r;
}

static int cmd_status(const struct tenderctl_options *o, bool *ret_unreachable) {
        bool tty = isatty(STDOUT_FILENO), seen_update = false;
        for (;;) {
                cJSON *req = cJSON_CreateObject(), *reply = NULL;
                cJSON_AddStringToObject(req, "request", "status");
                if (request(o, req, &reply, ret_unreachable) < 0)
                        return 1;
                bool in_flight = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(reply, "update"));
                seen_update |= in_flight;
                if (o->watch && tty)
                        printf("\033[H\033[J");
                if (o->json) {
                        _cleanup_free_ char *s = cJSON_Print(reply);
                        if (s)
                                puts(s);
                } else
                        print_status(reply, tty);
                cJSON_Delete(reply);
                fflush(stdout);
                /* --watch follows an update until it ends (or waits for one to start). */
                if (!o->watch || (seen_update && !in_flight))
                        return 0;
                sleep(1);
        }
}

/* The journal entries, then the app's output as it wrote it (escaped: tenderctl_request). */
static void print_logs(const cJSON *reply) {
        const cJSON *e, *entries = cJSON_GetObjectItemCaseSensitive(reply, "entries");
        const cJSON *output = cJSON_GetObjectItemCaseSensitive(reply, "output");
        cJSON_ArrayForEach(e, entries) {
                char when[32] = "-";
                time_t t = (time_t) num(e, "time");
                struct tm tm;
                if (t && localtime_r(&t, &tm))
                        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
                printf("%s %s: %s\n", when, str(e, "source"), str(e, "message"));
        }
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(reply, "outputNote")))
                fprintf(stderr, "tenderctl: %s\n", str(reply, "outputNote"));
        if (cJSON_GetArraySize(entries) > 0 && cJSON_GetArraySize(output) > 0)
                printf("-- output (%s):\n", str(reply, "outputFile"));
        cJSON_ArrayForEach(e, output) {
                if (cJSON_IsString(e))
                        printf("%s\n", e->valuestring);
        }
}

static int cmd_simple(const struct tenderctl_options *o, const char *what, const char *app,
                      bool *ret_unreachable) {
        cJSON *req = cJSON_CreateObject(), *reply = NULL;
        cJSON_AddStringToObject(req, "request", what);
        if (app)
                cJSON_AddStringToObject(req, "app", app);
        if (STREQ(what, "lock")) {
                if (o->ttl_sec)
                        cJSON_AddNumberToObject(req, "ttlSeconds", (double) o->ttl_sec);
                if (o->reason)
                        cJSON_AddStringToObject(req, "reason", o->reason);
        }
        if (STREQ(what, "logs") && o->lines)
                cJSON_AddNumberToObject(req, "lines", (double) o->lines);
        if (STREQ(what, "remove") && o->delete_volumes)
                cJSON_AddBoolToObject(req, "deleteVolumes", true);
        if (request(o, req, &reply, ret_unreachable) < 0)
                return 1;
        if (o->json) {
                _cleanup_free_ char *s = cJSON_Print(reply);
                if (s)
                        puts(s);
        } else if (STREQ(what, "logs"))
                print_logs(reply);
        else
                printf("%s\n", str(reply, "message"));
        cJSON_Delete(reply);
        return 0;
}

int tenderctl_control(const struct tenderctl_options *o, const char *command, int argc, char **argv,
                      bool *ret_unreachable) {
        *ret_unreachable = false;
        if (STREQ(command, "status") && argc == 0)
                return cmd_status(o, ret_unreachable);
        if (STREQ(command, "check") && argc == 0)
                return cmd_simple(o, "check", NULL, ret_unreachable);
        if (STREQ(command, "logs") && argc <= 1)
                return cmd_simple(o, "logs", argc ? argv[0] : NULL, ret_unreachable);
        if ((STREQ(command, "rollback") || STREQ(command, "lock") || STREQ(command, "unlock") ||
             STREQ(command, "remove")) &&
            argc == 1)
                return cmd_simple(o, command, argv[0], ret_unreachable);
        fprintf(stderr, "tenderctl: %s: wrong arguments (see --help)\n", command);
        return 2;
}
