/* SPDX-License-Identifier: Apache-2.0 */
/* tender-server-mock: a hawkBit-DDI-compatible update server for tests, demos and small fleets.
 * See docs/server-mock.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"
#include "persist.h"
#include "server.h"
#include "tender/log.h"

#define LISTEN_DEFAULT "127.0.0.1:8080"
#define LISTEN_MAX 128
#define LISTEN_BACKLOG 128
#define TOKEN_MAX 256
#define BASE_URL_MAX 1024
#define TENANT_MAX 128
#define THROTTLE_MAX (1ULL << 40)

struct options {
        const char *listen;
        const char *repo;
        const char *tenant;
        const char *poll_sleep;
        const char *target_token;
        const char *gateway_token;
        const char *base_url;
        const char *state;
        const char *mgmt_token;
        bool allow_remote;
        uint64_t throttle_bps;
};

static void usage(FILE *f) {
        fprintf(f, "Usage: tender-server-mock --repo DIR [options]\n"
                   "       tender-server-mock rollout [--url URL] [--token TOKEN] COMMAND ... "
                   "(see rollout --help)\n"
                   "A hawkBit DDI update server for tests and demos, serving a tender release "
                   "repository.\n\n"
                   "  --listen ADDR:PORT     address to listen on (default " LISTEN_DEFAULT
                   "; port 0 picks one)\n"
                   "  --repo DIR             release repository (apps/, blobs/)\n"
                   "  --tenant NAME          DDI tenant (default DEFAULT)\n"
                   "  --poll-sleep HH:MM:SS  polling interval handed to devices (default "
                   "00:00:05)\n"
                   "  --target-token TOKEN   require \"Authorization: TargetToken TOKEN\" on DDI\n"
                   "  --gateway-token TOKEN  require \"Authorization: GatewayToken TOKEN\" on DDI\n"
                   "                         (with both, either header is accepted)\n"
                   "  --base-url URL         prefix of the links handed out (default: the bound "
                   "address)\n"
                   "  --allow-remote         allow a listen address outside loopback\n"
                   "  --log-level LEVEL      error, warning, notice, info (default), debug\n"
                   "  --throttle BYTES/S     fault injection: serve blobs at most this fast\n"
                   "  --state FILE           keep targets, actions, groups and rollouts in FILE "
                   "across restarts\n"
                   "  --mgmt-token TOKEN     require \"Authorization: Bearer TOKEN\" on the "
                   "management API\n"
                   "  --help, --version\n");
}

/* HH:MM:SS with hours 0-999 (hawkBit's notation). */
static bool sleep_valid(const char *s) {
        unsigned h, mi, se;
        int n = 0;
        if (sscanf(s, "%3u:%2u:%2u%n", &h, &mi, &se, &n) != 3 || s[n] != '\0')
                return false;
        return strlen(s) >= 8 && mi < 60 && se < 60;
}

static bool token_valid(const char *s) {
        size_t n = strnlen(s, TOKEN_MAX + 1);
        if (n == 0 || n > TOKEN_MAX)
                return false;
        for (; *s; s++)
                if (*s <= ' ' || *s > '~')
                        return false;
        return true;
}

static bool tenant_valid(const char *s) {
        size_t n = strnlen(s, TENANT_MAX + 1);
        return n > 0 && n <= TENANT_MAX &&
               strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "abcdefghijklmnopqrstuvwxyz"
                         "0123456789._-") == n;
}

/* "1.2.3.4:port", "[::1]:port" or "localhost:port". */
static int parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        char host[LISTEN_MAX];
        const char *colon = strrchr(s, ':');
        if (!colon || (size_t) (colon - s) >= sizeof(host))
                return -EINVAL;
        memcpy(host, s, (size_t) (colon - s));
        host[colon - s] = '\0';
        char *end;
        errno = 0;
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (errno || end == colon + 1 || *end || port > 65535)
                return -EINVAL;

        struct sockaddr_storage ss = {0};
        size_t hl = strlen(host);
        if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
                host[hl - 1] = '\0';
                if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
                        return -EINVAL;
                a->sin6_family = AF_INET6;
                a->sin6_port = htons((uint16_t) port);
                *ret_len = sizeof(*a);
        } else {
                struct sockaddr_in *a = (struct sockaddr_in *) &ss;
                if (STREQ(host, "localhost"))
                        snprintf(host, sizeof(host), "127.0.0.1");
                if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
                        return -EINVAL;
                a->sin_family = AF_INET;
                a->sin_port = htons((uint16_t) port);
                *ret_len = sizeof(*a);
        }
        *ret = ss;
        return 0;
}

