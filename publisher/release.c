/* SPDX-License-Identifier: Apache-2.0 */
/* tender-publish release: a signed release manifest and its blobs from an OCI image layout. */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "publish.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/log.h"
#include "tender/name.h"
#include "tender/sign.h"

struct release_opts {
        const char *layout, *ref, *key, *repo;
        bool have_counter;
        struct release_delta_opts deltas;
        /* Health settings the command line set: the image's Healthcheck does not override. */
        bool set_interval, set_timeout, set_start_period, set_retries;
        /* Deployment settings go straight into the manifest being built. */
        struct tender_release_manifest *m;
};

static int strv_push(char ***v, const char *s, size_t max, const char *opt,
                     struct tender_error *err) {
        size_t n = tender_strv_length(*v);
        if (n >= max)
                return tender_error_set(err, TENDER_ERR_CONFIG, E2BIG, "%s: at most %zu allowed",
                                        opt, max);
        char **nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        if (!(nv[n] = strdup(s)))
                return -ENOMEM;
        nv[n + 1] = NULL;
        return 0;
}

static int add_volume(struct tender_release_manifest *m, const char *spec,
                      struct tender_error *err) {
        const char *colon = strchr(spec, ':');
        if (!colon || colon == spec)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "--volume: \"%s\" is not NAME:/path", spec);
        if (m->n_volumes >= TENDER_MANIFEST_MAX_VOLUMES)
                return tender_error_set(err, TENDER_ERR_CONFIG, E2BIG,
                                        "--volume: at most %d allowed",
                                        TENDER_MANIFEST_MAX_VOLUMES);
        struct tender_volume *nv = realloc(m->volumes, (m->n_volumes + 1) * sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        m->volumes = nv;
        struct tender_volume *v = &nv[m->n_volumes];
        v->name = strndup(spec, (size_t) (colon - spec));
        v->path = strdup(colon + 1);
        m->n_volumes++; /* counted now so that tender_manifest_free releases both */
        return v->name && v->path ? 0 : -ENOMEM;
}

