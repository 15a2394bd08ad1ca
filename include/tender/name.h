/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The names tender puts in paths, ids and messages — apps, versions, volumes — are checked here
 * once, for the manifest parser, the store, the agent's trust and control, the publisher and
 * server-mock alike: a valid name is safe as one path component and as a word in a log line.
 */
#pragma once

#include <stdbool.h>

#define TENDER_NAME_MAX 64

/* [A-Za-z0-9][A-Za-z0-9._-]*, at most TENDER_NAME_MAX bytes, not "." or "..". */
bool tender_name_valid(const char *s);
