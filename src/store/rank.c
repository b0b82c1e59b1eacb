/*
** store/rank.c: fusion of ranked lists and the code-aware ranking stage
** (include/semcode/rank.h).
**
** DESIGN
** - sc_search_mode_name names the modes of every search (code, records).
** - sc_fuse is the one implementation of RRF, DBSF and min-max fusion; the
**   code search, the server's query API and `semcode eval` call it.
** - sc_rank_code re-scores the candidates of a code search. Each candidate
**   gets a fixed vector of features (rank__feature_names, in order); its
**   score is the dot product with weights learned by tools/train_ranker.py
**   and compiled in from store/rank_weights.h. Feature meanings are part of
**   the trained model: change one and the ranker must be retrained (the
**   header's RANK_FEATURES_VERSION must match).
** - Term statistics (document frequencies for IDF) come from the
**   collection's BM25 index under the store's shared lock; everything else
**   is read from the candidates' payloads, and what the call graph says
**   of them (callees, callers, fan-in) from the caller (src/repo/usage.c). No allocation per term: the query
**   has at most RANK_MAX_TERMS distinct terms.
*/
#include "store/store_int.h"

#include <ctype.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "semcode/rank.h"
#include "text/text.h"

/* ==== Fusion ==== */

/* ==== Search modes ==== */

const char *sc_search_mode_name(sc_search_mode mode) {
    return mode == SC_SEARCH_MODE_DENSE ? "dense" : mode == SC_SEARCH_MODE_KEYWORD ? "keyword" : "hybrid";
}

static int rank__fused_by_id(const void *a, const void *b) {
    const sc_fused *x = a, *y = b;
    return sc_point_id_cmp(&x->id, &y->id);
}

static int rank__fused_by_score(const void *a, const void *b) {
    const sc_fused *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return sc_point_id_cmp(&x->id, &y->id);
}

sc_status sc_fuse(sc_fusion fusion, const sc_fuse_list *lists, size_t n_lists, double rrf_k, uint32_t rank_base,
                  sc_fused **out, size_t *n_out) {
    if (!out || !n_out || (n_lists && !lists) || (unsigned)fusion > SC_FUSION_RRF_POSITION) return SC_MISUSE;
    bool by_rank = fusion == SC_FUSION_RRF || fusion == SC_FUSION_RRF_POSITION;
    size_t total = 0;
    for (size_t s = 0; s < n_lists; s++) {
        if (lists[s].n && (!lists[s].ids || (!by_rank && !lists[s].scores))) return SC_MISUSE;
        total += lists[s].n;
    }
    sc_fused *all = malloc((total ? total : 1) * sizeof *all);
    if (!all) return SC_NOMEM;
    size_t k = 0;
    for (size_t s = 0; s < n_lists; s++) {
        const sc_fuse_list *l = &lists[s];
        double lo = 0, hi = 0;
        if (fusion == SC_FUSION_DBSF && l->n > 1) { /* mean +- 3 standard deviations of the sample */
            double mean = 0, var = 0;
            for (size_t i = 0; i < l->n; i++) mean += (double)l->scores[i];
            mean /= (double)l->n;
            for (size_t i = 0; i < l->n; i++) var += ((double)l->scores[i] - mean) * ((double)l->scores[i] - mean);
            double sd = sqrt(var / (double)(l->n - 1));
            lo = mean - 3 * sd;
            hi = mean + 3 * sd;
        } else if (fusion == SC_FUSION_MINMAX) {
            lo = HUGE_VAL;
            hi = -HUGE_VAL;
            for (size_t i = 0; i < l->n; i++) {
                lo = fmin(lo, (double)l->scores[i]);
                hi = fmax(hi, (double)l->scores[i]);
            }
        }
        for (size_t i = 0; i < l->n; i++) {
            double sc;
            if (fusion == SC_FUSION_RRF) {
                sc = l->weight / (rrf_k + (double)(i + rank_base));
            } else if (fusion == SC_FUSION_RRF_POSITION) {
                sc = l->weight > 0 ? 1.0 / ((double)(i + rank_base + 1) / l->weight + rrf_k - 1.0) : 0.0;
            } else if (fusion == SC_FUSION_MINMAX) {
                sc = l->weight * (hi > lo ? ((double)l->scores[i] - lo) / (hi - lo) : 1.0);
            } else {
                sc = hi > lo ? ((double)l->scores[i] - lo) / (hi - lo) : 0.5;
            }
            all[k].id = l->ids[i];
            all[k++].score = sc;
        }
    }
    /* sum the contributions of each id */
    qsort(all, k, sizeof *all, rank__fused_by_id);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (m > 0 && !sc_point_id_cmp(&all[m - 1].id, &all[i].id)) all[m - 1].score += all[i].score;
        else all[m++] = all[i];
    }
    qsort(all, m, sizeof *all, rank__fused_by_score);
    *out = all;
    *n_out = m;
    return SC_OK;
}

