/*
** records/jsonl.c: any records from JSON Lines (sc_jsonl_ingest): one
** object per line, a mapping from record fields to paths in the object,
** streamed in bounded memory (one line and the writer's batch).
**
** Mapping: {"<target>": "<path>"}. Targets: "id" (required: a string or an
** integer), "kind" (a kind name; else the default kind), "links.<rel>"
** (strings or numbers: link targets), or a field name ([a-z0-9_], not one of
** the payload's own keys). Paths: keys separated by '.', a key followed by
** "[]" maps the rest of the path over its array: "comments[].body" is the
** list of the comments' bodies. Without a mapping, every top-level key that
** is a valid field name is its own field (and "links" an object of
** relations). Values keep their JSON types: strings, integers, numbers,
** booleans; an array of scalars is a keyword array (numbers as text), other
** arrays and objects are stored as JSON. Targets named date, created,
** updated, closed or ending in _at / _date are dates: text as
** sc_rec_set_date_str takes it, or a number of seconds (of milliseconds when
** above 10^11) since the epoch.
**
** A line that is not a JSON object, lacks its id or has a bad date or kind
** is reported as "NAME:LINE" and skipped; a line longer than SRC_MAX_LINE is
** read through without being kept.
*/
#include "records/source_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a mapping target is. */
typedef enum jl_target { JL_FIELD = 0, JL_ID = 1, JL_KIND = 2, JL_LINK = 3 } jl_target;

/* One entry of the mapping. */
typedef struct jl_entry {
    jl_target what;   /* id, kind, a link relation or a field */
    char *name;       /* owned: the field or relation name */
    bool date;        /* the field is a date */
    char **segs;      /* owned path keys */
    bool *each;       /* per key: "[]" (map over its array) */
    size_t n_segs;    /* keys */
    char *path;       /* owned: the path as written (messages) */
} jl_entry;

typedef struct jl_map {
    jl_entry *e;      /* entries */
    size_t n;         /* entries used */
    bool identity;    /* no mapping: top-level keys are fields */
} jl_map;

static void jl__map_free(jl_map *m) {
    for (size_t i = 0; i < m->n; i++) {
        for (size_t k = 0; k < m->e[i].n_segs; k++) free(m->e[i].segs[k]);
        free(m->e[i].segs);
        free(m->e[i].each);
        free(m->e[i].name);
        free(m->e[i].path);
    }
    free(m->e);
    memset(m, 0, sizeof *m);
}

/* Is field name a date by its name? */
static bool jl__date_name(const char *f) {
    size_t n = strlen(f);
    return !strcmp(f, "date") || !strcmp(f, "created") || !strcmp(f, "updated") || !strcmp(f, "closed") ||
           (n > 3 && !strcmp(f + n - 3, "_at")) || (n > 5 && !strcmp(f + n - 5, "_date"));
}

/* Classify target into e (checking the name with a scratch record); NULL or why not. */
static const char *jl__target(jl_entry *e, const char *target, sc_rec *scratch) {
    if (!strcmp(target, "id")) e->what = JL_ID;
    else if (!strcmp(target, "kind")) e->what = JL_KIND;
    else if (!strncmp(target, "links.", 6)) e->what = JL_LINK;
    else e->what = JL_FIELD;
    const char *name = e->what == JL_LINK ? target + 6 : target;
    if (e->what == JL_LINK && sc_rec_add_link(scratch, name, "x") != SC_OK) return sc_rec_errmsg(scratch);
    if (e->what == JL_FIELD && sc_rec_set_bool(scratch, name, true) != SC_OK) return sc_rec_errmsg(scratch);
    e->date = e->what == JL_FIELD && jl__date_name(name);
    return (e->name = util_strdup(name)) ? NULL : "out of memory";
}

/* Parse path into e's keys; NULL or why not. */
static const char *jl__path(jl_entry *e, const char *path) {
    if (!*path) return "the path is empty";
    if (!(e->path = util_strdup(path))) return "out of memory";
    size_t n = 1;
    for (const char *p = path; *p; p++) n += *p == '.';
    e->segs = calloc(n, sizeof *e->segs);
    e->each = calloc(n, sizeof *e->each);
    if (!e->segs || !e->each) return "out of memory";
    const char *a = path;
    for (;;) {
        const char *z = strchr(a, '.');
        size_t len = z ? (size_t)(z - a) : strlen(a);
        bool each = len >= 2 && a[len - 2] == '[' && a[len - 1] == ']';
        if (each) len -= 2;
        if (!len) return "a key of the path is empty";
        if (memchr(a, '[', len) || memchr(a, ']', len)) return "'[]' may only end a key";
        char *k = malloc(len + 1);
        if (!k) return "out of memory";
        memcpy(k, a, len);
        k[len] = '\0';
        e->each[e->n_segs] = each;
        e->segs[e->n_segs++] = k;
        if (!z) break;
        a = z + 1;
    }
    return NULL;
}

