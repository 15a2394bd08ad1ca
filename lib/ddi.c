/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/ddi.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "tender/escape.h"
#include "tender/journal.h"
#include "tender/json.h"
#include "tender/manifest.h"
#include "tender/name.h"

static int dup_string(const char *s, char **ret) {
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

/* obj.<key>.href as a URL of bounded length; missing link: 0 and *ret untouched. */
static int get_link(const cJSON *links, const char *path, const char *key, char **ret,
                    struct tender_error *err) {
        const cJSON *link = NULL;
        const char *href = NULL;
        char sub[256];
        int r;

        r = tender_json_get_object(links, path, key, false, &link, err);
        if (r < 0 || !link)
                return r;
        snprintf(sub, sizeof(sub), "%s.%s", path, key);
        r = tender_json_get_string(link, sub, "href", true, &href, err);
        if (r < 0)
                return r;
        if (strlen(href) > TENDER_DDI_URL_MAX ||
            (strncmp(href, "http://", 7) != 0 && strncmp(href, "https://", 8) != 0))
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                        "%s.href: not an http(s) URL of at most %d bytes", sub,
                                        TENDER_DDI_URL_MAX);
        return dup_string(href, ret);
}

int tender_ddi_parse_sleep(const char *s, uint64_t *ret_sec) {
        unsigned h = 0, m = 0, sec = 0;
        int n = 0;

        if (!s || strlen(s) > 9)
                return -EINVAL;
        /* %u accepts signs and spaces; refuse anything but digits and two colons first. */
        for (const char *p = s; *p; p++)
                if (!(*p >= '0' && *p <= '9') && *p != ':')
                        return -EINVAL;
        if (sscanf(s, "%3u:%2u:%2u%n", &h, &m, &sec, &n) != 3 || s[n] != '\0' || m > 59 || sec > 59)
                return -EINVAL;
        uint64_t total = (uint64_t) h * 3600 + m * 60 + sec;
        if (total > TENDER_DDI_SLEEP_MAX_SEC)
                total = TENDER_DDI_SLEEP_MAX_SEC;
        if (total == 0)
                total = 1;
        *ret_sec = total;
        return 0;
}

/* An action id: hawkBit sends it as a string; older servers sent a number. It goes back to the
 * server in feedback and names journal files, so it must have the journal's grammar. */
static int parse_id(const cJSON *obj, const char *path, const char *key, char **ret,
                    struct tender_error *err) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, key);
        if (cJSON_IsString(id) && strlen(id->valuestring) <= TENDER_DDI_ID_MAX &&
            tender_journal_id_valid(id->valuestring))
                return dup_string(id->valuestring, ret);
        if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < 9007199254740992.0 &&
            id->valuedouble == (double) (uint64_t) id->valuedouble)
                return asprintf(ret, "%llu", (unsigned long long) id->valuedouble) < 0 ? -ENOMEM
                                                                                       : 0;
        return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                "%s%s%s: missing, or not 1-%d of [A-Za-z0-9._-] (not starting "
                                "with '.')",
                                path, path[0] ? "." : "", key, TENDER_DDI_ID_MAX);
}

/* The start every DDI document shares: a bounded parse, a JSON object at its top and, for the
 * documents of an action (ret_id not NULL), its "id". what names the document in errors. */
static int parse_document(const char *data, size_t len, const char *what, cJSON **ret_root,
                          char **ret_id, struct tender_error *err) {
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        int r;

        r = tender_json_parse(data, len, TENDER_DDI_MAX_SIZE, TENDER_DDI_MAX_DEPTH, &root, err);
        if (r < 0)
                return r;
        if (!cJSON_IsObject(root))
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL, "%s: not a JSON object",
                                        what);
        if (ret_id) {
                r = parse_id(root, "", "id", ret_id, err);
                if (r < 0)
                        return r;
        }
        *ret_root = TAKE_PTR(root);
        return 0;
}

