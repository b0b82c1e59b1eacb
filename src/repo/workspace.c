/*
** repo/workspace.c: several indexed repositories searched as one
** (include/semcode/workspace.h): opening them from a list or a workspace
** file, a lock per repository, and the search that asks each chosen
** repository and merges the answers.
**
** DESIGN
** - Each repository stays a plain sc_repo with its own index; nothing is
**   copied between them. A search asks each chosen repository in turn
**   (under its lock, for q->limit results) and merges.
** - Merging (docs/ARCHITECTURE.md, "Several repositories"): a hybrid
**   search over repositories of one model ranks the union of their
**   candidates in one call of the ranking stage, its relative features
**   (ranks, best scores) taken over all of them; dense (cosine) and
**   keyword (BM25) lists merge by score (ties: repository order, then
**   rank); alpha fusion (normalised per repository), files mode and
**   repositories of different models merge by rank or score as
**   sc_code_hits_merge says.
** - Locks: one mutex per repository, taken one at a time (never two held
**   together), so searches of different repositories run in parallel and
**   a watcher's update of one repository blocks searches of that one only.
*/
#include "repo/repo_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "semcode/workspace.h"
#include "semcode/rank.h"

/* One repository of a workspace. */
typedef struct ws_entry {
    char *name;         /* owned name */
    sc_repo *repo;      /* owned open repository */
    pthread_mutex_t mu; /* held around every use of repo */
} ws_entry;

struct sc_workspace {
    ws_entry *items; /* n repositories, in the order given */
    size_t n;        /* used entries */
};

/* An owned "semcode: ..." style message into *errmsg (may be NULL); returns rc. */
static sc_status ws__fail(char **errmsg, sc_status rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static sc_status ws__fail(char **errmsg, sc_status rc, const char *fmt, ...) {
    if (errmsg) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        *errmsg = util_strdup(buf);
    }
    return rc;
}

/* Is name a valid repository name ([A-Za-z0-9._-], 1 to 64 bytes)? */
static bool ws__name_ok(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > SC_WORKSPACE_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-') return false;
    return true;
}

/* The base name of path without trailing '/' (owned). */
static char *ws__base(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t s = n;
    while (s > 0 && path[s - 1] != '/') s--;
    return strndup(path + s, n - s);
}

/* ==== Opening ==== */

sc_status sc_workspace_open(const sc_workspace_entry *repos, size_t n, const sc_repo_options *opt, sc_workspace **out,
                            char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!out || (n && !repos)) return ws__fail(errmsg, SC_MISUSE, "sc_workspace_open: no output or no repositories");
    if (n == 0) return ws__fail(errmsg, SC_INVALID, "a workspace needs at least one repository");
    if (n > SC_WORKSPACE_MAX_REPOS)
        return ws__fail(errmsg, SC_INVALID, "a workspace holds at most %d repositories, got %zu", SC_WORKSPACE_MAX_REPOS, n);
    sc_workspace *ws = calloc(1, sizeof *ws);
    if (!ws || !(ws->items = calloc(n, sizeof *ws->items))) {
        free(ws);
        return ws__fail(errmsg, SC_NOMEM, "out of memory");
    }
    sc_repo_options o = opt ? *opt : sc_repo_options_default();
    sc_status rc = SC_OK;
    for (size_t i = 0; i < n && rc == SC_OK; i++) {
        const sc_workspace_entry *e = &repos[i];
        if (!e->path || !*e->path) {
            rc = ws__fail(errmsg, SC_INVALID, "repository %zu of the workspace has no path", i + 1);
            break;
        }
        char *name = e->name ? strdup(e->name) : ws__base(e->path);
        if (!name) {
            rc = ws__fail(errmsg, SC_NOMEM, "out of memory");
            break;
        }
        if (!ws__name_ok(name)) {
            rc = ws__fail(errmsg, SC_INVALID,
                          "repository name '%.80s' (of %.200s) must be 1 to %d characters of A-Z a-z 0-9 . _ -", name,
                          e->path, SC_WORKSPACE_NAME_MAX);
            free(name);
            break;
        }
        if (sc_workspace_find(ws, name) >= 0) {
            rc = ws__fail(errmsg, SC_INVALID, "two repositories are named '%s' (the second is %.200s): name them apart",
                          name, e->path);
            free(name);
            break;
        }
        /* Each repository's own index: never $SEMCODE_STORE (one folder for all), never a new one. */
        char store[PATH_MAX], state[PATH_MAX + 16];
        snprintf(store, sizeof store, "%s%s", e->store_dir ? e->store_dir : e->path, e->store_dir ? "" : "/.semcode");
        snprintf(state, sizeof state, "%s/state.db", store);
        /* a Qdrant store holds the points (and records) of a tree another machine indexed */
        bool remote = e->store_dir && backend_is_url(e->store_dir);
        if (!remote && access(state, F_OK) != 0) {
            rc = ws__fail(errmsg, SC_NOTFOUND, "repository %s: no index in %s; run 'semcode index %s' first", name, store,
                          e->path);
            free(name);
            break;
        }
        o.store_dir = store;
        char *msg = NULL;
        sc_repo *r = NULL;
        if ((rc = sc_repo_open(e->path, &o, &r, &msg)) != SC_OK) {
            ws__fail(errmsg, rc, "cannot open the repository %s (%s): %s", name, e->path, msg ? msg : sc_status_str(rc));
            sc_free(msg);
            free(name);
            break;
        }
        ws->items[ws->n].name = name;
        ws->items[ws->n].repo = r;
        pthread_mutex_init(&ws->items[ws->n].mu, NULL);
        ws->n++;
    }
    if (rc != SC_OK) {
        sc_workspace_close(ws);
        return rc;
    }
    *out = ws;
    return SC_OK;
}

