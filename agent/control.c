/* SPDX-License-Identifier: Apache-2.0 */
#include "control.h"

#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "control_req.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/log.h"
#include "update.h"

#define CONTROL_BACKLOG 16
#define CONTROL_GROUPS_MAX 256

/* A request that changes what runs: the main loop carries it out between polls. */
enum queued_kind { QUEUED_ROLLBACK, QUEUED_REMOVE };

struct queued {
        int fd;
        uid_t uid;
        enum queued_kind kind;
        bool keep_volumes; /* remove */
        char app[TENDER_NAME_MAX + 1];
};

static struct {
        pthread_mutex_t mutex; /* guards snap, check, queue, n_queue, clients and n_clients */
        struct control_snapshot snap;
        bool check;
        struct queued queue[CONTROL_QUEUE_MAX];
        size_t n_queue;
        /* The connections being served, one thread each (-1: free slot), so that a slow or
         * stuck client holds up nobody else; control_stop shuts them down. */
        int clients[CONTROL_CLIENTS_MAX];
        size_t n_clients;
        pthread_cond_t clients_done; /* signalled when a client's thread ends, or at stop */
        bool quitting;

        struct agent *a;
        pthread_t thread;
        bool running;
        int listen_fd, wake_fd, quit_fd;
        char path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
        bool has_group;
        gid_t gid;
        uint64_t watchdog_usec, watchdog_last;
} ctl = {.mutex = PTHREAD_MUTEX_INITIALIZER,
         .clients_done = PTHREAD_COND_INITIALIZER,
         .listen_fd = -1,
         .wake_fd = -1,
         .quit_fd = -1};

static volatile sig_atomic_t stop_signal;

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static void wake(int fd) {
        uint64_t one = 1;
        if (fd >= 0)
                (void) !write(fd, &one, sizeof(one));
}

void control_on_signal(int sig) {
        stop_signal = sig;
        wake(ctl.wake_fd); /* write(2) is async-signal-safe */
}

int control_stop_signal(void) {
        return stop_signal;
}

void control_watchdog_ping(void) {
        if (!ctl.watchdog_usec)
                return;
        uint64_t now = now_usec();
        if (now - ctl.watchdog_last < ctl.watchdog_usec / 2)
                return;
        ctl.watchdog_last = now;
        sd_notify(0, "WATCHDOG=1");
}

static int wake_fd(void) {
        if (ctl.wake_fd < 0)
                ctl.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        return ctl.wake_fd;
}

bool control_wait(uint64_t sec) {
        uint64_t deadline = now_usec() + sec * 1000000;
        int fd = wake_fd();
        while (!stop_signal) {
                control_watchdog_ping();
                uint64_t now = now_usec();
                if (now >= deadline)
                        break;
                uint64_t left = deadline - now;
                if (ctl.watchdog_usec && left > ctl.watchdog_usec / 2)
                        left = ctl.watchdog_usec / 2;
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int ms = (int) ((left + 999) / 1000);
                /* Without an eventfd (none could be made): short naps, signals still end them. */
                int r = fd >= 0 ? poll(&p, 1, ms)
                                : (usleep(left > 1000000 ? 1000000 : (useconds_t) left), 0);
                if (r > 0) {
                        uint64_t v;
                        (void) !read(fd, &v, sizeof(v));
                        break; /* a request or a signal */
                }
        }
        return stop_signal != 0;
}

bool control_transfer_tick(_unused_ void *userdata) {
        static bool supervising; /* agent_supervise's own transfers (none today) do not recurse */
        struct agent *a = ctl.a;
        control_watchdog_ping();
        if (stop_signal)
                return true;
        if (a && a->supervise_in_transfers && !a->swapping && !supervising &&
            agent_supervise_due_sec() == 0) {
                supervising = true;
                agent_supervise(a);
                supervising = false;
        }
        return stop_signal != 0;
}

void control_request_check(void) {
        pthread_mutex_lock(&ctl.mutex);
        ctl.check = true;
        pthread_mutex_unlock(&ctl.mutex);
        wake(ctl.wake_fd);
}

void control_wake(void) {
        wake(ctl.wake_fd);
}

bool control_take_check(void) {
        pthread_mutex_lock(&ctl.mutex);
        bool c = ctl.check;
        ctl.check = false;
        pthread_mutex_unlock(&ctl.mutex);
        return c;
}

static void copy(char *dst, size_t size, const char *src) {
        snprintf(dst, size, "%s", src ? src : "");
}

void control_publish_update(const char *app, const char *version, const char *state,
                            const char *action_id) {
        pthread_mutex_lock(&ctl.mutex);
        struct control_snapshot *s = &ctl.snap;
        copy(s->app, sizeof(s->app), app);
        copy(s->version, sizeof(s->version), app ? version : NULL);
        copy(s->state, sizeof(s->state), app ? state : NULL);
        copy(s->action_id, sizeof(s->action_id), app ? action_id : NULL);
        if (!app)
                s->note[0] = 0;
        pthread_mutex_unlock(&ctl.mutex);
}

