/* SPDX-License-Identifier: Apache-2.0 */
#include "lock.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/manifest.h"
#include "update.h"

/* App names as the store takes them; they become file names here. */
static bool valid_app(const char *app) {
        size_t n = app ? strlen(app) : 0;
        if (n == 0 || n > TENDER_NAME_MAX || app[0] == '.' || app[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
                            app[i]))
                        return false;
        return true;
}

static void operator_name(const char *app, char buf[static TENDER_NAME_MAX + 16]) {
        snprintf(buf, TENDER_NAME_MAX + 16, LOCK_DIR "/%s.json", app);
}

int lock_operator_set(int root_fd, const char *app, uint64_t ttl_sec, const char *reason, uid_t uid,
                      struct tender_error *err) {
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        _cleanup_free_ char *json = NULL;
        char name[TENDER_NAME_MAX + 16];
        uint64_t now = (uint64_t) time(NULL);

        if (!valid_app(app))
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL, "invalid app name");
        if (ttl_sec == 0 || ttl_sec > LOCK_TTL_MAX)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "lock TTL must be 1 s to %llu s",
                                        (unsigned long long) LOCK_TTL_MAX);
        if (reason && strlen(reason) > LOCK_REASON_MAX)
                return tender_error_set(err, TENDER_ERR_CONFIG, EINVAL,
                                        "lock reason longer than %d bytes", LOCK_REASON_MAX);
        if (!o)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        cJSON_AddStringToObject(o, "app", app);
        cJSON_AddNumberToObject(o, "created", (double) now);
        cJSON_AddNumberToObject(o, "until", (double) (now + ttl_sec));
        cJSON_AddNumberToObject(o, "uid", (double) uid);
        cJSON_AddStringToObject(o, "reason", reason ? reason : "");
        json = cJSON_PrintUnformatted(o);
        if (!json)
                return tender_error_set(err, TENDER_ERR_SYSTEM, ENOMEM, "out of memory");
        int r = tender_mkdir_p_at(root_fd, LOCK_DIR, 0700);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "create " LOCK_DIR);
        operator_name(app, name);
        r = tender_write_file_atomic_at(root_fd, name, json, strlen(json), 0600);
        if (r < 0)
                return tender_error_set_errno(err, TENDER_ERR_SYSTEM, r, "write %s", name);
        return 0;
}

int lock_operator_clear(int root_fd, const char *app) {
        char name[TENDER_NAME_MAX + 16];
        if (!valid_app(app))
                return -EINVAL;
        operator_name(app, name);
        if (unlinkat(root_fd, name, 0) < 0)
                return -errno;
        return tender_fsync_dir_at(root_fd, LOCK_DIR);
}

int lock_operator_get(int root_fd, const char *app, uint64_t now, struct lock_operator *ret) {
        _cleanup_(cJSON_Deletep) cJSON *o = NULL;
        _cleanup_free_ char *data = NULL;
        char name[TENDER_NAME_MAX + 16];
        struct lock_operator l = {0};
        const char *reason = NULL;
        uint64_t uid = 0;
        size_t len = 0;

        if (!valid_app(app))
                return -EINVAL;
        operator_name(app, name);
        int r = tender_read_file_at(root_fd, name, LOCK_FILE_MAX, &data, &len);
        if (r < 0)
                return r;
        r = tender_json_parse(data, len, LOCK_FILE_MAX, 2, &o, NULL);
        if (r >= 0)
                r = tender_json_get_u64(o, "", "created", true, &l.created, NULL);
        if (r >= 0)
                r = tender_json_get_u64(o, "", "until", true, &l.until, NULL);
        if (r >= 0)
                r = tender_json_get_u64(o, "", "uid", false, &uid, NULL);
        if (r >= 0)
                r = tender_json_get_string(o, "", "reason", false, &reason, NULL);
        if (r < 0)
                return -EBADMSG;
        if (now >= l.until)
                return -ENOENT;
        l.uid = (uid_t) uid;
        snprintf(l.reason, sizeof(l.reason), "%s", reason ? reason : "");
        *ret = l;
        return 0;
}