/* The mapping of mapping_json (NULL: identity). SC_INVALID naming the entry. */
static sc_status jl__map_new(sc_records *rs, const char *mapping_json, jl_map *m) {
    memset(m, 0, sizeof *m);
    if (!mapping_json) {
        m->identity = true;
        return SC_OK;
    }
    json_error_t je;
    json_t *o = json_loads(mapping_json, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return records_fail(rs, SC_INVALID, "the mapping is not a JSON object of field: path (%s)",
                            o ? "another JSON value" : je.text);
    }
    sc_rec *scratch = NULL;
    sc_status rc = sc_rec_new(SC_REC_KIND_DOC, "mapping", "check", &scratch, NULL);
    m->e = calloc(json_object_size(o) + 1, sizeof *m->e);
    if (rc == SC_OK && !m->e) rc = SC_NOMEM;
    bool has_id = false;
    const char *target;
    json_t *v;
    json_object_foreach(o, target, v) {
        if (rc != SC_OK) break;
        jl_entry *e = &m->e[m->n++];
        const char *why = !json_is_string(v) ? "the path must be a string" : jl__target(e, target, scratch);
        if (!why) why = jl__path(e, json_string_value(v));
        if (why) rc = records_fail(rs, SC_INVALID, "mapping %s=%s: %s", target, json_is_string(v) ? json_string_value(v) : "?", why);
        has_id = has_id || e->what == JL_ID;
    }
    if (rc == SC_OK && !has_id) rc = records_fail(rs, SC_INVALID, "the mapping has no id (e.g. id=key): records need one");
    if (rc == SC_NOMEM) records_fail(rs, SC_NOMEM, "out of memory");
    sc_rec_free(scratch);
    json_decref(o);
    if (rc != SC_OK) jl__map_free(m);
    return rc;
}

/* The value at e's path in v (a new reference, or NULL when absent); "[]"
** keys map the rest over their arrays, flattening. */
static json_t *jl__get(const json_t *v, const jl_entry *e, size_t i) {
    if (i == e->n_segs) return json_incref((json_t *)v);
    const json_t *child = json_object_get(v, e->segs[i]);
    if (!child || json_is_null(child)) return NULL;
    if (!e->each[i]) return jl__get(child, e, i + 1);
    if (!json_is_array(child)) return NULL;
    json_t *out = json_array();
    size_t k;
    const json_t *x;
    json_array_foreach(child, k, x) {
        json_t *r = jl__get(x, e, i + 1);
        if (!r) continue;
        if (json_is_array(r) && i + 1 < e->n_segs) json_array_extend(out, r);
        else json_array_append(out, r);
        json_decref(r);
    }
    return out;
}

/* ==== Values ==== */

/* Set date field from v; false with *why. */
static bool jl__date(sc_rec *rec, const char *field, const json_t *v, const char **why) {
    if (json_is_string(v)) return src_set_date(rec, field, json_string_value(v), why);
    if (json_is_number(v)) {
        double t = json_number_value(v);
        if (t > 1e11 || t < -1e11) t /= 1000.0; /* milliseconds */
        if (sc_rec_set_date(rec, field, (int64_t)t) == SC_OK) return true;
        *why = sc_rec_errmsg(rec);
        return false;
    }
    *why = "expected a date (text or seconds since the epoch)";
    return false;
}

/* A scalar as link or keyword text into buf; false for other values. */
static bool jl__scalar_text(const json_t *v, char *buf, size_t size, const char **s) {
    if (json_is_string(v)) *s = json_string_value(v);
    else if (json_is_integer(v)) snprintf(buf, size, "%lld", (long long)json_integer_value(v)), *s = buf;
    else if (json_is_real(v)) snprintf(buf, size, "%.17g", json_real_value(v)), *s = buf;
    else if (json_is_true(v) || json_is_false(v)) *s = json_is_true(v) ? "true" : "false";
    else return false;
    return true;
}

