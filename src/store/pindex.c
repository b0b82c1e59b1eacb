/*
** store/pindex.c: payload indexes on one key, and filter_plan, which turns
** a compiled filter into a candidate bitmap of slots using those indexes.
**
** DESIGN
** - Every index maps the values found at its key (filter_path_visit with
**   leaf arrays expanded, the values conditions compare) to roaring bitmaps
**   of slots, in an open-addressing hash table keyed by bytes: the string
**   for keyword indexes, the 8 bytes of the int64 / double for numeric
**   ones. Bool indexes use two bitmaps instead.
** - Besides, `present` holds the slots with at least one indexed value and
**   `other` the slots with a non-null value the index does not store (a
**   number under a keyword index, ...). They make `except` and `is_empty`
**   answerable, and `reals` (integer indexes: slots with a non-integral
**   number) keeps range candidates a superset.
** - Numeric indexes answer ranges from a (value, slot) array sorted by
**   value, rebuilt lazily by the first filter_plan after a change. Readers
**   run filter_plan concurrently under the store's read lock, so the
**   rebuild is serialised by the index's own mutex; writers (add/remove)
**   are excluded by the store's lock and only set the dirty flag.
** - Other types key the same table by: the 16 bytes of a UUID (uuid), the
**   int64 microseconds of an RFC 3339 date-time (datetime, ranges as for
**   integers), the tokens of strings (text: a posting bitmap per token,
**   tokenized by the index's text_ft), the two doubles (lat, lon) of a geo
**   point (geo: conditions test every distinct point).
** - filter_plan's invariant: the bitmap it returns contains every live slot
**   that filter_match accepts; `exact` promises equality. Conditions no
**   index answers are "everything, inexact"; AND / OR / NOT combine these
**   (NOT only of exact sets), so the invariant holds by induction.
*/
#include "store/filter_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"

/* roaring_bitmap_free that accepts NULL (older CRoaring does not). */
static void pindex__bm_free(roaring_bitmap_t *bm) {
    if (bm) roaring_bitmap_free(bm);
}

/* ==== Hash table of value bytes -> bitmap ==== */

typedef struct pindex__entry {
    char *key;              /* owned value bytes; NULL = free bucket */
    size_t len;             /* bytes of key */
    uint64_t hash;          /* util_hash64 of key */
    roaring_bitmap_t *bm;   /* slots holding this value; never empty */
} pindex__entry;

typedef struct pindex__map {
    pindex__entry *e; /* buckets (cap of them, power of two) */
    size_t cap;       /* buckets allocated; 0 before the first insert */
    size_t n;         /* buckets used */
} pindex__map;

/* One (value, slot) of a numeric index, for ranges. */
typedef struct pindex__pair {
    int64_t i;     /* integer indexes: the value */
    double d;      /* float indexes: the value */
    uint32_t slot; /* slot holding it */
} pindex__pair;

struct store_pindex {
    filter_path path;          /* parsed key */
    sc_field_type type;        /* what values are indexed */
    pindex__map map;           /* keyword / integer / float: value -> slots */
    roaring_bitmap_t *yes;     /* bool: slots with a true value */
    roaring_bitmap_t *no;      /* bool: slots with a false value */
    roaring_bitmap_t *present; /* slots with at least one indexed value */
    roaring_bitmap_t *other;   /* slots with a non-null value of another type */
    roaring_bitmap_t *reals;   /* integer: slots with a non-integral number (within other) */
    pthread_mutex_t lock;      /* serialises the lazy rebuild of sorted */
    bool dirty;                /* sorted is stale (set by writers) */
    pindex__pair *sorted;      /* numeric: every (value, slot), sorted by value */
    size_t n_sorted;           /* entries of sorted */
    json_t *params;            /* options as given (payload_schema.params), NULL for a bare type */
    text_ft *ft;               /* text: the tokenizer (own reference) */
    bool phrase;               /* text: phrase_matching */
};

static uint64_t pindex__hash(const void *key, size_t len) {
    return util_hash64(key, len, 0x5eedf11e7ULL);
}

/* Bucket holding key, or the free bucket where it would go (cap > 0). */
static pindex__entry *pindex__slot(const pindex__map *m, const void *key, size_t len, uint64_t h) {
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        pindex__entry *e = &m->e[i];
        if (!e->key || (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)) return e;
    }
}

static pindex__entry *pindex__find(const pindex__map *m, const void *key, size_t len) {
    if (m->cap == 0) return NULL;
    pindex__entry *e = pindex__slot(m, key, len, pindex__hash(key, len));
    return e->key ? e : NULL;
}

static bool pindex__grow(pindex__map *m) {
    size_t ncap = m->cap ? m->cap * 2 : 16;
    pindex__entry *ne = calloc(ncap, sizeof *ne);
    if (!ne) return false;
    pindex__map nm = {ne, ncap, m->n};
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].key) *pindex__slot(&nm, m->e[i].key, m->e[i].len, m->e[i].hash) = m->e[i];
    free(m->e);
    *m = nm;
    return true;
}

