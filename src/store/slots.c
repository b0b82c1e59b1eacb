/*
** store/slots.c: the in-memory layout of a collection. Dense slots, the id
** -> slot hash table, capacity reservation, the vector blob format and the
** record lists returned to callers.
**
** Vector blob (points.vectors in SQLite), little-endian:
**   u32 magic "SCV2" | u32 n_names of the collection | u64 presence mask
**   | f32 data of each present vector in config order | u64 checksum
** The checksum is XXH3-64 (seed 0x5343) over everything before it. Blobs of
** store format 1 have magic "SCV1" and util_hash64_v1 as checksum: they are
** still read, and become SCV2 when their point is written again.
*/
#include "store/store_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ==== Names of enums ==== */

const char *sc_distance_name(sc_distance d) {
    switch (d) {
    case SC_DISTANCE_COSINE: return "Cosine";
    case SC_DISTANCE_DOT: return "Dot";
    case SC_DISTANCE_EUCLID: return "Euclid";
    case SC_DISTANCE_MANHATTAN: return "Manhattan";
    }
    return "?";
}

sc_status sc_distance_parse(const char *s, sc_distance *out) {
    if (!s) return SC_INVALID;
    static const struct { const char *name; sc_distance d; } names[] = {
        {"cosine", SC_DISTANCE_COSINE},   {"dot", SC_DISTANCE_DOT},
        {"euclid", SC_DISTANCE_EUCLID},   {"euclidean", SC_DISTANCE_EUCLID},
        {"l2", SC_DISTANCE_EUCLID},       {"manhattan", SC_DISTANCE_MANHATTAN},
        {"l1", SC_DISTANCE_MANHATTAN},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(s, names[i].name)) {
            *out = names[i].d;
            return SC_OK;
        }
    return SC_INVALID;
}

const char *sc_field_type_name(sc_field_type t) {
    switch (t) {
    case SC_FIELD_TYPE_KEYWORD: return "keyword";
    case SC_FIELD_TYPE_INTEGER: return "integer";
    case SC_FIELD_TYPE_FLOAT: return "float";
    case SC_FIELD_TYPE_BOOL: return "bool";
    case SC_FIELD_TYPE_UUID: return "uuid";
    case SC_FIELD_TYPE_DATETIME: return "datetime";
    case SC_FIELD_TYPE_TEXT: return "text";
    case SC_FIELD_TYPE_GEO: return "geo";
    }
    return "?";
}

sc_status sc_field_type_parse(const char *s, sc_field_type *out) {
    if (!s) return SC_INVALID;
    for (int t = 0; t <= SC_FIELD_TYPE_GEO; t++)
        if (!strcasecmp(s, sc_field_type_name((sc_field_type)t))) {
            *out = (sc_field_type)t;
            return SC_OK;
        }
    return SC_INVALID;
}

/* ==== Id keys ==== */

void store_id_key(const sc_point_id *id, uint8_t key[STORE_ID_KEY_SIZE]) {
    memset(key, 0, STORE_ID_KEY_SIZE);
    key[0] = (uint8_t)id->kind;
    if (id->kind == SC_ID_KIND_NUM) {
        for (int i = 0; i < 8; i++) key[9 + i] = (uint8_t)(id->num >> (56 - 8 * i));
    } else {
        memcpy(key + 1, id->uuid, 16);
    }
}

sc_status store_id_from_key(const void *key, int n, sc_point_id *out) {
    const uint8_t *k = key;
    if (!k || n != STORE_ID_KEY_SIZE || k[0] > SC_ID_KIND_UUID) return SC_CORRUPT;
    memset(out, 0, sizeof *out);
    out->kind = (sc_id_kind)k[0];
    if (out->kind == SC_ID_KIND_NUM) {
        for (int i = 0; i < 8; i++) out->num = out->num << 8 | k[9 + i];
    } else {
        memcpy(out->uuid, k + 1, 16);
    }
    return SC_OK;
}

