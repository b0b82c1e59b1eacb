/*
** repo/eval_queries.c: retrieval quality on queries written the way
** people ask (sc_repo_eval_queries, `semcode eval --queries`, issue 14),
** run through the product path.
**
** 1. Read the repos tsv files (repo -> split, language) and the query files
**    (JSON Lines, format in repo.h and bench/queries/README.md); a bad line
**    fails the run with its file, line and field.
** 2. Keep the queries of the repositories of the split; index each such
**    repository DIR/R as `semcode index` does (sc_repo_open +
**    sc_repo_update, default options, doc comments kept) into WORK/R/store,
**    which later runs bring up to date incrementally.
** 3. Resolve the targets once per query against the index: {path, line} to
**    the innermost entity covering the line, {path, name} checked to exist.
** 4. Search each query through sc_repo_search (the call the CLI makes) in
**    each mode: limit 10 for the entity level; the product's file search
**    (sc_code_query.files) for the file level.
** 5. Score hit@1, hit@10, MRR@10 and NDCG@10 (binary gains) per mode and
**    level over all queries, per category, per language and per repository;
**    optionally one JSON line per (query, mode) with the ranks found.
*/
#include "repo/repo_int.h"
#include "semcode/rank.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EVALQ_ERR_SIZE 1024

/* ==== Scores ==== */

void repo_qscore_add(repo_qscore_acc *a, const uint32_t *ranks, size_t n_targets) {
    uint32_t first = 0;
    double dcg = 0, idcg = 0;
    for (size_t i = 0; i < n_targets; i++) {
        uint32_t r = ranks[i];
        if (!r || r > 10) continue;
        if (!first || r < first) first = r;
        dcg += 1.0 / log2((double)r + 1.0);
    }
    for (size_t i = 1; i <= n_targets && i <= 10; i++) idcg += 1.0 / log2((double)i + 1.0);
    a->n++;
    a->hit_1 += first == 1;
    a->hit_10 += first != 0;
    a->rr += first ? 1.0 / first : 0.0;
    a->ndcg += idcg > 0 ? dcg / idcg : 0.0;
}

sc_query_scores repo_qscore_get(const repo_qscore_acc *a) {
    sc_query_scores s = {0};
    if (!a->n) return s;
    double n = (double)a->n;
    s.hit_1 = a->hit_1 / n;
    s.hit_10 = a->hit_10 / n;
    s.mrr_10 = a->rr / n;
    s.ndcg_10 = a->ndcg / n;
    return s;
}

bool repo_target_name_match(const char *hit_name, const char *hit_qname, const char *name) {
    if (!name || !*name) return false;
    if ((hit_name && !strcmp(hit_name, name)) || (hit_qname && !strcmp(hit_qname, name))) return true;
    if (!hit_qname) return false;
    size_t q = strlen(hit_qname), m = strlen(name);
    if (q <= m || strcmp(hit_qname + q - m, name)) return false;
    char c = hit_qname[q - m - 1];
    return c == '.' || c == '#' || (c == ':' && q - m >= 2 && hit_qname[q - m - 2] == ':');
}

/* ==== Queries and repositories ==== */

typedef struct evalq_target {
    char *path;          /* relative to the repository's root (owned) */
    char *name;          /* simple or qualified name (owned), or NULL for a line target */
    uint32_t line;       /* line target: a line inside the entity (0 with a name) */
    uint32_t start_line; /* line target: first line of the entity resolved in the index */
    uint32_t end_line;   /* line target: its last line */
    char *resolved;      /* line target: its qualified name (owned; for the per-query lines) */
} evalq_target;

typedef struct evalq_query {
    char *text;            /* the query (owned) */
    char *repo;            /* repository name (owned) */
    char *category;        /* behaviour, concept or symbol (owned) */
    char *language;        /* from the query, else the tsv, else the first target's file (owned) */
    const char *file;      /* query file (borrowed from the options) */
    uint32_t line;         /* line in that file */
    evalq_target *targets; /* targets (owned) */
    size_t n_targets;      /* count */
    const char **paths;    /* distinct target paths, first appearance first (borrowed from targets) */
    size_t n_paths;        /* count */
    bool skipped;          /* repository outside the split */
} evalq_query;

typedef struct evalq_repo {
    char *name;       /* repository (owned) */
    char *split;      /* split column (owned) */
    char *language;   /* language column (owned) */
    const char *file; /* tsv file (borrowed) */
    uint32_t line;    /* its line */
} evalq_repo;

typedef struct evalq_group {
    sc_query_group_kind kind; /* what the queries share */
    char name[64];            /* its value */
    uint64_t n;               /* queries */
    uint64_t files, points;   /* repository rows: files walked, points indexed */
    repo_qscore_acc entity[3], file[3]; /* by sc_search_mode */
} evalq_group;

typedef struct evalq_state {
    const sc_query_eval_options *opt;
    evalq_repo *repos; /* tsv lines */
    size_t n_repos, cap_repos;
    evalq_query *q;    /* queries */
    size_t n_q, cap_q;
    evalq_group *groups; /* report rows */
    size_t n_groups, cap_groups;
    FILE *per_query;   /* --per-query output, or NULL */
    FILE *features;    /* --dump-features output, or NULL */
    char err[EVALQ_ERR_SIZE]; /* message of the failure */
} evalq_state;

static sc_status evalq__fail(evalq_state *st, sc_status rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static sc_status evalq__fail(evalq_state *st, sc_status rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof st->err, fmt, ap);
    va_end(ap);
    return rc;
}

