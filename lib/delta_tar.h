/* SPDX-License-Identifier: Apache-2.0 */
/* Tar layout for the delta generator (lib/delta_tar.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tender/macro.h"

struct delta_tar_entry {
        uint64_t meta_off; /* first byte of its headers (pax, GNU long name, ustar) */
        uint64_t data_off; /* first byte of its data; headers are [meta_off, data_off) */
        uint64_t size;     /* data bytes; padding up to 512 follows */
        char type;
        bool regular; /* a plain file whose extracted content is exactly its data */
        char *path;   /* as extraction writes it, NULL when extraction would refuse it */
};

struct delta_tar {
        struct delta_tar_entry *e;
        size_t n, cap;
        uint64_t end; /* where the entries end (end-of-archive blocks and padding follow) */
};

int delta_tar_parse(const uint8_t *map, uint64_t len, struct delta_tar *ret);
void delta_tar_free(struct delta_tar *t);
char *delta_tar_normalize(const char *p, size_t len);
