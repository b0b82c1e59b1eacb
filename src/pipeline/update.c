/*
** pipeline/update.c: bringing an index up to date with its source tree.
**
** walk -> compare with state.db (size + mtime, then content hash) -> parse
** the changed files in parallel -> prepare texts -> embed (cache, batch)
** -> upsert points with BM25 texts, delete vanished entities -> record the
** files in state.db. Files are processed in groups; each group's store
** writes commit before its state rows, so an interrupted run leaves a
** consistent index that the next run completes (see repo/repo_int.h).
**
** Hashes (index format 2, docs/FILE_FORMATS.md): a file's content hash
** (state.db) and an entity's content_hash and text_hash (payload) are
** XXH3-128; a point id is 63 bits of chained XXH3-64. A file whose state row
** still holds a format 1 hash (util_hash64_v1) is read and re-indexed even
** when its size and mtime match: its old points are matched by their
** format 1 ids and hashes, and their vectors taken over by their format 1
** text hashes, so the upgrade embeds nothing again.
*/
#include "pipeline/pipeline.h"
#include "backend/backend.h"
#include "parse/parse.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>


#define UPD_GROUP_FILES 128   /* files parsed and stored per group */
#define UPD_MAX_THREADS 16
#define UPD_HEX_V1 16         /* hex digits of a format 1 payload hash */

/* Kind of content hash a state row holds. */
typedef enum upd_hash_kind {
    UPD_HASH_NONE = 0, /* none usable: the file is read and parsed again */
    UPD_HASH_V1,       /* index format 1: util_hash64_v1, to be replaced */
    UPD_HASH_XXH128    /* XXH3-128 of the bytes */
} upd_hash_kind;

/* A file's content hash as state.db records it. */
typedef struct upd_hash {
    upd_hash_kind kind; /* which one */
    uint8_t h[16];      /* UPD_HASH_XXH128: canonical bytes */
} upd_hash;

/* One file of the walk and what the run learns about it. */
typedef struct upd_file {
    const char *path;        /* relative path (owned by the walk list) */
    uint64_t size;           /* bytes now */
    int64_t mtime;           /* modification time now (ns) */
    bool known;              /* state.db has it */
    uint64_t old_size;       /* state: size */
    int64_t old_mtime;       /* state: mtime */
    upd_hash old_hash;       /* state: content hash */
    char *src;               /* contents (while processed) */
    size_t src_size;         /* bytes read */
    uint8_t hash[16];        /* content hash (XXH3-128; the size for a file too large to read) */
    bool same_content;       /* read, but the bytes did not change */
    bool failed;             /* could not be read or parsed */
    bool too_large;          /* over the size limit: not read, no entities */
    sc_parse_result *res;    /* parse result (while processed) */
} upd_file;

/* State row of a file, for lookup by path. */
typedef struct upd_state {
    char *path;    /* relative path (owned) */
    uint64_t size; /* bytes */
    upd_hash hash; /* content hash */
    int64_t mtime; /* modification time (ns) */
    bool seen;     /* still in the tree */
} upd_state;