/* Parse one line of a workspace file into e (pointers into line, which is
** modified); false for a blank or comment line. */
static bool ws__parse_line(char *line, sc_workspace_entry *e) {
    char *s = line;
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    if (!*s || *s == '#') return false;
    memset(e, 0, sizeof *e);
    char *eq = strchr(s, '=');
    if (!eq) {
        e->path = s;
        return true;
    }
    char *name_end = eq;
    while (name_end > s && isspace((unsigned char)name_end[-1])) name_end--;
    *name_end = '\0';
    char *p = eq + 1;
    while (isspace((unsigned char)*p)) p++;
    e->name = s;
    e->path = p;
    return true;
}

sc_status sc_workspace_open_file(const char *path, const sc_repo_options *opt, sc_workspace **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return ws__fail(errmsg, SC_IOERR, "cannot read the workspace file %s: %s", path ? path : "(null)", strerror(errno));
    sc_workspace_entry repos[SC_WORKSPACE_MAX_REPOS];
    char *paths[SC_WORKSPACE_MAX_REPOS]; /* owned: absolute paths of relative entries */
    char *lines[SC_WORKSPACE_MAX_REPOS]; /* owned lines the entries point into */
    size_t n = 0, lineno = 0;
    sc_status rc = SC_OK;
    char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash) *slash = '\0';
    char buf[4096];
    while (rc == SC_OK && fgets(buf, sizeof buf, f)) {
        lineno++;
        if (!strchr(buf, '\n') && !feof(f)) {
            rc = ws__fail(errmsg, SC_INVALID, "%s:%zu: line longer than %zu bytes", path, lineno, sizeof buf - 2);
            break;
        }
        char *line = strdup(buf);
        sc_workspace_entry e;
        if (!line || !ws__parse_line(line, &e)) {
            free(line);
            continue;
        }
        if (n == SC_WORKSPACE_MAX_REPOS) {
            free(line);
            rc = ws__fail(errmsg, SC_INVALID, "%s:%zu: more than %d repositories", path, lineno, SC_WORKSPACE_MAX_REPOS);
            break;
        }
        if (!*e.path || (e.name && !*e.name)) {
            free(line);
            rc = ws__fail(errmsg, SC_INVALID, "%s:%zu: expected 'NAME = PATH' or 'PATH', got '%.200s'", path, lineno, buf);
            break;
        }
        paths[n] = NULL;
        if (e.path[0] != '/' && slash) {
            size_t len = strlen(dir) + strlen(e.path) + 2;
            if ((paths[n] = malloc(len))) snprintf(paths[n], len, "%s/%s", dir, e.path);
            e.path = paths[n];
        }
        lines[n] = line;
        repos[n++] = e;
    }
    fclose(f);
    if (rc == SC_OK && n == 0) rc = ws__fail(errmsg, SC_INVALID, "the workspace file %s lists no repository", path);
    if (rc == SC_OK) {
        for (size_t i = 0; i < n && rc == SC_OK; i++)
            if (!repos[i].path) rc = ws__fail(errmsg, SC_NOMEM, "out of memory");
        if (rc == SC_OK) {
            char *msg = NULL;
            rc = sc_workspace_open(repos, n, opt, out, &msg);
            if (rc != SC_OK) ws__fail(errmsg, rc, "workspace %s: %s", path, msg ? msg : sc_status_str(rc));
            sc_free(msg);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(paths[i]);
        free(lines[i]);
    }
    free(dir);
    return rc;
}

