/* SPDX-License-Identifier: Apache-2.0 */
#include "mqtt_queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tender/fileio.h"
#include "tender/macro.h"

struct mqtt_queue {
        pthread_mutex_t mutex;
        int root_fd, dir_fd;
        uint64_t max;
        uint64_t head, tail; /* entries head..tail-1 exist (some may be gone: skipped) */
        uint64_t dropped;
};

static void entry_name(uint64_t seq, char name[24]) {
        snprintf(name, 24, "%020" PRIu64, seq);
}

/* A name of 20 digits: its sequence number; else false. */
static bool parse_name(const char *s, uint64_t *ret) {
        if (strlen(s) != 20 || strspn(s, "0123456789") != 20)
                return false;
        *ret = strtoull(s, NULL, 10);
        return true;
}

static int save_dropped(struct mqtt_queue *q) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", q->dropped);
        return tender_write_file_atomic_at(q->root_fd, MQTT_QUEUE_DROPPED, buf, (size_t) n, 0600);
}

static uint64_t load_number(int root_fd, const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        return tender_read_file_at(root_fd, path, 32, &data, &len) >= 0 ? strtoull(data, NULL, 10)
                                                                        : 0;
}

/* Before the last entry goes: an empty queue must not restart the numbering. */
static int save_next(struct mqtt_queue *q) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", q->tail);
        return tender_write_file_atomic_at(q->root_fd, MQTT_QUEUE_NEXT, buf, (size_t) n, 0600);
}

static int scan(struct mqtt_queue *q) {
        int fd = dup(q->dir_fd);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        bool any = false;
        struct dirent *e;
        while ((e = readdir(d))) {
                uint64_t seq;
                if (e->d_name[0] == '.') {
                        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                                (void) unlinkat(q->dir_fd, e->d_name, 0); /* a torn push */
                        continue;
                }
                if (!parse_name(e->d_name, &seq))
                        continue;
                if (!any || seq < q->head)
                        q->head = seq;
                if (!any || seq + 1 > q->tail)
                        q->tail = seq + 1;
                any = true;
        }
        closedir(d);
        return 0;
}

int mqtt_queue_open(int root_fd, uint64_t max, struct mqtt_queue **ret) {
        if (max == 0)
                return -EINVAL;
        int r = tender_mkdir_p_at(root_fd, MQTT_QUEUE_DIR, 0700);
        if (r < 0)
                return r;
        struct mqtt_queue *q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        pthread_mutex_init(&q->mutex, NULL);
        q->root_fd = root_fd;
        q->max = max;
        q->dir_fd =
                openat(root_fd, MQTT_QUEUE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (q->dir_fd < 0 || (r = scan(q)) < 0) {
                r = q->dir_fd < 0 ? -errno : r;
                mqtt_queue_free(q);
                return r;
        }
        q->dropped = load_number(root_fd, MQTT_QUEUE_DROPPED);
        uint64_t next = load_number(root_fd, MQTT_QUEUE_NEXT);
        if (q->head == q->tail && next > q->tail)
                q->head = q->tail = next;
        *ret = q;
        return 0;
}

void mqtt_queue_free(struct mqtt_queue *q) {
        if (!q)
                return;
        if (q->dir_fd >= 0)
                close(q->dir_fd);
        pthread_mutex_destroy(&q->mutex);
        free(q);
}

/* Removes the oldest entry (mutex held). */
static int drop_oldest(struct mqtt_queue *q) {
        char name[24];
        entry_name(q->head, name);
        if (q->head + 1 == q->tail && save_next(q) < 0)
                return -EIO;
        if (unlinkat(q->dir_fd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        q->head++;
        q->dropped++;
        return save_dropped(q);
}

int mqtt_queue_push(struct mqtt_queue *q, const char *data, size_t len) {
        char name[24];
        int r = 0;
        if (len > MQTT_QUEUE_ENTRY_MAX)
                return -EFBIG;
        pthread_mutex_lock(&q->mutex);
        while (r >= 0 && q->tail - q->head >= q->max)
                r = drop_oldest(q);
        if (r >= 0) {
                entry_name(q->tail, name);
                r = tender_write_file_atomic_at(q->dir_fd, name, data, len, 0600);
        }
        if (r >= 0)
                q->tail++;
        pthread_mutex_unlock(&q->mutex);
        return r;
}

int mqtt_queue_peek(struct mqtt_queue *q, char **ret_data, size_t *ret_len, uint64_t *ret_seq) {
        int r = -ENOENT;
        pthread_mutex_lock(&q->mutex);
        while (q->head < q->tail) {
                char name[24];
                entry_name(q->head, name);
                r = tender_read_file_at(q->dir_fd, name, MQTT_QUEUE_ENTRY_MAX, ret_data, ret_len);
                if (r >= 0) {
                        *ret_seq = q->head;
                        break;
                }
                /* Gone or unreadable (a damaged file system): skip it, counted. */
                (void) drop_oldest(q);
                r = -ENOENT;
        }
        pthread_mutex_unlock(&q->mutex);
        return r;
}

int mqtt_queue_pop(struct mqtt_queue *q, uint64_t seq) {
        char name[24];
        int r = 0;
        pthread_mutex_lock(&q->mutex);
        if (seq == q->head && q->head < q->tail) {
                entry_name(seq, name);
                if (q->head + 1 == q->tail && save_next(q) < 0)
                        r = -EIO;
                else if (unlinkat(q->dir_fd, name, 0) < 0 && errno != ENOENT)
                        r = -errno;
                else
                        q->head++;
        }
        pthread_mutex_unlock(&q->mutex);
        return r;
}

uint64_t mqtt_queue_length(struct mqtt_queue *q) {
        pthread_mutex_lock(&q->mutex);
        uint64_t n = q->tail - q->head;
        pthread_mutex_unlock(&q->mutex);
        return n;
}

uint64_t mqtt_queue_next_seq(struct mqtt_queue *q) {
        pthread_mutex_lock(&q->mutex);
        uint64_t n = q->tail;
        pthread_mutex_unlock(&q->mutex);
        return n;
}

uint64_t mqtt_queue_dropped(struct mqtt_queue *q) {
        pthread_mutex_lock(&q->mutex);
        uint64_t n = q->dropped;
        pthread_mutex_unlock(&q->mutex);
        return n;
}