/* A default of the manifest's one table (tender/manifest.h) as help text: "10". */
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define DEFAULT(name) STRINGIFY(TENDER_##name##_DEFAULT)

static void release_usage(void) {
        puts("Usage: tender-publish release --layout DIR --ref TAG --app NAME --version VER\n"
             "         --counter N --repo OUT [--key PRIVATE.pem] [OPTIONS]\n"
             "  --key: also write the detached signature <version>.json.sig (tender-publish\n"
             "         verify); tenderd verifies releases through TUF (tuf-add) instead\n"
             "\n"
             "Deployment options:\n"
             "  --health-window SECONDS  must keep running this long to be committed (" DEFAULT(
                     HEALTH_WINDOW) ")\n"
                                    "  --health-start-period S  probe failures not counted before "
                                    "(0)\n"
                                    "  --health-interval S      between probes (" DEFAULT(
                                            HEALTH_INTERVAL) ")\n"
                                                             "  --health-timeout S       per probe "
                                                             "(" DEFAULT(
                                                                     HEALTH_TIMEOUT) ")\n"
                                                                                     "  "
                                                                                     "--health-"
                                                                                     "retries N    "
                                                                                     "   "
                                                                                     "consecutive "
                                                                                     "failed "
                                                                                     "probes that "
                                                                                     "fail the "
                                                                                     "gate "
                                                                                     "(" DEFAULT(
                                                                                             HEALTH_RETRIES) ")\n"
                                                                                                             "  --health-tcp PORT        probe: TCP connect inside the app's network\n"
                                                                                                             "  --health-http PORT[/PATH]  probe: HTTP GET inside the app's network\n"
                                                                                                             "  --health-exec ARG        probe: a command run in the container, exit 0 =\n"
                                                                                                             "                           healthy (repeatable, in order)\n"
                                                                                                             "  --health-notify          wait for READY=1 on $NOTIFY_SOCKET (sd_notify)\n"
                                                                                                             "  Without a probe option, the image's Healthcheck (Docker) is used if it has one.\n"
                                                                                                             "  --memory BYTES           memory limit (0 = none)\n"
                                                                                                             "  --pids N                 pids limit (0 = none)\n"
                                                                                                             "  --memory-reservation BYTES  soft memory limit\n"
                                                                                                             "  --memory-swap BYTES      memory plus swap limit (at least --memory)\n"
                                                                                                             "  --cpus N                 CPU bandwidth, e.g. 0.5\n"
                                                                                                             "  --cpu-weight N           CPU weight 1-10000 (cgroup v2 scale; 100 is the\n"
                                                                                                             "                           kernel's default)\n"
                                                                                                             "  --cpuset LIST            CPUs it may run on, e.g. 0-1\n"
                                                                                                             "  --io-weight N            I/O weight 10-1000 (needs BFQ on the device)\n"
                                                                                                             "  Privileges beyond the hardened default; a device runs them only when its\n"
                                                                                                             "  agent.json policy allows (docs/security.md):\n"
                                                                                                             "  --cap-add CAP            an extra capability, e.g. CAP_NET_ADMIN (repeatable)\n"
                                                                                                             "  --device PATH[:ACCESS]   a host device node, ACCESS of rwm (rw) (repeatable)\n"
                                                                                                             "  --seccomp default|unconfined|FILE  FILE: an OCI linux.seccomp profile\n"
                                                                                                             "  --volume NAME:/path      named persistent volume (repeatable)\n"
                                                                                                             "  --env KEY=VAL            appended to the image's env (repeatable)\n"
                                                                                                             "  --network none|host      (none)\n"
                                                                                                             "  --writable-rootfs        mount the root filesystem read-write\n"
                                                                                                             "  --stop-timeout SECONDS   SIGTERM to SIGKILL (" DEFAULT(
                                                                                                                     STOP_TIMEOUT) ")\n"
                                                                                                                                   "  --strategy stop-start|start-stop\n"
                                                                                                                                   "  --restart always|on-failure|no  restart policy of a stopped app (always)\n"
                                                                                                                                   "  --restart-max N          restarts in the window before \"crash-looping\" (0: no "
                                                                                                                                   "limit)\n"
                                                                                                                                   "  --restart-window SECONDS window of --restart-max (" DEFAULT(
                                                                                                                                           RESTART_WINDOW) ")\n"
                                                                                                                                                           "  --arg ARG                replaces entrypoint+cmd (repeatable, in order)\n"
                                                                                                                                                           "\n"
                                                                                                                                                           "Layer deltas (docs/delta-format.md):\n"
                                                                                                                                                           "  --deltas K               from the app's last K releases in the repo (2; 0: none)\n"
                                                                                                                                                           "  --delta-threshold PCT    keep a delta only up to PCT% of the layer blob (80)");
}

static int parse_restart_policy(const char *arg, enum tender_restart_policy *ret,
                                struct tender_error *err) {
        if (STREQ(arg, "always"))
                *ret = TENDER_RESTART_ALWAYS;
        else if (STREQ(arg, "on-failure"))
                *ret = TENDER_RESTART_ON_FAILURE;
        else if (STREQ(arg, "no"))
                *ret = TENDER_RESTART_NO;
        else
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "--restart: want always, on-failure or no, not \"%s\"",
                                        arg);
        return 0;
}

/* --health-tcp PORT, --health-http PORT[/PATH]; the manifest parser checks the values again. */
static int parse_health_probe(bool http, const char *arg, struct tender_release_manifest *m,
                              struct tender_error *err) {
        const char *opt = http ? "--health-http" : "--health-tcp";
        char *end = NULL;
        errno = 0;
        unsigned long port = strtoul(arg, &end, 10);
        if (errno || end == arg || port == 0 || port > 65535 || (*end && (!http || *end != '/')))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "%s: want PORT%s, got \"%s\"", opt, http ? "[/PATH]" : "",
                                        arg);
        m->health_probe = http ? TENDER_HEALTH_PROBE_HTTP : TENDER_HEALTH_PROBE_TCP;
        m->health_port = (uint16_t) port;
        free(m->health_http_path);
        m->health_http_path = NULL;
        if (http && !(m->health_http_path = strdup(*end ? end : "/")))
                return -ENOMEM;
        return 0;
}

static int probes_exclusive(struct tender_error *err) {
        return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                "--health-tcp, --health-http and --health-exec exclude each other");
}