static void evalq__query_free(evalq_query *q) {
    for (size_t i = 0; i < q->n_targets; i++) {
        free(q->targets[i].path);
        free(q->targets[i].name);
        free(q->targets[i].resolved);
    }
    free(q->targets);
    free(q->paths);
    free(q->text);
    free(q->repo);
    free(q->category);
    free(q->language);
}

static const evalq_repo *evalq__repo_find(const evalq_state *st, const char *name) {
    for (size_t i = 0; i < st->n_repos; i++)
        if (!strcmp(st->repos[i].name, name)) return &st->repos[i];
    return NULL;
}

/* A repository name is one path component. */
static bool evalq__good_repo_name(const char *s) {
    size_t n = strlen(s);
    return n > 0 && n < 64 && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/* A target path stays inside its repository: relative, no ".." component. */
static bool evalq__good_path(const char *p) {
    if (!*p || *p == '/') return false;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 2 && s[0] == '.' && s[1] == '.')) return false;
        s += n + (e ? 1 : 0);
    }
    return true;
}

/* Call fn on each line of file (end of line cut off) until it fails. */
static sc_status evalq__each_line(evalq_state *st, const char *file, const char *what,
                                  sc_status (*fn)(evalq_state *st, const char *file, uint32_t no, char *line, size_t len)) {
    FILE *f = fopen(file, "r");
    if (!f) return evalq__fail(st, SC_NOTFOUND, "cannot read the %s %.300s: %.200s", what, file, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint32_t no = 0;
    sc_status rc = SC_OK;
    while (rc == SC_OK && (len = getline(&line, &cap, f)) >= 0) {
        no++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        rc = fn(st, file, no, line, (size_t)len);
    }
    if (rc == SC_OK && ferror(f)) rc = evalq__fail(st, SC_IOERR, "cannot read %.300s", file);
    free(line);
    fclose(f);
    return rc;
}

/* One line of a repos tsv file (the header line is skipped). */
static sc_status evalq__tsv_line(evalq_state *st, const char *file, uint32_t no, char *line, size_t len) {
    if (!len || line[0] == '#') return SC_OK;
    char *field[5] = {0};
    int nf = 0;
    for (char *s = line; s && nf < 5;) {
        field[nf++] = s;
        char *t = strchr(s, '\t');
        if (t) *t++ = '\0';
        s = t;
    }
    if (no == 1 && !strcmp(field[0], "repo")) return SC_OK; /* the header */
    if (nf < 3 || !*field[1] || !*field[2])
        return evalq__fail(st, SC_INVALID, "%.300s:%u: a repos tsv line needs repo, split and language separated by tabs",
                           file, no);
    if (!evalq__good_repo_name(field[0]))
        return evalq__fail(st, SC_INVALID, "%.300s:%u: field 'repo': '%.100s' is not a folder name", file, no, field[0]);
    const evalq_repo *dup = evalq__repo_find(st, field[0]);
    if (dup && !strcmp(dup->split, field[1]) && !strcmp(dup->language, field[2]))
        return SC_OK; /* the same line in two lists (repos.tsv made from repos-a.tsv and repos-b.tsv) */
    if (dup)
        return evalq__fail(st, SC_INVALID, "%.300s:%u: repository '%.100s' is listed again with another split or "
                           "language (first at %.300s:%u)", file, no, field[0], dup->file, dup->line);
    if (!util_grow(&st->repos, &st->cap_repos, st->n_repos + 1, sizeof *st->repos, 32))
        return evalq__fail(st, SC_NOMEM, "out of memory");
    evalq_repo *r = &st->repos[st->n_repos++];
    *r = (evalq_repo){.name = util_strdup(field[0]), .split = util_strdup(field[1]), .language = util_strdup(field[2]),
                      .file = file, .line = no};
    return r->name && r->split && r->language ? SC_OK : evalq__fail(st, SC_NOMEM, "out of memory");
}

/* A string field of o: required (non-empty) or optional (NULL when absent). */
static sc_status evalq__str(evalq_state *st, json_t *o, const char *key, bool required, const char *file, uint32_t no,
                            const char *where, const char **out) {
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v && !required) return SC_OK;
    if (!v) return evalq__fail(st, SC_INVALID, "%.300s:%u: field '%s%s' is missing", file, no, where, key);
    if (!json_is_string(v) || !*json_string_value(v))
        return evalq__fail(st, SC_INVALID, "%.300s:%u: field '%s%s' must be a non-empty string", file, no, where, key);
    *out = json_string_value(v);
    return SC_OK;
}

