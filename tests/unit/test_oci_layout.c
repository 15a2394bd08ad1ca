/* SPDX-License-Identifier: Apache-2.0 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "tender/fileio.h"
#include "tender/oci_layout.h"
#include "test.h"

#define MT_TAR "application/vnd.oci.image.layer.v1.tar"
#define MT_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define BUF_MAX (256 * 1024)

/* A one-file tar, compressed with filter (ARCHIVE_FILTER_NONE/GZIP/ZSTD). Same bytes each time. */
static size_t make_tar(int filter, unsigned char *out) {
        static const char content[] = "hello from a layer\n";
        struct archive *a = archive_write_new();
        size_t used = 0;
        archive_write_set_format_pax_restricted(a);
        if (filter != ARCHIVE_FILTER_NONE)
                archive_write_add_filter(a, filter);
        archive_write_set_bytes_in_last_block(a, 1);
        if (archive_write_open_memory(a, out, BUF_MAX, &used) != ARCHIVE_OK)
                return 0;
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, "etc/hello.txt");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_mtime(e, 1700000000, 0);
        archive_entry_set_size(e, sizeof(content) - 1);
        archive_write_header(a, e);
        archive_write_data(a, content, sizeof(content) - 1);
        archive_entry_free(e);
        archive_write_close(a);
        archive_write_free(a);
        return used;
}

struct layout {
        char dir[PATH_MAX];
        int fd;
        struct tender_digest layer, diff_id, config, manifest;
        size_t layer_size, tar_size, manifest_size;
};

static int put_blob(struct layout *l, const void *data, size_t len, struct tender_digest *ret) {
        char hex[65], path[128];
        tender_sha256_buffer(data, len, ret);
        snprintf(path, sizeof(path), "blobs/sha256/%s", tender_digest_hex(ret, hex));
        return tender_write_file_atomic_at(l->fd, path, data, len, 0644);
}

static int put_file(struct layout *l, const char *path, const char *s) {
        return tender_write_file_atomic_at(l->fd, path, s, strlen(s), 0644);
}

/* config_extra is spliced into config.config, to vary the config per test. */
static int make_layout(struct layout *l, const char *config_extra) {
        static unsigned char tar[BUF_MAX], gz[BUF_MAX];
        char json[8192], d1[TENDER_DIGEST_STRING_MAX], d2[TENDER_DIGEST_STRING_MAX];
        int r;
        const struct fixture_dir *d = fixture_dir("oci-layout");
        if (!d)
                return -EIO;
        snprintf(l->dir, sizeof(l->dir), "%s", d->path);
        l->fd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (l->fd < 0 || (r = tender_mkdir_p_at(l->fd, "blobs/sha256", 0755)) < 0)
                return -EIO;
        l->tar_size = make_tar(ARCHIVE_FILTER_NONE, tar);
        l->layer_size = make_tar(ARCHIVE_FILTER_GZIP, gz);
        if (l->tar_size == 0 || l->layer_size == 0)
                return -EIO;
        tender_sha256_buffer(tar, l->tar_size, &l->diff_id);
        if ((r = put_blob(l, gz, l->layer_size, &l->layer)) < 0)
                return r;

        snprintf(json, sizeof(json),
                 "{\"architecture\": \"amd64\", \"os\": \"linux\", \"config\": {"
                 "\"Entrypoint\": [\"/bin/sh\", \"-c\"], \"Cmd\": null, "
                 "\"Env\": [\"PATH=/bin\"], \"User\": \"1000:1000\", \"WorkingDir\": \"/app\"%s}, "
                 "\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"%s\"]}}",
                 config_extra, tender_digest_format(&l->diff_id, d1));
        if ((r = put_blob(l, json, strlen(json), &l->config)) < 0)
                return r;
        size_t config_size = strlen(json);

        snprintf(json, sizeof(json),
                 "{\"schemaVersion\": 2, \"mediaType\": "
                 "\"application/vnd.oci.image.manifest.v1+json\", \"config\": {\"mediaType\": "
                 "\"application/vnd.oci.image.config.v1+json\", \"digest\": \"%s\", \"size\": "
                 "%zu}, \"layers\": [{\"mediaType\": \"" MT_GZIP "\", \"digest\": \"%s\", "
                 "\"size\": %zu}]}",
                 tender_digest_format(&l->config, d1), config_size,
                 tender_digest_format(&l->layer, d2), l->layer_size);
        if ((r = put_blob(l, json, strlen(json), &l->manifest)) < 0)
                return r;
        l->manifest_size = strlen(json);

        snprintf(json, sizeof(json),
                 "{\"schemaVersion\": 2, \"manifests\": [{\"mediaType\": "
                 "\"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"%s\", \"size\": "
                 "%zu, \"annotations\": {\"org.opencontainers.image.ref.name\": \"v1\"}}]}",
                 tender_digest_format(&l->manifest, d1), l->manifest_size);
        if ((r = put_file(l, "index.json", json)) < 0)
                return r;
        return put_file(l, "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}");
}