/* Record a failure of the run and return code. */
static sc_status upd__fail(pipeline_index *r, sc_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static sc_status upd__fail(pipeline_index *r, sc_status code, const char *fmt, ...) {
    if (r->err) {
        va_list ap;
        va_start(ap, fmt);
        r->err->code = code;
        vsnprintf(r->err->msg, sizeof r->err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int upd__state_cmp(const void *a, const void *b) {
    return strcmp(((const upd_state *)a)->path, ((const upd_state *)b)->path);
}

/* Parallel read + hash + parse of one group. */
typedef struct upd_job {
    pipeline_index *r;             /* repository */
    upd_file **files;       /* the group's changed files */
    size_t n;               /* how many */
    sc_parser **parsers;    /* one per thread */
    sc_parse_options popt;  /* parse options */
    bool graph_fill;        /* parse same-content files too (filling the call graph of an older index) */
} upd_job;

static void upd__worker(void *arg, uint32_t ith, uint32_t nth) {
    upd_job *job = arg;
    for (size_t i = ith; i < job->n; i += nth) {
        upd_file *f = job->files[i];
        if (f->size > job->popt.max_file_size) {
            f->too_large = true;
            util_h128_bytes((util_h128){0, f->size}, f->hash); /* not read: a change of size is a change */
            continue;
        }
        char p[PATH_MAX * 2];
        snprintf(p, sizeof p, "%s/%s", job->r->root, f->path);
        FILE *fp = fopen(p, "rb");
        if (!fp) {
            f->failed = true;
            continue;
        }
        size_t cap = f->size + 1;
        f->src = malloc(cap);
        size_t n = f->src ? fread(f->src, 1, cap - 1, fp) : 0;
        fclose(fp);
        if (!f->src) {
            f->failed = true;
            continue;
        }
        f->src[n] = '\0';
        f->src_size = n;
        util_h128_bytes(util_hash128(f->src, n, 0), f->hash);
        /* A format 1 row is never "same": its points are rewritten with format 2 hashes. */
        if (f->known && f->old_hash.kind == UPD_HASH_XXH128 && !memcmp(f->hash, f->old_hash.h, 16)) {
            f->same_content = true;
            if (!job->graph_fill) continue;
        }
        if (sc_parser_parse(job->parsers[ith], f->path, f->src, n, &job->popt, &f->res) != SC_OK) f->failed = true;
    }
}

/* ==== Entities of one file ==== */

/* Stable point id of an entity (pipeline.h): XXH3-64 of path, kind,
** qualified name and ordinal, each hashed with the previous result as seed. */
uint64_t pipeline_entity_id(const char *path, const sc_entity *e, uint32_t ordinal) {
    const char *kind = sc_entity_kind_name(e->kind);
    const char *qn = e->qualified_name ? e->qualified_name : "";
    uint8_t ord[4] = {(uint8_t)ordinal, (uint8_t)(ordinal >> 8), (uint8_t)(ordinal >> 16), (uint8_t)(ordinal >> 24)};
    uint64_t h = util_hash64(path, strlen(path), 0x1d);
    h = util_hash64(kind, strlen(kind), h);
    h = util_hash64(qn, strlen(qn), h);
    h = util_hash64(ord, sizeof ord, h);
    return h & 0x7fffffffffffffffULL; /* stay within JSON's signed integers */
}

/* The point id of index format 1 (matches old points while upgrading). */
static uint64_t upd__point_id_v1(const char *path, const sc_entity *e, uint32_t ordinal) {
    const char *kind = sc_entity_kind_name(e->kind);
    const char *qn = e->qualified_name ? e->qualified_name : "";
    uint64_t h = util_hash64_v1(path, strlen(path), 0x1d);
    h = util_hash64_v1(kind, strlen(kind), h);
    h = util_hash64_v1(qn, strlen(qn), h);
    h = util_mix64(h + ordinal);
    return h & 0x7fffffffffffffffULL;
}

/* Ordinal of entity i among earlier entities with the same kind and qualified
** name: with the path, kind and name it makes a point's stable id. */
uint32_t pipeline_entity_ordinal(const sc_parse_result *res, uint32_t i) {
    const sc_entity *e = &res->entities[i];
    uint32_t k = 0;
    for (uint32_t j = 0; j < i; j++) {
        const sc_entity *o = &res->entities[j];
        if (o->kind == e->kind && !strcmp(o->qualified_name ? o->qualified_name : "", e->qualified_name ? e->qualified_name : ""))
            k++;
    }
    return k;
}

static char *upd__payload(const pipeline_index *r, const char *path, const sc_parse_result *res, const sc_entity *e,
                          const char *hex, const char *thex) {
    json_t *p = json_object();
    json_object_set_new(p, "path", json_string(path));
    json_object_set_new(p, "language", json_string(sc_lang_name(res->lang)));
    json_object_set_new(p, "kind", json_string(sc_entity_kind_name(e->kind)));
    json_object_set_new(p, "name", json_string(e->name ? e->name : ""));
    json_object_set_new(p, "qualified_name", json_string(e->qualified_name ? e->qualified_name : ""));
    if (e->signature) json_object_set_new(p, "signature", json_stringn(e->signature, strlen(e->signature) < 400 ? strlen(e->signature) : 400));
    json_object_set_new(p, "start_line", json_integer(e->start_line));
    json_object_set_new(p, "end_line", json_integer(e->end_line));
    json_object_set_new(p, "lines", json_integer((json_int_t)e->end_line - e->start_line + 1));
    if (e->doc && *e->doc) json_object_set_new(p, "doc", json_stringn(e->doc, strlen(e->doc) < 300 ? strlen(e->doc) : 300));
    json_object_set_new(p, "complexity", json_integer(e->complexity));
    json_object_set_new(p, "content_hash", json_string(hex));
    json_object_set_new(p, "text_hash", json_string(thex));
    json_object_set_new(p, "model", json_string(r->pe->model_id));
    char *s = json_dumps(p, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(p);
    return s;
}

/* Old points of a file: ids and content hashes (owned arrays). */
static sc_status upd__old_points(pipeline_index *r, const char *path, sc_point_id **ids, char ***hashes, size_t *n) {
    *ids = NULL;
    *hashes = NULL;
    *n = 0;
    json_t *f = json_pack("{s:{s:s, s:{s:s}}}", "must", "key", "path", "match", "value", path);
    char *ftext = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    const char *keys[] = {"content_hash"};
    sc_scroll_request req = {.filter_json = ftext, .limit = 1000};
    req.with.payload = true;
    req.with.payload_include = keys;
    req.with.n_payload_include = 1;
    size_t cap = 0;
    sc_status rc = SC_OK;
    for (;;) {
        sc_record_list *l = NULL;
        sc_point_id next;
        bool more = false;
        if ((rc = backend_points_scroll(r->be, r->coll, &req, &l, &next, &more)) != SC_OK) {
            rc = upd__fail(r, rc, "%s", backend_errmsg(r->be));
            break;
        }
        for (size_t i = 0; i < l->n; i++) {
            if (*n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                sc_point_id *gi = realloc(*ids, sizeof *gi * ncap);
                if (gi) *ids = gi;
                char **gh = gi ? realloc(*hashes, sizeof *gh * ncap) : NULL;
                if (gh) *hashes = gh;
                if (!gi || !gh) { /* the arrays keep their old size and contents: the caller frees them */
                    rc = upd__fail(r, SC_NOMEM, "out of memory");
                    break;
                }
                cap = ncap;
            }
            json_t *p = json_loads(l->items[i].payload_json, 0, NULL);
            (*ids)[*n] = l->items[i].id;
            (*hashes)[*n] = util_strdup(json_string_value(json_object_get(p, "content_hash")));
            json_decref(p);
            (*n)++;
        }
        sc_record_list_free(l);
        if (rc != SC_OK || !more) break;
        req.has_offset = true;
        req.offset = next;
    }
    free(ftext);
    if (rc != SC_OK) { /* nothing half-collected goes back to the caller */
        for (size_t k = 0; k < *n; k++) free((*hashes)[k]);
        free(*hashes);
        free(*ids);
        *ids = NULL;
        *hashes = NULL;
        *n = 0;
    }
    return rc;
}

/* ==== One group of changed files ==== */

/* Text hash of one prepared text, as payloads hold it (the vector reuse key). */
typedef struct upd_thash {
    char hex[33];            /* XXH3-128, 32 hex digits */
    char v1[UPD_HEX_V1 + 1]; /* index format 1's hash, or "" when no point can have one */
} upd_thash;

/* Pending points of a group. */
typedef struct upd_batch {
    sc_point_in *pts;      /* points */
    sc_vector_in *vin;     /* their vectors */
    char **payloads;       /* owned payload JSON */
    char **texts;          /* owned prepared texts (embedded) */
    char **kwtexts;        /* owned BM25 texts */
    upd_thash *thash;      /* hash of each prepared text (vector reuse key) */
    bool with_v1;          /* the index may hold points of format 1: match their ids and hashes too */
    float *vecs;           /* n * dim */
    size_t n, cap;         /* used, allocated */
    sc_point_id *del;      /* ids to delete */
    size_t n_del, cap_del; /* used, allocated */
} upd_batch;

static void upd__batch_free(upd_batch *b) {
    for (size_t i = 0; i < b->n; i++) {
        free(b->payloads[i]);
        free(b->texts[i]);
        free(b->kwtexts[i]);
    }
    free(b->pts);
    free(b->vin);
    free(b->payloads);
    free(b->texts);
    free(b->kwtexts);
    free(b->thash);
    free(b->vecs);
    free(b->del);
    memset(b, 0, sizeof *b);
}

static bool upd__batch_push(upd_batch *b, uint64_t id, char *payload, char *text, char *kwtext, const upd_thash *thash) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        sc_point_in *pts = realloc(b->pts, sizeof *pts * cap);
        if (pts) b->pts = pts;
        char **p1 = realloc(b->payloads, sizeof *p1 * cap);
        if (p1) b->payloads = p1;
        char **p2 = realloc(b->texts, sizeof *p2 * cap);
        if (p2) b->texts = p2;
        char **p3 = realloc(b->kwtexts, sizeof *p3 * cap);
        if (p3) b->kwtexts = p3;
        upd_thash *p4 = realloc(b->thash, sizeof *p4 * cap);
        if (p4) b->thash = p4;
        if (!pts || !p1 || !p2 || !p3 || !p4) return false;
        b->cap = cap;
    }
    memset(&b->pts[b->n], 0, sizeof b->pts[b->n]);
    b->pts[b->n].id = sc_point_id_num(id);
    b->payloads[b->n] = payload;
    b->texts[b->n] = text;
    b->kwtexts[b->n] = kwtext;
    b->thash[b->n] = *thash;
    b->n++;
    return true;
}

static bool upd__batch_del(upd_batch *b, sc_point_id id) {
    if (!util_grow(&b->del, &b->cap_del, b->n_del + 1, sizeof *b->del, 64)) return false;
    b->del[b->n_del++] = id;
    return true;
}

/* Is h a payload hash of index format 1 (16 hex digits)? */
static bool upd__is_v1(const char *h) { return h && strlen(h) == UPD_HEX_V1; }

/* Collect the points of a parsed file into the batch; count entity changes.
** An old point is the same entity when its id is the entity's id, or (an
** index being upgraded) its format 1 id: that one is deleted, its entity
** stored under the new id, and neither counts as added nor removed. */
static sc_status upd__collect(pipeline_index *r, upd_file *f, upd_batch *b, sc_repo_summary *sum) {
    sc_point_id *old_ids = NULL;
    char **old_hashes = NULL;
    size_t n_old = 0;
    sc_status rc = SC_OK;
    if (f->known && (rc = upd__old_points(r, f->path, &old_ids, &old_hashes, &n_old)) != SC_OK) return rc;
    bool *kept = calloc(n_old ? n_old : 1, sizeof *kept);   /* same id: the upsert replaces it */
    bool *moved = calloc(n_old ? n_old : 1, sizeof *moved); /* format 1 id of a current entity */
    bool old_v1 = false;
    for (size_t k = 0; k < n_old; k++) old_v1 |= upd__is_v1(old_hashes[k]);
    const sc_parse_result *res = f->res;
    for (uint32_t i = 0; kept && moved && res && i < res->n_entities; i++) {
        const sc_entity *e = &res->entities[i];
        uint32_t ord = pipeline_entity_ordinal(res, i);
        uint64_t id = pipeline_entity_id(f->path, e, ord);
        uint64_t id_v1 = old_v1 ? upd__point_id_v1(f->path, e, ord) : 0;
        uint64_t lo = e->start_byte < f->src_size ? e->start_byte : f->src_size;
        uint64_t hi = e->end_byte < f->src_size ? e->end_byte : f->src_size;
        size_t len = (size_t)(hi > lo ? hi - lo : 0);
        char hex[33];
        util_h128_hex(util_hash128(f->src + lo, len, 0), hex);
        bool found = false;
        for (size_t k = 0; k < n_old && !found; k++) {
            bool v1 = upd__is_v1(old_hashes[k]);
            if (old_ids[k].num == id) kept[k] = true;
            else if (v1 && old_ids[k].num == id_v1 && !moved[k]) moved[k] = true;
            else continue;
            found = true;
            char hv1[UPD_HEX_V1 + 1];
            if (v1) snprintf(hv1, sizeof hv1, "%016llx", (unsigned long long)util_hash64_v1(f->src + lo, len, 0xc0de));
            if (old_hashes[k] && !strcmp(old_hashes[k], v1 ? hv1 : hex)) sum->entities_unchanged++;
            else sum->entities_updated++;
        }
        if (!found) sum->entities_added++;
        char *text = pipeline_prepare_text(r->template_variant, e, f->path, f->src, f->src_size);
        upd_thash th = {.hex = "", .v1 = ""};
        if (text) {
            util_h128_hex(util_hash128(text, strlen(text), 0), th.hex);
            if (b->with_v1)
                snprintf(th.v1, sizeof th.v1, "%016llx", (unsigned long long)util_hash64_v1(text, strlen(text), 0x7e47));
        }
        char *payload = text ? upd__payload(r, f->path, res, e, hex, th.hex) : NULL;
        char *kwtext = pipeline_keyword_text(e, f->path, f->src, f->src_size);
        if (!payload || !text || !kwtext || !upd__batch_push(b, id, payload, text, kwtext, &th)) {
            free(payload);
            free(text);
            free(kwtext);
            rc = upd__fail(r, SC_NOMEM, "out of memory preparing %s", f->path);
            break;
        }
    }
    if (!kept || !moved) rc = upd__fail(r, SC_NOMEM, "out of memory");
    for (size_t k = 0; rc == SC_OK && k < n_old; k++)
        if (!kept[k]) {
            if (!upd__batch_del(b, old_ids[k])) rc = upd__fail(r, SC_NOMEM, "out of memory");
            if (!moved[k]) sum->entities_removed++;
        }
    for (size_t k = 0; k < n_old; k++) free(old_hashes[k]);
    free(old_hashes);
    free(old_ids);
    free(kept);
    free(moved);
    return rc;
}

/* A text hash of the batch (format 2 or 1) and the item that has it, for the reuse lookup. */
typedef struct upd_hidx {
    const char *h; /* hex digits (borrowed from the batch) */
    size_t i;      /* batch index */
} upd_hidx;

static int upd__hidx_cmp(const void *a, const void *b) {
    return strcmp(((const upd_hidx *)a)->h, ((const upd_hidx *)b)->h);
}

/* Reuse the stored vector of every batch item whose prepared text (by its
** hash) the index already holds for this model: unchanged entities of a
** changed file, and functions moved within a file, are not embedded again.
** While an index is upgraded, points of format 1 answer to the format 1
** hash of the same text. Marks them in reused and copies their vectors;
** returns how many. */
static size_t upd__reuse(pipeline_index *r, upd_batch *b, bool *reused) {
    upd_hidx *idx = malloc(sizeof *idx * b->n * 2);
    if (!idx) return 0;
    json_t *any = json_array();
    size_t n_idx = 0;
    for (size_t i = 0; i < b->n; i++) {
        idx[n_idx++] = (upd_hidx){b->thash[i].hex, i};
        json_array_append_new(any, json_string(b->thash[i].hex));
        if (b->thash[i].v1[0]) {
            idx[n_idx++] = (upd_hidx){b->thash[i].v1, i};
            json_array_append_new(any, json_string(b->thash[i].v1));
        }
    }
    qsort(idx, n_idx, sizeof *idx, upd__hidx_cmp);
    json_t *f = json_pack("{s:[{s:s, s:{s:o}}, {s:s, s:{s:s}}]}", "must", "key", "text_hash", "match", "any", any,
                          "key", "model", "match", "value", r->pe->model_id);
    char *ftext = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    const char *keys[] = {"text_hash"};
    const char *vn[] = {r->vector};
    sc_scroll_request req = {.filter_json = ftext, .limit = (uint32_t)n_idx + 1};
    req.with = (sc_with){.payload = true, .payload_include = keys, .n_payload_include = 1, .vectors = true,
                         .vector_names = vn, .n_vector_names = 1};
    sc_record_list *l = NULL;
    sc_point_id next;
    bool more;
    size_t n = 0;
    if (ftext && backend_points_scroll(r->be, r->coll, &req, &l, &next, &more) == SC_OK) {
        for (size_t k = 0; k < l->n; k++) {
            if (l->items[k].n_vectors != 1 || l->items[k].vector_dims[0] != r->pe->dim) continue;
            json_t *p = json_loads(l->items[k].payload_json, 0, NULL);
            upd_hidx key = {json_string_value(json_object_get(p, "text_hash")), 0};
            upd_hidx *hit = key.h ? bsearch(&key, idx, n_idx, sizeof *idx, upd__hidx_cmp) : NULL;
            /* every batch item with this hash (equal texts) takes the vector */
            while (hit && hit > idx && !strcmp(hit[-1].h, key.h)) hit--;
            for (; hit && hit < idx + n_idx && !strcmp(hit->h, key.h); hit++) {
                if (reused[hit->i]) continue;
                memcpy(b->vecs + hit->i * r->pe->dim, l->items[k].vectors[0], sizeof(float) * r->pe->dim);
                reused[hit->i] = true;
                n++;
            }
            json_decref(p);
        }
        sc_record_list_free(l);
    }
    free(ftext);
    free(idx);
    return n;
}

/* Replace the "model" of payload i of b (kept as it was when out of memory). */
static void upd__set_model(upd_batch *b, size_t i, const char *model) {
    json_t *p = json_loads(b->payloads[i], 0, NULL);
    char *s = NULL;
    if (p && json_object_set_new(p, "model", json_string(model)) == 0) s = json_dumps(p, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(p);
    if (!s) return;
    free(b->payloads[i]);
    b->payloads[i] = s;
}

/* Embed and store a batch; the store commits it atomically. */
static sc_status upd__flush(pipeline_index *r, upd_batch *b, sc_repo_summary *sum, double *t_embed, double *t_store) {
    sc_status rc = SC_OK;
    double t0 = util_now();
    if (b->n) {
        b->vecs = malloc(sizeof(float) * r->pe->dim * b->n);
        b->vin = calloc(b->n, sizeof *b->vin);
        sc_embed_item *items = calloc(b->n, sizeof *items);
        bool *reused = calloc(b->n, sizeof *reused);
        if (!b->vecs || !b->vin || !items || !reused) {
            free(items);
            free(reused);
            return upd__fail(r, SC_NOMEM, "out of memory embedding %zu entities", b->n);
        }
        size_t n_reused = upd__reuse(r, b, reused);
        sum->embeddings_cached += n_reused;
        /* Embed the rest (compacted). */
        size_t m = 0;
        const char **texts = malloc(sizeof *texts * b->n);
        size_t *at = malloc(sizeof *at * b->n);
        float *tmp = malloc(sizeof(float) * r->pe->dim * b->n);
        sc_embed_item *titems = calloc(b->n, sizeof *titems);
        if (!texts || !at || !tmp || !titems) {
            free(texts);
            free(at);
            free(tmp);
            free(titems);
            free(items);
            free(reused);
            return upd__fail(r, SC_NOMEM, "out of memory embedding %zu entities", b->n);
        }
        for (size_t i = 0; i < b->n; i++)
            if (!reused[i]) {
                texts[m] = b->texts[i];
                at[m++] = i;
            }
        sc_embed_summary es;
        memset(&es, 0, sizeof es);
        if (m) sc_embedder_embed(r->pe->emb, SC_EMBED_ROLE_CODE, texts, m, tmp, titems, &es);
        for (size_t j = 0; j < m; j++) {
            items[at[j]] = titems[j];
            memcpy(b->vecs + at[j] * r->pe->dim, tmp + j * r->pe->dim, sizeof(float) * r->pe->dim);
        }
        free(texts);
        free(at);
        free(tmp);
        free(titems);
        free(reused);
        /* A provider that could not answer (remote requests exhausted, no
        ** fallback) stops the run before this batch is stored: its files keep
        ** their old state, so the next run embeds them again. Items that are
        ** bad in themselves (empty, too long) are stored without a vector. */
        for (size_t i = 0; i < b->n; i++)
            if (items[i].status == SC_IOERR) {
                rc = upd__fail(r, SC_IOERR,
                               "embedding with %s failed: %s; this batch of %zu entities was not stored, run "
                               "'semcode index' again when the provider answers",
                               sc_embedder_id(r->pe->emb), items[i].error, b->n);
                free(items);
                return rc;
            }
        /* A vector the fallback made records the fallback's model, so the
        ** payload tells which provider produced it and the next run does not
        ** reuse it as if the remote model had. */
        for (size_t i = 0; i < b->n; i++)
            if (items[i].status == SC_OK && items[i].provider && strcmp(items[i].provider, sc_embedder_id(r->pe->emb)))
                upd__set_model(b, i, items[i].provider);
        sum->embeddings_cached += es.cached;
        sum->embeddings_new += es.newly_embedded;
        sum->embeddings_failed += es.failed;
        for (size_t i = 0; i < b->n; i++) {
            b->pts[i].payload_json = b->payloads[i];
            b->pts[i].text = b->kwtexts[i];
            if (items[i].status == SC_OK) {
                b->vin[i] = (sc_vector_in){r->vector, b->vecs + i * r->pe->dim, r->pe->dim};
                b->pts[i].vectors = &b->vin[i];
                b->pts[i].n_vectors = 1;
            } else {
                /* Keyword search still finds an entity that got no vector. */
                b->pts[i].vectors = NULL;
                b->pts[i].n_vectors = 0;
            }
        }
        free(items);
    }
    double t1 = util_now();
    *t_embed += t1 - t0;
    if (b->n_del && backend_points_delete(r->be, r->coll, b->del, b->n_del) != SC_OK)
        rc = upd__fail(r, SC_IOERR, "%s", backend_errmsg(r->be));
    if (rc == SC_OK && b->n && backend_points_upsert(r->be, r->coll, b->pts, b->n) != SC_OK)
        rc = upd__fail(r, SC_IOERR, "%s", backend_errmsg(r->be));
    *t_store += util_now() - t1;
    return rc;
}

/* Record files in state.db (after their points are stored). */
static sc_status upd__record(pipeline_index *r, upd_file **files, size_t n) {
    sc_status rc = pipeline_state_exec(r->state, "BEGIN", r->err);
    if (rc != SC_OK) return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->state,
                           "INSERT OR REPLACE INTO files(path, size, mtime, hash, n_entities) VALUES(?1,?2,?3,?4,?5)",
                           -1, &st, NULL) != SQLITE_OK) {
        pipeline_state_exec(r->state, "ROLLBACK", r->err);
        return upd__fail(r, SC_IOERR, "state database: %s", sqlite3_errmsg(r->state));
    }
    for (size_t i = 0; i < n; i++) {
        upd_file *f = files[i];
        if (f->failed) continue;
        /* a same-content file keeps its graph rows unless it was parsed to fill them */
        if ((!f->same_content || f->res) && (rc = pipeline_graph_write(r->state, f->path, f->res, r->err)) != SC_OK)
            break;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, f->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)f->size);
        sqlite3_bind_int64(st, 3, f->mtime);
        sqlite3_bind_blob(st, 4, f->hash, sizeof f->hash, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, f->res ? f->res->n_entities : (sqlite3_int64)-1);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = upd__fail(r, SC_IOERR, "state database: %s", sqlite3_errmsg(r->state));
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc == SC_OK) return pipeline_state_exec(r->state, "COMMIT", r->err);
    pipeline_state_exec(r->state, "ROLLBACK", r->err);
    return rc;
}