void sc_workspace_close(sc_workspace *ws) {
    if (!ws) return;
    for (size_t i = 0; i < ws->n; i++) {
        sc_repo_close(ws->items[i].repo);
        pthread_mutex_destroy(&ws->items[i].mu);
        free(ws->items[i].name);
    }
    free(ws->items);
    free(ws);
}

size_t sc_workspace_count(const sc_workspace *ws) { return ws ? ws->n : 0; }

const char *sc_workspace_name(const sc_workspace *ws, size_t i) { return ws && i < ws->n ? ws->items[i].name : NULL; }

char *sc_workspace_names(const sc_workspace *ws, char *buf, size_t size) {
    size_t used = 0;
    if (!buf || !size) return buf;
    buf[0] = 0;
    for (size_t i = 0; ws && i < ws->n && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", ws->items[i].name);
        if (n < 0) break;
        used += (size_t)n;
    }
    return buf;
}

int sc_workspace_find(const sc_workspace *ws, const char *name) {
    for (size_t i = 0; ws && name && i < ws->n; i++)
        if (!strcmp(ws->items[i].name, name)) return (int)i;
    return -1;
}

sc_repo *sc_workspace_repo(sc_workspace *ws, size_t i) { return ws && i < ws->n ? ws->items[i].repo : NULL; }

void sc_workspace_lock(sc_workspace *ws, size_t i) {
    if (ws && i < ws->n) pthread_mutex_lock(&ws->items[i].mu);
}

bool sc_workspace_lock_wait(sc_workspace *ws, size_t i, uint32_t ms) {
    if (!ws || i >= ws->n) return false;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_mutex_timedlock(&ws->items[i].mu, &ts) == 0;
}

void sc_workspace_unlock(sc_workspace *ws, size_t i) {
    if (ws && i < ws->n) pthread_mutex_unlock(&ws->items[i].mu);
}

/* ==== Merging ==== */

/* A hit waiting to be merged: where it came from. */
typedef struct ws_pick {
    size_t list;  /* index of its list */
    size_t index; /* its index in that list (its rank - 1) */
    float score;  /* its score */
} ws_pick;

