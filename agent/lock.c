/* SPDX-License-Identifier: Apache-2.0 */
#include "lock.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tender/fileio.h"
#include "tender/json.h"
#include "tender/manifest.h"

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
        /* flock and fcntl locks are separate kinds on Linux: ask about both. The flock probe
         * is exclusive, so that an app's shared lock shows too; two probes of tenderd's own
         * (the swap gate, a status request) would see each other: they take turns. */
        static pthread_mutex_t probe_mutex = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&probe_mutex);
        int r = flock(fd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
        if (r == 0)
                flock(fd, LOCK_UN);
        pthread_mutex_unlock(&probe_mutex);
        if (r == -EWOULDBLOCK)
                return 1;
        if (r < 0)
                return r;
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
                return -errno;
        return fl.l_type != F_UNLCK;
}
