/*
** store/filter_int.h: private structures of compiled filters, shared by
** filter.c (compiler and evaluator) and pindex.c (payload indexes and
** filter_plan). Only src/store/filter*.c and src/store/pindex*.c include it.
*/
#ifndef SC_STORE_FILTER_INT_H
#define SC_STORE_FILTER_INT_H

#include "store/filter.h"

/* Deepest nesting of filters (sub-filters and nested conditions) accepted. */
#define FILTER_MAX_DEPTH 64
/* Most segments a key path may have ("a.b[]" has two). */
#define FILTER_MAX_PATH_SEGS 128

/* ==== Key paths ==== */

typedef enum filter_seg_kind {
    FILTER_SEG_KIND_KEY = 0,   /* object member (an array here yields nothing: use "[]") */
    FILTER_SEG_KIND_ALL = 1,   /* "[]": every element of an array */
    FILTER_SEG_KIND_INDEX = 2, /* "[N]": one element of an array */
} filter_seg_kind;

/* One step of a key path. */
typedef struct filter_seg {
    filter_seg_kind kind; /* what the step selects */
    char *name;           /* owned member name (KEY only), NUL-terminated */
    size_t name_len;      /* bytes of name */
    size_t index;         /* element number (INDEX only) */
} filter_seg;

/* A parsed key path. */
typedef struct filter_path {
    char *text;        /* owned original text, e.g. "a[].b" */
    size_t n_segs;     /* number of steps */
    filter_seg *segs;  /* owned steps */
} filter_path;

/* Parse text into *out (owned; free with filter_path_clear). SC_INVALID with
** the reason in err (without any prefix) when malformed, SC_NOMEM. */
sc_status filter_path_parse(const char *text, filter_path *out, sc_err *err);
/* Release what filter_path_parse allocated; a zeroed path is fine. */
void filter_path_clear(filter_path *p);
/* Call fn on every value at p in root. expand: leaf arrays are expanded into
** their elements (the values conditions compare); otherwise the leaf value
** is passed as is (what is_empty / values_count look at). */
void filter_path_visit(const filter_path *p, const json_t *root, bool expand, filter_value_fn fn,
                       void *arg);

/* ==== Compiled filters ==== */

typedef enum filter_cond_kind {
    FILTER_COND_KIND_FILTER = 0,       /* a nested Filter object: sub */
    FILTER_COND_KIND_MATCH = 1,        /* key + match */
    FILTER_COND_KIND_RANGE = 2,        /* key + range */
    FILTER_COND_KIND_VALUES_COUNT = 3, /* key + values_count */
    FILTER_COND_KIND_IS_EMPTY = 4,     /* key missing, null or [] */
    FILTER_COND_KIND_IS_NULL = 5,      /* key holds an explicit null */
    FILTER_COND_KIND_HAS_ID = 6,       /* point id in ids */
    FILTER_COND_KIND_NESTED = 7,       /* sub matches one object of the array at key */
    FILTER_COND_KIND_SLICE = 8,        /* the point's id falls in part slice_index of slice_total */
    FILTER_COND_KIND_HAS_VECTOR = 9,   /* the point has the vector named path.text (only the text is set) */
    FILTER_COND_KIND_GEO = 10,         /* key + geo_radius / geo_bounding_box / geo_polygon: geo */
} filter_cond_kind;

typedef enum filter_match_kind {
    FILTER_MATCH_KIND_KEYWORD = 0,         /* string equal to strs[0] */
    FILTER_MATCH_KIND_INTEGER = 1,         /* integer equal to ints[0] */
    FILTER_MATCH_KIND_BOOL = 2,            /* boolean equal to flag */
    FILTER_MATCH_KIND_ANY_KEYWORDS = 3,    /* string in strs */
    FILTER_MATCH_KIND_ANY_INTEGERS = 4,    /* integer in ints */
    FILTER_MATCH_KIND_EXCEPT_KEYWORDS = 5, /* non-null value that is not a string of strs */
    FILTER_MATCH_KIND_EXCEPT_INTEGERS = 6, /* non-null value that is not an integer of ints */
    FILTER_MATCH_KIND_TEXT = 7,            /* string containing strs[0] */
    FILTER_MATCH_KIND_TEXT_ANY = 8,        /* string containing any word of strs */
    FILTER_MATCH_KIND_PHRASE = 9,          /* string containing strs[0] */
    FILTER_MATCH_KIND_PREFIX = 10,         /* string starting with strs[0] */
} filter_match_kind;

/* ==== Geo conditions (filter_geo.c) ==== */

typedef enum filter_geo_kind {
    FILTER_GEO_KIND_RADIUS = 0,  /* within radius metres of (lat, lon) */
    FILTER_GEO_KIND_BOX = 1,     /* strictly inside a latitude / longitude box */
    FILTER_GEO_KIND_POLYGON = 2, /* inside the exterior ring and outside every interior ring */
} filter_geo_kind;

/* A closed ring of a polygon: n points, the last equal to the first. */
typedef struct filter_geo_ring {
    size_t n;     /* points */
    double *lat;  /* owned latitudes */
    double *lon;  /* owned longitudes */
} filter_geo_ring;

