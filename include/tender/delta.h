/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer deltas (docs/delta-format.md): a delta rebuilds the exact uncompressed tar of a new layer
 * from the files of an old layer as the device has it extracted. The applier streams the
 * rebuilt tar into extraction and hashes it as it goes; the new layer is good only when the
 * sha256 equals the signed diff_id. Memory while applying is bounded by the format's limits
 * (TENDER_DELTA_APPLY_MEMORY), whatever the layer size.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tender/digest.h"
#include "tender/error.h"
#include "tender/manifest.h"

#define TENDER_DELTA_VERSION 4
#define TENDER_DELTA_MAGIC "TNDRDLT\n" /* 8 bytes */
#define TENDER_DELTA_HEADER_SIZE 96
/* Limits the applier enforces; a delta asking for more is refused. */
#define TENDER_DELTA_MAX_WINDOW (8u * 1024 * 1024) /* old bytes referenced by one patch chunk */
#define TENDER_DELTA_MAX_CHUNK (4u * 1024 * 1024)  /* new bytes produced by one patch chunk */
#define TENDER_DELTA_MAX_FRAME (TENDER_DELTA_MAX_CHUNK + 64 * 1024) /* one patch frame */
#define TENDER_DELTA_MAX_DATA (1024u * 1024)                        /* one literal record */
#define TENDER_DELTA_MAX_PATH 4096                                  /* old file path */
#define TENDER_DELTA_MAX_SKIP (1u << 30) /* old entries one FILE/HEADER record walks past */
#define TENDER_DELTA_MAX_LISTING (2u * 1024 * 1024) /* walk: names of the open directories */
#define TENDER_DELTA_MAX_INDEX (1024u * 1024)       /* OPEN_AT: the old layer's walk, front-coded */
#define TENDER_DELTA_MAX_CONTROLS 16384             /* control triples of one APPROX record */
#define TENDER_DELTA_STREAM_WINDOW_LOG 20           /* zstd window of the record stream: 1 MiB */
#define TENDER_DELTA_PATCH_WINDOW_LOG 24 /* zstd window of a patch frame (prefix+chunk) */
/* What the applier allocates for its own buffers and zstd contexts (libarchive and the disk
 * writer come on top, well under 2 MiB). Patch frames need no buffer: they are decoded straight
 * from the record stream. */
#define TENDER_DELTA_APPLY_MEMORY                                                                  \
        (TENDER_DELTA_MAX_WINDOW + TENDER_DELTA_MAX_CHUNK +                                        \
         (1u << TENDER_DELTA_STREAM_WINDOW_LOG) + 2 * TENDER_DELTA_MAX_LISTING +                   \
         TENDER_DELTA_MAX_INDEX + 2u * 1024 * 1024)

enum tender_delta_record {
        TENDER_DELTA_OPEN = 0x01,       /* u16 length, path: selects the old file */
        TENDER_DELTA_COPY = 0x02,       /* u64 offset, u64 length: bytes of the old file */
        TENDER_DELTA_DATA = 0x03,       /* u32 length, bytes: literal */
        TENDER_DELTA_PATCH = 0x04,      /* u64 old offset, u32 old length, u32 out length,
                                           u32 frame length, zstd frame with old bytes as prefix */
        TENDER_DELTA_FILE = 0x05,       /* u32 skip, u8 edits, edits: header + whole old file */
        TENDER_DELTA_HEADER = 0x06,     /* u32 skip, u8 edits, edits: header; selects the file */
        TENDER_DELTA_PATCH_FILE = 0x07, /* u32 out length, u32 frame length, frame: PATCH
                                           against the whole selected file */
        TENDER_DELTA_APPROX = 0x08,     /* u32 out length, u32 controls, u16 pad, controls
                                           (u32 add, u32 extra, s64 seek), add bytes, extra
                                           bytes: old bytes + differences, inserted bytes */
        TENDER_DELTA_OPEN_AT = 0x09,    /* u32 position in the walk: selects that old file */
        TENDER_DELTA_END = 0xff,
};

struct tender_delta_header {
        uint32_t version;
        struct tender_digest source; /* diff_id of the old layer */
        struct tender_digest target; /* diff_id of the new layer */
        uint64_t target_size;        /* bytes of the new uncompressed tar */
        uint32_t window;             /* largest old range of a patch chunk */
        uint32_t chunk;              /* largest output of a patch chunk */
};

/* Reads and checks the fixed header at the fd's current offset (leaves the offset after it). */
int tender_delta_read_header(int delta_fd, struct tender_delta_header *ret,
                             struct tender_error *err);

/* Applies the delta read from delta_fd (offset 0) against the old layer directory old_dir_fd:
 * the rebuilt tar is extracted beneath dest_fd (an empty directory) as tender_layer_extract_at
 * would, with the same checks. The delta must name old_diff_id as its source and layer->diff_id /
 * layer->uncompressed_size as its target; the rebuilt stream's sha256 must equal the target.
 * On any failure the directory is emptied again (the caller removes it) and the caller falls back
 * to the full layer; err says what failed (old file, record, digest). */
int tender_delta_apply(int delta_fd, int old_dir_fd, const struct tender_digest *old_diff_id,
                       int dest_fd, const struct tender_layer *layer, struct tender_error *err);

/* Like tender_delta_apply but writes the rebuilt tar to out_fd instead of extracting it (tools,
 * tests and benchmarks). out_fd's content is only good when 0 is returned. */
int tender_delta_rebuild(int delta_fd, int old_dir_fd, const struct tender_digest *old_diff_id,
                         const struct tender_layer *layer, int out_fd, struct tender_error *err);

/* Generator. */
struct tender_delta_make_options {
        int level;          /* zstd level of the record stream and small patches; 0 = 19 */
        int patch_level;    /* 0: level up to 2 MiB of window + chunk, 12 beyond */
        uint32_t window;    /* 0 = TENDER_DELTA_MAX_WINDOW */
        uint32_t chunk;     /* 0 = TENDER_DELTA_MAX_CHUNK */
        bool no_similarity; /* match only by path and content (tests) */
        bool no_approx;     /* no APPROX records: zstd patches only (tests, comparisons) */
};

struct tender_delta_stats {
        uint64_t files, copied, renamed, patched, literal; /* regular files of the new layer */
        uint64_t copy_bytes, patch_bytes, literal_bytes;   /* new tar bytes by way of rebuilding */
        uint64_t delta_size;
        uint64_t predicted_headers, literal_headers; /* entries by way of sending headers */
        uint64_t approx_bytes;                       /* of patch_bytes, made by APPROX records */
        uint64_t opened_at; /* old files selected by their walk position (OPEN_AT), not path */
};

/* Makes a delta from old_tar to new_tar (uncompressed tars, regular files so they can be
 * mapped) and writes it to out_fd. The diff_ids are computed here. */
int tender_delta_make(int old_tar_fd, int new_tar_fd, int out_fd,
                      const struct tender_delta_make_options *opts,
                      struct tender_delta_stats *ret_stats, struct tender_error *err);
