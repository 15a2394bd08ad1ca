/* SPDX-License-Identifier: Apache-2.0 */
#include "store_wait.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "control.h"
#include "notify.h"
#include "poll.h"
#include "tender/fscrypt.h"
#include "tender/log.h"

#define LOCKED_POLL_DEFAULT_SEC 300

static int check_locked(const struct tender_config *cfg, struct tender_error *err) {
        *err = (struct tender_error){0};
        int r = tender_encryption_check(cfg->store_root, cfg->store_allow_unencrypted, NULL, err);
        return r == -ENOKEY;
}

/* Closes the action as failed: the server then stops offering it, and the operator reads why. */
static void refuse(struct ddi_client *ddi, const char *base, const char *reason) {
        _cleanup_(tender_ddi_deployment_freep) struct tender_ddi_deployment *d = NULL;
        _cleanup_free_ char *json = NULL;
        struct tender_error err = {0};
        char detail[TENDER_DDI_DETAIL_MAX];

        if (ddi_get_deployment(ddi, base, &d, &err) < 0) {
                log_error("Failed to fetch deployment %s: %s", base, err.message);
                return;
        }
        if (d->n_chunks > 0)
                snprintf(detail, sizeof(detail), "%s %s: refused to stage: %s", d->chunks[0].name,
                         d->chunks[0].version, reason);
        else
                snprintf(detail, sizeof(detail), "refused to stage: %s", reason);
        const char *details[] = {detail, NULL};
        struct tender_ddi_feedback f = {
                .action_id = d->id,
                .execution = TENDER_DDI_CLOSED,
                .finished = TENDER_DDI_FAILURE,
                .details = details,
        };
        log_error("Action %s: %s", d->id, detail);
        if (tender_ddi_feedback_json(&f, &json) < 0 ||
            ddi_send_feedback_json(ddi, base, json, &err) < 0)
                log_warning("Failed to send feedback for action %s: %s", d->id, err.message);
}

/* One poll while locked; returns the server's interval or the default. */
static uint64_t poll_locked(struct ddi_client *ddi, const struct tender_config *cfg,
                            const char *reason) {
        _cleanup_(tender_ddi_poll_freep) struct tender_ddi_poll *p = NULL;
        uint64_t interval =
                cfg->poll_interval_sec ? cfg->poll_interval_sec : LOCKED_POLL_DEFAULT_SEC;
        struct tender_error err = {0};

        if (ddi_poll(ddi, &p, &err) < 0) {
                log_error("Poll of %s failed: %s", ddi->controller_url, err.message);
                return interval;
        }
        if (p->deployment_base)
                refuse(ddi, p->deployment_base, reason);
        return p->sleep_sec ? p->sleep_sec : interval;
}

int agent_wait_store_unlocked(const struct tender_config *cfg, bool once) {
        struct ddi_client ddi = {0};
        struct tender_error err = {0};

        if (!check_locked(cfg, &err))
                return 0;
        log_error("%s; deployments are refused and running apps left alone until it is unlocked",
                  err.message);
        int r = ddi_client_init(&ddi, cfg, &err);
        if (r < 0) {
                log_error("%s", err.message);
                return r;
        }
        /* Started as far as systemd is concerned: the unit must not fail on a locked store. */
        notify_status(true, "store locked: run tenderctl store unlock");
        for (;;) {
                uint64_t interval = poll_locked(&ddi, cfg, err.message);
                if (once || control_stop_signal())
                        break;
                struct timespec ts = {.tv_sec = (time_t) interval};
                while (!control_stop_signal() && nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
                if (control_stop_signal())
                        break;
                if (!check_locked(cfg, &err)) {
                        log_notice("Store %s is unlocked now", cfg->store_root);
                        ddi_client_done(&ddi);
                        return 0;
                }
        }
        ddi_client_done(&ddi);
        return 1;
}
