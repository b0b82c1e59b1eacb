/*
** ingest/query.c: searching an indexed repository. Dense search embeds the
** query with the model's query side; keyword search is the store's BM25;
** hybrid runs both and fuses them by weighted reciprocal rank (SC_HYBRID_*
** in repo.h: k 10, keyword weight 0.5) or, with
** alpha, by a weighted sum of min-max normalised scores. Also `similar`
** (nearest entities of one entity) and `duplicates` (clusters linked by
** nearest-neighbour edges above a threshold).
*/
#include "ingest/repo_int.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* A candidate during fusion. */
typedef struct q_cand {
    uint64_t id;       /* point id */
    char *payload;     /* owned payload JSON */
    double dense;      /* dense score, NAN if absent */
    double kw;         /* keyword score, NAN if absent */
    int dense_rank;    /* 1-based, 0 if absent */
    int kw_rank;       /* 1-based, 0 if absent */
    double fused;      /* final score */
} q_cand;

typedef struct q_set {
    q_cand *items; /* candidates */
    size_t n, cap; /* used, allocated */
} q_set;

static q_cand *q__find_or_add(q_set *s, const sc_record *rec) {
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].id == rec->id.num) return &s->items[i];
    if (!util_grow(&s->items, &s->cap, s->n + 1, sizeof *s->items, 64)) return NULL;
    q_cand *c = &s->items[s->n++];
    memset(c, 0, sizeof *c);
    c->id = rec->id.num;
    c->payload = util_strdup(rec->payload_json);
    c->dense = c->kw = (double)NAN;
    return c;
}

