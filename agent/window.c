/* SPDX-License-Identifier: Apache-2.0 */
#include "window.h"

#include <stdio.h>
#include <time.h>

#include "tender/log.h"

/* Inside any configured window, in local time: the device's own clock and timezone decide,
 * as an operator writing "Mon-Fri 02:00-04:00" means the device's night. */
static bool in_config_window(const struct tender_config *cfg) {
        struct tm tm;
        time_t now = time(NULL);

        if (cfg->n_maintenance_windows == 0)
                return true;
        if (!localtime_r(&now, &tm))
                return true; /* no usable clock: never block updates for good */
        for (size_t i = 0; i < cfg->n_maintenance_windows; i++)
                if (tender_maintenance_window_contains(&cfg->maintenance_windows[i], &tm))
                        return true;
        return false;
}

int window_defer_swap(struct agent *a, const struct tender_journal_record *rec, char *why,
                      size_t why_size) {
        const struct tender_ddi_deployment *d = a->deployment;

        if (!d)
                return 0;
        if (d->update == TENDER_DDI_SKIP) {
                snprintf(why, why_size,
                         "%s %s: downloaded and staged; the server says to skip the update for now",
                         rec->app, rec->version);
                return 1;
        }
        /* The server's window binds forced updates too: it is the operator's explicit word. */
        if (d->window == TENDER_DDI_WINDOW_UNAVAILABLE) {
                snprintf(why, why_size,
                         "%s %s: downloaded and staged; waiting for maintenance window (the "
                         "server's window is closed)",
                         rec->app, rec->version);
                return 1;
        }
        /* A forced update goes ahead whatever the device's own schedule says. */
        if (d->update == TENDER_DDI_ATTEMPT && !in_config_window(a->cfg)) {
                snprintf(why, why_size,
                         "%s %s: downloaded and staged; waiting for maintenance window (outside "
                         "maintenance.windows)",
                         rec->app, rec->version);
                return 1;
        }
        return 0;
}

int window_report_deferred(struct agent *a, const struct tender_journal_record *rec) {
        _cleanup_free_ char *json = NULL;
        struct tender_error err = {0};
        const char *details[] = {rec->message ? rec->message : "waiting for maintenance window",
                                 NULL};
        struct tender_ddi_feedback f = {
                .action_id = rec->action_id,
                .execution = TENDER_DDI_PROCEEDING,
                .finished = TENDER_DDI_NONE,
                .details = details,
        };
        if (!rec->deployment_base || tender_ddi_feedback_json(&f, &json) < 0)
                return 0;
        if (ddi_send_feedback_json(&a->ddi, rec->deployment_base, json, &err) < 0)
                log_warning("Failed to report that action %s waits: %s", rec->action_id,
                            err.message);
        return 0;
}
