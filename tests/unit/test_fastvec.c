/*
** Unit tests of the upsert fast path for vectors (server/fastvec.c): the
** number scanner against the jansson path it stands in for ((float)strtod
** of a real token, (float)(double)strtoll of an integer one, refusal of
** what jansson or server_json_floats refuses), on edge cases and on many
** random values; the array reader; the body walk (what it replaces, what
** it leaves to jansson, and that the copy parses iff the body does).
*/
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/server_int.h"
#include "testutil.h"

/* ==== Reference ==== */

/* What jansson + server_json_floats make of the token t (all of it): true
** and *out, or false when either refuses it. */
static bool ref_number(const char *t, float *out) {
    json_error_t e;
    char buf[512];
    snprintf(buf, sizeof buf, "[%s]", t);
    json_t *a = json_loads(buf, 0, &e);
    if (!a) return false;
    const json_t *x = json_array_get(a, 0);
    bool ok = json_array_size(a) == 1 && json_is_number(x);
    double d = ok ? json_number_value(x) : 0.0;
    json_decref(a);
    if (!ok || !isfinite(d) || fabs(d) > 3.4e38) return false;
    *out = (float)d;
    return true;
}

/* The scanner on the whole token t must agree with the reference, bit for bit. */
static void check_number(const char *t) {
    float got = 0.0f, want = 0.0f;
    size_t used = 0;
    bool ok = server_fastvec_number(t, strlen(t), &got, &used);
    bool ref = ref_number(t, &want);
    if (ok && used != strlen(t)) ok = false; /* a prefix is a number, the token is not */
    if (ok != ref || (ok && memcmp(&got, &want, sizeof got))) {
        fprintf(stderr, "token '%s': scanner %s %.9g, reference %s %.9g\n", t, ok ? "took" : "refused", (double)got,
                ref ? "took" : "refused", (double)want);
        fail();
    }
}

/* ==== Numbers ==== */

static void test_edge_numbers(void **state) {
    (void)state;
    static const char *const toks[] = {
        "0", "-0", "0.0", "-0.0", "0e0", "-0e-5", "-0E+5", "1", "-1", "1e5", "1E+5", "1e-5", "1.5e3", "2.5E-3",
        "0.1", "0.2", "0.3", "0.12345", "-0.98765", "123.456", "1e22", "1e23", "9007199254740993", "9007199254740993.0",
        "3.4e38", "3.40000001e38", "3.41e38", "1e39", "-1e39", "1.5e308", "1e309", "-1e309", "1.7976931348623157e308",
        "1e-38", "1e-45", "1.4e-45", "7e-46", "1e-300", "1e-400", "-1e-400", "4.9e-324", "2.2250738585072014e-308",
        "1e999999999999", "1e-999999999999", "0e999999999999", "1e+0000000000000000000000001",
        "9223372036854775807", "-9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "-9223372036854775809", "12345678901234567890", "99999999999999999999", "1234567890123456789",
        "0.1234567890123456789012345", "123456789012345678901234567890.5", "1234567890123456789.5",
        "0.00000000000000000000000000001234", "0.000000000000000000000000000000000000000000000001",
        "16777217", "16777217.0", "33554435", "1152921573326323713", "-1152921573326323713", "0.100000001490116119384765625", "0.10000000149011612",
        "+1", "01", "-01", "00", ".5", "-.5", "1.", "1.e5", "1e", "1e+", "1e-", "-", "", "e5", "NaN", "nan",
        "Infinity", "-Infinity", "inf", "0x10", "1_000", "--1", "1.5.3", "1e5e5", "٣"};
    for (size_t i = 0; i < sizeof toks / sizeof *toks; i++) check_number(toks[i]);
    /* a token longer than the scanner's stack copy (found by fuzz_fastvec) */
    char longtok[300] = "0.1234";
    memset(longtok + 6, '0', 250);
    longtok[256] = 0;
    check_number(longtok);
    longtok[100] = '7';
    check_number(longtok);
    /* negative zero: the real token keeps its sign, the integer one does not (jansson's integer) */
    float f;
    size_t used;
    assert_true(server_fastvec_number("-0.0", 4, &f, &used) && signbit(f));
    assert_true(server_fastvec_number("-0", 2, &f, &used) && !signbit(f));
    assert_true(server_fastvec_number("-1e-400", 7, &f, &used) && f == 0.0f && signbit(f));
}

