/* SPDX-License-Identifier: Apache-2.0 */
#include "tender/digest.h"

#include <errno.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <string.h>
#include <unistd.h>

#include "tender/macro.h"

/* mbedTLS 3.0 dropped the _ret suffixes that 2.x needs to report errors; the hash cannot fail
 * with the software implementation, so the results are ignored in both cases. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define sha256_starts(c) mbedtls_sha256_starts((c), 0)
#define sha256_update(c, d, l) mbedtls_sha256_update((c), (d), (l))
#define sha256_finish(c, o) mbedtls_sha256_finish((c), (o))
#else
#define sha256_starts(c) mbedtls_sha256_starts_ret((c), 0)
#define sha256_update(c, d, l) mbedtls_sha256_update_ret((c), (d), (l))
#define sha256_finish(c, o) mbedtls_sha256_finish_ret((c), (o))
#endif

#define DIGEST_PREFIX "sha256:"
#define DIGEST_PREFIX_LEN (sizeof(DIGEST_PREFIX) - 1)
#define DIGEST_HEX_LEN (2 * TENDER_SHA256_SIZE)
#define SHA256_FD_CHUNK (64 * 1024)

struct tender_sha256 {
        mbedtls_sha256_context ctx;
};

struct tender_sha256 *tender_sha256_new(void) {
        struct tender_sha256 *h = malloc(sizeof(*h));
        if (!h)
                return NULL;
        mbedtls_sha256_init(&h->ctx);
        (void) sha256_starts(&h->ctx);
        return h;
}

void tender_sha256_update(struct tender_sha256 *h, const void *data, size_t len) {
        if (len == 0)
                return;
        (void) sha256_update(&h->ctx, data, len);
}

void tender_sha256_final(struct tender_sha256 *h, struct tender_digest *ret) {
        (void) sha256_finish(&h->ctx, ret->bytes);
}

void tender_sha256_free(struct tender_sha256 *h) {
        if (!h)
                return;
        mbedtls_sha256_free(&h->ctx);
        free(h);
}

void tender_sha256_buffer(const void *data, size_t len, struct tender_digest *ret) {
        mbedtls_sha256_context ctx;
        mbedtls_sha256_init(&ctx);
        (void) sha256_starts(&ctx);
        if (len > 0)
                (void) sha256_update(&ctx, data, len);
        (void) sha256_finish(&ctx, ret->bytes);
        mbedtls_sha256_free(&ctx);
}

int tender_sha256_fd(int fd, struct tender_digest *ret, uint64_t *ret_size) {
        _cleanup_free_ uint8_t *buf = malloc(SHA256_FD_CHUNK);
        if (!buf)
                return -ENOMEM;
        mbedtls_sha256_context ctx;
        mbedtls_sha256_init(&ctx);
        (void) sha256_starts(&ctx);
        uint64_t total = 0;
        for (;;) {
                ssize_t n = read(fd, buf, SHA256_FD_CHUNK);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        mbedtls_sha256_free(&ctx);
                        return r;
                }
                if (n == 0)
                        break;
                (void) sha256_update(&ctx, buf, (size_t) n);
                total += (uint64_t) n;
        }
        (void) sha256_finish(&ctx, ret->bytes);
        mbedtls_sha256_free(&ctx);
        if (ret_size)
                *ret_size = total;
        return 0;
}

static int unhex_lower(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int tender_digest_parse(const char *s, struct tender_digest *ret) {
        if (!s || strncmp(s, DIGEST_PREFIX, DIGEST_PREFIX_LEN) != 0)
                return -EINVAL;
        const char *hex = s + DIGEST_PREFIX_LEN;
        /* strnlen bounds the scan so an over-long string is refused without reading it all. */
        if (strnlen(hex, DIGEST_HEX_LEN + 1) != DIGEST_HEX_LEN)
                return -EINVAL;
        struct tender_digest d;
        for (size_t i = 0; i < TENDER_SHA256_SIZE; i++) {
                int hi = unhex_lower(hex[2 * i]), lo = unhex_lower(hex[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                d.bytes[i] = (uint8_t) (hi << 4 | lo);
        }
        *ret = d;
        return 0;
}

char *tender_digest_hex(const struct tender_digest *d, char buf[static 65]) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < TENDER_SHA256_SIZE; i++) {
                buf[2 * i] = digits[d->bytes[i] >> 4];
                buf[2 * i + 1] = digits[d->bytes[i] & 0xf];
        }
        buf[DIGEST_HEX_LEN] = '\0';
        return buf;
}

char *tender_digest_format(const struct tender_digest *d,
                           char buf[static TENDER_DIGEST_STRING_MAX]) {
        memcpy(buf, DIGEST_PREFIX, DIGEST_PREFIX_LEN);
        tender_digest_hex(d, buf + DIGEST_PREFIX_LEN);
        return buf;
}

bool tender_digest_equal(const struct tender_digest *a, const struct tender_digest *b) {
        return memcmp(a->bytes, b->bytes, TENDER_SHA256_SIZE) == 0;
}
