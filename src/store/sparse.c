/*
** store/sparse.c: sparse named vectors in memory and on disk: each point's
** vector, the inverted index over all of them, the points.sparse blob and
** the checks of caller input. Searching is in sparse_search.c.
**
** DESIGN
** - A point's sparse vector is one allocation (store_svec): indices
**   strictly ascending, their weights, and for each entry its position in
**   the posting list of its index. The vector is the truth; the posting
**   lists (index -> (slot, weight), unordered) are derived from the vectors
**   and kept exact by every write, so a search never sees a stale entry and
**   needs no rebuild.
** - Writes follow the store's protocol: store_sparse_reserve runs before
**   the SQLite commit and makes every posting list the batch will touch big
**   enough (creating the lists of new indices); store_sparse_set runs after
**   the commit and cannot fail. A removal swaps the list's last entry into
**   the hole and fixes that entry's back-position by a binary search in its
**   own vector: O(log n) per entry, no scan of long lists.
** - Posting lists are found by an open-addressing table keyed by index
**   (any u32), at most half full. Lists are never dropped: an index seen
**   once keeps its (possibly empty) list until the store is reopened.
** - Blob (points.sparse), little-endian: u32 magic "SCS1" | u32 number of
**   sparse vectors of the collection | u64 presence mask | for each present
**   vector in config order: u32 n | n u32 indices (ascending) | n f32
**   weights | then u64 XXH3-64 (seed 0x5353) of every byte before it. A
**   point without sparse vectors stores NULL.
*/
#include "store/store_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPARSE_LIST_EMPTY UINT32_MAX /* empty slot of the index -> list table */

/* ==== Names and parameters ==== */

const char *sc_sparse_modifier_name(sc_sparse_modifier m) {
    switch (m) {
    case SC_SPARSE_MODIFIER_NONE: return "none";
    case SC_SPARSE_MODIFIER_IDF: return "idf";
    }
    return "?";
}

int store_coll_sparse_index(const store_coll *c, const char *name) {
    if (!name) return -1;
    for (size_t i = 0; i < c->n_sparse; i++)
        if (!strcmp(c->sparse[i].name, name)) return (int)i;
    return -1;
}

sc_status store_sparse_params_check(const sc_sparse_params *p, size_t i) {
    const char *name = p->name ? p->name : "";
    if (!*name) return store_fail(SC_INVALID, "Sparse vector name cannot be empty (sparse_vectors[%zu])", i);
    if (strlen(name) > SC_MAX_NAME_LEN)
        return store_fail(SC_INVALID, "sparse_vectors[%zu].name is longer than %u bytes", i, SC_MAX_NAME_LEN);
    for (const char *q = name; *q; q++)
        if ((unsigned char)*q < 32) return store_fail(SC_INVALID, "sparse_vectors[%zu].name contains a control character", i);
    if ((unsigned)p->modifier > SC_SPARSE_MODIFIER_IDF)
        return store_fail(SC_INVALID, "sparse_vectors.%s.modifier: unknown value %d", name, (int)p->modifier);
    return SC_OK;
}

void store_sparse_free(store_sparse *s) {
    if (!s) return;
    free(s->name);
    if (s->vecs)
        for (uint32_t i = 0; i < s->vecs_cap; i++) free(s->vecs[i]);
    free(s->vecs);
    for (uint32_t l = 0; l < s->n_lists; l++) {
        free(s->lists[l].slot);
        free(s->lists[l].val);
    }
    free(s->lists);
    free(s->map);
    memset(s, 0, sizeof *s);
}

sc_status store_sparse_reserve_slots(store_sparse *s, uint32_t cap) {
    if (cap <= s->vecs_cap) return SC_OK;
    store_svec **v = realloc(s->vecs, sizeof *v * cap);
    if (!v) return store_fail(SC_NOMEM, "out of memory growing sparse vectors `%s`", s->name);
    memset(v + s->vecs_cap, 0, sizeof *v * (cap - s->vecs_cap));
    s->vecs = v;
    s->vecs_cap = cap;
    return SC_OK;
}

