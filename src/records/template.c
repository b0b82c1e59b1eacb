/*
** records/template.c: the text templates of records, one per kind and
** named vector (content, summary, metadata). The language (records.h):
** literal text and {field} placeholders, {f|N} / {f|-N} for the first /
** last N items of an array one per line, "{{" and "}}" for braces; a line whose
** placeholders are all empty is dropped, so "labels: {labels}" vanishes
** from a record without labels. Templates are parsed once into lines of
** segments, then rendered per record without allocation beyond the text.
*/
#include "records/records_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const records_vec_names[RECORDS_VEC_COUNT] = {"content", "summary", "metadata"};

/* ==== Defaults ==== */

/* The default templates, [kind][vector] (docs/ARCHITECTURE.md lists them). */
static const char *const tpl__defaults[SC_REC_KIND_COUNT][RECORDS_VEC_COUNT] = {
    [SC_REC_KIND_COMMIT] = {"{subject}\n{body}\n{paths|20}", "{subject}",
                            "{kind} {merge}\nauthor {author}\n{dirs}"},
    [SC_REC_KIND_ISSUE] = {"{title}\n{body}\n{custom|50}\n{comments|-5}\nlabels: {labels}", "{title}",
                           "{kind} {state} {priority} {type}\nlabels: {labels}\ncomponents: {components}"},
    [SC_REC_KIND_PR] = {"{title}\n{body}\n{review_comments|-3}\nlabels: {labels}", "{title}",
                        "{kind} {state} {merged}\nlabels: {labels}"},
    [SC_REC_KIND_COMMENT] = {"{body}", "{title}", "{kind} {author}"},
    [SC_REC_KIND_REVIEW] = {"{body}\n{path}", "{title}", "{kind} {state} {author}"},
    [SC_REC_KIND_DOC] = {"{title}\n{body}\n{text}", "{title}", "{kind} {state} {type}\nlabels: {labels}"},
};

/* ==== Parsed form ==== */

typedef struct tpl_seg {
    char *text;     /* owned: literal text, or the field name */
    bool field;     /* a placeholder */
    int32_t slice;  /* placeholders: 0 = whole value, N > 0 first N items, N < 0 last -N items */
} tpl_seg;

typedef struct tpl_line {
    tpl_seg *segs;  /* segments in order */
    size_t n, cap;  /* used, allocated */
    bool has_field; /* holds a placeholder (then dropped when they are all empty) */
} tpl_line;

typedef struct tpl_one {
    tpl_line *lines; /* lines in order */
    size_t n, cap;   /* used, allocated */
} tpl_one;

struct records_templates {
    tpl_one t[SC_REC_KIND_COUNT][RECORDS_VEC_COUNT]; /* parsed templates */
    uint64_t hash;                                  /* fingerprint of their sources */
};

static void tpl__one_free(tpl_one *o) {
    for (size_t i = 0; i < o->n; i++) {
        for (size_t j = 0; j < o->lines[i].n; j++) free(o->lines[i].segs[j].text);
        free(o->lines[i].segs);
    }
    free(o->lines);
    memset(o, 0, sizeof *o);
}

void records_templates_free(records_templates *t) {
    if (!t) return;
    for (int k = 0; k < SC_REC_KIND_COUNT; k++)
        for (int v = 0; v < RECORDS_VEC_COUNT; v++) tpl__one_free(&t->t[k][v]);
    free(t);
}

/* Append a segment to the last line of o (text[0..n) copied). */
static bool tpl__push(tpl_one *o, const char *text, size_t n, bool field, int32_t slice) {
    tpl_line *l = &o->lines[o->n - 1];
    if (!field && n == 0) return true;
    if (!util_grow(&l->segs, &l->cap, l->n + 1, sizeof *l->segs, 4)) return false;
    char *s = malloc(n + 1);
    if (!s) return false;
    memcpy(s, text, n);
    s[n] = '\0';
    l->segs[l->n++] = (tpl_seg){s, field, slice};
    if (field) l->has_field = true;
    return true;
}

static bool tpl__new_line(tpl_one *o) {
    if (!util_grow(&o->lines, &o->cap, o->n + 1, sizeof *o->lines, 4)) return false;
    memset(&o->lines[o->n++], 0, sizeof *o->lines);
    return true;
}