/* Bucket for key, created (with an empty bitmap) if missing; NULL on OOM. */
static pindex__entry *pindex__upsert(pindex__map *m, const void *key, size_t len) {
    if ((m->n + 1) * 2 > m->cap && !pindex__grow(m)) return NULL;
    uint64_t h = pindex__hash(key, len);
    pindex__entry *e = pindex__slot(m, key, len, h);
    if (e->key) return e;
    char *k = malloc(len ? len : 1);
    roaring_bitmap_t *bm = roaring_bitmap_create();
    if (!k || !bm) {
        free(k);
        pindex__bm_free(bm);
        return NULL;
    }
    if (len) memcpy(k, key, len);
    *e = (pindex__entry){k, len, h, bm};
    m->n++;
    return e;
}

/* Remove bucket e (linear probing: shift the following run back). */
static void pindex__erase(pindex__map *m, pindex__entry *e) {
    free(e->key);
    pindex__bm_free(e->bm);
    size_t mask = m->cap - 1, i = (size_t)(e - m->e);
    m->e[i].key = NULL;
    m->n--;
    for (size_t j = (i + 1) & mask; m->e[j].key; j = (j + 1) & mask) {
        size_t home = (size_t)m->e[j].hash & mask;
        /* Move j into the hole i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        m->e[i] = m->e[j];
        m->e[j].key = NULL;
        i = j;
    }
}

static void pindex__map_clear(pindex__map *m) {
    for (size_t i = 0; i < m->cap; i++) {
        if (m->e[i].key) {
            free(m->e[i].key);
            pindex__bm_free(m->e[i].bm);
        }
    }
    free(m->e);
    memset(m, 0, sizeof *m);
}

/* ==== Index life cycle ==== */

store_pindex *pindex_new(const char *key, sc_field_type type) {
    if ((unsigned)type > SC_FIELD_TYPE_BOOL) return NULL; /* the others need options: pindex_new_schema */
    pindex_schema s = {.type = type};
    return pindex_new_schema(key, &s);
}

store_pindex *pindex_new_schema(const char *key, pindex_schema *s) {
    sc_field_type type = s->type;
    store_pindex *ix = (unsigned)type <= SC_FIELD_TYPE_GEO && (type != SC_FIELD_TYPE_TEXT || s->ft)
                           ? calloc(1, sizeof *ix) : NULL;
    if (!ix || filter_path_parse(key, &ix->path, NULL) != SC_OK) {
        free(ix);
        pindex_schema_clear(s);
        return NULL;
    }
    ix->type = type;
    ix->params = s->params;
    ix->ft = s->ft;
    ix->phrase = s->phrase;
    memset(s, 0, sizeof *s);
    ix->present = roaring_bitmap_create();
    ix->other = roaring_bitmap_create();
    ix->reals = roaring_bitmap_create();
    if (type == SC_FIELD_TYPE_BOOL) {
        ix->yes = roaring_bitmap_create();
        ix->no = roaring_bitmap_create();
    }
    bool ok = ix->present && ix->other && ix->reals && (type != SC_FIELD_TYPE_BOOL || (ix->yes && ix->no));
    if (!ok || pthread_mutex_init(&ix->lock, NULL) != 0) {
        pindex__bm_free(ix->present);
        pindex__bm_free(ix->other);
        pindex__bm_free(ix->reals);
        pindex__bm_free(ix->yes);
        pindex__bm_free(ix->no);
        filter_path_clear(&ix->path);
        json_decref(ix->params);
        text_ft_free(ix->ft);
        free(ix);
        return NULL;
    }
    return ix;
}

void pindex_free(store_pindex *ix) {
    if (!ix) return;
    pindex__map_clear(&ix->map);
    pindex__bm_free(ix->present);
    pindex__bm_free(ix->other);
    pindex__bm_free(ix->reals);
    pindex__bm_free(ix->yes);
    pindex__bm_free(ix->no);
    free(ix->sorted);
    pthread_mutex_destroy(&ix->lock);
    filter_path_clear(&ix->path);
    json_decref(ix->params);
    text_ft_free(ix->ft);
    free(ix);
}

const json_t *pindex_params(const store_pindex *ix) {
    return ix ? ix->params : NULL;
}

text_ft *pindex_text_ft(const store_pindex *ix, bool *phrase) {
    if (!ix || ix->type != SC_FIELD_TYPE_TEXT) return NULL;
    if (phrase) *phrase = ix->phrase;
    return ix->ft;
}

const char *pindex_key(const store_pindex *ix) {
    return ix ? ix->path.text : NULL;
}

sc_field_type pindex_type(const store_pindex *ix) {
    return ix ? ix->type : SC_FIELD_TYPE_KEYWORD;
}

/* ==== Adding and removing values ==== */

/* State of one add / remove walk over a payload. */
typedef struct pindex__op {
    store_pindex *ix; /* index changed */
    uint32_t slot;    /* slot whose values are walked */
    bool add;         /* add (true) or remove */
    bool oom;         /* an allocation failed while adding */
} pindex__op;

/* Hash-table key of a numeric value, or false when ix does not store v. */
static bool pindex__num_key(const store_pindex *ix, const json_t *v, unsigned char key[8]) {
    if (ix->type == SC_FIELD_TYPE_INTEGER) {
        if (!json_is_integer(v)) return false;
        int64_t i = json_integer_value(v);
        memcpy(key, &i, 8);
        return true;
    }
    if (!json_is_number(v)) return false;
    double d = json_number_value(v);
    if (d == 0) d = 0; /* one key for 0.0 and -0.0 */
    memcpy(key, &d, 8);
    return true;
}

/* Add or remove op->slot under one value's bytes. */
static void pindex__op_key(pindex__op *op, const void *key, size_t len) {
    store_pindex *ix = op->ix;
    if (op->add) {
        pindex__entry *e = pindex__upsert(&ix->map, key, len);
        if (!e) {
            op->oom = true;
            return;
        }
        roaring_bitmap_add(e->bm, op->slot);
        return;
    }
    pindex__entry *e = pindex__find(&ix->map, key, len);
    if (!e) return;
    roaring_bitmap_remove(e->bm, op->slot);
    if (roaring_bitmap_is_empty(e->bm)) pindex__erase(&ix->map, e);
}

static void pindex__token_cb(const char *tok, size_t len, void *arg) {
    pindex__op_key(arg, tok, len);
}

/* Text and geo values: keys of their own, then the slot is present. */
static bool pindex__op_special(pindex__op *op, const json_t *v) {
    store_pindex *ix = op->ix;
    if (ix->type == SC_FIELD_TYPE_TEXT) {
        if (!json_is_string(v)) return false;
        if (text_ft_tokenize(ix->ft, json_string_value(v), json_string_length(v), TEXT_FT_MODE_DOC, pindex__token_cb,
                             op) != SC_OK)
            op->oom = true;
    } else {
        const json_t *lat = json_is_object(v) ? json_object_get(v, "lat") : NULL;
        const json_t *lon = json_is_object(v) ? json_object_get(v, "lon") : NULL;
        if (!json_is_number(lat) || !json_is_number(lon)) return false;
        double ll[2] = {json_number_value(lat), json_number_value(lon)};
        pindex__op_key(op, ll, sizeof ll);
    }
    ix->dirty = true;
    if (op->add) roaring_bitmap_add(ix->present, op->slot);
    else roaring_bitmap_remove(ix->present, op->slot);
    return true;
}

static void pindex__op_cb(const json_t *v, void *arg) {
    pindex__op *op = arg;
    store_pindex *ix = op->ix;
    if (json_is_null(v)) return;
    const void *key = NULL;
    size_t len = 0;
    unsigned char num[16];
    roaring_bitmap_t *bm = NULL;
    sc_point_id uuid;
    int64_t us;
    switch (ix->type) {
    case SC_FIELD_TYPE_TEXT:
    case SC_FIELD_TYPE_GEO:
        if (pindex__op_special(op, v)) return;
        break;
    case SC_FIELD_TYPE_UUID:
        if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v) &&
            sc_point_id_parse_uuid(json_string_value(v), &uuid) == SC_OK) {
            memcpy(num, uuid.uuid, 16);
            key = num;
            len = 16;
        }
        break;
    case SC_FIELD_TYPE_DATETIME:
        if (json_is_string(v) && util_parse_datetime(json_string_value(v), json_string_length(v), &us)) {
            memcpy(num, &us, 8);
            key = num;
            len = 8;
        }
        break;
    case SC_FIELD_TYPE_KEYWORD:
        if (json_is_string(v)) {
            key = json_string_value(v);
            len = json_string_length(v);
        }
        break;
    case SC_FIELD_TYPE_INTEGER:
    case SC_FIELD_TYPE_FLOAT:
        if (pindex__num_key(ix, v, num)) {
            key = num;
            len = 8;
        } else if (ix->type == SC_FIELD_TYPE_INTEGER && json_is_real(v)) {
            if (op->add) roaring_bitmap_add(ix->reals, op->slot);
            else roaring_bitmap_remove(ix->reals, op->slot);
        }
        break;
    case SC_FIELD_TYPE_BOOL:
        if (json_is_boolean(v)) bm = json_is_true(v) ? ix->yes : ix->no;
        break;
    }
    if (!key && !bm) { /* a value this index does not store */
        if (op->add) roaring_bitmap_add(ix->other, op->slot);
        else roaring_bitmap_remove(ix->other, op->slot);
        return;
    }
    ix->dirty = true;
    if (op->add) {
        if (key) {
            pindex__entry *e = pindex__upsert(&ix->map, key, len);
            if (!e) {
                op->oom = true;
                return;
            }
            bm = e->bm;
        }
        roaring_bitmap_add(bm, op->slot);
        roaring_bitmap_add(ix->present, op->slot);
    } else {
        roaring_bitmap_remove(ix->present, op->slot);
        if (bm) {
            roaring_bitmap_remove(bm, op->slot);
            return;
        }
        pindex__entry *e = pindex__find(&ix->map, key, len);
        if (!e) return;
        roaring_bitmap_remove(e->bm, op->slot);
        if (roaring_bitmap_is_empty(e->bm)) pindex__erase(&ix->map, e);
    }
}

