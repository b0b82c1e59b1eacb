/*
** store/filter: Qdrant's JSON filter language and payload indexes.
**
** A filter is compiled once from JSON (filter_compile) into a tree that is
** evaluated against (id, payload) pairs (filter_match). Payload indexes
** (pindex_*) map payload values of one key to bitmaps of slots (dense
** 32-bit point numbers assigned by the store); filter_plan uses them to
** narrow a filter to a candidate set that is a superset of the matches, so
** the store only evaluates the full filter on candidates.
**
** Key paths: "a", "a.b", "a[].b", "a[]"; an array at the end of the path
** is expanded (a value matches when any element matches), one in the middle
** only through "[]" or "[N]", as in Qdrant's JsonPath.
**
** Thread safety: a compiled filter is immutable and may be shared. A pindex
** is mutated by the single writer and read by readers under the store's
** lock.
*/
#ifndef SC_STORE_FILTER_H
#define SC_STORE_FILTER_H

#include <jansson.h>
#include <roaring/roaring.h>

#include "semcode/store.h"
#include "util/util.h"

/* Whether a failed json_loads ran out of memory rather than met bad JSON:
** jansson 2.14 says so in the error code on some paths, and on others
** (an object member it could not insert) fails without any message; a real
** syntax error always has one. (A failed allocation in its lexer still reads
** as a syntax error: nothing tells it apart.) */
static inline bool store_json_oom(const json_error_t *e) {
    return json_error_code(e) == json_error_out_of_memory || e->text[0] == '\0';
}

typedef struct store_filter store_filter; /* compiled filter */
typedef struct store_pindex store_pindex; /* payload index on one key */

/* ==== Filters ==== */

/* Compile a Qdrant filter object. On SC_OK *out owns the filter. Errors:
** SC_INVALID with a message naming the offending path inside the filter,
** e.g. "filter.must[1].range.gt: expected a number, got \"x\"". */
sc_status filter_compile(const json_t *filter, store_filter **out, sc_err *err);
/* Same from JSON text (NULL or "" or "null" gives *out = NULL: no filter). */
sc_status filter_compile_text(const char *text, store_filter **out, sc_err *err);
void filter_free(store_filter *f);

/* Does the point (id, payload) satisfy f? payload may be NULL (= {}).
** f NULL (no filter) matches everything; has_id fails when id is NULL.
** The exact semantics (missing keys, null, arrays) are listed at the top of
** filter.c. */
bool filter_match(const store_filter *f, const sc_point_id *id, const json_t *payload);

/* Whether the point being matched has the vector `name` (has_vector). */
typedef bool (*filter_has_vector_fn)(const void *ctx, const char *name);
/* A point as filter_match_point sees it: its id, and how to ask about its
** vectors (has_vector is false for every name when has_vector is NULL). */
typedef struct filter_point {
    const sc_point_id *id;           /* id, NULL when unknown */
    filter_has_vector_fn has_vector; /* vector presence, may be NULL */
    const void *ctx;                 /* its argument */
} filter_point;
/* filter_match with has_vector conditions answered through pt. */
bool filter_match_point(const store_filter *f, const filter_point *pt, const json_t *payload);

/* Call fn for every value found at `path` in payload (arrays expanded).
** Returns the number of values visited. fn may be NULL to just count. */
typedef void (*filter_value_fn)(const json_t *value, void *arg);
size_t filter_path_values(const json_t *payload, const char *path, filter_value_fn fn, void *arg);
/* Validate a key path; SC_INVALID with the reason when malformed. */
sc_status filter_path_check(const char *path, sc_err *err);

/* Bind the text conditions of f (match text / text_any / phrase) whose key
** has a text index among ixs to that index's tokenizer, as Qdrant does:
** they then compare tokens, not substrings. Call under the store's lock
** after compiling and before planning or matching; f stays valid after the
** lock is released (it holds references). SC_NOMEM. */
sc_status filter_bind(store_filter *f, store_pindex *const *ixs, size_t n_ixs);

