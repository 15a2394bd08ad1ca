/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tender-publish delta: layer deltas (docs/delta-format.md).
 *
 *   delta make --from OLD --to NEW --out FILE       one delta between two layer blobs or tars
 *   delta make --from-layout DIR [--from-ref TAG] --to-layout DIR [--to-ref TAG] --out-dir DIR
 *                                                   one per changed layer (paired by position)
 *   delta apply --delta FILE --old DIR (--out TAR | --extract DIR)
 *
 * A delta is kept only when it is worth it: at most --threshold percent (default 80) of the
 * new layer's compressed blob; otherwise make says so and exits 3 (the full layer is sent).
 */
#include <archive.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "publish.h"
#include "tender/delta.h"
#include "tender/log.h"
#include "tender/oci_layout.h"

#define DEFAULT_THRESHOLD DELTA_THRESHOLD_DEFAULT
#define NOT_WORTH_IT 3

struct make_opts {
        const char *from, *to, *out;
        const char *from_layout, *from_ref, *to_layout, *to_ref, *out_dir;
        struct tender_delta_make_options d;
        uint64_t threshold, full_size;
        bool force;
};

static bool is_plain_tar(int fd) {
        char magic[6];
        return pread(fd, magic, sizeof(magic), 257) == (ssize_t) sizeof(magic) &&
               memcmp(magic, "ustar", 5) == 0;
}

/* A plain tar as it is; a compressed blob decompressed into an unnamed temporary file. */
static int open_tar(int blob_fd, bool *ret_compressed, int *ret_fd, struct tender_error *err) {
        if (is_plain_tar(blob_fd)) {
                *ret_compressed = false;
                *ret_fd = dup(blob_fd);
                return *ret_fd < 0 ? -errno : 0;
        }
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
        _cleanup_close_ int out = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (out < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "temporary file");
        struct archive *a = archive_read_new();
        if (!a)
                return -ENOMEM;
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_xz(a);
        archive_read_support_format_raw(a);
        struct archive_entry *e;
        int r = 0;
        if (lseek(blob_fd, 0, SEEK_SET) < 0 ||
            archive_read_open_fd(a, blob_fd, 64 * 1024) != ARCHIVE_OK ||
            archive_read_next_header(a, &e) != ARCHIVE_OK ||
            archive_read_data_into_fd(a, out) != ARCHIVE_OK)
                r = tender_error_set(err, TENDER_ERR_EXTRACT, EBADMSG, "decompress layer: %s",
                                     archive_error_string(a) ? archive_error_string(a) : "error");
        archive_read_free(a);
        if (r < 0)
                return r;
        *ret_compressed = true;
        *ret_fd = TAKE_FD(out);
        return 0;
}

static double now(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

/* Makes out from two blobs; returns 0, or NOT_WORTH_IT (and no file) over the threshold. */
static int make_one(const struct make_opts *o, int old_blob, int new_blob, int out_dirfd,
                    const char *out, struct tender_error *err) {
        _cleanup_close_ int old_tar = -1, new_tar = -1, fd = -1;
        bool old_z, new_z;
        struct stat st;
        struct tender_delta_stats s;
        _cleanup_free_ char *tmp = NULL;
        double t0 = now();
        int r = open_tar(old_blob, &old_z, &old_tar, err);
        if (r >= 0)
                r = open_tar(new_blob, &new_z, &new_tar, err);
        if (r < 0)
                return r;
        uint64_t full = o->full_size;
        if (!full && new_z && fstat(new_blob, &st) == 0)
                full = (uint64_t) st.st_size;
        if (asprintf(&tmp, "%s.tmp", out) < 0)
                return -ENOMEM;
        fd = openat(out_dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "create %s", tmp);
        r = tender_delta_make(old_tar, new_tar, fd, &o->d, &s, err);
        if (r >= 0 && fsync(fd) < 0)
                r = tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "write %s", tmp);
        if (r < 0) {
                unlinkat(out_dirfd, tmp, 0);
                return r;
        }
        fprintf(stderr,
                "%s: %" PRIu64 " bytes in %.2f s; %" PRIu64 " files: %" PRIu64 " same, %" PRIu64
                " moved, %" PRIu64 " patched, %" PRIu64 " literal\n",
                out, s.delta_size, now() - t0, s.files, s.copied, s.renamed, s.patched, s.literal);
        if (!o->force && full && s.delta_size * 100 > full * o->threshold) {
                unlinkat(out_dirfd, tmp, 0);
                fprintf(stderr,
                        "%s: not worth it: %" PRIu64 " bytes > %" PRIu64 "%% of %" PRIu64
                        " (full layer)\n",
                        out, s.delta_size, o->threshold, full);
                return NOT_WORTH_IT;
        }
        if (renameat(out_dirfd, tmp, out_dirfd, out) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "rename %s", tmp);
        return 0;
}

