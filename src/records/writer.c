/*
** records/writer.c: the records of one tenant in a store (sc_records):
** the collection and its checks, the batch of queued records, deletions and
** cursors, and the flush that embeds and writes them.
**
** DESIGN
** - put() renders the three texts through the templates, cuts them on a
**   token boundary (content: max_tokens, others: RECORDS_SMALL_TOKENS) and
**   keeps the payload as JSON text: a queued record holds no pointer into
**   the caller's sc_rec, so memory is bounded by the batch.
** - Two hashes per record: text_hash (the three texts and the model: the
**   vectors depend on nothing else) and record_hash (the payload and the
**   templates). flush() reads the stored hashes of the batch's points:
**   same record_hash -> nothing to write; same text_hash -> written with its
**   stored vectors; otherwise embedded. So a re-run of a connector costs
**   reads, not embeddings, and an idempotent upsert changes nothing.
** - Order of a flush: deletions (one call), then records + meta + cursors
**   (one upsert). Each call is atomic in the store; see records_int.h.
** - A batch whose provider fails, with on_failed set, is skipped whole:
**   its records are counted failed and named in the message, nothing of
**   them is written, and the handle writes no cursor from then on, so the
**   stored cursor stays before them and a connector's next run retries them
**   (what was stored after them reads as unchanged, at the cost of reads).
*/
#include "records/records.h"
#include "records/records_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ==== Errors and options ==== */

sc_status records_fail(sc_records *rs, sc_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rs->errmsg, sizeof rs->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

const char *sc_records_errmsg(const sc_records *rs) { return rs ? rs->errmsg : "no records handle"; }
const char *sc_records_collection(const sc_records *rs) { return rs->coll; }
sc_records_stats sc_records_get_stats(const sc_records *rs) {
    sc_records_stats st = rs->stats;
    if (rs->be) {
        backend_stats bs = backend_get_stats(rs->be);
        st.store_requests = bs.requests;
        st.store_bytes_sent = bs.bytes_sent;
        st.store_bytes_received = bs.bytes_received;
    }
    return st;
}

sc_records_options sc_records_options_default(void) {
    sc_records_options o;
    memset(&o, 0, sizeof o);
    o.batch_size = 256;
    o.max_tokens = 512;
    return o;
}

/* A tenant name as the server's config takes it: 1..64 of [A-Za-z0-9_-]. */
static bool w__tenant_ok(const char *t) {
    size_t n = strlen(t);
    if (n < 1 || n > 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9') ||
              t[i] == '_' || t[i] == '-'))
            return false;
    return true;
}

/* ==== State points ==== */

/* Payload of a state point (meta or cursor of source) with `extra` merged
** in (stolen). Owned text or NULL. */
static char *w__state_payload(const sc_records *rs, const char *source, const char *id, json_t *extra) {
    json_t *p = json_pack("{s:s, s:s, s:s, s:s}", "tenant", rs->tenant, "source", source, "kind", RECORDS_STATE_KIND,
                          "id", id);
    char *s = NULL;
    if (p && extra && json_object_update(p, extra) == 0) s = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(p);
    json_decref(extra);
    return s;
}

/* Payload of a state point (NULL when absent), owned JSON object. */
static sc_status w__state_get(sc_records *rs, const char *source, const char *id, json_t **out) {
    *out = NULL;
    if (!rs->exists) return SC_OK;
    sc_point_id pid = records_point_id(rs->tenant, source, RECORDS_STATE_KIND, id);
    sc_with with = {.payload = true};
    sc_record_list *l = NULL;
    if (records_store_get(rs, &pid, 1, &with, &l) != SC_OK) return SC_IOERR;
    if (l->n && l->items[0].payload_json) *out = json_loads(l->items[0].payload_json, 0, NULL);
    sc_record_list_free(l);
    return SC_OK;
}

/* ==== Opening ==== */

/* The existing collection must have the three vectors of our dimension and
** (with an embedder) records of our model. */
static sc_status w__check_collection(sc_records *rs) {
    sc_status rc = records_store_check(rs, rs->emb != NULL);
    if (rc != SC_OK || !rs->emb) return rc;
    json_t *meta = NULL;
    if ((rc = w__state_get(rs, "", "meta", &meta)) != SC_OK) return rc;
    const char *model = json_string_value(json_object_get(meta, "model"));
    if (model && strcmp(model, sc_embedder_id(rs->emb)))
        rc = records_fail(rs, SC_INVALID,
                          "the records in %s were embedded with %s, not %s: one collection's vectors come from one "
                          "model (use the provider they were made with, or another store)",
                          rs->coll, model, sc_embedder_id(rs->emb));
    rs->meta_written = model != NULL;
    json_decref(meta);
    return rc;
}