int tender_ddi_action_id(const char *data, size_t len, char **ret_id) {
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        return parse_document(data, len, "document", &root, ret_id, NULL);
}

void tender_ddi_poll_free(struct tender_ddi_poll *p) {
        if (!p)
                return;
        free(p->deployment_base);
        free(p->config_data);
        free(p->cancel_action);
        free(p->installed_base);
        free(p);
}

int tender_ddi_poll_parse(const char *data, size_t len, struct tender_ddi_poll **ret,
                          struct tender_error *err) {
        _cleanup_(tender_ddi_poll_freep) struct tender_ddi_poll *p = calloc(1, sizeof(*p));
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        const cJSON *config = NULL, *polling = NULL, *links = NULL;
        const char *sleep = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        r = parse_document(data, len, "controller base", &root, NULL, err);
        if (r < 0)
                return r;

        r = tender_json_get_object(root, "", "config", false, &config, err);
        if (r < 0)
                return r;
        if (config) {
                r = tender_json_get_object(config, "config", "polling", false, &polling, err);
                if (r < 0)
                        return r;
        }
        if (polling) {
                r = tender_json_get_string(polling, "config.polling", "sleep", false, &sleep, err);
                if (r < 0)
                        return r;
                if (sleep && tender_ddi_parse_sleep(sleep, &p->sleep_sec) < 0)
                        return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                                "config.polling.sleep: \"%.32s\" is not HH:MM:SS",
                                                sleep);
        }

        r = tender_json_get_object(root, "", "_links", false, &links, err);
        if (r < 0)
                return r;
        if (links) {
                r = get_link(links, "_links", "deploymentBase", &p->deployment_base, err);
                if (r < 0)
                        return r;
                r = get_link(links, "_links", "configData", &p->config_data, err);
                if (r < 0)
                        return r;
                r = get_link(links, "_links", "cancelAction", &p->cancel_action, err);
                if (r < 0)
                        return r;
                r = get_link(links, "_links", "installedBase", &p->installed_base, err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

static int parse_handling(const cJSON *obj, const char *key, enum tender_ddi_handling *ret,
                          struct tender_error *err) {
        const char *s = NULL;
        int r = tender_json_get_string(obj, "deployment", key, false, &s, err);
        if (r < 0)
                return r;
        if (!s || STREQ(s, "forced"))
                *ret = TENDER_DDI_FORCED;
        else if (STREQ(s, "attempt"))
                *ret = TENDER_DDI_ATTEMPT;
        else if (STREQ(s, "skip"))
                *ret = TENDER_DDI_SKIP;
        else
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                        "deployment.%s: unknown value \"%.32s\"", key, s);
        return 0;
}

/* deployment.maintenanceWindow: hawkBit sends it only for actions that have a window. */
static int parse_window(const cJSON *obj, enum tender_ddi_window *ret, struct tender_error *err) {
        const char *s = NULL;
        int r = tender_json_get_string(obj, "deployment", "maintenanceWindow", false, &s, err);
        if (r < 0)
                return r;
        if (!s)
                *ret = TENDER_DDI_WINDOW_NONE;
        else if (STREQ(s, "available"))
                *ret = TENDER_DDI_WINDOW_AVAILABLE;
        else if (STREQ(s, "unavailable"))
                *ret = TENDER_DDI_WINDOW_UNAVAILABLE;
        else
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                        "deployment.maintenanceWindow: unknown value \"%.32s\"", s);
        return 0;
}

static void chunk_done(struct tender_ddi_chunk *c) {
        free(c->part);
        free(c->name);
        free(c->version);
        for (size_t i = 0; i < c->n_artifacts; i++) {
                free(c->artifacts[i].filename);
                free(c->artifacts[i].url);
                free(c->artifacts[i].url_http);
                free(c->artifacts[i].sha1);
                free(c->artifacts[i].md5);
                free(c->artifacts[i].sha256);
        }
        free(c->artifacts);
        for (size_t i = 0; i < c->n_metadata; i++) {
                free(c->metadata[i].key);
                free(c->metadata[i].value);
        }
        free(c->metadata);
}

