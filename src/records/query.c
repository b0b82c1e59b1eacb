/*
** records/query.c: reading records back. Search by meaning and words (the
** dense leg on the "content" vector, the BM25 leg on the content text,
** fused by the same reciprocal-rank fusion as the server's hybrid text
** queries: rank.h's SC_HYBRID_*; the code-aware ranking stage does not
** apply, its features are those of code entities), the records linked to
** given targets (`semcode history`), filters on kind, source, author and
** dates, hits and their JSON.
*/
#include "records/records_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Sections ==== */

static const char *const q__sections[] = {"commits", "issues", "prs", "docs"};

const char *const *sc_rec_sections(size_t *n) {
    *n = sizeof q__sections / sizeof *q__sections;
    return q__sections;
}

sc_status sc_rec_query_set_section(sc_rec_query *q, const char *section, sc_rec_kind *kinds) {
    /* comments and reviews say what they belong to in "on" (issue or pr) */
    static const char issues_f[] = "{\"should\":[{\"key\":\"kind\",\"match\":{\"value\":\"issue\"}},"
                                   "{\"key\":\"on\",\"match\":{\"value\":\"issue\"}}]}";
    static const char prs_f[] = "{\"should\":[{\"key\":\"kind\",\"match\":{\"any\":[\"pr\",\"review\"]}},"
                                "{\"key\":\"on\",\"match\":{\"value\":\"pr\"}}]}";
    size_t n = 0;
    const char *filter = NULL;
    sc_rec_kind k[SC_REC_SECTION_MAX_KINDS];
    if (!section) return SC_INVALID;
    if (!strcmp(section, "commits")) {
        k[n++] = SC_REC_KIND_COMMIT;
    } else if (!strcmp(section, "issues")) {
        k[n++] = SC_REC_KIND_ISSUE;
        k[n++] = SC_REC_KIND_COMMENT;
        filter = issues_f;
    } else if (!strcmp(section, "prs")) {
        k[n++] = SC_REC_KIND_PR;
        k[n++] = SC_REC_KIND_REVIEW;
        k[n++] = SC_REC_KIND_COMMENT;
        filter = prs_f;
    } else if (!strcmp(section, "docs")) {
        k[n++] = SC_REC_KIND_DOC;
    } else {
        return SC_INVALID;
    }
    memcpy(kinds, k, sizeof *k * n);
    q->kinds = kinds;
    q->n_kinds = n;
    q->filter_json = filter;
    return SC_OK;
}

/* ==== Filters ==== */

/* A date bound of q (since / until) as a range condition on "date";
** NULL with err set when it does not parse. A bare day as `until` means the
** end of that day. */
static json_t *q__date_cond(const char *what, const char *s, bool upper, sc_err *err) {
    int64_t t;
    if (!records_parse_date(s, &t)) {
        sc_err_set(err, SC_INVALID, "%s: '%.60s' is not a date (YYYY-MM-DD, optionally THH:MM[:SS] and a zone)", what, s);
        return NULL;
    }
    if (upper && strlen(s) == 10) t += 86399;
    char buf[40];
    records_format_date(t, buf, sizeof buf);
    return json_pack("{s:s, s:{s:s}}", "key", "date", "range", upper ? "lte" : "gte", buf);
}

