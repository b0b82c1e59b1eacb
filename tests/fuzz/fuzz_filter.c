/*
** Fuzz target for store/filter: the bytes are parsed as JSON; a JSON string
** is taken as a key path (filter_path_check, filter_path_values), anything
** else is compiled as a filter, evaluated against fixed payloads and
** planned over payload indexes on them. A plan that misses a match, or an
** "exact" plan that differs from filter_match, traps. Filters are bound to
** the text index (filter_bind) first, as the store does.
**
** FUZZ_SOURCES: @lib
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz__payloads[] = {
    "{\"a\":\"red\",\"n\":3,\"f\":1.5,\"flag\":true,\"tags\":[\"x\",\"y\"],\"c\":{\"d\":\"k\"},"
    "\"items\":[{\"k\":\"p\",\"n\":1},{\"k\":\"q\",\"n\":2}],\"t\":\"2024-05-01T10:00:00Z\"}",
    "{\"a\":[\"blue\",\"red\",5],\"n\":[1,2.5],\"f\":-2,\"flag\":[false],\"tags\":[],\"c\":[{\"d\":\"k\"},{\"d\":null}]}",
    "{\"a\":null,\"n\":\"3\",\"f\":null,\"flag\":null,\"tags\":null,\"c\":{}}",
    "{\"a\":\"dark red\",\"n\":-7,\"f\":0,\"items\":[{\"k\":\"p\",\"n\":[3,4]}],\"t\":\"2023-01-01\"}",
    "{}",
    "{\"a\":{\"b\":[[1],[2,\"red\"]]},\"tags\":[null,\"x\"],\"items\":{\"k\":\"p\"}}",
    "{\"s\":[\"The quick brown fox\",\"jumps over\"],\"u\":\"a64a8051-3ee7-4881-8bc6-691d25c70d54\","
    "\"g\":{\"lon\":13.4,\"lat\":52.5},\"t\":\"2024-05-01T12:00:00+02:00\"}",
    "{\"s\":\"quick quick brown dogs\",\"u\":[\"A64A8051-3EE7-4881-8BC6-691D25C70D54\",7],"
    "\"g\":[{\"lon\":-60,\"lat\":-60},{\"lon\":\"x\"}],\"t\":[\"2023-01-01\",5]}",
};
#define FUZZ_N_PAYLOADS (sizeof fuzz__payloads / sizeof *fuzz__payloads)

static const struct {
    const char *key;    /* indexed key */
    const char *schema; /* its field_schema */
} fuzz__ixdefs[] = {
    {"a", "\"keyword\""},       {"n", "\"integer\""}, {"f", "\"float\""},
    {"flag", "\"bool\""},       {"tags", "\"keyword\""}, {"c.d", "\"keyword\""},
    {"items[].k", "\"keyword\""}, {"items[].n", "\"integer\""}, {"u", "\"uuid\""}, {"t", "\"datetime\""},
    {"g", "\"geo\""},
    {"s", "{\"type\":\"text\",\"tokenizer\":\"prefix\",\"max_token_len\":6,\"stopwords\":\"english\","
          "\"phrase_matching\":true,\"stemmer\":{\"type\":\"snowball\",\"language\":\"english\"}}"},
};
#define FUZZ_N_IXS (sizeof fuzz__ixdefs / sizeof *fuzz__ixdefs)

static json_t *fuzz__p[FUZZ_N_PAYLOADS];    /* parsed payloads (kept for the process) */
static store_pindex *fuzz__ix[FUZZ_N_IXS];  /* indexes over them */
static roaring_bitmap_t *fuzz__all;         /* slots 0..FUZZ_N_PAYLOADS-1 */

static void fuzz__init(void) {
    if (fuzz__all) return;
    fuzz__all = roaring_bitmap_create();
    for (size_t i = 0; i < FUZZ_N_IXS; i++) {
        json_t *schema = json_loads(fuzz__ixdefs[i].schema, JSON_DECODE_ANY, NULL);
        pindex_schema s;
        if (!schema || pindex_schema_parse(schema, &s, NULL) != SC_OK) __builtin_trap();
        json_decref(schema);
        if (!(fuzz__ix[i] = pindex_new_schema(fuzz__ixdefs[i].key, &s))) __builtin_trap();
    }
    for (uint32_t s = 0; s < FUZZ_N_PAYLOADS; s++) {
        fuzz__p[s] = json_loads(fuzz__payloads[s], 0, NULL);
        if (!fuzz__p[s]) __builtin_trap();
        for (size_t i = 0; i < FUZZ_N_IXS; i++)
            if (pindex_add(fuzz__ix[i], s, fuzz__p[s]) != SC_OK) __builtin_trap();
        roaring_bitmap_add(fuzz__all, s);
    }
}