static bool is_hex(const char *s, size_t len) {
        if (strlen(s) != len)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
                      (*s >= 'A' && *s <= 'F')))
                        return false;
        return true;
}

/* hashes.{sha1,md5,sha256}: each optional, hex of its algorithm's length. */
static int parse_hashes(const cJSON *obj, const char *path, struct tender_ddi_artifact *a,
                        struct tender_error *err) {
        static const struct {
                const char *name;
                size_t hex_len;
                size_t offset;
        } algs[] = {
                {"sha1", 40, offsetof(struct tender_ddi_artifact, sha1)},
                {"md5", 32, offsetof(struct tender_ddi_artifact, md5)},
                {"sha256", 64, offsetof(struct tender_ddi_artifact, sha256)},
        };
        const cJSON *hashes = NULL;
        char sub[160];
        int r;

        r = tender_json_get_object(obj, path, "hashes", false, &hashes, err);
        if (r < 0 || !hashes)
                return r;
        snprintf(sub, sizeof(sub), "%s.hashes", path);
        for (size_t i = 0; i < ELEMENTSOF(algs); i++) {
                const char *v = NULL;
                r = tender_json_get_string(hashes, sub, algs[i].name, false, &v, err);
                if (r < 0)
                        return r;
                if (!v)
                        continue;
                if (!is_hex(v, algs[i].hex_len))
                        return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                                "%s.%s: not %zu hex digits", sub, algs[i].name,
                                                algs[i].hex_len);
                char **slot = (char **) ((char *) a + algs[i].offset);
                r = dup_string(v, slot);
                if (r < 0)
                        return r;
                for (char *p = *slot; *p; p++)
                        if (*p >= 'A' && *p <= 'F')
                                *p = (char) (*p - 'A' + 'a');
        }
        return 0;
}

void tender_ddi_deployment_free(struct tender_ddi_deployment *d) {
        if (!d)
                return;
        free(d->id);
        for (size_t i = 0; i < d->n_chunks; i++)
                chunk_done(&d->chunks[i]);
        free(d->chunks);
        free(d);
}

static int parse_artifact(const cJSON *obj, const char *path, struct tender_ddi_artifact *a,
                          struct tender_error *err) {
        const char *filename = NULL;
        const cJSON *links = NULL;
        char sub[128];
        int r;

        if (!cJSON_IsObject(obj))
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL, "%s: not an object", path);
        r = tender_json_get_string(obj, path, "filename", true, &filename, err);
        if (r < 0)
                return r;
        if (filename[0] == '\0' || strlen(filename) > 255)
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                        "%s.filename: empty or longer than 255 bytes", path);
        r = tender_json_get_u64(obj, path, "size", false, &a->size, err);
        if (r < 0)
                return r;
        r = parse_hashes(obj, path, a, err);
        if (r < 0)
                return r;
        r = tender_json_get_object(obj, path, "_links", false, &links, err);
        if (r < 0)
                return r;
        if (links) {
                snprintf(sub, sizeof(sub), "%s._links", path);
                r = get_link(links, sub, "download-http", &a->url_http, err);
                if (r < 0)
                        return r;
                r = get_link(links, sub, "download", &a->url, err);
                if (r < 0)
                        return r;
        }
        return dup_string(filename, &a->filename);
}