/* Same-content files keep their entity count and hash: only size and mtime change. */
static sc_status upd__touch(pipeline_index *r, upd_file **files, size_t n) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->state, "UPDATE files SET size=?2, mtime=?3 WHERE path=?1", -1, &st, NULL) != SQLITE_OK)
        return upd__fail(r, SC_IOERR, "state database: %s", sqlite3_errmsg(r->state));
    pipeline_state_exec(r->state, "BEGIN", r->err);
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, files[i]->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)files[i]->size);
        sqlite3_bind_int64(st, 3, files[i]->mtime);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return pipeline_state_exec(r->state, "COMMIT", r->err);
}

/* ==== The run ==== */

static void upd__progress(pipeline_index *r, const char *stage, const sc_repo_summary *sum, uint64_t total, uint64_t done,
                          uint64_t changed, double t0) {
    if (!r->opt.progress) return;
    sc_repo_progress p = {stage, total, done, changed,
                          sum->entities_added + sum->entities_updated + sum->entities_unchanged,
                          sum->embeddings_new, sum->embeddings_cached, util_now() - t0};
    r->opt.progress(r->opt.progress_arg, &p);
}

/* What one run holds between its steps. */
typedef struct upd_run {
    pipeline_index *r;               /* the index being updated */
    sc_repo_summary sum;             /* counters and times */
    double t0;                       /* start of the run */
    pipeline_file_list list;         /* the walk (owns the paths) */
    upd_file *files;                 /* the files of the walk outside the index folder */
    size_t n_files;                  /* entries in files */
    upd_state *state;                /* state.db rows, sorted by path */
    size_t n_state;                  /* entries in state */
    upd_file **todo;                 /* files to read (size or mtime changed, new, or a format 1 hash) */
    size_t n_todo;                   /* entries in todo */
    size_t n_v1;                     /* state rows with a format 1 hash (index being upgraded) */
    bool graph_fill;                 /* the index predates the call graph: parse every file once */
    sc_parser *parsers[UPD_MAX_THREADS]; /* one per thread */
    uint32_t nth;                    /* threads */
} upd_run;

