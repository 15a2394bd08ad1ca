/* SPDX-License-Identifier: Apache-2.0 */
/* DDI parsers: each input goes to the controller base, deploymentBase and cancelAction parsers
 * as a server would send it. What parses is used as tenderd uses it: the feedback URL derived
 * from each link, the chunks' artifacts and metadata looked up, and a feedback document built
 * with the server's strings as details (which must come out as valid UTF-8 JSON). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tender/ddi.h"
#include "tender/escape.h"
#include "tender/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_url(const char *url) {
        char *feedback = NULL;
        if (url && tender_ddi_feedback_url(url, &feedback) >= 0)
                free(feedback);
}

static void check_feedback(const char *id, const char *const *details) {
        struct tender_ddi_feedback f = {.action_id = id,
                                        .execution = TENDER_DDI_CLOSED,
                                        .finished = TENDER_DDI_FAILURE,
                                        .details = details};
        char *json = NULL;
        if (tender_ddi_feedback_json(&f, &json) < 0)
                return;
        /* What tenderd sends is valid UTF-8 and parses back. */
        if (!tender_utf8_valid(json, strlen(json)))
                abort();
        cJSON *back = NULL;
        struct tender_error err = {0};
        if (tender_json_parse(json, strlen(json), TENDER_DDI_MAX_SIZE, TENDER_DDI_MAX_DEPTH, &back,
                              &err) < 0)
                abort();
        cJSON_Delete(back);
        free(json);
}

static void use_deployment(const struct tender_ddi_deployment *d) {
        for (size_t i = 0; i < d->n_chunks; i++) {
                const struct tender_ddi_chunk *c = &d->chunks[i];
                const char *details[] = {c->name, c->version, c->part ? c->part : "", NULL};
                (void) tender_ddi_chunk_metadata(c, "tender.delta");
                for (size_t k = 0; k < c->n_artifacts; k++) {
                        if (tender_ddi_chunk_artifact(c, c->artifacts[k].filename) == NULL)
                                abort();
                        use_url(c->artifacts[k].url);
                }
                check_feedback(d->id, details);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *s = (const char *) data;
        struct tender_error err = {0};
        struct tender_ddi_poll *p = NULL;
        struct tender_ddi_deployment *d = NULL;
        struct tender_ddi_cancel *c = NULL;

        if (tender_ddi_poll_parse(s, size, &p, &err) >= 0) {
                use_url(p->deployment_base);
                use_url(p->cancel_action);
                use_url(p->config_data);
                use_url(p->installed_base);
                tender_ddi_poll_free(p);
        }
        if (tender_ddi_deployment_parse(s, size, &d, &err) >= 0) {
                use_deployment(d);
                tender_ddi_deployment_free(d);
        }
        if (tender_ddi_cancel_parse(s, size, &c, &err) >= 0) {
                const char *details[] = {c->stop_id, NULL};
                check_feedback(c->id, details);
                tender_ddi_cancel_free(c);
        }
        /* The error message quotes server text: it must stay a C string of bounded length. */
        if (strlen(err.message) >= sizeof(err.message))
                abort();
        return 0;
}