/* Returns 1 after --help, 0 when the options are complete, <0 on errors. */
static int parse_options(int argc, char **argv, struct release_opts *o, struct tender_error *err) {
        enum {
                O_LAYOUT = 256,
                O_REF,
                O_APP,
                O_VERSION,
                O_COUNTER,
                O_KEY,
                O_REPO,
                O_HEALTH,
                O_MEMORY,
                O_PIDS,
                O_VOLUME,
                O_ENV,
                O_NETWORK,
                O_WRITABLE,
                O_STOP,
                O_ARG,
                O_STRATEGY,
                O_HSTART,
                O_HINTERVAL,
                O_HTIMEOUT,
                O_HRETRIES,
                O_HTCP,
                O_HHTTP,
                O_DELTAS,
                O_DTHRESHOLD,
                O_HEXEC,
                O_HNOTIFY,
                O_RESTART,
                O_RESTART_MAX,
                O_RESTART_WINDOW,
                O_PRIVILEGE, /* release_privileges.c: the option's name tells which */
        };
        static const struct option options[] = {
                {"layout", required_argument, NULL, O_LAYOUT},
                {"ref", required_argument, NULL, O_REF},
                {"app", required_argument, NULL, O_APP},
                {"version", required_argument, NULL, O_VERSION},
                {"counter", required_argument, NULL, O_COUNTER},
                {"key", required_argument, NULL, O_KEY},
                {"repo", required_argument, NULL, O_REPO},
                {"health-window", required_argument, NULL, O_HEALTH},
                {"memory", required_argument, NULL, O_MEMORY},
                {"pids", required_argument, NULL, O_PIDS},
                {"volume", required_argument, NULL, O_VOLUME},
                {"env", required_argument, NULL, O_ENV},
                {"network", required_argument, NULL, O_NETWORK},
                {"writable-rootfs", no_argument, NULL, O_WRITABLE},
                {"stop-timeout", required_argument, NULL, O_STOP},
                {"strategy", required_argument, NULL, O_STRATEGY},
                {"restart", required_argument, NULL, O_RESTART},
                {"restart-max", required_argument, NULL, O_RESTART_MAX},
                {"restart-window", required_argument, NULL, O_RESTART_WINDOW},
                {"arg", required_argument, NULL, O_ARG},
                {"health-start-period", required_argument, NULL, O_HSTART},
                {"health-interval", required_argument, NULL, O_HINTERVAL},
                {"health-timeout", required_argument, NULL, O_HTIMEOUT},
                {"health-retries", required_argument, NULL, O_HRETRIES},
                {"health-tcp", required_argument, NULL, O_HTCP},
                {"health-http", required_argument, NULL, O_HHTTP},
                {"deltas", required_argument, NULL, O_DELTAS},
                {"delta-threshold", required_argument, NULL, O_DTHRESHOLD},
                {"health-exec", required_argument, NULL, O_HEXEC},
                {"health-notify", no_argument, NULL, O_HNOTIFY},
                {"cpus", required_argument, NULL, O_PRIVILEGE},
                {"cpu-weight", required_argument, NULL, O_PRIVILEGE},
                {"cpuset", required_argument, NULL, O_PRIVILEGE},
                {"memory-reservation", required_argument, NULL, O_PRIVILEGE},
                {"memory-swap", required_argument, NULL, O_PRIVILEGE},
                {"io-weight", required_argument, NULL, O_PRIVILEGE},
                {"cap-add", required_argument, NULL, O_PRIVILEGE},
                {"device", required_argument, NULL, O_PRIVILEGE},
                {"seccomp", required_argument, NULL, O_PRIVILEGE},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct tender_release_manifest *m = o->m;
        int c, r = 0, index = 0;
        while (r >= 0 && (c = getopt_long(argc, argv, "h", options, &index)) >= 0) {
                switch (c) {
                case O_PRIVILEGE:
                        r = release_privilege_option(options[index].name, optarg, m, err);
                        break;
                case O_LAYOUT:
                        o->layout = optarg;
                        break;
                case O_REF:
                        o->ref = optarg;
                        break;
                case O_APP:
                        free(m->app);
                        r = (m->app = strdup(optarg)) ? 0 : -ENOMEM;
                        break;
                case O_VERSION:
                        free(m->version);
                        r = (m->version = strdup(optarg)) ? 0 : -ENOMEM;
                        break;
                case O_COUNTER:
                        r = parse_u64_option("--counter", optarg, &m->release_counter, err);
                        o->have_counter = true;
                        break;
                case O_KEY:
                        o->key = optarg;
                        break;
                case O_REPO:
                        o->repo = optarg;
                        break;
                case O_HEALTH:
                        r = parse_u64_option("--health-window", optarg, &m->health_window_sec, err);
                        break;
                case O_HSTART:
                        r = parse_u64_option("--health-start-period", optarg,
                                             &m->health_start_period_sec, err);
                        o->set_start_period = true;
                        break;
                case O_HINTERVAL:
                        r = parse_u64_option("--health-interval", optarg, &m->health_interval_sec,
                                             err);
                        o->set_interval = true;
                        break;
                case O_HTIMEOUT:
                        r = parse_u64_option("--health-timeout", optarg, &m->health_timeout_sec,
                                             err);
                        o->set_timeout = true;
                        break;
                case O_HRETRIES:
                        r = parse_u64_option("--health-retries", optarg, &m->health_retries, err);
                        o->set_retries = true;
                        break;
                case O_HTCP:
                case O_HHTTP:
                        r = m->health_exec ? probes_exclusive(err)
                                           : parse_health_probe(c == O_HHTTP, optarg, m, err);
                        break;
                case O_HEXEC:
                        r = m->health_probe == TENDER_HEALTH_PROBE_TCP ||
                                            m->health_probe == TENDER_HEALTH_PROBE_HTTP
                                    ? probes_exclusive(err)
                                    : strv_push(&m->health_exec, optarg,
                                                TENDER_HEALTH_EXEC_ARGS_MAX, "--health-exec", err);
                        m->health_probe = TENDER_HEALTH_PROBE_EXEC;
                        break;
                case O_HNOTIFY:
                        m->health_notify = true;
                        break;
                case O_DELTAS:
                        r = parse_u64_option("--deltas", optarg, &o->deltas.k, err);
                        if (r >= 0 && o->deltas.k > RELEASE_DELTAS_MAX)
                                r = tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                                     "--deltas: at most %d", RELEASE_DELTAS_MAX);
                        break;
                case O_DTHRESHOLD:
                        r = parse_u64_option("--delta-threshold", optarg, &o->deltas.threshold,
                                             err);
                        if (r >= 0 && o->deltas.threshold > 100)
                                r = tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                                     "--delta-threshold: a percentage, 0 to 100");
                        break;
                case O_MEMORY:
                        r = parse_u64_option("--memory", optarg, &m->resources.memory, err);
                        break;
                case O_PIDS:
                        r = parse_u64_option("--pids", optarg, &m->resources.pids, err);
                        break;
                case O_STOP:
                        r = parse_u64_option("--stop-timeout", optarg, &m->stop_timeout_sec, err);
                        break;
                case O_VOLUME:
                        r = add_volume(m, optarg, err);
                        break;
                case O_ENV:
                        r = strv_push(&m->extra_env, optarg, TENDER_MANIFEST_MAX_STRV, "--env",
                                      err);
                        break;
                case O_ARG:
                        r = strv_push(&m->args, optarg, TENDER_MANIFEST_MAX_STRV, "--arg", err);
                        break;
                case O_NETWORK:
                        if (STREQ(optarg, "none") || STREQ(optarg, "host"))
                                m->network = STREQ(optarg, "host") ? TENDER_NETWORK_HOST
                                                                   : TENDER_NETWORK_NONE;
                        else
                                r = tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                                     "--network: want none or host, not \"%s\"",
                                                     optarg);
                        break;
                case O_STRATEGY:
                        if (STREQ(optarg, "stop-start") || STREQ(optarg, "start-stop"))
                                m->strategy = STREQ(optarg, "start-stop") ? TENDER_SWAP_START_STOP
                                                                          : TENDER_SWAP_STOP_START;
                        else
                                r = tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                                     "--strategy: want stop-start or "
                                                     "start-stop, not \"%s\"",
                                                     optarg);
                        break;
                case O_RESTART:
                        r = parse_restart_policy(optarg, &m->restart_policy, err);
                        break;
                case O_RESTART_MAX:
                        r = parse_u64_option("--restart-max", optarg, &m->restart_max, err);
                        break;
                case O_RESTART_WINDOW:
                        r = parse_u64_option("--restart-window", optarg, &m->restart_window_sec,
                                             err);
                        break;
                case O_WRITABLE:
                        m->readonly_rootfs = false;
                        break;
                case 'h':
                        release_usage();
                        return 1;
                default:
                        return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                                "Invalid command line (see --help)");
                }
        }
        if (r == -ENOMEM)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        if (r < 0)
                return r;
        if (optind != argc)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "Unexpected argument \"%s\"", argv[optind]);
        if (!o->layout || !o->ref || !m->app || !m->version || !o->have_counter || !o->repo)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "release needs --layout, --ref, --app, --version, "
                                        "--counter and --repo");
        /* Before any blob is read: the names become paths in the repository. */
        if (!tender_name_valid(m->app) || !tender_name_valid(m->version))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "--app and --version: invalid name \"%s\" (want "
                                        "[A-Za-z0-9][A-Za-z0-9._-]*, at most %d bytes)",
                                        tender_name_valid(m->app) ? m->version : m->app,
                                        TENDER_NAME_MAX);
        return 0;
}