/* Step 1: walk the tree and stat every file, leaving out the index's own folder. */
static sc_status upd__walk(upd_run *run) {
    pipeline_index *r = run->r;
    sc_walk_options wopt = sc_walk_options_default();
    sc_status wrc = pipeline_walk(r->root, &wopt, &run->list, r->err);
    if (wrc != SC_OK) return wrc;
    /* The index's own folder is never indexed. */
    size_t rl = strlen(r->root);
    const char *own = strncmp(r->store_dir, r->root, rl) == 0 && r->store_dir[rl] == '/' ? r->store_dir + rl + 1 : NULL;
    run->files = calloc(run->list.n ? run->list.n : 1, sizeof *run->files);
    if (!run->files) return upd__fail(r, SC_NOMEM, "out of memory");
    for (size_t i = 0; i < run->list.n; i++) {
        const char *p = run->list.items[i].path;
        if (own && !strncmp(p, own, strlen(own)) && p[strlen(own)] == '/') continue;
        upd_file *f = &run->files[run->n_files++];
        f->path = p;
        f->size = run->list.items[i].size;
        char fp[PATH_MAX * 2];
        snprintf(fp, sizeof fp, "%s/%s", r->root, p);
        struct stat sb;
        if (stat(fp, &sb) == 0) {
            f->size = (uint64_t)sb.st_size;
            f->mtime = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        }
    }
    run->sum.files_seen = run->n_files;
    return SC_OK;
}

