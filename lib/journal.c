/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tender/fileio.h"
#include "tender/json.h"

#define SUFFIX ".json"
#define RECORD_NAME_MAX (TENDER_JOURNAL_ID_MAX + sizeof(SUFFIX))

static const char *const state_names[_TENDER_JOURNAL_STATE_MAX] = {
        [TENDER_JOURNAL_QUEUED] = "queued",
        [TENDER_JOURNAL_VERIFYING] = "verifying",
        [TENDER_JOURNAL_DOWNLOADING] = "downloading",
        [TENDER_JOURNAL_STAGING] = "staging",
        [TENDER_JOURNAL_SWAPPING] = "swapping",
        [TENDER_JOURNAL_TESTING] = "testing",
        [TENDER_JOURNAL_COMMITTED] = "committed",
        [TENDER_JOURNAL_ROLLING_BACK] = "rolling-back",
        [TENDER_JOURNAL_ROLLED_BACK] = "rolled-back",
        [TENDER_JOURNAL_FAILED] = "failed",
};

static const char *const result_names[] = {"none", "success", "failure"};

const char *tender_journal_state_name(enum tender_journal_state s) {
        return s < _TENDER_JOURNAL_STATE_MAX ? state_names[s] : "invalid";
}

int tender_journal_state_from_name(const char *name, enum tender_journal_state *ret) {
        for (size_t i = 0; i < ELEMENTSOF(state_names); i++)
                if (STREQ(name, state_names[i])) {
                        *ret = (enum tender_journal_state) i;
                        return 0;
                }
        return -EINVAL;
}

bool tender_journal_state_is_final(enum tender_journal_state s) {
        return s == TENDER_JOURNAL_COMMITTED || s == TENDER_JOURNAL_ROLLED_BACK ||
               s == TENDER_JOURNAL_FAILED;
}

bool tender_journal_state_needs_rollback(enum tender_journal_state s) {
        return s == TENDER_JOURNAL_SWAPPING || s == TENDER_JOURNAL_TESTING ||
               s == TENDER_JOURNAL_ROLLING_BACK;
}