static int q__cand_cmp(const void *a, const void *b) {
    const q_cand *x = a, *y = b;
    if (x->fused != y->fused) return x->fused > y->fused ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Min-max normalise one list's scores in place into [0, 1]. */
static void q__normalise(q_set *s, bool dense) {
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (size_t i = 0; i < s->n; i++) {
        double v = dense ? s->items[i].dense : s->items[i].kw;
        if (isnan(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    for (size_t i = 0; i < s->n; i++) {
        double *v = dense ? &s->items[i].dense : &s->items[i].kw;
        if (isnan(*v)) *v = 0;
        else *v = hi > lo ? (*v - lo) / (hi - lo) : 1.0;
    }
}

static sc_status q__build_hits(sc_repo *r, q_set *s, uint32_t limit, float min_score, sc_code_hits **out) {
    sc_code_hits *h = calloc(1, sizeof *h);
    size_t n = s->n < limit ? s->n : limit;
    if (!h || (n && !(h->items = calloc(n, sizeof *h->items)))) {
        free(h);
        return repo_fail(r, SC_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (min_score > 0 && s->items[i].fused < (double)min_score) break;
        if (repo_hit_from_payload(r, s->items[i].payload, (float)s->items[i].fused, &h->items[h->n]) != SC_OK) break;
        h->items[h->n].rank = (uint32_t)h->n + 1;
        h->n++;
    }
    *out = h;
    return SC_OK;
}

static void q__set_free(q_set *s) {
    for (size_t i = 0; i < s->n; i++) free(s->items[i].payload);
    free(s->items);
}

/* Run a dense or keyword search into the set. */
static sc_status q__run(sc_repo *r, const float *vec, const char *text, const char *filter, uint32_t want,
                        const sc_point_id *exclude, q_set *s, bool dense) {
    sc_search_request req = {.vector_name = REPO_VECTOR, .query = vec, .dim = r->dim, .text = vec ? NULL : text,
                             .limit = want, .filter_json = filter, .with = {.payload = true}};
    sc_record_list *l = NULL;
    if (sc_points_search(r->db, REPO_COLLECTION, &req, &l) != SC_OK)
        return repo_fail(r, SC_INVALID, "%s", sc_db_errmsg(r->db));
    int rank = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (exclude && sc_point_id_cmp(exclude, &l->items[i].id) == 0) continue;
        q_cand *c = q__find_or_add(s, &l->items[i]);
        if (!c) {
            sc_record_list_free(l);
            return repo_fail(r, SC_NOMEM, "out of memory");
        }
        rank++;
        if (dense) {
            c->dense = (double)l->items[i].score;
            c->dense_rank = rank;
        } else {
            c->kw = (double)l->items[i].score;
            c->kw_rank = rank;
        }
    }
    sc_record_list_free(l);
    return SC_OK;
}

static sc_status q__search(sc_repo *r, const sc_code_query *q, const float *vec, const sc_point_id *exclude,
                           sc_code_hits **out) {
    double t0 = util_now();
    uint32_t limit = q->limit ? q->limit : 10;
    bool empty = false;
    char *filter = repo_filter_json(r, q, &empty);
    q_set s = {0};
    sc_status rc = SC_OK;
    if (empty) goto build;
    uint32_t want = q->mode == SC_SEARCH_MODE_HYBRID ? (limit * 3 > 50 ? limit * 3 : 50) : limit + (exclude ? 1 : 0);
    if (q->mode != SC_SEARCH_MODE_KEYWORD && vec && (rc = q__run(r, vec, NULL, filter, want, exclude, &s, true)) != SC_OK)
        goto done;
    if (q->mode != SC_SEARCH_MODE_DENSE && q->text && *q->text &&
        (rc = q__run(r, NULL, q->text, filter, want, exclude, &s, false)) != SC_OK)
        goto done;
    if (q->mode == SC_SEARCH_MODE_HYBRID && q->alpha > 0) {
        q__normalise(&s, true);
        q__normalise(&s, false);
        double a = (double)q->alpha;
        for (size_t i = 0; i < s.n; i++) s.items[i].fused = a * s.items[i].dense + (1 - a) * s.items[i].kw;
    } else {
        for (size_t i = 0; i < s.n; i++) {
            q_cand *c = &s.items[i];
            if (q->mode == SC_SEARCH_MODE_DENSE) c->fused = c->dense;
            else if (q->mode == SC_SEARCH_MODE_KEYWORD) c->fused = c->kw;
            else
                c->fused = (c->dense_rank ? 1.0 / (SC_HYBRID_RRF_K + c->dense_rank) : 0) +
                           (c->kw_rank ? SC_HYBRID_KEYWORD_WEIGHT / (SC_HYBRID_RRF_K + c->kw_rank) : 0);
        }
    }
    if (s.n) qsort(s.items, s.n, sizeof *s.items, q__cand_cmp);
build:
    rc = q__build_hits(r, &s, limit, q->min_score, out);
    if (rc == SC_OK) (*out)->took_ms = (util_now() - t0) * 1e3;
done:
    q__set_free(&s);
    free(filter);
    return rc;
}

sc_status sc_repo_search(sc_repo *r, const sc_code_query *q, sc_code_hits **out) {
    if (!r || !q || !out) return SC_MISUSE;
    if (!q->text || !*q->text) return repo_fail(r, SC_INVALID, "the query is empty");
    if ((unsigned)q->mode > SC_SEARCH_MODE_KEYWORD) return repo_fail(r, SC_INVALID, "unknown search mode %d", (int)q->mode);
    if (q->alpha < 0 || q->alpha > 1) return repo_fail(r, SC_INVALID, "alpha must be within [0, 1], got %g", (double)q->alpha);
    float *vec = NULL;
    if (q->mode != SC_SEARCH_MODE_KEYWORD) {
        sc_status erc = repo_embedder_ready(r);
        if (erc != SC_OK) return erc;
        vec = malloc(sizeof(float) * r->dim);
        if (!vec) return repo_fail(r, SC_NOMEM, "out of memory");
        sc_embed_item it;
        sc_embed_summary es;
        const char *t[1] = {q->text};
        sc_embedder_embed(r->emb, SC_EMBED_SIDE_QUERY, t, 1, vec, &it, &es);
        if (it.status != SC_OK) {
            free(vec);
            return repo_fail(r, SC_INVALID, "cannot embed the query: %s", it.error);
        }
    }
    sc_status rc = q__search(r, q, vec, NULL, out);
    free(vec);
    return rc;
}

/* ==== Similar ==== */

/* Find the point of target: "path:line" (innermost entity covering the
** line) or a qualified name. */
static sc_status q__resolve(sc_repo *r, const char *target, sc_point_id *id, float *vec) {
    json_t *filter = NULL;
    const char *colon = strrchr(target, ':');
    char *end = NULL;
    long line = colon ? strtol(colon + 1, &end, 10) : 0;
    if (colon && end && !*end && line > 0) {
        char path[PATH_MAX];
        size_t n = (size_t)(colon - target);
        if (n >= sizeof path) return repo_fail(r, SC_INVALID, "path in %s is too long", target);
        memcpy(path, target, n);
        path[n] = '\0';
        /* Accept paths relative to the root, absolute ones, or relative to the working directory. */
        char abs[PATH_MAX];
        const char *rel = path;
        size_t rl = strlen(r->root);
        if (realpath(path, abs) && !strncmp(abs, r->root, rl) && abs[rl] == '/') rel = abs + rl + 1;
        filter = json_pack("{s:[{s:s, s:{s:s}}, {s:s, s:{s:I}}, {s:s, s:{s:I}}]}", "must", "key", "path", "match",
                           "value", rel, "key", "start_line", "range", "lte", (json_int_t)line, "key", "end_line",
                           "range", "gte", (json_int_t)line);
    } else {
        filter = json_pack("{s:[{s:s, s:{s:s}}]}", "must", "key", "qualified_name", "match", "value", target);
    }
    char *ftext = json_dumps(filter, JSON_COMPACT);
    json_decref(filter);
    sc_scroll_request req = {.filter_json = ftext, .limit = 1000};
    const char *keys[] = {"start_line", "end_line", "kind"};
    const char *vn[] = {REPO_VECTOR};
    req.with = (sc_with){.payload = true, .payload_include = keys, .n_payload_include = 3, .vectors = true,
                         .vector_names = vn, .n_vector_names = 1};
    sc_record_list *l = NULL;
    sc_point_id next;
    bool more;
    sc_status rc = sc_points_scroll(r->db, REPO_COLLECTION, &req, &l, &next, &more);
    free(ftext);
    if (rc != SC_OK) return repo_fail(r, rc, "%s", sc_db_errmsg(r->db));
    long best_span = LONG_MAX;
    bool found = false;
    for (size_t i = 0; i < l->n; i++) {
        if (l->items[i].n_vectors != 1) continue;
        json_t *p = json_loads(l->items[i].payload_json, 0, NULL);
        long span = (long)json_integer_value(json_object_get(p, "end_line")) -
                    (long)json_integer_value(json_object_get(p, "start_line"));
        const char *kind = json_string_value(json_object_get(p, "kind"));
        if (kind && !strcmp(kind, "chunk")) span += 1000000; /* prefer real entities */
        if (span < best_span) {
            best_span = span;
            *id = l->items[i].id;
            memcpy(vec, l->items[i].vectors[0], sizeof(float) * r->dim);
            found = true;
        }
        json_decref(p);
    }
    sc_record_list_free(l);
    if (!found)
        return repo_fail(r, SC_NOTFOUND, "no indexed entity at %s (give path:line, or a qualified name as printed by search)",
                         target);
    return SC_OK;
}

sc_status sc_repo_similar(sc_repo *r, const char *target, const sc_code_query *q, sc_code_hits **out) {
    if (!r || !target || !out) return SC_MISUSE;
    float *vec = malloc(sizeof(float) * r->dim);
    if (!vec) return repo_fail(r, SC_NOMEM, "out of memory");
    sc_point_id id;
    sc_status rc = q__resolve(r, target, &id, vec);
    if (rc == SC_OK) {
        sc_code_query qq = q ? *q : (sc_code_query){0};
        qq.mode = SC_SEARCH_MODE_DENSE;
        qq.text = NULL;
        rc = q__search(r, &qq, vec, &id, out);
    }
    free(vec);
    return rc;
}

/* ==== Duplicates ==== */

/* ==== Structural similarity (renamed copies) ==== */

/* Words kept as themselves in the shape of code; other identifiers become
** one placeholder, numbers another, strings a third. */
static bool q__is_keyword(const char *w, size_t n) {
    static const char *const kw[] = {"if", "else", "elif", "for", "while", "do", "return", "break", "continue",
        "switch", "case", "default", "try", "catch", "except", "finally", "throw", "raise", "def", "func", "fn",
        "function", "class", "struct", "new", "delete", "in", "not", "and", "or", "is", "None", "null", "nil",
        "true", "false", "True", "False", "self", "this", "let", "var", "const", "static", "void", "int", "char",
        "float", "double", "long", "unsigned", "sizeof", "import", "from", "yield", "await", "async", "lambda",
        "with", "as", "pass", "go", "defer", "match", "impl", "pub", "mut", NULL};
    for (int i = 0; kw[i]; i++)
        if (strlen(kw[i]) == n && !memcmp(kw[i], w, n)) return true;
    return false;
}

/* Shingles (hashes of 4 consecutive shape tokens) of a piece of code;
** owned sorted unique array. */
static uint64_t *q__shingles(const char *s, size_t n, size_t *n_out) {
    uint64_t *tok = malloc(sizeof *tok * (n + 1));
    size_t nt = 0;
    for (size_t i = 0; tok && i < n;) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            i++;
            continue;
        }
        size_t j = i;
        uint64_t t;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch >= 0x80) {
            while (j < n && (((unsigned char)s[j] >= 'a' && (unsigned char)s[j] <= 'z') ||
                             ((unsigned char)s[j] >= 'A' && (unsigned char)s[j] <= 'Z') ||
                             ((unsigned char)s[j] >= '0' && (unsigned char)s[j] <= '9') || s[j] == '_' ||
                             (unsigned char)s[j] >= 0x80))
                j++;
            t = q__is_keyword(s + i, j - i) ? util_hash64(s + i, j - i, 1) : 0x1d;
        } else if (ch >= '0' && ch <= '9') {
            while (j < n && (((unsigned char)s[j] >= '0' && (unsigned char)s[j] <= '9') || s[j] == '.' || s[j] == 'x'))
                j++;
            t = 0x2e;
        } else if (ch == '"' || ch == '\'') {
            j++;
            while (j < n && s[j] != (char)ch && s[j] != '\n') j += s[j] == '\\' ? 2 : 1;
            if (j < n) j++;
            t = 0x3f;
        } else {
            j++;
            t = util_hash64(s + i, 1, 2);
        }
        tok[nt++] = t;
        i = j;
    }
    size_t ns = nt >= 4 ? nt - 3 : (nt ? 1 : 0);
    uint64_t *sh = malloc(sizeof *sh * (ns ? ns : 1));
    for (size_t i = 0; sh && tok && i < ns; i++) {
        uint64_t h = 0x9e37;
        for (size_t k = i; k < i + 4 && k < nt; k++) h = util_mix64(h ^ tok[k]);
        sh[i] = h;
    }
    free(tok);
    if (!sh) return NULL;
    /* sort + unique */
    for (size_t i = 1; i < ns; i++) {
        uint64_t x = sh[i];
        size_t k = i;
        while (k > 0 && sh[k - 1] > x) {
            sh[k] = sh[k - 1];
            k--;
        }
        sh[k] = x;
    }
    size_t u = 0;
    for (size_t i = 0; i < ns; i++)
        if (!u || sh[u - 1] != sh[i]) sh[u++] = sh[i];
    *n_out = u;
    return sh;
}

/* Jaccard similarity of two sorted shingle sets. */
static double q__jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb) {
    size_t i = 0, j = 0, inter = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j]) {
            inter++;
            i++;
            j++;
        } else if (a[i] < b[j]) i++;
        else j++;
    }
    size_t uni = na + nb - inter;
    return uni ? (double)inter / (double)uni : 0.0;
}

