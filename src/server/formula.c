/*
** server/formula.c: formula re-scoring of the query API ({"formula": …,
** "defaults": {…}}, Qdrant 1.14+): an expression over the prefetch scores
** ($score, $score[i]), payload numbers, conditions (1 when a point matches,
** else 0), geo distances, datetimes and decay functions, evaluated for each
** candidate of the prefetches; the candidates come back by the result,
** best first. Also the payload path walker the grouped queries share.
**
** DESIGN
** - The expression is parsed once into a tree (server_formula) and
**   evaluated per point in double precision; the result is a float32 that
**   must be finite, as Qdrant's (lib/segment/.../rescore_formula): a
**   division by zero without by_zero_default, sqrt of a negative, ln/log10
**   of 0 or a pow that overflows is an error naming the expression, never
**   a NaN in the results.
** - A payload variable reads the values at its path: none (missing, null,
**   []) takes the default of `defaults` or is an error; one value must be
**   a number (an array of one number counts as that number); several are
**   an error. $score[i] of a point missing from prefetch i is the default
**   of "$score[i]" or 0.
** - Conditions are evaluated by the store, one filter per condition over
**   the candidates' ids (has_id), so they behave exactly as in `filter`.
** - Decays, with lambda from midpoint m (default 0.5) and scale s (default
**   1): lin max(0, 1 − (1 − m)/s · |x − t|); exp exp(ln(m)/s · |x − t|);
**   gauss exp(ln(m)/s² · (x − t)²); target t defaults to 0.
** - geo_distance is the haversine distance in metres on a sphere of radius
**   6,371,008.8 m (the mean Earth radius); datetimes are seconds since the
**   Unix epoch (fractions kept), parsed as the datetime filters parse them.
*/
#include "server/query_int.h"
#include "store/filter.h" /* filter_path_values: payload paths read as filters read them */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FORMULA_MAX_DEPTH 32          /* deeper expressions are refused */
#define FORMULA_EARTH_RADIUS 6371008.8 /* metres: the mean Earth radius */

/* ==== The expression tree ==== */

typedef enum formula_kind {
    FORMULA_KIND_CONST,    /* num */
    FORMULA_KIND_SCORE,    /* $score[index] */
    FORMULA_KIND_PAYLOAD,  /* the number at path */
    FORMULA_KIND_COND,     /* condition index: 1 or 0 */
    FORMULA_KIND_GEO,      /* haversine metres from (lat, lon) to the geo point at path */
    FORMULA_KIND_DATETIME, /* num: seconds since the epoch */
    FORMULA_KIND_DT_KEY,   /* the datetime string at path, as seconds */
    FORMULA_KIND_MULT,     /* product of kids */
    FORMULA_KIND_SUM,      /* sum of kids */
    FORMULA_KIND_NEG,      /* −kids[0] */
    FORMULA_KIND_ABS,      /* |kids[0]| */
    FORMULA_KIND_SQRT,     /* √kids[0] */
    FORMULA_KIND_EXP,      /* e^kids[0] */
    FORMULA_KIND_LOG10,    /* log10 kids[0] */
    FORMULA_KIND_LN,       /* ln kids[0] */
    FORMULA_KIND_DIV,      /* kids[0] / kids[1], num when kids[1] is 0 and has_default */
    FORMULA_KIND_POW,      /* kids[0] ^ kids[1] */
    FORMULA_KIND_LIN_DECAY,   /* decays of kids[0] around kids[1] (0 when absent), lambda num */
    FORMULA_KIND_EXP_DECAY,
    FORMULA_KIND_GAUSS_DECAY,
} formula_kind;

typedef struct formula_node {
    formula_kind kind;          /* what it computes */
    double num;                 /* constant, datetime, decay lambda or by_zero_default */
    bool has_default;           /* div: by_zero_default was given */
    size_t index;               /* score or condition index */
    double lat, lon;            /* geo origin */
    char *path;                 /* owned payload key of PAYLOAD, GEO, DT_KEY */
    struct formula_node **kids; /* owned operands */
    size_t n_kids;              /* entries in kids */
} formula_node;

