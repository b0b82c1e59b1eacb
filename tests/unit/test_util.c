/*
** Unit tests of the small util helpers: util_grow / util_grow_u32 (growth by
** doubling, no-op when big enough, refusal on overflow with the array and
** its capacity untouched), util_mkdir_p, the UTF-8 rule every caller
** shares (util_utf8_decode / _span / _valid, sc_utf8_char_len): each
** boundary of the table of well-formed sequences, and every kind of
** ill-formed one (stray continuation, bad lead, overlong, surrogate,
** truncated, past U+10FFFF), and the hashes: xxHash's published vectors
** through the wrappers, the frozen pre-xxHash hash.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <xxhash.h>

#include "semcode/common.h"
#include "util/util.h"
#include "testutil.h"

static void test_grow_doubles(void **state) {
    (void)state;
    uint32_t *v = NULL;
    size_t cap = 0;
    /* From empty: min_cap, or the first doubling of it that holds need. */
    assert_true(util_grow(&v, &cap, 1, sizeof *v, 8));
    assert_non_null(v);
    assert_int_equal(cap, 8);
    for (uint32_t i = 0; i < 8; i++) v[i] = i;
    /* One past the end: doubles once; contents kept. */
    assert_true(util_grow(&v, &cap, 9, sizeof *v, 8));
    assert_int_equal(cap, 16);
    for (uint32_t i = 0; i < 8; i++) assert_int_equal(v[i], i);
    /* Far past the end: doubles until it fits. */
    assert_true(util_grow(&v, &cap, 100, sizeof *v, 8));
    assert_int_equal(cap, 128);
    for (uint32_t i = 0; i < 8; i++) assert_int_equal(v[i], i);
    v[127] = 127; /* the whole capacity is usable (ASan checks) */
    free(v);

    char *s = NULL;
    size_t scap = 0;
    assert_true(util_grow(&s, &scap, 200, 1, 64));
    assert_int_equal(scap, 256);
    free(s);
}

static void test_grow_noop(void **state) {
    (void)state;
    double *v = NULL;
    size_t cap = 0;
    assert_true(util_grow(&v, &cap, 0, sizeof *v, 4)); /* nothing needed: no allocation */
    assert_null(v);
    assert_int_equal(cap, 0);
    assert_true(util_grow(&v, &cap, 3, sizeof *v, 4));
    double *before = v;
    assert_true(util_grow(&v, &cap, 4, sizeof *v, 4));
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 4);
    free(v);

    uint16_t *w = NULL;
    uint32_t wcap = 0;
    assert_true(util_grow_u32(&w, &wcap, 5, sizeof *w, 4));
    assert_int_equal(wcap, 8);
    uint16_t *wbefore = w;
    assert_true(util_grow_u32(&w, &wcap, 8, sizeof *w, 4));
    assert_ptr_equal(w, wbefore);
    assert_int_equal(wcap, 8);
    assert_true(util_grow_u32(&w, &wcap, 33, sizeof *w, 4));
    assert_int_equal(wcap, 64);
    free(w);
}

static void test_grow_overflow(void **state) {
    (void)state;
    /* The array is real but its recorded capacity is huge: doubling it would
    ** overflow cap * elem, so nothing is touched. */
    uint64_t *v = malloc(16);
    assert_non_null(v);
    uint64_t *before = v;
    size_t cap = SIZE_MAX / 16 + 1;
    assert_false(util_grow(&v, &cap, cap + 1, sizeof *v, 4));
    assert_ptr_equal(v, before);
    assert_int_equal(cap, SIZE_MAX / 16 + 1);
    /* The element count itself would overflow. */
    char *s = NULL;
    size_t scap = 0;
    assert_false(util_grow(&s, &scap, SIZE_MAX, 1, 64));
    assert_null(s);
    assert_int_equal(scap, 0);
    scap = SIZE_MAX / 2 + 1;
    assert_false(util_grow(&s, &scap, scap + 1, 1, 64));
    assert_int_equal(scap, SIZE_MAX / 2 + 1);
    /* min_cap alone is too many bytes. */
    size_t zcap = 0;
    assert_false(util_grow(&v, &zcap, 1, SIZE_MAX / 2, 4));
    assert_ptr_equal(v, before);
    assert_int_equal(zcap, 0);
    /* uint32_t capacity: refused past UINT32_MAX elements. */
    uint32_t ucap = 0x80000000u;
    assert_false(util_grow_u32(&v, &ucap, (size_t)ucap + 1, 1, 4));
    assert_ptr_equal(v, before);
    assert_int_equal(ucap, 0x80000000u);
    ucap = 0;
    assert_false(util_grow_u32(&v, &ucap, (size_t)UINT32_MAX + 1, 1, 4));
    assert_ptr_equal(v, before);
    assert_int_equal(ucap, 0);
    free(v);
}

