/*
** store/filter.c: compiler and evaluator of Qdrant's JSON filter language.
**
** filter_compile walks the JSON once, checks every member against the
** schema of Qdrant's Filter / Condition objects and builds an immutable tree
** (filter_int.h) in which strings are unescaped, lists sorted and key paths
** parsed, so filter_match only compares. Every error names the path inside
** the filter ("filter.must[1].range.gt") and the offending value.
**
** Semantics (Qdrant's, from its filtering docs and condition checker):
** - a field condition holds when any value found at its key satisfies it;
**   arrays at the end of the key are expanded one level;
** - `except` needs a non-null value outside the list (a missing key fails);
** - `is_empty`: every value at the key is null or [] (or there is none);
**   `is_null`: some value at the key is an explicit null;
** - `values_count` counts array elements (null = 0, scalar = 1, missing = 0);
** - `text` / `phrase` are substring tests, `text_any` tests each word,
**   `prefix` a byte prefix; on a key with a text index they compare the
**   index's tokens instead (filter_bind, filter_text.c);
** - geo conditions test {lon, lat} objects (filter_geo.c);
** - `range` compares numbers, or RFC 3339 date-times when the bounds are
**   strings; a field condition with several tests holds when any does;
** - an empty `should` is no constraint; `min_should` needs min_count hits.
** Recursion is bounded: FILTER_MAX_DEPTH filter levels, FILTER_MAX_PATH_SEGS
** steps per key path.
*/
#include "store/filter_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Small helpers ==== */

int filter_str_cmp(const char *a, size_t a_len, const char *b, size_t b_len) {
    size_t n = a_len < b_len ? a_len : b_len;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c;
    return a_len < b_len ? -1 : a_len > b_len;
}

bool filter_strs_find(const filter_str *strs, size_t n, const char *s, size_t len) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = filter_str_cmp(strs[mid].s, strs[mid].len, s, len);
        if (c == 0) return true;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