/* Step 2: read the recorded state (sorted by path) and list the files whose
** size or mtime changed, or that are new. */
static sc_status upd__compare(upd_run *run) {
    sqlite3_stmt *st = NULL;
    size_t cap_state = 0;
    if (sqlite3_prepare_v2(run->r->state, "SELECT path, size, mtime, hash FROM files", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (!util_grow(&run->state, &cap_state, run->n_state + 1, sizeof *run->state, 1024)) break;
            upd_state *s = &run->state[run->n_state++];
            s->path = util_strdup((const char *)sqlite3_column_text(st, 0));
            s->size = (uint64_t)sqlite3_column_int64(st, 1);
            s->mtime = sqlite3_column_int64(st, 2);
            memset(&s->hash, 0, sizeof s->hash);
            if (sqlite3_column_type(st, 3) == SQLITE_INTEGER) {
                s->hash.kind = UPD_HASH_V1;
                run->n_v1++;
            } else if (sqlite3_column_type(st, 3) == SQLITE_BLOB && sqlite3_column_bytes(st, 3) == 16) {
                s->hash.kind = UPD_HASH_XXH128;
                memcpy(s->hash.h, sqlite3_column_blob(st, 3), 16);
            }
            s->seen = false;
        }
    }
    sqlite3_finalize(st);
    if (run->n_state) qsort(run->state, run->n_state, sizeof *run->state, upd__state_cmp);
    run->todo = malloc(sizeof *run->todo * (run->n_files ? run->n_files : 1));
    for (size_t i = 0; run->todo && i < run->n_files; i++) {
        upd_file *f = &run->files[i];
        upd_state key = {.path = (char *)f->path};
        upd_state *s = run->n_state ? bsearch(&key, run->state, run->n_state, sizeof *run->state, upd__state_cmp) : NULL;
        if (s) {
            s->seen = true;
            f->known = true;
            f->old_size = s->size;
            f->old_mtime = s->mtime;
            f->old_hash = s->hash;
            if (s->size == f->size && s->mtime == f->mtime && s->hash.kind == UPD_HASH_XXH128 && !run->graph_fill) {
                run->sum.files_unchanged++;
                continue;
            }
        }
        run->todo[run->n_todo++] = f;
    }
    return SC_OK;
}