char *records_query_filter(const sc_rec_query *q, json_t *extra, sc_err *err) {
    json_t *must = json_array();
    sc_rec_query none;
    memset(&none, 0, sizeof none);
    if (!q) q = &none;
    json_t *kinds = json_array();
    if (q->n_kinds)
        for (size_t i = 0; i < q->n_kinds; i++) json_array_append_new(kinds, json_string(sc_rec_kind_name(q->kinds[i])));
    else
        for (int k = 0; k < SC_REC_KIND_COUNT; k++) json_array_append_new(kinds, json_string(sc_rec_kind_name((sc_rec_kind)k)));
    json_array_append_new(must, json_pack("{s:s, s:{s:o}}", "key", "kind", "match", "any", kinds));
    if (q->source) json_array_append_new(must, json_pack("{s:s, s:{s:s}}", "key", "source", "match", "value", q->source));
    if (q->author && *q->author)
        json_array_append_new(must, json_pack("{s:[{s:s, s:{s:s}}, {s:s, s:{s:s}}]}", "should", "key", "author", "match",
                                              "text", q->author, "key", "author_email", "match", "text", q->author));
    if (q->state && *q->state)
        json_array_append_new(must, json_pack("{s:s, s:{s:s}}", "key", "state", "match", "value", q->state));
    if (q->label && *q->label)
        json_array_append_new(must, json_pack("{s:s, s:{s:s}}", "key", "labels", "match", "value", q->label));
    bool ok = true;
    json_t *c;
    if (q->since && (ok = (c = q__date_cond("since", q->since, false, err)) != NULL)) json_array_append_new(must, c);
    if (ok && q->until && (ok = (c = q__date_cond("until", q->until, true, err)) != NULL)) json_array_append_new(must, c);
    if (ok && q->filter_json) {
        json_error_t je;
        json_t *f = json_loads(q->filter_json, 0, &je);
        if (!json_is_object(f)) {
            sc_err_set(err, SC_INVALID, "filter: not a JSON object (%s)", f ? "another JSON value" : je.text);
            json_decref(f);
            ok = false;
        } else {
            json_array_append_new(must, f); /* a nested filter: ANDed with the rest */
        }
    }
    if (ok && extra) json_array_append(must, extra);
    json_decref(extra);
    json_t *root = ok ? json_pack("{s:o}", "must", must) : NULL;
    if (!ok) json_decref(must);
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (ok && !s) sc_err_set(err, SC_NOMEM, "out of memory");
    return s;
}

/* ==== Hits ==== */

static char *q__str(const json_t *p, const char *key) {
    const char *s = json_string_value(json_object_get(p, key));
    return util_strdup(s ? s : "");
}

sc_status records_hit_from_payload(const char *payload_json, sc_rec_hit *h) {
    json_t *p = json_loads(payload_json ? payload_json : "{}", 0, NULL);
    if (!p) return SC_CORRUPT;
    h->kind = q__str(p, "kind");
    h->source = q__str(p, "source");
    h->id = q__str(p, "id");
    h->title = q__str(p, json_is_string(json_object_get(p, "title")) ? "title" : "subject");
    h->author = q__str(p, "author");
    h->date = q__str(p, "date");
    h->state = q__str(p, "state");
    h->url = q__str(p, "url");
    json_t *num = json_object_get(p, "number"), *key = json_object_get(p, "key");
    char ref[SC_REC_MAX_ID + 2] = "";
    if (json_is_string(key)) snprintf(ref, sizeof ref, "%s", json_string_value(key));
    else if (json_is_integer(num)) snprintf(ref, sizeof ref, "#%lld", (long long)json_integer_value(num));
    h->number = util_strdup(ref);
    h->payload_json = util_strdup(payload_json ? payload_json : "{}");
    json_decref(p);
    bool ok = h->kind && h->source && h->id && h->title && h->author && h->date && h->state && h->url && h->number &&
              h->payload_json;
    return ok ? SC_OK : SC_NOMEM;
}

static void q__hit_free(sc_rec_hit *h) {
    free(h->kind);
    free(h->source);
    free(h->id);
    free(h->title);
    free(h->author);
    free(h->date);
    free(h->state);
    free(h->url);
    free(h->number);
    free(h->payload_json);
}

void sc_rec_hits_free(sc_rec_hits *h) {
    if (!h) return;
    for (size_t i = 0; i < h->n; i++) q__hit_free(&h->items[i]);
    free(h->items);
    free(h);
}

/* An empty hit list with room for n (NULL when out of memory). */
static sc_rec_hits *q__hits_new(size_t n) {
    sc_rec_hits *h = calloc(1, sizeof *h);
    if (h && !(h->items = calloc(n ? n : 1, sizeof *h->items))) {
        free(h);
        h = NULL;
    }
    return h;
}

/* Append a hit made from payload to h (room was made); SC_OK or SC_NOMEM. */
static sc_status q__hits_add(sc_rec_hits *h, const char *payload, float score) {
    sc_rec_hit *x = &h->items[h->n];
    memset(x, 0, sizeof *x);
    sc_status rc = records_hit_from_payload(payload, x);
    if (rc != SC_OK) {
        q__hit_free(x);
        return rc;
    }
    x->rank = (uint32_t)h->n + 1;
    x->score = score;
    h->n++;
    return SC_OK;
}