/* ==== id -> slot table (linear probing, backward-shift deletion) ==== */

static uint64_t store__id_hash(const sc_point_id *id) {
    if (id->kind == SC_ID_KIND_NUM) return util_mix64(id->num);
    return util_hash64(id->uuid, 16, 1);
}

static bool store__id_eq(const sc_point_id *a, const sc_point_id *b) { return sc_point_id_cmp(a, b) == 0; }

uint32_t store_map_find(const store_coll *c, const sc_point_id *id) {
    if (!c->map_cap) return STORE_NO_SLOT;
    uint32_t mask = c->map_cap - 1;
    for (uint32_t i = (uint32_t)store__id_hash(id) & mask;; i = (i + 1) & mask) {
        uint32_t s = c->map[i];
        if (s == STORE_NO_SLOT) return STORE_NO_SLOT;
        if (store__id_eq(&c->ids[s], id)) return s;
    }
}

static void store__map_insert(store_coll *c, uint32_t slot) {
    uint32_t mask = c->map_cap - 1;
    uint32_t i = (uint32_t)store__id_hash(&c->ids[slot]) & mask;
    while (c->map[i] != STORE_NO_SLOT) i = (i + 1) & mask;
    c->map[i] = slot;
}

static void store__map_remove(store_coll *c, uint32_t slot) {
    uint32_t mask = c->map_cap - 1;
    uint32_t i = (uint32_t)store__id_hash(&c->ids[slot]) & mask;
    while (c->map[i] != slot) {
        sc_assert(c->map[i] != STORE_NO_SLOT);
        i = (i + 1) & mask;
    }
    /* Backward shift: move later entries of the run into the hole when their
    ** home position does not lie (cyclically) between the hole and them. */
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask; c->map[j] != STORE_NO_SLOT; j = (j + 1) & mask) {
        uint32_t home = (uint32_t)store__id_hash(&c->ids[c->map[j]]) & mask;
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            c->map[hole] = c->map[j];
            hole = j;
        }
    }
    c->map[hole] = STORE_NO_SLOT;
}

/* ==== Capacity ==== */

static bool store__grow(void **p, size_t elem, size_t old_n, size_t new_n) {
    void *q = realloc(*p, elem * new_n);
    if (!q) return false;
    memset((char *)q + elem * old_n, 0, elem * (new_n - old_n));
    *p = q;
    return true;
}

sc_status store_coll_reserve(store_coll *c, uint32_t extra) {
    uint64_t need = (uint64_t)c->n_slots + extra;
    if (need > UINT32_MAX - 2) return store_fail(SC_UNSUPPORTED, "collection `%s` would exceed 4 billion points", c->name);
    if (need > c->cap) {
        uint64_t cap = c->cap ? c->cap : 64;
        while (cap < need) cap = cap * 3 / 2 + 64;
        cap = (cap + 63) & ~63ull; /* bitsets stay whole words */
        if (cap > UINT32_MAX - 1) cap = UINT32_MAX - 1;
        size_t old = c->cap, nw = (size_t)cap;
        if (!store__grow((void **)&c->ids, sizeof *c->ids, old, nw) ||
            !store__grow((void **)&c->payloads, sizeof *c->payloads, old, nw) ||
            !store__grow((void **)&c->payload_raw, sizeof *c->payload_raw, old, nw) ||
            !store__grow((void **)&c->vers, sizeof *c->vers, old, nw) ||
            !store__grow((void **)&c->live, sizeof(uint64_t), old / 64, nw / 64) ||
            !store__grow((void **)&c->free_slots, sizeof(uint32_t), old, nw))
            return store_fail(SC_NOMEM, "out of memory growing collection `%s` to %zu points", c->name, nw);
        for (size_t v = 0; v < c->n_vecs; v++) {
            store_vec *sv = &c->vecs[v];
            bool ok = sv->multivec ? store__grow((void **)&sv->mv, sizeof *sv->mv, old, nw)
                                   : store__grow((void **)&sv->data, sizeof(float) * sv->dim, old, nw);
            if (!ok || !store__grow((void **)&sv->present, sizeof(uint64_t), old / 64, nw / 64) ||
                !store__grow((void **)&sv->indexed, sizeof(uint64_t), old / 64, nw / 64))
                return store_fail(SC_NOMEM, "out of memory growing vectors `%s` of `%s` to %zu points", sv->name,
                                  c->name, nw);
        }
        for (size_t k = 0; k < c->n_sparse; k++)
            if (store_sparse_reserve_slots(&c->sparse[k], (uint32_t)cap) != SC_OK) return SC_NOMEM;
        if (c->kw && store_kw_reserve(c->kw, (uint32_t)cap) != SC_OK) return SC_NOMEM;
        c->cap = (uint32_t)cap;
        store_ann_rebind(c); /* the vector columns may have moved */
    }
    /* Keep the table at most half full. */
    uint64_t want = 16;
    while (want < need * 2) want *= 2;
    if (want > c->map_cap) {
        uint32_t *m = malloc(sizeof *m * want);
        if (!m) return store_fail(SC_NOMEM, "out of memory growing the id table of `%s`", c->name);
        memset(m, 0xff, sizeof *m * want);
        free(c->map);
        c->map = m;
        c->map_cap = (uint32_t)want;
        for (uint32_t s = 0; s < c->n_slots; s++)
            if (store_bit_get(c->live, s)) store__map_insert(c, s);
    }
    return SC_OK;
}