bool filter_ints_find(const int64_t *ints, size_t n, int64_t v) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ints[mid] == v) return true;
        if (ints[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

static bool filter__contains(const char *hay, size_t hay_len, const char *needle, size_t needle_len) {
    if (needle_len == 0) return true;
    if (needle_len > hay_len) return false;
    return memmem(hay, hay_len, needle, needle_len) != NULL;
}

bool filter_text_test(const filter_cond *c, const char *s, size_t len) {
    if (c->match == FILTER_MATCH_KIND_TEXT_ANY) {
        for (size_t i = 0; i < c->n_strs; i++)
            if (filter__contains(s, len, c->strs[i].s, c->strs[i].len)) return true;
        return false;
    }
    return c->n_strs == 1 && filter__contains(s, len, c->strs[0].s, c->strs[0].len);
}

bool filter_range_test_num(const filter_cond *c, double x) {
    if (c->gt.set && !(x > c->gt.num)) return false;
    if (c->gte.set && !(x >= c->gte.num)) return false;
    if (c->lt.set && !(x < c->lt.num)) return false;
    if (c->lte.set && !(x <= c->lte.num)) return false;
    return true;
}

static bool filter__range_test_us(const filter_cond *c, int64_t x) {
    if (c->gt.set && !(x > c->gt.us)) return false;
    if (c->gte.set && !(x >= c->gte.us)) return false;
    if (c->lt.set && !(x < c->lt.us)) return false;
    if (c->lte.set && !(x <= c->lte.us)) return false;
    return true;
}

static bool filter__count_test(const filter_cond *c, uint64_t n) {
    if (c->gt.set && !(n > c->gt.n)) return false;
    if (c->gte.set && !(n >= c->gte.n)) return false;
    if (c->lt.set && !(n < c->lt.n)) return false;
    if (c->lte.set && !(n <= c->lte.n)) return false;
    return true;
}

/* ==== Key paths ==== */

void filter_path_clear(filter_path *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_segs; i++) free(p->segs[i].name);
    free(p->segs);
    free(p->text);
    memset(p, 0, sizeof *p);
}

/* Append a step to p (capacity grows geometrically through *cap). */
static sc_status filter__path_push(filter_path *p, size_t *cap, filter_seg seg, sc_err *err) {
    if (p->n_segs == FILTER_MAX_PATH_SEGS) {
        free(seg.name);
        return sc_err_set(err, SC_INVALID, "more than %d steps", FILTER_MAX_PATH_SEGS);
    }
    if (!util_grow(&p->segs, cap, p->n_segs + 1, sizeof *p->segs, 4)) {
        free(seg.name);
        return sc_err_set(err, SC_NOMEM, "out of memory");
    }
    p->segs[p->n_segs++] = seg;
    return SC_OK;
}

sc_status filter_path_parse(const char *text, filter_path *out, sc_err *err) {
    filter_path p;
    memset(&p, 0, sizeof p);
    size_t cap = 0, i = 0, len = text ? strlen(text) : 0;
    sc_status rc = SC_OK;
    if (len == 0) return sc_err_set(err, SC_INVALID, "empty key");
    p.text = util_strdup(text);
    if (!p.text) return sc_err_set(err, SC_NOMEM, "out of memory");
    for (;;) {
        /* A member name: bare up to '.' or '[', or "quoted". */
        size_t start = i, end;
        if (text[i] == '"') {
            start = ++i;
            while (i < len && text[i] != '"') i++;
            if (i == len) {
                rc = sc_err_set(err, SC_INVALID, "unterminated quote at offset %zu", start - 1);
                goto fail;
            }
            end = i++;
        } else {
            while (i < len && text[i] != '.' && text[i] != '[' && text[i] != ']') i++;
            end = i;
            if (end == start) {
                rc = sc_err_set(err, SC_INVALID, "empty member name at offset %zu", start);
                goto fail;
            }
        }
        filter_seg seg = {.kind = FILTER_SEG_KIND_KEY, .name_len = end - start};
        seg.name = malloc(end - start + 1);
        if (!seg.name) {
            rc = sc_err_set(err, SC_NOMEM, "out of memory");
            goto fail;
        }
        memcpy(seg.name, text + start, end - start);
        seg.name[end - start] = '\0';
        if ((rc = filter__path_push(&p, &cap, seg, err)) != SC_OK) goto fail;
        /* Any number of "[]" or "[N]". */
        while (i < len && text[i] == '[') {
            size_t open = i++;
            filter_seg s2 = {.kind = FILTER_SEG_KIND_ALL};
            if (i < len && text[i] >= '0' && text[i] <= '9') {
                size_t v = 0;
                while (i < len && text[i] >= '0' && text[i] <= '9') {
                    if (v > (SIZE_MAX - 9) / 10) {
                        rc = sc_err_set(err, SC_INVALID, "array index too large at offset %zu", open);
                        goto fail;
                    }
                    v = v * 10 + (size_t)(text[i] - '0');
                    i++;
                }
                s2.kind = FILTER_SEG_KIND_INDEX;
                s2.index = v;
            }
            if (i >= len || text[i] != ']') {
                rc = sc_err_set(err, SC_INVALID, "expected ']' at offset %zu", i);
                goto fail;
            }
            i++;
            if ((rc = filter__path_push(&p, &cap, s2, err)) != SC_OK) goto fail;
        }
        if (i == len) break;
        if (text[i] != '.') {
            rc = sc_err_set(err, SC_INVALID, "unexpected '%c' at offset %zu", text[i], i);
            goto fail;
        }
        i++;
        if (i == len) {
            rc = sc_err_set(err, SC_INVALID, "empty member name at offset %zu", i);
            goto fail;
        }
    }
    *out = p;
    return SC_OK;
fail:
    filter_path_clear(&p);
    return rc;
}

sc_status filter_path_check(const char *path, sc_err *err) {
    filter_path p;
    sc_err local;
    sc_err_clear(&local);
    sc_status rc = filter_path_parse(path, &p, &local);
    if (rc != SC_OK)
        return sc_err_set(err, rc, "invalid key path \"%.200s\": %s", path ? path : "", local.msg);
    filter_path_clear(&p);
    return SC_OK;
}

static void filter__visit(const filter_path *p, size_t k, const json_t *v, bool expand,
                          filter_value_fn fn, void *arg) {
    if (!v) return;
    if (k == p->n_segs) {
        if (expand && json_is_array(v)) {
            size_t i;
            const json_t *e;
            json_array_foreach(v, i, e) fn(e, arg);
        } else {
            fn(v, arg);
        }
        return;
    }
    const filter_seg *s = &p->segs[k];
    switch (s->kind) {
    case FILTER_SEG_KIND_KEY:
        /* Only objects: an array on the way needs "[]" ("a[].b"), as in
        ** Qdrant's JsonPath (a nested condition adds it itself). */
        if (json_is_object(v)) filter__visit(p, k + 1, json_object_getn(v, s->name, s->name_len), expand, fn, arg);
        break;
    case FILTER_SEG_KIND_ALL:
        if (json_is_array(v)) {
            size_t i;
            const json_t *e;
            json_array_foreach(v, i, e) filter__visit(p, k + 1, e, expand, fn, arg);
        }
        break;
    case FILTER_SEG_KIND_INDEX:
        if (json_is_array(v)) filter__visit(p, k + 1, json_array_get(v, s->index), expand, fn, arg);
        break;
    }
}

void filter_path_visit(const filter_path *p, const json_t *root, bool expand, filter_value_fn fn,
                       void *arg) {
    if (p && root && p->n_segs) filter__visit(p, 0, root, expand, fn, arg);
}

typedef struct filter__count_arg {
    filter_value_fn fn; /* caller's callback or NULL */
    void *arg;          /* its argument */
    size_t n;           /* values seen */
} filter__count_arg;

static void filter__count_cb(const json_t *v, void *arg) {
    filter__count_arg *a = arg;
    a->n++;
    if (a->fn) a->fn(v, a->arg);
}

size_t filter_path_values(const json_t *payload, const char *path, filter_value_fn fn, void *arg) {
    filter_path p;
    if (!payload || filter_path_parse(path, &p, NULL) != SC_OK) return 0;
    filter__count_arg a = {fn, arg, 0};
    filter_path_visit(&p, payload, true, filter__count_cb, &a);
    filter_path_clear(&p);
    return a.n;
}

/* ==== Freeing ==== */

static void filter__cond_clear(filter_cond *c) {
    filter_path_clear(&c->path);
    for (size_t i = 0; i < c->n_strs; i++) free(c->strs[i].s);
    free(c->strs);
    free(c->ints);
    free(c->ids);
    filter_free(c->sub);
    filter_geo_free(c->geo);
    filter_text_unbind(c);
}

static void filter__conds_free(filter_cond *c, size_t n) {
    for (size_t i = 0; i < n; i++) filter__cond_clear(&c[i]);
    free(c);
}

void filter_free(store_filter *f) {
    if (!f) return;
    filter__conds_free(f->must, f->n_must);
    filter__conds_free(f->should, f->n_should);
    filter__conds_free(f->must_not, f->n_must_not);
    filter__conds_free(f->min_should, f->n_min_should);
    free(f);
}

/* ==== Compiler ==== */

/* State of one compilation: where we are in the filter, for messages. */
typedef struct filter__ctx {
    sc_err *err;     /* caller's error (may be NULL) */
    char where[320]; /* path inside the filter, e.g. "filter.must[1]" */
    size_t n_where;  /* bytes used in where */
    int depth;       /* filter levels entered so far */
    bool in_nested;  /* inside a nested condition (has_id is refused there) */
} filter__ctx;

/* Append to the location; returns the length to restore with filter__pop. */
static size_t filter__push(filter__ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t filter__push(filter__ctx *x, const char *fmt, ...) {
    size_t old = x->n_where;
    if (x->n_where < sizeof x->where - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(x->where + x->n_where, sizeof x->where - x->n_where, fmt, ap);
        va_end(ap);
        if (n > 0) x->n_where += (size_t)n;
        if (x->n_where > sizeof x->where - 1) x->n_where = sizeof x->where - 1;
    }
    return old;
}

static void filter__pop(filter__ctx *x, size_t old) {
    x->n_where = old;
    x->where[old] = '\0';
}

/* Short JSON text of v for messages (truncated). */
static void filter__show(const json_t *v, char *buf, size_t size) {
    if (!v) {
        snprintf(buf, size, "nothing");
        return;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) {
        snprintf(buf, size, "a %s", json_is_object(v) ? "object" : json_is_array(v) ? "array" : "value");
        return;
    }
    if (strlen(s) > 60) snprintf(buf, size, "%.57s...", s);
    else snprintf(buf, size, "%s", s);
    free(s);
}

/* SC_INVALID "<where>: expected <what>, got <v>". */
static sc_status filter__expected(filter__ctx *x, const char *what, const json_t *v) {
    char shown[80];
    filter__show(v, shown, sizeof shown);
    return sc_err_set(x->err, SC_INVALID, "%s: expected %s, got %s", x->where, what, shown);
}

static sc_status filter__nomem(filter__ctx *x) {
    return sc_err_set(x->err, SC_NOMEM, "%s: out of memory", x->where);
}

/* Copy a JSON string into an owned filter_str. */
static sc_status filter__str_dup(filter__ctx *x, const json_t *v, filter_str *out) {
    size_t len = json_string_length(v);
    out->s = malloc(len + 1);
    if (!out->s) return filter__nomem(x);
    memcpy(out->s, json_string_value(v), len);
    out->s[len] = '\0';
    out->len = len;
    return SC_OK;
}

static int filter__str_qcmp(const void *a, const void *b) {
    const filter_str *x = a, *y = b;
    return filter_str_cmp(x->s, x->len, y->s, y->len);
}

static int filter__int_qcmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int filter__id_qcmp(const void *a, const void *b) {
    return sc_point_id_cmp(a, b);
}

static sc_status filter__compile_filter(filter__ctx *x, const json_t *j, store_filter **out);

/* Parse the key member of a field / is_empty / is_null / nested object. */
static sc_status filter__compile_key(filter__ctx *x, const json_t *key, filter_path *out) {
    size_t old = filter__push(x, ".key");
    sc_status rc;
    if (!json_is_string(key)) {
        rc = filter__expected(x, "a string", key);
    } else if (strlen(json_string_value(key)) != json_string_length(key)) {
        rc = sc_err_set(x->err, SC_INVALID, "%s: key contains a NUL byte", x->where);
    } else {
        sc_err local;
        sc_err_clear(&local);
        rc = filter_path_parse(json_string_value(key), out, &local);
        if (rc == SC_NOMEM) rc = filter__nomem(x);
        else if (rc != SC_OK)
            rc = sc_err_set(x->err, rc, "%s: invalid key path \"%.100s\": %s", x->where,
                            json_string_value(key), local.msg);
    }
    filter__pop(x, old);
    return rc;
}

/* match.any / match.except: a list of strings or of integers. */
static sc_status filter__compile_list(filter__ctx *x, const json_t *list, filter_cond *c, bool except) {
    if (!json_is_array(list)) return filter__expected(x, "an array of strings or of integers", list);
    size_t n = json_array_size(list);
    bool strings = n == 0 || json_is_string(json_array_get(list, 0));
    c->match = strings ? (except ? FILTER_MATCH_KIND_EXCEPT_KEYWORDS : FILTER_MATCH_KIND_ANY_KEYWORDS)
                       : (except ? FILTER_MATCH_KIND_EXCEPT_INTEGERS : FILTER_MATCH_KIND_ANY_INTEGERS);
    if (n == 0) return SC_OK;
    if (strings) {
        c->strs = calloc(n, sizeof *c->strs);
        if (!c->strs) return filter__nomem(x);
    } else {
        c->ints = calloc(n, sizeof *c->ints);
        if (!c->ints) return filter__nomem(x);
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(list, i);
        size_t old = filter__push(x, "[%zu]", i);
        sc_status rc = SC_OK;
        if (strings) {
            if (!json_is_string(e)) rc = filter__expected(x, "a string like the first element", e);
            else if ((rc = filter__str_dup(x, e, &c->strs[i])) == SC_OK) c->n_strs++;
        } else {
            if (!json_is_integer(e)) rc = filter__expected(x, i ? "an integer like the first element"
                                                               : "a string or an integer", e);
            else c->ints[c->n_ints++] = json_integer_value(e);
        }
        filter__pop(x, old);
        if (rc != SC_OK) return rc;
    }
    if (strings) qsort(c->strs, c->n_strs, sizeof *c->strs, filter__str_qcmp);
    else qsort(c->ints, c->n_ints, sizeof *c->ints, filter__int_qcmp);
    return SC_OK;
}

/* Split a text_any query into words (runs of bytes that are not ASCII space). */
static sc_status filter__compile_words(filter__ctx *x, const char *s, size_t len, filter_cond *c) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' &&
            (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t' || s[i - 1] == '\n' || s[i - 1] == '\r'))
            n++;
    if (n == 0) return SC_OK;
    c->strs = calloc(n, sizeof *c->strs);
    if (!c->strs) return filter__nomem(x);
    size_t i = 0;
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
        size_t start = i;
        while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') i++;
        if (i > start) {
            filter_str *w = &c->strs[c->n_strs];
            w->s = malloc(i - start + 1);
            if (!w->s) return filter__nomem(x);
            memcpy(w->s, s + start, i - start);
            w->s[i - start] = '\0';
            w->len = i - start;
            c->n_strs++;
        }
    }
    return SC_OK;
}

static sc_status filter__compile_match(filter__ctx *x, const json_t *m, filter_cond *c) {
    size_t old = filter__push(x, ".match");
    sc_status rc = SC_OK;
    c->kind = FILTER_COND_KIND_MATCH;
    if (!json_is_object(m) || json_object_size(m) != 1) {
        rc = filter__expected(x, "an object with exactly one of value, any, except, text, text_any, phrase", m);
        goto done;
    }
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)m, name, v) {
        size_t o2 = filter__push(x, ".%.40s", name);
        if (!strcmp(name, "value")) {
            if (json_is_string(v)) {
                c->match = FILTER_MATCH_KIND_KEYWORD;
                c->strs = calloc(1, sizeof *c->strs);
                if (!c->strs) rc = filter__nomem(x);
                else if ((rc = filter__str_dup(x, v, &c->strs[0])) == SC_OK) c->n_strs = 1;
            } else if (json_is_integer(v)) {
                c->match = FILTER_MATCH_KIND_INTEGER;
                c->ints = malloc(sizeof *c->ints);
                if (!c->ints) rc = filter__nomem(x);
                else {
                    c->ints[0] = json_integer_value(v);
                    c->n_ints = 1;
                }
            } else if (json_is_boolean(v)) {
                c->match = FILTER_MATCH_KIND_BOOL;
                c->flag = json_is_true(v);
            } else {
                rc = filter__expected(x, "a string, an integer or a boolean", v);
            }
        } else if (!strcmp(name, "any") || !strcmp(name, "except")) {
            rc = filter__compile_list(x, v, c, name[0] == 'e');
        } else if (!strcmp(name, "text") || !strcmp(name, "phrase") || !strcmp(name, "text_any")) {
            if (!json_is_string(v)) {
                rc = filter__expected(x, "a string", v);
            } else if (!strcmp(name, "text_any")) {
                c->match = FILTER_MATCH_KIND_TEXT_ANY;
                rc = filter__compile_words(x, json_string_value(v), json_string_length(v), c);
            } else {
                c->match = name[0] == 't' ? FILTER_MATCH_KIND_TEXT : FILTER_MATCH_KIND_PHRASE;
                c->strs = calloc(1, sizeof *c->strs);
                if (!c->strs) rc = filter__nomem(x);
                else if ((rc = filter__str_dup(x, v, &c->strs[0])) == SC_OK) c->n_strs = 1;
            }
        } else if (!strcmp(name, "prefix")) {
            if (!json_is_string(v)) {
                rc = filter__expected(x, "a string", v);
            } else {
                c->match = FILTER_MATCH_KIND_PREFIX;
                c->strs = calloc(1, sizeof *c->strs);
                if (!c->strs) rc = filter__nomem(x);
                else if ((rc = filter__str_dup(x, v, &c->strs[0])) == SC_OK) c->n_strs = 1;
            }
        } else {
            filter__pop(x, o2);
            rc = sc_err_set(x->err, SC_INVALID,
                            "%s: unknown member \"%.40s\" (expected value, any, except, text, text_any, phrase or prefix)",
                            x->where, name);
        }
        filter__pop(x, o2);
        break;
    }