/* sc_records_open on db, or records_open_backend on be (owned, freed on failure). */
static sc_status w__open(sc_db *db, backend *be, sc_embedder *emb, const sc_records_options *opt, sc_records **out,
                         char **errmsg) {
    sc_records_options o = opt ? *opt : sc_records_options_default();
    if (!o.batch_size) o.batch_size = 256;
    if (!o.max_tokens) o.max_tokens = 512;
    sc_records *rs = calloc(1, sizeof *rs);
    if (!rs) {
        backend_free(be);
        return SC_NOMEM;
    }
    rs->db = db;
    rs->be = be;
    rs->emb = emb;
    rs->batch_size = o.batch_size;
    rs->max_tokens = o.max_tokens;
    rs->on_failed = o.on_failed;
    rs->on_failed_arg = o.on_failed_arg;
    rs->dim = emb ? sc_embedder_dim(emb) : 0;
    sc_status rc = SC_OK;
    sc_err err = {0};
    const char *tenant = o.tenant ? o.tenant : "";
    if (*tenant && !w__tenant_ok(tenant))
        rc = records_fail(rs, SC_INVALID, "tenant '%.80s' must be 1..64 characters of A-Z, a-z, 0-9, _ and -", tenant);
    else if (o.batch_size > 65536)
        rc = records_fail(rs, SC_INVALID, "batch size %u is out of range, expected 1..65536", o.batch_size);
    else if (!(rs->tpl = records_templates_new(o.templates_json, &err)))
        rc = records_fail(rs, err.code ? err.code : SC_NOMEM, "%s", err.msg);
    else if (!(rs->tk = text_tokenizer_new(&err)))
        rc = records_fail(rs, SC_NOMEM, "out of memory");
    if (rc == SC_OK) {
        snprintf(rs->tenant, sizeof rs->tenant, "%s", tenant);
        if (be) snprintf(rs->coll, sizeof rs->coll, "%s_%s", backend_collection(be, "code"), RECORDS_COLLECTION);
        else if (*tenant) snprintf(rs->coll, sizeof rs->coll, ".%s.%s", tenant, RECORDS_COLLECTION);
        else snprintf(rs->coll, sizeof rs->coll, "%s", RECORDS_COLLECTION);
        rs->exists = records_store_exists(rs);
        if (rs->exists) rc = w__check_collection(rs); /* a missing one is made by the first write */
    }
    if (rc != SC_OK) {
        if (errmsg) *errmsg = util_strdup(rs->errmsg);
        sc_records_close(rs);
        return rc;
    }
    *out = rs;
    return SC_OK;
}

sc_status sc_records_open(sc_db *db, sc_embedder *emb, const sc_records_options *opt, sc_records **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!db || !out) return SC_MISUSE;
    *out = NULL;
    return w__open(db, NULL, emb, opt, out, errmsg);
}

sc_status records_open_backend(backend *be, sc_embedder *emb, const sc_records_options *opt, sc_records **out,
                               char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!be || !out) {
        backend_free(be);
        return SC_MISUSE;
    }
    *out = NULL;
    return w__open(NULL, be, emb, opt, out, errmsg);
}

static void w__pending_free(records_pending *p) {
    free(p->payload);
    for (int v = 0; v < RECORDS_VEC_COUNT; v++) free(p->text[v]);
    free(p->kwtext);
}

/* Empty the queues. */
static void w__clear(sc_records *rs) {
    for (size_t i = 0; i < rs->n_pend; i++) w__pending_free(&rs->pend[i]);
    for (size_t i = 0; i < rs->n_cur; i++) {
        free(rs->cur[i].source);
        free(rs->cur[i].json);
    }
    rs->n_pend = rs->n_del = rs->n_cur = 0;
}

void sc_records_close(sc_records *rs) {
    if (!rs) return;
    w__clear(rs);
    free(rs->pend);
    free(rs->del);
    free(rs->cur);
    records_templates_free(rs->tpl);
    text_tokens_free(&rs->toks);
    text_tokenizer_free(rs->tk);
    backend_free(rs->be);
    free(rs);
}