bool tender_journal_id_valid(const char *id) {
        size_t n = id ? strlen(id) : 0;
        if (n == 0 || n > TENDER_JOURNAL_ID_MAX || id[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = id[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

static void add_string_or_null(cJSON *o, const char *key, const char *value) {
        if (value)
                cJSON_AddStringToObject(o, key, value);
        else
                cJSON_AddNullToObject(o, key);
}

int tender_journal_record_to_json(const struct tender_journal_record *r, char **ret_json) {
        if (!tender_journal_id_valid(r->action_id) || !r->app || !r->version ||
            r->state >= _TENDER_JOURNAL_STATE_MAX || r->result > TENDER_JOURNAL_RESULT_FAILURE)
                return -EINVAL;
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        if (!o)
                return -ENOMEM;
        cJSON_AddStringToObject(o, "action", r->action_id);
        add_string_or_null(o, "deploymentBase", r->deployment_base);
        cJSON_AddNumberToObject(o, "chunk", (double) r->chunk);
        cJSON_AddNumberToObject(o, "chunks", (double) r->n_chunks);
        cJSON_AddStringToObject(o, "app", r->app);
        cJSON_AddStringToObject(o, "version", r->version);
        add_string_or_null(o, "previous", r->previous);
        cJSON_AddStringToObject(o, "state", state_names[r->state]);
        add_string_or_null(o, "message", r->message);
        cJSON *d = cJSON_AddArrayToObject(o, "details");
        for (size_t i = 0; d && r->details && r->details[i]; i++)
                cJSON_AddItemToArray(d, cJSON_CreateString(r->details[i]));
        cJSON_AddStringToObject(o, "result", result_names[r->result]);
        /* Written only when set: records without them read the same as before. */
        if (r->by_operator)
                cJSON_AddBoolToObject(o, "byOperator", true);
        if (r->commit_failed)
                cJSON_AddBoolToObject(o, "commitFailed", true);
        if (r->gate)
                cJSON_AddStringToObject(o, "gate", r->gate);
        if (r->app_lock_since)
                cJSON_AddNumberToObject(o, "appLockSince", (double) r->app_lock_since);
        char *json = cJSON_Print(o);
        if (!json)
                return -ENOMEM;
        *ret_json = json;
        return 0;
}

/* A string member that may be null. */
static int get_opt_string(const cJSON *o, const char *key, char **ret, struct tender_error *err) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
        if (!item || cJSON_IsNull(item))
                return 0;
        if (!cJSON_IsString(item))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: not a string", key);
        *ret = strdup(item->valuestring);
        return *ret ? 0 : -ENOMEM;
}

static int dup_string(const cJSON *o, const char *key, char **ret, struct tender_error *err) {
        const char *s = NULL;
        int r = tender_json_get_string(o, "", key, true, &s, err);
        if (r < 0)
                return r;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int parse_fields(const cJSON *o, struct tender_journal_record *r, struct tender_error *err) {
        static const char *const keys[] = {
                "action",   "deploymentBase", "chunk",        "chunks",  "app",    "version",
                "previous", "state",          "message",      "details", "result", "byOperator",
                "gate",     "appLockSince",   "commitFailed", NULL};
        const char *state = NULL, *result = NULL;
        int k;

        if ((k = tender_json_check_keys(o, "", keys, err)) < 0 ||
            (k = dup_string(o, "action", &r->action_id, err)) < 0 ||
            (k = get_opt_string(o, "deploymentBase", &r->deployment_base, err)) < 0 ||
            (k = tender_json_get_u64(o, "", "chunk", true, &r->chunk, err)) < 0 ||
            (k = tender_json_get_u64(o, "", "chunks", true, &r->n_chunks, err)) < 0 ||
            (k = dup_string(o, "app", &r->app, err)) < 0 ||
            (k = dup_string(o, "version", &r->version, err)) < 0 ||
            (k = get_opt_string(o, "previous", &r->previous, err)) < 0 ||
            (k = tender_json_get_string(o, "", "state", true, &state, err)) < 0 ||
            (k = get_opt_string(o, "message", &r->message, err)) < 0 ||
            (k = tender_json_get_strv(o, "", "details", false, TENDER_JOURNAL_MAX_DETAILS,
                                      &r->details, err)) < 0 ||
            (k = tender_json_get_string(o, "", "result", true, &result, err)) < 0 ||
            (k = tender_json_get_bool(o, "", "byOperator", false, &r->by_operator, err)) < 0 ||
            (k = tender_json_get_bool(o, "", "commitFailed", false, &r->commit_failed, err)) < 0 ||
            (k = get_opt_string(o, "gate", &r->gate, err)) < 0 ||
            (k = tender_json_get_u64(o, "", "appLockSince", false, &r->app_lock_since, err)) < 0)
                return k;
        if (!tender_journal_id_valid(r->action_id))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "action: invalid id");
        if (tender_journal_state_from_name(state, &r->state) < 0)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "state: unknown \"%s\"",
                                        state);
        for (size_t i = 0; i < ELEMENTSOF(result_names); i++)
                if (STREQ(result, result_names[i])) {
                        r->result = (enum tender_journal_result) i;
                        return 0;
                }
        return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "result: unknown \"%s\"", result);
}

int tender_journal_record_parse(const char *data, size_t len, struct tender_journal_record **ret,
                                struct tender_error *err) {
        _cleanup_(cJSON_Deletep) cJSON *o = NULL;
        int r = tender_json_parse(data, len, TENDER_JOURNAL_MAX_SIZE, TENDER_JOURNAL_MAX_DEPTH, &o,
                                  err);
        if (r < 0)
                return r;
        if (!cJSON_IsObject(o))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "not a JSON object");
        _cleanup_(tender_journal_record_freep) struct tender_journal_record *rec =
                calloc(1, sizeof(*rec));
        if (!rec)
                return -ENOMEM;
        r = parse_fields(o, rec, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(rec);
        return 0;
}

void tender_journal_record_free(struct tender_journal_record *r) {
        if (!r)
                return;
        free(r->action_id);
        free(r->deployment_base);
        free(r->app);
        free(r->version);
        free(r->previous);
        free(r->message);
        tender_strv_free(r->details);
        free(r->gate);
        free(r);
}

int tender_journal_init(int root_fd) {
        int r = tender_mkdir_p_at(root_fd, TENDER_JOURNAL_DIR, 0700);
        if (r < 0)
                return r;
        return tender_fsync_dir_at(root_fd, ".");
}

static int record_path(const char *action_id, char buf[static RECORD_NAME_MAX + 16]) {
        if (!tender_journal_id_valid(action_id))
                return -EINVAL;
        snprintf(buf, RECORD_NAME_MAX + 16, TENDER_JOURNAL_DIR "/%s" SUFFIX, action_id);
        return 0;
}

int tender_journal_write(int root_fd, const struct tender_journal_record *rec) {
        char path[RECORD_NAME_MAX + 16];
        _cleanup_free_ char *json = NULL;
        int r = record_path(rec->action_id, path);
        if (r < 0)
                return r;
        r = tender_journal_record_to_json(rec, &json);
        if (r < 0)
                return r;
        return tender_write_file_atomic_at(root_fd, path, json, strlen(json), 0600);
}

int tender_journal_remove(int root_fd, const char *action_id) {
        char path[RECORD_NAME_MAX + 16];
        int r = record_path(action_id, path);
        if (r < 0)
                return r;
        if (unlinkat(root_fd, path, 0) < 0 && errno != ENOENT)
                return -errno;
        return tender_fsync_dir_at(root_fd, TENDER_JOURNAL_DIR);
}

int tender_journal_read(int root_fd, const char *action_id, struct tender_journal_record **ret,
                        struct tender_error *err) {
        char path[RECORD_NAME_MAX + 16];
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = record_path(action_id, path);
        if (r < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, -r, "journal: invalid action id");
        r = tender_read_file_at(root_fd, path, TENDER_JOURNAL_MAX_SIZE, &data, &len);
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "read %s", path);
        r = tender_journal_record_parse(data, len, ret, err);
        if (r < 0)
                return tender_error_prefix(err, "%s", path);
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

int tender_journal_list(int root_fd, char ***ret_ids) {
        _cleanup_(closedirp) DIR *d = NULL;
        char **ids = calloc(TENDER_JOURNAL_MAX_RECORDS + 1, sizeof(char *));
        size_t n = 0;
        if (!ids)
                return -ENOMEM;
        int fd = openat(root_fd, TENDER_JOURNAL_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                if (r != -ENOENT) {
                        free(ids);
                        return r;
                }
                *ret_ids = ids;
                return 0;
        }
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                free(ids);
                return -errno;
        }
        for (struct dirent *de; (de = readdir(d));) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.') {
                        /* ".#..." temp files of an interrupted write: the record they would
                         * have replaced is still whole. */
                        if (len > 2 && de->d_name[1] == '#')
                                unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (len <= strlen(SUFFIX) || !STREQ(de->d_name + len - strlen(SUFFIX), SUFFIX))
                        continue;
                if (n >= TENDER_JOURNAL_MAX_RECORDS)
                        break;
                ids[n] = strndup(de->d_name, len - strlen(SUFFIX));
                if (!ids[n]) {
                        tender_strv_free(ids);
                        return -ENOMEM;
                }
                if (!tender_journal_id_valid(ids[n])) {
                        free(ids[n]);
                        ids[n] = NULL;
                        continue;
                }
                n++;
        }
        qsort(ids, n, sizeof(char *), cmp_str);
        *ret_ids = ids;
        return 0;
}