uint32_t store_slot_claim(store_coll *c, const sc_point_id *id) {
    uint32_t slot = c->n_free ? c->free_slots[--c->n_free] : c->n_slots++;
    sc_assert(slot < c->cap);
    c->ids[slot] = *id;
    c->payloads[slot] = NULL;
    c->payload_raw[slot] = NULL;
    store__map_insert(c, slot);
    return slot;
}

void store_slot_unclaim(store_coll *c, uint32_t slot) {
    store__map_remove(c, slot);
    if (slot + 1 == c->n_slots) c->n_slots--;
    else c->free_slots[c->n_free++] = slot;
}

void store_slot_activate(store_coll *c, uint32_t slot) {
    store_bit_set(c->live, slot);
    c->n_live++;
}

sc_status store_slot_place(store_coll *c, uint32_t slot, const sc_point_id *id) {
    if (slot >= c->cap || store_bit_get(c->live, slot) || store_map_find(c, id) != STORE_NO_SLOT)
        return SC_CORRUPT;
    c->ids[slot] = *id;
    c->payloads[slot] = NULL;
    c->payload_raw[slot] = NULL;
    store__map_insert(c, slot);
    store_slot_activate(c, slot);
    if (slot >= c->n_slots) c->n_slots = slot + 1;
    return SC_OK;
}

void store_coll_rebuild_free(store_coll *c) {
    c->n_free = 0;
    for (uint32_t s = c->n_slots; s-- > 0;)
        if (!store_bit_get(c->live, s)) c->free_slots[c->n_free++] = s;
}

void store_slot_release(store_coll *c, uint32_t slot) {
    store_slot_set_payload(c, slot, NULL);
    store_kw_set(c->kw, slot, NULL, 0);
    for (size_t k = 0; k < c->n_sparse; k++) store_sparse_set(&c->sparse[k], slot, NULL);
    for (size_t v = 0; v < c->n_vecs; v++) {
        store_vec *sv = &c->vecs[v];
        if (sv->multivec) store_mvec_set(sv, slot, NULL);
        if (store_bit_get(sv->present, slot)) {
            store_bit_clear(sv->present, slot);
            sv->n_present--;
        }
    }
    store__map_remove(c, slot);
    store_bit_clear(c->live, slot);
    c->n_live--;
    c->free_slots[c->n_free++] = slot;
}

