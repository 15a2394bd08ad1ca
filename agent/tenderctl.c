/* SPDX-License-Identifier: Apache-2.0 */
/* tenderctl: the device's CLI. Talks to tenderd over its control socket; `status` falls back to
 * reading the store when tenderd is not running, `store ...` works on the store directly. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "container.h"
#include "tender/config.h"
#include "tender/json.h"
#include "tender/log.h"
#include "tender/store.h"
#include "tenderctl_control.h"
#include "tenderctl_store.h"

struct app_status {
        char *current, *previous;
        uint64_t counter;
        struct container_state state;
};

static void usage(FILE *f) {
        fprintf(f, "Usage: tenderctl [--config FILE] [--socket PATH] COMMAND\n"
                   "       tenderctl --version | --help\n"
                   "  status [--json] [--watch]   apps, releases, locks, the update in flight\n"
                   "  check                       poll the update server now\n"
                   "  rollback APP                back to APP's kept previous release\n"
                   "  lock APP [--ttl 1h] [--reason TEXT]   defer APP's updates (the swap)\n"
                   "  unlock APP\n"
                   "  remove APP [--delete-volumes]  stop APP, unmount and delete its releases\n"
                   "                              (its volumes are kept unless asked)\n"
                   "  logs [APP] [--lines N]      tenderd's journal entries, or APP's and its\n"
                   "                              output (stdout and stderr)\n"
                   "  store provision|unlock|lock|status ...  (store --help)\n");
}

static void app_status_read(struct tender_store *store, const struct runtime *rt, const char *app,
                            struct app_status *s) {
        char id[CONTAINER_ID_MAX];
        *s = (struct app_status){.state.status = CONTAINER_ABSENT};
        tender_store_get_current(store, app, &s->current);
        tender_store_get_previous(store, app, &s->previous);
        tender_store_counter_get(store, app, &s->counter);
        if (s->current) {
                container_id(app, s->current, id);
                container_state(rt, id, &s->state, NULL);
        }
}

/* Without tenderd: what the store and the runtime say. */
static int status(struct tender_store *store, const struct runtime *rt, bool json) {
        char **apps = NULL;
        int r = tender_store_list_apps(store, &apps);
        if (r < 0) {
                fprintf(stderr, "tenderctl: cannot list apps: %s\n", strerror(-r));
                return 1;
        }
        cJSON *root = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(root, "apps");
        if (!json)
                printf("%-20s %-12s %-12s %8s  %s\n", "APP", "CURRENT", "PREVIOUS", "COUNTER",
                       "STATUS");
        for (size_t i = 0; apps[i]; i++) {
                struct app_status s;
                app_status_read(store, rt, apps[i], &s);
                if (json) {
                        cJSON *o = cJSON_CreateObject();
                        cJSON_AddStringToObject(o, "name", apps[i]);
                        if (s.current)
                                cJSON_AddStringToObject(o, "current", s.current);
                        else
                                cJSON_AddNullToObject(o, "current");
                        if (s.previous)
                                cJSON_AddStringToObject(o, "previous", s.previous);
                        else
                                cJSON_AddNullToObject(o, "previous");
                        cJSON_AddNumberToObject(o, "releaseCounter", (double) s.counter);
                        cJSON_AddStringToObject(o, "status", container_status_name(s.state.status));
                        if (s.state.pid > 0)
                                cJSON_AddNumberToObject(o, "pid", s.state.pid);
                        cJSON_AddItemToArray(arr, o);
                } else
                        printf("%-20s %-12s %-12s %8" PRIu64 "  %s\n", apps[i],
                               s.current ? s.current : "-", s.previous ? s.previous : "-",
                               s.counter, container_status_name(s.state.status));
                free(s.current);
                free(s.previous);
        }
        if (json) {
                char *out = cJSON_Print(root);
                if (out)
                        puts(out);
                free(out);
        }
        cJSON_Delete(root);
        tender_strv_free(apps);
        return 0;
}

static int offline_status(const struct tender_config *cfg, bool json) {
        _cleanup_(tender_store_freep) struct tender_store *store = NULL;
        struct tender_error err = {0};
        if (!cfg)
                return 1;
        if (tender_store_open(cfg->store_root, &store, &err) < 0) {
                fprintf(stderr, "tenderctl: %s\n", err.message);
                return 1;
        }
        struct runtime rt = {
                .path = cfg->runtime_path ? cfg->runtime_path : "tender-runtime",
                .root = cfg->runtime_root,
        };
        return status(store, &rt, json);
}

static int parse_options(int argc, char **argv, const char **config_path,
                         struct tenderctl_options *o) {
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'},
                {"socket", required_argument, NULL, 's'},
                {"json", no_argument, NULL, 'j'},
                {"watch", no_argument, NULL, 'w'},
                {"ttl", required_argument, NULL, 't'},
                {"reason", required_argument, NULL, 'r'},
                {"lines", required_argument, NULL, 'n'},
                {"delete-volumes", no_argument, NULL, 'V'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "c:s:n:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        *config_path = optarg;
                        break;
                case 's':
                        o->socket = optarg;
                        break;
                case 'j':
                        o->json = true;
                        break;
                case 'w':
                        o->watch = true;
                        break;
                case 't':
                        if (tenderctl_parse_duration(optarg, &o->ttl_sec) < 0) {
                                fprintf(stderr,
                                        "tenderctl: --ttl %s: expected e.g. 90s, 30m, 1h, 2d\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case 'r':
                        o->reason = optarg;
                        break;
                case 'V':
                        o->delete_volumes = true;
                        break;
                case 'n':
                        if (tenderctl_parse_duration(optarg, &o->lines) < 0) {
                                fprintf(stderr, "tenderctl: --lines %s: expected a number\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return 2;
        }
        return -1;
}

int main(int argc, char **argv) {
        _cleanup_(tender_config_freep) struct tender_config *cfg = NULL;
        const char *config_path = TENDER_CONFIG_PATH_DEFAULT;
        struct tenderctl_options o = {0};
        struct tender_error err = {0};
        bool unreachable = false;

        tender_log_setup("tenderctl", TENDER_LOG_STDERR);
        tender_log_set_level(LOG_WARNING);
        if (argc == 2 && STREQ(argv[1], "--version")) {
                puts("tenderctl " TENDER_VERSION);
                return 0;
        }
        if (argc > 1 && STREQ(argv[1], "store"))
                return tenderctl_store(argc - 1, argv + 1);
        /* A tenderd that closes early is an error to report, not a reason to die. */
        signal(SIGPIPE, SIG_IGN);
        int r = parse_options(argc, argv, &config_path, &o);
        if (r >= 0)
                return r;
        const char *command = argv[optind];
        /* The configuration names the socket; a member of the control group may not be able
         * to read it, and then the default socket (or --socket) is used. */
        if (tender_config_load(config_path, &cfg, &err) < 0 && !o.socket &&
            (err.errnum != EACCES && err.errnum != ENOENT))
                fprintf(stderr, "tenderctl: %s\n", err.message); /* names the path */
        if (!o.socket)
                o.socket = cfg ? cfg->control_socket : "/run/tender/control.sock";
        r = tenderctl_control(&o, command, argc - optind - 1, argv + optind + 1, &unreachable);
        if (!unreachable)
                return r;
        if (STREQ(command, "status") && cfg) {
                fprintf(stderr, "tenderctl: tenderd does not answer on %s; showing the store\n",
                        o.socket);
                return offline_status(cfg, o.json);
        }
        fprintf(stderr, "tenderctl: tenderd does not answer on %s: is it running?\n", o.socket);
        return 1;
}