/* ==== Search ==== */

/* One retrieval leg: dense (vec) or keyword (text) over the filter. */
static sc_status q__leg(sc_records *rs, const float *vec, const char *text, const char *filter, uint32_t want,
                        sc_record_list **out) {
    sc_search_request req = {.vector_name = records_vec_names[RECORDS_VEC_CONTENT], .query = vec, .dim = rs->dim,
                             .text = vec ? NULL : text, .limit = want, .filter_json = filter, .with = {.payload = true}};
    return records_store_search(rs, &req, out);
}

/* Payload of id in either list (borrowed), or NULL. */
static const char *q__payload_of(const sc_record_list *const *legs, const sc_point_id *id) {
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; legs[k] && i < legs[k]->n; i++)
            if (!sc_point_id_cmp(&legs[k]->items[i].id, id)) return legs[k]->items[i].payload_json;
    return NULL;
}

/* Fuse the legs (hybrid: RRF; one leg: its own order) into h. */
static sc_status q__fuse(sc_records *rs, sc_record_list *legs[2], uint32_t limit, sc_rec_hits *h) {
    sc_fuse_list l[2];
    memset(l, 0, sizeof l);
    sc_point_id *ids[2] = {NULL, NULL};
    sc_status rc = SC_OK;
    size_t n_lists = 0;
    for (int k = 0; k < 2; k++) {
        if (!legs[k]) continue;
        ids[k] = malloc(sizeof(sc_point_id) * (legs[k]->n + 1));
        if (!ids[k]) rc = SC_NOMEM;
        for (size_t i = 0; ids[k] && i < legs[k]->n; i++) ids[k][i] = legs[k]->items[i].id;
        l[n_lists++] = (sc_fuse_list){.ids = ids[k], .n = legs[k]->n,
                                      .weight = k == 0 ? 1.0 : SC_HYBRID_KEYWORD_WEIGHT};
    }
    sc_fused *f = NULL;
    size_t nf = 0;
    bool fused = n_lists == 2;
    if (rc == SC_OK && fused) rc = sc_fuse(SC_FUSION_RRF, l, 2, SC_HYBRID_RRF_K, 1, &f, &nf);
    const sc_record_list *one = legs[0] ? legs[0] : legs[1];
    size_t total = fused ? nf : one ? one->n : 0;
    for (size_t i = 0; rc == SC_OK && i < total && h->n < limit; i++) {
        const sc_point_id *id = fused ? &f[i].id : &one->items[i].id;
        const char *payload = q__payload_of((const sc_record_list *const *)legs, id);
        rc = q__hits_add(h, payload, fused ? (float)f[i].score : one->items[i].score);
    }
    sc_free(f);
    free(ids[0]);
    free(ids[1]);
    return rc == SC_OK ? SC_OK : records_fail(rs, rc, "out of memory");
}

/* Embed the query with the query side of the provider into vec (dim floats). */
static sc_status q__embed_query(sc_records *rs, const char *text, float *vec) {
    sc_embed_item it;
    memset(&it, 0, sizeof it);
    const char *t[1] = {text};
    if (sc_embedder_embed(rs->emb, SC_EMBED_ROLE_QUERY, t, 1, vec, &it, NULL) != SC_OK)
        return records_fail(rs, SC_IOERR, "embedding the query: %s", sc_embedder_errmsg(rs->emb));
    if (it.status != SC_OK) return records_fail(rs, it.status, "cannot embed the query: %s", it.error);
    return SC_OK;
}