/* ==== Payload indexes ==== */

/* A payload index's type and options, parsed from Qdrant's field_schema. */
typedef struct pindex_schema {
    sc_field_type type;      /* index type */
    json_t *params;          /* owned options as reported in payload_schema.params; NULL for a bare type name */
    struct text_ft *ft;      /* TEXT: owned reference to its tokenizer */
    bool phrase;             /* TEXT: phrase_matching (positions kept) */
} pindex_schema;

/* Parse a field_schema (a type name string or an object with `type` and
** options) into *out (owned; pindex_schema_clear). SC_INVALID with a
** message naming the field and value (Qdrant's 422 wording for values out
** of range), SC_NOMEM. */
sc_status pindex_schema_parse(const json_t *schema, pindex_schema *out, sc_err *err);
/* Release a parsed schema; a zeroed one is fine. */
void pindex_schema_clear(pindex_schema *s);
/* An index on key with schema s, which it takes over (s is zeroed). NULL
** when key is not a valid path or on OOM (s is cleared then too). */
store_pindex *pindex_new_schema(const char *key, pindex_schema *s);
/* The options the index was created with (NULL for a bare type name). */
const json_t *pindex_params(const store_pindex *ix);
/* TEXT index: its tokenizer (borrowed) and whether it keeps positions; NULL otherwise. */
struct text_ft *pindex_text_ft(const store_pindex *ix, bool *phrase);

/* One value of a facet and the number of selected points holding it. */
typedef struct pindex_facet_hit {
    json_t *value; /* owned string, integer or boolean */
    uint64_t count;/* points */
} pindex_facet_hit;
/* Count, for each value of a keyword / integer / uuid / bool index, the
** slots of sel (NULL = every indexed slot) holding it; the `limit` largest
** counts, ties by value, into *out (owned array, free each value). SC_INVALID
** when the index type has no values to count, SC_NOMEM. */
sc_status pindex_facet(const store_pindex *ix, const roaring_bitmap_t *sel, uint64_t limit, pindex_facet_hit **out,
                       size_t *n_out);

store_pindex *pindex_new(const char *key, sc_field_type type);
void pindex_free(store_pindex *ix);
const char *pindex_key(const store_pindex *ix);
sc_field_type pindex_type(const store_pindex *ix);
/* Index the values of the key in payload for slot / remove them again
** (payload must be the same as when added). NULL payload = nothing.
** pindex_new returns NULL when key is not a valid path or on OOM. On
** SC_NOMEM pindex_add may have indexed part of the values: undo with
** pindex_remove and the same payload. */
sc_status pindex_add(store_pindex *ix, uint32_t slot, const json_t *payload);
void pindex_remove(store_pindex *ix, uint32_t slot, const json_t *payload);
/* The top-level payload member an index reads (the first step of its key
** path), length in *len; NULL if the path does not start with a member. */
const char *pindex_top_key(const store_pindex *ix, size_t *len);
/* Number of slots with at least one indexed value. */
uint64_t pindex_n_points(const store_pindex *ix);
/* Approximate bytes of memory used. */
uint64_t pindex_mem_bytes(const store_pindex *ix);

/* Candidate slots for f using the indexes: on return *out is either NULL
** (the indexes cannot narrow f: scan everything) or an owned bitmap that
** contains every slot that may match f (caller still runs filter_match on
** each, unless *exact is true, when the bitmap is exactly the match set
** among slots that are live). all_slots is the bitmap of live slots.
** When f needs no narrowing but is exact (e.g. {}), *out is a copy of
** all_slots. Concurrent calls by readers are safe: numeric indexes rebuild
** their sorted range arrays lazily under their own mutex. SC_NOMEM. */
sc_status filter_plan(const store_filter *f, store_pindex *const *indexes, size_t n_indexes,
                      const roaring_bitmap_t *all_slots, roaring_bitmap_t **out, bool *exact);

#endif /* SC_STORE_FILTER_H */