/* ==== One vector ==== */

/* A vector of n entries in one allocation (entries unset). */
static store_svec *sparse__alloc(uint32_t n) {
    store_svec *v = malloc(sizeof *v + (size_t)n * (2 * sizeof(uint32_t) + sizeof(float)));
    if (!v) return NULL;
    v->n = n;
    v->idx = (uint32_t *)(v + 1);
    v->val = (float *)(v->idx + n);
    v->pos = (uint32_t *)(v->val + n);
    return v;
}

/* An (index, weight) pair while sorting caller input. */
typedef struct sparse__pair {
    uint32_t idx; /* index */
    uint32_t at;  /* position in the caller's arrays */
} sparse__pair;

static int sparse__pair_cmp(const void *a, const void *b) {
    const sparse__pair *x = a, *y = b;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

sc_status store_svec_from_input(const sc_sparse_in *in, const char *what, store_svec **out) {
    *out = NULL;
    if (in->n > SC_MAX_SPARSE_NNZ)
        return store_fail(SC_INVALID, "%s has %u entries, at most %u allowed", what, in->n, SC_MAX_SPARSE_NNZ);
    if (in->n && (!in->indices || !in->values))
        return store_fail(SC_INVALID, "%s: %u entries announced but indices or values missing", what, in->n);
    for (uint32_t i = 0; i < in->n; i++)
        if (!isfinite(in->values[i]))
            return store_fail(SC_INVALID, "%s: values[%u] (index %u) is %s", what, i, in->indices[i],
                              isnan(in->values[i]) ? "NaN" : "infinite");
    store_svec *v = sparse__alloc(in->n);
    sparse__pair *p = malloc(sizeof *p * (in->n ? in->n : 1));
    if (!v || !p) {
        free(v);
        free(p);
        return store_fail(SC_NOMEM, "out of memory copying %s", what);
    }
    for (uint32_t i = 0; i < in->n; i++) p[i] = (sparse__pair){in->indices[i], i};
    bool sorted = true;
    for (uint32_t i = 1; i < in->n && sorted; i++) sorted = p[i - 1].idx < p[i].idx;
    if (!sorted) qsort(p, in->n, sizeof *p, sparse__pair_cmp);
    for (uint32_t i = 0; i < in->n; i++) {
        if (i && p[i].idx == p[i - 1].idx) {
            sc_status rc = store_fail(SC_INVALID, "%s: index %u is given twice (indices[%u] and indices[%u]); indices "
                                      "must be unique", what, p[i].idx, p[i - 1].at < p[i].at ? p[i - 1].at : p[i].at,
                                      p[i - 1].at < p[i].at ? p[i].at : p[i - 1].at);
            free(p);
            free(v);
            return rc;
        }
        v->idx[i] = p[i].idx;
        v->val[i] = in->values[p[i].at];
        v->pos[i] = 0;
    }
    free(p);
    *out = v;
    return SC_OK;
}

/* ==== Posting lists ==== */

static uint32_t sparse__hash(uint32_t dim) { return (uint32_t)util_mix64(dim); }

/* Number of the list of dim, or SPARSE_LIST_EMPTY. */
static uint32_t sparse__find(const store_sparse *s, uint32_t dim) {
    if (!s->map_cap) return SPARSE_LIST_EMPTY;
    uint32_t mask = s->map_cap - 1;
    for (uint32_t i = sparse__hash(dim) & mask;; i = (i + 1) & mask) {
        uint32_t l = s->map[i];
        if (l == SPARSE_LIST_EMPTY || s->lists[l].dim == dim) return l;
    }
}

const store_posting *store_sparse_list(const store_sparse *s, uint32_t dim) {
    uint32_t l = sparse__find(s, dim);
    return l == SPARSE_LIST_EMPTY ? NULL : &s->lists[l];
}

static void sparse__map_put(store_sparse *s, uint32_t l) {
    uint32_t mask = s->map_cap - 1;
    uint32_t i = sparse__hash(s->lists[l].dim) & mask;
    while (s->map[i] != SPARSE_LIST_EMPTY) i = (i + 1) & mask;
    s->map[i] = l;
}

/* The list of dim, made (empty) when missing; SPARSE_LIST_EMPTY for memory. */
static uint32_t sparse__find_or_add(store_sparse *s, uint32_t dim) {
    uint32_t l = sparse__find(s, dim);
    if (l != SPARSE_LIST_EMPTY) return l;
    if (s->n_lists == SPARSE_LIST_EMPTY - 1) return SPARSE_LIST_EMPTY;
    if (!util_grow_u32(&s->lists, &s->lists_cap, (size_t)s->n_lists + 1, sizeof *s->lists, 64))
        return SPARSE_LIST_EMPTY;
    if ((uint64_t)(s->n_lists + 1) * 2 > s->map_cap) {
        uint64_t cap = s->map_cap ? (uint64_t)s->map_cap * 2 : 64;
        if (cap > ((uint64_t)1 << 31)) return SPARSE_LIST_EMPTY;
        uint32_t *m = malloc(sizeof *m * cap);
        if (!m) return SPARSE_LIST_EMPTY;
        memset(m, 0xff, sizeof *m * cap);
        free(s->map);
        s->map = m;
        s->map_cap = (uint32_t)cap;
        for (uint32_t i = 0; i < s->n_lists; i++) sparse__map_put(s, i);
    }
    l = s->n_lists++;
    s->lists[l] = (store_posting){.dim = dim};
    sparse__map_put(s, l);
    return l;
}

/* Room for extra more entries in list l. */
static bool sparse__list_room(store_posting *p, uint32_t extra) {
    uint64_t need = (uint64_t)p->n + extra;
    if (need <= p->cap) return true;
    if (need > UINT32_MAX) return false;
    uint64_t cap = p->cap ? p->cap : 4;
    while (cap < need) cap = cap * 2;
    if (cap > UINT32_MAX) cap = UINT32_MAX;
    uint32_t *slot = realloc(p->slot, sizeof *slot * cap);
    if (!slot) return false;
    p->slot = slot;
    float *val = realloc(p->val, sizeof *val * cap);
    if (!val) return false;
    p->val = val;
    p->cap = (uint32_t)cap;
    return true;
}

sc_status store_sparse_reserve(store_sparse *s, store_svec *const *vs, size_t n) {
    bool ok = true;
    /* count what the batch adds to each list (making the missing lists) */
    for (size_t i = 0; i < n && ok; i++)
        for (uint32_t j = 0; vs[i] && j < vs[i]->n && ok; j++) {
            uint32_t l = sparse__find_or_add(s, vs[i]->idx[j]);
            if (l == SPARSE_LIST_EMPTY) ok = false;
            else s->lists[l].extra++;
        }
    /* grow them, then clear the counts (every list counted has its extra) */
    for (size_t i = 0; i < n; i++)
        for (uint32_t j = 0; vs[i] && j < vs[i]->n; j++) {
            uint32_t l = sparse__find(s, vs[i]->idx[j]);
            if (l == SPARSE_LIST_EMPTY) continue;
            store_posting *p = &s->lists[l];
            if (ok && p->extra && !sparse__list_room(p, p->extra)) ok = false;
            p->extra = 0;
        }
    return ok ? SC_OK : store_fail(SC_NOMEM, "out of memory growing the inverted index of `%s`", s->name);
}

/* Position of dim in v (which has it). */
static uint32_t sparse__entry(const store_svec *v, uint32_t dim) {
    uint32_t lo = 0, hi = v->n;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v->idx[mid] <= dim) lo = mid;
        else hi = mid;
    }
    sc_assert(v->idx[lo] == dim);
    return lo;
}