sc_status sc_records_search(sc_records *rs, const sc_rec_query *q, sc_rec_hits **out) {
    if (!rs || !q || !out) return SC_MISUSE;
    double t0 = util_now();
    if (!q->text || !*q->text) return records_fail(rs, SC_INVALID, "the query is empty");
    if ((unsigned)q->mode > SC_SEARCH_MODE_KEYWORD) return records_fail(rs, SC_INVALID, "unknown search mode %d", (int)q->mode);
    if (q->mode != SC_SEARCH_MODE_KEYWORD && !rs->emb)
        return records_fail(rs, SC_MISUSE, "a %s search needs the embedding provider", sc_search_mode_name(q->mode));
    sc_err err = {0};
    char *filter = records_query_filter(q, NULL, &err);
    if (!filter) return records_fail(rs, err.code, "%s", err.msg);
    uint32_t limit = q->limit ? q->limit : 10;
    uint32_t want = q->mode == SC_SEARCH_MODE_HYBRID ? (limit * 3 > 50 ? limit * 3 : 50) : limit;
    sc_record_list *legs[2] = {NULL, NULL};
    sc_rec_hits *h = q__hits_new(limit);
    float *vec = rs->dim ? malloc(sizeof(float) * rs->dim) : NULL;
    sc_status rc = h && (vec || !rs->dim) ? SC_OK : records_fail(rs, SC_NOMEM, "out of memory");
    if (rc == SC_OK && rs->exists) {
        if (q->mode != SC_SEARCH_MODE_KEYWORD && (rc = q__embed_query(rs, q->text, vec)) == SC_OK)
            rc = q__leg(rs, vec, NULL, filter, want, &legs[0]);
        if (rc == SC_OK && q->mode != SC_SEARCH_MODE_DENSE) rc = q__leg(rs, NULL, q->text, filter, want, &legs[1]);
        if (rc == SC_OK) rc = q__fuse(rs, legs, limit, h);
    }
    sc_record_list_free(legs[0]);
    sc_record_list_free(legs[1]);
    free(vec);
    free(filter);
    if (rc != SC_OK) {
        sc_rec_hits_free(h);
        return rc;
    }
    h->took_ms = (util_now() - t0) * 1e3;
    *out = h;
    return SC_OK;
}

/* ==== Linked records ==== */

/* A linked record while collecting: its date for the order. */
typedef struct q_linked {
    char *date;    /* owned RFC 3339 UTC date ("" when none) */
    char *payload; /* owned payload */
    json_t *p;     /* the payload parsed (owned): id and links.parent for ties */
} q_linked;

/* Newest first (RFC 3339 UTC dates compare as text), then by payload text
** for a stable order. */
static int q__linked_cmp(const void *a, const void *b) {
    const q_linked *x = a, *y = b;
    int c = strcmp(y->date, x->date);
    return c ? c : strcmp(x->payload, y->payload);
}

/* Scroll every record passing filter into *items (owned). */
static sc_status q__collect(sc_records *rs, const char *filter, q_linked **items, size_t *n) {
    size_t cap = 0;
    sc_scroll_request req = {.filter_json = filter, .limit = 1000, .with = {.payload = true}};
    sc_status rc = SC_OK;
    for (;;) {
        sc_record_list *l = NULL;
        sc_point_id next;
        bool more = false;
        if (records_store_scroll(rs, &req, &l, &next, &more) != SC_OK) return SC_IOERR;
        for (size_t i = 0; rc == SC_OK && i < l->n; i++) {
            if (!util_grow(items, &cap, *n + 1, sizeof **items, 64)) {
                rc = records_fail(rs, SC_NOMEM, "out of memory");
                break;
            }
            json_t *p = json_loads(l->items[i].payload_json ? l->items[i].payload_json : "{}", 0, NULL);
            const char *d = json_string_value(json_object_get(p, "date"));
            q_linked *x = &(*items)[*n];
            x->date = util_strdup(d ? d : "");
            x->payload = util_strdup(l->items[i].payload_json ? l->items[i].payload_json : "{}");
            x->p = p;
            (*n)++;
            if (!x->date || !x->payload || !p) rc = records_fail(rs, SC_NOMEM, "out of memory");
        }
        sc_record_list_free(l);
        if (rc != SC_OK || !more) break;
        req.has_offset = true;
        req.offset = next;
    }
    return rc;
}

/* Does record a name record b as its parent (links.parent)? */
static bool q__is_parent_of(const q_linked *b, const q_linked *a) {
    const char *bid = json_string_value(json_object_get(b->p, "id"));
    json_t *ps = json_object_get(json_object_get(a->p, "links"), "parent");
    for (size_t k = 0; bid && k < json_array_size(ps); k++)
        if (json_is_string(json_array_get(ps, k)) && !strcmp(json_string_value(json_array_get(ps, k)), bid)) return true;
    return false;
}

