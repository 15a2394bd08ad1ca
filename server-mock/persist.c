/* SPDX-License-Identifier: Apache-2.0 */
#include "persist.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "tender/fileio.h"
#include "tender/json.h"

/* Feedback bodies nest up to 16 deep in requests; the file adds three levels above them. */
#define STATE_JSON_MAX_DEPTH 24

int mock_persist_load(const char *path, struct mock_state *s, struct mock_fleet *f, bool *ret_found,
                      struct tender_error *err) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        *ret_found = false;
        int r = tender_read_file_at(AT_FDCWD, path, MOCK_STATE_FILE_MAX, &data, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "State file %s: cannot read it", path);
        *ret_found = true;
        _cleanup_(cJSON_Deletep) cJSON *o = NULL;
        const char *format = NULL;
        const cJSON *state = NULL, *fleet = NULL;
        uint64_t version = 0;
        static const char *const keys[] = {"format", "version", "state", "fleet", NULL};
        if ((r = tender_json_parse(data, len, MOCK_STATE_FILE_MAX, STATE_JSON_MAX_DEPTH, &o, err)) <
                    0 ||
            (r = tender_json_check_keys(o, "", keys, err)) < 0 ||
            (r = tender_json_get_string(o, "", "format", true, &format, err)) < 0 ||
            (r = tender_json_get_u64(o, "", "version", true, &version, err)) < 0 ||
            (r = tender_json_get_object(o, "", "state", true, &state, err)) < 0 ||
            (r = tender_json_get_object(o, "", "fleet", true, &fleet, err)) < 0)
                return tender_error_prefix(err, "State file %s is corrupt", path), -EBADMSG;
        if (!STREQ(format, MOCK_STATE_FORMAT) || version != MOCK_STATE_VERSION)
                return tender_error_set(err, TENDER_ERR_JSON, EBADMSG,
                                        "State file %s: not a %s file of version %d", path,
                                        MOCK_STATE_FORMAT, MOCK_STATE_VERSION);
        if (mock_state_from_json(s, state, err) < 0)
                return tender_error_prefix(err, "State file %s is corrupt, in state", path),
                       -EBADMSG;
        if (mock_fleet_from_json(f, s, fleet, err) < 0)
                return tender_error_prefix(err, "State file %s is corrupt, in fleet", path),
                       -EBADMSG;
        return 0;
}

int mock_persist_save(const char *path, struct mock_state *s, struct mock_fleet *f,
                      struct tender_error *err) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON *state = mock_state_to_json(s), *fleet = mock_fleet_to_json(f);
        if (!o || !state || !fleet || !cJSON_AddStringToObject(o, "format", MOCK_STATE_FORMAT) ||
            !cJSON_AddNumberToObject(o, "version", MOCK_STATE_VERSION)) {
                cJSON_Delete(state);
                cJSON_Delete(fleet);
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "State file %s",
                                              path);
        }
        cJSON_AddItemToObject(o, "state", state);
        cJSON_AddItemToObject(o, "fleet", fleet);
        _cleanup_free_ char *text = cJSON_PrintUnformatted(o);
        if (!text)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, ENOMEM, "State file %s",
                                              path);
        int r = tender_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "State file %s: cannot write it", path);
        return 0;
}