static bool is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* util_mkdir_p: every missing level, existing ones, doubled and trailing
** slashes; a file in the way is ENOTDIR. */
static void test_mkdir_p(void **state) {
    (void)state;
    char *dir = tu_tmpdir("mkdirp");
    char p[512];
    snprintf(p, sizeof p, "%s/a/b//c/", dir);
    assert_int_equal(util_mkdir_p(p), 0);
    snprintf(p, sizeof p, "%s/a/b/c", dir);
    assert_true(is_dir(p));
    assert_int_equal(util_mkdir_p(p), 0); /* already there */
    snprintf(p, sizeof p, "%s/a/file", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(util_mkdir_p(p), -1);
    assert_int_equal(errno, ENOTDIR);
    snprintf(p, sizeof p, "%s/a/file/x", dir);
    assert_int_equal(util_mkdir_p(p), -1);
    assert_int_equal(util_mkdir_p(""), -1);
    tu_rmdir(dir);
}

/* One sequence and what must come of it: its length as a character (0 =
** ill-formed) and its code point. */
typedef struct utf8_case {
    const char *bytes; /* the sequence (NUL-terminated; n bytes) */
    size_t n;          /* its length */
    size_t len;        /* util_utf8_decode's answer */
    int32_t cp;        /* the code point when len > 0 */
} utf8_case;

static const utf8_case utf8_cases[] = {
    /* well-formed: the ends of each row of Unicode's table 3-7 */
    {"\x00", 1, 1, 0x0},
    {"\x7f", 1, 1, 0x7F},
    {"\xc2\x80", 2, 2, 0x80},
    {"\xdf\xbf", 2, 2, 0x7FF},
    {"\xe0\xa0\x80", 3, 3, 0x800},
    {"\xed\x9f\xbf", 3, 3, 0xD7FF},
    {"\xee\x80\x80", 3, 3, 0xE000},
    {"\xef\xbf\xbe", 3, 3, 0xFFFE}, /* a noncharacter is well-formed */
    {"\xef\xb7\x90", 3, 3, 0xFDD0},
    {"\xef\xbf\xbf", 3, 3, 0xFFFF},
    {"\xf0\x90\x80\x80", 4, 4, 0x10000},
    {"\xf0\x9f\x98\x80", 4, 4, 0x1F600},
    {"\xf4\x8f\xbf\xbf", 4, 4, 0x10FFFF},
    {"\xc3\xa9x", 3, 2, 0xE9}, /* only the first character */
    /* stray continuation bytes and lead bytes that never start one */
    {"\x80", 1, 0, 0},
    {"\xbf", 1, 0, 0},
    {"\xc0\x80", 2, 0, 0}, /* overlong NUL */
    {"\xc1\xbf", 2, 0, 0}, /* overlong U+007F */
    {"\xf5\x80\x80\x80", 4, 0, 0},
    {"\xf8\x88\x80\x80\x80", 5, 0, 0},
    {"\xfe", 1, 0, 0},
    {"\xff", 1, 0, 0},
    /* overlong forms */
    {"\xc0\xaf", 2, 0, 0},
    {"\xe0\x80\xaf", 3, 0, 0},
    {"\xe0\x9f\xbf", 3, 0, 0},
    {"\xf0\x80\x80\xaf", 4, 0, 0},
    {"\xf0\x8f\xbf\xbf", 4, 0, 0},
    /* surrogates (CESU-8 halves) */
    {"\xed\xa0\x80", 3, 0, 0},
    {"\xed\xbf\xbf", 3, 0, 0},
    {"\xed\xa0\xbd\xed\xb8\x80", 6, 0, 0},
    /* past U+10FFFF */
    {"\xf4\x90\x80\x80", 4, 0, 0},
    {"\xf7\xbf\xbf\xbf", 4, 0, 0},
    /* truncated: by the end of the input, or by a byte that is no continuation */
    {"\xc3", 1, 0, 0},
    {"\xe2\x82", 2, 0, 0},
    {"\xf0\x9f\x98", 3, 0, 0},
    {"\xe2\x82x", 3, 0, 0},
    {"\xf0\x9f\x98\x00", 4, 0, 0},
    {"\xc3\xc3\xa9", 3, 0, 0},
};

static void test_utf8_decode(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        const utf8_case *c = &utf8_cases[i];
        int32_t cp = -7;
        size_t len = util_utf8_decode(c->bytes, c->n, &cp);
        if (len != c->len) fail_msg("case %zu: length %zu, expected %zu", i, len, c->len);
        if (len && cp != c->cp) fail_msg("case %zu: U+%04X, expected U+%04X", i, (unsigned)cp, (unsigned)c->cp);
        if (!len) assert_int_equal(cp, -7); /* untouched */
        assert_int_equal(sc_utf8_char_len(c->bytes, c->n), c->len);
        assert_int_equal(util_utf8_decode(c->bytes, c->n, NULL), c->len);
        /* whole-string validity: a well-formed character alone is valid,
        ** an ill-formed start is bad at byte 0 */
        size_t bad = 99;
        if (c->len == c->n) assert_true(util_utf8_valid(c->bytes, c->n, &bad));
        if (c->len == 0) {
            assert_false(util_utf8_valid(c->bytes, c->n, &bad));
            assert_int_equal(bad, 0);
        }
        /* cut short by n: never reads or accepts past it */
        if (c->len > 1) assert_int_equal(util_utf8_decode(c->bytes, c->len - 1, NULL), 0);
    }
    assert_int_equal(util_utf8_decode("", 0, NULL), 0);
    assert_int_equal(sc_utf8_char_len(NULL, 4), 0);
}

