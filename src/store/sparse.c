/*
** store/sparse.c: the named sparse vectors of a collection (Qdrant's
** `sparse_vectors`): their definitions in the collection config, the
** validation and encoding of a point's sparse vectors, and their decoding
** into records.
**
** DESIGN
** - A point's sparse vectors are one blob (points.sparse in SQLite, the
**   same bytes per slot in memory, NULL when it has none):
**   u32 magic "SCS1", u32 count, then per vector u32 definition index,
**   u32 n, n u32 indices (ascending, unique), n f32 values; native byte
**   order like the dense vector blob.
** - Stored and returned only: no index and no search yet (a query on a
**   sparse name is refused by the caller with a clear message).
*/
#include "store/store_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STORE_SPARSE_MAGIC 0x53435331u /* "SCS1" */

/* ==== Definitions ==== */

sc_status store_sparse_check_params(const sc_vector_params *v, size_t n_v, const sc_sparse_params *sp, size_t n) {
    if (n && !sp) return store_fail(SC_MISUSE, "sparse_vectors: %zu announced but none given", n);
    if (n_v + n > SC_MAX_VECTOR_NAMES)
        return store_fail(SC_INVALID, "sparse_vectors: %zu dense and %zu sparse vectors, at most %u in all", n_v, n,
                          SC_MAX_VECTOR_NAMES);
    for (size_t i = 0; i < n; i++) {
        const char *name = sp[i].name;
        if (!name || !*name) return store_fail(SC_INVALID, "sparse_vectors[%zu]: the name is empty", i);
        if (strlen(name) > SC_MAX_NAME_LEN)
            return store_fail(SC_INVALID, "sparse_vectors[%zu].name is longer than %u bytes", i, SC_MAX_NAME_LEN);
        for (const char *p = name; *p; p++)
            if ((unsigned char)*p < 32)
                return store_fail(SC_INVALID, "sparse_vectors[%zu].name contains a control character", i);
        if ((unsigned)sp[i].modifier > SC_SPARSE_MODIFIER_IDF)
            return store_fail(SC_INVALID, "sparse_vectors.%s.modifier: unknown value %d", name, (int)sp[i].modifier);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(name, sp[j].name)) return store_fail(SC_INVALID, "sparse_vectors: name `%s` is given twice", name);
        for (size_t j = 0; j < n_v; j++)
            if (!strcmp(name, v[j].name ? v[j].name : ""))
                return store_fail(SC_INVALID, "Dense and sparse vector names must be unique - duplicate found with '%s'",
                                  name);
    }
    return SC_OK;
}

sc_status store_sparse_defs_set(store_coll *c, const sc_sparse_params *sp, size_t n) {
    if (!n) return SC_OK;
    if (!(c->sparse_defs = calloc(n, sizeof *c->sparse_defs))) return store_fail(SC_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        c->sparse_defs[i].modifier = sp[i].modifier;
        if (!(c->sparse_defs[i].name = util_strdup(sp[i].name))) return store_fail(SC_NOMEM, "out of memory");
        c->n_sparse = i + 1;
    }
    return SC_OK;
}

json_t *store_sparse_config_json(const store_coll *c) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < c->n_sparse; i++)
        if (json_array_append_new(arr, json_pack("{s:s,s:I}", "name", c->sparse_defs[i].name, "modifier",
                                                 (json_int_t)c->sparse_defs[i].modifier)) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

sc_status store_sparse_config_parse(store_coll *c, const json_t *arr) {
    size_t n = json_array_size(arr);
    if (!n) return SC_OK;
    if (n > SC_MAX_VECTOR_NAMES)
        return store_fail(SC_CORRUPT, "collection `%s`: config has %zu sparse vectors", c->name, n);
    sc_sparse_params sp[SC_MAX_VECTOR_NAMES];
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(arr, i);
        sp[i].name = json_string_value(json_object_get(e, "name"));
        sp[i].modifier = (sc_sparse_modifier)json_integer_value(json_object_get(e, "modifier"));
        if (!sp[i].name || !*sp[i].name || (unsigned)sp[i].modifier > SC_SPARSE_MODIFIER_IDF)
            return store_fail(SC_CORRUPT, "collection `%s`: sparse vector %zu of config is malformed", c->name, i);
    }
    return store_sparse_defs_set(c, sp, n);
}

int store_coll_sparse_index(const store_coll *c, const char *name) {
    for (size_t i = 0; name && i < c->n_sparse; i++)
        if (!strcmp(c->sparse_defs[i].name, name)) return (int)i;
    return -1;
}

/* ==== Encoding ==== */

/* One (index, value) pair while sorting. */
typedef struct store__pair {
    uint32_t index; /* dimension */
    float value;    /* its value */
} store__pair;

