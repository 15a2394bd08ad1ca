/* SPDX-License-Identifier: Apache-2.0 */
/* tenderd: polls the update server and applies what it offers (docs/agent.md). */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "cancel.h"
#include "control.h"
#include "gate.h"
#include "monitor.h"
#include "mqtt.h"
#include "notify.h"
#include "report.h"
#include "status.h"
#include "store_wait.h"
#include "tender/config.h"
#include "tender/log.h"
#include "trust.h"
#include "update.h"
#include "userns.h"

#define MALLOC_MMAP_THRESHOLD (64 * 1024)
#define MALLOC_TRIM_THRESHOLD (64 * 1024)

static void usage(FILE *f) {
        fprintf(f,
                "Usage: tenderd [--config FILE] [--once] [--log-level LEVEL]\n"
                "  -c, --config FILE      configuration (default " TENDER_CONFIG_PATH_DEFAULT ")\n"
                "      --once             poll once, handle any deployment, exit\n"
                "      --log-level LEVEL  error, warning, notice, info or debug\n"
                "      --version          print the version and exit\n");
}

/* One poll; returns the next interval, or a negative errno when the poll itself failed or its
 * deployment could not be used (or reported). A failed poll answered with Retry-After (a 503
 * of a server in maintenance, a 429) sets *retry_after to it: the next poll waits at least that
 * long, so a fleet does not hammer a server that said when to come back. */
static int poll_once(struct agent *a, uint64_t *interval, uint64_t *retry_after) {
        _cleanup_(tender_ddi_poll_freep) struct tender_ddi_poll *p = NULL;
        struct tender_error err = {0};
        *retry_after = 0;
        int r = ddi_poll(&a->ddi, &p, &err);
        if (r < 0) {
                /* Nothing new from the server: a deferred swap still waits, for the same reason,
                 * and status still says so. */
                *retry_after = tender_http_last_retry_after_ms(a->ddi.http) / 1000;
                if (r == -ECANCELED)
                        log_info("Poll of %s stopped: tenderd is stopping", a->ddi.controller_url);
                else if (*retry_after > *interval)
                        log_error("Poll of %s failed: %s; the server asks to retry after %llu s",
                                  a->ddi.controller_url, err.message,
                                  (unsigned long long) *retry_after);
                else
                        log_error("Poll of %s failed: %s", a->ddi.controller_url, err.message);
                return r;
        }
        gate_poll_begins(); /* a deferred swap is seen again by this poll if it still waits */
        if (p->sleep_sec)
                *interval = p->sleep_sec;
        /* First: a cancel must be seen before the journal of its action is touched. */
        if (p->cancel_action)
                cancel_handle(a, p->cancel_action);
        if (p->installed_base && !p->deployment_base)
                ddi_check_installed(&a->ddi, p->installed_base, a->store);
        if (p->config_data) /* sent by the report path's DDI sink (status_refresh) */
                report_attributes_requested(p->config_data);
        agent_report_pending(a);
        if (!p->deployment_base)
                agent_forget_stale(a, NULL);
        if (p->deployment_base) {
                r = update_handle(a, p->deployment_base);
                return r < 0 ? r : 0;
        }
        return 0;
}

static uint64_t monotonic_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec;
}

/* Between polls: serves tenderctl's rollbacks until the interval ends, a "check" asks for a
 * poll now, a deferred swap's gate opens (gate.c), or a signal asks to stop. */
static void wait_next_poll(struct agent *a, uint64_t interval) {
        uint64_t deadline = monotonic_sec() + interval;
        /* Idle from here: what the update or the poll freed goes back to the kernel, once. */
        malloc_trim(0);
        for (;;) {
                control_run_queued(a);
                mqtt_run_commands(a);
                if (control_take_check()) {
                        log_info("Polling now, as tenderctl asked");
                        return;
                }
                /* Cheap (lock files, the clock): done at every wake-up, a lock request too. */
                if (gate_recheck(a))
                        return;
                uint64_t now = monotonic_sec();
                if (now >= deadline)
                        return;
                /* Restarts come due between polls too (restart policy, docs/agent.md). */
                uint64_t due = agent_supervise_due_sec();
                if (due == 0) {
                        agent_supervise(a);
                        status_refresh(a, false); /* a health change goes out now */
                        continue;
                }
                uint64_t left = deadline - now, gate = gate_due_sec();
                if (due < left)
                        left = due;
                if (gate < left)
                        left = gate;
                if (control_wait(left))
                        return;
        }
}

/* For the start-up line: which root the device trusts now (rotations move it on). */
static uint64_t trusted_root_version(struct agent *a) {
        _cleanup_(tender_tuf_freep) struct tender_tuf *tuf = NULL;
        struct tender_tuf_options opts = {.metadata_url = a->cfg->tuf_metadata_url};
        struct tender_error err = {0};
        return tender_tuf_open(a->tuf_fd, &opts, &tuf, &err) < 0 ? 0
                                                                 : tender_tuf_version(tuf, "root");
}

