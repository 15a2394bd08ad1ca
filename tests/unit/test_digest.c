/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tender/digest.h"
#include "tender/macro.h"
#include "test.h"

#define EMPTY_SHA256 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_SHA256 "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* FIPS 180-2 two-block vector. */
#define LONG_INPUT "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define LONG_SHA256 "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"

TEST(buffer_known_vectors) {
        struct tender_digest d;
        char buf[TENDER_DIGEST_STRING_MAX];

        tender_sha256_buffer("", 0, &d);
        ASSERT_STREQ(tender_digest_format(&d, buf), EMPTY_SHA256);
        tender_sha256_buffer(NULL, 0, &d);
        ASSERT_STREQ(tender_digest_format(&d, buf), EMPTY_SHA256);
        tender_sha256_buffer("abc", 3, &d);
        ASSERT_STREQ(tender_digest_format(&d, buf), ABC_SHA256);
        tender_sha256_buffer(LONG_INPUT, strlen(LONG_INPUT), &d);
        ASSERT_STREQ(tender_digest_format(&d, buf), LONG_SHA256);
}

TEST(streaming_matches_buffer) {
        struct tender_sha256 *h = tender_sha256_new();
        ASSERT_TRUE(h);
        const char *s = LONG_INPUT;
        /* Uneven pieces, including empty ones, must give the one-shot result. */
        size_t len = strlen(s), off = 0, step = 0;
        while (off < len) {
                size_t n = step % 7;
                if (n > len - off)
                        n = len - off;
                tender_sha256_update(h, s + off, n);
                off += n;
                step++;
        }
        struct tender_digest d;
        tender_sha256_final(h, &d);
        tender_sha256_free(h);
        tender_sha256_free(NULL);
        char buf[TENDER_DIGEST_STRING_MAX];
        ASSERT_STREQ(tender_digest_format(&d, buf), LONG_SHA256);
}

TEST(parse_accepts_canonical) {
        struct tender_digest d;
        ASSERT_OK(tender_digest_parse(ABC_SHA256, &d));
        struct tender_digest want;
        tender_sha256_buffer("abc", 3, &want);
        ASSERT_TRUE(tender_digest_equal(&d, &want));
        char hex[65];
        ASSERT_STREQ(tender_digest_hex(&d, hex), &ABC_SHA256[7]);
        ASSERT_EQ(strlen(hex), 64);
}

TEST(parse_rejects) {
        struct tender_digest d;
        memset(&d, 0x5a, sizeof(d));
        struct tender_digest before = d;
        ASSERT_ERR(tender_digest_parse(NULL, &d), EINVAL);
        ASSERT_ERR(tender_digest_parse("", &d), EINVAL);
        ASSERT_ERR(tender_digest_parse("sha256:", &d), EINVAL);
        /* uppercase hex */
        ASSERT_ERR(tender_digest_parse("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410"
                                       "FF61F20015AD",
                                       &d),
                   EINVAL);
        ASSERT_ERR(tender_digest_parse("sha256:Ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410"
                                       "ff61f20015ad",
                                       &d),
                   EINVAL);
        /* too short, too long */
        ASSERT_ERR(tender_digest_parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410"
                                       "ff61f20015a",
                                       &d),
                   EINVAL);
        ASSERT_ERR(tender_digest_parse(ABC_SHA256 "0", &d), EINVAL);
        ASSERT_ERR(tender_digest_parse(ABC_SHA256 "\n", &d), EINVAL);
        /* other algorithms and prefixes */
        ASSERT_ERR(tender_digest_parse("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410"
                                       "ff61f20015ad",
                                       &d),
                   EINVAL);
        ASSERT_ERR(tender_digest_parse("SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410"
                                       "ff61f20015ad",
                                       &d),
                   EINVAL);
        ASSERT_ERR(tender_digest_parse(&ABC_SHA256[7], &d), EINVAL);
        ASSERT_ERR(tender_digest_parse(" " ABC_SHA256, &d), EINVAL);
        /* non-hex digit in the middle */
        ASSERT_ERR(tender_digest_parse("sha256:ba7816bf8f01cfea414140de5dae2223g00361a396177a9cb410"
                                       "ff61f20015ad",
                                       &d),
                   EINVAL);
        /* the out-param is untouched on failure */
        ASSERT_TRUE(memcmp(&d, &before, sizeof(d)) == 0);
}

TEST(format_round_trip) {
        struct tender_digest d, back;
        for (unsigned i = 0; i < TENDER_SHA256_SIZE; i++)
                d.bytes[i] = (uint8_t) (i * 37 + 11);
        char buf[TENDER_DIGEST_STRING_MAX];
        tender_digest_format(&d, buf);
        ASSERT_EQ(strlen(buf), TENDER_DIGEST_STRING_MAX - 1);
        ASSERT_OK(tender_digest_parse(buf, &back));
        ASSERT_TRUE(tender_digest_equal(&d, &back));
        back.bytes[31] ^= 1;
        ASSERT_FALSE(tender_digest_equal(&d, &back));
}