done:
    filter__pop(x, old);
    return rc;
}

/* One bound of range / values_count. */
static sc_status filter__compile_bound(filter__ctx *x, const json_t *v, bool count, filter_bound *b,
                                       int *kind /* 0 unknown, 1 number, 2 date-time */) {
    if (!v || json_is_null(v)) return SC_OK;
    if (count) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return filter__expected(x, "a non-negative integer", v);
        b->n = (uint64_t)json_integer_value(v);
        b->set = true;
        return SC_OK;
    }
    if (json_is_number(v)) {
        if (*kind == 2)
            return sc_err_set(x->err, SC_INVALID, "%s: a number mixed with date-time bounds", x->where);
        *kind = 1;
        b->num = json_number_value(v);
        b->set = true;
        return SC_OK;
    }
    if (json_is_string(v)) {
        if (!util_parse_datetime(json_string_value(v), json_string_length(v), &b->us)) {
            char shown[80];
            filter__show(v, shown, sizeof shown);
            return sc_err_set(x->err, SC_INVALID,
                              "%s: expected a number, got %s (not an RFC 3339 date-time either)", x->where,
                              shown);
        }
        if (*kind == 1)
            return sc_err_set(x->err, SC_INVALID, "%s: a date-time mixed with numeric bounds", x->where);
        *kind = 2;
        b->set = true;
        return SC_OK;
    }
    return filter__expected(x, "a number or an RFC 3339 date-time string", v);
}