sc_status sc_records_count(sc_records *rs, const char *filter_json, uint64_t *out) {
    if (!rs || !out) return SC_MISUSE;
    *out = 0;
    return rs->exists ? records_store_count(rs, filter_json, out) : SC_OK;
}

/* ==== Texts ==== */

/* Cut *text after max tokens on a word boundary; when it was cut, record
** {tokens, kept} under name in trunc. SC_NOMEM when tokenizing failed. */
static sc_status w__cut(sc_records *rs, char *text, uint32_t max, const char *name, json_t *trunc) {
    size_t n = strlen(text), cut = n;
    if (text_tokenize_cut(rs->tk, text, n, max, &rs->toks, &cut) != SC_OK) return SC_NOMEM;
    if (cut >= n) return SC_OK;
    uint32_t total = rs->toks.n;
    while (cut > 0 && (text[cut - 1] == ' ' || text[cut - 1] == '\n' || text[cut - 1] == '\t')) cut--;
    text[cut] = '\0';
    if (text_tokenize(rs->tk, text, cut, 0, &rs->toks) != SC_OK) return SC_NOMEM;
    if (json_object_set_new(trunc, name, json_pack("{s:i, s:i}", "tokens", (int)total, "kept", (int)rs->toks.n)) != 0)
        return SC_NOMEM;
    return SC_OK;
}

/* Render and cut the three texts of rec into text[] (owned); the whole
** content also into *kwtext (owned, may be NULL) and the cuts into trunc. */
static sc_status w__texts(sc_records *rs, const sc_rec *rec, char *text[RECORDS_VEC_COUNT], char **kwtext, json_t *trunc) {
    for (int v = 0; v < RECORDS_VEC_COUNT; v++) text[v] = NULL;
    if (kwtext) *kwtext = NULL;
    sc_status rc = SC_OK;
    for (int v = 0; v < RECORDS_VEC_COUNT && rc == SC_OK; v++) {
        if (!(text[v] = records_render(rs->tpl, rec, (records_vec)v))) {
            rc = SC_NOMEM;
            break;
        }
        if (v == RECORDS_VEC_CONTENT && kwtext &&
            !(*kwtext = records_clean_utf8(text[v], strlen(text[v]), RECORDS_KEYWORD_BYTES, NULL)))
            rc = SC_NOMEM;
        uint32_t max = v == RECORDS_VEC_CONTENT ? rs->max_tokens : RECORDS_SMALL_TOKENS;
        if (rc == SC_OK) rc = w__cut(rs, text[v], max, records_vec_names[v], trunc);
    }
    if (rc != SC_OK) {
        for (int v = 0; v < RECORDS_VEC_COUNT; v++) free(text[v]);
        if (kwtext) free(*kwtext);
        return records_fail(rs, SC_NOMEM, "out of memory");
    }
    return SC_OK;
}

sc_status sc_records_texts(sc_records *rs, const sc_rec *rec, char **content, char **summary, char **metadata) {
    if (!rs || !rec || !content || !summary || !metadata) return SC_MISUSE;
    char *t[RECORDS_VEC_COUNT];
    json_t *trunc = json_object();
    sc_status rc = trunc ? w__texts(rs, rec, t, NULL, trunc) : records_fail(rs, SC_NOMEM, "out of memory");
    json_decref(trunc);
    if (rc != SC_OK) return rc;
    *content = t[0];
    *summary = t[1];
    *metadata = t[2];
    return SC_OK;
}

/* ==== Queueing ==== */

/* The payload of rec: its fields and links, its identity, the cuts (a new
** object; NULL when out of memory). */
static json_t *w__payload(const sc_records *rs, const sc_rec *rec, json_t *trunc) {
    json_t *p = json_copy(rec->fields);
    if (!p) return NULL;
    bool ok = json_object_set_new(p, "tenant", json_string(rs->tenant)) == 0 &&
              json_object_set_new(p, "source", json_string(rec->source)) == 0 &&
              json_object_set_new(p, "kind", json_string(sc_rec_kind_name(rec->kind))) == 0 &&
              json_object_set_new(p, "id", json_string(rec->id)) == 0 &&
              json_object_set_new(p, "model", json_string(sc_embedder_id(rs->emb))) == 0;
    if (ok && json_object_size(rec->links)) ok = json_object_set(p, "links", rec->links) == 0;
    if (ok && json_object_size(rec->cut)) {
        json_t *names = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(rec->cut, k, v) json_array_append_new(names, json_string(k));
        ok = json_object_set_new(trunc, "fields", names) == 0;
    }
    if (ok && json_object_size(trunc)) ok = json_object_set(p, "truncated", trunc) == 0;
    if (!ok) {
        json_decref(p);
        return NULL;
    }
    return p;
}