/* Parse the targets array of a query into q. */
static sc_status evalq__targets(evalq_state *st, json_t *arr, const char *file, uint32_t no, evalq_query *q) {
    if (!arr) return evalq__fail(st, SC_INVALID, "%.300s:%u: field 'targets' is missing", file, no);
    if (!json_is_array(arr) || !json_array_size(arr))
        return evalq__fail(st, SC_INVALID, "%.300s:%u: field 'targets' must be a non-empty array", file, no);
    size_t n = json_array_size(arr);
    q->targets = calloc(n, sizeof *q->targets);
    q->paths = calloc(n, sizeof *q->paths);
    if (!q->targets || !q->paths) return evalq__fail(st, SC_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(arr, i);
        char where[48];
        snprintf(where, sizeof where, "targets[%zu].", i);
        if (!json_is_object(t))
            return evalq__fail(st, SC_INVALID, "%.300s:%u: field 'targets[%zu]' must be an object", file, no, i);
        const char *path = NULL, *name = NULL;
        sc_status rc = evalq__str(st, t, "path", true, file, no, where, &path);
        if (rc == SC_OK) rc = evalq__str(st, t, "name", false, file, no, where, &name);
        if (rc != SC_OK) return rc;
        if (!evalq__good_path(path))
            return evalq__fail(st, SC_INVALID, "%.300s:%u: field '%spath': '%.200s' must be relative to the repository, "
                               "without '..'", file, no, where, path);
        json_t *line = json_object_get(t, "line");
        if (!!name == !!line)
            return evalq__fail(st, SC_INVALID, "%.300s:%u: field 'targets[%zu]': give either 'name' or 'line'", file,
                               no, i);
        if (line && (!json_is_integer(line) || json_integer_value(line) < 1 || json_integer_value(line) > UINT32_MAX))
            return evalq__fail(st, SC_INVALID, "%.300s:%u: field '%sline' must be a line number from 1", file, no, where);
        evalq_target *x = &q->targets[q->n_targets++];
        x->path = util_strdup(path);
        x->name = name ? util_strdup(name) : NULL;
        x->line = line ? (uint32_t)json_integer_value(line) : 0;
        if (!x->path || (name && !x->name)) return evalq__fail(st, SC_NOMEM, "out of memory");
        size_t k = 0;
        while (k < q->n_paths && strcmp(q->paths[k], x->path)) k++;
        if (k == q->n_paths) q->paths[q->n_paths++] = x->path;
    }
    return SC_OK;
}

/* Parse one query line into q (zeroed by the caller; freed by it on failure). */
static sc_status evalq__parse_query(evalq_state *st, const char *text, const char *file, uint32_t no, evalq_query *q) {
    json_error_t je;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!o) return evalq__fail(st, SC_INVALID, "%.300s:%u: not JSON: %.200s", file, no, je.text);
    sc_status rc = SC_OK;
    const char *query = NULL, *repo = NULL, *cat = NULL, *lang = NULL;
    if (!json_is_object(o)) {
        rc = evalq__fail(st, SC_INVALID, "%.300s:%u: a query line must be a JSON object", file, no);
        goto out;
    }
    if ((rc = evalq__str(st, o, "query", true, file, no, "", &query)) != SC_OK) goto out;
    if ((rc = evalq__str(st, o, "repo", true, file, no, "", &repo)) != SC_OK) goto out;
    if ((rc = evalq__str(st, o, "category", true, file, no, "", &cat)) != SC_OK) goto out;
    if ((rc = evalq__str(st, o, "language", false, file, no, "", &lang)) != SC_OK) goto out;
    if (!evalq__good_repo_name(repo)) {
        rc = evalq__fail(st, SC_INVALID, "%.300s:%u: field 'repo': '%.100s' is not a folder name", file, no, repo);
        goto out;
    }
    if (strcmp(cat, "behaviour") && strcmp(cat, "concept") && strcmp(cat, "symbol")) {
        rc = evalq__fail(st, SC_INVALID, "%.300s:%u: field 'category' must be behaviour, concept or symbol, not '%.60s'",
                         file, no, cat);
        goto out;
    }
    if (lang && strlen(lang) >= 64) {
        rc = evalq__fail(st, SC_INVALID, "%.300s:%u: field 'language' is too long", file, no);
        goto out;
    }
    q->file = file;
    q->line = no;
    q->text = util_strdup(query);
    q->repo = util_strdup(repo);
    q->category = util_strdup(cat);
    q->language = lang ? util_strdup(lang) : NULL;
    if (!q->text || !q->repo || !q->category || (lang && !q->language)) {
        rc = evalq__fail(st, SC_NOMEM, "out of memory");
        goto out;
    }
    rc = evalq__targets(st, json_object_get(o, "targets"), file, no, q);
out:
    json_decref(o);
    return rc;
}

/* One line of a query file (blank lines are skipped). */
static sc_status evalq__query_line(evalq_state *st, const char *file, uint32_t no, char *line, size_t len) {
    size_t k = 0;
    while (k < len && strchr(" \t", line[k])) k++;
    if (k == len) return SC_OK;
    if (!util_grow(&st->q, &st->cap_q, st->n_q + 1, sizeof *st->q, 256)) return evalq__fail(st, SC_NOMEM, "out of memory");
    evalq_query *q = &st->q[st->n_q++];
    memset(q, 0, sizeof *q);
    return evalq__parse_query(st, line, file, no, q);
}

/* ==== Targets in the index ==== */

/* An entity of one file, from the index. */
typedef struct evalq_ent {
    uint32_t start_line, end_line; /* lines */
    bool chunk;                    /* a line window, not an entity */
    char *name, *qname;            /* owned */
} evalq_ent;

static void evalq__ents_free(evalq_ent *e, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(e[i].name);
        free(e[i].qname);
    }
    free(e);
}

