/* SPDX-License-Identifier: Apache-2.0 */
/* tenderd's trust: the TUF metadata in <store>/tuf and the release manifests it vouches for
 * (docs/agent.md "Trust", docs/tuf.md "How the agent uses it"). */
#include "trust.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tender/fileio.h"
#include "tender/log.h"
#include "tender/manifest.h"
#include "tender/name.h"

#define TUF_DIR "tuf"
#define TARGET_NAME_MAX (TENDER_NAME_MAX * 2 + 16)

int agent_tuf_setup(struct agent *a, struct tender_error *err) {
        _cleanup_free_ char *root = NULL;
        size_t len = 0;
        int root_fd = tender_store_root_fd(a->store);

        a->tuf_fd = -1;
        if (mkdirat(root_fd, TUF_DIR, 0700) < 0 && errno != EEXIST)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "create %s/%s",
                                              tender_store_root(a->store), TUF_DIR);
        int fd = openat(root_fd, TUF_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open %s/%s",
                                              tender_store_root(a->store), TUF_DIR);
        a->tuf_fd = fd;
        if (faccessat(fd, "root.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        /* First start: the provisioned root becomes the trusted one. Later starts keep what
         * rotations made of it, whatever tuf.root still holds. */
        int r = tender_read_file_at(AT_FDCWD, a->cfg->tuf_root, TENDER_TUF_ROOT_MAX_SIZE, &root,
                                    &len);
        if (r == -ELOOP) {
                /* A provisioning file is the administrator's: a symlink to it is fine. */
                _cleanup_free_ char *real = realpath(a->cfg->tuf_root, NULL);
                r = real ? tender_read_file_at(AT_FDCWD, real, TENDER_TUF_ROOT_MAX_SIZE, &root,
                                               &len)
                         : -errno;
        }
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, r, "tuf.root: cannot read %s",
                                              a->cfg->tuf_root);
        r = tender_tuf_init(fd, root, len, err);
        if (r < 0)
                return tender_error_prefix(err, "tuf.root %s", a->cfg->tuf_root);
        log_info("Trusted TUF root initialised from %s", a->cfg->tuf_root);
        return 0;
}

void agent_tuf_done(struct agent *a) {
        if (a->tuf_fd >= 0)
                close(a->tuf_fd);
        a->tuf_fd = -1;
}

/* Metadata and targets go through the DDI client's HTTP handle (same CA file, pins, client
 * certificate, timeouts), but without its TargetToken: the repository may be another host. */
static int fetch_no_auth(void *userdata, const char *url, size_t max, char **ret_body,
                         size_t *ret_len, struct tender_error *err) {
        struct agent *a = userdata;
        return tender_http_get_auth(a->ddi.http, url, NULL, max, ret_body, ret_len, err);
}

/* The signed target's custom fields must name the release the server chose. */
static int check_target(const struct tender_tuf_target *tt, const char *app, const char *version,
                        struct tender_error *err) {
        if (!tt->has_release)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "target %s: no app, version and releaseCounter in its "
                                        "signed custom fields",
                                        tt->name);
        if (!STREQ(tt->app, app) || !STREQ(tt->version, version))
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "target %s: signed for %s %s", tt->name, tt->app,
                                        tt->version);
        return 0;
}

int trust_fetch_release(struct agent *a, const char *app, const char *version,
                        struct trust_release *ret, struct tender_error *err) {
        _cleanup_(tender_tuf_freep) struct tender_tuf *tuf = NULL;
        _cleanup_(tender_tuf_target_freep) struct tender_tuf_target *tt = NULL;
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = NULL;
        _cleanup_free_ char *data = NULL;
        char name[TARGET_NAME_MAX];
        size_t len = 0;
        int r;

        struct tender_tuf_options opts = {
                .metadata_url = a->cfg->tuf_metadata_url,
                .targets_url = a->cfg->tuf_targets_url,
                .fetch = fetch_no_auth,
                .fetch_userdata = a,
        };
        /* The deployment only chooses: the name is derived, never a URL from the server. Each
         * part stays one path component, whatever the server sent. */
        if (!tender_name_valid(app) || !tender_name_valid(version))
                return tender_error_set(err, TENDER_ERR_SERVER, EINVAL,
                                        "the deployment names an invalid app or version");
        if ((size_t) snprintf(name, sizeof(name), "apps/%s/%s.json", app, version) >= sizeof(name))
                return tender_error_set(err, TENDER_ERR_SERVER, ENAMETOOLONG,
                                        "release name too long");
        r = tender_tuf_open(a->tuf_fd, &opts, &tuf, err);
        if (r >= 0)
                r = tender_tuf_refresh(tuf, err);
        if (r < 0)
                return r;
        r = tender_tuf_get_target(tuf, name, &tt, err);
        if (r == -ENOENT)
                return tender_error_prefix(err, "not a signed release");
        if (r >= 0)
                r = check_target(tt, app, version, err);
        if (r >= 0 && tt->length > TENDER_MANIFEST_MAX_SIZE)
                r = tender_error_set(err, TENDER_ERR_VERIFY, EFBIG,
                                     "target %s: %llu bytes, over the manifest limit of %d", name,
                                     (unsigned long long) tt->length, TENDER_MANIFEST_MAX_SIZE);
        if (r >= 0)
                r = tender_tuf_download_target(tuf, tt, &data, &len, err);
        if (r < 0)
                return r;
        /* Only now, with length and hashes checked, is a byte of the manifest parsed. */
        r = tender_manifest_parse(data, len, &m, err);
        if (r < 0)
                return tender_error_prefix(err, "release manifest %s", name);
        if (!STREQ(m->app, app) || !STREQ(m->version, version) ||
            m->release_counter != tt->release_counter)
                return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                        "release manifest %s is for %s %s counter %llu, its TUF "
                                        "target says counter %llu",
                                        name, m->app, m->version,
                                        (unsigned long long) m->release_counter,
                                        (unsigned long long) tt->release_counter);
        log_debug("TUF: %s verified (targets version %llu)", name,
                  (unsigned long long) tender_tuf_version(tuf, "targets"));
        *ret = (struct trust_release){
                .data = TAKE_PTR(data),
                .len = len,
                .manifest = TAKE_PTR(m),
        };
        return 0;
}
