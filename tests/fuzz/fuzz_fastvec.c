/*
** Fuzz target for server/fastvec.c, the upsert fast path for vectors,
** against the jansson path it stands in for. The input is read three ways:
** (1) as a number: when the scanner takes a prefix, jansson must read that
** prefix to the same float bit for bit (after server_json_floats' range
** check), and when jansson reads the whole input as an in-range number the
** scanner must take all of it; (2) as an array: when the array reader takes
** it, jansson must read the same numbers; (3) as an upsert body: the copy
** with the vectors replaced must parse iff the input does, and each vector
** read must equal the array jansson finds at that place. Any disagreement
** traps.
**
** FUZZ_SOURCES: src/server/fastvec.c src/util/util.c
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What jansson + server_json_floats make of the JSON value v: false when refused. */
static bool fuzz__ref(const json_t *x, float *out) {
    if (!json_is_number(x)) return false;
    double d = json_number_value(x);
    if (!isfinite(d) || fabs(d) > 3.4e38) return false;
    *out = (float)d;
    return true;
}

/* The floats of the jansson array a must be f[0..n) bit for bit. */
static void fuzz__same(const json_t *a, const float *f, size_t n) {
    if (!json_is_array(a) || json_array_size(a) != n) __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        float want;
        if (!fuzz__ref(json_array_get(a, i), &want) || memcmp(&want, &f[i], sizeof want)) __builtin_trap();
    }
}

/* (1) one number */
static void fuzz__number(const char *s, size_t n) {
    float got, want;
    size_t used = 0;
    bool ok = server_fastvec_number(s, n, &got, &used);
    char *buf = malloc(n + 3);
    if (!buf) return;
    buf[0] = '[';
    if (ok) {
        memcpy(buf + 1, s, used);
        buf[used + 1] = ']';
        json_t *a = json_loadb(buf, used + 2, 0, NULL);
        if (!a || json_array_size(a) != 1 || !fuzz__ref(json_array_get(a, 0), &want) ||
            memcmp(&got, &want, sizeof got))
            __builtin_trap();
        json_decref(a);
    }
    memcpy(buf + 1, s, n);
    buf[n + 1] = ']';
    json_t *whole = json_loadb(buf, n + 2, 0, NULL);
    /* the scanner takes every number jansson takes, except one with
    ** whitespace around it (jansson's lexer skips it, the scanner does not) */
    if (whole && json_array_size(whole) == 1 && fuzz__ref(json_array_get(whole, 0), &want) && n &&
        !strchr(" \t\r\n", s[0]) && !strchr(" \t\r\n", s[n - 1]) && (!ok || used != n))
        __builtin_trap();
    json_decref(whole);
    free(buf);
}

/* (2) one array */
static void fuzz__array(const char *s, size_t n) {
    float f[64];
    size_t end = 0, cnt = server_fastvec_array(s, n, f, 64, &end);
    if (!cnt) return;
    json_t *a = json_loadb(s, end, 0, NULL);
    if (!a) __builtin_trap();
    fuzz__same(a, f, cnt);
    json_decref(a);
}

/* (3) an upsert body */
static void fuzz__body(const char *s, size_t n) {
    server_fastvec *fv = NULL;
    size_t cn = 0;
    char *copy = server_fastvec_scan(s, n, &fv, &cn);
    if (!copy) return;
    json_t *orig = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL);
    json_t *fast = json_loadb(copy, cn, JSON_REJECT_DUPLICATES, NULL);
    if ((orig != NULL) != (fast != NULL)) __builtin_trap();
    if (orig) {
        const json_t *pts = json_object_get(orig, "points");
        const json_t *bv = json_object_get(json_object_get(orig, "batch"), "vectors");
        for (int form = 0; form < 2; form++) {
            const json_t *list = form == SERVER_FASTVEC_POINTS ? pts : bv;
            for (size_t i = 0; i < json_array_size(list); i++) {
                const float *f;
                uint32_t dim;
                if (!server_fastvec_get(fv, (server_fastvec_form)form, i, &f, &dim)) continue;
                const json_t *el = json_array_get(list, i);
                fuzz__same(form == SERVER_FASTVEC_POINTS ? json_object_get(el, "vector") : el, f, dim);
            }
        }
    }
    json_decref(orig);
    json_decref(fast);
    free(copy);
    server_fastvec_free(fv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    fuzz__number(s, size);
    fuzz__array(s, size);
    fuzz__body(s, size);
    return 0;
}
