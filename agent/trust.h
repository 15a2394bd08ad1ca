/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Release manifests through TUF: the hawkBit deployment names app and version, the TUF
 * repository says whether such a release exists and what its manifest's bytes are.
 */
#pragma once

#include "update.h"

struct trust_release {
        char *data; /* the manifest's bytes, as the TUF target's length and hashes say */
        size_t len;
        struct tender_release_manifest *manifest; /* parsed; its counter is the signed one */
};

/* Refreshes the trusted metadata in a->tuf_fd, then fetches and checks target
 * apps/<app>/<version>.json: its signed custom fields (app, version, releaseCounter) must name
 * this release and agree with the manifest's own fields. Errors fill err: -ESTALE when a role
 * has expired (a freeze: no newer metadata can be trusted), -ENOENT when no trusted role lists
 * the release ("not a signed release: ..."), other -errno for bad signatures, hashes, network. */
int trust_fetch_release(struct agent *a, const char *app, const char *version,
                        struct trust_release *ret, struct tender_error *err);

/* Opens <store>/tuf (created when missing) into a->tuf_fd and, when it holds no root.json yet,
 * initialises it from the provisioned tuf.root. The trusted root is never replaced from
 * tuf.root afterwards: only a rotation the repository signs moves it on. */
int agent_tuf_setup(struct agent *a, struct tender_error *err);

/* Closes a->tuf_fd. */
void agent_tuf_done(struct agent *a);