int lock_app_path(int root_fd, const char *root, const char *app, char **ret_path) {
        char name[TENDER_NAME_MAX + 16];
        if (!valid_app(app))
                return -EINVAL;
        int r = tender_mkdir_p_at(root_fd, LOCK_APP_DIR, 0755);
        if (r < 0)
                return r;
        snprintf(name, sizeof(name), LOCK_APP_DIR "/%s", app);
        /* Readable by the container's user: flock and F_RDLCK need no write access. */
        _cleanup_close_ int fd =
                openat(root_fd, name, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (asprintf(ret_path, "%s/%s", root, name) < 0)
                return -ENOMEM;
        return 0;
}

int lock_app_held(int root_fd, const char *app) {
        char name[TENDER_NAME_MAX + 16];
        if (!valid_app(app))
                return -EINVAL;
        snprintf(name, sizeof(name), LOCK_APP_DIR "/%s", app);
        _cleanup_close_ int fd = openat(root_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        /* flock and fcntl locks are separate kinds on Linux: ask about both. A shared flock
         * probe is enough, an app takes the lock exclusive or shared, and either defers. */
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        return 1;
                return -errno;
        }
        flock(fd, LOCK_UN);
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
                return -errno;
        return fl.l_type != F_UNLCK;
}

static uint64_t monotonic_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec;
}

/* Why the swap must wait now, in why; false when it need not. app_since is when this deferral
 * first saw the app lock held (0: not yet). */
static bool deferred(struct agent *a, const char *app, uint64_t *app_since, char *why, size_t size,
                     const struct tender_log_ctx *log) {
        int root_fd = tender_store_root_fd(a->store);
        struct lock_operator op;
        if (lock_operator_get(root_fd, app, (uint64_t) time(NULL), &op) >= 0) {
                snprintf(why, size, "operator lock for %llu s more%s%s",
                         (unsigned long long) (op.until - (uint64_t) time(NULL)),
                         op.reason[0] ? ": " : "", op.reason);
                return true;
        }
        int r = lock_app_held(root_fd, app);
        if (r < 0)
                tender_log(LOG_WARNING, log, "Cannot test the app lock of %s: %s", app,
                           strerror(-r));
        if (r <= 0) {
                *app_since = 0;
                return false;
        }
        uint64_t now = monotonic_sec();
        if (!*app_since)
                *app_since = now;
        if (now - *app_since >= a->cfg->app_lock_ttl_sec) {
                tender_log(LOG_WARNING, log,
                           "The app lock of %s was held for %llu s (control.appLockTtlSeconds): "
                           "swapping anyway",
                           app, (unsigned long long) (now - *app_since));
                return false;
        }
        snprintf(why, size, "app lock held for %llu s (ignored after %llu s)",
                 (unsigned long long) (now - *app_since),
                 (unsigned long long) a->cfg->app_lock_ttl_sec);
        return true;
}

void lock_defer_swap(struct agent *a, const char *app, const struct tender_log_ctx *log) {
        char why[LOCK_REASON_MAX + 128], last[sizeof(why)] = "";
        uint64_t app_since = 0;

        while (deferred(a, app, &app_since, why, sizeof(why), log)) {
                /* Logged when the kind of lock changes, not at every retry. */
                if (strncmp(why, last, 8) != 0)
                        tender_log(LOG_NOTICE, log, "Swap of %s deferred: %s", app, why);
                snprintf(last, sizeof(last), "%s", why);
                control_publish_note(why);
                sd_notifyf(0, "STATUS=%s: swap deferred: %s", app, why);
                if (control_wait(a->cfg->lock_retry_sec)) {
                        /* Nothing was swapped and the journal says "staging": the update
                         * resumes when tenderd runs again. Containers keep running. */
                        tender_log(LOG_NOTICE, log,
                                   "Stopping on signal %d while the swap is deferred",
                                   control_stop_signal());
                        sd_notify(0, "STOPPING=1");
                        _exit(0);
                }
        }
        control_publish_note(NULL);
}