/* Reads every layer blob once: its digest and size must match the image manifest's descriptor
 * and its decompressed digest the config's diff_id, or the image is inconsistent. */
static int scan_layers(int layout_fd, const struct tender_oci_image *img,
                       struct tender_release_manifest *m, struct tender_error *err) {
        char a[TENDER_DIGEST_STRING_MAX], b[TENDER_DIGEST_STRING_MAX], c[TENDER_DIGEST_STRING_MAX];
        m->layers = calloc(img->n_layers + 1, sizeof(*m->layers));
        if (!m->layers)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        for (size_t i = 0; i < img->n_layers; i++) {
                const struct tender_oci_layer *l = &img->layers[i];
                tender_digest_format(&l->digest, a);
                _cleanup_close_ int fd = tender_oci_blob_open(layout_fd, &l->digest, err);
                if (fd < 0)
                        return fd;
                struct tender_oci_layer_scan s;
                int r = tender_oci_layer_scan(fd, l->media_type, &s, err);
                if (r < 0)
                        return tender_error_prefix(err, "Layer %zu (%s)", i, a);
                if (s.size != l->size || !tender_digest_equal(&s.digest, &l->digest))
                        return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                                "Layer %zu: blob %s has digest %s and %" PRIu64
                                                " bytes, its descriptor says %" PRIu64,
                                                i, a, tender_digest_format(&s.digest, b), s.size,
                                                l->size);
                if (!tender_digest_equal(&s.diff_id, &img->diff_ids[i]))
                        return tender_error_set(err, TENDER_ERR_VERIFY, EBADMSG,
                                                "Layer %zu (%s) decompresses to diff_id %s, but "
                                                "the config's rootfs.diff_ids[%zu] is %s",
                                                i, a, tender_digest_format(&s.diff_id, b), i,
                                                tender_digest_format(&img->diff_ids[i], c));
                struct tender_layer *out = &m->layers[m->n_layers++];
                out->media_type = strdup(l->media_type);
                if (!out->media_type)
                        return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
                out->digest = l->digest;
                out->size = l->size;
                out->diff_id = s.diff_id;
                out->uncompressed_size = s.uncompressed_size;
        }
        return 0;
}

