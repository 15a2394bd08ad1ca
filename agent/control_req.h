/* SPDX-License-Identifier: Apache-2.0 */
/* The control socket's requests (control.c serves them). Each returns the reply to send. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "control.h"
#include "tender/journal.h"
#include "tender/json.h"
#include "tender/manifest.h"

/* What the main loop published, copied under the mutex. */
struct control_snapshot {
        char app[TENDER_NAME_MAX + 1], version[TENDER_NAME_MAX + 1];
        char state[32];
        char action_id[TENDER_JOURNAL_ID_MAX + 1];
        char note[CONTROL_NOTE_MAX];
};

cJSON *control_ok(const char *message);
cJSON *control_error(const char *fmt, ...) _printf_(1, 2);
/* Writes reply as one line on fd and frees it. */
void control_reply(int fd, cJSON *reply);

/* Apps with current/previous release, container state and locks; the update in flight and
 * the transfer in progress. Reads the store through its fds only, so it may run beside the
 * main loop. */
cJSON *control_req_status(struct agent *a, const struct control_snapshot *snap);
cJSON *control_req_lock(struct agent *a, const cJSON *req, uid_t uid, bool lock);
/* Journal entries of tenderd, or of app (tenderd's about it and its container's own), and the
 * tail of app's output file (runtime_output_path). */
cJSON *control_req_logs(struct agent *a, const cJSON *req);
/* Main loop only: rolls app back to its kept previous release through the update engine's
 * rollback path, journaled like a deployment. */
cJSON *control_req_rollback(struct agent *a, const char *app, uid_t uid);
/* Main loop only: stops every container of app, unmounts their rootfs, removes its releases
 * (tender_store_remove_app), its operator lock and, unless keep_volumes, its volumes; then runs
 * the GC. Refused while a deployment of app is unfinished in the journal. */
cJSON *control_req_remove(struct agent *a, const char *app, bool keep_volumes, uid_t uid);