/* The source lines of an entity, read from its file (owned). */
static char *q__entity_source(sc_repo *r, const char *payload) {
    json_t *p = json_loads(payload, 0, NULL);
    const char *path = json_string_value(json_object_get(p, "path"));
    long a = (long)json_integer_value(json_object_get(p, "start_line"));
    long z = (long)json_integer_value(json_object_get(p, "end_line"));
    char fp[PATH_MAX * 2];
    snprintf(fp, sizeof fp, "%s/%s", r->root, path ? path : "");
    json_decref(p);
    FILE *f = fopen(fp, "rb");
    if (!f) return NULL;
    util_buf b = {0};
    char line[8192];
    long ln = 0;
    while (fgets(line, sizeof line, f)) {
        if (strchr(line, '\n')) ln++;
        if (ln >= a && ln <= z) util_buf_puts(&b, line);
        if (ln > z) break;
    }
    fclose(f);
    return b.data;
}



static uint32_t q__find(uint32_t *parent, uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
}

typedef struct q_member {
    uint64_t id;     /* point id */
    char *payload;   /* owned */
    uint64_t *sh;    /* shingles of its source (owned, lazily computed) */
    size_t n_sh;     /* count */
    bool sh_done;    /* computed */
    uint64_t path_h; /* hash of its path */
    uint32_t a, z;   /* its lines */
    double sim_sum;  /* sum of its edge similarities */
    uint32_t n_edges;/* number of edges */
} q_member;

