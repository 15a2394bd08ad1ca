/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state file (--state): targets, actions with their feedback, groups and rollouts, as one
 * JSON document written atomically (temp file, fsync, rename, fsync of the directory), so that
 * a restarted server goes on where it was. A file that cannot be read back is an error naming
 * the file and what is wrong: the server refuses to start rather than forget its fleet.
 */
#pragma once

#include "rollout.h"
#include "state.h"
#include "tender/error.h"

#define MOCK_STATE_FILE_MAX (512ULL * 1024 * 1024)
#define MOCK_STATE_FORMAT "tender-server-mock-state"
#define MOCK_STATE_VERSION 1

/* Loads path into an empty state and fleet. A missing file is no error (*ret_found false):
 * the first run starts empty and creates it on the first save. */
int mock_persist_load(const char *path, struct mock_state *s, struct mock_fleet *f, bool *ret_found,
                      struct tender_error *err);
/* Writes the whole state to path, durably and atomically. */
int mock_persist_save(const char *path, struct mock_state *s, struct mock_fleet *f,
                      struct tender_error *err);