/* The payload text of pe from p: hashed as it is (keys sorted, so equal
** records give equal text), then written with its two hashes. */
static bool w__seal(sc_records *rs, records_pending *pe, json_t *p) {
    char *first = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    if (!first) return false;
    pe->record_hash = util_hash64(first, strlen(first), records_templates_hash(rs->tpl) ^ pe->text_hash);
    free(first);
    char th[20], rh[20];
    snprintf(th, sizeof th, "%016llx", (unsigned long long)pe->text_hash);
    snprintf(rh, sizeof rh, "%016llx", (unsigned long long)pe->record_hash);
    if (json_object_set_new(p, "text_hash", json_string(th)) != 0 ||
        json_object_set_new(p, "record_hash", json_string(rh)) != 0)
        return false;
    pe->payload = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    return pe->payload != NULL;
}

sc_status sc_records_put(sc_records *rs, const sc_rec *rec) {
    if (!rs || !rec) return SC_MISUSE;
    if (!rs->emb) return records_fail(rs, SC_MISUSE, "this records handle was opened without an embedding provider (read only)");
    if (!util_grow(&rs->pend, &rs->cap_pend, rs->n_pend + 1, sizeof *rs->pend, 64))
        return records_fail(rs, SC_NOMEM, "out of memory");
    records_pending *pe = &rs->pend[rs->n_pend];
    memset(pe, 0, sizeof *pe);
    json_t *trunc = json_object();
    if (!trunc) return records_fail(rs, SC_NOMEM, "out of memory");
    sc_status rc = w__texts(rs, rec, pe->text, &pe->kwtext, trunc);
    json_t *p = rc == SC_OK ? w__payload(rs, rec, trunc) : NULL;
    json_decref(trunc);
    if (rc == SC_OK && !p) rc = records_fail(rs, SC_NOMEM, "out of memory");
    if (rc == SC_OK) {
        const char *model = sc_embedder_id(rs->emb);
        uint64_t th = util_hash64(model, strlen(model) + 1, 0x7e47);
        for (int v = 0; v < RECORDS_VEC_COUNT; v++) th = util_hash64(pe->text[v], strlen(pe->text[v]) + 1, th);
        pe->text_hash = th;
        pe->pid = records_point_id(rs->tenant, rec->source, sc_rec_kind_name(rec->kind), rec->id);
        if (!w__seal(rs, pe, p)) rc = records_fail(rs, SC_NOMEM, "out of memory");
    }
    json_decref(p);
    if (rc != SC_OK) {
        w__pending_free(pe);
        return rc;
    }
    rs->stats.put++;
    for (size_t i = 0; i < rs->n_pend; i++)
        if (!sc_point_id_cmp(&rs->pend[i].pid, &pe->pid)) { /* put twice in one batch: the later one wins */
            w__pending_free(&rs->pend[i]);
            rs->pend[i] = *pe;
            return SC_OK;
        }
    rs->n_pend++;
    return rs->n_pend >= rs->batch_size ? sc_records_flush(rs) : SC_OK;
}

sc_status sc_records_delete(sc_records *rs, sc_rec_kind kind, const char *source, const char *id) {
    if (!rs || !source || !id) return SC_MISUSE;
    if (!util_grow(&rs->del, &rs->cap_del, rs->n_del + 1, sizeof *rs->del, 64))
        return records_fail(rs, SC_NOMEM, "out of memory");
    rs->del[rs->n_del++] = records_point_id(rs->tenant, source, sc_rec_kind_name(kind), id);
    return SC_OK;
}