/* On SC_NOMEM part of the values may be indexed: call pindex_remove with the
** same payload to undo. */
sc_status pindex_add(store_pindex *ix, uint32_t slot, const json_t *payload) {
    if (!ix) return SC_MISUSE;
    if (!payload) return SC_OK;
    pindex__op op = {ix, slot, true, false};
    filter_path_visit(&ix->path, payload, true, pindex__op_cb, &op);
    return op.oom ? SC_NOMEM : SC_OK;
}

void pindex_remove(store_pindex *ix, uint32_t slot, const json_t *payload) {
    if (!ix || !payload) return;
    pindex__op op = {ix, slot, false, false};
    filter_path_visit(&ix->path, payload, true, pindex__op_cb, &op);
}

const char *pindex_top_key(const store_pindex *ix, size_t *len) {
    if (!ix || !ix->path.n_segs || ix->path.segs[0].kind != FILTER_SEG_KIND_KEY) return NULL;
    *len = ix->path.segs[0].name_len;
    return ix->path.segs[0].name;
}

uint64_t pindex_n_points(const store_pindex *ix) {
    return ix ? roaring_bitmap_get_cardinality(ix->present) : 0;
}

uint64_t pindex_mem_bytes(const store_pindex *ix) {
    if (!ix) return 0;
    /* A concurrent reader may be rebuilding sorted (see pindex__range). */
    pthread_mutex_t *lock = (pthread_mutex_t *)&ix->lock;
    pthread_mutex_lock(lock);
    uint64_t n = sizeof *ix + ix->map.cap * sizeof(pindex__entry) + ix->n_sorted * sizeof(pindex__pair);
    pthread_mutex_unlock(lock);
    for (size_t i = 0; i < ix->map.cap; i++)
        if (ix->map.e[i].key) n += ix->map.e[i].len + roaring_bitmap_size_in_bytes(ix->map.e[i].bm);
    n += roaring_bitmap_size_in_bytes(ix->present) + roaring_bitmap_size_in_bytes(ix->other) +
         roaring_bitmap_size_in_bytes(ix->reals);
    if (ix->yes) n += roaring_bitmap_size_in_bytes(ix->yes) + roaring_bitmap_size_in_bytes(ix->no);
    return n;
}