static void drop_layout(struct layout *l) {
        close(l->fd);
}

static int blob_path(const struct tender_digest *d, char *out, size_t size) {
        char hex[65];
        return snprintf(out, size, "blobs/sha256/%s", tender_digest_hex(d, hex));
}

TEST(load_and_scan) {
        struct layout l;
        ASSERT_OK(make_layout(&l, ""));
        _cleanup_(tender_oci_image_freep) struct tender_oci_image *img = NULL;
        struct tender_error err = {0};
        ASSERT_OK(tender_oci_image_load(l.fd, "v1", &img, &err));
        ASSERT_TRUE(tender_digest_equal(&img->manifest_digest, &l.manifest));
        ASSERT_TRUE(tender_digest_equal(&img->config_digest, &l.config));
        ASSERT_STREQ(img->entrypoint[0], "/bin/sh");
        ASSERT_STREQ(img->entrypoint[1], "-c");
        ASSERT_TRUE(img->cmd && !img->cmd[0]); /* null Cmd */
        ASSERT_STREQ(img->env[0], "PATH=/bin");
        ASSERT_STREQ(img->user, "1000:1000");
        ASSERT_STREQ(img->working_dir, "/app");
        ASSERT_EQ(img->n_layers, 1);
        ASSERT_EQ(img->n_diff_ids, 1);
        ASSERT_STREQ(img->layers[0].media_type, MT_GZIP);
        ASSERT_EQ(img->layers[0].size, l.layer_size);
        ASSERT_TRUE(tender_digest_equal(&img->diff_ids[0], &l.diff_id));

        _cleanup_close_ int fd = tender_oci_blob_open(l.fd, &img->layers[0].digest, &err);
        ASSERT_OK(fd);
        struct tender_oci_layer_scan scan;
        ASSERT_OK(tender_oci_layer_scan(fd, MT_GZIP, &scan, &err));
        ASSERT_TRUE(tender_digest_equal(&scan.digest, &l.layer));
        ASSERT_EQ(scan.size, l.layer_size);
        ASSERT_TRUE(tender_digest_equal(&scan.diff_id, &l.diff_id));
        ASSERT_EQ(scan.uncompressed_size, l.tar_size);

        /* a single-manifest index also loads without a ref */
        _cleanup_(tender_oci_image_freep) struct tender_oci_image *img2 = NULL;
        ASSERT_OK(tender_oci_image_load(l.fd, NULL, &img2, &err));
        drop_layout(&l);
}

TEST(unknown_ref) {
        struct layout l;
        ASSERT_OK(make_layout(&l, ""));
        struct tender_oci_image *img = NULL;
        struct tender_error err = {0};
        ASSERT_ERR(tender_oci_image_load(l.fd, "v2", &img, &err), ENOENT);
        ASSERT_CONTAINS(err.message, "\"v2\"");
        ASSERT_CONTAINS(err.message, "v1");
        drop_layout(&l);
}