TEST(fd_hashing) {
        int fd = memfd_create("digest-test", MFD_CLOEXEC);
        if (fd < 0)
                SKIP("memfd_create: %s", strerror(errno));
        /* Larger than the internal read chunk so several reads are hashed. */
        size_t len = 200 * 1024 + 17;
        char *data = malloc(len);
        ASSERT_TRUE(data);
        for (size_t i = 0; i < len; i++)
                data[i] = (char) (i * 7 + (i >> 10));
        ASSERT_EQ(write(fd, data, len), (long long) len);
        struct tender_digest want, got;
        tender_sha256_buffer(data, len, &want);
        free(data);

        uint64_t size = 0;
        ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
        ASSERT_OK(tender_sha256_fd(fd, &got, &size));
        ASSERT_EQ(size, len);
        ASSERT_TRUE(tender_digest_equal(&want, &got));

        /* "What is left of fd": at EOF it is the empty hash; ret_size may be NULL. */
        ASSERT_OK(tender_sha256_fd(fd, &got, NULL));
        char buf[TENDER_DIGEST_STRING_MAX];
        ASSERT_STREQ(tender_digest_format(&got, buf), EMPTY_SHA256);

        ASSERT_EQ(lseek(fd, (off_t) len - 3, SEEK_SET), (long long) len - 3);
        ASSERT_OK(tender_sha256_fd(fd, &got, &size));
        ASSERT_EQ(size, 3);
        close(fd);

        ASSERT_ERR(tender_sha256_fd(-1, &got, &size), EBADF);
}

/* SHA-NI (where the CPU has it) and mbedTLS's portable code must agree for every length around
 * the block size and its padding boundary and for any split into updates. */
static void hash_split(const uint8_t *p, size_t len, size_t step, struct tender_digest *ret) {
        struct tender_sha256 *h = tender_sha256_new();
        for (size_t off = 0; off < len; off += step)
                tender_sha256_update(h, p + off, len - off < step ? len - off : step);
        tender_sha256_final(h, ret);
        tender_sha256_free(h);
}

TEST(accelerated_matches_portable) {
        static const size_t steps[] = {1, 3, 63, 64, 65, 1000, 1 << 20};
        size_t max = 3 * 64 + 1;
        uint8_t *p = malloc(max);
        uint32_t x = 7;
        ASSERT_TRUE(p);
        for (size_t i = 0; i < max; i++) {
                x = x * 1103515245 + 12345;
                p[i] = (uint8_t) (x >> 16);
        }
        for (size_t len = 0; len <= max; len++)
                for (size_t s = 0; s < ELEMENTSOF(steps); s++) {
                        struct tender_digest a, b;
                        tender_sha256_force_portable(1);
                        hash_split(p, len, steps[s], &a);
                        tender_sha256_force_portable(0);
                        hash_split(p, len, steps[s], &b);
                        ASSERT_TRUE(tender_digest_equal(&a, &b));
                }
        tender_sha256_force_portable(-1);
        free(p);
}

/* FIPS 180-2: one million 'a', in pieces that do not fall on blocks. */
TEST(million_a) {
        char buf[TENDER_DIGEST_STRING_MAX];
        uint8_t *p = malloc(1000000);
        struct tender_digest d;
        ASSERT_TRUE(p);
        memset(p, 'a', 1000000);
        for (int portable = 0; portable <= 1; portable++) {
                tender_sha256_force_portable(portable);
                hash_split(p, 1000000, 4099, &d);
                ASSERT_STREQ(
                        tender_digest_format(&d, buf),
                        "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        }
        tender_sha256_force_portable(-1);
        free(p);
}

/* One hex decoder for the library (signatures, TUF keys, digests). */
TEST(hex_decode) {
        uint8_t out[4];
        size_t n = 0;
        ASSERT_OK(tender_hex_decode("00ff7a", out, sizeof(out), &n, 0));
        ASSERT_EQ(n, 3);
        ASSERT_EQ(out[1], 0xff);
        ASSERT_EQ(out[2], 0x7a);
        /* One text form per value: uppercase only where asked for. */
        ASSERT_ERR(tender_hex_decode("00FF", out, sizeof(out), &n, 0), EINVAL);
        ASSERT_OK(tender_hex_decode("00Ff", out, sizeof(out), &n, TENDER_HEX_ANY_CASE));
        ASSERT_EQ(out[1], 0xff);
        ASSERT_ERR(tender_hex_decode("", out, sizeof(out), &n, 0), EINVAL);
        ASSERT_ERR(tender_hex_decode("abc", out, sizeof(out), &n, 0), EINVAL);
        ASSERT_ERR(tender_hex_decode("0g", out, sizeof(out), &n, TENDER_HEX_ANY_CASE), EINVAL);
        ASSERT_ERR(tender_hex_decode("0011223344", out, sizeof(out), &n, 0), EINVAL);
        ASSERT_OK(tender_hex_decode("00112233", out, sizeof(out), &n, 0));
        ASSERT_EQ(n, 4);
}

TEST_MAIN()