/* Take entry j of the vector of slot out of its posting list. */
static void sparse__unlink(store_sparse *s, uint32_t slot, const store_svec *v, uint32_t j) {
    store_posting *p = &s->lists[sparse__find(s, v->idx[j])];
    uint32_t at = v->pos[j], last = p->n - 1;
    sc_assert(at < p->n && p->slot[at] == slot);
    if (at != last) {
        uint32_t moved = p->slot[last];
        p->slot[at] = moved;
        p->val[at] = p->val[last];
        store_svec *mv = s->vecs[moved];
        mv->pos[sparse__entry(mv, p->dim)] = at;
    }
    p->n--;
}

void store_sparse_set(store_sparse *s, uint32_t slot, store_svec *v) {
    store_svec *old = s->vecs[slot];
    if (old) {
        for (uint32_t j = 0; j < old->n; j++) sparse__unlink(s, slot, old, j);
        s->n_present--;
        if (old->n) s->n_nonempty--;
        s->n_entries -= old->n;
        free(old);
    }
    s->vecs[slot] = v;
    if (!v) return;
    for (uint32_t j = 0; j < v->n; j++) {
        store_posting *p = &s->lists[sparse__find(s, v->idx[j])];
        sc_assert(p->n < p->cap); /* reserved */
        p->slot[p->n] = slot;
        p->val[p->n] = v->val[j];
        v->pos[j] = p->n++;
    }
    s->n_present++;
    if (v->n) s->n_nonempty++;
    s->n_entries += v->n;
}

