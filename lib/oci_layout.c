/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/oci_layout.h"

#include <archive.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "tender/fileio.h"
#include "tender/json.h"

#define READ_CHUNK (128 * 1024)

static const char *const oci_manifest_types[] = {
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        NULL,
};

static const struct {
        const char *media_type;
        int filter; /* what libarchive must detect, so the media type cannot lie */
} layer_types[] = {
        {"application/vnd.oci.image.layer.v1.tar", ARCHIVE_FILTER_NONE},
        {"application/vnd.oci.image.layer.v1.tar+gzip", ARCHIVE_FILTER_GZIP},
        {"application/vnd.oci.image.layer.v1.tar+zstd", ARCHIVE_FILTER_ZSTD},
        {"application/vnd.docker.image.rootfs.diff.tar.gzip", ARCHIVE_FILTER_GZIP},
};

static int layer_filter(const char *media_type) {
        for (size_t i = 0; media_type && i < ELEMENTSOF(layer_types); i++)
                if (STREQ(media_type, layer_types[i].media_type))
                        return layer_types[i].filter;
        return -1;
}

bool tender_oci_layer_media_type_supported(const char *media_type) {
        return layer_filter(media_type) >= 0;
}

static bool in_list(const char *s, const char *const *list) {
        for (size_t i = 0; list[i]; i++)
                if (STREQ(s, list[i]))
                        return true;
        return false;
}

int tender_oci_blob_open(int layout_fd, const struct tender_digest *digest,
                         struct tender_error *err) {
        char hex[65], name[TENDER_DIGEST_STRING_MAX];
        tender_digest_hex(digest, hex);
        tender_digest_format(digest, name);
        /* One component at a time with O_NOFOLLOW: a symlinked blobs/ or blob cannot lead
         * outside the layout. */
        _cleanup_close_ int blobs =
                openat(layout_fd, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (blobs < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "Failed to open blobs/ of the layout");
        _cleanup_close_ int dir =
                openat(blobs, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "Failed to open blobs/sha256/ of the layout");
        int fd = openat(dir, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "Failed to open blob %s", name);
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "Blob %s is not a regular file", name);
        }
        return fd;
}

static ssize_t read_full(int fd, void *buf, size_t len) {
        size_t done = 0;
        while (done < len) {
                ssize_t n = read(fd, (char *) buf + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

/* Reads a JSON blob whose descriptor says `size` bytes, checking size and digest. */
static int read_blob(int layout_fd, const struct tender_digest *d, uint64_t size, size_t max,
                     char **ret, struct tender_error *err) {
        char name[TENDER_DIGEST_STRING_MAX];
        tender_digest_format(d, name);
        if (size > max)
                return tender_error_set(err, TENDER_ERR_VERIFY, EFBIG,
                                        "Blob %s: descriptor size %" PRIu64
                                        " exceeds the limit of %zu bytes",
                                        name, size, max);
        _cleanup_close_ int fd = tender_oci_blob_open(layout_fd, d, err);
        if (fd < 0)
                return fd;
        _cleanup_free_ char *buf = malloc((size_t) size + 2);
        if (!buf)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        /* One byte more than expected tells a longer file from an exact one. */
        ssize_t n = read_full(fd, buf, (size_t) size + 1);
        if (n < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, (int) -n,
                                              "Failed to read blob %s", name);
        if ((uint64_t) n != size)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "Blob %s: size differs from its descriptor (%" PRIu64
                                        "%s bytes, expected %" PRIu64 ")",
                                        name, (uint64_t) n, (uint64_t) n > size ? "+" : "", size);
        struct tender_digest actual;
        tender_sha256_buffer(buf, (size_t) n, &actual);
        if (!tender_digest_equal(&actual, d)) {
                char got[TENDER_DIGEST_STRING_MAX];
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "Blob %s: content has digest %s", name,
                                        tender_digest_format(&actual, got));
        }
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return (int) n;
}

static int parse_blob_json(int layout_fd, const struct tender_digest *d, uint64_t size, size_t max,
                           cJSON **ret, struct tender_error *err) {
        _cleanup_free_ char *data = NULL;
        int n = read_blob(layout_fd, d, size, max, &data, err);
        if (n < 0)
                return n;
        int r = tender_json_parse(data, (size_t) n, max, TENDER_OCI_MAX_DEPTH, ret, err);
        if (r < 0) {
                char name[TENDER_DIGEST_STRING_MAX];
                return tender_error_prefix(err, "Blob %s", tender_digest_format(d, name));
        }
        return 0;
}

/* A descriptor: {"mediaType", "digest", "size", ...}; other members are allowed by the spec. */
static int get_descriptor(const cJSON *o, const char *path, const char **ret_media_type,
                          struct tender_digest *ret_digest, uint64_t *ret_size,
                          struct tender_error *err) {
        const char *digest, *media_type = NULL;
        if (!cJSON_IsObject(o))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL, "%s: not an object", path);
        int r = tender_json_get_string(o, path, "mediaType", ret_media_type != NULL, &media_type,
                                       err);
        if (r >= 0)
                r = tender_json_get_string(o, path, "digest", true, &digest, err);
        if (r >= 0)
                r = tender_json_get_u64(o, path, "size", true, ret_size, err);
        if (r < 0)
                return r;
        if (tender_digest_parse(digest, ret_digest) < 0)
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "%s.digest: \"%.80s\" is not a sha256 digest", path,
                                        digest);
        if (ret_media_type)
                *ret_media_type = media_type;
        return 0;
}

