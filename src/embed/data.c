/*
** embed/data.c: reading doc/code pairs (JSON Lines from `semcode pairs`)
** and turning texts into merged row bags for training and evaluation.
*/
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "embed/embed_int.h"

void embed_pairs_free(embed_pairs *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->doc[i]);
        free(p->code[i]);
    }
    free(p->doc);
    free(p->code);
    free(p->lang);
    free(p->unit);
    memset(p, 0, sizeof *p);
}

/* Index of language name in p->langs, adding it. */
static uint16_t embed__lang_id(embed_pairs *p, const char *name) {
    for (uint32_t i = 0; i < p->n_langs; i++)
        if (!strcmp(p->langs[i], name)) return (uint16_t)i;
    if (p->n_langs == EMBED_MAX_LANGS) return EMBED_MAX_LANGS - 1;
    snprintf(p->langs[p->n_langs], sizeof p->langs[0], "%s", name);
    return (uint16_t)p->n_langs++;
}

sc_status embed_pairs_read(const char *path, size_t max_pairs, embed_pairs *out, sc_err *err) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) return sc_err_set(err, SC_IOERR, "cannot open pairs file %s", path);
    char *line = NULL;
    size_t cap = 0, lineno = 0, alloc = 0;
    ssize_t len;
    sc_status rc = SC_OK;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (max_pairs && out->n >= max_pairs) break;
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, 0, &je);
        const char *doc = o ? json_string_value(json_object_get(o, "doc")) : NULL;
        const char *code = o ? json_string_value(json_object_get(o, "code")) : NULL;
        const char *lang = o ? json_string_value(json_object_get(o, "language")) : NULL;
        const char *path_s = o ? json_string_value(json_object_get(o, "path")) : NULL;
        if (!doc || !code) {
            json_decref(o);
            rc = sc_err_set(err, SC_INVALID, "%s:%zu: not a pair object with string doc and code", path, lineno);
            break;
        }
        if (out->n == alloc) {
            alloc = alloc ? alloc * 2 : 4096;
            char **d = realloc(out->doc, alloc * sizeof *d);
            if (d) out->doc = d;
            char **c = realloc(out->code, alloc * sizeof *c);
            if (c) out->code = c;
            uint16_t *l = realloc(out->lang, alloc * sizeof *l);
            if (l) out->lang = l;
            uint64_t *u = realloc(out->unit, alloc * sizeof *u);
            if (u) out->unit = u;
            if (!d || !c || !l || !u) {
                json_decref(o);
                rc = sc_err_set(err, SC_NOMEM, "out of memory reading %s", path);
                break;
            }
        }
        out->doc[out->n] = util_strdup(doc);
        out->code[out->n] = util_strdup(code);
        out->lang[out->n] = embed__lang_id(out, lang ? lang : "unknown");
        out->unit[out->n] = 0;
        if (path_s) {
            const char *slash = strrchr(path_s, '/');
            size_t dl = slash ? (size_t)(slash - path_s) : strlen(path_s);
            out->unit[out->n] = util_hash64_v1(path_s, dl, 0x0d1eULL) | 1;
        }
        json_decref(o);
        if (!out->doc[out->n] || !out->code[out->n]) {
            free(out->doc[out->n]);
            free(out->code[out->n]);
            rc = sc_err_set(err, SC_NOMEM, "out of memory reading %s", path);
            break;
        }
        out->n++;
    }
    free(line);
    fclose(f);
    if (rc != SC_OK) embed_pairs_free(out);
    return rc;
}

/* Sort items by row and merge equal rows (sum of coefficients). */
static int embed__item_cmp(const void *a, const void *b) {
    uint32_t x = ((const embed_item *)a)->row, y = ((const embed_item *)b)->row;
    return (x > y) - (x < y);
}

uint32_t embed_items_merge(embed_items *it) {
    if (it->n < 2) return it->n;
    qsort(it->v, it->n, sizeof *it->v, embed__item_cmp);
    uint32_t w = 0;
    for (uint32_t i = 0; i < it->n; i++) {
        if (w && it->v[w - 1].row == it->v[i].row) it->v[w - 1].coef += it->v[i].coef;
        else it->v[w++] = it->v[i];
    }
    it->n = w;
    return w;
}

/* Merge equal rows in first-occurrence order with a small open-addressing
** table (inference calls this per text: a sort would cost ~15 % of the
** embedding time); bags too large for the table are sorted instead. */
#define EMBED__MERGE_SLOTS 4096
static void embed__merge_hashed(embed_items *it) {
    uint32_t slots = 64;
    while (slots < 2 * it->n) slots *= 2;
    if (slots > EMBED__MERGE_SLOTS) {
        embed_items_merge(it);
        return;
    }
    uint32_t key[EMBED__MERGE_SLOTS]; /* row + 1, 0 = empty */
    uint32_t at[EMBED__MERGE_SLOTS];  /* index of the row's merged item */
    memset(key, 0, slots * sizeof *key);
    uint32_t mask = slots - 1, w = 0;
    for (uint32_t i = 0; i < it->n; i++) {
        uint32_t r = it->v[i].row, h = (r * 0x9e3779b1u) >> 7 & mask;
        while (key[h] && key[h] != r + 1) h = (h + 1) & mask;
        if (key[h]) {
            it->v[at[h]].coef += it->v[i].coef;
        } else {
            key[h] = r + 1;
            at[h] = w;
            it->v[w++] = it->v[i];
        }
    }
    it->n = w;
}

void embed_items_saturate(embed_items *it, float p) {
    if (p == 1.0f || it->n < 2) return;
    embed__merge_hashed(it);
    for (uint32_t i = 0; i < it->n; i++)
        if (it->v[i].coef > 1.0f) it->v[i].coef = powf(it->v[i].coef, p);
}