/* range / values_count object: {gt, gte, lt, lte}. */
static sc_status filter__compile_bounds(filter__ctx *x, const char *member, const json_t *r, filter_cond *c) {
    size_t old = filter__push(x, ".%s", member);
    bool count = !strcmp(member, "values_count");
    int kind = 0;
    sc_status rc = SC_OK;
    c->kind = count ? FILTER_COND_KIND_VALUES_COUNT : FILTER_COND_KIND_RANGE;
    if (!json_is_object(r)) {
        rc = filter__expected(x, "an object with gt, gte, lt, lte", r);
        goto done;
    }
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)r, name, v) {
        filter_bound *b = !strcmp(name, "gt") ? &c->gt : !strcmp(name, "gte") ? &c->gte
                        : !strcmp(name, "lt") ? &c->lt : !strcmp(name, "lte") ? &c->lte : NULL;
        if (!b) {
            rc = sc_err_set(x->err, SC_INVALID, "%s: unknown member \"%.40s\" (expected gt, gte, lt or lte)",
                            x->where, name);
            goto done;
        }
        size_t o2 = filter__push(x, ".%s", name);
        rc = filter__compile_bound(x, v, count, b, &kind);
        filter__pop(x, o2);
        if (rc != SC_OK) goto done;
    }
    c->datetime = kind == 2;
done:
    filter__pop(x, old);
    return rc;
}

/* A growable array of conditions. */
typedef struct filter__conds {
    filter_cond *items; /* owned */
    size_t n;           /* used */
    size_t cap;         /* allocated */
} filter__conds;

static filter_cond *filter__conds_add(filter__conds *l) {
    if (!util_grow(&l->items, &l->cap, l->n + 1, sizeof *l->items, 2)) return NULL;
    filter_cond *c = &l->items[l->n++];
    memset(c, 0, sizeof *c);
    return c;
}

/* An empty filter (matches everything); the compiler fills it, and also
** builds synthetic ones: OR of the tests of one field condition, and the
** "is_empty": false / "is_null": false forms. */
static store_filter *filter__new(void) {
    return calloc(1, sizeof(store_filter));
}