static int store__pair_cmp(const void *a, const void *b) {
    uint32_t x = ((const store__pair *)a)->index, y = ((const store__pair *)b)->index;
    return (x > y) - (x < y);
}

static void store__put_u32(util_buf *out, uint32_t x) { util_buf_append(out, &x, sizeof x); }

sc_status store_sparse_encode(const store_coll *c, const sc_point_in *pt, size_t i, util_buf *out) {
    char idb[40];
    out->len = 0;
    if (!pt->n_sparse) return SC_OK;
    if (!pt->sparse) return store_fail(SC_MISUSE, "points[%zu]: %zu sparse vectors announced but none given", i, pt->n_sparse);
    size_t most = 0;
    for (size_t v = 0; v < pt->n_sparse; v++)
        if (pt->sparse[v].n > most) most = pt->sparse[v].n;
    store__pair *pairs = malloc(sizeof *pairs * (most ? most : 1));
    if (!pairs) return store_fail(SC_NOMEM, "out of memory encoding sparse vectors");
    sc_status rc = SC_OK;
    store__put_u32(out, STORE_SPARSE_MAGIC);
    store__put_u32(out, (uint32_t)pt->n_sparse);
    for (size_t v = 0; v < pt->n_sparse && rc == SC_OK; v++) {
        const sc_sparse_in *s = &pt->sparse[v];
        const char *id = sc_point_id_format(&pt->id, idb, sizeof idb);
        int k = store_coll_sparse_index(c, s->name);
        if (k < 0) {
            rc = store_fail(SC_NOTFOUND, "points[%zu] (id %s): sparse vector name `%s` is not configured in collection `%s`",
                            i, id, s->name ? s->name : "(none)", c->name);
            break;
        }
        for (size_t w = 0; w < v && rc == SC_OK; w++)
            if (!strcmp(pt->sparse[w].name, s->name))
                rc = store_fail(SC_INVALID, "points[%zu] (id %s): sparse vector `%s` is given twice", i, id, s->name);
        if (s->n && (!s->indices || !s->values))
            rc = store_fail(SC_MISUSE, "points[%zu] (id %s): sparse vector `%s` has no data", i, id, s->name);
        for (uint32_t j = 0; j < s->n && rc == SC_OK; j++) {
            if (!isfinite(s->values[j]))
                rc = store_fail(SC_INVALID, "points[%zu] (id %s): sparse vector `%s` value %u is %s", i, id, s->name, j,
                                isnan(s->values[j]) ? "NaN" : "infinite");
            pairs[j] = (store__pair){s->indices[j], s->values[j]};
        }
        if (rc != SC_OK) break;
        qsort(pairs, s->n, sizeof *pairs, store__pair_cmp);
        for (uint32_t j = 1; j < s->n && rc == SC_OK; j++)
            if (pairs[j].index == pairs[j - 1].index)
                rc = store_fail(SC_INVALID, "points[%zu] (id %s): sparse vector `%s` has index %u twice; indices must be unique",
                                i, id, s->name, pairs[j].index);
        store__put_u32(out, (uint32_t)k);
        store__put_u32(out, s->n);
        for (uint32_t j = 0; j < s->n; j++) store__put_u32(out, pairs[j].index);
        for (uint32_t j = 0; j < s->n; j++) util_buf_append(out, &pairs[j].value, sizeof(float));
    }
    free(pairs);
    if (rc == SC_OK && out->oom) rc = store_fail(SC_NOMEM, "out of memory encoding sparse vectors");
    return rc;
}

/* Walk a blob: the byte size of the whole blob, or 0 when it is malformed. */
static size_t store__blob_size(const store_coll *c, const uint8_t *b, size_t avail) {
    uint32_t magic, count;
    if (avail < 8) return 0;
    memcpy(&magic, b, 4);
    memcpy(&count, b + 4, 4);
    if (magic != STORE_SPARSE_MAGIC || count > c->n_sparse) return 0;
    size_t off = 8;
    for (uint32_t v = 0; v < count; v++) {
        uint32_t k, n;
        if (avail - off < 8) return 0;
        memcpy(&k, b + off, 4);
        memcpy(&n, b + off + 4, 4);
        off += 8;
        if (k >= c->n_sparse || (avail - off) / 8 < n) return 0;
        off += (size_t)n * 8;
    }
    return off == avail ? off : 0;
}

sc_status store_sparse_load(store_coll *c, uint32_t slot, const void *blob, int n) {
    if (!blob || n <= 0) return SC_OK;
    if (!store__blob_size(c, blob, (size_t)n)) return SC_CORRUPT;
    uint8_t *copy = malloc((size_t)n);
    if (!copy) return SC_NOMEM;
    memcpy(copy, blob, (size_t)n);
    free(c->sparse[slot]);
    c->sparse[slot] = copy;
    return SC_OK;
}

