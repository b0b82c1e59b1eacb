/*
** records/rec.c: the record value (sc_rec): identity, typed fields and
** links, the checks on names and values, point ids, dates and the UTF-8
** clean-up every string goes through (commit messages in Latin-1 must not
** fail a run, and jansson only stores valid UTF-8).
*/
#include "records/records_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ==== Kinds ==== */

static const char *const rec__kind_names[SC_REC_KIND_COUNT] = {"commit", "issue", "pr", "comment", "review", "doc"};

const char *sc_rec_kind_name(sc_rec_kind kind) {
    return (unsigned)kind < SC_REC_KIND_COUNT ? rec__kind_names[kind] : "unknown";
}

sc_status sc_rec_kind_parse(const char *name, sc_rec_kind *out) {
    for (int k = 0; name && k < SC_REC_KIND_COUNT; k++)
        if (!strcmp(name, rec__kind_names[k])) {
            *out = (sc_rec_kind)k;
            return SC_OK;
        }
    return SC_INVALID;
}

/* ==== Point ids, dates, strings ==== */

sc_point_id records_point_id(const char *tenant, const char *source, const char *kind, const char *id) {
    /* fields separated by NUL bytes, so ("a", "bc") and ("ab", "c") differ */
    uint64_t h1 = 0x7265636f726473ULL, h2 = 0x646576656c6f70ULL;
    const char *parts[4] = {tenant, source, kind, id};
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(parts[i]) + 1;
        h1 = util_hash64(parts[i], n, h1);
        h2 = util_hash64(parts[i], n, h2 ^ 0x9e3779b97f4a7c15ULL);
    }
    sc_point_id p = {.kind = SC_ID_KIND_UUID};
    for (int i = 0; i < 8; i++) {
        p.uuid[i] = (uint8_t)(h1 >> (56 - 8 * i));
        p.uuid[8 + i] = (uint8_t)(h2 >> (56 - 8 * i));
    }
    p.uuid[6] = (uint8_t)((p.uuid[6] & 0x0f) | 0x80); /* version 8: vendor-specific (RFC 9562) */
    p.uuid[8] = (uint8_t)((p.uuid[8] & 0x3f) | 0x80); /* RFC variant */
    return p;
}

bool records_parse_date(const char *s, int64_t *out) {
    int64_t us;
    if (!s || !util_parse_datetime(s, strlen(s), &us)) return false;
    *out = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    return true;
}

void records_format_date(int64_t t, char *buf, size_t size) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm)) snprintf(buf, size, "1970-01-01T00:00:00Z");
}

char *records_clean_utf8(const char *s, size_t n, size_t max, bool *cut) {
    static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
    util_buf b = {0};
    const unsigned char *u = (const unsigned char *)s;
    bool was_cut = false;
    for (size_t i = 0; i < n;) {
        size_t l = u[i] < 0x80 ? 1 : util_utf8_decode(s + i, n - i, NULL);
        const char *piece = l ? s + i : repl;
        size_t pl = l ? l : 3;
        if (b.len + pl > max) {
            was_cut = true;
            break;
        }
        if (u[i] == 0) break; /* a NUL ends the text */
        util_buf_append(&b, piece, pl);
        i += l ? l : 1;
    }
    if (cut) *cut = was_cut;
    if (b.oom) {
        util_buf_free(&b);
        return NULL;
    }
    return b.data ? b.data : util_strdup("");
}

/* ==== Key sets ==== */

bool records_keyset_add(records_keyset *s, uint64_t k) {
    if (!util_grow(&s->k, &s->cap, s->n + 1, sizeof *s->k, 1024)) return false;
    s->k[s->n++] = k;
    return true;
}

static int rec__key_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void records_keyset_sort(records_keyset *s) {
    if (s->n) qsort(s->k, s->n, sizeof *s->k, rec__key_cmp);
}

bool records_keyset_has(const records_keyset *s, uint64_t k) {
    return s->n && bsearch(&k, s->k, s->n, sizeof k, rec__key_cmp) != NULL;
}

void records_keyset_free(records_keyset *s) {
    free(s->k);
    memset(s, 0, sizeof *s);
}

/* ==== The record ==== */