sc_status sc_records_set_cursor(sc_records *rs, const char *source, const char *cursor_json) {
    if (!rs || !source || !cursor_json) return SC_MISUSE;
    json_t *c = json_loads(cursor_json, 0, NULL);
    bool ok = json_is_object(c);
    json_decref(c);
    if (!ok) return records_fail(rs, SC_INVALID, "the cursor of source '%.200s' is not a JSON object", source);
    size_t i = 0;
    while (i < rs->n_cur && strcmp(rs->cur[i].source, source)) i++;
    if (i == rs->n_cur) {
        if (!util_grow(&rs->cur, &rs->cap_cur, rs->n_cur + 1, sizeof *rs->cur, 4))
            return records_fail(rs, SC_NOMEM, "out of memory");
        rs->cur[i] = (records_cursor){util_strdup(source), NULL};
        if (!rs->cur[i].source) return records_fail(rs, SC_NOMEM, "out of memory");
        rs->n_cur++;
    }
    char *j = util_strdup(cursor_json);
    if (!j) return records_fail(rs, SC_NOMEM, "out of memory");
    free(rs->cur[i].json);
    rs->cur[i].json = j;
    return SC_OK;
}

sc_status sc_records_get_cursor(sc_records *rs, const char *source, char **out) {
    if (!rs || !source || !out) return SC_MISUSE;
    *out = NULL;
    json_t *p = NULL;
    sc_status rc = w__state_get(rs, source, "cursor", &p);
    json_t *c = json_object_get(p, "cursor");
    if (rc == SC_OK && c && !(*out = json_dumps(c, JSON_COMPACT))) rc = records_fail(rs, SC_NOMEM, "out of memory");
    json_decref(p);
    return rc;
}

/* ==== Flushing ==== */

/* What a flush does with one queued record. */
typedef enum w_action { W_EMBED = 0, W_REUSE = 1, W_SKIP = 2, W_FAIL = 3 /* its batch's provider failed */ } w_action;

/* The batch being written: points, their vectors and payloads. */
typedef struct w_batch {
    w_action *act;        /* per queued record */
    float *vecs;          /* n_pend * 3 * dim: each record's vectors */
    bool *has;            /* n_pend * 3: which vectors it has */
    sc_point_in *pts;     /* points to upsert */
    sc_vector_in *vin;    /* their vectors, 3 per point */
    char **state;         /* owned payloads of the state points */
    size_t n_pts, n_state;
    bool provider_failed; /* w__embed failed because the provider could not answer */
} w_batch;

static void w__batch_free(w_batch *b) {
    for (size_t i = 0; i < b->n_state; i++) free(b->state[i]);
    free(b->state);
    free(b->act);
    free(b->vecs);
    free(b->has);
    free(b->pts);
    free(b->vin);
}

/* The 64-bit hexadecimal number of a JSON string (0 when not one). */
static unsigned long long w__hex(const json_t *v) {
    return json_is_string(v) ? strtoull(json_string_value(v), NULL, 16) : 0;
}

/* Copy the stored vectors of the records marked W_REUSE into b (one
** read of just those points: a re-run whose texts did not change moves
** no vectors). */
static sc_status w__lookup_vectors(sc_records *rs, w_batch *b, size_t n_reuse) {
    sc_point_id *ids = malloc(sizeof *ids * n_reuse);
    size_t *at = malloc(sizeof *at * n_reuse), m = 0;
    sc_status rc = ids && at ? SC_OK : records_fail(rs, SC_NOMEM, "out of memory");
    for (size_t i = 0; rc == SC_OK && i < rs->n_pend; i++)
        if (b->act[i] == W_REUSE) {
            ids[m] = rs->pend[i].pid;
            at[m++] = i;
        }
    sc_with with = {.vectors = true, .vector_names = records_vec_names, .n_vector_names = RECORDS_VEC_COUNT};
    sc_record_list *l = NULL;
    if (rc == SC_OK) rc = records_store_get(rs, ids, m, &with, &l);
    /* results come in the order asked, missing ids left out */
    for (size_t k = 0, j = 0; rc == SC_OK && k < m && j < l->n; k++) {
        const sc_record *r = &l->items[j];
        if (sc_point_id_cmp(&r->id, &ids[k])) {
            b->act[at[k]] = W_EMBED; /* gone meanwhile */
            continue;
        }
        j++;
        size_t i = at[k];
        for (size_t x = 0; x < r->n_vectors; x++)
            for (int v = 0; v < RECORDS_VEC_COUNT; v++)
                if (!strcmp(r->vector_names[x], records_vec_names[v]) && r->vector_dims[x] == rs->dim) {
                    memcpy(b->vecs + (i * RECORDS_VEC_COUNT + (size_t)v) * rs->dim, r->vectors[x], sizeof(float) * rs->dim);
                    b->has[i * RECORDS_VEC_COUNT + (size_t)v] = true;
                }
    }
    sc_record_list_free(l);
    free(ids);
    free(at);
    return rc;
}