void store_slot_set_payload(store_coll *c, uint32_t slot, json_t *p) {
    /* The old payload is read only to take it out of the payload indexes: a
    ** loaded one that was never parsed is not parsed when there are none
    ** (deletes and overwrites of loaded points stay off the JSON parser). */
    json_t *old = c->n_indexes ? (json_t *)store_slot_payload(c, slot) : c->payloads[slot];
    /* This runs after the commit and cannot fail; when memory runs out the
    ** indexes may keep or miss this slot, so they are set aside (filters
    ** scan the payloads) until the store is opened again. */
    if (c->n_indexes && !old && c->payload_raw[slot]) c->indexes_stale = true; /* old could not be parsed */
    for (size_t i = 0; i < c->n_indexes; i++) {
        if (old) pindex_remove(c->indexes[i], slot, old);
        if (p && pindex_add(c->indexes[i], slot, p) != SC_OK) c->indexes_stale = true;
    }
    json_decref(old);
    free(c->payload_raw[slot]);
    c->payload_raw[slot] = NULL;
    c->payloads[slot] = (p && json_object_size(p)) ? p : (json_decref(p), NULL);
}

/* json_dump_callback sink: a util_buf whose oom flag is sticky. */
static int store__dump_append(const char *p, size_t n, void *data) {
    util_buf *b = data;
    util_buf_append(b, p, n);
    return b->oom ? -1 : 0;
}

char *store_json_dumps(const json_t *j, size_t flags) {
    util_buf b = {0};
    if (json_dump_callback(j, store__dump_append, &b, flags) != 0 || b.oom) {
        util_buf_free(&b);
        return NULL;
    }
    if (!b.data) return util_strdup(""); /* nothing written (not an object or array) */
    return b.data;
}

sc_status store_slot_payload_get(const store_coll *c, uint32_t slot, const json_t **out) {
    *out = store_slot_payload(c, slot);
    /* a kept text is a non-empty object (checked at open): NULL means the parse failed */
    return !*out && c->payload_raw[slot] ? SC_NOMEM : SC_OK;
}

/* ==== Payloads kept as text until used ==== */

