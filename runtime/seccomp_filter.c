/* SPDX-License-Identifier: Apache-2.0 */
#include "seccomp_filter.h"

#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spec.h"

#define PATH_NAME_MAX 96
#define ARGS_MAX 6
#define ERRNO_MAX 4095

struct tender_rt_seccomp {
        scmp_filter_ctx ctx;
};

static const struct {
        const char *name;
        enum scmp_compare op;
} compare_ops[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE},
        {"SCMP_CMP_LT", SCMP_CMP_LT},
        {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        {"SCMP_CMP_GE", SCMP_CMP_GE},
        {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

void tender_rt_seccomp_free(struct tender_rt_seccomp *s) {
        if (!s)
                return;
        seccomp_release(s->ctx);
        free(s);
}

int tender_rt_seccomp_load(const struct tender_rt_seccomp *s) {
        return seccomp_load(s->ctx);
}

static const struct {
        const char *name;
        uint32_t action; /* with_errno: the errno goes in the low 16 bits */
        bool with_errno;
} actions[] = {
        {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
        {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
        {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false},
        {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
        {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
        {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
        {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
        {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
};

/* The OCI architecture names; features lists those this libseccomp resolves. */
static const char *const oci_arches[] = {
        "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
        "SCMP_ARCH_RISCV64",
};

/* "SCMP_ACT_ERRNO" with errnoRet -> the libseccomp action; -EINVAL when unknown. */
static int parse_action(const cJSON *obj, const char *path, const char *key, const char *errno_key,
                        uint32_t *ret, struct tender_error *err) {
        const char *name = NULL;
        uint64_t e = EPERM;
        int r;
        if ((r = tender_json_get_string(obj, path, key, true, &name, err)) < 0 ||
            (errno_key && (r = tender_json_get_u64(obj, path, errno_key, false, &e, err)) < 0))
                return r;
        if (e > ERRNO_MAX)
                return config_error(err, "%s.%s: out of range", path, errno_key);
        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                if (STREQ(name, actions[i].name)) {
                        *ret = actions[i].action | (actions[i].with_errno ? (uint32_t) e : 0);
                        return 0;
                }
        return config_error(err, "%s.%s: unsupported action \"%s\"", path, key, name);
}

/* SCMP_ARCH_X86_64 -> libseccomp's token, 0 when it does not know it. */
static uint32_t resolve_arch(const char *name) {
        char lower[32];
        if (strncmp(name, "SCMP_ARCH_", 10) != 0 || strlen(name + 10) >= sizeof(lower))
                return 0;
        size_t k;
        for (k = 0; name[10 + k]; k++)
                lower[k] = (char) tolower((unsigned char) name[10 + k]);
        lower[k] = '\0';
        return seccomp_arch_resolve_name(lower);
}

int tender_rt_seccomp_features(cJSON *o) {
        cJSON *acts = cJSON_AddArrayToObject(o, "actions"), *ops, *arches;
        if (!cJSON_AddBoolToObject(o, "enabled", true) || !acts ||
            !(ops = cJSON_AddArrayToObject(o, "operators")) ||
            !(arches = cJSON_AddArrayToObject(o, "archs")))
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                if (!cJSON_AddItemToArray(acts, cJSON_CreateString(actions[i].name)))
                        return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(compare_ops); i++)
                if (!cJSON_AddItemToArray(ops, cJSON_CreateString(compare_ops[i].name)))
                        return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(oci_arches); i++)
                if (resolve_arch(oci_arches[i]) &&
                    !cJSON_AddItemToArray(arches, cJSON_CreateString(oci_arches[i])))
                        return -ENOMEM;
        return 0;
}

static int parse_arch(scmp_filter_ctx ctx, const cJSON *obj, struct tender_error *err) {
        char **arches = NULL;
        int r = tender_json_get_strv(obj, "linux.seccomp", "architectures", false, 32, &arches,
                                     err);
        if (r < 0)
                return r;
        for (size_t i = 0; arches && arches[i]; i++) {
                const char *name = arches[i];
                uint32_t arch = resolve_arch(name);
                if (!arch) {
                        r = config_error(err, "linux.seccomp.architectures[%zu]: unknown \"%s\"", i,
                                         name);
                        break;
                }
                r = seccomp_arch_add(ctx, arch);
                if (r < 0 && r != -EEXIST) {
                        r = config_error(err, "linux.seccomp.architectures[%zu]: %s", i,
                                         strerror(-r));
                        break;
                }
                r = 0;
        }
        tender_strv_free(arches);
        return r;
}

static int parse_args(const cJSON *rule, const char *path, struct scmp_arg_cmp *args,
                      unsigned *ret_n, struct tender_error *err) {
        const cJSON *list = NULL, *item;
        unsigned n = 0;
        int r = tender_json_get_array(rule, path, "args", false, &list, err);
        if (r < 0 || !list)
                return r;
        cJSON_ArrayForEach(item, list) {
                char p[PATH_NAME_MAX];
                snprintf(p, sizeof(p), "%s.args[%u]", path, n);
                if (n >= ARGS_MAX)
                        return config_error(err, "%s.args: more than %d entries", path, ARGS_MAX);
                uint64_t index = 0, value = 0, two = 0;
                const char *op = NULL;
                if (!cJSON_IsObject(item))
                        return config_error(err, "%s: not an object", p);
                if ((r = tender_json_get_u64(item, p, "index", true, &index, err)) < 0 ||
                    (r = tender_json_get_u64(item, p, "value", true, &value, err)) < 0 ||
                    (r = tender_json_get_u64(item, p, "valueTwo", false, &two, err)) < 0 ||
                    (r = tender_json_get_string(item, p, "op", true, &op, err)) < 0)
                        return r;
                if (index >= ARGS_MAX)
                        return config_error(err, "%s.index: at most %d", p, ARGS_MAX - 1);
                int found = -1;
                for (size_t k = 0; k < ELEMENTSOF(compare_ops); k++)
                        if (STREQ(op, compare_ops[k].name))
                                found = (int) k;
                if (found < 0)
                        return config_error(err, "%s.op: unknown \"%s\"", p, op);
                args[n++] =
                        (struct scmp_arg_cmp){(unsigned) index, compare_ops[found].op, value, two};
        }
        *ret_n = n;
        return 0;
}

static bool args_distinct(const struct scmp_arg_cmp *args, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                for (unsigned k = i + 1; k < n; k++)
                        if (args[i].arg == args[k].arg)
                                return false;
        return true;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const struct scmp_arg_cmp *args,
                    unsigned n) {
        /* libseccomp takes one comparison per argument in a rule; several on the same argument
         * become separate rules (any of them matches), as runc does. */
        if (args_distinct(args, n))
                return seccomp_rule_add_array(ctx, action, nr, n, args);
        for (unsigned i = 0; i < n; i++) {
                int r = seccomp_rule_add_array(ctx, action, nr, 1, &args[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_rule(scmp_filter_ctx ctx, uint32_t default_action, const cJSON *rule,
                      const char *path, struct tender_error *err) {
        char **names = NULL;
        struct scmp_arg_cmp args[ARGS_MAX];
        unsigned n_args = 0;
        uint32_t action;
        int r;
        if (!cJSON_IsObject(rule))
                return config_error(err, "%s: not an object", path);
        if ((r = parse_action(rule, path, "action", "errnoRet", &action, err)) < 0 ||
            (r = parse_args(rule, path, args, &n_args, err)) < 0 ||
            (r = tender_json_get_strv(rule, path, "names", true, TENDER_RT_MAX_SECCOMP_NAMES,
                                      &names, err)) < 0)
                return r;
        for (size_t i = 0; names[i] && r >= 0; i++) {
                int nr = seccomp_syscall_resolve_name(names[i]);
                /* An unknown name is a syscall this kernel or libseccomp lacks: nothing to
                 * filter. A rule with the default action changes nothing (libseccomp refuses
                 * it). */
                if (nr == __NR_SCMP_ERROR || action == default_action)
                        continue;
                r = add_rule(ctx, action, nr, args, n_args);
                if (r < 0)
                        r = config_error(err, "%s.names[%zu]: rule for %s: %s", path, i, names[i],
                                         strerror(-r));
        }
        tender_strv_free(names);
        return r;
}

int tender_rt_seccomp_parse(const cJSON *obj, struct tender_rt_seccomp **ret,
                            struct tender_error *err) {
        const cJSON *syscalls = NULL, *rule;
        uint32_t default_action;
        int r = parse_action(obj, "linux.seccomp", "defaultAction", "defaultErrnoRet",
                             &default_action, err);
        if (r < 0)
                return r;
        _cleanup_(tender_rt_seccomp_freep) struct tender_rt_seccomp *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->ctx = seccomp_init(default_action);
        if (!s->ctx)
                return config_error(err, "linux.seccomp.defaultAction: refused by libseccomp");
        /* no_new_privs is process.noNewPrivileges' business, not a side effect of seccomp. */
        (void) seccomp_attr_set(s->ctx, SCMP_FLTATR_CTL_NNP, 0);
        if ((r = parse_arch(s->ctx, obj, err)) < 0 ||
            (r = tender_json_get_array(obj, "linux.seccomp", "syscalls", false, &syscalls, err)) <
                    0)
                return r;
        if (cJSON_GetArraySize(syscalls) > TENDER_RT_MAX_SECCOMP_RULES)
                return config_error(err, "linux.seccomp.syscalls: more than %d entries",
                                    TENDER_RT_MAX_SECCOMP_RULES);
        size_t i = 0;
        cJSON_ArrayForEach(rule, syscalls) {
                char path[PATH_NAME_MAX];
                snprintf(path, sizeof(path), "linux.seccomp.syscalls[%zu]", i++);
                if ((r = parse_rule(s->ctx, default_action, rule, path, err)) < 0)
                        return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}