static int select_manifest(int layout_fd, const char *ref, struct tender_digest *ret_digest,
                           uint64_t *ret_size, struct tender_error *err) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(cJSON_Deletep) cJSON *index = NULL;
        size_t len;
        const cJSON *manifests, *m;
        int r = tender_read_file_at(layout_fd, "index.json", TENDER_OCI_INDEX_MAX_SIZE, &data,
                                    &len);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "Failed to read index.json of the layout");
        r = tender_json_parse(data, len, TENDER_OCI_INDEX_MAX_SIZE, TENDER_OCI_MAX_DEPTH, &index,
                              err);
        if (r < 0)
                return tender_error_prefix(err, "index.json");
        if (!cJSON_IsObject(index))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "index.json: not a JSON object");
        r = tender_json_get_array(index, "", "manifests", true, &manifests, err);
        if (r < 0)
                return tender_error_prefix(err, "index.json");

        char available[256] = "";
        size_t i = 0, matches = 0;
        cJSON_ArrayForEach(m, manifests) {
                char path[48];
                const char *media_type, *name = NULL;
                const cJSON *ann = NULL;
                struct tender_digest d;
                uint64_t size;
                snprintf(path, sizeof(path), "manifests[%zu]", i++);
                r = get_descriptor(m, path, &media_type, &d, &size, err);
                if (r >= 0)
                        r = tender_json_get_object(m, path, "annotations", false, &ann, err);
                if (r >= 0 && ann)
                        r = tender_json_get_string(ann, path, TENDER_OCI_REF_ANNOTATION, false,
                                                   &name, err);
                if (r < 0)
                        return tender_error_prefix(err, "index.json");
                if (name && strlen(available) + strlen(name) + 3 < sizeof(available))
                        snprintf(available + strlen(available),
                                 sizeof(available) - strlen(available), "%s%s",
                                 *available ? ", " : "", name);
                if (ref && (!name || !STREQ(name, ref)))
                        continue;
                if (!in_list(media_type, oci_manifest_types))
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                "index.json: %s has media type %s, not an image "
                                                "manifest (nested indexes are not supported)",
                                                path, media_type);
                if (matches++ == 0) {
                        *ret_digest = d;
                        *ret_size = size;
                }
        }
        if (matches == 0 && ref)
                return tender_error_set(err, TENDER_ERR_CONFIG, ENOENT,
                                        "index.json: no manifest is tagged \"%s\" (tags: %s)", ref,
                                        *available ? available : "none");
        if (matches != 1)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "index.json: %zu manifests match%s; name one with a ref",
                                        matches, ref ? " the ref" : "");
        return 0;
}

/* config.config members are often null in Docker-made images: null means unset. */
static int config_strv(const cJSON *c, const char *key, char ***ret, struct tender_error *err) {
        char **v = NULL;
        if (c && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c, key))) {
                int r = tender_json_get_strv(c, "config", key, false, TENDER_OCI_MAX_STRV, &v, err);
                if (r < 0)
                        return r;
        }
        if (!v && !(v = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = v;
        return 0;
}

static int config_string(const cJSON *c, const char *key, char **ret, struct tender_error *err) {
        const char *s = NULL;
        if (!c || cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c, key)))
                return 0;
        int r = tender_json_get_string(c, "config", key, false, &s, err);
        if (r < 0 || !s || !*s)
                return r;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* Docker's config.Healthcheck; an absent or null one leaves the image without. */