void control_publish_note(const char *note) {
        pthread_mutex_lock(&ctl.mutex);
        copy(ctl.snap.note, sizeof(ctl.snap.note), note);
        pthread_mutex_unlock(&ctl.mutex);
}

/* Waits until fd is ready for events or the deadline (now_usec() clock) passed: 0 ready,
 * -ETIMEDOUT. The whole exchange has one deadline, so that a client reading or writing a byte
 * at a time cannot hold its connection for longer than CONTROL_IO_TIMEOUT_SEC. */
static int wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                uint64_t now = now_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                struct pollfd p = {.fd = fd, .events = events};
                int r = poll(&p, 1, (int) ((deadline - now + 999) / 1000));
                if (r > 0)
                        return 0;
                if (r < 0 && errno != EINTR)
                        return -errno;
        }
}

static int write_all(int fd, const char *p, size_t len, uint64_t deadline) {
        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        int r = wait_fd(fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

void control_reply(int fd, cJSON *reply) {
        _cleanup_free_ char *s = reply ? cJSON_PrintUnformatted(reply) : NULL;
        static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}\n";
        uint64_t deadline = now_usec() + CONTROL_IO_TIMEOUT_SEC * 1000000ULL;
        if (!s)
                (void) write_all(fd, oom, sizeof(oom) - 1, deadline);
        else if (write_all(fd, s, strlen(s), deadline) >= 0)
                (void) write_all(fd, "\n", 1, deadline);
        cJSON_Delete(reply);
}

cJSON *control_error(const char *fmt, ...) {
        char msg[CONTROL_NOTE_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", false);
        cJSON_AddStringToObject(o, "error", msg);
        return o;
}

/* root, or a member of control.group: the socket's mode already keeps others out; this is the
 * second fence, for a socket whose mode was changed behind tenderd's back. */
static bool peer_allowed(int fd, uid_t *ret_uid) {
        struct ucred cr;
        socklen_t n = sizeof(cr);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &n) < 0)
                return false;
        *ret_uid = cr.uid;
        if (cr.uid == 0)
                return true;
        if (!ctl.has_group)
                return false;
        if (cr.gid == ctl.gid)
                return true;
        struct passwd pw, *res = NULL;
        char buf[4096];
        gid_t groups[CONTROL_GROUPS_MAX];
        int ng = CONTROL_GROUPS_MAX;
        if (getpwuid_r(cr.uid, &pw, buf, sizeof(buf), &res) != 0 || !res ||
            getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) < 0)
                return false;
        for (int i = 0; i < ng; i++)
                if (groups[i] == ctl.gid)
                        return true;
        return false;
}