/* Step 3: delete the points and state rows of files gone since the last run. */
static sc_status upd__delete_gone(upd_run *run) {
    pipeline_index *r = run->r;
    sc_status rc = SC_OK;
    for (size_t i = 0; rc == SC_OK && i < run->n_state; i++) {
        if (run->state[i].seen) continue;
        json_t *fj = json_pack("{s:{s:s, s:{s:s}}}", "must", "key", "path", "match", "value", run->state[i].path);
        char *ftext = json_dumps(fj, JSON_COMPACT);
        json_decref(fj);
        uint64_t nd = 0;
        if (backend_points_count(r->be, r->coll, ftext, &nd) != SC_OK ||
            backend_points_delete_by_filter(r->be, r->coll, ftext) != SC_OK)
            rc = upd__fail(r, SC_IOERR, "%s", backend_errmsg(r->be));
        free(ftext);
        run->sum.entities_removed += nd;
        run->sum.files_deleted++;
        sqlite3_stmt *del = NULL;
        if (rc == SC_OK && sqlite3_prepare_v2(r->state, "DELETE FROM files WHERE path=?1", -1, &del, NULL) == SQLITE_OK) {
            sqlite3_bind_text(del, 1, run->state[i].path, -1, SQLITE_STATIC);
            sqlite3_step(del);
        }
        sqlite3_finalize(del);
        if (rc == SC_OK) rc = pipeline_graph_forget(r->state, run->state[i].path, r->err);
    }
    return rc;
}