/* Among records of equal date (commits made within one second), children
** come before their parents: newest first, even when the clock cannot tell.
** Small runs only (ties are rare and short). */
static void q__order_ties(q_linked *items, size_t n) {
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && !strcmp(items[j].date, items[i].date); j++) {}
        if (j - i < 2 || j - i > 64) continue;
        for (size_t at = i; at + 1 < j; at++) {
            /* pick the first remaining record that no other remaining record has as parent */
            size_t pick = at;
            for (size_t c = at; c < j; c++) {
                bool is_parent = false;
                for (size_t o = at; o < j && !is_parent; o++) is_parent = o != c && q__is_parent_of(&items[c], &items[o]);
                if (!is_parent) {
                    pick = c;
                    break;
                }
            }
            q_linked t = items[pick];
            memmove(&items[at + 1], &items[at], (pick - at) * sizeof *items);
            items[at] = t;
        }
    }
}

sc_status sc_records_linked(sc_records *rs, const char *rel, const char *const *targets, size_t n_targets,
                            const sc_rec_query *q, sc_rec_hits **out) {
    if (!rs || !rel || (n_targets && !targets) || !out) return SC_MISUSE;
    double t0 = util_now();
    json_t *any = json_array();
    for (size_t i = 0; i < n_targets; i++) json_array_append_new(any, json_string(targets[i]));
    char key[SC_REC_MAX_FIELD + 8];
    snprintf(key, sizeof key, "links.%s", rel);
    sc_err err = {0};
    char *filter = records_query_filter(q, json_pack("{s:s, s:{s:o}}", "key", key, "match", "any", any), &err);
    if (!filter) return records_fail(rs, err.code, "%s", err.msg);
    q_linked *items = NULL;
    size_t n = 0;
    sc_status rc = rs->exists && n_targets ? q__collect(rs, filter, &items, &n) : SC_OK;
    free(filter);
    if (rc == SC_OK && n) {
        qsort(items, n, sizeof *items, q__linked_cmp);
        q__order_ties(items, n);
    }
    size_t limit = q && q->limit && q->limit < n ? q->limit : n;
    sc_rec_hits *h = rc == SC_OK ? q__hits_new(limit) : NULL;
    if (rc == SC_OK && !h) rc = records_fail(rs, SC_NOMEM, "out of memory");
    for (size_t i = 0; rc == SC_OK && i < limit; i++)
        if (q__hits_add(h, items[i].payload, 0.0f) != SC_OK) rc = records_fail(rs, SC_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        free(items[i].date);
        free(items[i].payload);
        json_decref(items[i].p);
    }
    free(items);
    if (rc != SC_OK) {
        sc_rec_hits_free(h);
        return rc;
    }
    h->took_ms = (util_now() - t0) * 1e3;
    *out = h;
    return SC_OK;
}

/* ==== History of code entities ==== */

/* Newer first by date (RFC 3339 UTC compares as text); commits before PRs of one date. */
static int q__hit_newer(const sc_rec_hit *a, const sc_rec_hit *b) {
    int c = strcmp(b->date, a->date);
    return c ? c : (strcmp(a->kind, "commit") ? 1 : 0) - (strcmp(b->kind, "commit") ? 1 : 0);
}