static int make_files(const struct make_opts *o, struct tender_error *err) {
        _cleanup_close_ int old = open(o->from, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int new = open(o->to, O_RDONLY | O_CLOEXEC);
        if (old < 0 || new < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open %s",
                                              old < 0 ? o->from : o->to);
        return make_one(o, old, new, AT_FDCWD, o->out, err);
}

/* Layers paired by position; a layer whose diff_id the old image has as well needs nothing.
 * Prints one line per delta: "<from diff_id> <to diff_id> <file>". */
static int make_layouts(const struct make_opts *o, struct tender_error *err) {
        _cleanup_close_ int fl = open(o->from_layout, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int tl = open(o->to_layout, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int od = -1;
        _cleanup_(tender_oci_image_freep) struct tender_oci_image *fi = NULL, *ti = NULL;
        int r, worth = 0;

        if (fl < 0 || tl < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open %s",
                                              fl < 0 ? o->from_layout : o->to_layout);
        if (mkdir(o->out_dir, 0755) < 0 && errno != EEXIST)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "mkdir %s",
                                              o->out_dir);
        od = open(o->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (od < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "open %s", o->out_dir);
        r = tender_oci_image_load(fl, o->from_ref, &fi, err);
        if (r >= 0)
                r = tender_oci_image_load(tl, o->to_ref, &ti, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ti->n_layers && i < ti->n_diff_ids; i++) {
                char from[TENDER_DIGEST_STRING_MAX], to[TENDER_DIGEST_STRING_MAX], hex[65];
                char name[128];
                if (i >= fi->n_layers || i >= fi->n_diff_ids ||
                    tender_digest_equal(&fi->diff_ids[i], &ti->diff_ids[i]))
                        continue;
                _cleanup_close_ int ob = tender_oci_blob_open(fl, &fi->layers[i].digest, err);
                if (ob < 0)
                        return ob;
                _cleanup_close_ int nb = tender_oci_blob_open(tl, &ti->layers[i].digest, err);
                if (nb < 0)
                        return nb;
                tender_digest_format(&fi->diff_ids[i], from);
                tender_digest_format(&ti->diff_ids[i], to);
                snprintf(name, sizeof(name), "%.16s-%.16s.tdelta", from + 7,
                         tender_digest_hex(&ti->diff_ids[i], hex));
                r = make_one(o, ob, nb, od, name, err);
                if (r < 0)
                        return r;
                if (r == 0) {
                        printf("%s %s %s/%s\n", from, to, o->out_dir, name);
                        worth++;
                }
        }
        return worth;
}

static int cmd_delta_make(int argc, char **argv) {
        static const struct option options[] = {
                {"from", required_argument, NULL, 'f'},
                {"to", required_argument, NULL, 't'},
                {"out", required_argument, NULL, 'o'},
                {"from-layout", required_argument, NULL, 'F'},
                {"from-ref", required_argument, NULL, 'R'},
                {"to-layout", required_argument, NULL, 'T'},
                {"to-ref", required_argument, NULL, 'S'},
                {"out-dir", required_argument, NULL, 'O'},
                {"level", required_argument, NULL, 'l'},
                {"threshold", required_argument, NULL, 'p'},
                {"full-size", required_argument, NULL, 's'},
                {"force", no_argument, NULL, 'x'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct make_opts o = {.threshold = DEFAULT_THRESHOLD};
        struct tender_error err = {0};
        uint64_t level = 0;
        int c, r = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        o.from = optarg;
                        break;
                case 't':
                        o.to = optarg;
                        break;
                case 'o':
                        o.out = optarg;
                        break;
                case 'F':
                        o.from_layout = optarg;
                        break;
                case 'R':
                        o.from_ref = optarg;
                        break;
                case 'T':
                        o.to_layout = optarg;
                        break;
                case 'S':
                        o.to_ref = optarg;
                        break;
                case 'O':
                        o.out_dir = optarg;
                        break;
                case 'l':
                        r = parse_u64_option("--level", optarg, &level, &err);
                        break;
                case 'p':
                        r = parse_u64_option("--threshold", optarg, &o.threshold, &err);
                        break;
                case 's':
                        r = parse_u64_option("--full-size", optarg, &o.full_size, &err);
                        break;
                case 'x':
                        o.force = true;
                        break;
                case 'h':
                        puts("Usage: tender-publish delta make --from OLD --to NEW --out FILE\n"
                             "       tender-publish delta make --from-layout DIR [--from-ref TAG]\n"
                             "              --to-layout DIR [--to-ref TAG] --out-dir DIR\n"
                             "Options: --level N (zstd, default 19), --threshold PCT (default "
                             "80), --full-size BYTES, --force\n"
                             "OLD and NEW are layer blobs (tar, tar+gzip, tar+zstd). Exits 3 when "
                             "no delta is worth it.");
                        return 0;
                default:
                        return 2;
                }
                if (r < 0) {
                        log_error("%s", err.message);
                        return 2;
                }
        }
        o.d.level = level > 22 ? 22 : (int) level;
        bool files = o.from && o.to && o.out, layouts = o.from_layout && o.to_layout && o.out_dir;
        if (files == layouts || optind != argc) {
                log_error("delta make needs --from, --to and --out, or --from-layout, "
                          "--to-layout and --out-dir");
                return 2;
        }
        r = files ? make_files(&o, &err) : make_layouts(&o, &err);
        if (r < 0) {
                log_error("%s", err.message);
                return 1;
        }
        return (files && r == NOT_WORTH_IT) || (layouts && r == 0) ? NOT_WORTH_IT : 0;
}

static int cmd_delta_apply(int argc, char **argv) {
        static const struct option options[] = {
                {"delta", required_argument, NULL, 'd'}, {"old", required_argument, NULL, 'o'},
                {"out", required_argument, NULL, 'w'},   {"extract", required_argument, NULL, 'x'},
                {"help", no_argument, NULL, 'h'},        {},
        };
        const char *delta = NULL, *old = NULL, *out = NULL, *extract = NULL;
        struct tender_error err = {0};
        struct tender_delta_header h;
        int c, r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'd':
                        delta = optarg;
                        break;
                case 'o':
                        old = optarg;
                        break;
                case 'w':
                        out = optarg;
                        break;
                case 'x':
                        extract = optarg;
                        break;
                case 'h':
                        puts("Usage: tender-publish delta apply --delta FILE --old DIR "
                             "(--out TAR | --extract DIR)\n"
                             "Rebuilds the new layer from the old layer's extracted files and "
                             "checks it against the delta's target diff_id.");
                        return 0;
                default:
                        return 2;
                }
        }
        if (!delta || !old || !out == !extract || optind != argc) {
                log_error("delta apply needs --delta, --old and one of --out or --extract");
                return 2;
        }
        _cleanup_close_ int dfd = open(delta, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int ofd = open(old, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int wfd = -1;
        if (dfd < 0 || ofd < 0) {
                log_error("open %s: %m", dfd < 0 ? delta : old);
                return 1;
        }
        r = tender_delta_read_header(dfd, &h, &err);
        if (r >= 0) {
                /* A tool: the header's own target is the reference (a device takes it from
                 * the signed release manifest instead). */
                struct tender_layer l = {.diff_id = h.target, .uncompressed_size = h.target_size};
                if (out)
                        wfd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                else
                        wfd = open(extract, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (wfd < 0)
                        r = tender_error_set_errno(&err, TENDER_ERR_SYSTEM, errno, "open %s",
                                                   out ? out : extract);
                else if (out)
                        r = tender_delta_rebuild(dfd, ofd, &h.source, &l, wfd, &err);
                else
                        r = tender_delta_apply(dfd, ofd, &h.source, wfd, &l, &err);
        }
        if (r < 0) {
                log_error("%s", err.message);
                return 1;
        }
        return 0;
}

int cmd_delta(int argc, char **argv) {
        if (argc >= 2 && STREQ(argv[1], "make"))
                return cmd_delta_make(argc - 1, argv + 1);
        if (argc >= 2 && STREQ(argv[1], "apply"))
                return cmd_delta_apply(argc - 1, argv + 1);
        fputs("Usage: tender-publish delta make|apply [OPTIONS] (--help for each)\n",
              argc >= 2 && STREQ(argv[1], "--help") ? stdout : stderr);
        return argc >= 2 && STREQ(argv[1], "--help") ? 0 : 2;
}

int delta_open_tar(int blob_fd, bool *ret_compressed, int *ret_fd, struct tender_error *err) {
        return open_tar(blob_fd, ret_compressed, ret_fd, err);
}