struct server_formula {
    formula_node *root; /* the expression */
    json_t **conds;     /* owned condition filters {"must": [condition]} */
    size_t n_conds;     /* entries in conds */
    json_t *defaults;   /* owned `defaults` object (never NULL) */
};

static void formula__node_free(formula_node *n) {
    if (!n) return;
    for (size_t i = 0; i < n->n_kids; i++) formula__node_free(n->kids[i]);
    free(n->kids);
    free(n->path);
    free(n);
}

void server_formula_free(server_formula *f) {
    if (!f) return;
    formula__node_free(f->root);
    for (size_t i = 0; i < f->n_conds; i++) json_decref(f->conds[i]);
    free(f->conds);
    json_decref(f->defaults);
    free(f);
}

size_t server_formula_n_conditions(const server_formula *f) { return f ? f->n_conds : 0; }

const json_t *server_formula_condition(const server_formula *f, size_t i) {
    return f && i < f->n_conds ? f->conds[i] : NULL;
}

/* ==== Parsing ==== */

/* A variable name: "$score" / "$score[i]" (*score_index set, *is_score
** true) or a payload key. 400 for another reserved word. */
static bool formula__variable(server_call *call, const char *s, const char *where, bool *is_score, size_t *index) {
    *is_score = false;
    if (!*s) return server_fail(call, 400, "Json deserialize error: %s: an empty variable name", where), false;
    if (s[0] != '$') return true;
    *is_score = true;
    *index = 0;
    if (!strcmp(s, "$score")) return true;
    if (!strncmp(s, "$score[", 7)) {
        char *end = NULL;
        unsigned long long v = strtoull(s + 7, &end, 10);
        if (end != s + 7 && end[0] == ']' && !end[1] && s[7] != '-' && v < 1024) {
            *index = (size_t)v;
            return true;
        }
        return server_fail(call, 400, "Wrong input: Validation failed: failed to parse variable ID %.64s: Invalid reserved "
                                      "variable: %.64s (%s)", s, s, where), false;
    }
    return server_fail(call, 400, "Wrong input: Validation failed: failed to parse variable ID %.64s: Invalid reserved "
                                  "word: %.64s (%s)", s, s, where), false;
}

static bool formula__parse(server_call *call, server_formula *f, const json_t *e, const char *where, int depth,
                           formula_node **out);

/* A node of kind with the operands of e (one expression, or a list when list). */
static bool formula__operands(server_call *call, server_formula *f, formula_node *n, const json_t *e, bool list,
                              const char *where, int depth) {
    size_t count = list ? json_array_size(e) : 1;
    if (list && !json_is_array(e))
        return server_fail(call, 400, "Json deserialize error: %s must be a list of expressions", where), false;
    n->kids = calloc(count ? count : 1, sizeof *n->kids);
    if (!n->kids) return server_fail(call, 500, "out of memory"), false;
    for (size_t i = 0; i < count; i++) {
        char w[160];
        if (list) snprintf(w, sizeof w, "%.120s[%zu]", where, i);
        else snprintf(w, sizeof w, "%.150s", where);
        n->n_kids++; /* counted first: a kid that fails half-built is freed with n */
        if (!formula__parse(call, f, list ? json_array_get(e, i) : e, w, depth + 1, &n->kids[i])) return false;
    }
    return true;
}

/* Optional float field key of obj into *out (absent or null: *given false). */
static bool formula__opt_number(server_call *call, const json_t *obj, const char *key, const char *where, double *out,
                                bool *given) {
    const json_t *v = json_object_get(obj, key);
    *given = v && !json_is_null(v);
    if (!*given) return true;
    if (!json_is_number(v)) return server_fail(call, 400, "Json deserialize error: %s.%s must be a number", where, key), false;
    *out = json_number_value(v);
    return true;
}