static void test_number_ends(void **state) {
    (void)state;
    float f;
    size_t used;
    /* the number ends at the first byte that cannot continue it */
    assert_true(server_fastvec_number("1.5, 2", 6, &f, &used) && used == 3 && f == 1.5f);
    assert_true(server_fastvec_number("-2e3]", 5, &f, &used) && used == 4 && f == -2000.0f);
    assert_true(server_fastvec_number("7\n", 2, &f, &used) && used == 1 && f == 7.0f);
    /* truncated input: every prefix of a token is read only as far as it is a number */
    const char *t = "-12.5e-3";
    for (size_t n = 0; n <= strlen(t); n++) {
        char pre[16];
        memcpy(pre, t, n);
        pre[n] = 0;
        check_number(pre);
        bool ok = server_fastvec_number(t, n, &f, &used);
        assert_true(!ok || used <= n);
    }
}

static void test_random_numbers(void **state) {
    (void)state;
    tu_rng r = {42};
    char tok[96];
    for (int i = 0; i < 600000; i++) {
        uint64_t x = tu_next(&r);
        switch (i % 7) {
        case 0: { /* a float32 printed as a client would: 5 to 9 decimals */
            float v = tu_uniform(&r);
            snprintf(tok, sizeof tok, "%.*f", 5 + (int)(x % 5), (double)v);
            break;
        }
        case 1: { /* a double, shortest-ish or 17 digits (JSON.stringify, Python) */
            double v = (double)tu_uniform(&r) * pow(10.0, (double)((int)(x % 60) - 30));
            snprintf(tok, sizeof tok, "%.*g", 1 + (int)(x % 17), v);
            break;
        }
        case 2: { /* exponent form */
            double v = (double)tu_uniform(&r);
            snprintf(tok, sizeof tok, "%.*e", (int)(x % 20), v * pow(10.0, (double)((int)(x >> 8) % 90 - 45)));
            break;
        }
        case 3: { /* random digits: up to 30 of them, a point somewhere, a random exponent */
            size_t n = 0, nd = 1 + x % 30, dot = (x >> 5) % (nd + 1);
            if (x & 1u << 12) tok[n++] = '-';
            for (size_t k = 0; k < nd; k++) {
                if (k == dot && k) tok[n++] = '.';
                tok[n++] = (char)('0' + tu_next(&r) % 10);
            }
            if (x & 1u << 13) n += (size_t)snprintf(tok + n, sizeof tok - n, "e%d", (int)((x >> 16) % 100) - 50);
            tok[n] = 0;
            break;
        }
        case 4: { /* near float boundaries: halfway cases of float32, exact or rounded to 9..17 digits */
            uint32_t bits = (uint32_t)(x >> 32);
            float v;
            memcpy(&v, &bits, sizeof v);
            if (!isfinite(v)) v = 1.0f;
            double half = (double)v + (double)(nextafterf(v, INFINITY) - v) / 2.0;
            int digits = (x & 7) == 0 ? 25 : 9 + (int)((x >> 3) % 9);
            snprintf(tok, sizeof tok, (x & 8) ? "%.*g" : "%.*e", digits, half);
            break;
        }
        case 5: { /* halfway cases of float32 in [1e-4, 1e4), 10..16 digits: Clinger's path next to a boundary */
            float v = (float)pow(10.0, (double)tu_uniform(&r) * 4.0);
            double half = (double)v + (double)(nextafterf(v, INFINITY) - v) / 2.0;
            snprintf(tok, sizeof tok, "%.*g", 10 + (int)(x % 7), half);
            break;
        }
        default: /* integers */
            snprintf(tok, sizeof tok, "%lld", (long long)(x >> (x % 64)) * ((x & 2) ? -1 : 1));
            break;
        }
        check_number(tok);
    }
}