/* Parse the placeholder starting after the '{' at src[*i]; on success *i is
** past its '}'. Returns NULL or the reason it is malformed. */
static const char *tpl__placeholder(tpl_one *o, const char *src, size_t *i, bool *oom) {
    size_t a = *i, z = a;
    while (src[z] && ((src[z] >= 'a' && src[z] <= 'z') || (src[z] >= '0' && src[z] <= '9') || src[z] == '_')) z++;
    if (z == a) return "a placeholder needs a field name of a-z, 0-9 and _";
    if (z - a > SC_REC_MAX_FIELD) return "the field name is too long";
    int32_t slice = 0;
    size_t e = z;
    if (src[e] == '|') {
        e++;
        bool neg = src[e] == '-';
        if (neg) e++;
        long v = 0;
        size_t d = e;
        while (src[e] >= '0' && src[e] <= '9' && v <= 100000) v = v * 10 + (src[e++] - '0');
        if (e == d || v == 0 || v > 100000) return "after '|' comes a count of items, 1 to 100000 (or -N for the last N)";
        slice = (int32_t)(neg ? -v : v);
    }
    if (src[e] != '}') return "the placeholder is not closed by '}'";
    if (!tpl__push(o, src + a, z - a, true, slice)) {
        *oom = true;
        return "out of memory";
    }
    *i = e + 1;
    return NULL;
}

/* Parse one template; SC_OK, or SC_INVALID / SC_NOMEM with err naming where. */
static sc_status tpl__parse(tpl_one *o, const char *src, const char *kind, const char *vec, sc_err *err) {
    if (!tpl__new_line(o)) return sc_err_set(err, SC_NOMEM, "out of memory");
    size_t i = 0, lit = 0;
    while (src[i]) {
        char c = src[i];
        if (c == '}' && src[i + 1] == '}') { /* "}}": a literal brace */
            if (!tpl__push(o, src + lit, i + 1 - lit, false, 0)) return sc_err_set(err, SC_NOMEM, "out of memory");
            i += 2;
            lit = i;
            continue;
        }
        if (c == '\n' || c == '{') {
            if (!tpl__push(o, src + lit, i - lit, false, 0)) return sc_err_set(err, SC_NOMEM, "out of memory");
            if (c == '\n') {
                if (!tpl__new_line(o)) return sc_err_set(err, SC_NOMEM, "out of memory");
                lit = ++i;
                continue;
            }
            if (src[i + 1] == '{') { /* "{{": a literal brace */
                lit = i + 1;
                i += 2;
                continue;
            }
            size_t at = i++;
            bool oom = false;
            const char *why = tpl__placeholder(o, src, &i, &oom);
            if (why)
                return sc_err_set(err, oom ? SC_NOMEM : SC_INVALID, "templates.%s.%s: %s (byte %zu)", kind, vec, why, at);
            lit = i;
            continue;
        }
        i++;
    }
    if (!tpl__push(o, src + lit, i - lit, false, 0)) return sc_err_set(err, SC_NOMEM, "out of memory");
    return SC_OK;
}

/* The sources chosen: defaults, with the overrides of templates_json. */
static sc_status tpl__sources(const json_t *over, const char *src[SC_REC_KIND_COUNT][RECORDS_VEC_COUNT], sc_err *err) {
    for (int k = 0; k < SC_REC_KIND_COUNT; k++)
        for (int v = 0; v < RECORDS_VEC_COUNT; v++) src[k][v] = tpl__defaults[k][v];
    if (!over) return SC_OK;
    if (!json_is_object(over)) return sc_err_set(err, SC_INVALID, "templates: expected a JSON object of record kinds");
    const char *kname;
    json_t *kv;
    json_object_foreach((json_t *)over, kname, kv) {
        sc_rec_kind kind;
        if (sc_rec_kind_parse(kname, &kind) != SC_OK)
            return sc_err_set(err, SC_INVALID,
                              "templates: unknown record kind '%.60s' (expected commit, issue, pr, comment, review, doc)",
                              kname);
        if (!json_is_object(kv))
            return sc_err_set(err, SC_INVALID, "templates.%s: expected an object of content, summary, metadata", kname);
        const char *vname;
        json_t *tv;
        json_object_foreach(kv, vname, tv) {
            int v = 0;
            while (v < RECORDS_VEC_COUNT && strcmp(vname, records_vec_names[v])) v++;
            if (v == RECORDS_VEC_COUNT)
                return sc_err_set(err, SC_INVALID,
                                  "templates.%s: unknown vector '%.60s' (expected content, summary, metadata)", kname, vname);
            if (!json_is_string(tv)) return sc_err_set(err, SC_INVALID, "templates.%s.%s: expected a string", kname, vname);
            src[kind][v] = json_string_value(tv);
        }
    }
    return SC_OK;
}