/* {"lin_decay" | "exp_decay" | "gauss_decay": {x, target?, scale?, midpoint?}}. */
static bool formula__decay(server_call *call, server_formula *f, formula_node *n, const json_t *p, const char *where,
                           int depth) {
    if (!json_is_object(p) || !json_object_get(p, "x"))
        return server_fail(call, 400, "Json deserialize error: %s needs `x`", where), false;
    double mid = 0.5, scale = 1.0;
    bool has_mid, has_scale;
    if (!formula__opt_number(call, p, "midpoint", where, &mid, &has_mid) ||
        !formula__opt_number(call, p, "scale", where, &scale, &has_scale))
        return false;
    if (!has_mid) mid = 0.5;
    if (!has_scale) scale = 1.0;
    /* as Qdrant: the parameters are float32 */
    mid = (double)(float)mid;
    scale = (double)(float)scale;
    if (n->kind == FORMULA_KIND_LIN_DECAY && !(mid >= 0.0 && mid <= 1.0))
        return server_fail(call, 400, "Wrong input: Validation failed: Linear decay midpoint should be in the range [0.0, 1.0], got %g.",
                           mid), false;
    if (n->kind != FORMULA_KIND_LIN_DECAY && !(mid > 0.0 && mid < 1.0))
        return server_fail(call, 400, "Wrong input: Validation failed: Decay midpoint should be in the range (0.0, 1.0), got %g.", mid), false;
    if (!(scale > 0.0)) return server_fail(call, 400, "Wrong input: Validation failed: Decay scale should be non-zero positive, got %g.", scale), false;
    n->num = n->kind == FORMULA_KIND_LIN_DECAY  ? (1.0 - mid) / scale
             : n->kind == FORMULA_KIND_EXP_DECAY ? log(mid) / scale
                                                 : log(mid) / (scale * scale);
    n->kids = calloc(2, sizeof *n->kids);
    if (!n->kids) return server_fail(call, 500, "out of memory"), false;
    char w[160];
    snprintf(w, sizeof w, "%.120s.x", where);
    n->n_kids = 1; /* counted first: a kid that fails half-built is freed with n */
    if (!formula__parse(call, f, json_object_get(p, "x"), w, depth + 1, &n->kids[0])) return false;
    const json_t *t = json_object_get(p, "target");
    if (t && !json_is_null(t)) {
        snprintf(w, sizeof w, "%.120s.target", where);
        n->n_kids = 2;
        if (!formula__parse(call, f, t, w, depth + 1, &n->kids[1])) return false;
    }
    return true;
}

/* A GeoPoint {lon, lat} at where into n. */
static bool formula__geo(server_call *call, formula_node *n, const json_t *p, const char *where) {
    const json_t *origin = json_is_object(p) ? json_object_get(p, "origin") : NULL;
    const char *to = json_is_object(p) ? json_string_value(json_object_get(p, "to")) : NULL;
    const json_t *lat = json_object_get(origin, "lat"), *lon = json_object_get(origin, "lon");
    if (!json_is_number(lat) || !json_is_number(lon) || !to)
        return server_fail(call, 400, "Json deserialize error: %s must be {\"origin\": {\"lon\": number, \"lat\": "
                                      "number}, \"to\": payload key}", where), false;
    n->lat = json_number_value(lat);
    n->lon = json_number_value(lon);
    if (n->lat < -90.0 || n->lat > 90.0 || n->lon < -180.0 || n->lon > 180.0)
        return server_fail(call, 400, "Wrong input: %s.origin: Wrong input: Latitude must be in [-90, 90] and "
                                      "longitude in [-180, 180], got lat %g, lon %g", where, n->lat, n->lon), false;
    if (!(n->path = util_strdup(to))) return server_fail(call, 500, "out of memory"), false;
    return true;
}

/* The one-operand and list expression keys and their kinds. */
static const struct {
    const char *key;   /* JSON key */
    formula_kind kind; /* node kind */
    bool list;         /* operands are a list */
} formula__ops[] = {
    {"mult", FORMULA_KIND_MULT, true}, {"sum", FORMULA_KIND_SUM, true},    {"neg", FORMULA_KIND_NEG, false},
    {"abs", FORMULA_KIND_ABS, false},  {"sqrt", FORMULA_KIND_SQRT, false}, {"exp", FORMULA_KIND_EXP, false},
    {"log10", FORMULA_KIND_LOG10, false}, {"ln", FORMULA_KIND_LN, false},
};