static int config_healthcheck(const cJSON *c, struct tender_oci_image *img,
                              struct tender_error *err) {
        const cJSON *h = c ? cJSON_GetObjectItemCaseSensitive(c, "Healthcheck") : NULL;
        if (!h || cJSON_IsNull(h))
                return 0;
        int r = tender_json_get_object(c, "config", "Healthcheck", false, &h, err);
        if (r >= 0 && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(h, "Test")))
                r = tender_json_get_strv(h, "config.Healthcheck", "Test", false,
                                         TENDER_OCI_MAX_STRV, &img->healthcheck_test, err);
        if (r >= 0)
                r = tender_json_get_u64(h, "config.Healthcheck", "Interval", false,
                                        &img->healthcheck_interval_ns, err);
        if (r >= 0)
                r = tender_json_get_u64(h, "config.Healthcheck", "Timeout", false,
                                        &img->healthcheck_timeout_ns, err);
        if (r >= 0)
                r = tender_json_get_u64(h, "config.Healthcheck", "StartPeriod", false,
                                        &img->healthcheck_start_period_ns, err);
        if (r >= 0)
                r = tender_json_get_u64(h, "config.Healthcheck", "Retries", false,
                                        &img->healthcheck_retries, err);
        return r;
}

static int load_config(int layout_fd, const cJSON *desc, struct tender_oci_image *img,
                       struct tender_error *err) {
        uint64_t size;
        const cJSON *c = NULL, *rootfs, *ids, *id;
        _cleanup_(cJSON_Deletep) cJSON *config = NULL;
        int r = get_descriptor(desc, "config", NULL, &img->config_digest, &size, err);
        if (r < 0)
                return tender_error_prefix(err, "image manifest");
        r = parse_blob_json(layout_fd, &img->config_digest, size, TENDER_OCI_CONFIG_MAX_SIZE,
                            &config, err);
        if (r < 0)
                return r;
        if (!cJSON_IsObject(config))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "image config: not a JSON object");
        if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(config, "config")))
                r = tender_json_get_object(config, "", "config", false, &c, err);
        if (r >= 0)
                r = config_strv(c, "Entrypoint", &img->entrypoint, err);
        if (r >= 0)
                r = config_strv(c, "Cmd", &img->cmd, err);
        if (r >= 0)
                r = config_strv(c, "Env", &img->env, err);
        if (r >= 0)
                r = config_string(c, "User", &img->user, err);
        if (r >= 0)
                r = config_string(c, "WorkingDir", &img->working_dir, err);
        if (r >= 0)
                r = config_healthcheck(c, img, err);
        if (r >= 0)
                r = tender_json_get_object(config, "", "rootfs", true, &rootfs, err);
        if (r >= 0)
                r = tender_json_get_array(rootfs, "rootfs", "diff_ids", true, &ids, err);
        if (r < 0)
                return r == -ENOMEM ? r : tender_error_prefix(err, "image config");
        int n = cJSON_GetArraySize(ids);
        if (n > TENDER_OCI_MAX_LAYERS)
                return tender_error_set(err, TENDER_ERR_JSON, EFBIG,
                                        "image config: %d diff_ids, at most %d supported", n,
                                        TENDER_OCI_MAX_LAYERS);
        img->diff_ids = calloc((size_t) n + 1, sizeof(*img->diff_ids));
        if (!img->diff_ids)
                return -ENOMEM;
        cJSON_ArrayForEach(id, ids) {
                if (!cJSON_IsString(id) ||
                    tender_digest_parse(id->valuestring, &img->diff_ids[img->n_diff_ids]) < 0)
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                "image config: rootfs.diff_ids[%zu] is not a "
                                                "sha256 digest",
                                                img->n_diff_ids);
                img->n_diff_ids++;
        }
        return 0;
}