static int read_request(int fd, char *buf, size_t size, size_t *ret_len) {
        uint64_t deadline = now_usec() + CONTROL_IO_TIMEOUT_SEC * 1000000ULL;
        size_t len = 0;
        for (;;) {
                if (len == size)
                        return -E2BIG;
                ssize_t n = recv(fd, buf + len, size - len, MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        int r = wait_fd(fd, POLLIN, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t) n;
                /* A request is one line, or all the client sends before shutting down. */
                if (memchr(buf + len - (size_t) n, '\n', (size_t) n))
                        break;
        }
        *ret_len = len;
        return 0;
}

/* Marks fd as no longer served by its thread (under the mutex): it is closed, or handed to
 * the main loop. */
static void client_release_locked(int fd) {
        for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
                if (ctl.clients[i] == fd) {
                        ctl.clients[i] = -1;
                        return;
                }
}

/* Hands q (a rollback or a remove) to the main loop, which replies on its fd when it ran. */
static int enqueue(const struct queued *in) {
        int fd = in->fd;
        pthread_mutex_lock(&ctl.mutex);
        int r = -EBUSY;
        if (ctl.n_queue < CONTROL_QUEUE_MAX) {
                ctl.queue[ctl.n_queue++] = *in;
                client_release_locked(fd); /* control_stop answers the queue, not the slot */
                r = 0;
        }
        pthread_mutex_unlock(&ctl.mutex);
        if (r == 0)
                wake(ctl.wake_fd);
        return r;
}

/* Returns true when fd was handed over (queued), false when the caller closes it. */
static bool dispatch(int fd, uid_t uid, const cJSON *req) {
        const char *what = NULL, *app = NULL;
        if (tender_json_get_string(req, "", "request", true, &what, NULL) < 0) {
                control_reply(fd, control_error("expected {\"request\": ...}"));
                return false;
        }
        if (STREQ(what, "status")) {
                struct control_snapshot snap;
                pthread_mutex_lock(&ctl.mutex);
                snap = ctl.snap;
                pthread_mutex_unlock(&ctl.mutex);
                control_reply(fd, control_req_status(ctl.a, &snap));
        } else if (STREQ(what, "check")) {
                pthread_mutex_lock(&ctl.mutex);
                ctl.check = true;
                pthread_mutex_unlock(&ctl.mutex);
                wake(ctl.wake_fd);
                control_reply(fd, control_ok("poll requested"));
        } else if (STREQ(what, "rollback") || STREQ(what, "remove")) {
                struct queued q = {.fd = fd,
                                   .uid = uid,
                                   .kind = STREQ(what, "remove") ? QUEUED_REMOVE : QUEUED_ROLLBACK,
                                   .keep_volumes = true};
                bool delete_volumes = false;
                if (tender_json_get_string(req, "", "app", true, &app, NULL) < 0 ||
                    strlen(app) > TENDER_NAME_MAX ||
                    tender_json_get_bool(req, "", "deleteVolumes", false, &delete_volumes, NULL) <
                            0) {
                        control_reply(fd, control_error("%s: expected \"app\"", what));
                        return false;
                }
                copy(q.app, sizeof(q.app), app);
                q.keep_volumes = !delete_volumes;
                if (enqueue(&q) < 0)
                        control_reply(fd, control_error("%d requests are queued already; retry "
                                                        "later",
                                                        CONTROL_QUEUE_MAX));
                else
                        return true;
        } else if (STREQ(what, "lock") || STREQ(what, "unlock")) {
                control_reply(fd, control_req_lock(ctl.a, req, uid, STREQ(what, "lock")));
                wake(ctl.wake_fd); /* a deferred swap looks again at once */
        } else if (STREQ(what, "logs"))
                control_reply(fd, control_req_logs(ctl.a, req));
        else
                control_reply(fd, control_error("unknown request \"%.64s\"", what));
        return false;
}

/* Returns true when fd was handed to the main loop, false when the caller closes it. */
static bool serve(int fd) {
        char buf[CONTROL_REQUEST_MAX];
        size_t len = 0;
        uid_t uid = 0;

        if (!peer_allowed(fd, &uid)) {
                control_reply(fd,
                              control_error("permission denied: root or the control group only"));
                return false;
        }
        _cleanup_(cJSON_Deletep) cJSON *req = NULL;
        int r = read_request(fd, buf, sizeof(buf), &len);
        if (r < 0 || tender_json_parse(buf, len, CONTROL_REQUEST_MAX, 3, &req, NULL) < 0 ||
            !cJSON_IsObject(req)) {
                control_reply(fd, control_error("expected one JSON object of at most %d bytes",
                                                CONTROL_REQUEST_MAX));
                return false;
        }
        return dispatch(fd, uid, req);
}

static void *client_main(void *userdata) {
        int fd = (int) (intptr_t) userdata;
        bool handed_over = serve(fd);
        pthread_mutex_lock(&ctl.mutex);
        if (!handed_over) {
                client_release_locked(fd);
                close(fd); /* under the mutex: control_stop never shuts down a reused number */
        }
        ctl.n_clients--;
        pthread_cond_broadcast(&ctl.clients_done);
        pthread_mutex_unlock(&ctl.mutex);
        return NULL;
}

/* Serves fd in a thread of its own; the caller made sure a slot is free. */
static void start_client(int fd) {
        pthread_attr_t attr;
        pthread_t t;

        pthread_mutex_lock(&ctl.mutex);
        for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
                if (ctl.clients[i] < 0) {
                        ctl.clients[i] = fd;
                        break;
                }
        ctl.n_clients++;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int r = -pthread_create(&t, &attr, client_main, (void *) (intptr_t) fd);
        pthread_attr_destroy(&attr);
        if (r < 0) {
                client_release_locked(fd);
                ctl.n_clients--;
        }
        pthread_mutex_unlock(&ctl.mutex);
        if (r < 0) {
                control_reply(fd, control_error("cannot serve: %s", strerror(-r)));
                close(fd);
        }
}

/* With every slot taken by slow clients, new ones wait in the listen backlog until a slot
 * frees (at most CONTROL_IO_TIMEOUT_SEC); returns false when tenderd stops meanwhile. */
static bool wait_for_slot(void) {
        pthread_mutex_lock(&ctl.mutex);
        while (ctl.n_clients >= CONTROL_CLIENTS_MAX && !ctl.quitting)
                pthread_cond_wait(&ctl.clients_done, &ctl.mutex);
        bool go = !ctl.quitting;
        pthread_mutex_unlock(&ctl.mutex);
        return go;
}

static void *thread_main(void *userdata) {
        (void) userdata;
        while (wait_for_slot()) {
                struct pollfd p[2] = {{.fd = ctl.listen_fd, .events = POLLIN},
                                      {.fd = ctl.quit_fd, .events = POLLIN}};
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[1].revents)
                        break;
                int fd = accept4(ctl.listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd >= 0)
                        start_client(fd);
        }
        return NULL;
}