/* An object expression (an operation, geo, datetime, decay) or else a condition. */
static bool formula__object(server_call *call, server_formula *f, formula_node *n, const json_t *e, const char *where,
                            int depth) {
    char w[160];
    const json_t *v;
    for (size_t i = 0; i < sizeof formula__ops / sizeof formula__ops[0]; i++)
        if ((v = json_object_get(e, formula__ops[i].key))) {
            n->kind = formula__ops[i].kind;
            snprintf(w, sizeof w, "%.120s.%s", where, formula__ops[i].key);
            return formula__operands(call, f, n, v, formula__ops[i].list, w, depth);
        }
    if ((v = json_object_get(e, "div")) || (v = json_object_get(e, "pow"))) {
        bool div = json_object_get(e, "div") != NULL;
        const char *a = div ? "left" : "base", *b = div ? "right" : "exponent";
        n->kind = div ? FORMULA_KIND_DIV : FORMULA_KIND_POW;
        snprintf(w, sizeof w, "%.120s.%s", where, div ? "div" : "pow");
        if (!json_is_object(v) || !json_object_get(v, a) || !json_object_get(v, b))
            return server_fail(call, 400, "Json deserialize error: %s needs `%s` and `%s`", w, a, b), false;
        if (div && !formula__opt_number(call, v, "by_zero_default", w, &n->num, &n->has_default)) return false;
        if (!(n->kids = calloc(2, sizeof *n->kids))) return server_fail(call, 500, "out of memory"), false;
        for (int k = 0; k < 2; k++) {
            char wk[192];
            snprintf(wk, sizeof wk, "%.150s.%s", w, k ? b : a);
            n->n_kids++; /* counted first, as in formula__operands */
            if (!formula__parse(call, f, json_object_get(v, k ? b : a), wk, depth + 1, &n->kids[k])) return false;
        }
        return true;
    }
    static const char *const decays[] = {"lin_decay", "exp_decay", "gauss_decay"};
    for (int k = 0; k < 3; k++)
        if ((v = json_object_get(e, decays[k]))) {
            n->kind = k == 0 ? FORMULA_KIND_LIN_DECAY : k == 1 ? FORMULA_KIND_EXP_DECAY : FORMULA_KIND_GAUSS_DECAY;
            snprintf(w, sizeof w, "%.120s.%s", where, decays[k]);
            return formula__decay(call, f, n, v, w, depth);
        }
    if ((v = json_object_get(e, "geo_distance"))) {
        n->kind = FORMULA_KIND_GEO;
        snprintf(w, sizeof w, "%.120s.geo_distance", where);
        return formula__geo(call, n, v, w);
    }
    if ((v = json_object_get(e, "datetime"))) {
        int64_t us;
        n->kind = FORMULA_KIND_DATETIME;
        if (!json_is_string(v) || !util_parse_datetime(json_string_value(v), json_string_length(v), &us))
            return server_fail(call, 400, "Json deserialize error: %s.datetime must be an RFC 3339 datetime", where), false;
        n->num = (double)us / 1e6;
        return true;
    }
    if ((v = json_object_get(e, "datetime_key"))) {
        n->kind = FORMULA_KIND_DT_KEY;
        if (!json_is_string(v) || !json_string_length(v))
            return server_fail(call, 400, "Json deserialize error: %s.datetime_key must be a payload key", where), false;
        if (!(n->path = util_strdup(json_string_value(v)))) return server_fail(call, 500, "out of memory"), false;
        return true;
    }
    /* a condition (field, has_id, has_vector, is_empty, is_null, nested, or a nested filter) */
    json_t *cond = json_pack("{s:[O]}", "must", e);
    json_t **grown = cond ? realloc(f->conds, (f->n_conds + 1) * sizeof *grown) : NULL;
    if (!grown) {
        json_decref(cond);
        return server_fail(call, 500, "out of memory"), false;
    }
    f->conds = grown;
    f->conds[f->n_conds] = cond;
    n->kind = FORMULA_KIND_COND;
    n->index = f->n_conds++;
    return true;
}