/* ==== Features ==== */

#include "store/rank_weights.h"

#define RANK_MAX_TERMS 64   /* distinct query terms considered */
#define RANK_MAX_WORDS 32   /* raw query words kept for identifier matching */
#define RANK_RRF_K 10.0     /* rank features: 10 / (k + rank) */

/* The features, in the order of the weights (RANK_FEATURES_VERSION). */
static const char *const rank__feature_names[] = {
    "dense",          /* cosine similarity (0 when the dense leg missed it) */
    "dense_gap",      /* cosine minus the best cosine of the candidates (0 when missed) */
    "dense_rrf",      /* 10 / (10 + dense rank), 0 when missed */
    "dense_missing",  /* 1 when the dense leg did not return it */
    "kw_norm",        /* BM25 / best BM25 of the candidates */
    "kw_rrf",         /* 10 / (10 + keyword rank), 0 when missed */
    "kw_missing",     /* 1 when the keyword leg did not return it */
    "cov_name",       /* IDF-weighted share of the query's terms found in the name */
    "cov_qname",      /* ... in the qualified name (enclosing class, module) */
    "cov_sig",        /* ... in the signature */
    "cov_doc",        /* ... in the doc comment */
    "cov_path",       /* ... in the file path */
    "name_exact",     /* the query contains the name as a word or joined words ("parse config" ~ parseConfig) */
    "name_prec",      /* share of the name's parts that the query contains */
    "ident_name",     /* name_exact when the query contains an identifier-shaped word (snake, camel, a.b, f()) */
    "ident_kw",       /* kw_rrf when the query contains an identifier-shaped word */
    "mention_only",   /* keyword hit whose name, signature, doc and path match no query term */
    "kind_type",      /* class, struct, interface, trait, enum */
    "kind_chunk",     /* a chunk of a file (no entity) */
    "kind_module",    /* a whole module / file entity */
    "log_lines",      /* ln(1 + lines) / 7 */
    "file_others",    /* ln(1 + other candidates from the same file) */
    "path_test",      /* a test file, and the query does not ask for tests */
    "path_example",   /* examples, docs, demos, benchmarks, and the query does not ask for them */
    "path_vendor",    /* vendored, third-party or generated code */
    "has_doc",        /* the entity has a doc comment */
    "name_private",   /* name starts with '_' (not a dunder) */
    "short_query",    /* 1 for queries of at most two terms */
    "short_kw",       /* kw_rrf for queries of at most two terms */
    "short_dense",    /* dense_rrf for queries of at most two terms */
    "cov_callees",    /* ... in the names it calls (call graph: what it uses) */
    "cov_callers",    /* ... in the names of the entities that call it (what it is used for) */
    "log_fanin",      /* ln(1 + call sites naming it / definitions of that name) / 4 (how much it is used) */
    "cand_callers",   /* ln(1 + other candidates whose calls name it) / 2 (the one the others use) */
};
#define RANK_N_FEATURES (sizeof rank__feature_names / sizeof *rank__feature_names)
_Static_assert(RANK_N_FEATURES <= SC_RANK_MAX_FEATURES, "too many ranking features");
_Static_assert(sizeof rank_weights / sizeof *rank_weights == RANK_N_FEATURES,
               "store/rank_weights.h does not match the feature list: retrain (tools/train_ranker.py)");