static bool is_loopback(const struct sockaddr_storage *ss) {
        if (ss->ss_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *) ss)->sin_addr.s_addr) >> 24) == 127;
        const struct in6_addr *a = &((const struct sockaddr_in6 *) ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* Binds the socket here rather than in MHD, so that port 0 can be read back. */
static int bind_listen(const struct sockaddr_storage *ss, socklen_t len, char *ret_url,
                       size_t url_size) {
        _cleanup_close_ int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        int one = 1;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ss->ss_family == AF_INET6)
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, (const struct sockaddr *) ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0)
                return -errno;

        struct sockaddr_storage bound = {0};
        socklen_t blen = sizeof(bound);
        if (getsockname(fd, (struct sockaddr *) &bound, &blen) < 0)
                return -errno;
        char host[INET6_ADDRSTRLEN];
        if (bound.ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *) &bound;
                inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
                snprintf(ret_url, url_size, "http://%s:%u", host, ntohs(a->sin_port));
        } else {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *) &bound;
                inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
                snprintf(ret_url, url_size, "http://[%s]:%u", host, ntohs(a->sin6_port));
        }
        return TAKE_FD(fd);
}

static int parse_args(int argc, char **argv, struct options *o) {
        enum {
                OPT_LISTEN = 256,
                OPT_REPO,
                OPT_TENANT,
                OPT_SLEEP,
                OPT_TOKEN,
                OPT_GATEWAY_TOKEN,
                OPT_BASE,
                OPT_REMOTE,
                OPT_LOG,
                OPT_THROTTLE,
                OPT_STATE,
                OPT_MGMT_TOKEN,
                OPT_HELP,
                OPT_VERSION
        };
        static const struct option longopts[] = {
                {"listen", required_argument, NULL, OPT_LISTEN},
                {"repo", required_argument, NULL, OPT_REPO},
                {"tenant", required_argument, NULL, OPT_TENANT},
                {"poll-sleep", required_argument, NULL, OPT_SLEEP},
                {"target-token", required_argument, NULL, OPT_TOKEN},
                {"gateway-token", required_argument, NULL, OPT_GATEWAY_TOKEN},
                {"base-url", required_argument, NULL, OPT_BASE},
                {"allow-remote", no_argument, NULL, OPT_REMOTE},
                {"log-level", required_argument, NULL, OPT_LOG},
                {"throttle", required_argument, NULL, OPT_THROTTLE},
                {"state", required_argument, NULL, OPT_STATE},
                {"mgmt-token", required_argument, NULL, OPT_MGMT_TOKEN},
                {"help", no_argument, NULL, OPT_HELP},
                {"version", no_argument, NULL, OPT_VERSION},
                {},
        };
        int c, level;
        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
                switch (c) {
                case OPT_LISTEN:
                        o->listen = optarg;
                        break;
                case OPT_REPO:
                        o->repo = optarg;
                        break;
                case OPT_TENANT:
                        o->tenant = optarg;
                        break;
                case OPT_SLEEP:
                        o->poll_sleep = optarg;
                        break;
                case OPT_TOKEN:
                        o->target_token = optarg;
                        break;
                case OPT_GATEWAY_TOKEN:
                        o->gateway_token = optarg;
                        break;
                case OPT_BASE:
                        o->base_url = optarg;
                        break;
                case OPT_REMOTE:
                        o->allow_remote = true;
                        break;
                case OPT_LOG:
                        if ((level = tender_log_parse_level(optarg)) < 0) {
                                log_error("--log-level: unknown level %s", optarg);
                                return -EINVAL;
                        }
                        tender_log_set_level(level);
                        break;
                case OPT_THROTTLE: {
                        char *end = NULL;
                        errno = 0;
                        unsigned long long v = strtoull(optarg, &end, 10);
                        if (errno || !end || *end || v == 0 || v > THROTTLE_MAX) {
                                log_error("--throttle: expected bytes per second, 1-%llu",
                                          (unsigned long long) THROTTLE_MAX);
                                return -EINVAL;
                        }
                        o->throttle_bps = v;
                        break;
                }
                case OPT_STATE:
                        o->state = optarg;
                        break;
                case OPT_MGMT_TOKEN:
                        o->mgmt_token = optarg;
                        break;
                case OPT_HELP:
                        usage(stdout);
                        return 0;
                case OPT_VERSION:
                        printf("tender-server-mock %s\n", TENDER_VERSION);
                        return 0;
                default:
                        usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind < argc || !o->repo) {
                log_error(optind < argc ? "Unexpected argument %s" : "--repo is required%s",
                          optind < argc ? argv[optind] : "");
                return -EINVAL;
        }
        if (!sleep_valid(o->poll_sleep)) {
                log_error("--poll-sleep: expected HH:MM:SS, got %s", o->poll_sleep);
                return -EINVAL;
        }
        if (o->target_token && !token_valid(o->target_token)) {
                log_error("--target-token: 1-%d printable characters without spaces", TOKEN_MAX);
                return -EINVAL;
        }
        if (o->gateway_token && !token_valid(o->gateway_token)) {
                log_error("--gateway-token: 1-%d printable characters without spaces", TOKEN_MAX);
                return -EINVAL;
        }
        if (o->mgmt_token && !token_valid(o->mgmt_token)) {
                log_error("--mgmt-token: 1-%d printable characters without spaces", TOKEN_MAX);
                return -EINVAL;
        }
        if (o->state && !o->state[0]) {
                log_error("--state: expected a file name");
                return -EINVAL;
        }
        if (!tenant_valid(o->tenant)) {
                log_error("--tenant: expected [A-Za-z0-9._-]{1,%d}", TENANT_MAX);
                return -EINVAL;
        }
        if (o->base_url && (strnlen(o->base_url, BASE_URL_MAX) >= BASE_URL_MAX ||
                            (strncmp(o->base_url, "http://", 7) != 0 &&
                             strncmp(o->base_url, "https://", 8) != 0))) {
                log_error("--base-url: expected an http:// or https:// URL");
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char **argv) {
        struct options o = {
                .listen = LISTEN_DEFAULT,
                .tenant = "DEFAULT",
                .poll_sleep = "00:00:05",
        };
        tender_log_setup("tender-server-mock", TENDER_LOG_STDERR);
        if (argc > 1 && STREQ(argv[1], "rollout"))
                return mock_cli_main(argc - 1, argv + 1);
        int r = parse_args(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        struct sockaddr_storage ss;
        socklen_t sslen;
        if (parse_listen(o.listen, &ss, &sslen) < 0) {
                log_error("--listen: expected IPv4:PORT, [IPv6]:PORT or localhost:PORT, got %s",
                          o.listen);
                return 2;
        }
        if (!is_loopback(&ss) && !o.allow_remote) {
                log_error("Refusing to listen on %s outside loopback without --allow-remote",
                          o.listen);
                return 2;
        }

        struct tender_error err = {0};
        _cleanup_(mock_repo_freep) struct mock_repo *repo = NULL;
        if (mock_repo_open(o.repo, &repo, &err) < 0) {
                log_error("%s", err.message);
                return 1;
        }
        _cleanup_(mock_state_freep) struct mock_state *state = NULL;
        _cleanup_(mock_fleet_freep) struct mock_fleet *fleet = NULL;
        if (mock_state_new(&state) < 0 || mock_fleet_new(&fleet) < 0) {
                log_error("Out of memory");
                return 1;
        }
        bool found = false;
        if (o.state && mock_persist_load(o.state, state, fleet, &found, &err) < 0) {
                log_error("%s (move it away to start with an empty state)", err.message);
                return 1;
        }
        if (o.state) {
                log_info(found ? "State loaded from %s" : "No state file %s yet: starting empty",
                         o.state);
                /* Written at once, so that an unwritable place fails now, not at the first
                 * deployment. */
                if (mock_persist_save(o.state, state, fleet, &err) < 0) {
                        log_error("%s", err.message);
                        return 1;
                }
        }

        _cleanup_(mock_faults_freep) struct mock_faults *faults = NULL;
        if (mock_faults_new(&faults) < 0) {
                log_error("Out of memory");
                return 1;
        }

        /* The MHD thread inherits this mask, so the signals reach sigwait() below only. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        char bound_url[BASE_URL_MAX];
        int fd = bind_listen(&ss, sslen, bound_url, sizeof(bound_url));
        if (fd < 0) {
                log_error("Failed to listen on %s: %s", o.listen, strerror(-fd));
                return 1;
        }
        char base_url[BASE_URL_MAX];
        snprintf(base_url, sizeof(base_url), "%s", o.base_url ? o.base_url : bound_url);
        size_t bl = strlen(base_url);
        while (bl > 0 && base_url[bl - 1] == '/')
                base_url[--bl] = '\0';

        struct mock m = {
                .lock = PTHREAD_MUTEX_INITIALIZER,
                .state = state,
                .fleet = fleet,
                .state_path = o.state,
                .mgmt_token = o.mgmt_token,
                .repo = repo,
                .tenant = o.tenant,
                .poll_sleep = o.poll_sleep,
                .target_token = o.target_token,
                .gateway_token = o.gateway_token,
                .base_url = base_url,
                .throttle_bps = o.throttle_bps,
                .faults = faults,
        };
        struct MHD_Daemon *d = MHD_start_daemon(
                MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                mock_access_handler, &m, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
                mock_request_completed, &m, MHD_OPTION_CONNECTION_LIMIT,
                (unsigned) MOCK_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
                (unsigned) MOCK_CONNECTION_TIMEOUT_SEC, MHD_OPTION_END);
        if (!d) {
                close(fd);
                log_error("Failed to start the HTTP server on %s", bound_url);
                return 1;
        }
        printf("listening on %s\n", bound_url);
        fflush(stdout);
        log_info("Serving %s as tenant %s, links at %s%s", o.repo, o.tenant, base_url,
                 o.target_token || o.gateway_token ? ", token required" : "");

        /* Rollouts move on by feedback; what polls alone changed (new targets) is saved here
         * once a second. */
        const struct timespec second = {.tv_sec = 1};
        int sig;
        while ((sig = sigtimedwait(&mask, NULL, &second)) < 0) {
                pthread_mutex_lock(&m.lock);
                if (m.state_dirty)
                        (void) mock_save(&m);
                pthread_mutex_unlock(&m.lock);
        }
        log_info("Received %s, stopping", strsignal(sig));
        MHD_stop_daemon(d); /* closes the listening socket too */
        if (o.state && mock_save(&m) < 0)
                return 1;
        pthread_mutex_destroy(&m.lock);
        return 0;
}