/* Compare the queued records with what the store holds: skip, reuse the
** stored vectors or embed (b->act, b->vecs, b->has). Reads the two hashes
** of the batch, then the vectors of the records to reuse. */
static sc_status w__lookup(sc_records *rs, w_batch *b) {
    size_t n = rs->n_pend, n_reuse = 0;
    sc_point_id *ids = malloc(sizeof *ids * n);
    if (!ids) return records_fail(rs, SC_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) ids[i] = rs->pend[i].pid;
    const char *keys[] = {"record_hash", "text_hash"};
    sc_with with = {.payload = true, .payload_include = keys, .n_payload_include = 2};
    sc_record_list *l = NULL;
    sc_status st = records_store_get(rs, ids, n, &with, &l);
    free(ids);
    if (st != SC_OK) return st;
    /* results come in the order asked, missing ids left out */
    size_t j = 0;
    for (size_t i = 0; i < n && j < l->n; i++) {
        const sc_record *r = &l->items[j];
        if (sc_point_id_cmp(&r->id, &rs->pend[i].pid)) continue;
        j++;
        json_t *p = json_loads(r->payload_json ? r->payload_json : "{}", 0, NULL);
        unsigned long long rh = w__hex(json_object_get(p, "record_hash"));
        unsigned long long th = w__hex(json_object_get(p, "text_hash"));
        json_decref(p);
        if (rh == rs->pend[i].record_hash) {
            b->act[i] = W_SKIP;
        } else if (th == rs->pend[i].text_hash) {
            b->act[i] = W_REUSE;
            n_reuse++;
        }
    }
    sc_record_list_free(l);
    return n_reuse ? w__lookup_vectors(rs, b, n_reuse) : SC_OK;
}

/* Embed the texts of the records marked W_EMBED in one call. */
static sc_status w__embed(sc_records *rs, w_batch *b) {
    size_t n = rs->n_pend * RECORDS_VEC_COUNT, m = 0;
    const char **texts = malloc(sizeof *texts * n);
    size_t *at = malloc(sizeof *at * n);
    float *tmp = malloc(sizeof(float) * rs->dim * n);
    sc_embed_item *items = calloc(n, sizeof *items);
    sc_status rc = texts && at && tmp && items ? SC_OK : records_fail(rs, SC_NOMEM, "out of memory");
    for (size_t i = 0; rc == SC_OK && i < rs->n_pend; i++)
        for (int v = 0; b->act[i] == W_EMBED && v < RECORDS_VEC_COUNT; v++)
            if (*rs->pend[i].text[v]) { /* an empty text gives no vector */
                texts[m] = rs->pend[i].text[v];
                at[m++] = i * RECORDS_VEC_COUNT + (size_t)v;
            }
    double t0 = util_now();
    sc_embed_summary es;
    memset(&es, 0, sizeof es);
    if (rc == SC_OK && m && sc_embedder_embed(rs->emb, SC_EMBED_ROLE_CODE, texts, m, tmp, items, &es) != SC_OK) {
        rc = records_fail(rs, SC_IOERR, "embedding: %s", sc_embedder_errmsg(rs->emb));
        b->provider_failed = true;
    }
    rs->stats.seconds_embed += util_now() - t0;
    for (size_t k = 0; rc == SC_OK && k < m; k++) {
        if (items[k].status == SC_IOERR) {
            /* the provider could not answer: nothing of this batch is stored */
            rc = records_fail(rs, SC_IOERR, "embedding with %s failed: %s; this batch of %zu records was not stored",
                              sc_embedder_id(rs->emb), items[k].error, rs->n_pend);
            b->provider_failed = true;
        } else if (items[k].status == SC_OK) {
            memcpy(b->vecs + at[k] * rs->dim, tmp + k * rs->dim, sizeof(float) * rs->dim);
            b->has[at[k]] = true;
            rs->stats.embedded++;
        } else {
            rs->stats.embed_failed++;
        }
    }
    free(texts);
    free(at);
    free(tmp);
    free(items);
    return rc;
}

#define W_FAILED_IDS 8 /* records named in a skipped batch's message */