enum {
    F_DENSE, F_DENSE_GAP, F_DENSE_RRF, F_DENSE_MISSING, F_KW_NORM, F_KW_RRF, F_KW_MISSING, F_COV_NAME, F_COV_QNAME,
    F_COV_SIG, F_COV_DOC, F_COV_PATH, F_NAME_EXACT, F_NAME_PREC, F_IDENT_NAME, F_IDENT_KW, F_MENTION_ONLY,
    F_KIND_TYPE, F_KIND_CHUNK, F_KIND_MODULE, F_LOG_LINES, F_FILE_OTHERS, F_PATH_TEST, F_PATH_EXAMPLE,
    F_PATH_VENDOR, F_HAS_DOC, F_NAME_PRIVATE, F_SHORT_QUERY, F_SHORT_KW, F_SHORT_DENSE, F_COV_CALLEES,
    F_COV_CALLERS, F_LOG_FANIN, F_CAND_CALLERS,
};
_Static_assert(F_CAND_CALLERS + 1 == RANK_N_FEATURES, "feature enum and names disagree");

uint32_t sc_rank_n_features(void) { return (uint32_t)RANK_N_FEATURES; }

const char *sc_rank_feature_name(uint32_t i) { return i < RANK_N_FEATURES ? rank__feature_names[i] : NULL; }

/* Does the compiled stage read one of the call-graph features? */
static bool rank__graph_used(void) {
    static const int graph[] = {F_COV_CALLEES, F_COV_CALLERS, F_LOG_FANIN, F_CAND_CALLERS};
    for (size_t k = 0; k < sizeof graph / sizeof *graph; k++)
        if (rank_weights[graph[k]] != 0) return true;
    for (size_t i = 0; i < sizeof rank_nodes / sizeof *rank_nodes; i++)
        for (size_t k = 0; k < sizeof graph / sizeof *graph; k++)
            if (rank_nodes[i].feature == graph[k]) return true;
    return false;
}

bool sc_rank_uses_call_graph(void) {
    static atomic_int known; /* 0 = not yet computed, 1 = no, 2 = yes (the same value for every thread) */
    int v = atomic_load_explicit(&known, memory_order_relaxed);
    if (!v) atomic_store_explicit(&known, v = rank__graph_used() ? 2 : 1, memory_order_relaxed);
    return v == 2;
}

double sc_rank_weight(uint32_t j) { return j < RANK_N_FEATURES ? rank_weights[j] : 0.0; }

/* rank_tree_start has one entry per tree plus the end */
#define RANK_TREE_ENDS ((uint32_t)(sizeof rank_tree_start / sizeof *rank_tree_start))
_Static_assert(RANK_TREE_ENDS == RANK_N_TREES + 1, "store/rank_weights.h: tree table and count disagree");

/* Leaf of tree t for features f; when contrib is non-NULL, adds to it each
** split's change of the node value to the split's feature (the path
** attribution of --explain) and returns the leaf's value all the same. */
static double rank__tree(uint32_t t, const float *f, double *contrib) {
    const rank_node *base = rank_nodes + rank_tree_start[t], *n = base;
    while (n->feature >= 0) {
        const rank_node *next = base + ((double)f[n->feature] < n->threshold ? n->left : n->right);
        if (contrib) contrib[n->feature] += next->value - n->value;
        n = next;
    }
    return n->value;
}

double sc_rank_score(const float *features) {
    double s = 0;
    for (size_t j = 0; j < RANK_N_FEATURES; j++) s += rank_weights[j] * (double)features[j];
    for (uint32_t t = 0; t + 1 < RANK_TREE_ENDS; t++) s += rank__tree(t, features, NULL);
    return s;
}

double sc_rank_explain(const float *features, double *contrib) {
    double bias = 0;
    for (size_t j = 0; j < RANK_N_FEATURES; j++) contrib[j] = rank_weights[j] * (double)features[j];
    for (uint32_t t = 0; t + 1 < RANK_TREE_ENDS; t++) {
        bias += rank_nodes[rank_tree_start[t]].value;
        (void)rank__tree(t, features, contrib);
    }
    return bias;
}