/* Docker durations are nanoseconds; the manifest counts whole seconds, rounded up. 0 (unset)
 * keeps tender's default rather than Docker's 30 s, which would not fit a 10 s window. */
static void healthcheck_seconds(uint64_t ns, bool set, uint64_t *sec) {
        if (set || ns == 0)
                return;
        uint64_t s = ns / 1000000000ULL + (ns % 1000000000ULL != 0);
        *sec = s > TENDER_HEALTH_SECONDS_MAX ? TENDER_HEALTH_SECONDS_MAX : s;
}

/* The image's Healthcheck becomes the release's probe when the release sets none:
 * ["CMD", args...] runs args, ["CMD-SHELL", cmd] runs /bin/sh -c cmd, ["NONE"] disables it. */
static int apply_image_healthcheck(const struct release_opts *o, const struct tender_oci_image *img,
                                   struct tender_error *err) {
        struct tender_release_manifest *m = o->m;
        char **t = img->healthcheck_test;
        if (m->health_probe != TENDER_HEALTH_PROBE_NONE || !t || !t[0] || STREQ(t[0], "NONE"))
                return 0;
        size_t n = tender_strv_length(t);
        char **cmd = NULL;
        if (STREQ(t[0], "CMD") && n >= 2 && n - 1 <= TENDER_HEALTH_EXEC_ARGS_MAX) {
                cmd = calloc(n, sizeof(char *));
                for (size_t i = 1; cmd && i < n; i++)
                        if (!(cmd[i - 1] = strdup(t[i])))
                                return tender_strv_free(cmd), -ENOMEM;
        } else if (STREQ(t[0], "CMD-SHELL") && n == 2) {
                cmd = calloc(4, sizeof(char *));
                if (cmd && (!(cmd[0] = strdup("/bin/sh")) || !(cmd[1] = strdup("-c")) ||
                            !(cmd[2] = strdup(t[1]))))
                        return tender_strv_free(cmd), -ENOMEM;
        } else
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "image config: Healthcheck.Test [\"%s\", ...] (%zu "
                                        "entries) is not NONE, CMD or CMD-SHELL",
                                        t[0], n);
        if (!cmd)
                return -ENOMEM;
        m->health_exec = cmd;
        m->health_probe = TENDER_HEALTH_PROBE_EXEC;
        healthcheck_seconds(img->healthcheck_interval_ns, o->set_interval, &m->health_interval_sec);
        healthcheck_seconds(img->healthcheck_timeout_ns, o->set_timeout, &m->health_timeout_sec);
        healthcheck_seconds(img->healthcheck_start_period_ns, o->set_start_period,
                            &m->health_start_period_sec);
        if (!o->set_retries && img->healthcheck_retries)
                m->health_retries = img->healthcheck_retries;
        log_info("Health probe from the image's Healthcheck: %s %s", t[0], t[1]);
        return 0;
}

