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

/*
 * SHA-256 with the x86 SHA extensions (SHA-NI) where the CPU has them, mbedTLS's portable code
 * otherwise. Every layer byte is hashed (blob downloads, extraction, delta applying): with
 * mbedTLS alone hashing was 60 % of the CPU time of applying a delta (docs/delta-format.md,
 * "Apply speed and memory"); SHA-NI hashes several times faster. The choice is made once, from
 * CPUID; tests/unit/test_digest.c checks both paths against each other and known digests.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DIGEST_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#define SHA256_BLOCK 64

struct tender_sha256 {
        bool ni; /* SHA-NI: the fields below; else ctx */
        uint32_t h[8];
        uint8_t buf[SHA256_BLOCK];
        size_t buf_len;
        uint64_t total;
        mbedtls_sha256_context ctx;
};

static int sha256_force_portable = -1; /* -1: from CPUID (tests may set 0 or 1) */

#ifdef DIGEST_HAVE_SHANI
static const uint32_t sha256_k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
};

static bool cpu_has_shani(void) {
        unsigned a, b, c, d;
        if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
                return false;
        return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}

/* The compression function over n blocks. The state is kept as the instructions want it: one
 * register with A, B, E, F and one with C, D, G, H (highest lane first); each
 * sha256rnds2 does two rounds and the two registers swap roles. */
__attribute__((target("sha,sse4.1,ssse3"))) static void shani_blocks(uint32_t h[8],
                                                                     const uint8_t *p, size_t n) {
        const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
        __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *) h), 0xB1);
        __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *) (h + 4)), 0x1B);
        __m128i s0 = _mm_alignr_epi8(t, s1, 8); /* A B E F */
        s1 = _mm_blend_epi16(s1, t, 0xF0);      /* C D G H */

        for (; n > 0; n--, p += SHA256_BLOCK) {
                __m128i m[4], abef = s0, cdgh = s1;
                for (int g = 0; g < 16; g++) {
                        __m128i w;
                        if (g < 4) {
                                w = _mm_loadu_si128((const __m128i *) (p + 16 * g));
                                w = m[g] = _mm_shuffle_epi8(w, bswap);
                        } else {
                                /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16] */
                                w = _mm_sha256msg1_epu32(m[g & 3], m[(g + 1) & 3]);
                                w = _mm_add_epi32(
                                        w, _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4));
                                w = m[g & 3] = _mm_sha256msg2_epu32(w, m[(g + 3) & 3]);
                        }
                        __m128i wk = _mm_add_epi32(
                                w, _mm_loadu_si128((const __m128i *) (sha256_k + 4 * g)));
                        s1 = _mm_sha256rnds2_epu32(s1, s0, wk);
                        s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(wk, 0x0E));
                }
                s0 = _mm_add_epi32(s0, abef);
                s1 = _mm_add_epi32(s1, cdgh);
        }
        t = _mm_shuffle_epi32(s0, 0x1B);
        s1 = _mm_shuffle_epi32(s1, 0xB1);
        _mm_storeu_si128((__m128i *) h, _mm_blend_epi16(t, s1, 0xF0));
        _mm_storeu_si128((__m128i *) (h + 4), _mm_alignr_epi8(s1, t, 8));
}
#endif

static bool use_shani(void) {
#ifdef DIGEST_HAVE_SHANI
        static int have = -1;
        if (sha256_force_portable >= 0)
                return !sha256_force_portable && cpu_has_shani();
        if (have < 0)
                have = cpu_has_shani();
        return have;
#else
        return false;
#endif
}

void tender_sha256_force_portable(int portable) {
        sha256_force_portable = portable;
}

static void sha256_init(struct tender_sha256 *h) {
        static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
        h->ni = use_shani();
        memcpy(h->h, iv, sizeof(iv));
        h->buf_len = 0;
        h->total = 0;
        mbedtls_sha256_init(&h->ctx);
        if (!h->ni)
                (void) sha256_starts(&h->ctx);
}

static void sha256_update_any(struct tender_sha256 *h, const uint8_t *p, size_t len) {
#ifdef DIGEST_HAVE_SHANI
        if (h->ni) {
                h->total += len;
                if (h->buf_len > 0) {
                        size_t k =
                                len < SHA256_BLOCK - h->buf_len ? len : SHA256_BLOCK - h->buf_len;
                        memcpy(h->buf + h->buf_len, p, k);
                        h->buf_len += k;
                        p += k;
                        len -= k;
                        if (h->buf_len < SHA256_BLOCK)
                                return;
                        shani_blocks(h->h, h->buf, 1);
                        h->buf_len = 0;
                }
                shani_blocks(h->h, p, len / SHA256_BLOCK);
                p += len / SHA256_BLOCK * SHA256_BLOCK;
                h->buf_len = len % SHA256_BLOCK;
                memcpy(h->buf, p, h->buf_len);
                return;
        }
#endif
        (void) sha256_update(&h->ctx, p, len);
}