double sc_rank_confidence(double s, double s2) {
    double gap = isnan(s2) ? 1.0 : s - s2;
    double z = rank_conf[0] * s + rank_conf[1] * gap + rank_conf[2];
    return 1.0 / (1.0 + exp(-z));
}

double sc_rank_confidence_threshold(void) { return rank_conf_threshold; }

/* What the ranker knows of the query. */
typedef struct rank_query {
    char term[RANK_MAX_TERMS][TEXT_TOKEN_MAX + 1]; /* distinct content terms (tokenizer output) */
    uint16_t len[RANK_MAX_TERMS];                   /* their lengths */
    double idf[RANK_MAX_TERMS];                     /* their IDF in the collection */
    uint32_t n;                                     /* terms */
    double idf_sum;                                 /* sum of idf */
    char word[RANK_MAX_WORDS][64];                  /* raw words, lower-case, alphanumerics only */
    uint32_t n_words;                               /* words */
    bool ident;                                     /* a word looks like an identifier */
    bool wants_test, wants_example, wants_vendor;   /* the query asks for such files */
} rank_query;

/* Terms of questions that say nothing about code (stemmed like the tokenizer's output). */
static const char rank__stop_text[] =
    "a an the and or of to in on at by for with from into is are was be been being it its this that these those "
    "how do does did what which where when why who whom can could should would will i me my we our you your "
    "there here some any all each find code function method implementation way something thing "
    "want need use used using get gets";

/* Per-thread scratch: a tokenizer (its stem cache stays warm across
** queries; creating one costs a 870 KB zeroed table) and the stopwords
** tokenized once. Freed when the thread exits. */
typedef struct rank_tls {
    text_tokenizer *tk; /* the thread's tokenizer */
    text_tokens stop;   /* rank__stop_text, tokenized */
    text_tokens toks;   /* scratch token stream */
} rank_tls;

static pthread_key_t rank__key;
static pthread_once_t rank__once = PTHREAD_ONCE_INIT;

static void rank__tls_free(void *p) {
    rank_tls *t = p;
    if (!t) return;
    text_tokenizer_free(t->tk);
    text_tokens_free(&t->stop);
    text_tokens_free(&t->toks);
    free(t);
}

static void rank__key_init(void) { pthread_key_create(&rank__key, rank__tls_free); }

/* The calling thread's scratch, created on first use; NULL when out of memory. */
static rank_tls *rank__tls(void) {
    pthread_once(&rank__once, rank__key_init);
    rank_tls *t = pthread_getspecific(rank__key);
    if (t) return t;
    sc_err err = {0};
    if (!(t = calloc(1, sizeof *t)) || !(t->tk = text_tokenizer_new(&err)) ||
        text_tokenize(t->tk, rank__stop_text, sizeof rank__stop_text - 1, 0, &t->stop) != SC_OK ||
        pthread_setspecific(rank__key, t) != 0) {
        rank__tls_free(t);
        return NULL;
    }
    return t;
}

static bool rank__term_in(const text_tokens *t, const char *p, size_t n) {
    for (uint32_t i = 0; i < t->n; i++)
        if (t->len[i] == n && !memcmp(t->str + t->off[i], p, n)) return true;
    return false;
}

/* Lower-case alphanumeric words of s (at most max, each under 64 bytes). */
static uint32_t rank__words(const char *s, char (*out)[64], uint32_t max, bool *ident) {
    uint32_t n = 0;
    const char *p = s;
    while (*p && n < max) {
        while (*p && !isalnum((unsigned char)*p) && *p != '_') p++;
        const char *w = p;
        bool upper_inside = false, under = false;
        while (*p && (isalnum((unsigned char)*p) || *p == '_')) {
            if (p > w && isupper((unsigned char)*p) && islower((unsigned char)p[-1])) upper_inside = true;
            if (*p == '_' && p > w && p[1] && isalnum((unsigned char)p[1])) under = true;
            p++;
        }
        if (p == w) break;
        if (ident && (upper_inside || under || *p == '(' || ((*p == '.' || *p == ':') && isalpha((unsigned char)p[1]))))
            *ident = true;
        size_t k = 0;
        for (const char *q = w; q < p && k < 63; q++)
            if (*q != '_') out[n][k++] = (char)tolower((unsigned char)*q);
        out[n][k] = '\0';
        if (k) n++;
    }
    return n;
}