static int load_manifest(int layout_fd, struct tender_oci_image *img, struct tender_error *err) {
        _cleanup_(cJSON_Deletep) cJSON *m = NULL;
        const cJSON *config, *layers, *l;
        const char *media_type = NULL;
        uint64_t schema;
        int r = parse_blob_json(layout_fd, &img->manifest_digest, img->manifest_size,
                                TENDER_OCI_MANIFEST_MAX_SIZE, &m, err);
        if (r < 0)
                return r;
        if (!cJSON_IsObject(m))
                return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                        "image manifest: not a JSON object");
        r = tender_json_get_u64(m, "", "schemaVersion", true, &schema, err);
        if (r >= 0 && schema != 2)
                r = tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                     "schemaVersion %" PRIu64 " is not 2", schema);
        if (r >= 0)
                r = tender_json_get_string(m, "", "mediaType", false, &media_type, err);
        if (r >= 0 && media_type && !in_list(media_type, oci_manifest_types))
                r = tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                     "mediaType %.100s is not an image manifest", media_type);
        if (r >= 0)
                r = tender_json_get_object(m, "", "config", true, &config, err);
        if (r >= 0)
                r = tender_json_get_array(m, "", "layers", true, &layers, err);
        if (r < 0)
                return tender_error_prefix(err, "image manifest");
        int n = cJSON_GetArraySize(layers);
        if (n > TENDER_OCI_MAX_LAYERS)
                return tender_error_set(err, TENDER_ERR_JSON, EFBIG,
                                        "image manifest: %d layers, at most %d supported", n,
                                        TENDER_OCI_MAX_LAYERS);
        img->layers = calloc((size_t) n + 1, sizeof(*img->layers));
        if (!img->layers)
                return -ENOMEM;
        cJSON_ArrayForEach(l, layers) {
                char path[32];
                struct tender_oci_layer *layer = &img->layers[img->n_layers];
                snprintf(path, sizeof(path), "layers[%zu]", img->n_layers);
                r = get_descriptor(l, path, &media_type, &layer->digest, &layer->size, err);
                if (r < 0)
                        return tender_error_prefix(err, "image manifest");
                if (!tender_oci_layer_media_type_supported(media_type))
                        return tender_error_set(err, TENDER_ERR_JSON, EINVAL,
                                                "image manifest: %s has unsupported media type "
                                                "%.100s",
                                                path, media_type);
                layer->media_type = strdup(media_type);
                if (!layer->media_type)
                        return -ENOMEM;
                img->n_layers++;
        }
        return load_config(layout_fd, config, img, err);
}

static int check_layout_file(int layout_fd, struct tender_error *err) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        const char *version;
        size_t len;
        int r = tender_read_file_at(layout_fd, "oci-layout", TENDER_OCI_LAYOUT_FILE_MAX_SIZE, &data,
                                    &len);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, r,
                                              "Not an OCI image layout: oci-layout");
        r = tender_json_parse(data, len, TENDER_OCI_LAYOUT_FILE_MAX_SIZE, 4, &j, err);
        if (r >= 0 && !cJSON_IsObject(j))
                r = tender_error_set(err, TENDER_ERR_JSON, EINVAL, "not a JSON object");
        if (r >= 0)
                r = tender_json_get_string(j, "", "imageLayoutVersion", true, &version, err);
        if (r < 0)
                return tender_error_prefix(err, "oci-layout");
        if (strncmp(version, "1.", 2) != 0)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "oci-layout: imageLayoutVersion %.32s is not supported",
                                        version);
        return 0;
}

int tender_oci_image_load(int layout_fd, const char *ref, struct tender_oci_image **ret,
                          struct tender_error *err) {
        int r = check_layout_file(layout_fd, err);
        if (r < 0)
                return r;
        _cleanup_(tender_oci_image_freep) struct tender_oci_image *img = calloc(1, sizeof(*img));
        if (!img)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        r = select_manifest(layout_fd, ref, &img->manifest_digest, &img->manifest_size, err);
        if (r < 0)
                return r;
        r = load_manifest(layout_fd, img, err);
        if (r == -ENOMEM)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        if (r < 0)
                return r;
        if (img->n_diff_ids != img->n_layers)
                return tender_error_set(err, TENDER_ERR_VERIFY, EINVAL,
                                        "image has %zu layers but its config lists %zu diff_ids",
                                        img->n_layers, img->n_diff_ids);
        *ret = TAKE_PTR(img);
        return 0;
}

void tender_oci_image_free(struct tender_oci_image *img) {
        if (!img)
                return;
        tender_strv_free(img->entrypoint);
        tender_strv_free(img->cmd);
        tender_strv_free(img->env);
        free(img->user);
        free(img->working_dir);
        tender_strv_free(img->healthcheck_test);
        free(img->diff_ids);
        for (size_t i = 0; img->layers && i < img->n_layers; i++)
                free(img->layers[i].media_type);
        free(img->layers);
        free(img);
}