/* Every point of the index whose path is `path`. */
static sc_status evalq__file_entities(evalq_state *st, sc_repo *r, const char *path, evalq_ent **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    json_t *f = json_pack("{s:[{s:s, s:{s:s}}]}", "must", "key", "path", "match", "value", path);
    char *ftext = f ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
    if (!ftext) return evalq__fail(st, SC_NOMEM, "out of memory");
    static const char *const keys[] = {"start_line", "end_line", "kind", "name", "qualified_name"};
    sc_scroll_request req = {.filter_json = ftext, .limit = 1000};
    req.with = (sc_with){.payload = true, .payload_include = keys, .n_payload_include = 5};
    evalq_ent *v = NULL;
    size_t n = 0, cap = 0;
    sc_status rc = SC_OK;
    for (bool more = true; more && rc == SC_OK;) {
        sc_record_list *l = NULL;
        sc_point_id next;
        if (sc_points_scroll(r->db, PIPELINE_COLLECTION, &req, &l, &next, &more) != SC_OK) {
            rc = evalq__fail(st, SC_IOERR, "%.300s", sc_db_errmsg(r->db));
            break;
        }
        for (size_t i = 0; rc == SC_OK && i < l->n; i++) {
            json_t *p = json_loads(l->items[i].payload_json ? l->items[i].payload_json : "{}", 0, NULL);
            if (!p || !util_grow(&v, &cap, n + 1, sizeof *v, 16)) {
                json_decref(p);
                rc = evalq__fail(st, SC_NOMEM, "out of memory");
                break;
            }
            const char *kind = json_string_value(json_object_get(p, "kind"));
            evalq_ent *e = &v[n++];
            e->start_line = (uint32_t)json_integer_value(json_object_get(p, "start_line"));
            e->end_line = (uint32_t)json_integer_value(json_object_get(p, "end_line"));
            e->chunk = kind && !strcmp(kind, "chunk");
            e->name = util_strdup(json_string_value(json_object_get(p, "name")));
            e->qname = util_strdup(json_string_value(json_object_get(p, "qualified_name")));
            json_decref(p);
        }
        sc_record_list_free(l);
        req.has_offset = true;
        req.offset = next;
    }
    free(ftext);
    if (rc != SC_OK) {
        evalq__ents_free(v, n);
        return rc;
    }
    *out = v;
    *n_out = n;
    return SC_OK;
}

/* Check that each target of q names an entity of the index; resolve line
** targets to the innermost entity covering the line. */
static sc_status evalq__resolve(evalq_state *st, sc_repo *r, evalq_query *q) {
    for (size_t i = 0; i < q->n_targets; i++) {
        evalq_target *t = &q->targets[i];
        evalq_ent *ents = NULL;
        size_t n = 0;
        sc_status rc = evalq__file_entities(st, r, t->path, &ents, &n);
        if (rc != SC_OK) return rc;
        const evalq_ent *best = NULL;
        bool named = false;
        for (size_t k = 0; k < n; k++) {
            const evalq_ent *e = &ents[k];
            if (e->chunk) continue;
            if (t->name && repo_target_name_match(e->name, e->qname, t->name)) named = true;
            if (!t->name && e->start_line <= t->line && t->line <= e->end_line &&
                (!best || e->end_line - e->start_line < best->end_line - best->start_line))
                best = e;
        }
        if (best) {
            t->start_line = best->start_line;
            t->end_line = best->end_line;
            t->resolved = util_strdup(best->qname ? best->qname : "");
        }
        evalq__ents_free(ents, n);
        if (best && !t->resolved) return evalq__fail(st, SC_NOMEM, "out of memory");
        if (!n)
            return evalq__fail(st, SC_NOTFOUND, "%.300s:%u: field 'targets[%zu].path': %.200s is not indexed in "
                               "repository '%.100s' (no such file, or no entity in it)", q->file, q->line, i,
                               t->path, q->repo);
        if (t->name && !named)
            return evalq__fail(st, SC_NOTFOUND, "%.300s:%u: field 'targets[%zu].name': no entity named '%.100s' in "
                               "%.200s (repository '%.100s')", q->file, q->line, i, t->name, t->path, q->repo);
        if (!t->name && !best)
            return evalq__fail(st, SC_NOTFOUND, "%.300s:%u: field 'targets[%zu].line': no entity of %.200s covers "
                               "line %u (repository '%.100s')", q->file, q->line, i, t->path, t->line, q->repo);
    }
    return SC_OK;
}

/* Does hit h answer target t (targets are entities, never chunks)? */
static bool evalq__hit_is(const sc_code_hit *h, const evalq_target *t) {
    if (strcmp(h->path, t->path) || !strcmp(h->kind ? h->kind : "", "chunk")) return false;
    if (t->name) return repo_target_name_match(h->name, h->qualified_name, t->name);
    return h->start_line == t->start_line && h->end_line == t->end_line;
}

/* Rank of each target among the hits (0 = absent): each hit answers at
** most one target (the first it matches that is still open). */
static void evalq__entity_ranks(const evalq_query *q, const sc_code_hits *h, uint32_t *ranks) {
    memset(ranks, 0, q->n_targets * sizeof *ranks);
    for (size_t i = 0; i < h->n; i++)
        for (size_t t = 0; t < q->n_targets; t++)
            if (!ranks[t] && evalq__hit_is(&h->items[i], &q->targets[t])) {
                ranks[t] = (uint32_t)i + 1;
                break;
            }
}

/* --dump-features: every candidate of the hybrid ranking stage with its
** features and whether it answers the query (one JSON line). */
static sc_status evalq__dump_features(evalq_state *st, sc_repo *r, const evalq_query *q) {
    sc_code_query cq = {.text = q->text, .mode = SC_SEARCH_MODE_HYBRID, .limit = 2 * SC_RANK_CANDIDATES + 10,
                        .explain = true};
    sc_code_hits *h = NULL;
    if (sc_repo_search(r, &cq, &h) != SC_OK)
        return evalq__fail(st, SC_ERROR, "%.300s:%u: search: %.300s", q->file, q->line, sc_repo_errmsg(r));
    json_t *labels = json_array(), *feats = json_array();
    for (size_t i = 0; i < h->n; i++) {
        const sc_code_hit *x = &h->items[i];
        bool hit = false;
        for (size_t t = 0; t < q->n_targets && !hit; t++) hit = evalq__hit_is(x, &q->targets[t]);
        json_array_append_new(labels, json_integer(hit));
        json_t *row = json_array();
        for (uint32_t j = 0; j < x->n_features; j++) json_array_append_new(row, json_real((double)x->features[j]));
        json_array_append_new(feats, row);
    }
    sc_code_hits_free(h);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "query", q->text, "repo", q->repo, "category",
                          q->category ? q->category : "", "language", q->language ? q->language : "", "labels", labels,
                          "features", feats);
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    int w = line ? fprintf(st->features, "%s\n", line) : -1;
    free(line);
    return w < 0 ? evalq__fail(st, SC_IOERR, "cannot write %.300s", st->opt->features_path) : SC_OK;
}