static bool rank__has_word(const rank_query *q, const char *const *words) {
    for (uint32_t i = 0; i < q->n_words; i++)
        for (const char *const *w = words; *w; w++)
            if (!strcmp(q->word[i], *w)) return true;
    return false;
}

/* Analyse the query: its distinct content terms with IDF, its words. */
static sc_status rank__query(store_coll *c, rank_tls *t, const char *text, rank_query *q) {
    memset(q, 0, sizeof *q);
    text_tokens *toks = &t->toks;
    const text_tokens *stop = &t->stop;
    sc_status rc = text_tokenize(t->tk, text, strlen(text), 256, toks);
    for (uint32_t i = 0; rc == SC_OK && i < toks->n && q->n < RANK_MAX_TERMS; i++) {
        const char *p = toks->str + toks->off[i];
        size_t n = toks->len[i];
        if (rank__term_in(stop, p, n)) continue;
        bool dup = false;
        for (uint32_t j = 0; j < q->n && !dup; j++) dup = q->len[j] == n && !memcmp(q->term[j], p, n);
        if (dup) continue;
        memcpy(q->term[q->n], p, n);
        q->term[q->n][n] = '\0';
        q->len[q->n++] = (uint16_t)n;
    }
    if (rc != SC_OK) return store_fail(SC_NOMEM, "out of memory analysing the query");
    const char *terms[RANK_MAX_TERMS];
    uint32_t df[RANK_MAX_TERMS];
    uint64_t n_docs = 0;
    for (uint32_t i = 0; i < q->n; i++) terms[i] = q->term[i];
    if (q->n && (rc = store_kw_df(c, terms, q->len, q->n, df, &n_docs)) != SC_OK) return rc;
    for (uint32_t i = 0; i < q->n; i++) {
        double N = (double)n_docs, d = (double)df[i];
        /* a term no entity contains still counts (the query asks for it), like the rarest one */
        q->idf[i] = log(1.0 + (N - d + 0.5) / (d + 0.5));
        q->idf_sum += q->idf[i];
    }
    q->n_words = rank__words(text, q->word, RANK_MAX_WORDS, &q->ident);
    static const char *const test_w[] = {"test", "tests", "testing", "unittest", "spec", "specs", "mock", "fixture", NULL};
    static const char *const ex_w[] = {"example", "examples", "demo", "sample", "tutorial", "benchmark", "bench", NULL};
    static const char *const vend_w[] = {"vendor", "vendored", "thirdparty", "generated", NULL};
    q->wants_test = rank__has_word(q, test_w);
    q->wants_example = rank__has_word(q, ex_w);
    q->wants_vendor = rank__has_word(q, vend_w);
    return SC_OK;
}

/* IDF-weighted share of the query's terms present in the tokens of field s. */
static double rank__cov(const rank_query *q, text_tokenizer *tk, text_tokens *toks, const char *s, size_t max) {
    if (!s || !*s || q->idf_sum <= 0) return 0;
    size_t n = strlen(s);
    if (text_tokenize(tk, s, n < max ? n : max, 0, toks) != SC_OK) return 0;
    double hit = 0;
    for (uint32_t i = 0; i < q->n; i++)
        if (rank__term_in(toks, q->term[i], q->len[i])) hit += q->idf[i];
    return hit / q->idf_sum;
}