uint64_t store_sparse_bytes(const store_sparse *s) {
    uint64_t b = (uint64_t)s->vecs_cap * sizeof *s->vecs + (uint64_t)s->lists_cap * sizeof *s->lists +
                 (uint64_t)s->map_cap * sizeof *s->map;
    b += s->n_present * sizeof(store_svec) + s->n_entries * (2 * sizeof(uint32_t) + sizeof(float));
    for (uint32_t l = 0; l < s->n_lists; l++) b += (uint64_t)s->lists[l].cap * (sizeof(uint32_t) + sizeof(float));
    return b;
}

sc_status store_sparse_record(const store_sparse *s, uint32_t slot, sc_sparse_vector *out) {
    const store_svec *v = s->vecs[slot];
    memset(out, 0, sizeof *out);
    out->name = util_strdup(s->name);
    out->indices = malloc(sizeof *out->indices * (v->n ? v->n : 1));
    out->values = malloc(sizeof *out->values * (v->n ? v->n : 1));
    if (!out->name || !out->indices || !out->values) {
        free(out->name);
        free(out->indices);
        free(out->values);
        memset(out, 0, sizeof *out);
        return SC_NOMEM;
    }
    out->n = v->n;
    memcpy(out->indices, v->idx, sizeof *out->indices * v->n);
    memcpy(out->values, v->val, sizeof *out->values * v->n);
    return SC_OK;
}

/* ==== Blob (points.sparse) ==== */

sc_status store_sparse_blob_encode(const store_coll *c, store_svec *const *vs, util_buf *out) {
    out->len = 0;
    uint64_t mask = 0;
    for (size_t k = 0; k < c->n_sparse; k++)
        if (vs[k]) mask |= 1ull << k;
    if (!mask) return SC_OK;
    uint32_t head[2] = {STORE_SPARSE_BLOB_MAGIC, (uint32_t)c->n_sparse};
    util_buf_append(out, head, sizeof head);
    util_buf_append(out, &mask, sizeof mask);
    for (size_t k = 0; k < c->n_sparse; k++) {
        if (!vs[k]) continue;
        util_buf_append(out, &vs[k]->n, sizeof vs[k]->n);
        util_buf_append(out, vs[k]->idx, sizeof *vs[k]->idx * vs[k]->n);
        util_buf_append(out, vs[k]->val, sizeof *vs[k]->val * vs[k]->n);
    }
    if (out->oom) return store_fail(SC_NOMEM, "out of memory encoding sparse vectors");
    uint64_t sum = util_hash64(out->data, out->len, STORE_SPARSE_BLOB_SEED);
    util_buf_append(out, &sum, sizeof sum);
    return out->oom ? store_fail(SC_NOMEM, "out of memory encoding sparse vectors") : SC_OK;
}