/* A compiled geo condition. */
typedef struct filter_geo {
    filter_geo_kind kind;      /* which shape */
    double lat, lon, radius;   /* RADIUS: centre and metres */
    double top, left;          /* BOX: top_left (lat, lon) */
    double bottom, right;      /* BOX: bottom_right (lat, lon) */
    size_t n_rings;            /* POLYGON: rings, [0] the exterior */
    filter_geo_ring *rings;    /* owned */
} filter_geo;

/* A byte string (may contain NUL bytes). */
typedef struct filter_str {
    char *s;    /* owned bytes, NUL-terminated */
    size_t len; /* bytes, excluding the terminator */
} filter_str;

/* One bound of a range or values_count: set or not. */
typedef struct filter_bound {
    bool set;    /* the bound was given */
    double num;  /* numeric range: the bound */
    int64_t us;  /* date-time range: microseconds since 1970-01-01T00:00:00Z */
    uint64_t n;  /* values_count: the count */
} filter_bound;

typedef struct filter_cond filter_cond;

/* A compiled Filter object. */
struct store_filter {
    size_t n_must;           /* entries of must */
    filter_cond *must;       /* all must match */
    size_t n_should;         /* entries of should; 0 = no constraint */
    filter_cond *should;     /* at least one must match */
    size_t n_must_not;       /* entries of must_not */
    filter_cond *must_not;   /* none may match */
    bool has_min_should;     /* min_should was given */
    size_t n_min_should;     /* entries of min_should */
    filter_cond *min_should; /* at least min_count must match */
    uint64_t min_count;      /* threshold of min_should */
};

/* A compiled condition; which fields are meaningful depends on kind. */
struct filter_cond {
    filter_cond_kind kind;   /* what the condition tests */
    filter_path path;        /* key (MATCH, RANGE, VALUES_COUNT, IS_EMPTY, IS_NULL, NESTED) */
    filter_match_kind match; /* MATCH: which test */
    bool flag;               /* MATCH BOOL: the value */
    size_t n_strs;           /* entries of strs */
    filter_str *strs;        /* MATCH: strings, sorted by filter_str_cmp for ANY/EXCEPT */
    size_t n_ints;           /* entries of ints */
    int64_t *ints;           /* MATCH: integers, sorted ascending */
    bool datetime;           /* RANGE: bounds are date-times (us) rather than numbers */
    filter_bound gt;         /* RANGE / VALUES_COUNT: exclusive lower bound */
    filter_bound gte;        /* inclusive lower bound */
    filter_bound lt;         /* exclusive upper bound */
    filter_bound lte;        /* inclusive upper bound */
    size_t n_ids;            /* entries of ids */
    sc_point_id *ids;        /* HAS_ID: sorted by sc_point_id_cmp, unique */
    store_filter *sub;       /* FILTER / NESTED: owned inner filter */
    uint64_t slice_total;    /* SLICE: parts the ids are split into (>= 1) */
    uint64_t slice_index;    /* SLICE: which part (< slice_total) */
    filter_geo *geo;         /* GEO: owned shape */
    struct text_ft *ft;      /* MATCH text / text_any / phrase bound to a text index (filter_bind): owned
                                reference to its tokenizer; NULL = substring semantics */
    bool ft_phrase;          /* bound: the index keeps positions (phrase_matching) */
    size_t n_qtok;           /* bound: query tokens */
    filter_str *qtok;        /* bound: owned query tokens (unique for text / text_any, in order for phrase) */
};

/* Order of byte strings: by bytes, then by length. */
int filter_str_cmp(const char *a, size_t a_len, const char *b, size_t b_len);
/* Is (s, len) one of the sorted strs? */
bool filter_strs_find(const filter_str *strs, size_t n, const char *s, size_t len);
/* Is v one of the sorted ints? */
bool filter_ints_find(const int64_t *ints, size_t n, int64_t v);
/* Does the string (s, len) satisfy a TEXT, TEXT_ANY or PHRASE condition? */
bool filter_text_test(const filter_cond *c, const char *s, size_t len);
/* Compile the geo member `name` (geo_radius, geo_bounding_box, geo_polygon)
** of a field condition into c (kind GEO); where names it in messages.
** SC_INVALID naming the member, SC_NOMEM. */
sc_status filter_geo_compile(const char *where, const char *name, const json_t *v, filter_cond *c, sc_err *err);
/* Release c->geo. */
void filter_geo_free(filter_geo *g);
/* Does the JSON value v (an object with numbers lat and lon) lie in g? */
bool filter_geo_test_value(const filter_geo *g, const json_t *v);
/* Does the point (lat, lon) lie in g? */
bool filter_geo_test(const filter_geo *g, double lat, double lon);

/* ==== Text conditions bound to text indexes (filter_text.c) ==== */

/* Does the payload satisfy the bound text condition c (c->ft set): the
** tokens of all values at the key hold every query token (text), one of
** them (text_any), or one value holds the phrase (phrase, with positions)? */
bool filter_text_eval(const filter_cond *c, const json_t *payload);
/* Release what filter_bind attached to c. */
void filter_text_unbind(filter_cond *c);

/* Does the number x satisfy the numeric bounds of a RANGE condition? */
bool filter_range_test_num(const filter_cond *c, double x);

#endif /* SC_STORE_FILTER_INT_H */
