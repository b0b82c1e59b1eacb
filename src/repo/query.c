/*
** repo/query.c: searching an indexed repository. Dense search embeds the
** query with the model's query side; keyword search is the store's BM25;
** hybrid runs both and hands their candidates to the store's code-aware
** ranking stage (sc_rank_code, include/semcode/rank.h) or, with alpha,
** fuses them by a weighted sum of min-max normalised scores (sc_fuse).
** Files mode groups the ranked entities by file. Also `similar` (nearest
** entities of one entity) and `duplicates` (clusters linked by
** nearest-neighbour edges above a threshold).
*/
#include "repo/repo_int.h"
#include "semcode/rank.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* A candidate during fusion. */
typedef struct q_cand {
    uint64_t id;       /* point id */
    char *payload;     /* owned payload JSON */
    double dense;      /* dense score, NAN if absent */
    double kw;         /* keyword score, NAN if absent */
    int dense_rank;    /* 1-based, 0 if absent */
    int kw_rank;       /* 1-based, 0 if absent */
    double fused;      /* final score */
    long feat;         /* index of its row in the ranking features, -1 = none */
    uint32_t n_file;   /* files mode: entities of its file among the candidates */
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
    c->feat = -1;
    return c;
}

static int q__cand_cmp(const void *a, const void *b) {
    const q_cand *x = a, *y = b;
    if (x->fused != y->fused) return x->fused > y->fused ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static sc_status q__build_hits(sc_repo *r, q_set *s, uint32_t limit, float min_score, const float *feats,
                               sc_code_hits **out) {
    sc_code_hits *h = calloc(1, sizeof *h);
    size_t n = s->n < limit ? s->n : limit;
    if (!h || (n && !(h->items = calloc(n, sizeof *h->items)))) {
        free(h);
        return repo_fail(r, SC_NOMEM, "out of memory");
    }
    h->confidence = (double)NAN;
    uint32_t nf = sc_rank_n_features();
    for (size_t i = 0; i < n; i++) {
        const q_cand *c = &s->items[i];
        if (min_score > 0 && c->fused < (double)min_score) break;
        sc_code_hit *x = &h->items[h->n];
        if (repo_hit_from_payload(r, c->payload, (float)c->fused, x) != SC_OK) break;
        x->rank = (uint32_t)h->n + 1;
        x->n_entities = c->n_file ? c->n_file : 1;
        if (feats && c->feat >= 0 && (x->features = malloc(sizeof *x->features * nf))) {
            memcpy(x->features, feats + (size_t)c->feat * nf, sizeof *x->features * nf);
            x->n_features = nf;
        }
        h->n++;
    }
    *out = h;
    return SC_OK;
}

/* Re-score the candidates with the ranking stage; features (owned, one row
** per candidate) when explain. */
static sc_status q__rank(sc_repo *r, const char *text, q_set *s, bool explain, float **feats) {
    size_t n1 = s->n ? s->n : 1;
    sc_rank_cand *rc = calloc(n1, sizeof *rc);
    double *scores = malloc(sizeof *scores * n1);
    float *f = explain ? malloc(sizeof *f * sc_rank_n_features() * n1) : NULL;
    uint64_t *ids = malloc(sizeof *ids * n1);
    repo_usage *u = calloc(n1, sizeof *u);
    sc_status st = rc && scores && (!explain || f) && ids && u ? SC_OK : repo_fail(r, SC_NOMEM, "out of memory");
    for (size_t i = 0; st == SC_OK && i < s->n; i++) ids[i] = s->items[i].id;
    if (st == SC_OK && (explain || sc_rank_uses_call_graph())) st = repo_usage_get(r, ids, s->n, u);
    for (size_t i = 0; st == SC_OK && i < s->n; i++) {
        const q_cand *c = &s->items[i];
        rc[i] = (sc_rank_cand){.id = {.kind = SC_ID_KIND_NUM, .num = c->id}, .dense = (float)c->dense,
                               .dense_rank = (uint32_t)c->dense_rank, .keyword = (float)c->kw,
                               .keyword_rank = (uint32_t)c->kw_rank, .callees = u[i].callees,
                               .callers = u[i].callers, .fanin = u[i].fanin};
    }
    if (st == SC_OK && (st = sc_rank_code(r->db, PIPELINE_COLLECTION, text, rc, s->n, scores, f)) != SC_OK)
        repo_fail(r, st, "ranking stage: %s", sc_db_errmsg(r->db));
    for (size_t i = 0; st == SC_OK && i < s->n; i++) {
        s->items[i].fused = scores[i];
        s->items[i].feat = explain ? (long)i : -1;
    }
    if (u) repo_usage_clear(u, s->n);
    free(u);
    free(ids);
    free(rc);
    free(scores);
    if (st != SC_OK) {
        free(f);
        return st;
    }
    *feats = f;
    return SC_OK;
}

/* Alpha fusion: alpha * dense + (1 - alpha) * keyword of min-max normalised scores. */
static sc_status q__fuse_alpha(sc_repo *r, q_set *s, double alpha) {
    size_t n = s->n ? s->n : 1;
    sc_point_id *ids[2] = {malloc(sizeof(sc_point_id) * n), malloc(sizeof(sc_point_id) * n)};
    float *sc[2] = {malloc(sizeof(float) * n), malloc(sizeof(float) * n)};
    sc_fuse_list l[2] = {{.ids = ids[0], .scores = sc[0], .weight = alpha}, {.ids = ids[1], .scores = sc[1], .weight = 1 - alpha}};
    sc_fused *f = NULL;
    size_t nf = 0;
    sc_status rc = ids[0] && ids[1] && sc[0] && sc[1] ? SC_OK : SC_NOMEM;
    for (size_t i = 0; rc == SC_OK && i < s->n; i++) {
        const q_cand *c = &s->items[i];
        for (int k = 0; k < 2; k++) {
            double v = k ? c->kw : c->dense;
            if (isnan(v)) continue;
            ids[k][l[k].n] = (sc_point_id){.kind = SC_ID_KIND_NUM, .num = c->id};
            sc[k][l[k].n++] = (float)v;
        }
    }
    if (rc == SC_OK) rc = sc_fuse(SC_FUSION_MINMAX, l, 2, 0, 1, &f, &nf);
    for (size_t i = 0; rc == SC_OK && i < s->n; i++) {
        s->items[i].fused = 0;
        for (size_t j = 0; j < nf; j++)
            if (f[j].id.num == s->items[i].id) s->items[i].fused = f[j].score;
    }
    free(f);
    for (int k = 0; k < 2; k++) {
        free(ids[k]);
        free(sc[k]);
    }
    return rc == SC_OK ? SC_OK : repo_fail(r, rc, "out of memory");
}

/* Files mode: keep each file's best candidate (candidates sorted best
** first), counting the file's candidates in n_file. */
static sc_status q__files(sc_repo *r, q_set *s) {
    uint64_t *ph = malloc(sizeof *ph * (s->n ? s->n : 1));
    if (!ph) return repo_fail(r, SC_NOMEM, "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++) {
        json_t *p = json_loads(s->items[i].payload, 0, NULL);
        const char *path = json_string_value(json_object_get(p, "path"));
        uint64_t h = path ? util_hash64(path, strlen(path), 7) : 0;
        json_decref(p);
        size_t j = 0;
        while (j < m && ph[j] != h) j++;
        if (j < m) {
            s->items[j].n_file++;
            free(s->items[i].payload);
        } else {
            ph[m] = h;
            s->items[m] = s->items[i];
            s->items[m++].n_file = 1;
        }
    }
    s->n = m;
    free(ph);
    return SC_OK;
}

static void q__set_free(q_set *s) {
    for (size_t i = 0; i < s->n; i++) free(s->items[i].payload);
    free(s->items);
}

/* Run a dense or keyword search into the set. */
static sc_status q__run(sc_repo *r, const float *vec, const char *text, const char *filter, uint32_t want,
                        const sc_point_id *exclude, q_set *s, bool dense) {
    sc_search_request req = {.vector_name = r->vector, .query = vec, .dim = r->pe.dim, .text = vec ? NULL : text,
                             .limit = want, .filter_json = filter, .with = {.payload = true}};
    sc_record_list *l = NULL;
    if (backend_search(r->be, r->coll, &req, &l) != SC_OK)
        return repo_fail(r, SC_INVALID, "%s", backend_errmsg(r->be));
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

/* Hybrid on a backend without the ranking stage (Qdrant): the backend
** fuses its two legs (prefetch + RRF on the server) into the set, each
** candidate's fused score the backend's. Logged once per handle. */
static sc_status q__run_fused(sc_repo *r, const float *vec, const char *text, const char *filter, uint32_t want,
                              q_set *s) {
    if (!r->hybrid_note_done) {
        util_log(&r->opt.logger, SC_LOG_LEVEL_INFO,
                 "hybrid search on %s: dense and BM25 legs fused by the %s backend (reciprocal rank); the "
                 "code-aware ranking stage runs on the embedded store only",
                 backend_location(r->be), backend_get_caps(r->be)->name);
        r->hybrid_note_done = true;
    }
    sc_search_request req = {.vector_name = r->vector, .query = vec, .dim = r->pe.dim, .limit = want,
                             .filter_json = filter, .with = {.payload = true}};
    sc_record_list *l = NULL;
    if (backend_search_hybrid(r->be, r->coll, &req, text, want, &l) != SC_OK)
        return repo_fail(r, SC_INVALID, "%s", backend_errmsg(r->be));
    for (size_t i = 0; i < l->n; i++) {
        q_cand *c = q__find_or_add(s, &l->items[i]);
        if (!c) {
            sc_record_list_free(l);
            return repo_fail(r, SC_NOMEM, "out of memory");
        }
        c->fused = (double)l->items[i].score;
    }
    sc_record_list_free(l);
    return SC_OK;
}

static sc_status q__search(sc_repo *r, const sc_code_query *q, const float *vec, const sc_point_id *exclude,
                           sc_code_hits **out) {
    double t0 = util_now();
    uint32_t limit = q->limit ? q->limit : 10;
    bool empty = false;
    bool ranked = q->mode == SC_SEARCH_MODE_HYBRID && !(q->alpha > 0);
    /* a backend without the ranking stage fuses hybrid queries itself */
    bool fused_by_backend = ranked && vec && q->text && *q->text && !backend_get_caps(r->be)->ranking_stage;
    if (fused_by_backend) ranked = false;
    char *filter = repo_filter_json(r, q, &empty);
    q_set s = {0};
    float *feats = NULL;
    sc_status rc = SC_OK;
    if (empty) goto build;
    uint32_t want = limit + (exclude ? 1 : 0);
    if (q->mode == SC_SEARCH_MODE_HYBRID || q->files) want = limit * 3 > SC_RANK_CANDIDATES ? limit * 3 : SC_RANK_CANDIDATES;
    if (fused_by_backend) {
        if ((rc = q__run_fused(r, vec, q->text, filter, want, &s)) != SC_OK) goto done;
    } else {
        if (q->mode != SC_SEARCH_MODE_KEYWORD && vec &&
            (rc = q__run(r, vec, NULL, filter, want, exclude, &s, true)) != SC_OK)
            goto done;
        if (q->mode != SC_SEARCH_MODE_DENSE && q->text && *q->text &&
            (rc = q__run(r, NULL, q->text, filter, want, exclude, &s, false)) != SC_OK)
            goto done;
    }
    if (fused_by_backend) {
        /* scores are the backend's fusion */
    } else if (q->mode == SC_SEARCH_MODE_HYBRID && q->alpha > 0) {
        if ((rc = q__fuse_alpha(r, &s, (double)q->alpha)) != SC_OK) goto done;
    } else if (ranked && q->text && *q->text) {
        if ((rc = q__rank(r, q->text, &s, q->explain, &feats)) != SC_OK) goto done;
    } else {
        for (size_t i = 0; i < s.n; i++) {
            q_cand *c = &s.items[i];
            c->fused = q->mode == SC_SEARCH_MODE_KEYWORD ? c->kw : c->dense;
        }
    }
    if (s.n) qsort(s.items, s.n, sizeof *s.items, q__cand_cmp);
    if (q->files && (rc = q__files(r, &s)) != SC_OK) goto done;
build:
    rc = q__build_hits(r, &s, limit, q->min_score, feats, out);
    if (rc == SC_OK) {
        sc_code_hits *h = *out;
        h->took_ms = (util_now() - t0) * 1e3;
        if (ranked && q->text && *q->text) {
            double s1 = s.n ? s.items[0].fused : -HUGE_VAL, s2 = s.n > 1 ? s.items[1].fused : (double)NAN;
            h->confidence = s.n ? sc_rank_confidence(s1, s2) : 0.0;
            h->low_confidence = h->confidence < sc_rank_confidence_threshold();
        }
    }
done:
    q__set_free(&s);
    free(feats);
    free(filter);
    return rc;
}

/* ==== Query text ==== */

/* Words that name a programming language (lower case). */
static const char *const q__lang_words[] = {"python", "python3", "py",  "javascript", "js",     "nodejs", "node",
                                            "typescript", "ts",  "golang", "rust",   "ruby",  "java",   "php",
                                            "c++",    "cpp",     "kotlin", "swift", "scala", "csharp", "c#"};

/* True when the n bytes at w, case folded, are one of q__lang_words. */
static bool q__is_lang_word(const char *w, size_t n) {
    for (size_t i = 0; i < sizeof q__lang_words / sizeof *q__lang_words; i++)
        if (strlen(q__lang_words[i]) == n && !strncasecmp(w, q__lang_words[i], n)) return true;
    return false;
}

/* The query as searched: a web-search habit, a language name as the first
** word ("python read csv file") or the last ("read csv file in python"),
** says which language the answer is in, not what it does, and matches
** nothing in a function of that language but noise (comments that say
** "Python", paths). Drop it, with a "in"/"using"/"with" before a last one,
** when at least three words remain; a language word inside the question
** ("convert python objects to yaml") stays. Chosen on CoSQA dev (docs/
** QUALITY.md). Returns a new string, or NULL when out of memory. */
static char *q__clean_text(const char *text) {
    enum { MAX_WORDS = 64 };
    const char *w[MAX_WORDS];
    size_t len[MAX_WORDS], n = 0;
    for (const char *p = text; *p;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        if (n == MAX_WORDS) return strdup(text); /* a long text is no web-search phrase: as it is */
        w[n] = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        len[n] = (size_t)(p - w[n]);
        n++;
    }
    size_t lo = 0, hi = n;
    if (hi - lo >= 4 && q__is_lang_word(w[lo], len[lo])) lo++;
    if (hi - lo >= 4 && q__is_lang_word(w[hi - 1], len[hi - 1])) {
        hi--;
        static const char *const preps[] = {"in", "using", "with"};
        for (size_t i = 0; i < sizeof preps / sizeof *preps; i++)
            if (hi - lo >= 4 && len[hi - 1] == strlen(preps[i]) && !strncasecmp(w[hi - 1], preps[i], len[hi - 1])) {
                hi--;
                break;
            }
    }
    if (lo == 0 && hi == n) return strdup(text);
    char *buf = malloc(strlen(text) + 1);
    if (!buf) return NULL;
    size_t at = 0;
    for (size_t i = lo; i < hi; i++) {
        if (at) buf[at++] = ' ';
        memcpy(buf + at, w[i], len[i]);
        at += len[i];
    }
    buf[at] = '\0';
    return buf;
}

/* ==== Search ==== */
/* Check q, clean its text (*text, owned) and embed it (*vec, owned; NULL in
** keyword mode): what every search of q on r starts with. */
static sc_status q__prepare(sc_repo *r, const sc_code_query *q, char **text, float **vec) {
    *text = NULL;
    *vec = NULL;
    if (!q || !q->text || !*q->text) return repo_fail(r, SC_INVALID, "the query is empty");
    if ((unsigned)q->mode > SC_SEARCH_MODE_KEYWORD) return repo_fail(r, SC_INVALID, "unknown search mode %d", (int)q->mode);
    if (q->alpha < 0 || q->alpha > 1) return repo_fail(r, SC_INVALID, "alpha must be within [0, 1], got %g", (double)q->alpha);
    if (!(*text = q__clean_text(q->text))) return repo_fail(r, SC_NOMEM, "out of memory");
    if (q->mode == SC_SEARCH_MODE_KEYWORD) return SC_OK;
    sc_status rc = repo_embedder_ready(r);
    if (rc != SC_OK) return rc;
    if (!(*vec = malloc(sizeof(float) * r->pe.dim))) return repo_fail(r, SC_NOMEM, "out of memory");
    sc_embed_item it;
    sc_embed_summary es;
    const char *t[1] = {*text};
    sc_embedder_embed(r->pe.emb, SC_EMBED_ROLE_QUERY, t, 1, *vec, &it, &es);
    if (it.status != SC_OK) return repo_fail(r, SC_INVALID, "cannot embed the query: %s", it.error);
    return SC_OK;
}

sc_status sc_repo_search(sc_repo *r, const sc_code_query *q, sc_code_hits **out) {
    if (!r) return SC_MISUSE;
    if (!q || !out) return repo_fail(r, SC_MISUSE, "sc_repo_search: NULL query or out");
    char *text = NULL;
    float *vec = NULL;
    sc_status rc = q__prepare(r, q, &text, &vec);
    if (rc == SC_OK) {
        sc_code_query cq = *q;
        cq.text = text;
        rc = q__search(r, &cq, vec, NULL, out);
    }
    free(vec);
    free(text);
    return rc;
}

sc_status repo_search_candidates(sc_repo *r, const sc_code_query *q, char **text, repo_cand **out, size_t *n) {
    *out = NULL;
    *n = 0;
    float *vec = NULL;
    sc_status rc = q__prepare(r, q, text, &vec);
    bool empty = false;
    char *filter = rc == SC_OK ? repo_filter_json(r, q, &empty) : NULL;
    q_set s = {0};
    uint32_t limit = q->limit ? q->limit : 10;
    uint32_t want = limit * 3 > SC_RANK_CANDIDATES ? limit * 3 : SC_RANK_CANDIDATES;
    if (rc == SC_OK && !empty && vec) rc = q__run(r, vec, NULL, filter, want, NULL, &s, true);
    if (rc == SC_OK && !empty && q->mode != SC_SEARCH_MODE_DENSE) rc = q__run(r, NULL, *text, filter, want, NULL, &s, false);
    repo_cand *c = rc == SC_OK && s.n ? calloc(s.n, sizeof *c) : NULL;
    if (rc == SC_OK && s.n && !c) rc = repo_fail(r, SC_NOMEM, "out of memory");
    uint64_t *ids = rc == SC_OK && s.n ? malloc(sizeof *ids * s.n) : NULL;
    repo_usage *u = rc == SC_OK && s.n ? calloc(s.n, sizeof *u) : NULL;
    if (rc == SC_OK && s.n && (!ids || !u)) rc = repo_fail(r, SC_NOMEM, "out of memory");
    for (size_t i = 0; rc == SC_OK && i < s.n; i++) ids[i] = s.items[i].id;
    if (rc == SC_OK && s.n && (q->explain || sc_rank_uses_call_graph())) rc = repo_usage_get(r, ids, s.n, u);
    for (size_t i = 0; rc == SC_OK && i < s.n; i++) {
        c[i] = (repo_cand){.id = s.items[i].id, .payload = s.items[i].payload, .dense = s.items[i].dense,
                           .kw = s.items[i].kw, .dense_rank = s.items[i].dense_rank, .kw_rank = s.items[i].kw_rank,
                           .usage = u[i]};
        s.items[i].payload = NULL; /* moved, and the usage strings with it */
    }
    if (rc != SC_OK) free(c);
    free(u);
    free(ids);
    if (rc == SC_OK) {
        *out = c;
        *n = s.n;
    }
    q__set_free(&s);
    free(filter);
    free(vec);
    return rc;
}

/* ==== Similar ==== */

/* Find the point of target: "path:line" (innermost entity covering the
** line, chunks last) or a qualified name. Its id goes to *id, its vector to
** vec when vec is non-NULL (then only points with a vector count) and its
** payload (owned) to *payload when payload is non-NULL. */
static sc_status q__resolve(sc_repo *r, const char *target, sc_point_id *id, float *vec, char **payload) {
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
    const char *vn[] = {r->vector};
    req.with = (sc_with){.payload = true, .vectors = vec != NULL, .vector_names = vn, .n_vector_names = 1};
    sc_record_list *l = NULL;
    sc_point_id next;
    bool more;
    sc_status rc = backend_points_scroll(r->be, r->coll, &req, &l, &next, &more);
    free(ftext);
    if (rc != SC_OK) return repo_fail(r, rc, "%s", backend_errmsg(r->be));
    long best_span = LONG_MAX;
    size_t best = l->n;
    for (size_t i = 0; i < l->n; i++) {
        if (vec && l->items[i].n_vectors != 1) continue;
        json_t *p = json_loads(l->items[i].payload_json, 0, NULL);
        long span = (long)json_integer_value(json_object_get(p, "end_line")) -
                    (long)json_integer_value(json_object_get(p, "start_line"));
        const char *kind = json_string_value(json_object_get(p, "kind"));
        if (kind && !strcmp(kind, "chunk")) span += 1000000; /* prefer real entities */
        if (span < best_span) {
            best_span = span;
            best = i;
        }
        json_decref(p);
    }
    if (best < l->n) {
        *id = l->items[best].id;
        if (vec) memcpy(vec, l->items[best].vectors[0], sizeof(float) * r->pe.dim);
        if (payload && !(*payload = util_strdup(l->items[best].payload_json))) rc = repo_fail(r, SC_NOMEM, "out of memory");
    }
    bool found = best < l->n;
    sc_record_list_free(l);
    if (!found)
        return repo_fail(r, SC_NOTFOUND, "no indexed entity at %s (give path:line, or a qualified name as printed by search)",
                         target);
    return rc;
}

sc_status sc_repo_resolve(sc_repo *r, const char *target, sc_code_hits **out, sc_point_id *id) {
    if (!r || !target || !out) return SC_MISUSE;
    sc_point_id pid;
    char *payload = NULL;
    sc_status rc = q__resolve(r, target, &pid, NULL, &payload);
    if (rc != SC_OK) return rc;
    sc_code_hits *h = calloc(1, sizeof *h);
    if (h) h->items = calloc(1, sizeof *h->items);
    if (!h || !h->items) {
        free(h);
        free(payload);
        return repo_fail(r, SC_NOMEM, "out of memory");
    }
    h->confidence = (double)NAN;
    rc = repo_hit_from_payload(r, payload, 0.0f, &h->items[0]);
    free(payload);
    if (rc != SC_OK) {
        sc_code_hits_free(h);
        return rc;
    }
    h->items[0].rank = 1;
    h->items[0].n_entities = 1;
    h->n = 1;
    if (id) *id = pid;
    *out = h;
    return SC_OK;
}

sc_status sc_repo_similar(sc_repo *r, const char *target, const sc_code_query *q, sc_code_hits **out) {
    if (!r) return SC_MISUSE;
    if (!target || !out) return repo_fail(r, SC_MISUSE, "sc_repo_similar: NULL target or out");
    float *vec = malloc(sizeof(float) * r->pe.dim);
    if (!vec) return repo_fail(r, SC_NOMEM, "out of memory");
    sc_point_id id;
    sc_status rc = q__resolve(r, target, &id, vec, NULL);
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

/* The candidates of a duplicates run: every eligible entity with its vector. */
typedef struct q_dups {
    q_member *m;      /* members, in id order (scroll order) */
    float *vecs;      /* n vectors of dim floats */
    size_t n, cap;    /* used, allocated */
    uint32_t *parent; /* union-find parents, n entries */
} q_dups;

/* Step 1: scroll every entity passing filter into ds with its vector. */
static sc_status q__dup_collect(sc_repo *r, const char *filter, q_dups *ds) {
    sc_scroll_request req = {.filter_json = filter, .limit = 1000};
    const char *vn[] = {r->vector};
    req.with = (sc_with){.payload = true, .vectors = true, .vector_names = vn, .n_vector_names = 1};
    sc_status rc = SC_OK;
    for (;;) {
        sc_record_list *l = NULL;
        sc_point_id next;
        bool more = false;
        if (backend_points_scroll(r->be, r->coll, &req, &l, &next, &more) != SC_OK)
            return repo_fail(r, SC_IOERR, "%s", backend_errmsg(r->be));
        for (size_t i = 0; i < l->n; i++) {
            if (l->items[i].n_vectors != 1) continue;
            if (ds->n == ds->cap) {
                ds->cap = ds->cap ? ds->cap * 2 : 1024;
                q_member *gm = realloc(ds->m, sizeof *gm * ds->cap);
                float *gv = realloc(ds->vecs, sizeof(float) * r->pe.dim * ds->cap);
                if (gm) ds->m = gm;
                if (gv) ds->vecs = gv;
                if (!gm || !gv) {
                    rc = repo_fail(r, SC_NOMEM, "out of memory");
                    break;
                }
            }
            q_member *mm = &ds->m[ds->n];
            *mm = (q_member){.id = l->items[i].id.num, .payload = util_strdup(l->items[i].payload_json)};
            json_t *pj = json_loads(l->items[i].payload_json, 0, NULL);
            const char *pp = json_string_value(json_object_get(pj, "path"));
            mm->path_h = pp ? util_hash64(pp, strlen(pp), 0) : 0;
            mm->a = (uint32_t)json_integer_value(json_object_get(pj, "start_line"));
            mm->z = (uint32_t)json_integer_value(json_object_get(pj, "end_line"));
            json_decref(pj);
            memcpy(ds->vecs + ds->n * r->pe.dim, l->items[i].vectors[0], sizeof(float) * r->pe.dim);
            ds->n++;
        }
        sc_record_list_free(l);
        if (!more || rc != SC_OK) break;
        req.has_offset = true;
        req.offset = next;
    }
    return rc;
}

/* Index of the member with point id `id` (members are in id order), or n. */
static size_t q__dup_find(const q_dups *ds, uint64_t id) {
    size_t lo = 0, hi = ds->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ds->m[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < ds->n && ds->m[lo].id == id ? lo : ds->n;
}

/* Step 2: edges from each entity's nearest neighbours in the index, joined
** in the union-find: linked when the cosine similarity, or the similarity
** of their code's shape (identifiers, numbers and strings abstracted:
** renamed copies), reaches the threshold. */
static sc_status q__dup_link(sc_repo *r, const char *filter, float threshold, q_dups *ds) {
    q_member *m = ds->m;
    ds->parent = malloc(sizeof *ds->parent * (ds->n ? ds->n : 1));
    if (!ds->parent) return repo_fail(r, SC_NOMEM, "out of memory");
    for (size_t i = 0; i < ds->n; i++) ds->parent[i] = (uint32_t)i;
    for (size_t i = 0; i < ds->n; i++) {
        sc_search_request sr = {.vector_name = r->vector, .query = ds->vecs + i * r->pe.dim, .dim = r->pe.dim,
                                .limit = 11, .filter_json = filter};
        sc_record_list *l = NULL;
        if (backend_search(r->be, r->coll, &sr, &l) != SC_OK)
            return repo_fail(r, SC_IOERR, "%s", backend_errmsg(r->be));
        for (size_t k = 0; k < l->n; k++) {
            if (l->items[k].id.num == m[i].id) continue;
            size_t lo = q__dup_find(ds, l->items[k].id.num);
            if (lo == ds->n) continue;
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
            uint32_t a = q__find(ds->parent, (uint32_t)i), b = q__find(ds->parent, (uint32_t)lo);
            if (a != b) ds->parent[a] = b;
            m[i].sim_sum += sim;
            m[i].n_edges++;
        }
        sc_record_list_free(l);
    }
    return SC_OK;
}

/* Step 3: the clusters of two or more members, largest and most similar
** first, each member a hit scored by its mean edge similarity. */
static sc_status q__dup_clusters(sc_repo *r, q_dups *ds, sc_dup_clusters **out) {
    size_t n = ds->n;
    q_member *m = ds->m;
    uint32_t *parent = ds->parent;
    sc_status rc = SC_OK;
    sc_dup_clusters *d = calloc(1, sizeof *d);
    q_cluster_ref *refs = calloc(n ? n : 1, sizeof *refs);
    uint32_t *size = calloc(n ? n : 1, sizeof *size);
    double *edge_sum = calloc(n ? n : 1, sizeof *edge_sum);
    uint32_t *edge_n = calloc(n ? n : 1, sizeof *edge_n);
    if (!d || !refs || !size || !edge_sum || !edge_n) rc = repo_fail(r, SC_NOMEM, "out of memory");
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
        *out = d;
        d = NULL;
    }
    sc_dup_clusters_free(d);
    free(refs);
    free(size);
    free(edge_sum);
    free(edge_n);
    return rc;
}

sc_status sc_repo_duplicates(sc_repo *r, float threshold, uint32_t min_lines, sc_dup_clusters **out) {
    if (!r) return SC_MISUSE;
    if (!out) return repo_fail(r, SC_MISUSE, "sc_repo_duplicates: NULL out");
    double t0 = util_now();
    if (threshold <= 0) threshold = SC_DUPLICATES_DEFAULT_THRESHOLD;
    if (threshold > 1) return repo_fail(r, SC_INVALID, "threshold must be within (0, 1], got %g", (double)threshold);
    char filter[256];
    snprintf(filter, sizeof filter,
             "{\"must\": [{\"key\": \"lines\", \"range\": {\"gte\": %u}}],"
             " \"must_not\": [{\"key\": \"kind\", \"match\": {\"any\": [\"chunk\", \"module\"]}}]}",
             min_lines ? min_lines : 1);
    q_dups ds = {0};
    sc_dup_clusters *d = NULL;
    sc_status rc = q__dup_collect(r, filter, &ds);
    if (rc == SC_OK) rc = q__dup_link(r, filter, threshold, &ds);
    if (rc == SC_OK) rc = q__dup_clusters(r, &ds, &d);
    if (rc == SC_OK) {
        d->took_ms = (util_now() - t0) * 1e3;
        *out = d;
    }
    for (size_t i = 0; i < ds.n; i++) {
        free(ds.m[i].payload);
        free(ds.m[i].sh);
    }
    free(ds.m);
    free(ds.vecs);
    free(ds.parent);
    return rc;
}