/* Skip what the batch had to embed after its provider failed (rs->errmsg
** says how): mark those records W_FAIL (the unchanged and reused ones need
** no provider and are written), count them, hold the cursors, tell on_failed. */
static void w__skip_batch(sc_records *rs, w_batch *b) {
    char msg[sizeof rs->errmsg + 600];
    size_t len = (size_t)snprintf(msg, sizeof msg, "%s; records not stored:", rs->errmsg);
    size_t n_failed = 0;
    for (size_t i = 0; i < rs->n_pend; i++) {
        if (b->act[i] != W_EMBED) continue;
        b->act[i] = W_FAIL;
        if (n_failed++ >= W_FAILED_IDS || len >= sizeof msg) continue;
        json_t *p = json_loads(rs->pend[i].payload, 0, NULL);
        len += (size_t)snprintf(msg + len, sizeof msg - len, " %s:%.60s", json_string_value(json_object_get(p, "kind")),
                                json_string_value(json_object_get(p, "id")));
        json_decref(p);
    }
    if (n_failed > W_FAILED_IDS && len < sizeof msg)
        snprintf(msg + len, sizeof msg - len, " and %zu more", n_failed - W_FAILED_IDS);
    rs->stats.failed += n_failed;
    rs->cursors_held = true;
    rs->on_failed(rs->on_failed_arg, msg);
}

/* Add a state point (payload owned by b) to the batch. */
static bool w__add_state(sc_records *rs, w_batch *b, const char *source, const char *id, char *payload) {
    if (!payload) return false;
    b->state[b->n_state++] = payload;
    b->pts[b->n_pts++] = (sc_point_in){.id = records_point_id(rs->tenant, source, RECORDS_STATE_KIND, id),
                                       .payload_json = payload};
    return true;
}

/* Build the points of the batch: records not skipped, meta, cursors. */
static sc_status w__points(sc_records *rs, w_batch *b) {
    size_t n = rs->n_pend;
    b->pts = calloc(n + rs->n_cur + 1, sizeof *b->pts);
    b->vin = calloc(n * RECORDS_VEC_COUNT + 1, sizeof *b->vin);
    b->state = calloc(rs->n_cur + 1, sizeof *b->state);
    if (!b->pts || !b->vin || !b->state) return records_fail(rs, SC_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (b->act[i] == W_FAIL) continue;
        if (b->act[i] == W_SKIP) {
            rs->stats.unchanged++;
            continue;
        }
        records_pending *pe = &rs->pend[i];
        sc_point_in *pt = &b->pts[b->n_pts++];
        *pt = (sc_point_in){.id = pe->pid, .payload_json = pe->payload, .text = *pe->kwtext ? pe->kwtext : NULL,
                            .vectors = b->vin + i * RECORDS_VEC_COUNT};
        for (int v = 0; v < RECORDS_VEC_COUNT; v++)
            if (b->has[i * RECORDS_VEC_COUNT + (size_t)v])
                b->vin[i * RECORDS_VEC_COUNT + pt->n_vectors++] =
                    (sc_vector_in){records_vec_names[v], b->vecs + (i * RECORDS_VEC_COUNT + (size_t)v) * rs->dim, rs->dim};
        rs->stats.written++;
        if (b->act[i] == W_REUSE) rs->stats.vectors_reused++;
    }
    bool ok = true;
    if (!rs->meta_written && (b->n_pts || rs->n_cur))
        ok = w__add_state(rs, b, "", "meta",
                          w__state_payload(rs, "", "meta",
                                           json_pack("{s:s, s:i, s:i}", "model", sc_embedder_id(rs->emb), "dim",
                                                     (int)rs->dim, "template_version", RECORDS_TEMPLATE_VERSION)));
    for (size_t i = 0; ok && !rs->cursors_held && i < rs->n_cur; i++) {
        char when[40];
        records_format_date((int64_t)time(NULL), when, sizeof when);
        ok = w__add_state(rs, b, rs->cur[i].source, "cursor",
                          w__state_payload(rs, rs->cur[i].source, "cursor",
                                           json_pack("{s:o, s:s}", "cursor", json_loads(rs->cur[i].json, 0, NULL),
                                                     "updated", when)));
    }
    return ok ? SC_OK : records_fail(rs, SC_NOMEM, "out of memory");
}