/* ==== File ranking ==== */

/* Files in order of the first appearance of one of their entities. */
typedef struct evalq_files {
    char **paths;  /* owned */
    size_t n, cap; /* used, allocated */
} evalq_files;

static void evalq__files_free(evalq_files *f) {
    for (size_t i = 0; i < f->n; i++) free(f->paths[i]);
    free(f->paths);
    memset(f, 0, sizeof *f);
}

/* The file ranking of a query: the product's file search (sc_code_query
** .files, what `search --files` prints), its first SC_QUERY_EVAL_FILE_LIMIT
** files. keep (may be NULL) receives an entity search of limit
** SC_QUERY_EVAL_CAND_LIMIT (owned), the candidates --per-query reports. */
static sc_status evalq__rank_files(evalq_state *st, sc_repo *r, const char *text, sc_search_mode mode,
                                   evalq_files *out, sc_code_hits **keep) {
    sc_code_query cq = {.text = text, .mode = mode, .limit = SC_QUERY_EVAL_FILE_LIMIT, .files = true};
    sc_code_hits *h = NULL;
    if (sc_repo_search(r, &cq, &h) != SC_OK) return evalq__fail(st, SC_ERROR, "%.300s", sc_repo_errmsg(r));
    sc_status rc = SC_OK;
    for (size_t i = 0; i < h->n && rc == SC_OK; i++) {
        if (!util_grow(&out->paths, &out->cap, out->n + 1, sizeof *out->paths, 16) ||
            !(out->paths[out->n] = util_strdup(h->items[i].path)))
            rc = evalq__fail(st, SC_NOMEM, "out of memory");
        else
            out->n++;
    }
    sc_code_hits_free(h);
    if (keep && rc == SC_OK) {
        cq.files = false;
        cq.limit = SC_QUERY_EVAL_CAND_LIMIT;
        if (sc_repo_search(r, &cq, keep) != SC_OK) return evalq__fail(st, SC_ERROR, "%.300s", sc_repo_errmsg(r));
    }
    return rc;
}

/* ==== Report ==== */

static evalq_group *evalq__group(evalq_state *st, sc_query_group_kind kind, const char *name) {
    for (size_t i = 0; i < st->n_groups; i++)
        if (st->groups[i].kind == kind && !strcmp(st->groups[i].name, name)) return &st->groups[i];
    if (!util_grow(&st->groups, &st->cap_groups, st->n_groups + 1, sizeof *st->groups, 32)) return NULL;
    evalq_group *g = &st->groups[st->n_groups++];
    memset(g, 0, sizeof *g);
    g->kind = kind;
    snprintf(g->name, sizeof g->name, "%s", name);
    return g;
}

static int evalq__group_cmp(const void *a, const void *b) {
    const evalq_group *x = a, *y = b;
    if (x->kind != y->kind) return (int)x->kind - (int)y->kind;
    return strcmp(x->name, y->name);
}

/* JSON array of n ranks. */
static json_t *evalq__ranks_json(const uint32_t *ranks, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, json_integer(ranks[i]));
    return a;
}

static json_t *evalq__scores_obj(sc_query_scores s) {
    return json_pack("{s:f, s:f, s:f, s:f}", "hit_1", s.hit_1, "hit_10", s.hit_10, "mrr_10", s.mrr_10, "ndcg_10",
                     s.ndcg_10);
}

/* One line of --per-query output: eranks from the entity search h, ranks100
** from the file-level search (the candidates a re-ranker would see). */
static sc_status evalq__per_query(evalq_state *st, const evalq_query *q, sc_search_mode mode, const uint32_t *eranks,
                                  const uint32_t *ranks100, const uint32_t *franks, const sc_code_hits *h,
                                  const evalq_files *files) {
    repo_qscore_acc ea = {0}, fa = {0};
    repo_qscore_add(&ea, eranks, q->n_targets);
    repo_qscore_add(&fa, franks, q->n_paths);
    json_t *targets = json_array(), *top = json_array(), *top_files = json_array();
    for (size_t i = 0; targets && i < q->n_targets; i++) {
        const evalq_target *t = &q->targets[i];
        json_t *o = t->name ? json_pack("{s:s, s:s}", "path", t->path, "name", t->name)
                            : json_pack("{s:s, s:i, s:s, s:i, s:i}", "path", t->path, "line", (int)t->line,
                                        "resolved", t->resolved ? t->resolved : "", "start_line", (int)t->start_line,
                                        "end_line", (int)t->end_line);
        json_array_append_new(targets, o);
    }
    for (size_t i = 0; top && i < h->n; i++)
        json_array_append_new(top, json_pack("{s:s, s:s, s:i}", "path", h->items[i].path, "name",
                                             h->items[i].qualified_name ? h->items[i].qualified_name : "",
                                             "line", (int)h->items[i].start_line));
    for (size_t i = 0; top_files && i < files->n && i < 10; i++)
        json_array_append_new(top_files, json_string(files->paths[i]));
    json_t *eo = evalq__scores_obj(repo_qscore_get(&ea)), *fo = evalq__scores_obj(repo_qscore_get(&fa));
    if (eo) json_object_set_new(eo, "ranks", evalq__ranks_json(eranks, q->n_targets));
    if (eo) json_object_set_new(eo, "ranks_100", evalq__ranks_json(ranks100, q->n_targets));
    if (fo) json_object_set_new(fo, "ranks", evalq__ranks_json(franks, q->n_paths));
    json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "query_file", q->file,
                          "query_line", (int)q->line, "repo", q->repo, "query", q->text, "category", q->category,
                          "language", q->language, "mode", sc_search_mode_name(mode), "targets", targets, "entity", eo,
                          "file", fo, "top", top, "top_files", top_files);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    if (!s) return evalq__fail(st, SC_NOMEM, "out of memory");
    int w = fprintf(st->per_query, "%s\n", s);
    free(s);
    return w < 0 ? evalq__fail(st, SC_IOERR, "cannot write %.300s", st->opt->per_query_path) : SC_OK;
}