/* Parse expression e at `where` into owned *out. */
static bool formula__parse(server_call *call, server_formula *f, const json_t *e, const char *where, int depth,
                           formula_node **out) {
    if (depth > FORMULA_MAX_DEPTH)
        return server_fail(call, 400, "Wrong input: %s: a formula nested deeper than %d levels", where,
                           FORMULA_MAX_DEPTH), false;
    formula_node *n = calloc(1, sizeof *n);
    if (!n) return server_fail(call, 500, "out of memory"), false;
    *out = n;
    if (json_is_number(e)) {
        n->kind = FORMULA_KIND_CONST;
        n->num = (double)(float)json_number_value(e); /* Qdrant's constants are float32 */
        return true;
    }
    if (json_is_string(e)) {
        bool is_score;
        if (!formula__variable(call, json_string_value(e), where, &is_score, &n->index)) return false;
        n->kind = is_score ? FORMULA_KIND_SCORE : FORMULA_KIND_PAYLOAD;
        if (!is_score && !(n->path = util_strdup(json_string_value(e)))) return server_fail(call, 500, "out of memory"), false;
        return true;
    }
    if (json_is_object(e) && json_object_size(e) > 0) return formula__object(call, f, n, e, where, depth);
    return server_fail(call, 400, "Json deserialize error: %s: data did not match any variant of untagged enum "
                                  "Expression", where), false;
}

bool server_formula_parse(server_call *call, const json_t *q, server_formula **out) {
    server_formula *f = calloc(1, sizeof *f);
    if (!f) return server_fail(call, 500, "out of memory"), false;
    const json_t *defaults = json_object_get(q, "defaults");
    if (defaults && !json_is_null(defaults) && !json_is_object(defaults)) {
        server_formula_free(f);
        return server_fail(call, 400, "Json deserialize error: `query.defaults` must be an object"), false;
    }
    f->defaults = defaults && json_is_object(defaults) ? json_deep_copy(defaults) : json_object();
    bool ok = f->defaults != NULL;
    if (!ok) server_fail(call, 500, "out of memory");
    const char *key;
    json_t *v;
    json_object_foreach(f->defaults, key, v) {
        bool is_score;
        size_t idx;
        if (!ok) break;
        ok = formula__variable(call, key, "query.defaults", &is_score, &idx);
        if (ok && is_score && !json_is_number(v))
            ok = !!server_fail(call, 422, "Validation error in JSON body: [query.defaults: Score default must be a "
                                          "number]");
    }
    if (ok) ok = formula__parse(call, f, json_object_get(q, "formula"), "query.formula", 0, &f->root);
    if (!ok) {
        server_formula_free(f);
        return false;
    }
    *out = f;
    return true;
}

/* ==== Evaluation ==== */

/* The values of a payload variable seen so far. */
typedef struct formula__one {
    const json_t *v; /* last non-null value seen */
    size_t n;        /* non-null values seen */
} formula__one;

static void formula__one_cb(const json_t *v, void *arg) {
    formula__one *one = arg;
    if (json_is_null(v)) return; /* null is no value, as in Qdrant */
    one->v = v;
    one->n++;
}

/* The single value of payload variable path (or its default) into *out
** (borrowed); 400 when there is none or several. */
static bool formula__value(server_call *call, const server_formula *f, const server_formula_input *in,
                           const char *path, const char *type, const json_t **out) {
    formula__one one = {NULL, 0};
    if (in->payload) filter_path_values(in->payload, path, formula__one_cb, &one);
    size_t n = one.n;
    if (n == 0) {
        one.v = json_object_get(f->defaults, path);
        if (!one.v || json_is_null(one.v))
            return server_fail(call, 400, "Wrong input: Expected %s value for %s in the payload and/or in the formula "
                                          "defaults. Error: No value found in a payload nor defaults", type, path), false;
        if (json_is_array(one.v) && json_array_size(one.v) == 1) one.v = json_array_get(one.v, 0);
    } else if (n > 1) {
        return server_fail(call, 400, "Wrong input: Expected %s value for %s in the payload and/or in the formula "
                                      "defaults. Error: Value is not a %s", type, path, type), false;
    }
    *out = one.v;
    return true;
}