sc_status sc_records_flush(sc_records *rs) {
    if (!rs) return SC_MISUSE;
    if (!rs->n_pend && !rs->n_del && !rs->n_cur) return SC_OK;
    if (!rs->emb) {
        w__clear(rs);
        return records_fail(rs, SC_MISUSE, "this records handle was opened without an embedding provider (read only)");
    }
    sc_status rc = rs->exists ? SC_OK : records_store_create(rs);
    if (rc != SC_OK) {
        w__clear(rs);
        return rc;
    }
    double t0 = util_now();
    if (rs->n_del) {
        uint64_t nd = 0;
        rc = records_store_delete(rs, rs->del, rs->n_del, &nd);
        rs->stats.deleted += nd;
        rs->n_del = 0;
    }
    w_batch b;
    memset(&b, 0, sizeof b);
    size_t n = rs->n_pend;
    if (rc == SC_OK && (n || rs->n_cur)) {
        b.act = calloc(n + 1, sizeof *b.act);
        b.vecs = malloc(sizeof(float) * rs->dim * RECORDS_VEC_COUNT * (n + 1));
        b.has = calloc(n * RECORDS_VEC_COUNT + 1, sizeof *b.has);
        if (!b.act || !b.vecs || !b.has) rc = records_fail(rs, SC_NOMEM, "out of memory");
        if (rc == SC_OK && n) rc = w__lookup(rs, &b);
        rs->stats.seconds_store += util_now() - t0;
        if (rc == SC_OK) rc = w__embed(rs, &b);
        if (rc != SC_OK && b.provider_failed && rs->on_failed) {
            w__skip_batch(rs, &b);
            rc = SC_OK;
        }
        if (rc == SC_OK) rc = w__points(rs, &b);
        double t1 = util_now();
        if (rc == SC_OK && b.n_pts) rc = records_store_upsert(rs, b.pts, b.n_pts);
        rs->stats.seconds_store += util_now() - t1;
        if (rc == SC_OK && b.n_pts) {
            rs->stats.batches++;
            rs->meta_written = true;
        }
    }
    w__batch_free(&b);
    w__clear(rs);
    return rc;
}

/* ==== Listing ==== */

/* sc_records_each_id through records_each_field. */
typedef struct records_id_fn {
    bool (*fn)(void *arg, const char *id); /* the caller's */
    void *arg;                             /* its argument */
} records_id_fn;

static bool records__id_only(void *arg, const char *id, const json_t *value) {
    (void)value;
    records_id_fn *f = arg;
    return f->fn(f->arg, id);
}

sc_status sc_records_each_id(sc_records *rs, sc_rec_kind kind, const char *source, bool (*fn)(void *arg, const char *id),
                             void *arg) {
    if (!fn) return SC_MISUSE;
    records_id_fn f = {fn, arg};
    return records_each_field(rs, kind, source, NULL, records__id_only, &f);
}

sc_status records_each_field(sc_records *rs, sc_rec_kind kind, const char *source, const char *field,
                             bool (*fn)(void *arg, const char *id, const json_t *value), void *arg) {
    if (!rs || !source || !fn) return SC_MISUSE;
    if (!rs->exists) return SC_OK;
    json_t *f = json_pack("{s:[{s:s, s:{s:s}}, {s:s, s:{s:s}}]}", "must", "key", "kind", "match", "value",
                          sc_rec_kind_name(kind), "key", "source", "match", "value", source);
    char *ftext = f ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
    if (!ftext) return records_fail(rs, SC_NOMEM, "out of memory");
    const char *keys[] = {"id", field};
    sc_scroll_request req = {.filter_json = ftext, .limit = 1000};
    req.with = (sc_with){.payload = true, .payload_include = keys, .n_payload_include = field ? 2 : 1};
    sc_status rc = SC_OK;
    bool go = true;
    while (go) {
        sc_record_list *l = NULL;
        sc_point_id next;
        bool more = false;
        if ((rc = records_store_scroll(rs, &req, &l, &next, &more)) != SC_OK) break;
        for (size_t i = 0; go && i < l->n; i++) {
            json_t *p = json_loads(l->items[i].payload_json ? l->items[i].payload_json : "{}", 0, NULL);
            const char *id = json_string_value(json_object_get(p, "id"));
            if (id) go = fn(arg, id, field ? json_object_get(p, field) : NULL);
            json_decref(p);
        }
        sc_record_list_free(l);
        if (!more) break;
        req.has_offset = true;
        req.offset = next;
    }
    free(ftext);
    return rc;
}