/* Best first: higher score (by_score) or lower rank, then list order. */
static int ws__pick_cmp_score(const void *a, const void *b) {
    const ws_pick *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    if (x->list != y->list) return x->list < y->list ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int ws__pick_cmp_rank(const void *a, const void *b) {
    const ws_pick *x = a, *y = b;
    if (x->index != y->index) return x->index < y->index ? -1 : 1;
    return x->list < y->list ? -1 : x->list > y->list;
}

sc_status sc_code_hits_merge(sc_code_hits *const *lists, const char *const *names, size_t n, bool by_score,
                             uint32_t limit, sc_code_hits **out) {
    if (!limit) limit = 10;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += lists[i] ? lists[i]->n : 0;
    ws_pick *picks = malloc(sizeof *picks * (total ? total : 1));
    sc_code_hits *h = calloc(1, sizeof *h);
    size_t keep = total < limit ? total : limit;
    if (h) h->items = calloc(keep ? keep : 1, sizeof *h->items);
    if (!picks || !h || !h->items) {
        free(picks);
        if (h) free(h->items);
        free(h);
        return SC_NOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; lists[i] && j < lists[i]->n; j++)
            picks[m++] = (ws_pick){.list = i, .index = j, .score = lists[i]->items[j].score};
    qsort(picks, m, sizeof *picks, by_score ? ws__pick_cmp_score : ws__pick_cmp_rank);
    h->confidence = (double)NAN;
    sc_status rc = SC_OK;
    for (size_t k = 0; k < keep; k++) {
        sc_code_hit *src = &lists[picks[k].list]->items[picks[k].index];
        sc_code_hit *dst = &h->items[h->n];
        *dst = *src;
        memset(src, 0, sizeof *src); /* its strings now belong to h */
        dst->rank = (uint32_t)(h->n + 1);
        free(dst->repo);
        dst->repo = names && names[picks[k].list] ? strdup(names[picks[k].list]) : NULL;
        h->n++;
        if (names && names[picks[k].list] && !dst->repo) rc = SC_NOMEM;
    }
    if (m) { /* the first result's repository answers for the confidence */
        const sc_code_hits *first = lists[picks[0].list];
        h->confidence = first->confidence;
        h->low_confidence = first->low_confidence;
    }
    for (size_t i = 0; i < n; i++)
        if (lists[i]) h->took_ms += lists[i]->took_ms;
    free(picks);
    if (rc != SC_OK) {
        sc_code_hits_free(h);
        return rc;
    }
    *out = h;
    return SC_OK;
}

/* ==== Searching ==== */

/* A candidate of the union: its repository and what its legs found. */
typedef struct ws_ucand {
    size_t repo;     /* index into the chosen repositories */
    repo_cand c;     /* payload (owned), scores and ranks within its repository */
    uint32_t d_rank; /* rank in the union's dense leg, 0 = not there */
    uint32_t k_rank; /* rank in the union's keyword leg, 0 = not there */
    double score;    /* the ranking stage's score */
    size_t row;      /* its row of features */
} ws_ucand;

/* qsort_r orders of indexes into the union (arg): by dense / keyword score, best first. */
static int ws__by_dense(const void *a, const void *b, void *arg) {
    const ws_ucand *u = arg;
    double x = u[*(const size_t *)a].c.dense, y = u[*(const size_t *)b].c.dense;
    return x > y ? -1 : x < y;
}

static int ws__by_kw(const void *a, const void *b, void *arg) {
    const ws_ucand *u = arg;
    double x = u[*(const size_t *)a].c.kw, y = u[*(const size_t *)b].c.kw;
    return x > y ? -1 : x < y;
}

static int ws__by_score(const void *a, const void *b) {
    const ws_ucand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->repo < y->repo ? -1 : x->repo > y->repo;
}

/* Number the union's candidates in one leg (dense or keyword) by score. */
static void ws__union_ranks(ws_ucand *u, size_t n, size_t *idx, bool dense) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (dense ? u[i].c.dense_rank : u[i].c.kw_rank) idx[m++] = i;
    qsort_r(idx, m, sizeof *idx, dense ? ws__by_dense : ws__by_kw, u);
    for (size_t k = 0; k < m; k++) *(dense ? &u[idx[k]].d_rank : &u[idx[k]].k_rank) = (uint32_t)k + 1;
}