/* The manifest as it will be published, checked by the same parser the device runs. */
static int build_manifest(const struct release_opts *o, struct tender_oci_image *img,
                          char **ret_json, struct tender_error *err) {
        struct tender_release_manifest *m = o->m;
        m->schema_version = 1;
        m->image_digest = img->manifest_digest;
        m->entrypoint = TAKE_PTR(img->entrypoint);
        m->cmd = TAKE_PTR(img->cmd);
        m->env = TAKE_PTR(img->env);
        m->user = TAKE_PTR(img->user);
        m->working_dir = TAKE_PTR(img->working_dir);
        int r = apply_image_healthcheck(o, img, err);
        if (r == -ENOMEM)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        if (r < 0)
                return r;
        _cleanup_free_ char *json = NULL;
        if (tender_manifest_to_json(m, &json) < 0)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "Out of memory");
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *check = NULL;
        r = tender_manifest_parse(json, strlen(json), &check, err);
        if (r < 0)
                return tender_error_prefix(err, "The release would be invalid");
        *ret_json = TAKE_PTR(json);
        return 0;
}

/* 1: an identical release keeps its signature (ECDSA would make a new one each time). */
static int write_signature(const struct release_opts *o, int dfd, const char *name,
                           const char *json, int existing, struct tender_error *err) {
        if (existing == 1 && faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return 1;
        _cleanup_free_ char *sig = NULL;
        int r = tender_sign(o->key, json, strlen(json), &sig, err);
        if (r < 0)
                return r;
        /* Signature before manifest: a reader never finds a new manifest without one. */
        r = tender_write_file_atomic_at(dfd, name, sig, strlen(sig), 0644);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "Failed to write");
        return 0;
}