/* libarchive pulls the blob through this reader, which hashes the bytes as they pass. */
struct scan_reader {
        int fd;
        int error; /* errno of a failed read */
        struct tender_sha256 *hash;
        uint64_t size;
        char buf[READ_CHUNK];
};

static la_ssize_t scan_read(struct archive *a, void *userdata, const void **ret_buf) {
        struct scan_reader *s = userdata;
        ssize_t n;
        do
                n = read(s->fd, s->buf, sizeof(s->buf));
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                s->error = errno;
                archive_set_error(a, errno, "read failed");
                return -1;
        }
        tender_sha256_update(s->hash, s->buf, (size_t) n);
        s->size += (uint64_t) n;
        *ret_buf = s->buf;
        return n;
}

static void archive_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

static void sha256_freep(struct tender_sha256 **h) {
        tender_sha256_free(*h);
}

static int scan_stream(struct archive *a, struct scan_reader *s, int want_filter,
                       const char *media_type, struct tender_sha256 *tar_hash, uint64_t *ret_usize,
                       struct tender_error *err) {
        struct archive_entry *entry;
        uint64_t usize = 0;
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        if (archive_read_open(a, s, NULL, scan_read, NULL) != ARCHIVE_OK ||
            archive_read_next_header(a, &entry) != ARCHIVE_OK)
                return tender_error_set(err, TENDER_ERR_EXTRACT, s->error ? s->error : EBADMSG,
                                        "cannot decompress: %s",
                                        archive_error_string(a) ? archive_error_string(a)
                                                                : "unknown format");
        if (archive_filter_count(a) > 2 || archive_filter_code(a, 0) != want_filter)
                return tender_error_set(err, TENDER_ERR_EXTRACT, EBADMSG,
                                        "data is %s-compressed, not what media type %s says",
                                        archive_filter_name(a, 0), media_type);
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;
                int r = archive_read_data_block(a, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK)
                        return tender_error_set(err, TENDER_ERR_EXTRACT,
                                                s->error ? s->error : EBADMSG,
                                                "cannot decompress: %s", archive_error_string(a));
                /* raw format hands out consecutive blocks; a gap would be a libarchive bug */
                if ((uint64_t) off != usize)
                        return tender_error_set(err, TENDER_ERR_EXTRACT, EIO,
                                                "non-contiguous decompressed data");
                usize += len;
                if (usize > TENDER_OCI_LAYER_MAX_UNCOMPRESSED)
                        return tender_error_set(err, TENDER_ERR_EXTRACT, EFBIG,
                                                "decompresses to more than %llu bytes",
                                                TENDER_OCI_LAYER_MAX_UNCOMPRESSED);
                tender_sha256_update(tar_hash, buf, len);
        }
        *ret_usize = usize;
        return 0;
}

int tender_oci_layer_scan(int blob_fd, const char *media_type, struct tender_oci_layer_scan *ret,
                          struct tender_error *err) {
        int want = layer_filter(media_type);
        if (want < 0)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "unsupported layer media type %.100s",
                                        media_type ? media_type : "(none)");
        _cleanup_free_ struct scan_reader *s = calloc(1, sizeof(*s));
        _cleanup_(sha256_freep) struct tender_sha256 *tar_hash = tender_sha256_new();
        _cleanup_(archive_freep) struct archive *a = archive_read_new();
        if (!s || !tar_hash || !a || !(s->hash = tender_sha256_new())) {
                if (s)
                        tender_sha256_free(s->hash);
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        }
        s->fd = blob_fd;
        struct tender_oci_layer_scan result;
        int r = scan_stream(a, s, want, media_type, tar_hash, &result.uncompressed_size, err);
        if (r >= 0) {
                /* The blob digest covers every byte, including any the decompressor left
                 * unread after the end of the stream. */
                const void *unused;
                la_ssize_t n;
                while ((n = scan_read(a, s, &unused)) > 0)
                        ;
                if (n < 0)
                        r = tender_error_set_errno(err, TENDER_ERR_SYSTEM, s->error,
                                                   "Failed to read the layer blob");
        }
        if (r >= 0) {
                tender_sha256_final(s->hash, &result.digest);
                tender_sha256_final(tar_hash, &result.diff_id);
                result.size = s->size;
                *ret = result;
        }
        tender_sha256_free(s->hash);
        return r;
}