const json_t *store_slot_payload(const store_coll *c, uint32_t slot) {
    json_t *p = __atomic_load_n(&c->payloads[slot], __ATOMIC_ACQUIRE);
    const char *raw = c->payload_raw[slot];
    if (p || !raw) return p;
    /* Checked at open (store_slot_set_payload_text); a parse failure here
    ** means memory ran out: the payload reads as {} this time. */
    json_t *q = json_loads(raw, 0, NULL);
    if (!q || !json_is_object(q) || !json_object_size(q)) {
        json_decref(q);
        return NULL;
    }
    json_t *expected = NULL;
    if (__atomic_compare_exchange_n((json_t **)&c->payloads[slot], &expected, q, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return q;
    json_decref(q); /* another reader parsed it first */
    return expected;
}

static size_t store__ws(const char *s, size_t i, size_t n) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

/* End of the JSON string starting at s[i] == '"' (one past the closing
** quote), or 0 when it is not closed; *esc set if it holds an escape. */
static size_t store__str_end(const char *s, size_t i, size_t n, bool *esc) {
    for (i++; i < n; i++) {
        if (s[i] == '\\') {
            *esc = true;
            i++;
        } else if (s[i] == '"') {
            return i + 1;
        } else if ((unsigned char)s[i] < 0x20) {
            return 0;
        }
    }
    return 0;
}

/* A JSON literal or number: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static bool store__scalar_ok(const char *s, size_t n) {
    if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) || (n == 5 && !memcmp(s, "false", 5))) return true;
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i < n && s[i] == '0') i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    else return false;
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == d) return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == d) return false;
    }
    return i == n;
}

/* End of the JSON value starting at s[i] (strings closed, brackets
** balanced, top-level scalars well formed; what is inside strings and
** nested values is checked when parsed), or 0. */
static size_t store__value_end(const char *s, size_t i, size_t n) {
    bool esc = false;
    if (i >= n) return 0;
    if (s[i] == '"') return store__str_end(s, i, n, &esc);
    if (s[i] == '{' || s[i] == '[') {
        char stack[64];
        size_t depth = 0;
        for (; i < n; i++) {
            char ch = s[i];
            if (ch == '"') {
                size_t e = store__str_end(s, i, n, &esc);
                if (!e) return 0;
                i = e - 1;
            } else if (ch == '{' || ch == '[') {
                if (depth == sizeof stack) return 0; /* deeper than any payload we write: let jansson judge */
                stack[depth++] = ch == '{' ? '}' : ']';
            } else if (ch == '}' || ch == ']') {
                if (!depth || stack[--depth] != ch) return 0;
                if (!depth) return i + 1;
            }
        }
        return 0;
    }
    size_t j = i;
    while (j < n && !strchr(",}] \t\r\n", s[j])) j++;
    return j > i && store__scalar_ok(s + i, j - i) ? j : 0;
}

/* The members of a loaded payload that payload index x reads, each parsed
** alone into vals[x] (owned; the last of duplicate keys wins). Returns false
** when the text is not an object as far as its structure goes, a value
** read does not parse, or a key holds an escape (then the caller parses
** the whole payload). */
static bool store__index_members(const store_coll *c, const char *s, size_t n, json_t **vals) {
    size_t i = store__ws(s, 0, n);
    if (i >= n || s[i] != '{') return false;
    i = store__ws(s, i + 1, n);
    if (i < n && s[i] == '}') return store__ws(s, i + 1, n) == n;
    for (;;) {
        bool esc = false;
        if (i >= n || s[i] != '"') return false;
        size_t ke = store__str_end(s, i, n, &esc);
        if (!ke || esc) return false;
        const char *key = s + i + 1;
        size_t klen = ke - i - 2;
        i = store__ws(s, ke, n);
        if (i >= n || s[i] != ':') return false;
        i = store__ws(s, i + 1, n);
        size_t ve = store__value_end(s, i, n);
        if (!ve) return false;
        for (size_t x = 0; x < c->n_indexes; x++) {
            size_t tlen = 0;
            const char *top = pindex_top_key(c->indexes[x], &tlen);
            if (!top || tlen != klen || memcmp(top, key, klen)) continue;
            json_decref(vals[x]);
            bool vesc = false;
            if (s[i] == '"' && store__str_end(s, i, n, &vesc) == ve && !vesc)
                vals[x] = json_stringn(s + i + 1, ve - i - 2); /* the common case, without the parser */
            else
                vals[x] = json_loadb(s + i, ve - i, JSON_DECODE_ANY, NULL);
            if (!vals[x]) return false;
        }
        i = store__ws(s, ve, n);
        if (i < n && s[i] == ',') {
            i = store__ws(s, i + 1, n);
            continue;
        }
        return i < n && s[i] == '}' && store__ws(s, i + 1, n) == n;
    }
}

sc_status store_slot_set_payload_text(store_coll *c, uint32_t slot, char *text) {
    json_t **vals = calloc(c->n_indexes ? c->n_indexes : 1, sizeof *vals);
    if (!vals) {
        free(text);
        return SC_NOMEM;
    }
    sc_status rc = SC_OK;
    if (store__index_members(c, text, strlen(text), vals)) {
        for (size_t x = 0; rc == SC_OK && x < c->n_indexes; x++) {
            if (!vals[x]) continue;
            size_t tlen = 0;
            const char *top = pindex_top_key(c->indexes[x], &tlen);
            json_t *one = json_object();
            if (!one || json_object_setn_nocheck(one, top, tlen, vals[x]) != 0 || pindex_add(c->indexes[x], slot, one) != SC_OK)
                rc = SC_NOMEM;
            json_decref(one);
        }
        if (rc == SC_OK) c->payload_raw[slot] = text;
        else free(text);
    } else {
        /* not plainly an object (or a key with an escape): parse it whole */
        json_error_t jerr;
        json_t *p = json_loads(text, 0, &jerr);
        free(text);
        if (!p && store_json_oom(&jerr)) {
            rc = SC_NOMEM;
        } else if (!p || !json_is_object(p)) {
            json_decref(p);
            rc = SC_CORRUPT;
        } else {
            store_slot_set_payload(c, slot, p);
        }
    }
    for (size_t x = 0; x < c->n_indexes; x++) json_decref(vals[x]);
    free(vals);
    return rc;
}

roaring_bitmap_t *store_coll_live_bitmap(const store_coll *c) {
    roaring_bitmap_t *b = roaring_bitmap_create();
    if (!b) return NULL;
    for (uint32_t w = 0; w < (c->n_slots + 63) / 64; w++) {
        uint64_t bits = c->live[w];
        while (bits) {
            uint32_t s = w * 64 + (uint32_t)__builtin_ctzll(bits);
            roaring_bitmap_add(b, s);
            bits &= bits - 1;
        }
    }
    return b;
}

/* ==== Vector blobs ==== */

sc_status store_vec_blob_encode(const store_coll *c, const float *const *vecs, const uint32_t *rows, util_buf *out) {
    bool multi = store_coll_has_multivec(c);
    uint32_t head[2] = {multi ? STORE_MVEC_BLOB_MAGIC : STORE_VEC_BLOB_MAGIC, (uint32_t)c->n_vecs};
    uint64_t mask = 0;
    for (size_t v = 0; v < c->n_vecs; v++)
        if (vecs[v]) mask |= 1ull << v;
    util_buf_append(out, head, sizeof head);
    util_buf_append(out, &mask, sizeof mask);
    for (size_t v = 0; v < c->n_vecs; v++) {
        if (!vecs[v]) continue;
        uint32_t n = 1;
        if (c->vecs[v].multivec) { /* SCM1: a multivector's row count comes before its rows */
            n = rows[v];
            util_buf_append(out, &n, sizeof n);
        }
        util_buf_append(out, vecs[v], sizeof(float) * c->vecs[v].dim * n);
    }
    if (out->oom) return store_fail(SC_NOMEM, "out of memory encoding vectors");
    uint64_t sum = util_hash64(out->data, out->len, STORE_VEC_BLOB_SEED);
    util_buf_append(out, &sum, sizeof sum);
    return out->oom ? store_fail(SC_NOMEM, "out of memory encoding vectors") : SC_OK;
}

sc_status store_vec_blob_decode(const store_coll *c, const void *blob, int n, uint32_t slot, char *errbuf,
                                size_t errbuf_size) {
    const uint8_t *b = blob;
    uint32_t head[2];
    uint64_t mask, sum;
    if (!b || n < 24) {
        snprintf(errbuf, errbuf_size, "vector blob of %d bytes is truncated (offset 0)", n);
        return SC_CORRUPT;
    }
    memcpy(head, b, sizeof head);
    memcpy(&mask, b + 8, sizeof mask);
    bool v1 = head[0] == STORE_VEC_BLOB_MAGIC_V1, multi = store_coll_has_multivec(c);
    uint32_t magic = multi ? STORE_MVEC_BLOB_MAGIC : STORE_VEC_BLOB_MAGIC;
    if ((head[0] != magic && !(v1 && !multi)) || head[1] != c->n_vecs ||
        (c->n_vecs < 64 && mask >> c->n_vecs)) {
        snprintf(errbuf, errbuf_size, "vector blob has a bad header (offset 0)");
        return SC_CORRUPT;
    }
    /* the layout: walk it once to find its length (row counts in between) */
    size_t need = 16;
    for (size_t v = 0; v < c->n_vecs; v++) {
        if (!(mask >> v & 1)) continue;
        uint64_t rows = 1;
        if (c->vecs[v].multivec) {
            uint32_t r = 0;
            if ((size_t)n < need + 4 + 8) {
                snprintf(errbuf, errbuf_size, "vector blob of %d bytes is truncated (offset %zu)", n, need);
                return SC_CORRUPT;
            }
            memcpy(&r, b + need, sizeof r);
            if (r < 1 || r > SC_MAX_MULTIVEC_ROWS) {
                snprintf(errbuf, errbuf_size, "multivector `%s` has %u rows (offset %zu)", c->vecs[v].name, r, need);
                return SC_CORRUPT;
            }
            need += 4;
            rows = r;
        }
        need += sizeof(float) * c->vecs[v].dim * rows;
        if (need + 8 > (size_t)n) break; /* reported below */
    }
    if ((size_t)n != need + 8) {
        snprintf(errbuf, errbuf_size, "vector blob has %d bytes, expected %zu (offset %zu)", n, need + 8, need);
        return SC_CORRUPT;
    }
    memcpy(&sum, b + need, sizeof sum);
    if (sum != (v1 ? util_hash64_v1(b, need, STORE_VEC_BLOB_SEED) : util_hash64(b, need, STORE_VEC_BLOB_SEED))) {
        snprintf(errbuf, errbuf_size, "vector blob checksum mismatch (offset %zu)", need);
        return SC_CORRUPT;
    }
    size_t off = 16;
    for (size_t v = 0; v < c->n_vecs; v++) {
        store_vec *sv = &c->vecs[v];
        if (!(mask >> v & 1)) continue;
        if (sv->multivec) {
            uint32_t r;
            memcpy(&r, b + off, sizeof r);
            off += 4;
            store_mvec *m = malloc(sizeof *m + sizeof(float) * sv->dim * (size_t)r);
            if (!m) {
                snprintf(errbuf, errbuf_size, "out of memory for multivector `%s` (%u rows)", sv->name, r);
                return SC_NOMEM;
            }
            m->n = r;
            memcpy(m->data, b + off, sizeof(float) * sv->dim * (size_t)r);
            off += sizeof(float) * sv->dim * (size_t)r;
            store_mvec_set(sv, slot, m);
            continue;
        }
        memcpy(sv->data + (size_t)slot * sv->dim, b + off, sizeof(float) * sv->dim);
        off += sizeof(float) * sv->dim;
        if (!store_bit_get(sv->present, slot)) {
            store_bit_set(sv->present, slot);
            sv->n_present++;
        }
    }
    return SC_OK;
}

/* ==== Records ==== */

/* has_vector of a slot: a dense name with its presence bit, or a sparse one in its blob. */
static bool store__slot_has_vector(const void *ctx, const char *name) {
    const store_slot_ref *at = ctx;
    for (size_t v = 0; v < at->c->n_vecs; v++)
        if (!strcmp(at->c->vecs[v].name, name)) return store_bit_get(at->c->vecs[v].present, at->slot);
    int k = store_coll_sparse_index(at->c, name);
    return k >= 0 && at->c->sparse[k].vecs[at->slot] != NULL;
}

filter_point store_slot_point(const store_coll *c, uint32_t slot, store_slot_ref *at) {
    *at = (store_slot_ref){c, slot};
    return (filter_point){.id = &c->ids[slot], .has_vector = store__slot_has_vector, .ctx = at};
}

void sc_record_list_free(sc_record_list *list) {
    if (!list) return;
    for (size_t i = 0; i < list->n; i++) {
        sc_record *r = &list->items[i];
        free(r->payload_json);
        for (size_t v = 0; v < r->n_vectors; v++) {
            free(r->vector_names[v]);
            free(r->vectors[v]);
        }
        free(r->vector_names);
        free(r->vectors);
        free(r->vector_dims);
        free(r->vector_rows);
        for (size_t k = 0; k < r->n_sparse; k++) {
            free(r->sparse[k].name);
            free(r->sparse[k].indices);
            free(r->sparse[k].values);
        }
        free(r->sparse);
    }
    free(list->items);
    free(list);
}

static bool store__in_list(const char *key, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (list[i] && !strcmp(list[i], key)) return true;
    return false;
}

/* Payload of a slot with the selection applied, as owned JSON text. */
static char *store__payload_text(const store_coll *c, uint32_t slot, const sc_with *with) {
    bool all = !with->payload_include && !with->payload_exclude;
    if (all && c->payload_raw[slot]) return util_strdup(c->payload_raw[slot]); /* as stored: the same compact text */
    const json_t *p = store_slot_payload(c, slot);
    if (!p) return util_strdup("{}");
    if (all) return store_json_dumps(p, JSON_COMPACT);
    json_t *sel = store_payload_select(p, with);
    if (!sel) return NULL;
    char *s = store_json_dumps(sel, JSON_COMPACT);
    json_decref(sel);
    return s;
}

sc_status store_records_build(const store_coll *c, const uint32_t *slots, const float *scores, size_t n,
                              const sc_with *with, sc_record_list **out) {
    static const sc_with none = {0};
    if (!with) with = &none;
    for (size_t i = 0; with->vectors && with->vector_names && i < with->n_vector_names; i++) {
        const char *name = with->vector_names[i] ? with->vector_names[i] : "";
        if (store_coll_vec_index(c, name) < 0 && store_coll_sparse_index(c, name) < 0) /* Qdrant's words */
            return store_fail(SC_INVALID, "Not existing vector name error: %s", *name ? name : "(default)");
    }
    sc_record_list *l = calloc(1, sizeof *l);
    if (!l || (n && !(l->items = calloc(n, sizeof *l->items)))) {
        free(l);
        return store_fail(SC_NOMEM, "out of memory building results");
    }
    l->n = n;
    for (size_t i = 0; i < n; i++) {
        sc_record *r = &l->items[i];
        uint32_t s = slots[i];
        r->id = c->ids[s];
        r->score = scores ? scores[i] : 0.0f;
        if (with->payload && !(r->payload_json = store__payload_text(c, s, with))) goto oom;
        if (!with->vectors) continue;
        size_t nv = c->n_vecs ? c->n_vecs : 1;
        r->vector_names = calloc(nv, sizeof *r->vector_names);
        r->vectors = calloc(nv, sizeof *r->vectors);
        r->vector_dims = calloc(nv, sizeof *r->vector_dims);
        r->vector_rows = calloc(nv, sizeof *r->vector_rows);
        r->sparse = calloc(c->n_sparse ? c->n_sparse : 1, sizeof *r->sparse);
        if (!r->vector_names || !r->vectors || !r->vector_dims || !r->vector_rows || !r->sparse) goto oom;
        for (size_t k = 0; k < c->n_sparse; k++) {
            const store_sparse *sp = &c->sparse[k];
            if (!sp->vecs[s]) continue;
            if (with->vector_names && !store__in_list(sp->name, with->vector_names, with->n_vector_names)) continue;
            if (store_sparse_record(sp, s, &r->sparse[r->n_sparse]) != SC_OK) goto oom;
            r->n_sparse++;
        }
        for (size_t v = 0; v < c->n_vecs; v++) {
            const store_vec *sv = &c->vecs[v];
            if (!store_bit_get(sv->present, s)) continue;
            if (with->vector_names && !store__in_list(sv->name, with->vector_names, with->n_vector_names)) continue;
            size_t k = r->n_vectors;
            const store_mvec *m = sv->multivec ? sv->mv[s] : NULL;
            size_t n_floats = (size_t)sv->dim * (m ? m->n : 1);
            r->vector_names[k] = util_strdup(sv->name);
            r->vectors[k] = malloc(sizeof(float) * n_floats);
            r->vector_dims[k] = sv->dim;
            r->vector_rows[k] = m ? m->n : 0;
            r->n_vectors++;
            if (!r->vector_names[k] || !r->vectors[k]) goto oom;
            memcpy(r->vectors[k], m ? m->data : sv->data + (size_t)s * sv->dim, sizeof(float) * n_floats);
        }
    }
    *out = l;
    return SC_OK;
oom:
    sc_record_list_free(l);
    return store_fail(SC_NOMEM, "out of memory building results");
}
