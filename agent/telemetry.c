/* SPDX-License-Identifier: Apache-2.0 */
#include "telemetry.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tender/fileio.h"
#include "tender/macro.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_FILE_MAX 4096
#define CGROUP_PATH_MAX 512

/* The contents of <CGROUP_ROOT>/<hier><path>/<file>, or NULL. */
static char *read_cg(const char *hier, const char *path, const char *file) {
        char full[CGROUP_PATH_MAX * 2];
        char *data = NULL;
        size_t len;
        snprintf(full, sizeof(full), CGROUP_ROOT "%s%s/%s", hier, path, file);
        if (tender_read_file_at(AT_FDCWD, full, CGROUP_FILE_MAX, &data, &len) < 0)
                return NULL;
        return data;
}

static bool read_number(const char *hier, const char *path, const char *file, uint64_t *ret) {
        _cleanup_free_ char *s = read_cg(hier, path, file);
        char *end;
        if (!s)
                return false;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s)
                return false;
        *ret = v;
        return true;
}

/* "key value" lines (memory.events, cpu.stat, memory.oom_control): the value of key. */
static bool read_key(const char *hier, const char *path, const char *file, const char *key,
                     uint64_t *ret) {
        _cleanup_free_ char *s = read_cg(hier, path, file);
        size_t n = strlen(key);
        for (char *line = s; line && *line;) {
                if (strncmp(line, key, n) == 0 && line[n] == ' ') {
                        *ret = strtoull(line + n + 1, NULL, 10);
                        return true;
                }
                line = strchr(line, '\n');
                line = line ? line + 1 : NULL;
        }
        return false;
}

static void read_v2(const char *path, struct cgroup_usage *u) {
        u->has_memory = read_number("", path, "memory.current", &u->memory_bytes);
        u->has_cpu = read_key("", path, "cpu.stat", "usage_usec", &u->cpu_usec);
        u->has_pids = read_number("", path, "pids.current", &u->pids);
        u->has_oom_kills = read_key("", path, "memory.events", "oom_kill", &u->oom_kills);
}

static void read_v1(const char *controllers, const char *path, struct cgroup_usage *u) {
        uint64_t ns;
        char list[128];
        snprintf(list, sizeof(list), ",%s,", controllers);
        if (strstr(list, ",memory,")) {
                u->has_memory =
                        read_number("/memory", path, "memory.usage_in_bytes", &u->memory_bytes);
                u->has_oom_kills =
                        read_key("/memory", path, "memory.oom_control", "oom_kill", &u->oom_kills);
        }
        if (strstr(list, ",cpuacct,") && read_number("/cpuacct", path, "cpuacct.usage", &ns)) {
                u->has_cpu = true;
                u->cpu_usec = ns / 1000;
        }
        if (strstr(list, ",pids,"))
                u->has_pids = read_number("/pids", path, "pids.current", &u->pids);
}

int cgroup_usage_read(int pid, struct cgroup_usage *u) {
        char proc[64];
        _cleanup_free_ char *data = NULL;
        size_t len;
        *u = (struct cgroup_usage){0};
        snprintf(proc, sizeof(proc), "/proc/%d/cgroup", pid);
        int r = tender_read_file_at(AT_FDCWD, proc, CGROUP_FILE_MAX, &data, &len);
        if (r < 0)
                return r;
        /* "ID:CONTROLLERS:PATH" per hierarchy; "0::PATH" is the unified one. */
        for (char *save = NULL, *line = strtok_r(data, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2 || strlen(c2 + 1) >= CGROUP_PATH_MAX || strstr(c2 + 1, ".."))
                        continue;
                *c2 = '\0';
                if (strcmp(line, "0:") == 0 && c1 + 1 == c2)
                        continue; /* below: v2 only when no v1 controller gave the figures */
                read_v1(c1 + 1, c2 + 1, u);
        }
        if (!u->has_memory && !u->has_cpu && !u->has_pids) {
                /* A unified hierarchy: the "0::" line (strtok cut the buffer: read again). */
                free(data);
                data = NULL;
                if (tender_read_file_at(AT_FDCWD, proc, CGROUP_FILE_MAX, &data, &len) < 0)
                        return 0;
                char *p = strstr(data, "0::");
                if (p && (p == data || p[-1] == '\n')) {
                        char *end = strchr(p, '\n');
                        if (end)
                                *end = '\0';
                        if (strlen(p + 3) < CGROUP_PATH_MAX && !strstr(p + 3, ".."))
                                read_v2(strcmp(p + 3, "/") == 0 ? "" : p + 3, u);
                }
        }
        return 0;
}
