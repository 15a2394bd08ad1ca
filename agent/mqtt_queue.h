/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store-and-forward queue of MQTT events (docs/mqtt.md): <store>/mqtt/queue/, one file per
 * event named by its sequence number (20 decimal digits, so that names sort as numbers), each
 * written durably (temp file, fsync, rename, directory fsync) before mqtt_queue_push returns.
 * Bounded: when it holds max entries, the oldest is removed and counted in mqtt/dropped, a
 * durable counter that survives restarts. Thread-safe: the main loop pushes, the MQTT thread
 * peeks and pops.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define MQTT_QUEUE_DIR "mqtt/queue"
#define MQTT_QUEUE_DROPPED "mqtt/dropped"
#define MQTT_QUEUE_NEXT "mqtt/next" /* the next sequence number, kept while the queue is empty */
#define MQTT_QUEUE_ENTRY_MAX (64 * 1024) /* bytes of one event; larger ones are refused */

struct mqtt_queue;

/* Opens (creates) the queue beneath the store root root_fd, bounded to max entries (>= 1).
 * Leftover temp files of an interrupted push are removed. */
int mqtt_queue_open(int root_fd, uint64_t max, struct mqtt_queue **ret);
void mqtt_queue_free(struct mqtt_queue *q);

/* Appends an event durably, dropping the oldest when full. 0 or -errno (-EFBIG: too large). */
int mqtt_queue_push(struct mqtt_queue *q, const char *data, size_t len);
/* The oldest event as a malloc'd NUL-terminated copy and its sequence number: 0, -ENOENT when
 * empty. An unreadable entry is removed and counted as dropped. */
int mqtt_queue_peek(struct mqtt_queue *q, char **ret_data, size_t *ret_len, uint64_t *ret_seq);
/* Removes event seq once delivered (nothing when it is no longer the oldest: dropped). */
int mqtt_queue_pop(struct mqtt_queue *q, uint64_t seq);
uint64_t mqtt_queue_length(struct mqtt_queue *q);
/* The sequence number the next push gets: it grows by one per event, across restarts. */
uint64_t mqtt_queue_next_seq(struct mqtt_queue *q);
/* Events dropped since the store was created (oldest first when full). */
uint64_t mqtt_queue_dropped(struct mqtt_queue *q);