/* Step 4 for one group of changed files (read and parsed already): collect
** their entities, embed and store them, record the files. */
static sc_status upd__store_group(upd_run *run, upd_file **group, size_t gn, double *t_embed, double *t_store) {
    pipeline_index *r = run->r;
    sc_repo_summary *sum = &run->sum;
    sc_status rc = SC_OK;
    upd_batch b = {.with_v1 = run->n_v1 > 0};
    upd_file *same[UPD_GROUP_FILES];
    size_t n_same = 0;
    for (size_t i = 0; rc == SC_OK && i < gn; i++) {
        upd_file *f = group[i];
        if (f->failed) {
            sum->files_failed++;
            continue;
        }
        if (f->same_content) {
            same[n_same++] = f;
            sum->files_unchanged++;
            continue;
        }
        if (f->too_large) sum->skipped_by_reason[SC_SKIP_TOO_LARGE]++;
        else sum->files_parsed++;
        if (f->res && f->res->skipped != SC_SKIP_NONE && f->res->skipped < 16) sum->skipped_by_reason[f->res->skipped]++;
        rc = upd__collect(r, f, &b, sum);
    }
    if (rc == SC_OK) rc = upd__flush(r, &b, sum, t_embed, t_store);
    if (rc == SC_OK) rc = upd__record(r, group, gn);
    if (rc == SC_OK && n_same) rc = upd__touch(r, same, n_same);
    upd__batch_free(&b);
    for (size_t i = 0; i < gn; i++) {
        upd_file *f = group[i];
        free(f->src);
        f->src = NULL;
        sc_parse_result_free(f->res);
        f->res = NULL;
    }
    return rc;
}