/* A double as Rust prints it in Qdrant's messages: inf, -inf, NaN, else %g. */
static const char *formula__num(double v, char *buf, size_t size) {
    if (isnan(v)) return "NaN";
    if (isinf(v)) return v > 0 ? "inf" : "-inf";
    snprintf(buf, size, "%g", v);
    return buf;
}

/* A non-finite value v of expression `what` ("%s/%s", "ln(%s)", ... with
** operands a, b): Qdrant's NonFiniteNumber error "The expression 1/0 = inf
** produced a non-finite number". */
static bool formula__finite(server_call *call, double v, const char *what, double a, double b) {
    if (isfinite(v)) return true;
    char ba[32], bb[32], bv[32], expr[128];
    snprintf(expr, sizeof expr, what, formula__num(a, ba, sizeof ba), formula__num(b, bb, sizeof bb));
    return server_fail(call, 400, "Wrong input: The expression %s = %s produced a non-finite number", expr,
                       formula__num(v, bv, sizeof bv)), false;
}

/* The value of node n for the point of `in` into *out (double precision);
** false with the call's error as server_formula_eval describes. */
static bool formula__eval(server_call *call, const server_formula *f, const formula_node *n,
                          const server_formula_input *in, double *out) {
    double a = 0, b = 0;
    const json_t *v = NULL;
    switch (n->kind) {
    case FORMULA_KIND_CONST:
    case FORMULA_KIND_DATETIME: *out = n->num; return true;
    case FORMULA_KIND_SCORE:
        if (n->index < in->n_scores && !isnan(in->scores[n->index])) {
            *out = (double)in->scores[n->index];
        } else {
            char key[32];
            snprintf(key, sizeof key, "$score[%zu]", n->index);
            const json_t *d = json_object_get(f->defaults, key);
            if (!d && n->index == 0) d = json_object_get(f->defaults, "$score");
            *out = json_is_number(d) ? json_number_value(d) : 0.0;
        }
        return true;
    case FORMULA_KIND_PAYLOAD:
        if (!formula__value(call, f, in, n->path, "number", &v)) return false;
        if (!json_is_number(v))
            return server_fail(call, 400, "Wrong input: Expected number value for %s in the payload and/or in the "
                                          "formula defaults. Error: Value is not a number", n->path), false;
        *out = json_number_value(v);
        return true;
    case FORMULA_KIND_COND: *out = in->conds && in->conds[n->index] ? 1.0 : 0.0; return true;
    case FORMULA_KIND_GEO: {
        if (!formula__value(call, f, in, n->path, "geo point", &v)) return false;
        const json_t *lat = json_object_get(v, "lat"), *lon = json_object_get(v, "lon");
        if (!json_is_number(lat) || !json_is_number(lon))
            return server_fail(call, 400, "Wrong input: Expected geo point value for %s in the payload and/or in the "
                                          "formula defaults. Error: not a {\"lon\", \"lat\"} object", n->path), false;
        double to_rad = M_PI / 180.0, p1 = n->lat * to_rad, p2 = json_number_value(lat) * to_rad;
        double dp = p2 - p1, dl = (json_number_value(lon) - n->lon) * to_rad;
        double h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
        *out = 2.0 * FORMULA_EARTH_RADIUS * asin(sqrt(h));
        return true;
    }
    case FORMULA_KIND_DT_KEY: {
        int64_t us;
        if (!formula__value(call, f, in, n->path, "datetime", &v)) return false;
        if (!json_is_string(v) || !util_parse_datetime(json_string_value(v), json_string_length(v), &us))
            return server_fail(call, 400, "Wrong input: Expected datetime value for %s in the payload and/or in the "
                                          "formula defaults. Error: Value is not a datetime string", n->path), false;
        *out = (double)us / 1e6;
        return true;
    }
    case FORMULA_KIND_MULT:
        *out = 1.0;
        for (size_t i = 0; i < n->n_kids; i++) {
            if (!formula__eval(call, f, n->kids[i], in, &a)) return false;
            if (a == 0.0) { /* as Qdrant: a zero factor ends the product */
                *out = 0.0;
                return true;
            }
            *out *= a;
        }
        return true;
    case FORMULA_KIND_SUM:
        *out = 0.0;
        for (size_t i = 0; i < n->n_kids; i++) {
            if (!formula__eval(call, f, n->kids[i], in, &a)) return false;
            *out += a;
        }
        return true;
    case FORMULA_KIND_DIV:
        if (!formula__eval(call, f, n->kids[0], in, &a)) return false;
        if (a == 0.0) { /* as Qdrant: a zero numerator is 0 whatever the denominator */
            *out = 0.0;
            return true;
        }
        if (!formula__eval(call, f, n->kids[1], in, &b)) return false;
        if (b == 0.0 && n->has_default) {
            *out = n->num;
            return true;
        }
        *out = a / b;
        return formula__finite(call, *out, "%s/%s", a, b);
    case FORMULA_KIND_POW:
        if (!formula__eval(call, f, n->kids[0], in, &a) || !formula__eval(call, f, n->kids[1], in, &b)) return false;
        *out = pow(a, b);
        return formula__finite(call, *out, "%s^%s", a, b);
    case FORMULA_KIND_LIN_DECAY:
    case FORMULA_KIND_EXP_DECAY:
    case FORMULA_KIND_GAUSS_DECAY:
        if (!formula__eval(call, f, n->kids[0], in, &a)) return false;
        if (n->n_kids > 1 && !formula__eval(call, f, n->kids[1], in, &b)) return false;
        *out = n->kind == FORMULA_KIND_LIN_DECAY  ? fmax(1.0 - n->num * fabs(a - b), 0.0)
               : n->kind == FORMULA_KIND_EXP_DECAY ? exp(n->num * fabs(a - b))
                                                   : exp(n->num * (a - b) * (a - b));
        return true;
    default: break;
    }
    /* one operand */
    if (!formula__eval(call, f, n->kids[0], in, &a)) return false;
    switch (n->kind) {
    case FORMULA_KIND_NEG: *out = -a; return true;
    case FORMULA_KIND_ABS: *out = fabs(a); return true;
    case FORMULA_KIND_SQRT: *out = sqrt(a); return formula__finite(call, *out, "√%s", a, 0);
    case FORMULA_KIND_EXP: *out = exp(a); return formula__finite(call, *out, "exp(%s)", a, 0);
    case FORMULA_KIND_LOG10: *out = log10(a); return formula__finite(call, *out, "log10(%s)", a, 0);
    case FORMULA_KIND_LN: *out = log(a); return formula__finite(call, *out, "ln(%s)", a, 0);
    default: return server_fail(call, 500, "formula: unknown node kind %d", (int)n->kind), false;
    }
}