void store_sparse_set(store_coll *c, uint32_t slot, uint8_t *blob) {
    free(c->sparse[slot]);
    c->sparse[slot] = blob;
}

sc_status store_sparse_merge(const store_coll *c, const uint8_t *old, const util_buf *given, const bool *drop,
                             util_buf *out) {
    out->len = 0;
    uint32_t n_given = 0, n_old = 0, count = 0;
    if (given && given->len) memcpy(&n_given, given->data + 4, 4);
    if (old) memcpy(&n_old, old + 4, 4);
    bool *replaced = calloc(c->n_sparse ? c->n_sparse : 1, sizeof *replaced);
    if (!replaced) return store_fail(SC_NOMEM, "out of memory merging sparse vectors");
    size_t off = 8;
    for (uint32_t v = 0; v < n_given; v++) { /* names the update gives */
        uint32_t k, n;
        memcpy(&k, given->data + off, 4);
        memcpy(&n, given->data + off + 4, 4);
        replaced[k] = true;
        off += 8 + (size_t)n * 8;
    }
    store__put_u32(out, STORE_SPARSE_MAGIC);
    store__put_u32(out, 0); /* count, set below */
    off = 8;
    for (uint32_t v = 0; v < n_old; v++) { /* the point's others stay */
        uint32_t k, n;
        memcpy(&k, old + off, 4);
        memcpy(&n, old + off + 4, 4);
        size_t size = 8 + (size_t)n * 8;
        if (!replaced[k] && !(drop && drop[k])) {
            util_buf_append(out, old + off, size);
            count++;
        }
        off += size;
    }
    if (n_given) util_buf_append(out, given->data + 8, given->len - 8);
    count += n_given;
    free(replaced);
    if (out->oom) return store_fail(SC_NOMEM, "out of memory merging sparse vectors");
    if (!count) out->len = 0;
    else memcpy(out->data + 4, &count, 4);
    return SC_OK;
}

bool store_sparse_has(const store_coll *c, uint32_t slot, int k) {
    const uint8_t *b = c->sparse ? c->sparse[slot] : NULL;
    if (!b || k < 0) return false;
    uint32_t count;
    memcpy(&count, b + 4, 4);
    size_t off = 8;
    for (uint32_t v = 0; v < count; v++) {
        uint32_t kk, n;
        memcpy(&kk, b + off, 4);
        memcpy(&n, b + off + 4, 4);
        if (kk == (uint32_t)k) return true;
        off += 8 + (size_t)n * 8;
    }
    return false;
}

/* ==== Records ==== */

sc_status store_sparse_record(const store_coll *c, uint32_t slot, const sc_with *with, sc_record *r) {
    const uint8_t *b = c->sparse ? c->sparse[slot] : NULL;
    if (!b) return SC_OK;
    uint32_t count;
    memcpy(&count, b + 4, 4);
    if (!(r->sparse_names = calloc(count ? count : 1, sizeof *r->sparse_names)) ||
        !(r->sparse_indices = calloc(count ? count : 1, sizeof *r->sparse_indices)) ||
        !(r->sparse_values = calloc(count ? count : 1, sizeof *r->sparse_values)) ||
        !(r->sparse_lens = calloc(count ? count : 1, sizeof *r->sparse_lens)))
        return SC_NOMEM;
    size_t off = 8;
    for (uint32_t v = 0; v < count; v++) {
        uint32_t k, n;
        memcpy(&k, b + off, 4);
        memcpy(&n, b + off + 4, 4);
        off += 8;
        const char *name = c->sparse_defs[k].name;
        bool wanted = !with->vector_names;
        for (size_t j = 0; !wanted && j < with->n_vector_names; j++)
            wanted = with->vector_names[j] && !strcmp(with->vector_names[j], name);
        if (wanted) {
            size_t m = r->n_sparse++;
            r->sparse_names[m] = util_strdup(name);
            r->sparse_indices[m] = malloc(sizeof(uint32_t) * (n ? n : 1));
            r->sparse_values[m] = malloc(sizeof(float) * (n ? n : 1));
            r->sparse_lens[m] = n;
            if (!r->sparse_names[m] || !r->sparse_indices[m] || !r->sparse_values[m]) return SC_NOMEM;
            memcpy(r->sparse_indices[m], b + off, (size_t)n * 4);
            memcpy(r->sparse_values[m], b + off + (size_t)n * 4, (size_t)n * 4);
        }
        off += (size_t)n * 8;
    }
    return SC_OK;
}

void store_sparse_record_free(sc_record *r) {
    for (size_t v = 0; v < r->n_sparse; v++) {
        free(r->sparse_names[v]);
        free(r->sparse_indices[v]);
        free(r->sparse_values[v]);
    }
    free(r->sparse_names);
    free(r->sparse_indices);
    free(r->sparse_values);
    free(r->sparse_lens);
}
