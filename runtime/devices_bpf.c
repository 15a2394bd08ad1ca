/* SPDX-License-Identifier: Apache-2.0 */
#include "devices_bpf.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tender/macro.h"

#define INSNS_PER_RULE 8
#define INSNS_FIXED 8
#define LOG_SIZE 4096

/* Registers of the program: r1 the context (struct bpf_cgroup_dev_ctx), r2 the accesses asked
 * for that no rule granted yet, r3 the device type, r4 the major, r5 the minor, r6 scratch. */
enum { R0, R1, R2, R3, R4, R5, R6 };

struct program {
        struct bpf_insn *insns;
        size_t n;
};

static void emit(struct program *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off,
                 int32_t imm) {
        p->insns[p->n++] = (struct bpf_insn){
                .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

static void emit_return(struct program *p, int32_t verdict) {
        emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, verdict);
        emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static int32_t access_bits(const char *access) {
        int32_t bits = 0;
        for (const char *c = access; *c; c++)
                bits |= *c == 'm'   ? BPF_DEVCG_ACC_MKNOD
                        : *c == 'r' ? BPF_DEVCG_ACC_READ
                                    : BPF_DEVCG_ACC_WRITE;
        return bits;
}

/* One rule: skip it unless type, major and minor match; then grant (allow) or refuse (deny) the
 * accesses it names. The jumps are patched to the end of the rule's block. */
static void emit_rule(struct program *p, const struct tender_rt_device_rule *d) {
        size_t jumps[3], n_jumps = 0;
        int32_t bits = access_bits(d->access);
        jumps[n_jumps++] = p->n;
        emit(p, BPF_JMP | BPF_JNE | BPF_K, R3, 0, 0,
             d->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
        if (d->major >= 0) {
                jumps[n_jumps++] = p->n;
                emit(p, BPF_JMP | BPF_JNE | BPF_K, R4, 0, 0, (int32_t) d->major);
        }
        if (d->minor >= 0) {
                jumps[n_jumps++] = p->n;
                emit(p, BPF_JMP | BPF_JNE | BPF_K, R5, 0, 0, (int32_t) d->minor);
        }
        if (d->allow) {
                emit(p, BPF_ALU64 | BPF_AND | BPF_K, R2, 0, 0, ~bits & 7);
                emit(p, BPF_JMP | BPF_JNE | BPF_K, R2, 0, 2, 0);
                emit_return(p, 1);
        } else {
                emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R6, R2, 0, 0);
                emit(p, BPF_ALU64 | BPF_AND | BPF_K, R6, 0, 0, bits);
                emit(p, BPF_JMP | BPF_JEQ | BPF_K, R6, 0, 2, 0);
                emit_return(p, 0);
        }
        for (size_t i = 0; i < n_jumps; i++)
                p->insns[jumps[i]].off = (int16_t) (p->n - jumps[i] - 1);
}

static int build(const struct tender_rt_device_rule *rules, size_t n, struct program *p) {
        p->insns = calloc(n * INSNS_PER_RULE + INSNS_FIXED, sizeof(*p->insns));
        if (!p->insns)
                return -ENOMEM;
        emit(p, BPF_LDX | BPF_MEM | BPF_W, R2, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type),
             0);
        emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R3, R2, 0, 0);
        emit(p, BPF_ALU64 | BPF_AND | BPF_K, R3, 0, 0, 0xffff);
        emit(p, BPF_ALU64 | BPF_RSH | BPF_K, R2, 0, 0, 16);
        emit(p, BPF_LDX | BPF_MEM | BPF_W, R4, R1, offsetof(struct bpf_cgroup_dev_ctx, major), 0);
        emit(p, BPF_LDX | BPF_MEM | BPF_W, R5, R1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
        /* The last rule decides first. A type "a" rule matches everything: what comes before it
         * in the config is never reached (the verifier refuses unreachable code), as in v1
         * where "a" resets the list. */
        for (size_t i = n; i-- > 0;) {
                if (rules[i].type == 'a') {
                        emit_return(p, rules[i].allow);
                        return 0;
                }
                emit_rule(p, &rules[i]);
        }
        emit_return(p, 0);
        return 0;
}

static long bpf(int cmd, union bpf_attr *attr) {
        return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* Loads the program; when the kernel refuses it, loads it again with the verifier's log for
 * the error (no log on the common path: it costs time). */
static int load(const struct program *p, struct tender_error *err) {
        union bpf_attr attr = {
                .prog_type = BPF_PROG_TYPE_CGROUP_DEVICE,
                .insns = (uintptr_t) p->insns,
                .insn_cnt = (uint32_t) p->n,
                .license = (uintptr_t) "Apache-2.0",
        };
        int fd = (int) bpf(BPF_PROG_LOAD, &attr);
        if (fd >= 0)
                return fd;
        int r = -errno;
        _cleanup_free_ char *log = calloc(1, LOG_SIZE);
        if (log) {
                attr.log_buf = (uintptr_t) log;
                attr.log_size = LOG_SIZE;
                attr.log_level = 1;
                fd = (int) bpf(BPF_PROG_LOAD, &attr);
                if (fd >= 0)
                        close(fd);
                log[LOG_SIZE - 1] = '\0';
        }
        return tender_error_set_errno(err, TENDER_ERR_RUNTIME, r,
                                      "linux.resources.devices: load the cgroup v2 device "
                                      "program (%zu instructions)%s%.200s",
                                      p->n, log && log[0] ? ": " : "", log ? log : "");
}

int tender_rt_devices_bpf_attach(int cgroupfd, const struct tender_rt_device_rule *rules, size_t n,
                                 struct tender_error *err) {
        struct program p = {0};
        int r = build(rules, n, &p);
        _cleanup_free_ struct bpf_insn *insns = p.insns;
        if (r < 0)
                return r;
        _cleanup_close_ int prog = load(&p, err);
        if (prog < 0)
                return prog;
        union bpf_attr attach = {
                .target_fd = (uint32_t) cgroupfd,
                .attach_bpf_fd = (uint32_t) prog,
                .attach_type = BPF_CGROUP_DEVICE,
                .attach_flags = BPF_F_ALLOW_MULTI,
        };
        if (bpf(BPF_PROG_ATTACH, &attach) < 0)
                return tender_error_set_errno(err, TENDER_ERR_RUNTIME, errno,
                                              "linux.resources.devices: attach the cgroup v2 "
                                              "device program");
        return 0;
}
