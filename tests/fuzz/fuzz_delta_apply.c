/* SPDX-License-Identifier: Apache-2.0 */
/* Delta applier (lib/delta_apply.c) on fuzzed deltas, against a small old layer made once in a
 * temp dir: files, an empty file, a symlink to a file and one to a directory, nested
 * directories. Each input is applied twice: rebuilt into /dev/null (the applier runs to its END
 * whatever the tar looks like) and extracted into a directory emptied after each run (the
 * applier feeding libarchive, as on a device). The source and target the input's header names
 * are taken as the expected ones, so that the fuzzer gets past the header checks.
 *
 * The old layer's content must stay what tests/fuzz/make-delta-corpus builds, or the real
 * deltas of the corpus no longer rebuild (they still replay, only with less coverage). */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tender/delta.h"
#include "tender/fileio.h"
#include "tender/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/tender-fuzz-delta.XXXXXX";
static int old_fd = -1, new_fd = -1, delta_fd = -1, sink_fd = -1;

/* xorshift32 bytes: incompressible, and easy to make again in make-delta-corpus. */
static int write_pattern(int dirfd, const char *name, size_t len, uint32_t seed) {
        uint8_t *b = malloc(len ? len : 1);
        uint32_t x = seed;
        if (!b)
                return -1;
        for (size_t i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                b[i] = (uint8_t) x;
        }
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int r = fd >= 0 && write(fd, b, len) == (ssize_t) len ? 0 : -1;
        if (fd >= 0)
                close(fd);
        free(b);
        return r;
}

static int write_text(int dirfd, const char *name, unsigned lines) {
        FILE *f;
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || !(f = fdopen(fd, "we")))
                return -1;
        for (unsigned i = 0; i < lines; i++)
                fprintf(f, "line %u of %s\n", i, name);
        return fclose(f) == 0 ? 0 : -1;
}

static void cleanup(void) {
        (void) tender_rm_rf_at(AT_FDCWD, root);
}

static int make_old_layer(void) {
        if (!mkdtemp(root))
                return -1;
        atexit(cleanup);
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || mkdirat(fd, "old", 0755) < 0 || mkdirat(fd, "new", 0755) < 0)
                return -1;
        old_fd = openat(fd, "old", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        new_fd = openat(fd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(fd);
        if (old_fd < 0 || new_fd < 0)
                return -1;
        int r = mkdirat(old_fd, "bin", 0755) | mkdirat(old_fd, "etc", 0755) |
                mkdirat(old_fd, "lib", 0755) | mkdirat(old_fd, "sub", 0755) |
                mkdirat(old_fd, "sub/deeper", 0755);
        r |= write_pattern(old_fd, "bin/tool", 24 * 1024, 1);
        r |= write_pattern(old_fd, "lib/libx.so.1", 96 * 1024, 2);
        r |= write_pattern(old_fd, "empty", 0, 3);
        r |= write_text(old_fd, "etc/app.conf", 3);
        r |= write_text(old_fd, "sub/deeper/notes.txt", 120);
        r |= symlinkat("app.conf", old_fd, "etc/link");
        r |= symlinkat("sub", old_fd, "sublink");
        return r;
}

static void empty_new(void) {
        _cleanup_close_ int fd = fcntl(new_fd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d)
                return;
        fd = -1;
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        (void) tender_rm_rf_at(new_fd, de->d_name);
        closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool ready;
        if (!ready) {
                if (make_old_layer() < 0) {
                        perror("fuzz_delta_apply: old layer");
                        abort();
                }
                delta_fd = memfd_create("delta", MFD_CLOEXEC);
                sink_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (delta_fd < 0 || sink_fd < 0)
                        abort();
                ready = true;
        }
        if (ftruncate(delta_fd, 0) < 0 || pwrite(delta_fd, data, size, 0) != (ssize_t) size)
                abort();

        /* What the header claims; a header the applier refuses is refused either way. */
        struct tender_digest source = {0};
        struct tender_layer layer = {0};
        if (size >= TENDER_DELTA_HEADER_SIZE) {
                memcpy(source.bytes, data + 16, TENDER_SHA256_SIZE);
                memcpy(layer.diff_id.bytes, data + 48, TENDER_SHA256_SIZE);
                for (int i = 7; i >= 0; i--)
                        layer.uncompressed_size = layer.uncompressed_size << 8 | data[80 + i];
        }

        struct tender_error err = {0}, xerr = {0};
        int r = tender_delta_rebuild(delta_fd, old_fd, &source, &layer, sink_fd, &err);
        int x = tender_delta_apply(delta_fd, old_fd, &source, new_fd, &layer, &xerr);
        /* To see that the corpus's real deltas still rebuild: TENDER_FUZZ_VERBOSE=1. */
        if (getenv("TENDER_FUZZ_VERBOSE"))
                fprintf(stderr, "rebuild %d %s / extract %d %s\n", r, r < 0 ? err.message : "", x,
                        x < 0 ? xerr.message : "");
        empty_new();
        return 0;
}