bool server_formula_eval(server_call *call, const server_formula *f, const server_formula_input *in, float *out) {
    double v;
    if (!formula__eval(call, f, f->root, in, &v)) return false;
    float r = (float)v;
    if (!isfinite(r))
        return server_fail(call, 400, "Wrong input: The expression %g as f32 = inf produced a non-finite number", v),
               false;
    *out = r;
    return true;
}

/* ==== Re-scoring prefetch results ==== */

/* Mark in matched[] (in the order of the sorted ids cands) the candidates
** that match filter cond, by one scroll of cond and has_id. */
static bool formula__condition(server_call *call, const char *coll, const json_t *cond, const server_hits *cands,
                               bool *matched) {
    json_t *ids = json_array(), *filter = NULL;
    for (size_t i = 0; ids && i < cands->n; i++) json_array_append_new(ids, server_json_id_encode(&cands->items[i].id));
    if (ids) filter = json_pack("{s:[O,{s:O}]}", "must", cond, "has_id", ids);
    char *text = filter ? server_json_text(filter) : NULL;
    json_decref(ids);
    json_decref(filter);
    if (!text) return server_fail(call, 500, "out of memory"), false;
    sc_scroll_request req = {.filter_json = text, .limit = (uint32_t)(cands->n ? cands->n : 1)};
    sc_record_list *rl = NULL;
    sc_status rc = sc_points_scroll(call->ctx->db, coll, &req, &rl, NULL, NULL);
    free(text);
    if (rc != SC_OK) return server_fail_store(call, rc), false;
    for (size_t i = 0; i < rl->n; i++) {
        server_hit key = {.id = rl->items[i].id};
        const server_hit *h = bsearch(&key, cands->items, cands->n, sizeof *cands->items, server_hit_by_id);
        if (h) matched[h - cands->items] = true;
    }
    sc_record_list_free(rl);
    return true;
}