static int write_release(const struct release_opts *o, int repo, const char *json, int existing,
                         struct tender_error *err) {
        const struct tender_release_manifest *m = o->m;
        char dir[TENDER_NAME_MAX + 8], name[TENDER_NAME_MAX + 16];
        snprintf(dir, sizeof(dir), "apps/%s", m->app);
        int r = tender_mkdir_p_at(repo, dir, 0755);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "Failed to create %s",
                                              dir);
        _cleanup_close_ int dfd = openat(repo, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "Failed to open %s",
                                              dir);
        snprintf(name, sizeof(name), "%s.json.sig", m->version);
        /* Without --key the release is for a TUF repository (tuf-add signs it there). */
        r = 0;
        if (o->key)
                r = write_signature(o, dfd, name, json, existing, err);
        if (r == 1) /* identical release: manifest and signature stay as they are */
                return 0;
        if (r < 0)
                return tender_error_prefix(err, "%s/%s", dir, name);
        snprintf(name, sizeof(name), "%s.json", m->version);
        r = tender_write_file_atomic_at(dfd, name, json, strlen(json), 0644);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "Failed to write %s/%s",
                                              dir, name);
        return 0;
}

/* Delta blobs not put into the repository go when do_release returns. */
struct deltas_guard {
        int repo_fd;
        struct release_deltas d;
};

static void deltas_donep(struct deltas_guard *g) {
        release_deltas_done(g->repo_fd, &g->d);
}

static int do_release(const struct release_opts *o, struct tender_error *err) {
        struct tender_release_manifest *m = o->m;
        _cleanup_close_ int layout = open(o->layout, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (layout < 0)
                return tender_error_set_errno(err, TENDER_ERR_CONFIG, errno,
                                              "Failed to open layout %s", o->layout);
        _cleanup_(tender_oci_image_freep) struct tender_oci_image *img = NULL;
        int r = tender_oci_image_load(layout, o->ref, &img, err);
        if (r < 0)
                return tender_error_prefix(err, "%s:%s", o->layout, o->ref);
        if (img->n_layers == 0)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "%s:%s has no layers",
                                        o->layout, o->ref);
        r = scan_layers(layout, img, m, err);
        if (r < 0)
                return r;
        _cleanup_close_ int repo = -1;
        r = repo_open(o->repo, true, &repo, err);
        if (r < 0)
                return r;
        _cleanup_(deltas_donep) struct deltas_guard deltas = {.repo_fd = repo};
        r = release_deltas_make(&o->deltas, repo, layout, img, m, &deltas.d, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *json = NULL;
        r = build_manifest(o, img, &json, err);
        if (r < 0)
                return r;

        int existing = repo_check_versions(repo, m->app, m->version, m->release_counter, json, err);
        if (existing < 0)
                return existing;
        for (size_t i = 0; i < img->n_layers; i++) {
                r = repo_put_blob(repo, layout, &img->layers[i], err);
                if (r < 0)
                        return r;
        }
        r = release_deltas_put(repo, &deltas.d, err);
        if (r < 0)
                return r;
        r = write_release(o, repo, json, existing, err);
        if (r < 0)
                return r;

        struct tender_digest d;
        char ds[TENDER_DIGEST_STRING_MAX];
        tender_sha256_buffer(json, strlen(json), &d);
        if (existing == 1)
                log_info("%s %s was already published with this manifest", m->app, m->version);
        printf("manifest: %s/apps/%s/%s.json\ndigest: %s\n", o->repo, m->app, m->version,
               tender_digest_format(&d, ds));
        release_print_requests(stdout, m);
        return 0;
}

int cmd_release(int argc, char **argv) {
        _cleanup_(tender_manifest_freep) struct tender_release_manifest *m = calloc(1, sizeof(*m));
        if (!m)
                return 1;
        tender_manifest_set_defaults(m);
        struct release_opts o = {
                .m = m,
                .deltas = {.k = RELEASE_DELTAS_DEFAULT, .threshold = DELTA_THRESHOLD_DEFAULT},
        };
        struct tender_error err = {0};
        int r = parse_options(argc, argv, &o, &err);
        if (r == 1)
                return 0;
        if (r < 0) {
                log_error("%s", err.message);
                return 2;
        }
        if (do_release(&o, &err) < 0) {
                log_error("%s", err.message);
                return 1;
        }
        return 0;
}