static void fuzz__count(const json_t *v, void *arg) {
    (void)v;
    (*(size_t *)arg)++;
}

static void fuzz__filter(const store_filter *f) {
    roaring_bitmap_t *bm = NULL;
    bool exact = false;
    if (filter_plan(f, fuzz__ix, FUZZ_N_IXS, fuzz__all, &bm, &exact) != SC_OK) return;
    for (uint32_t s = 0; s < FUZZ_N_PAYLOADS; s++) {
        sc_point_id id = sc_point_id_num(s);
        bool m = filter_match(f, &id, fuzz__p[s]);
        bool in = !bm || roaring_bitmap_contains(bm, s);
        if (m && !in) __builtin_trap();        /* plan is not a superset */
        if (exact && m != in) __builtin_trap(); /* "exact" plan is wrong */
    }
    if (bm) roaring_bitmap_free(bm);
    (void)filter_match(f, NULL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz__init();
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!j) return 0;
    sc_err err;
    if (json_is_string(j)) {
        const char *path = json_string_value(j);
        sc_err_clear(&err);
        if (filter_path_check(path, &err) == SC_OK) {
            for (size_t s = 0; s < FUZZ_N_PAYLOADS; s++) {
                size_t n = 0;
                size_t r = filter_path_values(fuzz__p[s], path, fuzz__count, &n);
                if (r != n) __builtin_trap();
            }
        } else if (err.msg[0] == '\0') {
            __builtin_trap(); /* an error must say why */
        }
        json_decref(j);
        return 0;
    }
    /* The input as a payload too: index it at a spare slot, plan, unindex. */
    uint64_t before[FUZZ_N_IXS];
    for (size_t i = 0; i < FUZZ_N_IXS; i++) {
        before[i] = pindex_n_points(fuzz__ix[i]);
        if (pindex_add(fuzz__ix[i], 1000, j) != SC_OK) __builtin_trap();
    }
    store_filter *f = NULL;
    sc_err_clear(&err);
    sc_status rc = filter_compile(j, &f, &err);
    if (rc == SC_OK && filter_bind(f, fuzz__ix, FUZZ_N_IXS) != SC_OK) __builtin_trap();
    if (rc == SC_OK) {
        fuzz__filter(f);
        sc_point_id id = sc_point_id_num(1000);
        bool m = filter_match(f, &id, j);
        roaring_bitmap_add(fuzz__all, 1000);
        roaring_bitmap_t *bm = NULL;
        bool exact = false;
        if (filter_plan(f, fuzz__ix, FUZZ_N_IXS, fuzz__all, &bm, &exact) == SC_OK) {
            bool in = !bm || roaring_bitmap_contains(bm, 1000);
            if ((m && !in) || (exact && m != in)) __builtin_trap();
            if (bm) roaring_bitmap_free(bm);
        }
        roaring_bitmap_remove(fuzz__all, 1000);
        filter_free(f);
    } else if (f || err.msg[0] == '\0' || (rc != SC_INVALID && rc != SC_UNSUPPORTED && rc != SC_NOMEM)) {
        __builtin_trap(); /* failures give no filter and a message */
    }
    for (size_t i = 0; i < FUZZ_N_IXS; i++) {
        pindex_remove(fuzz__ix[i], 1000, j);
        if (pindex_n_points(fuzz__ix[i]) != before[i]) __builtin_trap();
    }
    json_decref(j);
    /* The text entry point must agree with the json_t one. */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (strlen(text) == size) {
        store_filter *g = NULL;
        sc_status rc2 = filter_compile_text(text, &g, NULL);
        if (rc2 == SC_OK && g && filter_bind(g, fuzz__ix, FUZZ_N_IXS) != SC_OK) __builtin_trap();
        if (rc2 == SC_OK && g) fuzz__filter(g);
        filter_free(g);
    }
    free(text);
    return 0;
}