typedef struct q_cluster_ref {
    uint32_t root;   /* union-find root */
    uint32_t size;   /* members */
    double sim;      /* mean edge similarity */
} q_cluster_ref;

static int q__cluster_cmp(const void *a, const void *b) {
    const q_cluster_ref *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    if (x->sim != y->sim) return x->sim > y->sim ? -1 : 1;
    return x->root < y->root ? -1 : x->root > y->root;
}

sc_status sc_repo_duplicates(sc_repo *r, float threshold, uint32_t min_lines, sc_dup_clusters **out) {
    if (!r || !out) return SC_MISUSE;
    double t0 = util_now();
    if (threshold <= 0) threshold = SC_DUPLICATES_DEFAULT_THRESHOLD;
    if (threshold > 1) return repo_fail(r, SC_INVALID, "threshold must be within (0, 1], got %g", (double)threshold);
    char filter[256];
    snprintf(filter, sizeof filter,
             "{\"must\": [{\"key\": \"lines\", \"range\": {\"gte\": %u}}],"
             " \"must_not\": [{\"key\": \"kind\", \"match\": {\"any\": [\"chunk\", \"module\"]}}]}",
             min_lines ? min_lines : 1);
    /* Every eligible entity with its vector. */
    q_member *m = NULL;
    float *vecs = NULL;
    size_t n = 0, cap = 0;
    sc_scroll_request req = {.filter_json = filter, .limit = 1000};
    const char *vn[] = {REPO_VECTOR};
    req.with = (sc_with){.payload = true, .vectors = true, .vector_names = vn, .n_vector_names = 1};
    sc_status rc = SC_OK;
    for (;;) {
        sc_record_list *l = NULL;
        sc_point_id next;
        bool more = false;
        if (sc_points_scroll(r->db, REPO_COLLECTION, &req, &l, &next, &more) != SC_OK) {
            rc = repo_fail(r, SC_IOERR, "%s", sc_db_errmsg(r->db));
            break;
        }
        for (size_t i = 0; i < l->n; i++) {
            if (l->items[i].n_vectors != 1) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                q_member *gm = realloc(m, sizeof *gm * cap);
                float *gv = realloc(vecs, sizeof(float) * r->dim * cap);
                if (gm) m = gm;
                if (gv) vecs = gv;
                if (!gm || !gv) {
                    rc = repo_fail(r, SC_NOMEM, "out of memory");
                    break;
                }
            }
            m[n] = (q_member){.id = l->items[i].id.num, .payload = util_strdup(l->items[i].payload_json)};
            json_t *pj = json_loads(l->items[i].payload_json, 0, NULL);
            const char *pp = json_string_value(json_object_get(pj, "path"));
            m[n].path_h = pp ? util_hash64(pp, strlen(pp), 0) : 0;
            m[n].a = (uint32_t)json_integer_value(json_object_get(pj, "start_line"));
            m[n].z = (uint32_t)json_integer_value(json_object_get(pj, "end_line"));
            json_decref(pj);
            memcpy(vecs + n * r->dim, l->items[i].vectors[0], sizeof(float) * r->dim);
            n++;
        }
        sc_record_list_free(l);
        if (!more || rc != SC_OK) break;
        req.has_offset = true;
        req.offset = next;
    }
    uint32_t *parent = rc == SC_OK ? malloc(sizeof *parent * (n ? n : 1)) : NULL;
    double *edge_sum = calloc(n ? n : 1, sizeof *edge_sum);
    uint32_t *edge_n = calloc(n ? n : 1, sizeof *edge_n);
    if (rc == SC_OK && (!parent || !edge_sum || !edge_n)) rc = repo_fail(r, SC_NOMEM, "out of memory");
    for (size_t i = 0; rc == SC_OK && i < n; i++) parent[i] = (uint32_t)i;
    /* Edges from each entity's nearest neighbours in the index: linked when
    ** the cosine similarity, or the similarity of their code's shape
    ** (identifiers, numbers and strings abstracted: renamed copies), reaches
    ** the threshold. */
    for (size_t i = 0; rc == SC_OK && i < n; i++) {
        sc_search_request sr = {.vector_name = REPO_VECTOR, .query = vecs + i * r->dim, .dim = r->dim, .limit = 11,
                                .filter_json = filter};
        sc_record_list *l = NULL;
        if (sc_points_search(r->db, REPO_COLLECTION, &sr, &l) != SC_OK) {
            rc = repo_fail(r, SC_IOERR, "%s", sc_db_errmsg(r->db));
            break;
        }
        for (size_t k = 0; k < l->n; k++) {
            if (l->items[k].id.num == m[i].id) continue;
            /* members are in id order (scroll), so a binary search finds j */
            size_t lo = 0, hi = n;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (m[mid].id < l->items[k].id.num) lo = mid + 1;
                else hi = mid;
            }
            if (lo >= n || m[lo].id != l->items[k].id.num) continue;
            /* a class and its own method are not duplicates of each other */
            if (m[lo].path_h == m[i].path_h && ((m[lo].a <= m[i].a && m[i].z <= m[lo].z) ||
                                                (m[i].a <= m[lo].a && m[lo].z <= m[i].z)))
                continue;
            double sim = (double)l->items[k].score;
            if (sim < (double)threshold) {
                for (size_t x = 0; x < 2; x++) {
                    q_member *mm = &m[x ? lo : i];
                    if (mm->sh_done) continue;
                    char *src = q__entity_source(r, mm->payload);
                    mm->sh = src ? q__shingles(src, strlen(src), &mm->n_sh) : NULL;
                    mm->sh_done = true;
                    free(src);
                }
                double shape = q__jaccard(m[i].sh, m[i].n_sh, m[lo].sh, m[lo].n_sh);
                if (shape > sim) sim = shape;
            }
            if (sim < (double)threshold) continue;
            uint32_t a = q__find(parent, (uint32_t)i), b = q__find(parent, (uint32_t)lo);
            if (a != b) parent[a] = b;
            m[i].sim_sum += sim;
            m[i].n_edges++;
        }
        sc_record_list_free(l);
    }
    sc_dup_clusters *d = calloc(1, sizeof *d);
    q_cluster_ref *refs = calloc(n ? n : 1, sizeof *refs);
    uint32_t *size = calloc(n ? n : 1, sizeof *size);
    if (rc == SC_OK && (!d || !refs || !size)) rc = repo_fail(r, SC_NOMEM, "out of memory");
    if (rc == SC_OK) {
        for (size_t i = 0; i < n; i++) {
            uint32_t root = q__find(parent, (uint32_t)i);
            size[root]++;
            edge_sum[root] += m[i].sim_sum;
            edge_n[root] += m[i].n_edges;
        }
        size_t nc = 0;
        for (size_t i = 0; i < n; i++)
            if (parent[i] == i && size[i] > 1)
                refs[nc++] = (q_cluster_ref){(uint32_t)i, size[i], edge_n[i] ? edge_sum[i] / edge_n[i] : 0};
        qsort(refs, nc, sizeof *refs, q__cluster_cmp);
        d->items = calloc(nc ? nc : 1, sizeof *d->items);
        for (size_t c = 0; d->items && c < nc; c++) {
            sc_dup_cluster *cl = &d->items[d->n++];
            cl->similarity = (float)refs[c].sim;
            cl->items = calloc(refs[c].size, sizeof *cl->items);
            for (size_t i = 0; cl->items && i < n; i++) {
                if (q__find(parent, (uint32_t)i) != refs[c].root) continue;
                float sc = m[i].n_edges ? (float)(m[i].sim_sum / m[i].n_edges) : 0.0f;
                if (repo_hit_from_payload(r, m[i].payload, sc, &cl->items[cl->n]) == SC_OK) {
                    cl->items[cl->n].rank = (uint32_t)cl->n + 1;
                    cl->n++;
                }
            }
        }
        d->took_ms = (util_now() - t0) * 1e3;
        *out = d;
        d = NULL;
    }
    sc_dup_clusters_free(d);
    for (size_t i = 0; i < n; i++) {
        free(m[i].payload);
        free(m[i].sh);
    }
    free(m);
    free(vecs);
    free(parent);
    free(edge_sum);
    free(edge_n);
    free(refs);
    free(size);
    return rc;
}