/* ==== Sorted values for ranges ==== */

static int pindex__pair_cmp_i(const void *a, const void *b) {
    const pindex__pair *x = a, *y = b;
    if (x->i != y->i) return x->i < y->i ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int pindex__pair_cmp_d(const void *a, const void *b) {
    const pindex__pair *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Whether the index's sorted values are int64 (integer, datetime) rather than doubles. */
static bool pindex__int_keys(const store_pindex *ix) {
    return ix->type == SC_FIELD_TYPE_INTEGER || ix->type == SC_FIELD_TYPE_DATETIME;
}

/* Rebuild ix->sorted if stale. Caller holds ix->lock. */
static sc_status pindex__sort(store_pindex *ix) {
    if (!ix->dirty && (ix->sorted || ix->map.n == 0)) return SC_OK;
    size_t n = 0;
    for (size_t i = 0; i < ix->map.cap; i++)
        if (ix->map.e[i].key) n += (size_t)roaring_bitmap_get_cardinality(ix->map.e[i].bm);
    pindex__pair *p = n ? malloc(n * sizeof *p) : NULL;
    uint32_t *slots = NULL;
    size_t cap_slots = 0, k = 0;
    if (n && !p) return SC_NOMEM;
    for (size_t i = 0; i < ix->map.cap; i++) {
        const pindex__entry *e = &ix->map.e[i];
        if (!e->key) continue;
        size_t c = (size_t)roaring_bitmap_get_cardinality(e->bm);
        if (c > cap_slots) {
            uint32_t *ns = realloc(slots, c * sizeof *ns);
            if (!ns) {
                free(slots);
                free(p);
                return SC_NOMEM;
            }
            slots = ns;
            cap_slots = c;
        }
        roaring_bitmap_to_uint32_array(e->bm, slots);
        pindex__pair v = {0, 0, 0};
        if (pindex__int_keys(ix)) memcpy(&v.i, e->key, 8);
        else memcpy(&v.d, e->key, 8);
        for (size_t j = 0; j < c; j++) {
            v.slot = slots[j];
            p[k++] = v;
        }
    }
    free(slots);
    if (k > 1) qsort(p, k, sizeof *p, pindex__int_keys(ix) ? pindex__pair_cmp_i : pindex__pair_cmp_d);
    free(ix->sorted);
    ix->sorted = p;
    ix->n_sorted = k;
    ix->dirty = false;
    return SC_OK;
}

static double pindex__pair_value(const store_pindex *ix, const pindex__pair *p) {
    return ix->type == SC_FIELD_TYPE_INTEGER ? (double)p->i : p->d;
}

/* First position in sorted where pred(value) holds; pred is monotone
** (false then true) when upper is false, (true then false) when upper. */
static size_t pindex__bound(const store_pindex *ix, const filter_cond *c, bool upper) {
    size_t lo = 0, hi = ix->n_sorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        bool ok;
        if (c->datetime) { /* microseconds against the bounds' us */
            int64_t t = ix->sorted[mid].i;
            if (upper) ok = (c->lt.set && !(t < c->lt.us)) || (c->lte.set && !(t <= c->lte.us));
            else ok = (!c->gt.set || t > c->gt.us) && (!c->gte.set || t >= c->gte.us);
        } else {
            double x = pindex__pair_value(ix, &ix->sorted[mid]);
            if (upper) ok = (c->lt.set && !(x < c->lt.num)) || (c->lte.set && !(x <= c->lte.num));
            else ok = (!c->gt.set || x > c->gt.num) && (!c->gte.set || x >= c->gte.num);
        }
        if (ok) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* Slots whose value lies in the numeric range c. */
static sc_status pindex__range(store_pindex *ix, const filter_cond *c, roaring_bitmap_t *out) {
    /* Readers may get here concurrently: the lazy rebuild is serialised. */
    pthread_mutex_lock(&ix->lock);
    sc_status rc = pindex__sort(ix);
    if (rc == SC_OK) {
        size_t a = pindex__bound(ix, c, false), b = pindex__bound(ix, c, true);
        for (size_t i = a; i < b; i++) roaring_bitmap_add(out, ix->sorted[i].slot);
    }
    pthread_mutex_unlock(&ix->lock);
    return rc;
}

/* ==== Planning ==== */

/* Candidates of a sub-expression: bm NULL = every live slot. */
typedef struct pindex__res {
    roaring_bitmap_t *bm; /* owned candidate slots, or NULL for all */
    bool exact;           /* bm (or all) is exactly the match set */
} pindex__res;

static const pindex__res pindex__ALL = {NULL, false};

static pindex__res pindex__and(pindex__res a, pindex__res b) {
    pindex__res r = {NULL, a.exact && b.exact};
    if (!a.bm) r.bm = b.bm;
    else if (!b.bm) r.bm = a.bm;
    else {
        roaring_bitmap_and_inplace(a.bm, b.bm);
        pindex__bm_free(b.bm);
        r.bm = a.bm;
    }
    return r;
}

static pindex__res pindex__or(pindex__res a, pindex__res b) {
    pindex__res r = {NULL, a.exact && b.exact};
    if (!a.bm || !b.bm) {
        pindex__bm_free(a.bm);
        pindex__bm_free(b.bm);
        return r;
    }
    roaring_bitmap_or_inplace(a.bm, b.bm);
    pindex__bm_free(b.bm);
    r.bm = a.bm;
    return r;
}

/* Complement among live slots: only an exact set can be negated. */
static pindex__res pindex__not(pindex__res a, const roaring_bitmap_t *all, bool *oom) {
    if (!a.exact || !all) {
        pindex__bm_free(a.bm);
        return pindex__ALL;
    }
    pindex__res r = {NULL, true};
    r.bm = a.bm ? roaring_bitmap_andnot(all, a.bm) : roaring_bitmap_create();
    pindex__bm_free(a.bm);
    if (!r.bm) {
        *oom = true;
        return pindex__ALL;
    }
    return r;
}

/* Planning context. */
typedef struct pindex__plan {
    store_pindex *const *ixs;   /* available indexes */
    size_t n_ixs;               /* their number */
    const roaring_bitmap_t *all;/* live slots (may be NULL) */
    bool oom;                   /* an allocation failed */
} pindex__plan;

static store_pindex *pindex__lookup(const pindex__plan *pl, const filter_path *p) {
    for (size_t i = 0; i < pl->n_ixs; i++)
        if (pl->ixs[i] && !strcmp(pl->ixs[i]->path.text, p->text)) return pl->ixs[i];
    return NULL;
}

static roaring_bitmap_t *pindex__copy(pindex__plan *pl, const roaring_bitmap_t *bm) {
    roaring_bitmap_t *r = bm ? roaring_bitmap_copy(bm) : roaring_bitmap_create();
    if (!r) pl->oom = true;
    return r;
}

/* Slots with any non-null value at the key. */
static pindex__res pindex__nonnull(pindex__plan *pl, const store_pindex *ix, bool exact) {
    pindex__res r = {roaring_bitmap_or(ix->present, ix->other), exact};
    if (!r.bm) {
        pl->oom = true;
        return pindex__ALL;
    }
    return r;
}

/* match value / any of strings on a uuid index: the UUIDs they name
** (superset: the filter compares the strings themselves). */
static pindex__res pindex__plan_uuid(pindex__plan *pl, const filter_cond *c, const store_pindex *ix) {
    pindex__res r = {pindex__copy(pl, NULL), false};
    if (!r.bm) return pindex__ALL;
    for (size_t i = 0; i < c->n_strs; i++) {
        sc_point_id id;
        if (strlen(c->strs[i].s) != c->strs[i].len || sc_point_id_parse_uuid(c->strs[i].s, &id) != SC_OK) continue;
        const pindex__entry *e = pindex__find(&ix->map, id.uuid, 16);
        if (e) roaring_bitmap_or_inplace(r.bm, e->bm);
    }
    return r;
}

/* A text condition bound to this text index: the postings of its tokens,
** intersected (text, phrase) or united (text_any). Exact but for phrases,
** which the filter then checks for order. */
static pindex__res pindex__plan_tokens(pindex__plan *pl, const filter_cond *c, const store_pindex *ix) {
    pindex__res r = {pindex__copy(pl, NULL), c->match != FILTER_MATCH_KIND_PHRASE};
    if (!r.bm) return pindex__ALL;
    if (c->n_qtok == 0 || (c->match == FILTER_MATCH_KIND_PHRASE && !ix->phrase)) {
        r.exact = true; /* nothing matches */
        return r;
    }
    bool any = c->match == FILTER_MATCH_KIND_TEXT_ANY;
    for (size_t i = 0; i < c->n_qtok; i++) {
        const pindex__entry *e = pindex__find(&ix->map, c->qtok[i].s, c->qtok[i].len);
        if (any) {
            if (e) roaring_bitmap_or_inplace(r.bm, e->bm);
        } else if (!e) {
            roaring_bitmap_clear(r.bm);
            break;
        } else if (i == 0) {
            roaring_bitmap_or_inplace(r.bm, e->bm);
        } else {
            roaring_bitmap_and_inplace(r.bm, e->bm);
        }
    }
    return r;
}

/* Geo condition on a geo index: the slots of every stored point inside the shape. */
static pindex__res pindex__plan_geo(pindex__plan *pl, const filter_cond *c, const store_pindex *ix) {
    pindex__res r = {pindex__copy(pl, NULL), true};
    if (!r.bm) return pindex__ALL;
    for (size_t i = 0; i < ix->map.cap; i++) {
        const pindex__entry *e = &ix->map.e[i];
        if (!e->key) continue;
        double ll[2];
        memcpy(ll, e->key, sizeof ll);
        if (filter_geo_test(c->geo, ll[0], ll[1])) roaring_bitmap_or_inplace(r.bm, e->bm);
    }
    return r;
}

static pindex__res pindex__plan_match(pindex__plan *pl, const filter_cond *c, store_pindex *ix) {
    pindex__res r = {NULL, true};
    bool kw = ix->type == SC_FIELD_TYPE_KEYWORD, in = ix->type == SC_FIELD_TYPE_INTEGER;
    switch (c->match) {
    case FILTER_MATCH_KIND_KEYWORD:
    case FILTER_MATCH_KIND_ANY_KEYWORDS:
        if (ix->type == SC_FIELD_TYPE_UUID) return pindex__plan_uuid(pl, c, ix);
        /* fall through */
    case FILTER_MATCH_KIND_INTEGER:
    case FILTER_MATCH_KIND_ANY_INTEGERS: {
        bool want_kw = c->match == FILTER_MATCH_KIND_KEYWORD || c->match == FILTER_MATCH_KIND_ANY_KEYWORDS;
        if (want_kw ? !kw : !in) return pindex__ALL;
        if (!(r.bm = pindex__copy(pl, NULL))) return pindex__ALL;
        size_t n = want_kw ? c->n_strs : c->n_ints;
        for (size_t i = 0; i < n; i++) {
            const pindex__entry *e =
                want_kw ? pindex__find(&ix->map, c->strs[i].s, c->strs[i].len)
                        : pindex__find(&ix->map, &c->ints[i], 8);
            if (e) roaring_bitmap_or_inplace(r.bm, e->bm);
        }
        return r;
    }
    case FILTER_MATCH_KIND_BOOL:
        if (ix->type != SC_FIELD_TYPE_BOOL) return pindex__ALL;
        r.bm = pindex__copy(pl, c->flag ? ix->yes : ix->no);
        return r.bm ? r : pindex__ALL;
    case FILTER_MATCH_KIND_EXCEPT_KEYWORDS:
    case FILTER_MATCH_KIND_EXCEPT_INTEGERS: {
        bool want_kw = c->match == FILTER_MATCH_KIND_EXCEPT_KEYWORDS;
        /* Another index type: every non-null value may pass. */
        if (want_kw ? !kw : !in) return pindex__nonnull(pl, ix, false);
        if (!(r.bm = pindex__copy(pl, ix->other))) return pindex__ALL;
        for (size_t i = 0; i < ix->map.cap; i++) {
            const pindex__entry *e = &ix->map.e[i];
            if (!e->key) continue;
            bool listed;
            if (want_kw) {
                listed = filter_strs_find(c->strs, c->n_strs, e->key, e->len);
            } else {
                int64_t v;
                memcpy(&v, e->key, 8);
                listed = filter_ints_find(c->ints, c->n_ints, v);
            }
            if (!listed) roaring_bitmap_or_inplace(r.bm, e->bm);
        }
        return r;
    }
    case FILTER_MATCH_KIND_PREFIX:
        if (!kw) return pindex__ALL;
        if (!(r.bm = pindex__copy(pl, NULL))) return pindex__ALL;
        for (size_t i = 0; i < ix->map.cap; i++) {
            const pindex__entry *e = &ix->map.e[i];
            if (e->key && e->len >= c->strs[0].len && !memcmp(e->key, c->strs[0].s, c->strs[0].len))
                roaring_bitmap_or_inplace(r.bm, e->bm);
        }
        return r;
    case FILTER_MATCH_KIND_TEXT:
    case FILTER_MATCH_KIND_TEXT_ANY:
    case FILTER_MATCH_KIND_PHRASE:
        if (ix->type == SC_FIELD_TYPE_TEXT) return c->ft ? pindex__plan_tokens(pl, c, ix) : pindex__ALL;
        if (!kw) return pindex__ALL;
        if (!(r.bm = pindex__copy(pl, NULL))) return pindex__ALL;
        for (size_t i = 0; i < ix->map.cap; i++) {
            const pindex__entry *e = &ix->map.e[i];
            if (e->key && filter_text_test(c, e->key, e->len)) roaring_bitmap_or_inplace(r.bm, e->bm);
        }
        return r;
    }
    return pindex__ALL;
}

static pindex__res pindex__plan_filter(pindex__plan *pl, const store_filter *f);

static pindex__res pindex__plan_cond(pindex__plan *pl, const filter_cond *c) {
    if (pl->oom) return pindex__ALL;
    if (c->kind == FILTER_COND_KIND_FILTER) return pindex__plan_filter(pl, c->sub);
    if (c->kind != FILTER_COND_KIND_MATCH && c->kind != FILTER_COND_KIND_RANGE &&
        c->kind != FILTER_COND_KIND_IS_EMPTY && c->kind != FILTER_COND_KIND_GEO)
        return pindex__ALL; /* values_count, is_null, has_id, nested */
    store_pindex *ix = pindex__lookup(pl, &c->path);
    if (!ix) return pindex__ALL;
    if (c->kind == FILTER_COND_KIND_MATCH) return pindex__plan_match(pl, c, ix);
    if (c->kind == FILTER_COND_KIND_GEO) return ix->type == SC_FIELD_TYPE_GEO ? pindex__plan_geo(pl, c, ix) : pindex__ALL;
    if (c->kind == FILTER_COND_KIND_IS_EMPTY) {
        /* Empty slots have no non-null value: the complement is a superset. */
        if (!pl->all) return pindex__ALL;
        pindex__res nn = pindex__nonnull(pl, ix, true);
        if (!nn.bm) return pindex__ALL;
        pindex__res r = pindex__not(nn, pl->all, &pl->oom);
        r.exact = false;
        return r;
    }
    /* Numeric range, or date-time range on a datetime index. */
    if (c->datetime ? ix->type != SC_FIELD_TYPE_DATETIME
                    : ix->type != SC_FIELD_TYPE_INTEGER && ix->type != SC_FIELD_TYPE_FLOAT)
        return pindex__ALL;
    pindex__res r = {NULL, true};
    if (ix->type == SC_FIELD_TYPE_INTEGER) {
        /* Non-integral numbers are not in the index: they stay candidates. */
        r.bm = pindex__copy(pl, ix->reals);
        r.exact = roaring_bitmap_is_empty(ix->reals);
    } else {
        r.bm = pindex__copy(pl, NULL);
    }
    if (!r.bm) return pindex__ALL;
    if (pindex__range(ix, c, r.bm) != SC_OK) {
        pl->oom = true;
        pindex__bm_free(r.bm);
        return pindex__ALL;
    }
    return r;
}

static pindex__res pindex__plan_filter(pindex__plan *pl, const store_filter *f) {
    pindex__res r = {NULL, true};
    for (size_t i = 0; i < f->n_must; i++) r = pindex__and(r, pindex__plan_cond(pl, &f->must[i]));
    for (size_t i = 0; i < f->n_must_not; i++)
        r = pindex__and(r, pindex__not(pindex__plan_cond(pl, &f->must_not[i]), pl->all, &pl->oom));
    if (f->n_should) {
        pindex__res s = pindex__plan_cond(pl, &f->should[0]);
        for (size_t i = 1; i < f->n_should && (s.bm || s.exact); i++)
            s = pindex__or(s, pindex__plan_cond(pl, &f->should[i]));
        r = pindex__and(r, s);
    }
    if (f->has_min_should && f->min_count > 0) {
        pindex__res s = {NULL, false};
        if (f->min_count > f->n_min_should) {
            s.bm = pindex__copy(pl, NULL); /* cannot be reached: nothing matches */
            s.exact = s.bm != NULL;
        } else {
            /* At least one of them holds: their union is a superset. */
            s = pindex__plan_cond(pl, &f->min_should[0]);
            for (size_t i = 1; i < f->n_min_should && (s.bm || s.exact); i++)
                s = pindex__or(s, pindex__plan_cond(pl, &f->min_should[i]));
            s.exact = s.exact && f->min_count == 1;
        }
        r = pindex__and(r, s);
    }
    return r;
}

sc_status filter_plan(const store_filter *f, store_pindex *const *indexes, size_t n_indexes,
                      const roaring_bitmap_t *all_slots, roaring_bitmap_t **out, bool *exact) {
    if (!out || !exact) return SC_MISUSE;
    *out = NULL;
    *exact = false;
    pindex__plan pl = {indexes, n_indexes, all_slots, false};
    pindex__res r = {NULL, true};
    if (f) r = pindex__plan_filter(&pl, f);
    if (pl.oom) {
        pindex__bm_free(r.bm);
        return SC_NOMEM;
    }
    if (!r.bm) {
        if (!r.exact || !all_slots) return SC_OK; /* cannot narrow: scan everything */
        if (!(r.bm = roaring_bitmap_copy(all_slots))) return SC_NOMEM;
    } else if (all_slots) {
        roaring_bitmap_and_inplace(r.bm, all_slots);
    }
    *out = r.bm;
    *exact = r.exact;
    return SC_OK;
}

/* ==== Facets ==== */

/* Order of facet hits: count descending, then value ascending. */
static int pindex__hit_cmp(const void *a, const void *b) {
    const pindex_facet_hit *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    const json_t *u = x->value, *v = y->value;
    if (json_is_integer(u) && json_is_integer(v))
        return json_integer_value(u) < json_integer_value(v) ? -1 : json_integer_value(u) > json_integer_value(v);
    if (json_is_boolean(u) && json_is_boolean(v)) return (int)json_is_true(u) - (int)json_is_true(v);
    if (json_is_string(u) && json_is_string(v))
        return filter_str_cmp(json_string_value(u), json_string_length(u), json_string_value(v), json_string_length(v));
    return 0;
}

/* The facet value of a map entry of ix (new reference), NULL on OOM. */
static json_t *pindex__facet_value(const store_pindex *ix, const pindex__entry *e) {
    if (ix->type == SC_FIELD_TYPE_INTEGER) {
        int64_t v;
        memcpy(&v, e->key, 8);
        return json_integer((json_int_t)v);
    }
    if (ix->type == SC_FIELD_TYPE_UUID) {
        sc_point_id id = {.kind = SC_ID_KIND_UUID};
        memcpy(id.uuid, e->key, 16);
        char buf[40];
        return json_string(sc_point_id_format(&id, buf, sizeof buf));
    }
    return json_stringn(e->key, e->len);
}

sc_status pindex_facet(const store_pindex *ix, const roaring_bitmap_t *sel, uint64_t limit, pindex_facet_hit **out,
                       size_t *n_out) {
    if (!ix || !out || !n_out) return SC_MISUSE;
    *out = NULL;
    *n_out = 0;
    if (ix->type != SC_FIELD_TYPE_KEYWORD && ix->type != SC_FIELD_TYPE_INTEGER && ix->type != SC_FIELD_TYPE_UUID &&
        ix->type != SC_FIELD_TYPE_BOOL)
        return SC_INVALID;
    bool flag = ix->type == SC_FIELD_TYPE_BOOL;
    size_t cap = flag ? 2 : ix->map.n;
    pindex_facet_hit *h = calloc(cap ? cap : 1, sizeof *h);
    if (!h) return SC_NOMEM;
    size_t n = 0;
    bool oom = false;
    for (size_t i = 0; i < (flag ? 2 : ix->map.cap) && !oom; i++) {
        const roaring_bitmap_t *bm = flag ? (i ? ix->no : ix->yes) : ix->map.e[i].bm;
        if (!flag && !ix->map.e[i].key) continue;
        uint64_t count = sel ? roaring_bitmap_and_cardinality(bm, sel) : roaring_bitmap_get_cardinality(bm);
        if (!count) continue;
        json_t *v = flag ? json_boolean(i == 0) : pindex__facet_value(ix, &ix->map.e[i]);
        if (!v) oom = true;
        else h[n++] = (pindex_facet_hit){v, count};
    }
    if (n > 1) qsort(h, n, sizeof *h, pindex__hit_cmp);
    if (oom) {
        for (size_t i = 0; i < n; i++) json_decref(h[i].value);
        free(h);
        return SC_NOMEM;
    }
    while (n > limit) json_decref(h[--n].value);
    *out = h;
    *n_out = n;
    return SC_OK;
}