/* Set field `name` of rec from v by its JSON type; SC_OK, or SC_INVALID with *why. */
static sc_status jl__set(sc_rec *rec, const char *name, bool date, const json_t *v, const char **why) {
    sc_status rc = SC_OK;
    char buf[64];
    const char *s;
    if (date) return jl__date(rec, name, v, why) ? SC_OK : SC_INVALID;
    switch (json_typeof(v)) {
    case JSON_STRING: rc = sc_rec_set_str(rec, name, json_string_value(v)); break;
    case JSON_INTEGER: rc = sc_rec_set_int(rec, name, (int64_t)json_integer_value(v)); break;
    case JSON_REAL: rc = sc_rec_set_num(rec, name, json_real_value(v)); break;
    case JSON_TRUE:
    case JSON_FALSE: rc = sc_rec_set_bool(rec, name, json_is_true(v)); break;
    case JSON_NULL: break;
    case JSON_ARRAY: {
        bool scalars = true;
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) scalars = scalars && (json_is_null(x) || jl__scalar_text(x, buf, sizeof buf, &s));
        if (!scalars) {
            rc = records_rec_set_value(rec, name, json_incref((json_t *)v));
            break;
        }
        json_array_foreach(v, i, x) if (rc == SC_OK && !json_is_null(x) && jl__scalar_text(x, buf, sizeof buf, &s))
            rc = sc_rec_add_keyword(rec, name, s);
        break;
    }
    case JSON_OBJECT: rc = records_rec_set_value(rec, name, json_incref((json_t *)v)); break;
    }
    if (rc != SC_OK) *why = sc_rec_errmsg(rec);
    return rc;
}

/* Add links rel -> v (a scalar or an array of them). */
static sc_status jl__links(sc_rec *rec, const char *rel, const json_t *v, const char **why) {
    char buf[64];
    const char *s;
    sc_status rc = SC_OK;
    if (jl__scalar_text(v, buf, sizeof buf, &s)) rc = sc_rec_add_link(rec, rel, s);
    else if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) if (rc == SC_OK && jl__scalar_text(x, buf, sizeof buf, &s))
            rc = sc_rec_add_link(rec, rel, s);
    } else if (!json_is_null(v)) {
        *why = "link targets must be strings or numbers";
        return SC_INVALID;
    }
    if (rc != SC_OK) *why = sc_rec_errmsg(rec);
    return rc;
}

/* ==== Lines ==== */

/* The record of object o (line `line`) into *out (NULL when malformed: reported). */
static sc_status jl__record(src_run *r, const jl_map *m, sc_rec_kind kind0, const json_t *o, const char *at,
                            sc_rec **out) {
    *out = NULL;
    char idbuf[64];
    const char *id = NULL, *why = NULL;
    sc_rec_kind kind = kind0;
    json_t *idv = NULL, *kv = NULL;
    if (m->identity) {
        idv = json_incref(json_object_get(o, "id"));
        kv = json_incref(json_object_get(o, "kind"));
    } else {
        for (size_t i = 0; i < m->n; i++) {
            if (m->e[i].what == JL_ID && !idv) idv = jl__get(o, &m->e[i], 0);
            if (m->e[i].what == JL_KIND && !kv) kv = jl__get(o, &m->e[i], 0);
        }
    }
    if (json_is_string(idv) && json_string_length(idv)) id = json_string_value(idv);
    else if (json_is_integer(idv)) snprintf(idbuf, sizeof idbuf, "%lld", (long long)json_integer_value(idv)), id = idbuf;
    if (!id) why = idv ? "the id is not a non-empty string or an integer" : "no id";
    else if (kv && (!json_is_string(kv) || sc_rec_kind_parse(json_string_value(kv), &kind) != SC_OK))
        why = "kind must be one of commit, issue, pr, comment, review, doc";
    sc_rec *rec = NULL;
    char *err = NULL;
    if (!why && sc_rec_new(kind, r->source, id, &rec, &err) != SC_OK) why = err ? err : "out of memory";
    sc_status rc = SC_OK;
    if (m->identity && rec) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)o, k, v) {
            if (why) break;
            if (!strcmp(k, "id") || !strcmp(k, "kind")) continue;
            if (!strcmp(k, "links") && json_is_object(v)) {
                const char *rel;
                json_t *t;
                json_object_foreach(v, rel, t) if (!why) jl__links(rec, rel, t, &why);
                continue;
            }
            if (!records_field_name_ok(k)) continue; /* keys that are not field names are left out */
            jl__set(rec, k, jl__date_name(k), v, &why);
        }
    }
    for (size_t i = 0; rec && !why && !m->identity && i < m->n; i++) {
        const jl_entry *e = &m->e[i];
        if (e->what == JL_ID || e->what == JL_KIND) continue;
        json_t *v = jl__get(o, e, 0);
        if (v && e->what == JL_LINK) jl__links(rec, e->name, v, &why);
        else if (v) jl__set(rec, e->name, e->date, v, &why);
        json_decref(v);
    }
    if (why) {
        src_malformed(r, at, -1, "%s", why);
        sc_rec_free(rec);
        rec = NULL;
    }
    sc_free(err);
    json_decref(idv);
    json_decref(kv);
    *out = rec;
    return rc;
}