records_templates *records_templates_new(const char *templates_json, sc_err *err) {
    json_t *over = NULL;
    if (templates_json) {
        json_error_t je;
        over = json_loads(templates_json, JSON_REJECT_DUPLICATES, &je);
        if (!over) {
            sc_err_set(err, SC_INVALID, "templates: not JSON (%s at line %d)", je.text, je.line);
            return NULL;
        }
    }
    const char *src[SC_REC_KIND_COUNT][RECORDS_VEC_COUNT];
    records_templates *t = calloc(1, sizeof *t);
    sc_status rc = t ? tpl__sources(over, src, err) : sc_err_set(err, SC_NOMEM, "out of memory");
    if (t) t->hash = util_mix64(RECORDS_TEMPLATE_VERSION);
    for (int k = 0; rc == SC_OK && k < SC_REC_KIND_COUNT; k++)
        for (int v = 0; rc == SC_OK && v < RECORDS_VEC_COUNT; v++) {
            rc = tpl__parse(&t->t[k][v], src[k][v], sc_rec_kind_name((sc_rec_kind)k), records_vec_names[v], err);
            t->hash = util_hash64(src[k][v], strlen(src[k][v]) + 1, t->hash);
        }
    json_decref(over);
    if (rc != SC_OK) {
        records_templates_free(t);
        return NULL;
    }
    return t;
}

uint64_t records_templates_hash(const records_templates *t) { return t->hash; }

/* ==== Rendering ==== */

/* Append the text of scalar v (field `name`): strings as they are, numbers
** as written, true as the field's name; nothing for false, null, objects.
** Returns whether something was appended. */
static bool tpl__scalar(util_buf *b, const json_t *v, const char *name) {
    char num[48];
    switch (json_typeof(v)) {
    case JSON_STRING:
        if (!json_string_length(v)) return false;
        util_buf_append(b, json_string_value(v), json_string_length(v));
        return true;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" PRId64, (int64_t)json_integer_value(v));
        util_buf_puts(b, num);
        return true;
    case JSON_REAL:
        snprintf(num, sizeof num, "%.15g", json_real_value(v));
        util_buf_puts(b, num);
        return true;
    case JSON_TRUE: util_buf_puts(b, name); return true;
    default: return false;
    }
}

/* Append the value of placeholder s of rec; whether something was appended. */
static bool tpl__value(util_buf *b, const sc_rec *rec, const tpl_seg *s) {
    if (!strcmp(s->text, "id")) return util_buf_puts(b, rec->id), *rec->id != '\0';
    if (!strcmp(s->text, "kind")) return util_buf_puts(b, sc_rec_kind_name(rec->kind)), true;
    if (!strcmp(s->text, "source")) return util_buf_puts(b, rec->source), true;
    const json_t *v = json_object_get(rec->fields, s->text);
    if (!v) return false;
    if (!json_is_array(v)) return tpl__scalar(b, v, s->text);
    size_t n = json_array_size(v), from = 0, to = n;
    if (s->slice > 0 && (size_t)s->slice < n) to = (size_t)s->slice;
    if (s->slice < 0 && (size_t)-s->slice < n) from = n - (size_t)-s->slice;
    const char *sep = s->slice ? "\n" : ", ";
    bool any = false;
    for (size_t i = from; i < to; i++) {
        size_t mark = b->len;
        if (any) util_buf_puts(b, sep);
        if (tpl__scalar(b, json_array_get(v, i), s->text)) any = true;
        else if (b->data) b->data[b->len = mark] = '\0'; /* take the separator back */
    }
    return any;
}

char *records_render(const records_templates *t, const sc_rec *rec, records_vec vec) {
    const tpl_one *o = &t->t[rec->kind][vec];
    util_buf out = {0};
    for (size_t i = 0; i < o->n; i++) {
        const tpl_line *l = &o->lines[i];
        size_t mark = out.len;
        bool filled = false;
        for (size_t j = 0; j < l->n; j++) {
            if (!l->segs[j].field) util_buf_puts(&out, l->segs[j].text);
            else if (tpl__value(&out, rec, &l->segs[j])) filled = true;
        }
        while (out.len > mark && (out.data[out.len - 1] == ' ' || out.data[out.len - 1] == '\t')) out.len--;
        if ((l->has_field && !filled) || out.len == mark) {
            out.len = mark; /* a line of empty placeholders, or an empty line: dropped */
        } else {
            util_buf_puts(&out, "\n");
        }
        if (out.data) out.data[out.len] = '\0';
    }
    while (out.len && (out.data[out.len - 1] == '\n' || out.data[out.len - 1] == ' ')) out.data[--out.len] = '\0';
    if (out.oom) {
        util_buf_free(&out);
        return NULL;
    }
    return out.data ? out.data : util_strdup("");
}