static sc_status filter__compile_field(filter__ctx *x, const json_t *j, filter_cond *out) {
    const json_t *key = json_object_get(j, "key");
    filter_path path;
    sc_status rc = filter__compile_key(x, key, &path);
    if (rc != SC_OK) return rc;
    filter__conds tests = {0};
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)j, name, v) {
        if (!strcmp(name, "key")) continue;
        if (json_is_null(v)) continue; /* Qdrant clients send absent members as null */
        filter_cond *c = filter__conds_add(&tests);
        if (!c) {
            rc = filter__nomem(x);
            goto fail;
        }
        if (!strcmp(name, "match")) {
            rc = filter__compile_match(x, v, c);
        } else if (!strcmp(name, "range") || !strcmp(name, "values_count")) {
            rc = filter__compile_bounds(x, name, v, c);
        } else if (!strcmp(name, "is_empty") || !strcmp(name, "is_null")) {
            size_t old = filter__push(x, ".%s", name);
            if (!json_is_boolean(v)) {
                rc = filter__expected(x, "a boolean", v);
            } else if (json_is_true(v)) {
                c->kind = name[3] == 'e' ? FILTER_COND_KIND_IS_EMPTY : FILTER_COND_KIND_IS_NULL;
            } else {
                /* "is_empty": false = not empty: a sub-filter with must_not. */
                c->kind = FILTER_COND_KIND_FILTER;
                c->sub = filter__new();
                if (!c->sub || !(c->sub->must_not = calloc(1, sizeof(filter_cond)))) {
                    rc = filter__nomem(x);
                } else {
                    c->sub->n_must_not = 1;
                    c->sub->must_not[0].kind =
                        name[3] == 'e' ? FILTER_COND_KIND_IS_EMPTY : FILTER_COND_KIND_IS_NULL;
                    rc = filter_path_parse(path.text, &c->sub->must_not[0].path, NULL);
                    if (rc != SC_OK) rc = filter__nomem(x);
                }
            }
            filter__pop(x, old);
        } else if (!strcmp(name, "geo_bounding_box") || !strcmp(name, "geo_radius") ||
                   !strcmp(name, "geo_polygon")) {
            rc = filter_geo_compile(x->where, name, v, c, x->err);
        } else {
            rc = sc_err_set(x->err, SC_INVALID,
                            "%s: unknown member \"%.40s\" in a field condition (expected key, match, range, "
                            "values_count, is_empty, is_null, geo_radius, geo_bounding_box or geo_polygon)",
                            x->where, name);
        }
        if (rc != SC_OK) goto fail;
        if (c->kind != FILTER_COND_KIND_FILTER) {
            rc = filter_path_parse(path.text, &c->path, NULL);
            if (rc != SC_OK) {
                rc = filter__nomem(x);
                goto fail;
            }
        }
    }
    if (tests.n == 0) {
        rc = sc_err_set(x->err, SC_INVALID,
                        "Validation error in JSON body: [%s: At least one field condition must be specified: the "
                        "condition on \"%.100s\" has no test (expected match, range, values_count, is_empty or "
                        "is_null)]",
                        x->where, path.text);
        goto fail;
    }
    if (tests.n == 1) {
        *out = tests.items[0];
        free(tests.items);
    } else {
        /* Several tests on one key: Qdrant accepts the point when any holds. */
        memset(out, 0, sizeof *out);
        out->kind = FILTER_COND_KIND_FILTER;
        out->sub = filter__new();
        if (!out->sub) {
            rc = filter__nomem(x);
            goto fail;
        }
        out->sub->should = tests.items;
        out->sub->n_should = tests.n;
    }
    filter_path_clear(&path);
    return SC_OK;
fail:
    filter__conds_free(tests.items, tests.n);
    filter_path_clear(&path);
    return rc;
}

/* {"is_empty": {"key": "k"}} and {"is_null": {"key": "k"}}. */
static sc_status filter__compile_keyed(filter__ctx *x, const char *member, const json_t *v, filter_cond *c) {
    size_t old = filter__push(x, ".%s", member);
    sc_status rc = SC_OK;
    c->kind = !strcmp(member, "is_empty") ? FILTER_COND_KIND_IS_EMPTY : FILTER_COND_KIND_IS_NULL;
    if (!json_is_object(v)) {
        rc = filter__expected(x, "an object {\"key\": ...}", v);
    } else if (json_object_size(v) != 1 || !json_object_get(v, "key")) {
        rc = filter__expected(x, "an object with only a key member", v);
    } else {
        rc = filter__compile_key(x, json_object_get(v, "key"), &c->path);
    }
    filter__pop(x, old);
    return rc;
}

