/* SPDX-License-Identifier: Apache-2.0 */
#include "cancel.h"

#include <stdio.h>
#include <string.h>

#include "report.h"
#include "tender/log.h"

#define DETAIL_MAX 512

/* Drops the pin when it is still the canceled update's: its downloads may go at the next GC. */
static void unpin(struct agent *a, const struct tender_journal_record *rec) {
        _cleanup_free_ char *pinned = NULL;
        if (tender_store_get_pin(a->store, rec->app, &pinned) >= 0 && STREQ(pinned, rec->version))
                tender_store_unpin(a->store, rec->app);
}

/* Through the report path's DDI sink (report.h, REPORT_CANCEL). */
static int answer(const char *href, const char *id, enum tender_ddi_execution execution,
                  const char *detail) {
        struct tender_error err = {0};
        int r = report_emit(&(struct report_event){.kind = REPORT_CANCEL,
                                                   .action_id = id,
                                                   .deployment_base = href,
                                                   .detail = detail,
                                                   .success = execution != TENDER_DDI_REJECTED,
                                                   .err = &err});
        if (r < 0)
                log_warning("Failed to answer the cancel of action %s: %s", id, err.message);
        else
                log_notice("Cancel of action %s %s: %s", id,
                           execution == TENDER_DDI_REJECTED ? "rejected" : "carried out", detail);
        return r;
}

int cancel_handle(struct agent *a, const char *href) {
        _cleanup_(tender_ddi_cancel_freep) struct tender_ddi_cancel *c = NULL;
        _cleanup_(tender_journal_record_freep) struct tender_journal_record *rec = NULL;
        _cleanup_free_ char *last = NULL;
        struct tender_error err = {0};
        char detail[DETAIL_MAX];
        int root = tender_store_root_fd(a->store);

        int r = ddi_get_cancel(&a->ddi, href, &c, &err);
        if (r < 0) {
                log_error("Failed to read the cancel request %s: %s", href, err.message);
                return r;
        }
        if (!tender_journal_id_valid(c->stop_id)) {
                log_error("Cancel request %s: unusable action id \"%s\"", href, c->stop_id);
                return -EINVAL;
        }
        r = tender_journal_read(root, c->stop_id, &rec, &err);
        if (r < 0 && r != -ENOENT)
                log_warning("Ignoring the journal record of action %s: %s", c->stop_id,
                            err.message);
        if (!rec) {
                /* Finished and reported: nothing can be undone any more. */
                if (tender_store_last_action_get(a->store, &last) >= 0 && STREQ(last, c->stop_id))
                        return answer(href, c->id, TENDER_DDI_REJECTED,
                                      "the action already finished on the device");
                /* Never started here (or skipped): nothing to undo. */
                return answer(href, c->id, TENDER_DDI_CANCELED,
                              "canceled before the device started it");
        }
        /* An earlier chunk of the action committed already: the action is past a swap too. */
        if (rec->result != TENDER_JOURNAL_RESULT_NONE || rec->state >= TENDER_JOURNAL_SWAPPING ||
            rec->chunk > 0) {
                snprintf(detail, sizeof(detail),
                         "%s %s went past its swap (%s); the update finishes and reports its "
                         "outcome",
                         rec->app, rec->version, tender_journal_state_name(rec->state));
                return answer(href, c->id, TENDER_DDI_REJECTED, detail);
        }
        /* Before the swap: the device still runs what it ran, so dropping the record and the
         * pin is all there is to undo. */
        r = tender_journal_remove(root, rec->action_id);
        if (r < 0 && r != -ENOENT) {
                log_error("Failed to drop the journal record of canceled action %s: %s",
                          rec->action_id, strerror(-r));
                return r;
        }
        unpin(a, rec);
        snprintf(detail, sizeof(detail), "%s %s: update canceled before the swap (it was %s)",
                 rec->app, rec->version, tender_journal_state_name(rec->state));
        return answer(href, c->id, TENDER_DDI_CANCELED, detail);
}

void cancel_reject_pending(struct agent *a, const struct tender_journal_record *rec) {
        _cleanup_free_ char *href = ddi_pending_cancel(&a->ddi, rec->action_id);
        char detail[DETAIL_MAX];

        if (!href)
                return;
        snprintf(detail, sizeof(detail), "%s %s finished (%s) before the cancel was seen",
                 rec->app ? rec->app : "the update", rec->version ? rec->version : "",
                 tender_journal_state_name(rec->state));
        answer(href, rec->action_id, TENDER_DDI_REJECTED, detail);
}