bool server_formula_rescore(server_call *call, const char *coll, const server_formula *f, const server_hits *src,
                            size_t n_src, server_hits *out) {
    server_hits cands = {0};
    for (size_t s = 0; s < n_src; s++) cands.n += src[s].n;
    cands.items = malloc((cands.n ? cands.n : 1) * sizeof *cands.items);
    if (!cands.items) return server_fail(call, 500, "out of memory"), false;
    for (size_t s = 0, k = 0; s < n_src; k += src[s].n, s++) memcpy(cands.items + k, src[s].items, src[s].n * sizeof *cands.items);
    qsort(cands.items, cands.n, sizeof *cands.items, server_hit_by_id);
    size_t m = 0; /* each point once */
    for (size_t i = 0; i < cands.n; i++)
        if (!m || sc_point_id_cmp(&cands.items[m - 1].id, &cands.items[i].id)) cands.items[m++] = cands.items[i];
    cands.n = m;
    size_t n_scores = n_src ? n_src : 1, n_conds = f->n_conds;
    float *scores = malloc(sizeof *scores * n_scores * (m ? m : 1));
    bool *conds = calloc((n_conds ? n_conds : 1) * (m ? m : 1), sizeof *conds);
    bool *matched = calloc(m ? m : 1, sizeof *matched);
    sc_point_id *ids = malloc(sizeof *ids * (m ? m : 1));
    sc_record_list *rl = NULL;
    bool ok = scores && conds && matched && ids;
    if (!ok) server_fail(call, 500, "out of memory");
    for (size_t i = 0; ok && i < m * n_scores; i++) scores[i] = NAN;
    for (size_t s = 0; ok && s < n_src; s++)
        for (size_t i = 0; i < src[s].n; i++) {
            const server_hit *h = bsearch(&src[s].items[i], cands.items, m, sizeof *cands.items, server_hit_by_id);
            float *at = &scores[(size_t)(h - cands.items) * n_scores + s];
            if (isnan(*at)) *at = src[s].items[i].score; /* a point listed twice keeps its first (best) score */
        }
    for (size_t c = 0; ok && c < n_conds; c++) {
        memset(matched, 0, m * sizeof *matched);
        ok = formula__condition(call, coll, f->conds[c], &cands, matched);
        for (size_t i = 0; ok && i < m; i++) conds[i * n_conds + c] = matched[i];
    }
    if (ok) {
        for (size_t i = 0; i < m; i++) ids[i] = cands.items[i].id;
        sc_with with = {.payload = true};
        sc_status rc = sc_points_get(call->ctx->db, coll, ids, m, &with, &rl);
        if (rc != SC_OK) ok = !!server_fail_store(call, rc);
    }
    size_t k = 0;
    for (size_t i = 0, j = 0; ok && i < rl->n; i++) { /* records come in id order, deleted ones skipped */
        while (j < m && sc_point_id_cmp(&cands.items[j].id, &rl->items[i].id)) j++;
        if (j == m) break;
        json_t *payload = rl->items[i].payload_json ? json_loads(rl->items[i].payload_json, 0, NULL) : NULL;
        server_formula_input in = {.scores = scores + j * n_scores, .n_scores = n_src, .payload = payload,
                                   .conds = conds + j * (n_conds ? n_conds : 1)};
        float v;
        ok = server_formula_eval(call, f, &in, &v);
        json_decref(payload);
        if (ok) cands.items[k++] = (server_hit){rl->items[i].id, v};
    }
    sc_record_list_free(rl);
    free(scores);
    free(conds);
    free(matched);
    free(ids);
    if (!ok) {
        free(cands.items);
        return false;
    }
    cands.n = k;
    qsort(cands.items, k, sizeof *cands.items, server_hit_by_score);
    *out = cands;
    return true;
}