/* Record a failure on rec and return code. */
static sc_status rec__fail(sc_rec *rec, sc_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static sc_status rec__fail(sc_rec *rec, sc_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->errmsg, sizeof rec->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

/* A source or id: 1..max bytes, no control characters. NULL if fine, else why. */
static const char *rec__ident_problem(const char *s, size_t max) {
    if (!s || !*s) return "is empty";
    size_t n = strlen(s);
    if (n > max) return "is too long";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return "holds a control character";
    return NULL;
}

sc_status sc_rec_new(sc_rec_kind kind, const char *source, const char *id, sc_rec **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!out) return SC_MISUSE;
    *out = NULL;
    char msg[600];
    const char *why;
    if ((unsigned)kind >= SC_REC_KIND_COUNT) snprintf(msg, sizeof msg, "record kind %d is not one of the known kinds", (int)kind);
    else if ((why = rec__ident_problem(source, SC_REC_MAX_SOURCE)))
        snprintf(msg, sizeof msg, "record source '%.200s' %s (1..%d bytes, no control characters)", source ? source : "",
                 why, SC_REC_MAX_SOURCE);
    else if ((why = rec__ident_problem(id, SC_REC_MAX_ID)))
        snprintf(msg, sizeof msg, "record id '%.200s' %s (1..%d bytes, no control characters)", id ? id : "", why,
                 SC_REC_MAX_ID);
    else why = NULL;
    if ((unsigned)kind >= SC_REC_KIND_COUNT || why) {
        if (errmsg) *errmsg = util_strdup(msg);
        return SC_INVALID;
    }
    sc_rec *r = calloc(1, sizeof *r);
    if (r) {
        r->kind = kind;
        r->source = records_clean_utf8(source, strlen(source), SIZE_MAX, NULL);
        r->id = records_clean_utf8(id, strlen(id), SIZE_MAX, NULL);
        r->fields = json_object();
        r->links = json_object();
        r->cut = json_object();
    }
    if (!r || !r->source || !r->id || !r->fields || !r->links || !r->cut) {
        sc_rec_free(r);
        if (errmsg) *errmsg = util_strdup("out of memory");
        return SC_NOMEM;
    }
    *out = r;
    return SC_OK;
}

void sc_rec_free(sc_rec *rec) {
    if (!rec) return;
    free(rec->source);
    free(rec->id);
    json_decref(rec->fields);
    json_decref(rec->links);
    json_decref(rec->cut);
    free(rec);
}

const char *sc_rec_errmsg(const sc_rec *rec) { return rec ? rec->errmsg : "no record"; }

/* ==== Fields ==== */

/* Keys of the payload that belong to the record itself. */
static const char *const rec__reserved[] = {"tenant", "source", "kind", "id", "links", "truncated",
                                            "text_hash", "record_hash", "model", NULL};

/* Check a field or relation name; SC_OK or SC_INVALID with a message on rec. */
static sc_status rec__check_name(sc_rec *rec, const char *what, const char *name, bool field) {
    if (!rec) return SC_MISUSE;
    size_t n = name ? strlen(name) : 0;
    bool ok = n > 0 && n <= SC_REC_MAX_FIELD;
    for (size_t i = 0; ok && i < n; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_';
    if (!ok)
        return rec__fail(rec, SC_INVALID, "%s name '%.80s' must be 1..%d bytes of a-z, 0-9 and _", what, name ? name : "",
                         SC_REC_MAX_FIELD);
    for (int i = 0; field && rec__reserved[i]; i++)
        if (!strcmp(name, rec__reserved[i]))
            return rec__fail(rec, SC_INVALID, "field name '%s' is reserved for the record's own payload key", name);
    return SC_OK;
}

bool records_field_name_ok(const char *name) {
    size_t n = name ? strlen(name) : 0;
    bool ok = n > 0 && n <= SC_REC_MAX_FIELD;
    for (size_t i = 0; ok && i < n; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_';
    for (int i = 0; ok && rec__reserved[i]; i++) ok = strcmp(name, rec__reserved[i]) != 0;
    return ok;
}

/* Set field to v (stolen; NULL = out of memory). */
static sc_status rec__put(sc_rec *rec, const char *field, json_t *v) {
    if (!v || json_object_set_new(rec->fields, field, v) != 0) return rec__fail(rec, SC_NOMEM, "out of memory");
    json_object_del(rec->cut, field);
    return SC_OK;
}

sc_status sc_rec_set_str(sc_rec *rec, const char *field, const char *value) {
    sc_status rc = rec__check_name(rec, "field", field, true);
    if (rc != SC_OK) return rc;
    if (!value) {
        json_object_del(rec->fields, field);
        json_object_del(rec->cut, field);
        return SC_OK;
    }
    bool cut = false;
    char *s = records_clean_utf8(value, strlen(value), SC_REC_MAX_STRING, &cut);
    if (!s) return rec__fail(rec, SC_NOMEM, "out of memory");
    rc = rec__put(rec, field, json_string(s));
    free(s);
    if (rc == SC_OK && cut && json_object_set_new(rec->cut, field, json_true()) != 0)
        return rec__fail(rec, SC_NOMEM, "out of memory");
    return rc;
}

sc_status sc_rec_set_date(sc_rec *rec, const char *field, int64_t unix_seconds) {
    sc_status rc = rec__check_name(rec, "field", field, true);
    if (rc != SC_OK) return rc;
    /* years 0..9999: what RFC 3339 can write and the filters can read */
    if (unix_seconds < -62167219200LL || unix_seconds > 253402300799LL)
        return rec__fail(rec, SC_INVALID, "field '%s': date %lld is outside the years 0 to 9999", field,
                         (long long)unix_seconds);
    char buf[40];
    records_format_date(unix_seconds, buf, sizeof buf);
    return rec__put(rec, field, json_string(buf));
}

sc_status sc_rec_set_date_str(sc_rec *rec, const char *field, const char *value) {
    sc_status rc = rec__check_name(rec, "field", field, true);
    if (rc != SC_OK) return rc;
    int64_t t;
    if (!records_parse_date(value, &t))
        return rec__fail(rec, SC_INVALID,
                         "field '%s': '%.60s' is not a date (YYYY-MM-DD, optionally THH:MM[:SS] and a zone)", field,
                         value ? value : "(null)");
    return sc_rec_set_date(rec, field, t);
}

sc_status sc_rec_set_int(sc_rec *rec, const char *field, int64_t value) {
    sc_status rc = rec__check_name(rec, "field", field, true);
    return rc != SC_OK ? rc : rec__put(rec, field, json_integer((json_int_t)value));
}

sc_status sc_rec_set_num(sc_rec *rec, const char *field, double value) {
    sc_status rc = rec__check_name(rec, "field", field, true);
    if (rc != SC_OK) return rc;
    if (!isfinite(value)) return rec__fail(rec, SC_INVALID, "field '%s': %g is not a finite number", field, value);
    return rec__put(rec, field, json_real(value));
}

sc_status sc_rec_set_bool(sc_rec *rec, const char *field, bool value) {
    sc_status rc = rec__check_name(rec, "field", field, true);
    return rc != SC_OK ? rc : rec__put(rec, field, json_boolean(value));
}

/* Append a cleaned copy of value to the array obj[key] (made when missing). */
static sc_status rec__append(sc_rec *rec, json_t *obj, const char *key, const char *value, const char *what) {
    if (!value) return rec__fail(rec, SC_INVALID, "%s '%s': the value is NULL", what, key);
    json_t *arr = json_object_get(obj, key);
    if (arr && !json_is_array(arr)) return rec__fail(rec, SC_INVALID, "%s '%s' already holds a value that is not a list", what, key);
    if (arr && json_array_size(arr) >= SC_REC_MAX_ARRAY)
        return rec__fail(rec, SC_INVALID, "%s '%s' holds %d items already, the most a record keeps", what, key,
                         SC_REC_MAX_ARRAY);
    char *s = records_clean_utf8(value, strlen(value), SC_REC_MAX_STRING, NULL);
    json_t *v = s ? json_string(s) : NULL;
    free(s);
    if (!v) return rec__fail(rec, SC_NOMEM, "out of memory");
    if (!arr) {
        arr = json_array();
        if (!arr || json_object_set_new(obj, key, arr) != 0) {
            json_decref(v);
            return rec__fail(rec, SC_NOMEM, "out of memory");
        }
    }
    if (json_array_append_new(arr, v) != 0) return rec__fail(rec, SC_NOMEM, "out of memory");
    return SC_OK;
}

sc_status sc_rec_add_keyword(sc_rec *rec, const char *field, const char *value) {
    sc_status rc = rec__check_name(rec, "field", field, true);
    return rc != SC_OK ? rc : rec__append(rec, rec->fields, field, value, "field");
}

sc_status sc_rec_add_link(sc_rec *rec, const char *rel, const char *target) {
    sc_status rc = rec__check_name(rec, "link relation", rel, false);
    return rc != SC_OK ? rc : rec__append(rec, rec->links, rel, target, "link relation");
}

sc_status sc_rec_set_json(sc_rec *rec, const char *field, const char *json_text) {
    sc_status rc = rec__check_name(rec, "field", field, true);
    if (rc != SC_OK) return rc;
    json_error_t e;
    json_t *v = json_text ? json_loads(json_text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e) : NULL;
    if (!v)
        return rec__fail(rec, SC_INVALID, "field '%s': not JSON (%s at byte %d)", field,
                         json_text ? e.text : "NULL text", json_text ? e.position : 0);
    return rec__put(rec, field, v);
}

sc_status records_rec_set_value(sc_rec *rec, const char *field, json_t *v) {
    sc_status rc = rec__check_name(rec, "field", field, true);
    if (rc != SC_OK) {
        json_decref(v);
        return rc;
    }
    return rec__put(rec, field, v);
}