static sc_status filter__compile_has_id(filter__ctx *x, const json_t *v, filter_cond *c) {
    size_t old = filter__push(x, ".has_id");
    sc_status rc = SC_OK;
    c->kind = FILTER_COND_KIND_HAS_ID;
    if (x->in_nested) {
        rc = sc_err_set(x->err, SC_UNSUPPORTED,
                        "%s: has_id is not supported inside a nested filter; put it next to the nested condition",
                        x->where);
        goto done;
    }
    if (!json_is_array(v)) {
        rc = filter__expected(x, "an array of point ids", v);
        goto done;
    }
    size_t n = json_array_size(v);
    if (n) {
        c->ids = calloc(n, sizeof *c->ids);
        if (!c->ids) {
            rc = filter__nomem(x);
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        size_t o2 = filter__push(x, "[%zu]", i);
        if (json_is_integer(e) && json_integer_value(e) >= 0) {
            c->ids[c->n_ids++] = sc_point_id_num((uint64_t)json_integer_value(e));
        } else if (json_is_string(e) && strlen(json_string_value(e)) == json_string_length(e) &&
                   sc_point_id_parse_uuid(json_string_value(e), &c->ids[c->n_ids]) == SC_OK) {
            c->n_ids++;
        } else {
            rc = filter__expected(x, "an unsigned integer or a UUID string", e);
        }
        filter__pop(x, o2);
        if (rc != SC_OK) goto done;
    }
    if (c->n_ids > 1) qsort(c->ids, c->n_ids, sizeof *c->ids, filter__id_qcmp);
    size_t w = 0;
    for (size_t i = 0; i < c->n_ids; i++)
        if (w == 0 || sc_point_id_cmp(&c->ids[w - 1], &c->ids[i]) != 0) c->ids[w++] = c->ids[i];
    c->n_ids = w;
done:
    filter__pop(x, old);
    return rc;
}

static sc_status filter__compile_nested(filter__ctx *x, const json_t *v, filter_cond *c) {
    size_t old = filter__push(x, ".nested");
    sc_status rc = SC_OK;
    c->kind = FILTER_COND_KIND_NESTED;
    if (!json_is_object(v)) {
        rc = filter__expected(x, "an object {\"key\": ..., \"filter\": ...}", v);
        goto done;
    }
    const char *name;
    const json_t *m;
    json_object_foreach((json_t *)v, name, m) {
        if (strcmp(name, "key") && strcmp(name, "filter")) {
            rc = sc_err_set(x->err, SC_INVALID, "%s: unknown member \"%.40s\" (expected key and filter)",
                            x->where, name);
            goto done;
        }
    }
    if ((rc = filter__compile_key(x, json_object_get(v, "key"), &c->path)) != SC_OK) goto done;
    size_t o2 = filter__push(x, ".filter");
    bool was = x->in_nested;
    x->in_nested = true;
    rc = filter__compile_filter(x, json_object_get(v, "filter"), &c->sub);
    x->in_nested = was;
    filter__pop(x, o2);
done:
    filter__pop(x, old);
    return rc;
}

static bool filter__is_clause(const char *name) {
    return !strcmp(name, "must") || !strcmp(name, "should") || !strcmp(name, "must_not") ||
           !strcmp(name, "min_should");
}

/* {"slice": {"total": t, "index": i}}: the ids split into t parts by a
** hash, part i (t >= 1, i < t). */
static sc_status filter__compile_slice(filter__ctx *x, const json_t *v, filter_cond *c) {
    size_t old = filter__push(x, ".slice");
    sc_status rc = SC_OK;
    c->kind = FILTER_COND_KIND_SLICE;
    const json_t *t = json_object_get(v, "total"), *i = json_object_get(v, "index");
    if (!json_is_object(v) || !json_is_integer(t) || json_integer_value(t) < 1 || !json_is_integer(i) ||
        json_integer_value(i) < 0)
        rc = filter__expected(x, "{\"total\": n >= 1, \"index\": i >= 0}", v);
    else if (json_integer_value(i) >= json_integer_value(t))
        rc = sc_err_set(x->err, SC_INVALID, "Validation error in JSON body: [%s.index: value %lld invalid, must be "
                                            "less than total %lld]",
                        x->where, (long long)json_integer_value(i), (long long)json_integer_value(t));
    if (rc == SC_OK) {
        c->slice_total = (uint64_t)json_integer_value(t);
        c->slice_index = (uint64_t)json_integer_value(i);
    }
    filter__pop(x, old);
    return rc;
}

/* The part of `total` that id falls in (splitmix64 of its number or UUID halves). */
static uint64_t filter__slice_of(const sc_point_id *id, uint64_t total) {
    uint64_t h = id->kind == SC_ID_KIND_NUM ? id->num : 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < (id->kind == SC_ID_KIND_NUM ? 1 : 2); k++) {
        if (id->kind != SC_ID_KIND_NUM) {
            uint64_t half;
            memcpy(&half, id->uuid + 8 * k, 8);
            h ^= half;
        }
        h += 0x9e3779b97f4a7c15ull;
        h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
        h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
        h ^= h >> 31;
    }
    return h % total;
}

/* One condition object; x->where names it. */
static sc_status filter__compile_cond(filter__ctx *x, const json_t *j, filter_cond *c) {
    memset(c, 0, sizeof *c);
    if (!json_is_object(j)) return filter__expected(x, "a condition object", j);
    if (json_object_get(j, "key")) return filter__compile_field(x, j, c);
    const char *only = NULL;
    if (json_object_size(j) == 1) {
        const char *name;
        const json_t *v;
        json_object_foreach((json_t *)j, name, v) only = name;
    }
    if (only && (!strcmp(only, "is_empty") || !strcmp(only, "is_null")))
        return filter__compile_keyed(x, only, json_object_get(j, only), c);
    if (only && !strcmp(only, "has_id")) return filter__compile_has_id(x, json_object_get(j, only), c);
    if (only && !strcmp(only, "slice")) return filter__compile_slice(x, json_object_get(j, only), c);
    if (only && !strcmp(only, "nested")) return filter__compile_nested(x, json_object_get(j, only), c);
    if (only && !strcmp(only, "has_vector")) {
        const json_t *name = json_object_get(j, only);
        c->kind = FILTER_COND_KIND_HAS_VECTOR;
        if (x->in_nested)
            return sc_err_set(x->err, SC_UNSUPPORTED, "%s.has_vector: not supported inside a nested filter", x->where);
        if (!json_is_string(name)) return filter__expected(x, "a vector name", name);
        if (!(c->path.text = strdup(json_string_value(name)))) return filter__nomem(x);
        return SC_OK;
    }
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)j, name, v) {
        if (!strcmp(name, "is_empty") || !strcmp(name, "is_null") || !strcmp(name, "has_id") ||
            !strcmp(name, "nested") || !strcmp(name, "has_vector"))
            return sc_err_set(x->err, SC_INVALID, "%s: a \"%s\" condition must be the only member of its object",
                              x->where, name);
        if (!filter__is_clause(name))
            return sc_err_set(x->err, SC_INVALID,
                              "%s: unknown condition member \"%.40s\" (expected a field condition with key, "
                              "is_empty, is_null, has_id, nested or a filter with must, should, must_not, "
                              "min_should)",
                              x->where, name);
    }
    c->kind = FILTER_COND_KIND_FILTER;
    return filter__compile_filter(x, j, &c->sub);
}

