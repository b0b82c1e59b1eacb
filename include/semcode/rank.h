/*
** semcode public API: fusion and the code-aware ranking stage.
**
** One place for every way semcode combines result lists: the CLI's and
** the server's code search, the server's Qdrant query API (RRF, DBSF) and
** the model evaluation all call sc_fuse. Code search adds one ranking
** stage after retrieval: the candidates of the dense and keyword legs are
** re-scored by a linear model over code-aware features (per-field term
** matches, identifier matches, kind, size, file coherence, test / example /
** vendored paths, the two retrieval scores), learned from data by
** tools/train_ranker.py (docs/QUALITY.md); its weights are compiled in
** (src/store/rank_weights.h).
**
** Thread safety: sc_fuse is pure. sc_rank_code reads the store under its
** shared lock and may run concurrently with other readers.
*/
#ifndef SEMCODE_RANK_H
#define SEMCODE_RANK_H

#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Search modes ==== */

typedef enum sc_search_mode {
    SC_SEARCH_MODE_HYBRID = 0,  /* dense + BM25 candidates re-scored by the ranking stage (or alpha fusion) */
    SC_SEARCH_MODE_DENSE = 1,   /* by meaning only */
    SC_SEARCH_MODE_KEYWORD = 2, /* BM25 only */
} sc_search_mode;

/* Reciprocal-rank fusion of the server's hybrid text queries on generic
** collections and of record searches (records.h): score = 1/(K + dense
** rank) + W/(K + keyword rank), ranks from 1. Code search (sc_repo_search)
** re-scores its candidates with the learned ranking stage below instead. */
#define SC_HYBRID_RRF_K 10
#define SC_HYBRID_KEYWORD_WEIGHT 0.5
/* Candidates each retrieval leg hands to the ranking stage (at least). */
#define SC_RANK_CANDIDATES 100

/* "hybrid", "dense" or "keyword" (static string). */
SC_API const char *sc_search_mode_name(sc_search_mode mode);

/* ==== Fusion ==== */

typedef enum sc_fusion {
    SC_FUSION_RRF = 0,          /* sum of weight / (k + rank) (code search's hybrid legs) */
    SC_FUSION_DBSF = 1,         /* Qdrant's DBSF: sum of scores mapped by (s - (mean - 3 sd)) / 6 sd, sd of the
                                   sample (n - 1), not clipped; a list of one point gives 0.5 */
    SC_FUSION_MINMAX = 2,       /* sum of weight * min-max normalised score */
    SC_FUSION_RRF_POSITION = 3, /* Qdrant's weighted RRF: sum of 1 / ((rank + 1) / weight + k - 1), a weight
                                   <= 0 adds nothing; the same as RRF when every weight is 1 and ranks count
                                   from 0 */
} sc_fusion;

/* One ranked list to fuse (all borrowed). */
typedef struct sc_fuse_list {
    const sc_point_id *ids; /* best first */
    const float *scores;    /* their scores (DBSF, MINMAX); unused by RRF, may be NULL then */
    size_t n;               /* entries */
    double weight;          /* multiplies this list's contribution (RRF, MINMAX); 1 = neutral */
} sc_fuse_list;

typedef struct sc_fused {
    sc_point_id id; /* point */
    double score;   /* fused score */
} sc_fused;

/* Fuse n_lists lists into *out (owned, free with sc_free; best first, ties
** by id), *n_out entries. RRF ranks count from rank_base (the product: 1;
** Qdrant's API: 0) and use constant rrf_k. Errors: SC_NOMEM, SC_MISUSE. */
SC_API sc_status sc_fuse(sc_fusion fusion, const sc_fuse_list *lists, size_t n_lists, double rrf_k, uint32_t rank_base,
                         sc_fused **out, size_t *n_out);

/* ==== Code-aware ranking stage ==== */

/* A candidate of a code search, as the retrieval legs found it (borrowed). */
typedef struct sc_rank_cand {
    sc_point_id id;           /* the entity's point: its payload (path, kind, name, qualified_name, signature,
                                 doc, lines) is read from the store, parsed once per point */
    const char *payload_json; /* or, when non-NULL, this payload instead (points not in the store) */
    float dense;              /* cosine similarity to the query, when dense_rank > 0 */
    uint32_t dense_rank;      /* 1-based rank in the dense leg, 0 = not found there */
    float keyword;            /* BM25 score, when keyword_rank > 0 */
    uint32_t keyword_rank;    /* 1-based rank in the keyword leg, 0 = not found there */
    const char *callees;      /* call graph (NULL = unknown or none): names the entity calls, space-separated */
    const char *callers;      /* names of the entities that call its name, space-separated */
    float fanin;              /* call sites naming it elsewhere / definitions of its name (0 = none) */
} sc_rank_cand;

#define SC_RANK_MAX_FEATURES 40

/* Number of features of the ranking stage, and the name of feature i
** (static string; NULL out of range). */
SC_API uint32_t sc_rank_n_features(void);
SC_API const char *sc_rank_feature_name(uint32_t i);

/* Score n candidates of a search for query in collection coll of db (the
** store supplies term statistics for IDF). scores[i] receives candidate
** i's score; when features is non-NULL, features[i * sc_rank_n_features()
** + j] receives its feature j (what --explain prints and what the ranker
** is trained on). Errors: SC_NOMEM, SC_NOTFOUND (collection), SC_MISUSE;
** the message is the calling thread's sc_db_errmsg. */
SC_API sc_status sc_rank_code(sc_db *db, const char *coll, const char *query, const sc_rank_cand *c, size_t n,
                              double *scores, float *features);
/* Whether the learned stage uses the call-graph features (cov_callees,
** cov_callers, log_fanin, cand_callers): callers may skip reading the call
** graph (sc_rank_cand's callees, callers, fanin) when it does not and no
** features are asked for. */
SC_API bool sc_rank_uses_call_graph(void);
/* The learned linear weight of feature j (0 out of range). The score is the
** linear part plus boosted regression trees over the same features. */
SC_API double sc_rank_weight(uint32_t j);
/* The ranking score of one candidate's sc_rank_n_features() features (what
** sc_rank_code returns for it). */
SC_API double sc_rank_score(const float *features);
/* --explain: fills contrib[j] (sc_rank_n_features() values) with feature
** j's contribution to the score (its linear term plus, along each tree's
** path, the change of the node value at the splits on it) and returns the
** constant part: score = returned value + sum of contrib. */
SC_API double sc_rank_explain(const float *features, double *contrib);
/* Calibrated probability that a result with ranking score s, first of its
** list with the runner-up at s2 (NAN when alone), answers the query
** (logistic fit on the development split, docs/QUALITY.md). */
SC_API double sc_rank_confidence(double s, double s2);
/* Below this confidence a search reports that nothing matched well. */
SC_API double sc_rank_confidence_threshold(void);

#ifdef __cplusplus
}
#endif
#endif /* SEMCODE_RANK_H */