sc_status store_sparse_blob_decode(const store_coll *c, const void *blob, int n, store_svec **vs, char *errbuf,
                                   size_t errbuf_size) {
    for (size_t k = 0; k < c->n_sparse; k++) vs[k] = NULL;
    if (!blob || n == 0) return SC_OK; /* no sparse vector */
    const uint8_t *b = blob;
    size_t size = (size_t)n, off = 16;
    uint32_t head[2];
    uint64_t mask, sum;
    if (n < 24) {
        snprintf(errbuf, errbuf_size, "sparse vector blob of %d bytes is truncated (offset 0)", n);
        return SC_CORRUPT;
    }
    memcpy(head, b, sizeof head);
    memcpy(&mask, b + 8, sizeof mask);
    if (head[0] != STORE_SPARSE_BLOB_MAGIC || head[1] != c->n_sparse || !mask ||
        (c->n_sparse < 64 && (mask >> c->n_sparse))) {
        snprintf(errbuf, errbuf_size, "sparse vector blob has a bad header (offset 0)");
        return SC_CORRUPT;
    }
    memcpy(&sum, b + size - 8, sizeof sum);
    if (sum != util_hash64(b, size - 8, STORE_SPARSE_BLOB_SEED)) {
        snprintf(errbuf, errbuf_size, "sparse vector blob checksum mismatch (offset %zu)", size - 8);
        return SC_CORRUPT;
    }
    sc_status rc = SC_OK;
    for (size_t k = 0; k < c->n_sparse && rc == SC_OK; k++) {
        if (!(mask >> k & 1)) continue;
        uint32_t m;
        if (off + 4 > size - 8) goto truncated;
        memcpy(&m, b + off, 4);
        if (m > SC_MAX_SPARSE_NNZ || (uint64_t)m * 8 > size - 8 - off - 4) goto truncated;
        off += 4;
        store_svec *v = sparse__alloc(m);
        if (!v) {
            rc = SC_NOMEM;
            snprintf(errbuf, errbuf_size, "out of memory reading a sparse vector of %u entries", m);
            break;
        }
        memcpy(v->idx, b + off, 4 * (size_t)m);
        memcpy(v->val, b + off + 4 * (size_t)m, 4 * (size_t)m);
        vs[k] = v;
        for (uint32_t j = 0; j < m; j++) {
            v->pos[j] = 0;
            if ((j && v->idx[j] <= v->idx[j - 1]) || !isfinite(v->val[j])) {
                snprintf(errbuf, errbuf_size, "sparse vector `%s` is malformed at entry %u (offset %zu)",
                         c->sparse[k].name, j, off + 4 * (size_t)j);
                rc = SC_CORRUPT;
                break;
            }
        }
        off += 8 * (size_t)m;
    }
    if (rc == SC_OK && off != size - 8) {
        snprintf(errbuf, errbuf_size, "sparse vector blob has %zu bytes, expected %zu (offset %zu)", size, off + 8, off);
        rc = SC_CORRUPT;
    }
    if (rc != SC_OK)
        for (size_t k = 0; k < c->n_sparse; k++) {
            free(vs[k]);
            vs[k] = NULL;
        }
    return rc;
truncated:
    snprintf(errbuf, errbuf_size, "sparse vector blob is truncated (offset %zu)", off);
    for (size_t k = 0; k < c->n_sparse; k++) {
        free(vs[k]);
        vs[k] = NULL;
    }
    return SC_CORRUPT;
}