TEST(tampered_config_refused) {
        struct layout l;
        ASSERT_OK(make_layout(&l, ""));
        char path[128], dstr[TENDER_DIGEST_STRING_MAX];
        blob_path(&l.config, path, sizeof(path));
        _cleanup_free_ char *data = NULL;
        size_t len;
        ASSERT_OK(tender_read_file_at(l.fd, path, 1 << 20, &data, &len));
        data[len / 2] ^= 0x20;
        ASSERT_OK(tender_write_file_atomic_at(l.fd, path, data, len, 0644));
        struct tender_oci_image *img = NULL;
        struct tender_error err = {0};
        ASSERT_ERR(tender_oci_image_load(l.fd, "v1", &img, &err), EBADMSG);
        ASSERT_CONTAINS(err.message, tender_digest_format(&l.config, dstr));

        /* one byte longer than its descriptor */
        data[len / 2] ^= 0x20;
        char *longer = malloc(len + 2);
        memcpy(longer, data, len);
        longer[len] = ' ';
        ASSERT_OK(tender_write_file_atomic_at(l.fd, path, longer, len + 1, 0644));
        free(longer);
        ASSERT_ERR(tender_oci_image_load(l.fd, "v1", &img, &err), EBADMSG);
        ASSERT_CONTAINS(err.message, "size");
        drop_layout(&l);
}

TEST(symlinked_blob_refused) {
        struct layout l;
        ASSERT_OK(make_layout(&l, ""));
        char path[128];
        blob_path(&l.manifest, path, sizeof(path));
        ASSERT_OK(unlinkat(l.fd, path, 0));
        ASSERT_OK(symlinkat("/etc/passwd", l.fd, path));
        struct tender_oci_image *img = NULL;
        struct tender_error err = {0};
        ASSERT_ERR(tender_oci_image_load(l.fd, "v1", &img, &err), ELOOP);
        drop_layout(&l);
}