/* must / should / must_not: one condition object or an array of them. */
static sc_status filter__compile_clause(filter__ctx *x, const json_t *v, filter_cond **out, size_t *n_out) {
    if (!v || json_is_null(v)) return SC_OK;
    if (json_is_object(v)) {
        filter_cond *c = calloc(1, sizeof *c);
        if (!c) return filter__nomem(x);
        sc_status rc = filter__compile_cond(x, v, c);
        *out = c;
        *n_out = 1; /* freed by the caller with the filter, even on error */
        return rc;
    }
    if (!json_is_array(v)) return filter__expected(x, "a condition object or an array of conditions", v);
    size_t n = json_array_size(v);
    if (n == 0) return SC_OK;
    filter_cond *c = calloc(n, sizeof *c);
    if (!c) return filter__nomem(x);
    *out = c;
    for (size_t i = 0; i < n; i++) {
        size_t old = filter__push(x, "[%zu]", i);
        sc_status rc = filter__compile_cond(x, json_array_get(v, i), &c[i]);
        *n_out = i + 1;
        filter__pop(x, old);
        if (rc != SC_OK) return rc;
    }
    return SC_OK;
}

static sc_status filter__compile_min_should(filter__ctx *x, const json_t *v, store_filter *f) {
    if (!v || json_is_null(v)) return SC_OK;
    if (!json_is_object(v)) return filter__expected(x, "an object {\"conditions\": [...], \"min_count\": n}", v);
    const char *name;
    const json_t *m;
    json_object_foreach((json_t *)v, name, m) {
        if (strcmp(name, "conditions") && strcmp(name, "min_count"))
            return sc_err_set(x->err, SC_INVALID,
                              "%s: unknown member \"%.40s\" (expected conditions and min_count)", x->where, name);
    }
    const json_t *mc = json_object_get(v, "min_count");
    size_t old = filter__push(x, ".min_count");
    if (!json_is_integer(mc) || json_integer_value(mc) < 0) {
        sc_status rc = filter__expected(x, "a non-negative integer", mc);
        filter__pop(x, old);
        return rc;
    }
    filter__pop(x, old);
    f->min_count = (uint64_t)json_integer_value(mc);
    f->has_min_should = true;
    const json_t *conds = json_object_get(v, "conditions");
    old = filter__push(x, ".conditions");
    sc_status rc;
    if (!json_is_array(conds)) rc = filter__expected(x, "an array of conditions", conds);
    else rc = filter__compile_clause(x, conds, &f->min_should, &f->n_min_should);
    filter__pop(x, old);
    return rc;
}

/* A Filter object; x->where names it. */
static sc_status filter__compile_filter(filter__ctx *x, const json_t *j, store_filter **out) {
    *out = NULL;
    if (!json_is_object(j)) return filter__expected(x, "a filter object", j);
    if (x->depth >= FILTER_MAX_DEPTH)
        return sc_err_set(x->err, SC_INVALID, "%s: filters nested deeper than %d levels", x->where,
                          FILTER_MAX_DEPTH);
    store_filter *f = filter__new();
    if (!f) return filter__nomem(x);
    *out = f; /* the caller frees it on error */
    x->depth++;
    sc_status rc = SC_OK;
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)j, name, v) {
        if (!filter__is_clause(name)) {
            rc = sc_err_set(x->err, SC_INVALID,
                            "%s: unknown member \"%.40s\" (expected must, should, must_not or min_should)",
                            x->where, name);
            break;
        }
        size_t old = filter__push(x, ".%s", name);
        if (!strcmp(name, "must")) rc = filter__compile_clause(x, v, &f->must, &f->n_must);
        else if (!strcmp(name, "should")) rc = filter__compile_clause(x, v, &f->should, &f->n_should);
        else if (!strcmp(name, "must_not")) rc = filter__compile_clause(x, v, &f->must_not, &f->n_must_not);
        else rc = filter__compile_min_should(x, v, f);
        filter__pop(x, old);
        if (rc != SC_OK) break;
    }
    x->depth--;
    return rc;
}

sc_status filter_compile(const json_t *filter, store_filter **out, sc_err *err) {
    if (!out) return sc_err_set(err, SC_MISUSE, "filter_compile: out is NULL");
    *out = NULL;
    filter__ctx x;
    memset(&x, 0, sizeof x);
    x.err = err;
    filter__push(&x, "filter");
    store_filter *f = NULL;
    sc_status rc = filter__compile_filter(&x, filter, &f);
    if (rc != SC_OK) {
        filter_free(f);
        return rc;
    }
    *out = f;
    return SC_OK;
}

sc_status filter_compile_text(const char *text, store_filter **out, sc_err *err) {
    if (!out) return sc_err_set(err, SC_MISUSE, "filter_compile_text: out is NULL");
    *out = NULL;
    if (!text) return SC_OK;
    size_t i = 0;
    while (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') i++;
    if (text[i] == '\0') return SC_OK;
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!j && store_json_oom(&je))
        return sc_err_set(err, SC_NOMEM, "filter: out of memory parsing it");
    if (!j)
        return sc_err_set(err, SC_INVALID, "filter: invalid JSON at line %d column %d: %s", je.line, je.column,
                          je.text);
    sc_status rc = SC_OK;
    if (!json_is_null(j)) rc = filter_compile(j, out, err);
    json_decref(j);
    return rc;
}

/* ==== Evaluation ==== */

static bool filter__eval(const store_filter *f, const filter_point *pt, const json_t *payload);

/* State of one walk over the values at a key. */
typedef struct filter__walk {
    const filter_cond *c;  /* condition tested */
    const filter_point *pt; /* the point (for sub-filters) */
    bool hit;              /* some value satisfied it (MATCH, RANGE, IS_NULL, NESTED) */
    bool all_empty;        /* IS_EMPTY: every value seen is null or [] */
    uint64_t count;        /* VALUES_COUNT: values counted */
} filter__walk;