static int make_socket(const struct tender_config *cfg, struct tender_error *err) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_free_ char *dir = strdup(cfg->control_socket);
        char *slash = dir ? strrchr(dir, '/') : NULL;

        if (!slash)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        *slash = 0;
        int r = dir[0] ? tender_mkdir_p_at(AT_FDCWD, dir, 0755) : 0;
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "create %s", dir);
        copy(sa.sun_path, sizeof(sa.sun_path), cfg->control_socket);
        copy(ctl.path, sizeof(ctl.path), cfg->control_socket);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "socket");
        /* A socket left by a tenderd that did not stop cleanly. */
        struct stat st;
        if (lstat(sa.sun_path, &st) >= 0 && S_ISSOCK(st.st_mode))
                unlink(sa.sun_path);
        /* Created 0600 so that nobody connects before its group and mode are set. */
        mode_t old = umask(0177);
        r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "bind %s",
                                              sa.sun_path);
        if (ctl.has_group &&
            (chown(sa.sun_path, (uid_t) -1, ctl.gid) < 0 || chmod(sa.sun_path, 0660) < 0))
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno,
                                              "set group and mode of %s", sa.sun_path);
        if (listen(fd, CONTROL_BACKLOG) < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "listen on %s",
                                              sa.sun_path);
        ctl.listen_fd = TAKE_FD(fd);
        return 0;
}

static int lookup_group(const char *name, struct tender_error *err) {
        struct group gr, *res = NULL;
        char buf[4096];
        int r = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
        if (r != 0 || !res)
                return tender_error_set(err, TENDER_ERR_CONFIG, r ? r : ENOENT,
                                        "control.group: no group \"%s\"", name);
        ctl.gid = gr.gr_gid;
        ctl.has_group = true;
        return 0;
}

int control_start(struct agent *a, struct tender_error *err) {
        uint64_t usec = 0;
        if (sd_watchdog_enabled(0, &usec) > 0)
                ctl.watchdog_usec = usec;
        ctl.a = a;
        for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
                ctl.clients[i] = -1;
        if (wake_fd() < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "eventfd");
        if (a->cfg->control_group && lookup_group(a->cfg->control_group, err) < 0)
                return -ENOENT;
        int r = make_socket(a->cfg, err);
        if (r < 0)
                return r;
        ctl.quit_fd = eventfd(0, EFD_CLOEXEC);
        if (ctl.quit_fd < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, errno, "eventfd");
        /* Signals go to the main thread, whose waits they must cut short. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = -pthread_create(&ctl.thread, NULL, thread_main, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r,
                                              "start the control thread");
        ctl.running = true;
        return 0;
}

void control_stop(void) {
        if (ctl.running) {
                pthread_mutex_lock(&ctl.mutex);
                ctl.quitting = true;
                pthread_cond_broadcast(&ctl.clients_done);
                pthread_mutex_unlock(&ctl.mutex);
                wake(ctl.quit_fd);
                pthread_join(ctl.thread, NULL);
                ctl.running = false;
                unlink(ctl.path);
                /* Clients still served: cut their connections short, wait for their threads. */
                pthread_mutex_lock(&ctl.mutex);
                for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
                        if (ctl.clients[i] >= 0)
                                shutdown(ctl.clients[i], SHUT_RDWR);
                while (ctl.n_clients > 0)
                        pthread_cond_wait(&ctl.clients_done, &ctl.mutex);
                pthread_mutex_unlock(&ctl.mutex);
        }
        for (size_t i = 0; i < ctl.n_queue; i++) {
                control_reply(ctl.queue[i].fd, control_error("tenderd is stopping"));
                close(ctl.queue[i].fd);
        }
        ctl.n_queue = 0;
        if (ctl.listen_fd >= 0)
                close(ctl.listen_fd);
        if (ctl.quit_fd >= 0)
                close(ctl.quit_fd);
        ctl.listen_fd = ctl.quit_fd = -1;
}

void control_run_queued(struct agent *a) {
        for (;;) {
                struct queued q;
                pthread_mutex_lock(&ctl.mutex);
                bool any = ctl.n_queue > 0;
                if (any) {
                        q = ctl.queue[0];
                        memmove(ctl.queue, ctl.queue + 1, --ctl.n_queue * sizeof(q));
                }
                pthread_mutex_unlock(&ctl.mutex);
                if (!any)
                        return;
                control_reply(q.fd, q.kind == QUEUED_REMOVE
                                            ? control_req_remove(a, q.app, q.keep_volumes, q.uid)
                                            : control_req_rollback(a, q.app, q.uid));
                close(q.fd);
        }
}