/* Step 4: the changed and new files, group by group: read, hash and parse
** in parallel, then store (upd__store_group). */
static sc_status upd__process(upd_run *run) {
    pipeline_index *r = run->r;
    sc_status rc = SC_OK;
    for (uint32_t t = 0; rc == SC_OK && t < run->nth; t++)
        if (sc_parser_new(&run->parsers[t], NULL) != SC_OK) rc = upd__fail(r, SC_NOMEM, "out of memory creating parsers");
        else parse_parser_set_calls(run->parsers[t], true);
    upd_job job = {.r = r, .parsers = run->parsers, .popt = sc_parse_options_default(), .graph_fill = run->graph_fill};
    if (r->opt.max_file_size) job.popt.max_file_size = r->opt.max_file_size;
    double t_parse = 0, t_embed = 0, t_store = 0;
    for (size_t g = 0; rc == SC_OK && g < run->n_todo; g += UPD_GROUP_FILES) {
        if (r->opt.cancel && *r->opt.cancel) {
            rc = upd__fail(r, SC_INTERRUPTED, "interrupted; the next run finishes the job");
            break;
        }
        size_t gn = run->n_todo - g < UPD_GROUP_FILES ? run->n_todo - g : UPD_GROUP_FILES;
        job.files = run->todo + g;
        job.n = gn;
        double tp = util_now();
        util_parallel_run(upd__worker, &job, run->nth);
        t_parse += util_now() - tp;
        rc = upd__store_group(run, run->todo + g, gn, &t_embed, &t_store);
        upd__progress(r, "embed", &run->sum, run->n_files, run->sum.files_unchanged + g + gn, run->n_todo, run->t0);
    }
    run->sum.seconds_parse = t_parse;
    run->sum.seconds_embed = t_embed;
    run->sum.seconds_store = t_store;
    return rc;
}

/* Step 5 (success only): persist the ANN graph now rather than at close, so
** a crash later needs no catch-up, and record the run in meta. */
static void upd__finish(upd_run *run) {
    pipeline_index *r = run->r;
    const sc_repo_summary *sum = &run->sum;
    backend_collection_optimize(r->be, r->coll);
    char when[32];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    pipeline_meta_set(r->state, "last_index", when, NULL);
    pipeline_meta_set(r->state, "call_graph", "1", NULL); /* every file's graph rows are written */
    char js[512];
    snprintf(js, sizeof js,
             "{\"files_seen\":%llu,\"files_parsed\":%llu,\"entities_added\":%llu,\"entities_updated\":%llu,"
             "\"entities_removed\":%llu,\"embeddings_cached\":%llu,\"embeddings_new\":%llu,\"seconds\":%.3f}",
             (unsigned long long)sum->files_seen, (unsigned long long)sum->files_parsed,
             (unsigned long long)sum->entities_added, (unsigned long long)sum->entities_updated,
             (unsigned long long)sum->entities_removed, (unsigned long long)sum->embeddings_cached,
             (unsigned long long)sum->embeddings_new, sum->seconds_total);
    pipeline_meta_set(r->state, "last_summary", js, NULL);
}

static void upd__run_free(upd_run *run) {
    for (uint32_t t = 0; t < run->nth; t++) sc_parser_free(run->parsers[t]);
    free(run->todo);
    for (size_t i = 0; i < run->n_state; i++) free(run->state[i].path);
    free(run->state);
    free(run->files);
    pipeline_file_list_free(&run->list);
}

sc_status pipeline_update(pipeline_index *r, sc_repo_summary *out) {
    sc_status rc = pipeline_embedder_ready(r->pe, r->err);
    if (rc != SC_OK) return rc;
    upd_run run;
    memset(&run, 0, sizeof run);
    run.r = r;
    run.t0 = util_now();
    run.nth = r->opt.n_threads ? r->opt.n_threads : util_n_cores();
    if (run.nth > UPD_MAX_THREADS) run.nth = UPD_MAX_THREADS;
    char *cg = pipeline_meta_get(r->state, "call_graph");
    run.graph_fill = cg == NULL; /* an index made before the call graph (graph.c) */
    free(cg);

    upd__progress(r, "walk", &run.sum, 0, 0, 0, run.t0);
    rc = upd__walk(&run);
    if (rc != SC_OK) {
        upd__run_free(&run);
        return rc;
    }
    rc = upd__compare(&run);
    run.sum.seconds_walk = util_now() - run.t0;
    if (rc == SC_OK && run.n_v1)
        util_log(&r->opt.logger, SC_LOG_LEVEL_INFO,
                 "index format 1 -> %d: re-reading %zu files to replace their hashes; stored vectors are reused, "
                 "not embedded again", PIPELINE_INDEX_FORMAT_HASHES, run.n_v1);
    if (rc == SC_OK) rc = upd__delete_gone(&run);
    if (rc == SC_OK) rc = upd__process(&run);
    run.sum.seconds_total = util_now() - run.t0;
    if (rc == SC_OK) upd__finish(&run);
    upd__progress(r, "done", &run.sum, run.n_files, run.n_files, run.n_todo, run.t0);
    if (out) *out = run.sum;
    upd__run_free(&run);
    return rc;
}