/* Every digit count from 1 to 24 in the integer part and in the fraction
** (the 8-byte digit reader's chunk edges and the 19-digit bound of its
** common case), each token read alone from a buffer of exactly its size
** (so a sanitizer sees any read past it) and followed by each byte that
** can end a number or that a byte-parallel digit test could take for one. */
static void test_digit_runs(void **state) {
    (void)state;
    tu_rng r = {7};
    static const char ends[] = {',', ']', ' ', '\n', '/', ':', '.', 'e', 'x', '\x80', '\xff', '\xb0', '\x00'};
    for (size_t ni = 1; ni <= 24; ni++) {
        for (size_t nf = 0; nf <= 24; nf++) {
            char tok[64];
            size_t n = 0;
            if (tu_next(&r) & 1) tok[n++] = '-';
            for (size_t k = 0; k < ni; k++) tok[n++] = (char)('0' + (ni > 1 && k == 0 ? 1 + tu_next(&r) % 9 : tu_next(&r) % 10));
            if (nf) tok[n++] = '.';
            for (size_t k = 0; k < nf; k++) tok[n++] = (char)('0' + tu_next(&r) % 10);
            tok[n] = 0;
            check_number(tok);
            char *exact = malloc(n); /* no terminator: the token ends the buffer */
            assert_non_null(exact);
            memcpy(exact, tok, n);
            float f = 0.0f, want = 0.0f;
            size_t used = 0;
            bool ref = ref_number(tok, &want); /* refused: an integer past int64 */
            assert_true(server_fastvec_number(exact, n, &f, &used) == ref);
            assert_true(!ref || (used == n && !memcmp(&f, &want, sizeof f)));
            free(exact);
            if (!ref) continue;
            for (size_t e = 0; e < sizeof ends; e++) {
                char buf[80];
                memcpy(buf, tok, n);
                buf[n] = ends[e];
                memset(buf + n + 1, '7', 16); /* digits after the end byte must not be taken */
                bool ok = server_fastvec_number(buf, n + 17, &f, &used);
                if ((ends[e] == '.' && !nf) || ends[e] == 'e') continue; /* the number goes on: "1.777", "1e777" */
                assert_true(ok && used == n && !memcmp(&f, &want, sizeof f));
            }
        }
    }
}

/* ==== Arrays ==== */