/* 1 when the query's words (alone or 2-4 consecutive joined) spell the name. */
static double rank__name_exact(const rank_query *q, const char *name) {
    char norm[64];
    size_t k = 0;
    for (const char *p = name; *p && k < 63; p++)
        if (isalnum((unsigned char)*p)) norm[k++] = (char)tolower((unsigned char)*p);
    norm[k] = '\0';
    if (k < 3) return 0;
    for (uint32_t i = 0; i < q->n_words; i++) {
        char joined[256];
        size_t m = 0;
        for (uint32_t j = i; j < q->n_words && j < i + 4; j++) {
            size_t l = strlen(q->word[j]);
            if (m + l >= sizeof joined) break;
            memcpy(joined + m, q->word[j], l);
            m += l;
            joined[m] = '\0';
            if (m == k && !memcmp(joined, norm, k)) return 1;
            if (m > k) break;
        }
    }
    return 0;
}

/* Share of the name's part tokens that are query terms. */
static double rank__name_prec(const rank_query *q, text_tokenizer *tk, text_tokens *toks, const char *name) {
    if (!name || !*name || text_tokenize(tk, name, strlen(name), 32, toks) != SC_OK) return 0;
    uint32_t parts = 0, hit = 0;
    for (uint32_t i = 0; i < toks->n; i++) {
        if (toks->kind[i] != TEXT_TOKEN_KIND_PART) continue;
        parts++;
        for (uint32_t j = 0; j < q->n; j++)
            if (q->len[j] == toks->len[i] && !memcmp(q->term[j], toks->str + toks->off[i], q->len[j])) {
                hit++;
                break;
            }
    }
    return parts ? (double)hit / parts : 0;
}

/* Does a path component (directory or file stem part) match one of words? */
static bool rank__path_has(const char *path, const char *const *words, bool prefix) {
    const char *p = path;
    while (*p) {
        const char *w = p;
        while (*p && *p != '/' && *p != '.' && *p != '_' && *p != '-') p++;
        size_t n = (size_t)(p - w);
        for (const char *const *x = words; *x; x++) {
            size_t l = strlen(*x);
            if (n == l ? !strncasecmp(w, *x, l) : (prefix && n > l && !strncasecmp(w, *x, l))) return true;
        }
        if (*p) p++;
    }
    return false;
}

static bool rank__is_test(const char *path) {
    static const char *const w[] = {"test", "tests", "testing", "spec", "specs", "__tests__", "testdata", "fixtures", NULL};
    if (rank__path_has(path, w, false)) return true;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    /* FooTest.java, FooTests.cs, foo_test.go (caught above), test_foo.py (above) */
    const char *dot = strrchr(base, '.');
    size_t n = dot ? (size_t)(dot - base) : strlen(base);
    return (n > 4 && !strncmp(base + n - 4, "Test", 4)) || (n > 5 && !strncmp(base + n - 5, "Tests", 5));
}

static bool rank__is_example(const char *path) {
    static const char *const w[] = {"example", "examples", "demo", "demos", "sample", "samples", "tutorial",
                                    "tutorials", "doc", "docs", "bench", "benches", "benchmark", "benchmarks", NULL};
    return rank__path_has(path, w, false);
}

static bool rank__is_vendor(const char *path) {
    static const char *const w[] = {"vendor", "vendored", "thirdparty", "generated", NULL};
    static const char *const parts[] = {"third_party/", "node_modules/", "_pb2.", ".pb.", ".min.", NULL};
    for (const char *const *x = parts; *x; x++)
        if (strstr(path, *x)) return true;
    return rank__path_has(path, w, false);
}

