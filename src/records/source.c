/*
** records/source.c: what the tracker and file sources share (source_int.h):
** options and the token, the HTTP client (net/) or the folder of saved
** answers, paged listings over either, malformed items reported with their
** position, progress, and the removal of what a full sync did not see.
**
** DESIGN
** - A listing reads the API by URL (the next one from the Link header, or
**   set by the connector: Jira's startAt) or a folder laid out like the
**   API's paths: rel.json, or rel.1.json, rel.2.json, ... So a saved run
**   and a live one go through the same connector code.
** - The token is read from the environment variable once, put in the
**   client's Authorization header and wiped there when the run ends; no
**   message, record or cursor holds it (net_redact masks it in answers).
** - A full sync keeps a 64-bit hash of every id it saw, per kind (8 bytes an
**   item), then walks the stored ids of the source and deletes the others.
**   Nothing is removed when an item was skipped as malformed: it may be one
**   that is still there. An incremental run's id sweep fills the same sets
**   from a listing of ids only (src_seen) and removes the same way.
*/
#include "records/source_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

sc_source_options sc_source_options_default(void) {
    sc_source_options o;
    memset(&o, 0, sizeof o);
    o.api_version = 2;
    o.timeout_ms = 30000;
    o.max_retries = 5;
    o.max_wait_s = 900;
    return o;
}

/* The key of an id in the seen sets. */
static uint64_t src__key(const char *id) { return util_hash64(id, strlen(id), 0x5eed); }

/* ==== The run ==== */

/* Told by the HTTP client before it waits (rate limit or backoff). */
static void src__on_wait(void *arg, const char *why, double seconds) {
    src_run *r = arg;
    if (!r->opt.progress) return;
    sc_source_progress p = {"wait", r->sum->items, 0, util_now() - r->t0, why, seconds};
    r->opt.progress(r->opt.progress_arg, &p);
}

