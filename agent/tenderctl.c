/* SPDX-License-Identifier: Apache-2.0 */
/* tenderctl: the device's view of its apps. Reads the store directly (no socket yet). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "container.h"
#include "tender/config.h"
#include "tender/json.h"
#include "tender/log.h"
#include "tender/store.h"
#include "tenderctl_store.h"

struct app_status {
        char *current, *previous;
        uint64_t counter;
        struct container_state state;
};

static void usage(FILE *f) {
        fprintf(f, "Usage: tenderctl [--config FILE] status [--json]\n"
                   "       tenderctl store provision|unlock|lock|status ... (store --help)\n");
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

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'},
                {"json", no_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_(tender_config_freep) struct tender_config *cfg = NULL;
        _cleanup_(tender_store_freep) struct tender_store *store = NULL;
        const char *config_path = TENDER_CONFIG_PATH_DEFAULT;
        struct tender_error err = {0};
        bool json = false;
        int c;

        tender_log_setup("tenderctl", TENDER_LOG_STDERR);
        tender_log_set_level(LOG_WARNING);
        if (argc > 1 && STREQ(argv[1], "store"))
                return tenderctl_store(argc - 1, argv + 1);
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind >= argc || !STREQ(argv[optind], "status") || optind + 1 != argc) {
                usage(stderr);
                return 2;
        }
        if (tender_config_load(config_path, &cfg, &err) < 0) {
                fprintf(stderr, "tenderctl: %s: %s\n", config_path, err.message);
                return 1;
        }
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