/* Hybrid search of the chosen repositories ranked as one list: each
** repository's dense and keyword candidates, their ranks and the best
** scores taken over the union, then one call of the ranking stage over all
** of them (the query's term statistics from the first repository). */
static sc_status ws__search_union(sc_workspace *ws, const size_t *chosen, size_t n_chosen, const sc_code_query *q,
                                  sc_code_hits **out, char **errmsg) {
    ws_ucand *u = NULL;
    size_t n = 0, cap = 0;
    char *text = NULL;
    sc_status rc = SC_OK;
    for (size_t k = 0; k < n_chosen && rc == SC_OK; k++) {
        ws_entry *e = &ws->items[chosen[k]];
        repo_cand *c = NULL;
        size_t m = 0;
        char *t = NULL;
        pthread_mutex_lock(&e->mu);
        rc = repo_search_candidates(e->repo, q, &t, &c, &m);
        if (rc != SC_OK) ws__fail(errmsg, rc, "repository %s: %s", e->name, sc_repo_errmsg(e->repo));
        pthread_mutex_unlock(&e->mu);
        if (!text) text = t;
        else free(t);
        if (rc == SC_OK && m && !util_grow(&u, &cap, n + m, sizeof *u, 64)) rc = ws__fail(errmsg, SC_NOMEM, "out of memory");
        for (size_t i = 0; i < m; i++) {
            if (rc == SC_OK) u[n++] = (ws_ucand){.repo = k, .c = c[i]};
            else {
                free(c[i].payload);
                repo_usage_clear(&c[i].usage, 1);
            }
        }
        free(c);
    }
    uint32_t nf = sc_rank_n_features();
    size_t *idx = rc == SC_OK ? malloc(sizeof *idx * (n ? n : 1)) : NULL;
    sc_rank_cand *rcs = rc == SC_OK ? calloc(n ? n : 1, sizeof *rcs) : NULL;
    double *scores = rc == SC_OK ? malloc(sizeof *scores * (n ? n : 1)) : NULL;
    float *feats = rc == SC_OK && q->explain ? malloc(sizeof *feats * nf * (n ? n : 1)) : NULL;
    if (rc == SC_OK && (!idx || !rcs || !scores || (q->explain && !feats))) rc = ws__fail(errmsg, SC_NOMEM, "out of memory");
    if (rc == SC_OK) {
        ws__union_ranks(u, n, idx, true);
        ws__union_ranks(u, n, idx, false);
        for (size_t i = 0; i < n; i++)
            rcs[i] = (sc_rank_cand){.id = {.kind = SC_ID_KIND_NUM, .num = i}, .payload_json = u[i].c.payload,
                                    .dense = (float)u[i].c.dense, .dense_rank = u[i].d_rank,
                                    .keyword = (float)u[i].c.kw, .keyword_rank = u[i].k_rank,
                                    .callees = u[i].c.usage.callees, .callers = u[i].c.usage.callers,
                                    .fanin = u[i].c.usage.fanin};
        ws_entry *first = &ws->items[chosen[0]];
        pthread_mutex_lock(&first->mu);
        rc = sc_rank_code(sc_repo_db(first->repo), PIPELINE_COLLECTION, text ? text : q->text, rcs, n, scores, feats);
        if (rc != SC_OK) ws__fail(errmsg, rc, "ranking stage: %s", sc_db_errmsg(sc_repo_db(first->repo)));
        pthread_mutex_unlock(&first->mu);
    }
    for (size_t i = 0; rc == SC_OK && i < n; i++) {
        u[i].score = scores[i];
        u[i].row = i;
    }
    if (rc == SC_OK && n) qsort(u, n, sizeof *u, ws__by_score);
    uint32_t limit = q->limit ? q->limit : 10;
    sc_code_hits *h = rc == SC_OK ? calloc(1, sizeof *h) : NULL;
    if (rc == SC_OK && (!h || !(h->items = calloc(n < limit ? (n ? n : 1) : limit, sizeof *h->items))))
        rc = ws__fail(errmsg, SC_NOMEM, "out of memory");
    for (size_t i = 0; rc == SC_OK && i < n && h->n < limit; i++) {
        if (q->min_score > 0 && u[i].score < (double)q->min_score) break;
        ws_entry *e = &ws->items[chosen[u[i].repo]];
        sc_code_hit *x = &h->items[h->n];
        pthread_mutex_lock(&e->mu);
        rc = repo_hit_from_payload(e->repo, u[i].c.payload, (float)u[i].score, x);
        if (rc != SC_OK) ws__fail(errmsg, rc, "repository %s: %s", e->name, sc_repo_errmsg(e->repo));
        pthread_mutex_unlock(&e->mu);
        if (rc != SC_OK) break;
        h->n++;
        x->rank = (uint32_t)h->n;
        x->n_entities = 1;
        if (!(x->repo = util_strdup(e->name))) rc = ws__fail(errmsg, SC_NOMEM, "out of memory");
        if (feats && (x->features = malloc(sizeof *x->features * nf))) {
            memcpy(x->features, feats + u[i].row * nf, sizeof *x->features * nf);
            x->n_features = nf;
        }
    }
    if (h) {
        double s1 = n ? u[0].score : -HUGE_VAL, s2 = n > 1 ? u[1].score : (double)NAN;
        h->confidence = n ? sc_rank_confidence(s1, s2) : 0.0;
        h->low_confidence = h->confidence < sc_rank_confidence_threshold();
    }
    for (size_t i = 0; i < n; i++) {
        free(u[i].c.payload);
        repo_usage_clear(&u[i].c.usage, 1);
    }
    free(u);
    free(idx);
    free(rcs);
    free(scores);
    free(feats);
    free(text);
    if (rc != SC_OK) {
        sc_code_hits_free(h);
        return rc;
    }
    *out = h;
    return SC_OK;
}