TEST(bad_config_refused) {
        struct layout l;
        ASSERT_OK(make_layout(&l, ", \"Env\": 3"));
        struct tender_oci_image *img = NULL;
        struct tender_error err = {0};
        /* a duplicate key in the config is refused by the JSON layer */
        ASSERT_TRUE(tender_oci_image_load(l.fd, "v1", &img, &err) < 0);
        ASSERT_TRUE(img == NULL);
        drop_layout(&l);

        ASSERT_OK(make_layout(&l, ""));
        ASSERT_OK(put_file(&l, "oci-layout", "{\"imageLayoutVersion\": \"2.0.0\"}"));
        ASSERT_ERR(tender_oci_image_load(l.fd, "v1", &img, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "oci-layout");
        ASSERT_OK(unlinkat(l.fd, "oci-layout", 0));
        ASSERT_ERR(tender_oci_image_load(l.fd, "v1", &img, &err), ENOENT);
        drop_layout(&l);
}

TEST(healthcheck) {
        struct layout l;
        struct tender_error err = {0};
        ASSERT_OK(make_layout(&l, ", \"Healthcheck\": {\"Test\": [\"CMD-SHELL\", \"test -e /ok\"], "
                                  "\"Interval\": 2000000000, \"Timeout\": 500000000, "
                                  "\"StartPeriod\": 3000000000, \"Retries\": 4}"));
        _cleanup_(tender_oci_image_freep) struct tender_oci_image *img = NULL;
        ASSERT_OK(tender_oci_image_load(l.fd, "v1", &img, &err));
        ASSERT_STREQ(img->healthcheck_test[0], "CMD-SHELL");
        ASSERT_STREQ(img->healthcheck_test[1], "test -e /ok");
        ASSERT_EQ(img->healthcheck_interval_ns, 2000000000ULL);
        ASSERT_EQ(img->healthcheck_timeout_ns, 500000000ULL);
        ASSERT_EQ(img->healthcheck_start_period_ns, 3000000000ULL);
        ASSERT_EQ(img->healthcheck_retries, 4);
        drop_layout(&l);

        /* Docker writes null for an unset Healthcheck; without one, nothing is set. */
        ASSERT_OK(make_layout(&l, ", \"Healthcheck\": null"));
        _cleanup_(tender_oci_image_freep) struct tender_oci_image *none = NULL;
        ASSERT_OK(tender_oci_image_load(l.fd, "v1", &none, &err));
        ASSERT_TRUE(none->healthcheck_test == NULL && none->healthcheck_retries == 0);
        drop_layout(&l);

        struct tender_oci_image *bad = NULL;
        ASSERT_OK(make_layout(&l, ", \"Healthcheck\": {\"Test\": \"CMD\"}"));
        ASSERT_ERR(tender_oci_image_load(l.fd, "v1", &bad, &err), EINVAL);
        ASSERT_CONTAINS(err.message, "Healthcheck.Test");
        drop_layout(&l);
}

TEST(scan_checks_compression) {
        static unsigned char tar[BUF_MAX], zst[BUF_MAX];
        size_t tar_len = make_tar(ARCHIVE_FILTER_NONE, tar);
        size_t zst_len = make_tar(ARCHIVE_FILTER_ZSTD, zst);
        ASSERT_TRUE(tar_len > 0 && zst_len > 0);
        char path[] = "/tmp/test_oci_scan.XXXXXX";
        int fd = mkostemp(path, O_CLOEXEC);
        ASSERT_OK(fd);
        unlink(path);
        struct tender_oci_layer_scan scan;
        struct tender_error err = {0};
        struct tender_digest want;
        tender_sha256_buffer(tar, tar_len, &want);

        ASSERT_EQ(write(fd, zst, zst_len), (ssize_t) zst_len);
        ASSERT_OK(lseek(fd, 0, SEEK_SET));
        ASSERT_OK(tender_oci_layer_scan(fd, MT_ZSTD, &scan, &err));
        ASSERT_TRUE(tender_digest_equal(&scan.diff_id, &want));
        ASSERT_EQ(scan.uncompressed_size, tar_len);
        ASSERT_EQ(scan.size, zst_len);

        /* zstd data declared as gzip */
        ASSERT_OK(lseek(fd, 0, SEEK_SET));
        ASSERT_ERR(tender_oci_layer_scan(fd, MT_GZIP, &scan, &err), EBADMSG);
        ASSERT_CONTAINS(err.message, MT_GZIP);

        /* plain tar: its diff_id is its digest */
        ASSERT_OK(ftruncate(fd, 0));
        ASSERT_OK(lseek(fd, 0, SEEK_SET));
        ASSERT_EQ(write(fd, tar, tar_len), (ssize_t) tar_len);
        ASSERT_OK(lseek(fd, 0, SEEK_SET));
        ASSERT_OK(tender_oci_layer_scan(fd, MT_TAR, &scan, &err));
        ASSERT_TRUE(tender_digest_equal(&scan.digest, &want));
        ASSERT_TRUE(tender_digest_equal(&scan.diff_id, &want));
        ASSERT_OK(lseek(fd, 0, SEEK_SET));
        ASSERT_ERR(tender_oci_layer_scan(fd, MT_ZSTD, &scan, &err), EBADMSG);
        ASSERT_ERR(tender_oci_layer_scan(fd, "application/x-tar", &scan, &err), EINVAL);
        close(fd);
}

TEST(media_types) {
        ASSERT_TRUE(tender_oci_layer_media_type_supported(MT_TAR));
        ASSERT_TRUE(tender_oci_layer_media_type_supported(
                "application/vnd.docker.image.rootfs.diff.tar.gzip"));
        ASSERT_FALSE(tender_oci_layer_media_type_supported(
                "application/vnd.oci.image.layer.nondistributable.v1.tar"));
        ASSERT_FALSE(tender_oci_layer_media_type_supported(NULL));
}

TEST_MAIN()