static int run(const struct tender_config *cfg, bool once) {
        _cleanup_(tender_store_freep) struct tender_store *store = NULL;
        struct tender_error err = {0};
        struct agent a = {.cfg = cfg, .tuf_fd = -1};
        int r;

        /* A locked fscrypt store cannot be opened: wait for its key, refusing deployments. */
        r = agent_wait_store_unlocked(cfg, once);
        if (r != 0)
                return r < 0 || once ? 1 : 0;
        r = tender_store_open(cfg->store_root, &store, &err);
        if (r < 0) {
                log_error("%s", err.message);
                return 1;
        }
        /* Before anything else uses the store: drops what a crash left half-done, keeps the
         * downloads of a pinned update in flight so that they resume. */
        r = tender_store_scan(store, &err);
        if (r < 0)
                log_warning("Store start-up scan: %s", err.message);
        else if (r > 0)
                log_info("Store start-up scan removed %d incomplete or unreferenced entries", r);
        /* Before any container starts: the apps' user namespaces (userns.h). */
        userns_init(cfg, store);
        r = ddi_client_init(&a.ddi, cfg, &err);
        if (r < 0) {
                log_error("%s", err.message);
                return 1;
        }
        a.store = store;
        r = agent_tuf_setup(&a, &err);
        if (r < 0) {
                log_error("Trusted TUF metadata: %s", err.message);
                agent_tuf_done(&a);
                ddi_client_done(&a.ddi);
                return 1;
        }
        if (agent_check_store(&a) < 0)
                log_error("%s; every deployment is refused until this is fixed", a.staging_refused);
        a.runtime = (struct runtime){
                .path = cfg->runtime_path ? cfg->runtime_path : "tender-runtime",
                .root = cfg->runtime_root,
        };
        /* Before the replay, so that tenderctl status answers while it rolls back. */
        report_init(&a);
        if (mqtt_start(&a, &err) < 0) /* off then; updates go on */
                log_error("%s", err.message);
        if (monitor_start(&a, &err) < 0) /* off then */
                log_error("%s", err.message);
        if (control_start(&a, &err) < 0)
                log_error("Control socket %s: %s; tenderctl cannot reach tenderd",
                          cfg->control_socket, err.message);
        /* READY=1 only after the journal replay: the device runs a settled version then. */
        agent_recover(&a);
        a.supervise_in_transfers = true; /* the replay is done: restarts may run in transfers */
        notify_status(true, "polling");
        log_info("tenderd %s started: controller %s, store %s, TUF metadata %s (root version "
                 "%llu)",
                 TENDER_VERSION, a.ddi.controller_url, cfg->store_root, cfg->tuf_metadata_url,
                 (unsigned long long) trusted_root_version(&a));

        int ret = 0;
        uint64_t interval = cfg->poll_interval_sec ? cfg->poll_interval_sec : 300;
        while (!control_stop_signal()) {
                control_watchdog_ping();
                uint64_t retry_after = 0;
                r = poll_once(&a, &interval, &retry_after);
                bool deferred = gate_publish(); /* the staged update whose swap waits */
                if (!deferred)                  /* the snapshot, sd_notify: no update in flight */
                        report_emit(&(struct report_event){.kind = REPORT_IDLE});
                /* MQTT status and configData: on change, at the telemetry interval, or
                 * when the server asked for the attributes. */
                status_refresh(&a, report_attributes_pending());
                if (once) {
                        ret = r < 0 ? 1 : 0;
                        break;
                }
                agent_supervise(&a);
                uint64_t wait = retry_after > interval ? retry_after : interval;
                log_debug("Next poll in %llu s", (unsigned long long) wait);
                wait_next_poll(&a, wait);
        }
        if (control_stop_signal())
                log_info("Stopping on signal %d; containers keep running", control_stop_signal());
        sd_notify(0, "STOPPING=1");
        control_stop();
        monitor_stop();
        mqtt_stop(); /* after the control thread: its status reads the queue */
        ddi_client_done(&a.ddi);
        agent_tuf_done(&a);
        return ret;
}

/* tenderd's own share of memory (docs/packaging.md, "Footprint"): one malloc arena for every
 * thread (the control socket's client threads would each get an arena of their own, whose
 * touched pages stay), and large buffers (runtime output, downloads, manifests) mmap'd and
 * given back when freed rather than kept in the heap: glibc's threshold otherwise grows to the
 * largest buffer freed, up to 32 MiB. */
static void memory_setup(void) {
        mallopt(M_ARENA_MAX, 1);
        mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD);
        mallopt(M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'},
                {"once", no_argument, NULL, 'o'},
                {"log-level", required_argument, NULL, 'l'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_(tender_config_freep) struct tender_config *cfg = NULL;
        const char *config_path = TENDER_CONFIG_PATH_DEFAULT;
        struct tender_error err = {0};
        int log_level = -1, c;
        bool once = false;

        tender_log_setup("tenderd", TENDER_LOG_AUTO);
        memory_setup();
        if (argc == 2 && STREQ(argv[1], "--version")) {
                puts("tenderd " TENDER_VERSION);
                return 0;
        }
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'o':
                        once = true;
                        break;
                case 'l':
                        log_level = tender_log_parse_level(optarg);
                        if (log_level < 0) {
                                fprintf(stderr, "tenderd: unknown log level \"%s\"\n", optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                usage(stderr);
                return 2;
        }
        if (tender_config_load(config_path, &cfg, &err) < 0) {
                log_error("%s", err.message); /* it names the path */
                return 1;
        }
        tender_log_set_level(log_level >= 0 ? log_level : cfg->log_level);

        struct sigaction sa = {.sa_handler = control_on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        update_crash_init();
        return run(cfg, once);
}