/* Read one line of in into b (without its newline); false at the end of
** input. *too_long: the line was longer than max (b then holds nothing). */
static bool jl__line(FILE *in, util_buf *b, size_t max, bool *too_long, bool *oom) {
    char chunk[65536];
    b->len = 0;
    *too_long = false;
    bool any = false;
    while (fgets(chunk, sizeof chunk, in)) {
        any = true;
        size_t n = strlen(chunk);
        bool end = n && chunk[n - 1] == '\n';
        if (end) n--;
        if (!*too_long && b->len + n > max) {
            *too_long = true;
            b->len = 0;
        }
        if (!*too_long) util_buf_append(b, chunk, n);
        if (b->oom) *oom = true;
        if (end) break;
    }
    if (b->data) b->data[b->len] = '\0';
    return any;
}

sc_status sc_jsonl_ingest(sc_records *rs, FILE *in, const char *name, const char *mapping_json, sc_rec_kind kind,
                          const sc_source_options *opt, sc_source_summary *out) {
    if (!rs || !in) return SC_MISUSE;
    sc_source_summary sum;
    memset(&sum, 0, sizeof sum);
    src_run r;
    sc_source_options o = opt ? *opt : sc_source_options_default();
    o.from_dir = NULL; /* no HTTP, no folder */
    o.token_env = NULL;
    o.user = NULL;
    sc_status rc = src_begin(&r, rs, &o, &sum, NULL, 0); /* no headers: no HTTP client */
    const char *label = !name || !strcmp(name, "-") ? "<stdin>" : name;
    const char *base = strrchr(label, '/');
    if (r.opt.source) snprintf(r.source, sizeof r.source, "%s", r.opt.source);
    else snprintf(r.source, sizeof r.source, "jsonl:%.180s", !name || !strcmp(name, "-") ? "stdin" : base ? base + 1 : label);
    if ((unsigned)kind >= SC_REC_KIND_COUNT) rc = records_fail(rs, SC_INVALID, "record kind %d is not a kind", (int)kind);
    jl_map m;
    memset(&m, 0, sizeof m);
    if (rc == SC_OK) rc = jl__map_new(rs, mapping_json, &m);
    r.track = r.opt.full;
    sum.full = r.opt.full;
    util_buf line = {0};
    uint64_t lineno = 0;
    bool too_long = false, oom = false;
    char at[sizeof r.source + 64 + 4096];
    while (rc == SC_OK && jl__line(in, &line, SRC_MAX_LINE, &too_long, &oom)) {
        lineno++;
        if (oom) {
            rc = records_fail(rs, SC_NOMEM, "out of memory reading line %llu", (unsigned long long)lineno);
            break;
        }
        if ((rc = src_cancelled(&r)) != SC_OK) break;
        snprintf(at, sizeof at, "%.4000s:%llu", label, (unsigned long long)lineno);
        if (too_long) {
            src_malformed(&r, at, -1, "the line is longer than %zu bytes", SRC_MAX_LINE);
            continue;
        }
        size_t k = 0;
        while (k < line.len && (line.data[k] == ' ' || line.data[k] == '\t' || line.data[k] == '\r')) k++;
        if (k == line.len) continue; /* blank */
        json_error_t je;
        json_t *obj = json_loadb(line.data, line.len, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(obj)) {
            if (obj) src_malformed(&r, at, -1, "expected a JSON object");
            else src_malformed(&r, at, -1, "not JSON: %s (column %d)", je.text, je.column);
            json_decref(obj);
            continue;
        }
        sc_rec *rec = NULL;
        rc = jl__record(&r, &m, kind, obj, at, &rec);
        json_decref(obj);
        if (rc == SC_OK && rec) {
            sum.items++;
            rc = src_put(&r, rec);
        }
        sc_rec_free(rec);
        src_progress(&r, "lines", sum.items, 0, false);
    }
    if (rc == SC_OK && ferror(in)) rc = records_fail(rs, SC_IOERR, "reading %s: %s", label, strerror(errno));
    util_buf_free(&line);
    if (rc == SC_OK && r.opt.full && sum.malformed) {
        sum.removal_skipped = true;
    } else if (rc == SC_OK && r.opt.full) {
        static const sc_rec_kind kinds[] = {SC_REC_KIND_COMMIT, SC_REC_KIND_ISSUE, SC_REC_KIND_PR,
                                            SC_REC_KIND_COMMENT, SC_REC_KIND_REVIEW, SC_REC_KIND_DOC};
        rc = src_remove_unseen(&r, kinds, SC_REC_KIND_COUNT);
    }
    if (rc == SC_OK) rc = sc_records_flush(rs);
    else if (rc != SC_INVALID || lineno) sc_records_flush(rs); /* keep the lines read */
    jl__map_free(&m);
    src_end(&r);
    if (out) *out = sum;
    return rc;
}