static bool filter__match_value(const filter_cond *c, const json_t *v) {
    switch (c->match) {
    case FILTER_MATCH_KIND_KEYWORD:
        return json_is_string(v) &&
               filter_str_cmp(json_string_value(v), json_string_length(v), c->strs[0].s, c->strs[0].len) == 0;
    case FILTER_MATCH_KIND_INTEGER:
        return json_is_integer(v) && json_integer_value(v) == c->ints[0];
    case FILTER_MATCH_KIND_BOOL:
        return json_is_boolean(v) && json_is_true(v) == c->flag;
    case FILTER_MATCH_KIND_ANY_KEYWORDS:
        return json_is_string(v) && filter_strs_find(c->strs, c->n_strs, json_string_value(v), json_string_length(v));
    case FILTER_MATCH_KIND_ANY_INTEGERS:
        return json_is_integer(v) && filter_ints_find(c->ints, c->n_ints, json_integer_value(v));
    case FILTER_MATCH_KIND_EXCEPT_KEYWORDS:
        if (json_is_null(v)) return false;
        return !json_is_string(v) ||
               !filter_strs_find(c->strs, c->n_strs, json_string_value(v), json_string_length(v));
    case FILTER_MATCH_KIND_EXCEPT_INTEGERS:
        if (json_is_null(v)) return false;
        return !json_is_integer(v) || !filter_ints_find(c->ints, c->n_ints, json_integer_value(v));
    case FILTER_MATCH_KIND_TEXT:
    case FILTER_MATCH_KIND_TEXT_ANY:
    case FILTER_MATCH_KIND_PHRASE:
        return json_is_string(v) && filter_text_test(c, json_string_value(v), json_string_length(v));
    case FILTER_MATCH_KIND_PREFIX:
        return json_is_string(v) && json_string_length(v) >= c->strs[0].len &&
               memcmp(json_string_value(v), c->strs[0].s, c->strs[0].len) == 0;
    }
    return false;
}

static void filter__walk_cb(const json_t *v, void *arg) {
    filter__walk *w = arg;
    const filter_cond *c = w->c;
    switch (c->kind) {
    case FILTER_COND_KIND_MATCH:
        if (!w->hit) w->hit = filter__match_value(c, v);
        break;
    case FILTER_COND_KIND_RANGE:
        if (w->hit) break;
        if (c->datetime) {
            int64_t us;
            w->hit = json_is_string(v) && util_parse_datetime(json_string_value(v), json_string_length(v), &us) &&
                     filter__range_test_us(c, us);
        } else {
            w->hit = json_is_number(v) && filter_range_test_num(c, json_number_value(v));
        }
        break;
    case FILTER_COND_KIND_VALUES_COUNT:
        w->count += json_is_array(v) ? json_array_size(v) : json_is_null(v) ? 0 : 1;
        break;
    case FILTER_COND_KIND_IS_EMPTY:
        if (!(json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))) w->all_empty = false;
        break;
    case FILTER_COND_KIND_IS_NULL:
        if (json_is_null(v)) w->hit = true;
        break;
    case FILTER_COND_KIND_NESTED:
        if (w->hit) break;
        if (json_is_object(v)) {
            w->hit = filter__eval(c->sub, w->pt, v);
        } else if (json_is_array(v)) {
            size_t i;
            const json_t *e;
            json_array_foreach(v, i, e) {
                if (json_is_object(e) && filter__eval(c->sub, w->pt, e)) {
                    w->hit = true;
                    break;
                }
            }
        }
        break;
    case FILTER_COND_KIND_GEO:
        if (!w->hit) w->hit = filter_geo_test_value(c->geo, v);
        break;
    case FILTER_COND_KIND_FILTER:
    case FILTER_COND_KIND_HAS_ID:
    case FILTER_COND_KIND_SLICE:
    case FILTER_COND_KIND_HAS_VECTOR:
        break;
    }
}

static bool filter__has_id(const filter_cond *c, const sc_point_id *id) {
    if (!id) return false;
    size_t lo = 0, hi = c->n_ids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = sc_point_id_cmp(&c->ids[mid], id);
        if (r == 0) return true;
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

static bool filter__cond(const filter_cond *c, const filter_point *pt, const json_t *payload) {
    if (c->kind == FILTER_COND_KIND_FILTER) return filter__eval(c->sub, pt, payload);
    if (c->kind == FILTER_COND_KIND_HAS_ID) return filter__has_id(c, pt->id);
    if (c->kind == FILTER_COND_KIND_SLICE) return pt->id && filter__slice_of(pt->id, c->slice_total) == c->slice_index;
    if (c->kind == FILTER_COND_KIND_HAS_VECTOR) return pt->has_vector && pt->has_vector(pt->ctx, c->path.text);
    if (c->kind == FILTER_COND_KIND_MATCH && c->ft) return filter_text_eval(c, payload);
    filter__walk w = {.c = c, .pt = pt, .all_empty = true};
    bool expand = c->kind == FILTER_COND_KIND_MATCH || c->kind == FILTER_COND_KIND_RANGE ||
                  c->kind == FILTER_COND_KIND_GEO;
    filter_path_visit(&c->path, payload, expand, filter__walk_cb, &w);
    switch (c->kind) {
    case FILTER_COND_KIND_VALUES_COUNT: return filter__count_test(c, w.count);
    case FILTER_COND_KIND_IS_EMPTY: return w.all_empty;
    default: return w.hit;
    }
}

static bool filter__eval(const store_filter *f, const filter_point *pt, const json_t *payload) {
    for (size_t i = 0; i < f->n_must; i++)
        if (!filter__cond(&f->must[i], pt, payload)) return false;
    for (size_t i = 0; i < f->n_must_not; i++)
        if (filter__cond(&f->must_not[i], pt, payload)) return false;
    if (f->n_should) {
        bool any = false;
        for (size_t i = 0; i < f->n_should && !any; i++) any = filter__cond(&f->should[i], pt, payload);
        if (!any) return false;
    }
    if (f->has_min_should && f->min_count > 0) {
        uint64_t hits = 0;
        for (size_t i = 0; i < f->n_min_should; i++) {
            if (f->n_min_should - i < f->min_count - hits) return false; /* cannot reach it */
            if (filter__cond(&f->min_should[i], pt, payload) && ++hits >= f->min_count) return true;
        }
        return hits >= f->min_count;
    }
    return true;
}

bool filter_match(const store_filter *f, const sc_point_id *id, const json_t *payload) {
    filter_point pt = {.id = id};
    return filter_match_point(f, &pt, payload);
}

bool filter_match_point(const store_filter *f, const filter_point *pt, const json_t *payload) {
    if (!f) return true; /* a NULL payload has no values at any key: {} */
    return filter__eval(f, pt, payload);
}