sc_status sc_workspace_search(sc_workspace *ws, const char *const *names, size_t n_names, const sc_code_query *q,
                              sc_code_hits **out, char **errmsg) {
    if (errmsg) *errmsg = NULL;
    if (!ws || !q || !out || (n_names && !names)) return ws__fail(errmsg, SC_MISUSE, "sc_workspace_search: missing argument");
    double t0 = util_now();
    bool chosen[SC_WORKSPACE_MAX_REPOS] = {false};
    for (size_t k = 0; k < n_names; k++) {
        int i = sc_workspace_find(ws, names[k]);
        if (i < 0) {
            char list[1024];
            return ws__fail(errmsg, SC_NOTFOUND, "no repository named '%.80s' (this workspace has: %s)", names[k],
                            sc_workspace_names(ws, list, sizeof list));
        }
        chosen[i] = true;
    }
    size_t chosen_idx[SC_WORKSPACE_MAX_REPOS], n_chosen = 0;
    char model[256] = "";
    bool same_model = true;
    for (size_t i = 0; i < ws->n; i++) {
        if (n_names && !chosen[i]) continue;
        chosen_idx[n_chosen++] = i;
        ws_entry *e = &ws->items[i];
        pthread_mutex_lock(&e->mu);
        if (!model[0]) snprintf(model, sizeof model, "%s", e->repo->pe.model_id);
        else if (strcmp(model, e->repo->pe.model_id)) same_model = false;
        pthread_mutex_unlock(&e->mu);
    }
    /* Hybrid (the ranking stage) over repositories of one model: rank the union of their candidates. */
    if (n_chosen > 1 && same_model && q->mode == SC_SEARCH_MODE_HYBRID && !(q->alpha > 0) && !q->files) {
        sc_status rc = ws__search_union(ws, chosen_idx, n_chosen, q, out, errmsg);
        if (rc == SC_OK) (*out)->took_ms = (util_now() - t0) * 1e3;
        return rc;
    }
    sc_code_hits *lists[SC_WORKSPACE_MAX_REPOS] = {NULL};
    const char *lnames[SC_WORKSPACE_MAX_REPOS];
    size_t n = 0;
    sc_status rc = SC_OK;
    for (size_t i = 0; i < ws->n && rc == SC_OK; i++) {
        if (n_names && !chosen[i]) continue;
        ws_entry *e = &ws->items[i];
        pthread_mutex_lock(&e->mu);
        /* Lock intent: the repository (its store, embedder, state) is single-threaded. */
        rc = sc_repo_search(e->repo, q, &lists[n]);
        if (rc != SC_OK) ws__fail(errmsg, rc, "repository %s: %s", e->name, sc_repo_errmsg(e->repo));
        pthread_mutex_unlock(&e->mu);
        lnames[n++] = e->name;
    }
    bool by_score = same_model && !(q->mode == SC_SEARCH_MODE_HYBRID && q->alpha > 0);
    if (rc == SC_OK && (rc = sc_code_hits_merge(lists, lnames, n, by_score, q->limit, out)) != SC_OK)
        ws__fail(errmsg, rc, "out of memory");
    if (rc == SC_OK) (*out)->took_ms = (util_now() - t0) * 1e3;
    for (size_t i = 0; i < n; i++) sc_code_hits_free(lists[i]);
    return rc;
}