/* ==== The run ==== */

static int evalq__rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int evalq__query_cmp(const void *a, const void *b) {
    const evalq_query *x = a, *y = b;
    int c = strcmp(x->repo, y->repo);
    if (c) return c;
    c = strcmp(x->file, y->file);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Open and update the index of repository `name` (tree root) in work/name/store. */
static sc_status evalq__index(evalq_state *st, const char *root, const char *work, const char *name, sc_repo **out,
                              sc_query_eval_result *res) {
    char dir[PATH_MAX + 80], store[PATH_MAX + 96];
    snprintf(dir, sizeof dir, "%s/%s", work, name);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return evalq__fail(st, SC_IOERR, "cannot create %.300s: %.200s", dir, strerror(errno));
    snprintf(store, sizeof store, "%s/store", dir);
    sc_repo_options ro = sc_repo_options_default();
    ro.store_dir = store;
    ro.model_path = st->opt->model_path;
    ro.n_threads = st->opt->n_threads;
    ro.allow_rebuild = true; /* as `semcode index`: another model starts the index over */
    char *oerr = NULL;
    sc_status rc = sc_repo_open(root, &ro, out, &oerr);
    if (rc != SC_OK) {
        evalq__fail(st, rc, "repository '%.100s': %.300s", name, oerr ? oerr : sc_status_str(rc));
        sc_free(oerr);
        return rc;
    }
    sc_repo_summary sum;
    double t0 = util_now();
    if ((rc = sc_repo_update(*out, &sum)) != SC_OK)
        return evalq__fail(st, rc, "indexing repository '%.100s': %.300s", name, sc_repo_errmsg(*out));
    double dt = util_now() - t0;
    res->seconds_index += dt;
    uint64_t points = 0;
    sc_points_count((*out)->db, PIPELINE_COLLECTION, NULL, &points);
    res->entities += points;
    res->repos++;
    evalq_group *g = evalq__group(st, SC_QUERY_GROUP_REPO, name);
    if (!g) return evalq__fail(st, SC_NOMEM, "out of memory");
    g->files = sum.files_seen;
    g->points = points;
    if (st->opt->log) {
        char line[512];
        snprintf(line, sizeof line, "index %s: %llu files (%llu parsed), %llu points, %.1f s", name,
                 (unsigned long long)sum.files_seen, (unsigned long long)sum.files_parsed,
                 (unsigned long long)points, dt);
        st->opt->log(st->opt->log_arg, line);
    }
    return SC_OK;
}

/* Ask one query in every mode; add it to its groups. */
static sc_status evalq__ask(evalq_state *st, sc_repo *r, const evalq_query *q, uint32_t modes) {
    evalq_group *g[4] = {evalq__group(st, SC_QUERY_GROUP_ALL, "all"), evalq__group(st, SC_QUERY_GROUP_CATEGORY, q->category),
                         evalq__group(st, SC_QUERY_GROUP_LANGUAGE, q->language), evalq__group(st, SC_QUERY_GROUP_REPO, q->repo)};
    uint32_t *eranks = calloc(2 * q->n_targets + q->n_paths, sizeof *eranks);
    if (!g[0] || !g[1] || !g[2] || !g[3] || !eranks) {
        free(eranks);
        return evalq__fail(st, SC_NOMEM, "out of memory");
    }
    uint32_t *franks = eranks + q->n_targets, *ranks100 = franks + q->n_paths;
    for (int k = 0; k < 4; k++) g[k]->n++;
    sc_status rc = SC_OK;
    for (int m = 0; m < 3 && rc == SC_OK; m++) {
        if (!(modes & (1u << m))) continue;
        sc_code_query cq = {.text = q->text, .mode = (sc_search_mode)m, .limit = SC_QUERY_EVAL_ENTITY_LIMIT};
        sc_code_hits *h = NULL;
        if (sc_repo_search(r, &cq, &h) != SC_OK) {
            rc = evalq__fail(st, SC_ERROR, "%.300s:%u: search: %.300s", q->file, q->line, sc_repo_errmsg(r));
            break;
        }
        evalq__entity_ranks(q, h, eranks);
        evalq_files files = {0};
        sc_code_hits *h100 = NULL;
        rc = evalq__rank_files(st, r, q->text, (sc_search_mode)m, &files, st->per_query ? &h100 : NULL);
        if (rc == SC_OK) {
            for (size_t p = 0; p < q->n_paths; p++) {
                franks[p] = 0;
                for (size_t i = 0; i < files.n && !franks[p]; i++)
                    if (!strcmp(files.paths[i], q->paths[p])) franks[p] = (uint32_t)i + 1;
            }
            for (int k = 0; k < 4; k++) {
                repo_qscore_add(&g[k]->entity[m], eranks, q->n_targets);
                repo_qscore_add(&g[k]->file[m], franks, q->n_paths);
            }
            if (st->per_query) {
                evalq__entity_ranks(q, h100, ranks100);
                rc = evalq__per_query(st, q, (sc_search_mode)m, eranks, ranks100, franks, h, &files);
            }
        }
        sc_code_hits_free(h100);
        evalq__files_free(&files);
        sc_code_hits_free(h);
    }
    free(eranks);
    if (rc == SC_OK && st->features) rc = evalq__dump_features(st, r, q);
    return rc;
}

/* Steps 2-5 over the queries read into st. */
static sc_status evalq__run(evalq_state *st, const char *work, sc_query_eval_result *res) {
    const sc_query_eval_options *o = st->opt;
    uint32_t modes = o->modes & 7u ? o->modes & 7u : 7u;
    bool by_split = o->split && strcmp(o->split, "all");
    if (by_split && strcmp(o->split, "dev") && strcmp(o->split, "test"))
        return evalq__fail(st, SC_INVALID, "the split must be dev, test or all, not '%.60s'", o->split);
    if (by_split && !st->n_repos)
        return evalq__fail(st, SC_INVALID, "choosing the %s split needs a repos tsv naming each repository's split",
                           o->split);
    char dir_abs[PATH_MAX], work_abs[PATH_MAX];
    if (!realpath(o->repos_dir, dir_abs))
        return evalq__fail(st, SC_NOTFOUND, "%.300s: %.200s", o->repos_dir, strerror(errno));
    if (!realpath(work, work_abs)) return evalq__fail(st, SC_NOTFOUND, "%.300s: %.200s", work, strerror(errno));
    /* which queries, and their languages */
    for (size_t i = 0; i < st->n_q; i++) {
        evalq_query *q = &st->q[i];
        const evalq_repo *rp = evalq__repo_find(st, q->repo);
        if (st->n_repos && !rp)
            return evalq__fail(st, SC_NOTFOUND, "%.300s:%u: repository '%.100s' is not in the repos tsv", q->file,
                               q->line, q->repo);
        if (by_split && strcmp(rp->split, o->split)) {
            q->skipped = true;
            res->queries_skipped++;
            continue;
        }
        if (!q->language) {
            const char *l = rp ? rp->language : sc_lang_name(sc_lang_detect(q->targets[0].path, NULL, 0));
            if (!(q->language = util_strdup(l))) return evalq__fail(st, SC_NOMEM, "out of memory");
        }
        char root[PATH_MAX * 2];
        snprintf(root, sizeof root, "%s/%s", dir_abs, q->repo);
        struct stat sb;
        if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return evalq__fail(st, SC_NOTFOUND, "%.300s:%u: repository '%.100s' has no tree at %.300s", q->file,
                               q->line, q->repo, root);
        size_t rl = strlen(root);
        if (!strncmp(work_abs, root, rl) && (work_abs[rl] == '/' || !work_abs[rl]))
            return evalq__fail(st, SC_INVALID, "the work folder %.300s is inside repository '%.100s'; give one "
                               "outside %.300s", work_abs, q->repo, dir_abs);
    }
    qsort(st->q, st->n_q, sizeof *st->q, evalq__query_cmp);
    sc_status rc = SC_OK;
    for (size_t i = 0; i < st->n_q && rc == SC_OK;) {
        size_t j = i;
        while (j < st->n_q && !strcmp(st->q[j].repo, st->q[i].repo)) j++;
        bool any = false;
        for (size_t k = i; k < j; k++) any |= !st->q[k].skipped;
        if (any) {
            char root[PATH_MAX * 2];
            snprintf(root, sizeof root, "%s/%s", dir_abs, st->q[i].repo);
            sc_repo *r = NULL;
            rc = evalq__index(st, root, work_abs, st->q[i].repo, &r, res);
            for (size_t k = i; k < j && rc == SC_OK; k++) {
                evalq_query *q = &st->q[k];
                if (q->skipped) continue;
                if ((rc = evalq__resolve(st, r, q)) != SC_OK) break;
                double t0 = util_now();
                if (!o->check_only) rc = evalq__ask(st, r, q, modes);
                res->seconds_search += util_now() - t0;
                res->queries++;
                res->targets += q->n_targets;
            }
            sc_repo_close(r);
        }
        i = j;
    }
    if (rc != SC_OK) return rc;
    if (!res->queries) return evalq__fail(st, SC_NOTFOUND, "no query of the split%s%s", by_split ? " " : "",
                                          by_split ? o->split : "");
    qsort(st->groups, st->n_groups, sizeof *st->groups, evalq__group_cmp);
    res->groups = calloc(st->n_groups, sizeof *res->groups);
    if (!res->groups) return evalq__fail(st, SC_NOMEM, "out of memory");
    for (size_t i = 0; i < st->n_groups; i++) {
        const evalq_group *g = &st->groups[i];
        sc_query_group *w = &res->groups[res->n_groups++];
        w->kind = g->kind;
        memcpy(w->name, g->name, sizeof w->name);
        w->queries = g->n;
        w->files = g->files;
        w->points = g->points;
        for (int m = 0; m < 3; m++) {
            w->entity[m] = repo_qscore_get(&g->entity[m]);
            w->file[m] = repo_qscore_get(&g->file[m]);
        }
    }
    res->modes = o->check_only ? 0 : modes;
    return SC_OK;
}

sc_status sc_repo_eval_queries(const sc_query_eval_options *opt, sc_query_eval_result **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!opt || !out || !opt->repos_dir || !opt->n_query_files || !opt->query_files)
        return util_errmsg_out(errmsg, SC_MISUSE, "sc_repo_eval_queries: NULL options or output, or no repos_dir or query files");
    *out = NULL;
    evalq_state st = {.opt = opt};
    sc_query_eval_result *res = calloc(1, sizeof *res);
    sc_status rc = res ? SC_OK : evalq__fail(&st, SC_NOMEM, "out of memory");
    char work[PATH_MAX];
    bool temp = !opt->work_dir, made = false;
    work[0] = '\0';
    for (size_t i = 0; rc == SC_OK && i < opt->n_tsv_files; i++)
        rc = evalq__each_line(&st, opt->tsv_files[i], "repos tsv", evalq__tsv_line);
    for (size_t i = 0; rc == SC_OK && i < opt->n_query_files; i++)
        rc = evalq__each_line(&st, opt->query_files[i], "query file", evalq__query_line);
    if (rc != SC_OK) goto done;
    if (temp) {
        const char *tmp = getenv("TMPDIR");
        snprintf(work, sizeof work, "%s/semcode-evalq-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(work)) {
            work[0] = '\0';
            rc = evalq__fail(&st, SC_IOERR, "cannot create a temporary folder: %.200s", strerror(errno));
            goto done;
        }
    } else {
        snprintf(work, sizeof work, "%s", opt->work_dir);
        made = mkdir(work, 0755) == 0;
        if (!made && errno != EEXIST) {
            rc = evalq__fail(&st, SC_IOERR, "cannot create %.300s: %.200s", work, strerror(errno));
            goto done;
        }
    }
    if (opt->per_query_path && !(st.per_query = fopen(opt->per_query_path, "w"))) {
        rc = evalq__fail(&st, SC_IOERR, "cannot write %.300s: %.200s", opt->per_query_path, strerror(errno));
        goto done;
    }
    if (opt->features_path) {
        if (!(st.features = fopen(opt->features_path, "w"))) {
            rc = evalq__fail(&st, SC_IOERR, "cannot write %.300s: %.200s", opt->features_path, strerror(errno));
            goto done;
        }
        json_t *names = json_array();
        for (uint32_t j = 0; j < sc_rank_n_features(); j++) json_array_append_new(names, json_string(sc_rank_feature_name(j)));
        json_t *hdr = json_pack("{s:o}", "feature_names", names);
        char *line = json_dumps(hdr, JSON_COMPACT);
        json_decref(hdr);
        fprintf(st.features, "%s\n", line ? line : "{}");
        free(line);
    }
    rc = evalq__run(&st, work, res);
    if (st.features && fclose(st.features) != 0 && rc == SC_OK)
        rc = evalq__fail(&st, SC_IOERR, "cannot write %.300s", opt->features_path);
    st.features = NULL;
    if (st.per_query && fclose(st.per_query) != 0 && rc == SC_OK)
        rc = evalq__fail(&st, SC_IOERR, "cannot write %.300s", opt->per_query_path);
    st.per_query = NULL;
done:
    if (st.per_query) fclose(st.per_query);
    if (st.features) fclose(st.features);
    if (temp && work[0]) nftw(work, evalq__rm, 16, FTW_DEPTH | FTW_PHYS);
    else if (made && rc != SC_OK) rmdir(work); /* a work folder this run made, refused or left empty */
    for (size_t i = 0; i < st.n_q; i++) evalq__query_free(&st.q[i]);
    free(st.q);
    for (size_t i = 0; i < st.n_repos; i++) {
        free(st.repos[i].name);
        free(st.repos[i].split);
        free(st.repos[i].language);
    }
    free(st.repos);
    free(st.groups);
    if (rc != SC_OK) {
        sc_query_eval_result_free(res);
        if (errmsg) *errmsg = util_strdup(st.err[0] ? st.err : sc_status_str(rc));
        return rc;
    }
    *out = res;
    return SC_OK;
}