static const char *rank__str(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* FNV-1a of n bytes of s. */
static uint64_t rank__hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

typedef struct rank_call {
    uint64_t hash; /* a callee name's hash */
    uint32_t cand; /* the candidate that calls it */
} rank_call;

static int rank__call_cmp(const void *a, const void *b) {
    const rank_call *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* F_CAND_CALLERS of each candidate: how many other candidates call its
** name (name_hash[i], 0 = none), from their callees lists. */
static sc_status rank__cand_callers(const sc_rank_cand *c, size_t n, const uint64_t *name_hash, float *fv, size_t nf) {
    size_t m = 0, cap = 0;
    for (size_t j = 0; j < n; j++)
        for (const char *p = c[j].callees; p && *p; p++) cap += *p == ' ';
    for (size_t j = 0; j < n; j++) cap += c[j].callees && *c[j].callees;
    if (!cap) return SC_OK;
    rank_call *calls = malloc(sizeof *calls * cap);
    if (!calls) return store_fail(SC_NOMEM, "out of memory in the ranking stage");
    for (size_t j = 0; j < n; j++) {
        const char *p = c[j].callees;
        while (p && *p) {
            const char *e = strchr(p, ' ');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (len && m < cap) calls[m++] = (rank_call){.hash = rank__hash(p, len), .cand = (uint32_t)j};
            p = e ? e + 1 : p + len;
        }
    }
    qsort(calls, m, sizeof *calls, rank__call_cmp);
    for (size_t i = 0; i < n; i++) {
        if (!name_hash[i]) continue;
        size_t lo = 0, hi = m;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (calls[mid].hash < name_hash[i]) lo = mid + 1;
            else hi = mid;
        }
        uint32_t k = 0;
        for (size_t x = lo; x < m && calls[x].hash == name_hash[i]; x++) k += calls[x].cand != i;
        fv[i * nf + F_CAND_CALLERS] = (float)(log1p(k) / 2.0);
    }
    free(calls);
    return SC_OK;
}

sc_status sc_rank_code(sc_db *db, const char *coll, const char *query, const sc_rank_cand *c, size_t n,
                       double *scores, float *features) {
    if (!db || !coll || !query || (n && (!c || !scores))) return store_fail(SC_MISUSE, "sc_rank_code: NULL argument");
    const size_t nf = RANK_N_FEATURES;
    float *fv = features ? features : malloc(sizeof *fv * nf * (n ? n : 1));
    char **paths = calloc(n ? n : 1, sizeof *paths);
    uint64_t *name_hash = calloc(n ? n : 1, sizeof *name_hash);
    rank_tls *tls = fv && paths && name_hash ? rank__tls() : NULL;
    text_tokenizer *tk = tls ? tls->tk : NULL;
    text_tokens *toks = tls ? &tls->toks : NULL;
    rank_query *q = tk ? malloc(sizeof *q) : NULL;
    sc_status rc = q ? SC_OK : store_fail(SC_NOMEM, "out of memory in the ranking stage");
    /* lock intent: shared, for the term statistics and the points' cached payloads */
    pthread_rwlock_rdlock(&db->lock);
    store_coll *sc = NULL;
    if (rc == SC_OK) rc = store_coll_get(db, coll, &sc);
    if (rc == SC_OK) rc = rank__query(sc, tls, query, q);
    double top_dense = -HUGE_VAL, top_kw = 0;
    for (size_t i = 0; rc == SC_OK && i < n; i++) {
        if (c[i].dense_rank && (double)c[i].dense > top_dense) top_dense = (double)c[i].dense;
        if (c[i].keyword_rank && (double)c[i].keyword > top_kw) top_kw = (double)c[i].keyword;
    }
    bool short_q = q && q->n <= 2;
    for (size_t i = 0; rc == SC_OK && i < n; i++) {
        float *f = fv + i * nf;
        memset(f, 0, sizeof *f * nf);
        json_t *owned = c[i].payload_json ? json_loads(c[i].payload_json, 0, NULL) : NULL;
        uint32_t slot = c[i].payload_json ? STORE_NO_SLOT : store_map_find(sc, &c[i].id);
        const json_t *p = c[i].payload_json ? owned : slot != STORE_NO_SLOT ? store_slot_payload(sc, slot) : NULL;
        const char *path = rank__str(p, "path"), *kind = rank__str(p, "kind"), *name = rank__str(p, "name");
        const char *doc = rank__str(p, "doc");
        paths[i] = strdup(path);
        name_hash[i] = strlen(name) >= 2 ? rank__hash(name, strlen(name)) : 0;
        if (!paths[i]) rc = store_fail(SC_NOMEM, "out of memory in the ranking stage");
        if (c[i].dense_rank) {
            f[F_DENSE] = c[i].dense;
            f[F_DENSE_GAP] = (float)((double)c[i].dense - top_dense);
            f[F_DENSE_RRF] = (float)(RANK_RRF_K / (RANK_RRF_K + c[i].dense_rank));
        } else {
            f[F_DENSE_MISSING] = 1;
        }
        if (c[i].keyword_rank) {
            f[F_KW_NORM] = top_kw > 0 ? (float)((double)c[i].keyword / top_kw) : 0;
            f[F_KW_RRF] = (float)(RANK_RRF_K / (RANK_RRF_K + c[i].keyword_rank));
        } else {
            f[F_KW_MISSING] = 1;
        }
        f[F_COV_NAME] = (float)rank__cov(q, tk, toks, name, 256);
        f[F_COV_QNAME] = (float)rank__cov(q, tk, toks, rank__str(p, "qualified_name"), 512);
        f[F_COV_SIG] = (float)rank__cov(q, tk, toks, rank__str(p, "signature"), 400);
        f[F_COV_DOC] = (float)rank__cov(q, tk, toks, doc, 300);
        f[F_COV_PATH] = (float)rank__cov(q, tk, toks, path, 512);
        f[F_NAME_EXACT] = (float)rank__name_exact(q, name);
        f[F_NAME_PREC] = (float)rank__name_prec(q, tk, toks, name);
        f[F_IDENT_NAME] = q->ident ? f[F_NAME_EXACT] : 0;
        f[F_IDENT_KW] = q->ident ? f[F_KW_RRF] : 0;
        f[F_MENTION_ONLY] = c[i].keyword_rank && f[F_COV_NAME] == 0 && f[F_COV_QNAME] == 0 && f[F_COV_SIG] == 0 &&
                            f[F_COV_DOC] == 0 && f[F_COV_PATH] == 0;
        f[F_KIND_TYPE] = !strcmp(kind, "class") || !strcmp(kind, "struct") || !strcmp(kind, "interface") ||
                         !strcmp(kind, "trait") || !strcmp(kind, "enum");
        f[F_KIND_CHUNK] = !strcmp(kind, "chunk");
        f[F_KIND_MODULE] = !strcmp(kind, "module");
        f[F_LOG_LINES] = (float)(log1p((double)json_integer_value(json_object_get(p, "lines"))) / 7.0);
        f[F_PATH_TEST] = !q->wants_test && rank__is_test(path);
        f[F_PATH_EXAMPLE] = !q->wants_example && rank__is_example(path);
        f[F_PATH_VENDOR] = !q->wants_vendor && rank__is_vendor(path);
        f[F_HAS_DOC] = *doc != '\0';
        f[F_NAME_PRIVATE] = name[0] == '_' && !(name[1] == '_' && strlen(name) > 4 && !strcmp(name + strlen(name) - 2, "__"));
        f[F_SHORT_QUERY] = short_q;
        f[F_SHORT_KW] = short_q ? f[F_KW_RRF] : 0;
        f[F_SHORT_DENSE] = short_q ? f[F_DENSE_RRF] : 0;
        f[F_COV_CALLEES] = (float)rank__cov(q, tk, toks, c[i].callees, 1024);
        f[F_COV_CALLERS] = (float)rank__cov(q, tk, toks, c[i].callers, 1024);
        f[F_LOG_FANIN] = (float)(log1p((double)(c[i].fanin > 0 ? c[i].fanin : 0)) / 4.0);
        json_decref(owned);
    }
    pthread_rwlock_unlock(&db->lock);
    /* File coherence: other candidates from the same file. */
    for (size_t i = 0; rc == SC_OK && i < n; i++) {
        uint32_t others = 0;
        for (size_t j = 0; j < n; j++)
            if (j != i && !strcmp(paths[i], paths[j])) others++;
        fv[i * nf + F_FILE_OTHERS] = (float)log1p(others);
    }
    if (rc == SC_OK) rc = rank__cand_callers(c, n, name_hash, fv, nf);
    for (size_t i = 0; rc == SC_OK && i < n; i++) scores[i] = sc_rank_score(fv + i * nf);
    for (size_t i = 0; paths && i < n; i++) free(paths[i]);
    free(paths);
    free(name_hash);
    free(q);
    if (fv != features) free(fv);
    return rc;
}