sc_status src_begin(src_run *r, sc_records *rs, const sc_source_options *opt, sc_source_summary *sum,
                    const char *const *headers, size_t n_headers) {
    memset(r, 0, sizeof *r);
    r->rs = rs;
    r->sum = sum;
    r->t0 = r->last_progress = util_now();
    r->opt = opt ? *opt : sc_source_options_default();
    sc_source_options d = sc_source_options_default();
    if (!r->opt.api_version) r->opt.api_version = d.api_version;
    if (!r->opt.timeout_ms) r->opt.timeout_ms = d.timeout_ms;
    if (!r->opt.max_retries && !r->opt.retries_set) r->opt.max_retries = d.max_retries;
    if (!r->opt.max_wait_s) r->opt.max_wait_s = d.max_wait_s;
    sc_records_stats st = sc_records_get_stats(rs);
    r->written0 = st.written;
    r->unchanged0 = st.unchanged;
    r->deleted0 = st.deleted;
    if (!headers) return SC_OK; /* a local source (JSON Lines) */
    if (r->opt.from_dir) {
        struct stat sb;
        if (stat(r->opt.from_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return records_fail(rs, SC_NOTFOUND, "--from-dir %s: not a folder (%s)", r->opt.from_dir,
                                stat(r->opt.from_dir, &sb) != 0 ? strerror(errno) : "a file");
        return SC_OK;
    }
    const char *token = NULL;
    if (r->opt.token_env) {
        token = getenv(r->opt.token_env);
        if (!token || !*token)
            return records_fail(rs, SC_INVALID, "the token variable %s is not set (or empty)", r->opt.token_env);
    }
    if (r->opt.user && !token)
        return records_fail(rs, SC_INVALID, "user %s needs a token (the API token of that user) in --token-env",
                            r->opt.user);
    char *auth = NULL;
    if (token && r->opt.user) {
        auth = net_basic_auth(r->opt.user, token);
    } else if (token) {
        size_t n = strlen(token) + sizeof "Authorization: Bearer ";
        if ((auth = malloc(n))) snprintf(auth, n, "Authorization: Bearer %s", token);
    }
    if (token && !auth) return records_fail(rs, SC_NOMEM, "out of memory");
    net_options no = net_options_default();
    no.timeout_ms = r->opt.timeout_ms;
    no.max_retries = r->opt.max_retries;
    no.max_wait_s = r->opt.max_wait_s;
    no.headers = headers;
    no.n_headers = n_headers;
    no.auth_header = auth;
    no.secret = token;
    no.cancel = r->opt.cancel;
    no.on_wait = src__on_wait;
    no.wait_arg = r;
    sc_err err = {0};
    sc_status rc = net_client_new(&no, &r->net, &err);
    if (auth) memset(auth, 0, strlen(auth));
    free(auth);
    return rc == SC_OK ? SC_OK : records_fail(rs, rc, "%s", err.msg);
}

void src_end(src_run *r) {
    sc_records_stats st = sc_records_get_stats(r->rs);
    r->sum->written = st.written - r->written0;
    r->sum->unchanged = st.unchanged - r->unchanged0;
    r->sum->removed = st.deleted - r->deleted0;
    if (r->net) {
        net_stats ns = net_client_stats(r->net);
        r->sum->requests = ns.requests;
        r->sum->retries = ns.retries;
        r->sum->rate_waits = ns.rate_waits;
        r->sum->seconds_waited = ns.seconds_waited;
    }
    r->sum->seconds = util_now() - r->t0;
    snprintf(r->sum->source, sizeof r->sum->source, "%s", r->source);
    if (r->opt.progress) {
        sc_source_progress p = {"done", r->sum->items, r->sum->items, r->sum->seconds, NULL, 0};
        r->opt.progress(r->opt.progress_arg, &p);
    }
    net_client_free(r->net);
    r->net = NULL;
    for (int k = 0; k < SC_REC_KIND_COUNT; k++) records_keyset_free(&r->seen[k]);
}

sc_status src_cancelled(src_run *r) {
    if (!r->opt.cancel || !__atomic_load_n(r->opt.cancel, __ATOMIC_RELAXED)) return SC_OK;
    return records_fail(r->rs, SC_INTERRUPTED, "interrupted after %llu items; what was read is kept",
                        (unsigned long long)r->sum->items);
}

void src_malformed(src_run *r, const char *where, long item, const char *fmt, ...) {
    r->sum->malformed++;
    if (!r->opt.report) return;
    char msg[600], at[2400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (item >= 0) snprintf(at, sizeof at, "%s item %ld", where, item);
    else snprintf(at, sizeof at, "%s", where);
    r->opt.report(r->opt.report_arg, at, msg);
}

void src_progress(src_run *r, const char *stage, uint64_t items, uint64_t total, bool force) {
    if (!r->opt.progress) return;
    double now = util_now();
    if (!force && now - r->last_progress < 0.25) return;
    r->last_progress = now;
    sc_source_progress p = {stage, items, total, now - r->t0, NULL, 0};
    r->opt.progress(r->opt.progress_arg, &p);
}

sc_status src_put(src_run *r, const sc_rec *rec) {
    if (r->track && !records_keyset_add(&r->seen[rec->kind], src__key(rec->id)))
        return records_fail(r->rs, SC_NOMEM, "out of memory");
    return sc_records_put(r->rs, rec);
}

sc_status src_seen(src_run *r, sc_rec_kind kind, const char *id) {
    return records_keyset_add(&r->seen[kind], src__key(id)) ? SC_OK : records_fail(r->rs, SC_NOMEM, "out of memory");
}

bool src_may_remove(src_run *r) {
    if (r->sum->malformed || r->pages_skipped) r->sum->removal_skipped = true;
    return !r->sum->removal_skipped;
}

/* A removal going through the stored ids of one kind. */
typedef struct src_del {
    src_run *r;          /* the run */
    const records_keyset *keep; /* ids seen */
    sc_rec_kind kind;    /* kind walked */
    sc_status rc;        /* first failure */
    uint64_t n;          /* deleted */
} src_del;

static bool src__del_unseen(void *arg, const char *id) {
    src_del *d = arg;
    if (records_keyset_has(d->keep, src__key(id))) return true;
    d->rc = sc_records_delete(d->r->rs, d->kind, d->r->source, id);
    if (d->rc == SC_OK && ++d->n % 10000 == 0) d->rc = sc_records_flush(d->r->rs);
    return d->rc == SC_OK;
}

sc_status src_remove_unseen(src_run *r, const sc_rec_kind *kinds, size_t n) {
    sc_status rc = sc_records_flush(r->rs); /* what was put is stored before anything goes */
    src_progress(r, "remove", r->sum->items, 0, true);
    for (size_t i = 0; rc == SC_OK && i < n; i++) {
        records_keyset *s = &r->seen[kinds[i]];
        records_keyset_sort(s);
        src_del d = {r, s, kinds[i], SC_OK, 0};
        rc = sc_records_each_id(r->rs, kinds[i], r->source, src__del_unseen, &d);
        if (rc == SC_OK) rc = d.rc;
        r->n_unseen_removed += d.n;
    }
    return rc == SC_OK ? sc_records_flush(r->rs) : rc;
}

/* A removal of the records whose parent was not seen. */
typedef struct src_orphans {
    src_run *r;                 /* the run */
    sc_rec_kind kind;           /* kind walked */
    const sc_rec_kind *parents; /* kinds of the parent */
    size_t n_parents;           /* their number */
    sc_status rc;               /* first failure */
    uint64_t n;                 /* deleted */
} src_orphans;

static bool src__del_orphan(void *arg, const char *id, const json_t *value) {
    src_orphans *o = arg;
    char parent[64];
    if (json_is_integer(value)) snprintf(parent, sizeof parent, "%lld", (long long)json_integer_value(value));
    else if (json_is_string(value)) snprintf(parent, sizeof parent, "%.63s", json_string_value(value));
    else return true; /* no parent named: left alone */
    uint64_t k = src__key(parent);
    for (size_t i = 0; i < o->n_parents; i++)
        if (records_keyset_has(&o->r->seen[o->parents[i]], k)) return true;
    o->rc = sc_records_delete(o->r->rs, o->kind, o->r->source, id);
    if (o->rc == SC_OK && ++o->n % 10000 == 0) o->rc = sc_records_flush(o->r->rs);
    return o->rc == SC_OK;
}

sc_status src_remove_orphans(src_run *r, sc_rec_kind kind, const char *field, const sc_rec_kind *parents,
                             size_t n_parents) {
    for (size_t i = 0; i < n_parents; i++) records_keyset_sort(&r->seen[parents[i]]);
    src_orphans o = {r, kind, parents, n_parents, SC_OK, 0};
    sc_status rc = records_each_field(r->rs, kind, r->source, field, src__del_orphan, &o);
    if (rc == SC_OK) rc = o.rc;
    r->n_unseen_removed += o.n;
    return rc == SC_OK ? sc_records_flush(r->rs) : rc;
}

/* ==== Listings ==== */

sc_status src_list_open(src_list *l, src_run *r, const char *rel, const char *query) {
    memset(l, 0, sizeof *l);
    l->r = r;
    if (!(l->rel = util_strdup(rel))) return records_fail(r->rs, SC_NOMEM, "out of memory");
    if (r->net) {
        util_buf b = {0};
        util_buf_printf(&b, "%s/%s%s%s", r->api, rel, query && *query ? "?" : "", query ? query : "");
        if (b.oom) {
            util_buf_free(&b);
            return records_fail(r->rs, SC_NOMEM, "out of memory");
        }
        l->next = b.data;
    }
    return SC_OK;
}

void src_list_close(src_list *l) {
    free(l->rel);
    free(l->next);
    free(l->first_etag);
    memset(l, 0, sizeof *l);
}

sc_status src_list_set_next(src_list *l, const char *url) {
    if (!l->r->net) return SC_OK;
    free(l->next);
    l->next = NULL;
    if (url && !(l->next = util_strdup(url))) return records_fail(l->r->rs, SC_NOMEM, "out of memory");
    return SC_OK;
}

/* Read the page file at path (SC_NOTFOUND when missing; a file that is not
** JSON is reported and read as JSON null). */
static sc_status src__load(src_list *l, const char *path, json_t **page) {
    struct stat sb;
    if (stat(path, &sb) != 0) return SC_NOTFOUND;
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        char at[2300];
        snprintf(at, sizeof at, "%s:%d", path, je.line);
        src_malformed(l->r, at, -1, "the page is not JSON (%s, column %d); its items are skipped", je.text, je.column);
        l->r->pages_skipped++;
        j = json_null();
    }
    *page = j;
    return SC_OK;
}

/* Next page of a folder listing (SC_NOTFOUND after the last). */
static sc_status src__next_file(src_list *l, json_t **page) {
    const char *dir = l->r->opt.from_dir;
    sc_status rc;
    if (l->page == 0) {
        snprintf(l->where, sizeof l->where, "%s/%s.json", dir, l->rel);
        rc = src__load(l, l->where, page);
        if (rc == SC_OK) {
            l->single = true;
            return SC_OK;
        }
        if (rc != SC_NOTFOUND) return rc;
    }
    if (l->single) return SC_NOTFOUND;
    snprintf(l->where, sizeof l->where, "%s/%s.%u.json", dir, l->rel, l->page + 1);
    return src__load(l, l->where, page);
}

sc_status src_list_next(src_list *l, json_t **page, bool required) {
    *page = NULL;
    if (l->done) return SC_OK;
    src_run *r = l->r;
    sc_status rc = src_cancelled(r);
    if (rc != SC_OK) return rc;
    if (!r->net) {
        rc = src__next_file(l, page);
        if (rc == SC_NOTFOUND && l->page == 0 && required)
            return records_fail(r->rs, SC_NOTFOUND, "%s/%s.json (or %s.1.json, ...): no saved answers there",
                                r->opt.from_dir, l->rel, l->rel);
        if (rc == SC_NOTFOUND) {
            l->done = true;
            return SC_OK;
        }
        if (rc == SC_OK) {
            l->page++;
            r->sum->pages++;
        }
        return rc;
    }
    if (!l->next) {
        l->done = true;
        return SC_OK;
    }
    snprintf(l->where, sizeof l->where, "%s", l->next);
    net_response resp;
    sc_err err = {0};
    rc = net_get_json_if(r->net, l->next, l->page == 0 ? l->if_none_match : NULL, &resp, &err);
    if (rc == SC_OK && resp.status == 304) { /* the first page did not change since the ETag: nothing to read */
        if (!r->server_start) r->server_start = resp.date;
        net_response_free(&resp);
        l->not_modified = true;
        l->done = true;
        return SC_OK;
    }
    if (rc == SC_OK && l->page == 0 && resp.etag) {
        l->first_etag = resp.etag; /* taken over */
        resp.etag = NULL;
    }
    if (rc == SC_CORRUPT) { /* answered, never in JSON: report, pass over it */
        src_malformed(r, l->where, -1, "%s; its items are skipped", err.msg);
        r->pages_skipped++;
        resp.json = json_null();
        rc = SC_OK;
    }
    if (rc != SC_OK) return records_fail(r->rs, rc, "%s", err.msg);
    if (!r->server_start) r->server_start = resp.date;
    free(l->next);
    l->next = resp.next_url; /* taken over */
    resp.next_url = NULL;
    *page = resp.json;
    resp.json = NULL;
    net_response_free(&resp);
    l->page++;
    r->sum->pages++;
    return SC_OK;
}

sc_status src_each(src_run *r, const char *rel, const char *query, const char *what, src_item_fn fn, void *arg) {
    src_list l;
    sc_status rc = src_list_open(&l, r, rel, query);
    json_t *page = NULL;
    while (rc == SC_OK && (rc = src_list_next(&l, &page, false)) == SC_OK && page) {
        if (!json_is_array(page) && !json_is_null(page)) src_malformed(r, l.where, -1, "expected a JSON array of %s", what);
        size_t i;
        json_t *it;
        json_array_foreach(page, i, it) {
            if ((rc = fn(arg, it, l.where, (long)i)) != SC_OK) break;
        }
        json_decref(page);
    }
    src_list_close(&l);
    return rc;
}

sc_status src_write_cursor(src_run *r, json_t *c, int64_t max_updated, int64_t old_since) {
    if (r->pages_skipped) {
        max_updated = 0; /* items of the skipped pages were not read: do not move past them */
        if (c) json_object_set_new(c, "synced", json_false());
    }
    int64_t next = r->pages_skipped ? 0 : max_updated;
    if (next && r->server_start && r->server_start < next) next = r->server_start;
    if (!next && r->opt.full) next = r->server_start;
    if (!next) next = old_since;
    char when[40] = "";
    if (next) records_format_date(next, when, sizeof when);
    snprintf(r->sum->since, sizeof r->sum->since, "%s", when);
    if (c && *when) json_object_set_new(c, "since", json_string(when));
    char *text = c ? json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(c);
    sc_status rc = text ? sc_records_set_cursor(r->rs, r->source, text) : records_fail(r->rs, SC_NOMEM, "out of memory");
    free(text);
    return rc;
}

/* ==== Helpers ==== */

const char *src_str(const json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

const char *src_str2(const json_t *o, const char *a, const char *b) {
    return json_string_value(json_object_get(json_object_get(o, a), b));
}

sc_status src_set_str(sc_rec *rec, const char *field, const char *v) {
    return v && *v ? sc_rec_set_str(rec, field, v) : SC_OK;
}

bool src_set_date(sc_rec *rec, const char *field, const char *v, const char **why) {
    if (!v) return true;
    if (sc_rec_set_date_str(rec, field, v) == SC_OK) return true;
    *why = sc_rec_errmsg(rec);
    return false;
}

sc_status src_add_names(sc_rec *rec, const char *field, const json_t *arr, const char *name_key) {
    size_t i;
    const json_t *v;
    sc_status rc = SC_OK;
    json_array_foreach(arr, i, v) {
        const char *s = json_is_string(v) ? json_string_value(v) : src_str(v, name_key);
        if (s && *s && rc == SC_OK) rc = sc_rec_add_keyword(rec, field, s);
    }
    return rc;
}

void src_texts_add(src_texts *x, const char *who, const char *text) {
    if (!text || !*text) return;
    util_buf b = {0};
    if (who && *who) util_buf_printf(&b, "%s: ", who);
    size_t n = strlen(text);
    util_buf_append(&b, text, n);
    if (b.oom) {
        util_buf_free(&b);
        return;
    }
    char *t = records_clean_utf8(b.data, b.len, SRC_TEXT_BYTES, NULL);
    util_buf_free(&b);
    if (!t) return;
    x->total++;
    if (x->n < SRC_KEEP_TEXTS) {
        x->t[(x->first + x->n++) % SRC_KEEP_TEXTS] = t;
    } else { /* full: the oldest goes */
        free(x->t[x->first]);
        x->t[x->first] = t;
        x->first = (x->first + 1) % SRC_KEEP_TEXTS;
    }
}

sc_status src_texts_put(src_texts *x, sc_rec *rec, const char *field) {
    sc_status rc = SC_OK;
    for (size_t i = 0; i < x->n && rc == SC_OK; i++) rc = sc_rec_add_keyword(rec, field, x->t[(x->first + i) % SRC_KEEP_TEXTS]);
    src_texts_free(x);
    return rc;
}

void src_texts_free(src_texts *x) {
    for (size_t i = 0; i < x->n; i++) free(x->t[(x->first + i) % SRC_KEEP_TEXTS]);
    memset(x, 0, sizeof *x);
}