void sc_query_eval_result_free(sc_query_eval_result *r) {
    if (!r) return;
    free(r->groups);
    free(r);
}

char *sc_query_eval_json(const sc_query_eval_result *r) {
    static const char *const kinds[] = {"all", "category", "language", "repo"};
    json_t *modes = json_array(), *groups = json_array();
    for (int m = 0; modes && m < 3; m++)
        if (r->modes & (1u << m)) json_array_append_new(modes, json_string(sc_search_mode_name((sc_search_mode)m)));
    for (size_t i = 0; groups && i < r->n_groups; i++) {
        const sc_query_group *g = &r->groups[i];
        json_t *o = json_pack("{s:s, s:s, s:I}", "kind", kinds[g->kind], "name", g->name, "queries",
                              (json_int_t)g->queries);
        if (o && g->kind == SC_QUERY_GROUP_REPO) {
            json_object_set_new(o, "files", json_integer((json_int_t)g->files));
            json_object_set_new(o, "points", json_integer((json_int_t)g->points));
        }
        for (int m = 0; o && m < 3; m++)
            if (r->modes & (1u << m))
                json_object_set_new(o, sc_search_mode_name((sc_search_mode)m),
                                    json_pack("{s:o, s:o}", "entity", evalq__scores_obj(g->entity[m]), "file",
                                              evalq__scores_obj(g->file[m])));
        json_array_append_new(groups, o);
    }
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:o, s:o}", "queries", (json_int_t)r->queries,
                          "queries_skipped", (json_int_t)r->queries_skipped, "targets", (json_int_t)r->targets,
                          "repos", (json_int_t)r->repos, "entities", (json_int_t)r->entities, "seconds_index",
                          r->seconds_index, "seconds_search", r->seconds_search, "modes", modes, "groups", groups);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    return s;
}