static void sha256_final_any(struct tender_sha256 *h, uint8_t out[TENDER_SHA256_SIZE]) {
#ifdef DIGEST_HAVE_SHANI
        if (h->ni) {
                uint64_t bits = h->total * 8;
                h->buf[h->buf_len++] = 0x80;
                if (h->buf_len > SHA256_BLOCK - 8) {
                        memset(h->buf + h->buf_len, 0, SHA256_BLOCK - h->buf_len);
                        shani_blocks(h->h, h->buf, 1);
                        h->buf_len = 0;
                }
                memset(h->buf + h->buf_len, 0, SHA256_BLOCK - 8 - h->buf_len);
                for (int i = 0; i < 8; i++)
                        h->buf[SHA256_BLOCK - 1 - i] = (uint8_t) (bits >> (8 * i));
                shani_blocks(h->h, h->buf, 1);
                for (int i = 0; i < 8; i++)
                        for (int j = 0; j < 4; j++)
                                out[4 * i + j] = (uint8_t) (h->h[i] >> (24 - 8 * j));
                return;
        }
#endif
        (void) sha256_finish(&h->ctx, out);
}

struct tender_sha256 *tender_sha256_new(void) {
        struct tender_sha256 *h = malloc(sizeof(*h));
        if (!h)
                return NULL;
        sha256_init(h);
        return h;
}

void tender_sha256_update(struct tender_sha256 *h, const void *data, size_t len) {
        if (len == 0)
                return;
        sha256_update_any(h, data, len);
}

void tender_sha256_final(struct tender_sha256 *h, struct tender_digest *ret) {
        sha256_final_any(h, ret->bytes);
}

void tender_sha256_free(struct tender_sha256 *h) {
        if (!h)
                return;
        mbedtls_sha256_free(&h->ctx);
        free(h);
}

void tender_sha256_buffer(const void *data, size_t len, struct tender_digest *ret) {
        struct tender_sha256 h;
        sha256_init(&h);
        if (len > 0)
                sha256_update_any(&h, data, len);
        sha256_final_any(&h, ret->bytes);
        mbedtls_sha256_free(&h.ctx);
}

int tender_sha256_fd(int fd, struct tender_digest *ret, uint64_t *ret_size) {
        _cleanup_free_ uint8_t *buf = malloc(SHA256_FD_CHUNK);
        if (!buf)
                return -ENOMEM;
        struct tender_sha256 h;
        sha256_init(&h);
        uint64_t total = 0;
        for (;;) {
                ssize_t n = read(fd, buf, SHA256_FD_CHUNK);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        mbedtls_sha256_free(&h.ctx);
                        return r;
                }
                if (n == 0)
                        break;
                sha256_update_any(&h, buf, (size_t) n);
                total += (uint64_t) n;
        }
        sha256_final_any(&h, ret->bytes);
        mbedtls_sha256_free(&h.ctx);
        if (ret_size)
                *ret_size = total;
        return 0;
}

static int unhex(char c, int flags) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if ((flags & TENDER_HEX_ANY_CASE) && c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int tender_hex_decode(const char *in, uint8_t *out, size_t max, size_t *ret_len, int flags) {
        /* strnlen bounds the scan so an over-long string is refused without reading it all. */
        size_t n = strnlen(in, 2 * max + 1);
        if (n == 0 || n % 2 != 0 || n / 2 > max)
                return -EINVAL;
        for (size_t i = 0; i < n / 2; i++) {
                int hi = unhex(in[2 * i], flags), lo = unhex(in[2 * i + 1], flags);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (uint8_t) (hi << 4 | lo);
        }
        *ret_len = n / 2;
        return 0;
}

int tender_digest_parse(const char *s, struct tender_digest *ret) {
        if (!s || strncmp(s, DIGEST_PREFIX, DIGEST_PREFIX_LEN) != 0)
                return -EINVAL;
        const char *hex = s + DIGEST_PREFIX_LEN;
        struct tender_digest d;
        size_t n = 0;
        if (strnlen(hex, DIGEST_HEX_LEN + 1) != DIGEST_HEX_LEN ||
            tender_hex_decode(hex, d.bytes, sizeof(d.bytes), &n, 0) < 0)
                return -EINVAL;
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