static void test_arrays(void **state) {
    (void)state;
    float f[8];
    size_t end = 0;
    const char *s = "[1, 2 ,3]x";
    assert_int_equal(server_fastvec_array(s, strlen(s), f, 8, &end), 3);
    assert_int_equal(end, 9);
    assert_true(f[0] == 1.0f && f[1] == 2.0f && f[2] == 3.0f);
    s = "[ \t\r\n-0.5\n]";
    assert_int_equal(server_fastvec_array(s, strlen(s), f, 8, &end), 1);
    assert_true(f[0] == -0.5f && end == strlen(s));
    static const char *const refused[] = {"[]", "[ ]", "[1,]", "[,1]", "[1 2]", "[1,\"x\"]", "[[1]]", "[1,null]",
                                          "[1,true]", "[1,2", "[1,", "[", "[1e400]", "[+1]", "[1,2,3,4,5,6,7,8,9]",
                                          "{1}", "1"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        assert_int_equal(server_fastvec_array(refused[i], strlen(refused[i]), f, 8, &end), 0);
    s = "[1,2,3,4,5,6,7,8]";
    assert_int_equal(server_fastvec_array(s, strlen(s), f, 8, &end), 8);
}

/* ==== The body walk ==== */

/* Scan body; the copy must be want (NULL: nothing replaced). */
static server_fastvec *scan_expect(const char *body, const char *want) {
    server_fastvec *fv = NULL;
    size_t n = 0;
    char *got = server_fastvec_scan(body, strlen(body), &fv, &n);
    if (!want) {
        assert_null(got);
        assert_null(fv);
        return NULL;
    }
    assert_non_null(got);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(got, want, n);
    free(got);
    return fv;
}

static void test_scan(void **state) {
    (void)state;
    const float *v;
    uint32_t dim;
    server_fastvec *fv = scan_expect(
        "{\"points\": [{\"id\": 1, \"vector\": [0.5, -1e-3], \"payload\": {\"vector\": [9], \"s\": \"]\\\"[\"}},"
        " {\"id\": 2, \"vector\": [1, \"x\"]}, {\"id\": 3, \"vector\": [[1, 2]]}, 7, {\"vector\": [3e2, 4]}],"
        " \"wait\": true}",
        "{\"points\": [{\"id\": 1, \"vector\": [], \"payload\": {\"vector\": [9], \"s\": \"]\\\"[\"}},"
        " {\"id\": 2, \"vector\": [1, \"x\"]}, {\"id\": 3, \"vector\": [[1, 2]]}, 7, {\"vector\": []}],"
        " \"wait\": true}");
    assert_true(server_fastvec_get(fv, SERVER_FASTVEC_POINTS, 0, &v, &dim));
    assert_int_equal(dim, 2);
    assert_true(v[0] == 0.5f && v[1] == -1e-3f);
    for (size_t i = 1; i < 4; i++) assert_false(server_fastvec_get(fv, SERVER_FASTVEC_POINTS, i, &v, &dim));
    assert_true(server_fastvec_get(fv, SERVER_FASTVEC_POINTS, 4, &v, &dim));
    assert_true(dim == 2 && v[0] == 300.0f && v[1] == 4.0f);
    assert_false(server_fastvec_get(fv, SERVER_FASTVEC_POINTS, 5, &v, &dim));
    assert_false(server_fastvec_get(fv, SERVER_FASTVEC_BATCH, 0, &v, &dim));
    server_fastvec_free(fv);

    fv = scan_expect("{\"batch\":{\"ids\":[1,2,3],\"vectors\":[[1,2],[3,\"y\"],[5,6]]}}",
                     "{\"batch\":{\"ids\":[1,2,3],\"vectors\":[[],[3,\"y\"],[]]}}");
    assert_true(server_fastvec_get(fv, SERVER_FASTVEC_BATCH, 2, &v, &dim) && dim == 2 && v[1] == 6.0f);
    assert_false(server_fastvec_get(fv, SERVER_FASTVEC_BATCH, 1, &v, &dim));
    server_fastvec_free(fv);

    /* left to jansson: named vectors, escaped keys, other members, non-objects */
    scan_expect("{\"points\":[{\"id\":1,\"vector\":{\"a\":[1,2]}}]}", NULL);
    scan_expect("{\"points\":[{\"id\":1,\"vect\\u006fr\":[1,2]}]}", NULL);
    scan_expect("{\"other\":{\"points\":[{\"vector\":[1]}]}}", NULL);
    scan_expect("{\"batch\":{\"vectors\":{\"a\":[[1]]}}}", NULL);
    scan_expect("[{\"points\":[{\"vector\":[1]}]}]", NULL);
    scan_expect("", NULL);
    scan_expect("{\"points\":[{\"vector\":[1e999]}]}", NULL);
}

/* The copy parses iff the body does, and to the same tree but for the replaced arrays. */
static void test_scan_parses_alike(void **state) {
    (void)state;
    static const char *const bodies[] = {
        "{\"points\":[{\"id\":1,\"vector\":[1,2]}]}",
        "{\"points\":[{\"id\":1,\"vector\":[1,2]}]",            /* truncated */
        "{\"points\":[{\"id\":1,\"vector\":[1,2],\"vector\":[3]}]}", /* duplicate key */
        "{\"points\":[{\"id\":1,\"vector\":[1,2]} {\"id\":2}]}",  /* missing comma */
        "{\"points\":[{\"id\":1,\"vector\":[1,2]}],}",
        "{\"points\":[{\"id\":1 \"vector\":[1,2]}]}",
        "{\"points\":[{\"id\":1,\"vector\":[1,2]}]}garbage",
        "{\"batch\":{\"ids\":[1],\"vectors\":[[1.5]]},\"points\":[{\"vector\":[2]}]}",
        "{\"points\":[{\"id\":\"\\\"\",\"vector\":[1,2]}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        const char *b = bodies[i];
        server_fastvec *fv = NULL;
        size_t n = 0;
        char *copy = server_fastvec_scan(b, strlen(b), &fv, &n);
        json_error_t e;
        json_t *orig = json_loadb(b, strlen(b), JSON_REJECT_DUPLICATES, &e);
        json_t *fast = copy ? json_loadb(copy, n, JSON_REJECT_DUPLICATES, &e) : NULL;
        if (copy && (orig != NULL) != (fast != NULL)) {
            fprintf(stderr, "body %zu: original %s, copy %s\n", i, orig ? "parses" : "fails", fast ? "parses" : "fails");
            fail();
        }
        json_decref(orig);
        json_decref(fast);
        free(copy);
        server_fastvec_free(fv);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_numbers),     cmocka_unit_test(test_number_ends),
        cmocka_unit_test(test_random_numbers),   cmocka_unit_test(test_digit_runs),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_scan),             cmocka_unit_test(test_scan_parses_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
