/* SPDX-License-Identifier: Apache-2.0 */
#include "stats.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tender/json.h"
#include "tender/macro.h"

struct file_stats {
        char *path;
        uint64_t requests, bytes;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct file_stats files[MOCK_STATS_FILES_MAX + 1]; /* the last one is "other" */
static size_t n_files;

/* With the lock held. Never NULL: a path beyond the table, or without memory, is "other". */
static struct file_stats *lookup(const char *path) {
        for (size_t i = 0; i < n_files; i++)
                if (STREQ(files[i].path, path))
                        return &files[i];
        if (n_files < MOCK_STATS_FILES_MAX && (files[n_files].path = strdup(path)))
                return &files[n_files++];
        return &files[MOCK_STATS_FILES_MAX];
}

void mock_stats_request(const char *path) {
        pthread_mutex_lock(&lock);
        lookup(path)->requests++;
        pthread_mutex_unlock(&lock);
}

void mock_stats_bytes(const char *path, uint64_t n) {
        pthread_mutex_lock(&lock);
        lookup(path)->bytes += n;
        pthread_mutex_unlock(&lock);
}

static bool add_counts(cJSON *o, uint64_t requests, uint64_t bytes) {
        return cJSON_AddNumberToObject(o, "requests", (double) requests) &&
               cJSON_AddNumberToObject(o, "bytes", (double) bytes);
}

cJSON *mock_stats_to_json(void) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON *per = o ? cJSON_AddObjectToObject(o, "files") : NULL;
        uint64_t requests = 0, bytes = 0;
        bool ok = per != NULL;

        pthread_mutex_lock(&lock);
        const struct file_stats *other = &files[MOCK_STATS_FILES_MAX];
        for (size_t i = 0; ok && i < n_files; i++) {
                cJSON *e = cJSON_AddObjectToObject(per, files[i].path);
                ok = e && add_counts(e, files[i].requests, files[i].bytes);
                requests += files[i].requests;
                bytes += files[i].bytes;
        }
        if (ok && (other->requests || other->bytes)) {
                cJSON *e = cJSON_AddObjectToObject(per, "other");
                ok = e && add_counts(e, other->requests, other->bytes);
                requests += other->requests;
                bytes += other->bytes;
        }
        pthread_mutex_unlock(&lock);
        if (!ok || !add_counts(o, requests, bytes))
                return NULL;
        return TAKE_PTR(o);
}

void mock_stats_reset(void) {
        pthread_mutex_lock(&lock);
        for (size_t i = 0; i <= MOCK_STATS_FILES_MAX; i++) {
                free(files[i].path);
                files[i] = (struct file_stats){0};
        }
        n_files = 0;
        pthread_mutex_unlock(&lock);
}