/* metadata[]: {"key": ..., "value": ...} pairs the software module carries. */
static int parse_metadata(const cJSON *obj, const char *path, struct tender_ddi_chunk *c,
                          struct tender_error *err) {
        const cJSON *list = NULL, *item;
        char sub[160];
        int r;

        r = tender_json_get_array(obj, path, "metadata", false, &list, err);
        if (r < 0 || !list)
                return r;
        size_t n = (size_t) cJSON_GetArraySize(list);
        if (n > TENDER_DDI_MAX_METADATA)
                return tender_error_set(err, TENDER_ERR_SERVER, E2BIG,
                                        "%s.metadata: more than %d entries", path,
                                        TENDER_DDI_MAX_METADATA);
        c->metadata = calloc(n ? n : 1, sizeof(*c->metadata));
        if (!c->metadata)
                return -ENOMEM;
        cJSON_ArrayForEach(item, list) {
                const char *key = NULL, *value = NULL;
                snprintf(sub, sizeof(sub), "%s.metadata[%zu]", path, c->n_metadata);
                if (!cJSON_IsObject(item))
                        return tender_error_set(err, TENDER_ERR_SERVER, EINVAL, "%s: not an object",
                                                sub);
                r = tender_json_get_string(item, sub, "key", true, &key, err);
                if (r < 0)
                        return r;
                r = tender_json_get_string(item, sub, "value", false, &value, err);
                if (r < 0)
                        return r;
                if (strlen(key) > TENDER_DDI_METADATA_MAX ||
                    (value && strlen(value) > TENDER_DDI_METADATA_MAX))
                        return tender_error_set(err, TENDER_ERR_SERVER, E2BIG,
                                                "%s: key or value longer than %d bytes", sub,
                                                TENDER_DDI_METADATA_MAX);
                struct tender_ddi_metadata *m = &c->metadata[c->n_metadata++];
                if (dup_string(key, &m->key) < 0 || dup_string(value ? value : "", &m->value) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* The app and the release a chunk names become store paths, TUF target names and log fields:
 * both have the name grammar of release manifests (docs/release-manifest.md). */
static int check_name(const char *path, const char *key, const char *what, const char *value,
                      struct tender_error *err) {
        if (tender_name_valid(value))
                return 0;
        return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                "%s.%s: \"%.80s\" is not a valid %s (want 1-%d characters of "
                                "[A-Za-z0-9._-], starting with a letter or digit)",
                                path, key, value, what, TENDER_NAME_MAX);
}

static int parse_chunk(const cJSON *obj, const char *path, struct tender_ddi_chunk *c,
                       struct tender_error *err) {
        const char *part = NULL, *name = NULL, *version = NULL;
        const cJSON *artifacts = NULL, *item;

        char sub[128];
        int r;

        if (!cJSON_IsObject(obj))
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL, "%s: not an object", path);
        r = tender_json_get_string(obj, path, "part", false, &part, err);
        if (r < 0)
                return r;
        r = tender_json_get_string(obj, path, "name", true, &name, err);
        if (r < 0)
                return r;
        r = tender_json_get_string(obj, path, "version", true, &version, err);
        if (r < 0)
                return r;
        r = check_name(path, "name", "app name", name, err);
        if (r < 0)
                return r;
        r = check_name(path, "version", "version", version, err);
        if (r < 0)
                return r;
        r = tender_json_get_bool(obj, path, "encrypted", false, &c->encrypted, err);
        if (r < 0)
                return r;
        r = tender_json_get_array(obj, path, "artifacts", false, &artifacts, err);
        if (r < 0)
                return r;
        if ((part && dup_string(part, &c->part) < 0) || dup_string(name, &c->name) < 0 ||
            dup_string(version, &c->version) < 0)
                return -ENOMEM;
        r = parse_metadata(obj, path, c, err);
        if (r < 0)
                return r;
        if (!artifacts)
                return 0;

        size_t n = (size_t) cJSON_GetArraySize(artifacts);
        if (n > TENDER_DDI_MAX_ARTIFACTS)
                return tender_error_set(err, TENDER_ERR_SERVER, E2BIG,
                                        "%s.artifacts: more than %d entries", path,
                                        TENDER_DDI_MAX_ARTIFACTS);
        c->artifacts = calloc(n ? n : 1, sizeof(*c->artifacts));
        if (!c->artifacts)
                return -ENOMEM;
        cJSON_ArrayForEach(item, artifacts) {
                snprintf(sub, sizeof(sub), "%s.artifacts[%zu]", path, c->n_artifacts);
                /* Counted before parsing so that a half-filled entry is freed too. */
                r = parse_artifact(item, sub, &c->artifacts[c->n_artifacts++], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int tender_ddi_deployment_parse(const char *data, size_t len, struct tender_ddi_deployment **ret,
                                struct tender_error *err) {
        _cleanup_(tender_ddi_deployment_freep) struct tender_ddi_deployment *d =
                calloc(1, sizeof(*d));
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        const cJSON *deployment = NULL, *chunks = NULL, *item;
        char sub[64];
        int r;

        if (!d)
                return -ENOMEM;
        r = parse_document(data, len, "deploymentBase", &root, &d->id, err);
        if (r < 0)
                return r;
        r = tender_json_get_object(root, "", "deployment", true, &deployment, err);
        if (r < 0)
                return r;
        r = parse_handling(deployment, "download", &d->download, err);
        if (r < 0)
                return r;
        r = parse_handling(deployment, "update", &d->update, err);
        if (r < 0)
                return r;
        r = parse_window(deployment, &d->window, err);
        if (r < 0)
                return r;
        r = tender_json_get_array(deployment, "deployment", "chunks", true, &chunks, err);
        if (r < 0)
                return r;
        size_t n = (size_t) cJSON_GetArraySize(chunks);
        if (n == 0 || n > TENDER_DDI_MAX_CHUNKS)
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                        "deployment.chunks: expected 1 to %d entries, got %zu",
                                        TENDER_DDI_MAX_CHUNKS, n);
        d->chunks = calloc(n, sizeof(*d->chunks));
        if (!d->chunks)
                return -ENOMEM;
        cJSON_ArrayForEach(item, chunks) {
                snprintf(sub, sizeof(sub), "deployment.chunks[%zu]", d->n_chunks);
                r = parse_chunk(item, sub, &d->chunks[d->n_chunks++], err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(d);
        return 0;
}

void tender_ddi_cancel_free(struct tender_ddi_cancel *c) {
        if (!c)
                return;
        free(c->id);
        free(c->stop_id);
        free(c);
}

int tender_ddi_cancel_parse(const char *data, size_t len, struct tender_ddi_cancel **ret,
                            struct tender_error *err) {
        _cleanup_(tender_ddi_cancel_freep) struct tender_ddi_cancel *c = calloc(1, sizeof(*c));
        _cleanup_(cJSON_Deletep) cJSON *root = NULL;
        const cJSON *cancel = NULL;
        int r;

        if (!c)
                return -ENOMEM;
        r = parse_document(data, len, "cancelAction", &root, &c->id, err);
        if (r < 0)
                return r;
        r = tender_json_get_object(root, "", "cancelAction", true, &cancel, err);
        if (r < 0)
                return r;
        r = parse_id(cancel, "cancelAction", "stopId", &c->stop_id, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

const char *tender_ddi_chunk_metadata(const struct tender_ddi_chunk *c, const char *key) {
        for (size_t i = 0; i < c->n_metadata; i++)
                if (STREQ(c->metadata[i].key, key))
                        return c->metadata[i].value;
        return NULL;
}

const char *tender_ddi_artifact_url(const struct tender_ddi_artifact *a, bool allow_http) {
        if (allow_http)
                return a->url_http ? a->url_http : a->url;
        /* Never down to cleartext: a "download" link can be http:// too. */
        return a->url && strncmp(a->url, "https://", 8) == 0 ? a->url : NULL;
}

const struct tender_ddi_artifact *tender_ddi_chunk_artifact(const struct tender_ddi_chunk *c,
                                                            const char *filename) {
        for (size_t i = 0; i < c->n_artifacts; i++)
                if (STREQ(c->artifacts[i].filename, filename))
                        return &c->artifacts[i];
        return NULL;
}

static char *print_and_free(cJSON *root) {
        char *s = root ? cJSON_PrintUnformatted(root) : NULL;
        cJSON_Delete(root);
        return s;
}

int tender_ddi_feedback_json(const struct tender_ddi_feedback *f, char **ret_json) {
        static const char *const finished[] = {
                [TENDER_DDI_NONE] = "none",
                [TENDER_DDI_SUCCESS] = "success",
                [TENDER_DDI_FAILURE] = "failure",
        };
        static const char *const execution[] = {
                [TENDER_DDI_PROCEEDING] = "proceeding",
                [TENDER_DDI_CLOSED] = "closed",
                [TENDER_DDI_REJECTED] = "rejected",
                [TENDER_DDI_CANCELED] = "canceled",
        };
        if (!f->action_id || (unsigned) f->finished >= ELEMENTSOF(finished) ||
            (unsigned) f->execution >= ELEMENTSOF(execution))
                return -EINVAL;

        /* Built in the order hawkBit documents, which keeps logs and captures readable. */
        cJSON *root = cJSON_CreateObject();
        bool ok = root && cJSON_AddStringToObject(root, "id", f->action_id);
        cJSON *status = ok ? cJSON_AddObjectToObject(root, "status") : NULL;
        ok = status && cJSON_AddStringToObject(status, "execution", execution[f->execution]);
        cJSON *result = ok ? cJSON_AddObjectToObject(status, "result") : NULL;
        ok = result && cJSON_AddStringToObject(result, "finished", finished[f->finished]);
        if (ok && f->has_progress) {
                cJSON *progress = cJSON_AddObjectToObject(result, "progress");
                ok = progress &&
                     cJSON_AddNumberToObject(progress, "cnt", (double) f->progress_cnt) &&
                     cJSON_AddNumberToObject(progress, "of", (double) f->progress_of);
        }
        cJSON *details = ok ? cJSON_AddArrayToObject(status, "details") : NULL;
        ok = ok && details;
        for (size_t i = 0; ok && f->details && f->details[i] && i < TENDER_DDI_DETAILS_MAX; i++) {
                /* Details quote server text: what is sent is valid UTF-8 on one line. */
                char buf[TENDER_DDI_DETAIL_MAX + 1];
                tender_escape(buf, sizeof(buf), f->details[i]);
                cJSON *s = cJSON_CreateString(buf);
                ok = s && cJSON_AddItemToArray(details, s);
        }
        if (!ok) {
                cJSON_Delete(root);
                return -ENOMEM;
        }
        char *json = print_and_free(root);
        if (!json)
                return -ENOMEM;
        *ret_json = json;
        return 0;
}

int tender_ddi_feedback_url(const char *deployment_base, char **ret_url) {
        size_t n = strcspn(deployment_base, "?#");
        while (n > 0 && deployment_base[n - 1] == '/')
                n--;
        if (n == 0)
                return -EINVAL;
        char *url;
        if (asprintf(&url, "%.*s/feedback", (int) n, deployment_base) < 0)
                return -ENOMEM;
        *ret_url = url;
        return 0;
}

int tender_ddi_config_data_json(const struct tender_ddi_attribute *attrs, size_t n,
                                char **ret_json) {
        cJSON *root = cJSON_CreateObject();
        bool ok = root && cJSON_AddStringToObject(root, "mode", "merge");
        cJSON *data = ok ? cJSON_AddObjectToObject(root, "data") : NULL;
        ok = ok && data;
        for (size_t i = 0; ok && i < n; i++)
                ok = attrs[i].key && attrs[i].value &&
                     cJSON_AddStringToObject(data, attrs[i].key, attrs[i].value);
        if (!ok) {
                cJSON_Delete(root);
                return -ENOMEM;
        }
        char *json = print_and_free(root);
        if (!json)
                return -ENOMEM;
        *ret_json = json;
        return 0;
}

int tender_ddi_controller_url(const char *base, const char *tenant, const char *controller_id,
                              char **ret_url) {
        size_t n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
                n--;
        char *url;
        if (asprintf(&url, "%.*s/%s/controller/v1/%s", (int) n, base, tenant, controller_id) < 0)
                return -ENOMEM;
        *ret_url = url;
        return 0;
}