sc_status sc_records_history(sc_records *rs, const char *const *entity_ids, size_t n_ids, const sc_rec_query *q,
                             sc_rec_hits **out) {
    if (!rs || (n_ids && !entity_ids) || !out) return SC_MISUSE;
    double t0 = util_now();
    sc_rec_query cq;
    memset(&cq, 0, sizeof cq);
    if (q) cq = *q;
    uint32_t limit = cq.limit;
    cq.limit = 0;
    sc_rec_kind kc = SC_REC_KIND_COMMIT, kp = SC_REC_KIND_PR;
    cq.kinds = &kc;
    cq.n_kinds = 1;
    sc_rec_hits *commits = NULL, *prs = NULL;
    sc_status rc = sc_records_linked(rs, "entity", entity_ids, n_ids, &cq, &commits);
    const char **shas = rc == SC_OK ? malloc(sizeof *shas * (commits->n + 1)) : NULL;
    if (rc == SC_OK && !shas) rc = records_fail(rs, SC_NOMEM, "out of memory");
    for (size_t i = 0; rc == SC_OK && i < commits->n; i++) shas[i] = commits->items[i].id;
    if (rc == SC_OK) {
        /* a PR is shown whoever wrote its commits and whenever it was opened */
        sc_rec_query pq = {.kinds = &kp, .n_kinds = 1, .source = NULL};
        rc = sc_records_linked(rs, "commit", shas, commits->n, &pq, &prs);
    }
    free(shas);
    sc_rec_hits *h = NULL;
    if (rc == SC_OK) {
        size_t n = commits->n + prs->n, take = limit && limit < n ? limit : n;
        if (!(h = q__hits_new(take))) rc = records_fail(rs, SC_NOMEM, "out of memory");
        size_t i = 0, j = 0;
        while (h && h->n < take) { /* merge the two newest-first lists, moving the hits */
            bool from_c = j == prs->n || (i < commits->n && q__hit_newer(&commits->items[i], &prs->items[j]) <= 0);
            sc_rec_hit *src = from_c ? &commits->items[i++] : &prs->items[j++];
            h->items[h->n] = *src;
            memset(src, 0, sizeof *src);
            h->items[h->n].rank = (uint32_t)h->n + 1;
            h->n++;
        }
    }
    /* moved hits were zeroed: freeing the rest of both lists is safe */
    sc_rec_hits_free(commits);
    sc_rec_hits_free(prs);
    if (rc != SC_OK) return rc;
    h->took_ms = (util_now() - t0) * 1e3;
    *out = h;
    return SC_OK;
}

/* ==== JSON ==== */

char *sc_rec_hits_json(const sc_rec_hits *h, const char *label, const char *value, const char *mode) {
    if (!h || !label || !value) return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < h->n; i++) {
        const sc_rec_hit *x = &h->items[i];
        json_t *rec = json_loads(x->payload_json, 0, NULL);
        json_t *o = json_pack("{s:i, s:f, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "rank", (int)x->rank, "score",
                              (double)x->score, "kind", x->kind, "source", x->source, "id", x->id, "title", x->title,
                              "author", x->author, "date", x->date, "record", rec ? rec : json_object());
        if (o && *x->state) json_object_set_new(o, "state", json_string(x->state));
        if (o && *x->url) json_object_set_new(o, "url", json_string(x->url));
        if (o && !strcmp(x->kind, "commit")) {
            json_object_set_new(o, "sha", json_string(x->id));
            json_object_set_new(o, "subject", json_string(x->title));
        }
        if (o && rec && *x->number) { /* a tracker's reference, typed as the record has it */
            json_t *num = json_object_get(rec, "number"), *key = json_object_get(rec, "key");
            if (json_is_integer(num)) json_object_set(o, "number", num);
            if (json_is_string(key)) json_object_set(o, "key", key);
        }
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    json_t *root = arr ? json_pack("{s:s, s:f, s:o}", label, value, "took_ms", h->took_ms, "results", arr) : NULL;
    if (root && mode) json_object_set_new(root, "mode", json_string(mode));
    char *s = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(root);
    return s;
}

char *sc_rec_search_all_json(const char *query, const char *code_json, sc_rec_hits *const *hits, const char *mode) {
    size_t n_sections;
    const char *const *names = sc_rec_sections(&n_sections);
    if (!query || !hits) return NULL;
    json_t *o = json_pack("{s:s}", "query", query);
    if (o && code_json) {
        json_t *c = json_loads(code_json, 0, NULL);
        if (!c || json_object_set_new(o, "code", c) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    for (size_t k = 0; o && k < n_sections; k++) {
        char *rt = hits[k] ? sc_rec_hits_json(hits[k], "query", query, mode) : NULL;
        json_t *r = rt ? json_loads(rt, 0, NULL) : NULL;
        if (!r || json_object_set_new(o, names[k], r) != 0) {
            json_decref(o);
            o = NULL;
        }
        sc_free(rt);
    }
    char *out = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(o);
    return out;
}