static void test_utf8_valid_and_span(void **state) {
    (void)state;
    size_t bad = 0;
    const char *ok = "plain ASCII, caf\xc3\xa9, \xe6\x97\xa5\xe6\x9c\xac, \xf0\x9f\x98\x80.";
    assert_true(util_utf8_valid(ok, strlen(ok), &bad));
    assert_true(util_utf8_valid("", 0, NULL));
    /* the offset of the first bad byte, after good ASCII and non-ASCII */
    assert_false(util_utf8_valid("ab\xc3\xa9\xed\xa0\x80z", 8, &bad));
    assert_int_equal(bad, 4);
    assert_false(util_utf8_valid("abc\xe2\x82", 5, &bad)); /* truncated at the end */
    assert_int_equal(bad, 3);
    assert_false(util_utf8_valid("\xf4\x90\x80\x80", 4, &bad));
    assert_int_equal(bad, 0);
    assert_false(util_utf8_valid("x\x80", 2, NULL)); /* bad_at may be NULL */
    /* span: a run of non-ASCII characters, up to ASCII or a bad byte */
    assert_int_equal(util_utf8_span("\xe6\x97\xa5\xe6\x9c\xac" "abc", 9), 6);
    assert_int_equal(util_utf8_span("\xc3\xa9\xc3\xa9\xff", 5), 4);
    assert_int_equal(util_utf8_span("\xc3\xa9\xc3", 3), 2); /* a truncated tail is left */
    assert_int_equal(util_utf8_span("abc", 3), 0);
    assert_int_equal(util_utf8_span("\xed\xa0\x80", 3), 0);
    assert_int_equal(util_utf8_span("", 0), 0);
}

/* The wrappers give xxHash's published values (XXH3 test vectors of the
** xxHash project: empty input and "abc"), its canonical byte order and hex,
** and pass the seed through. */
static void test_hash_xxh3_vectors(void **state) {
    (void)state;
    assert_true(util_hash64("", 0, 0) == 0x2D06800538D394C2ULL);
    assert_true(util_hash64(NULL, 0, 0) == 0x2D06800538D394C2ULL);
    assert_true(util_hash64("abc", 3, 0) == 0x78AF5F94892F3950ULL);
    util_h128 e = util_hash128("", 0, 0);
    assert_true(e.hi == 0x99AA06D3014798D8ULL && e.lo == 0x6001C324468D497FULL);
    util_h128 a = util_hash128("abc", 3, 0);
    assert_true(a.hi == 0x06B05AB6733A6185ULL && a.lo == 0x78AF5F94892F3950ULL);
    char hex[33];
    util_h128_hex(e, hex);
    assert_string_equal(hex, "99aa06d3014798d86001c324468d497f");
    uint8_t b[16];
    util_h128_bytes(a, b);
    static const uint8_t want[16] = {0x06, 0xb0, 0x5a, 0xb6, 0x73, 0x3a, 0x61, 0x85,
                                     0x78, 0xaf, 0x5f, 0x94, 0x89, 0x2f, 0x39, 0x50};
    assert_memory_equal(b, want, 16);
    /* every length class of XXH3 (up to 240 bytes and beyond), against the library's own canonical form */
    char buf[1000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)(i * 7 + 3);
    size_t lens[] = {1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1000};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits_withSeed(buf, lens[k], 42));
        util_h128_bytes(util_hash128(buf, lens[k], 42), b);
        assert_memory_equal(b, c.digest, 16);
        assert_true(util_hash64(buf, lens[k], 42) == XXH3_64bits_withSeed(buf, lens[k], 42));
    }
    /* the seed matters */
    assert_true(util_hash64("abc", 3, 1) != util_hash64("abc", 3, 0));
    util_h128 s = util_hash128("abc", 3, 1);
    assert_false(s.hi == a.hi && s.lo == a.lo);
}

/* The pre-xxHash hash is frozen: the built-in model's n-gram buckets, its
** file checksum (and so its id) and files of index format 1 depend on it. */
static void test_hash_v1_frozen(void **state) {
    (void)state;
    assert_true(util_hash64_v1("", 0, 0) == 0x48218226FF3CD4BFULL);
    assert_true(util_hash64_v1("abc", 3, 0) == 0x5FDBA2DE0F52B0FCULL);
    assert_true(util_hash64_v1("0123456789abcdef+", 17, 0x5e3c0de) == 0x8A46B6E6A2B875D5ULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_doubles),
        cmocka_unit_test(test_grow_noop),
        cmocka_unit_test(test_grow_overflow),
        cmocka_unit_test(test_mkdir_p),
        cmocka_unit_test(test_utf8_decode),
        cmocka_unit_test(test_utf8_valid_and_span),
        cmocka_unit_test(test_hash_xxh3_vectors),
        cmocka_unit_test(test_hash_v1_frozen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
