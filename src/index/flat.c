/*
** index: exact (flat) top-k search over a row-major matrix of f32 vectors.
**
** DESIGN
** - Work split: the rows are cut into one contiguous slice per thread
**   (util_parallel_run, each thread slices by (ith, nth)); every thread
**   keeps its own bounded heap per query, so threads share nothing but
**   read-only inputs. The heaps are merged by the calling thread.
** - Blocking: a thread walks its slice in blocks of rows sized to stay in
**   L2 (INDEX__FLAT_BLOCK_BYTES); each block is scored against every query,
**   INDEX__FLAT_QCHUNK queries at a time through the kernels' *_block
**   function, so a batch of queries reads the matrix from memory once.
** - Order: hits are ranked by key (the score, negated for distances so
**   that higher is always better), then by filter->tie_cmp, then by row.
**   This is a strict total order, so the top-k set and its order do not
**   depend on the number of threads or on how queries are batched (the
**   block and rows kernels give bit-identical scores by contract).
** - Scores: L2 is reported as sqrt(l2sq) and L1 as the sum of |a-b|; the
**   conversion is applied to every score before it is ranked, so equal
**   reported scores are equal keys and are ordered by the tie rule.
** - Rows with a NaN score are never returned. accept() is called only for
**   rows good enough to enter the heap; it and tie_cmp() are called from
**   several threads at once when n_threads != 1.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index/index.h"
#include "index/topk.h"
#include "util/util.h"

/* Bytes of rows per block: a fraction of a 1-2 MiB L2, leaving room for the
** queries and the score buffer. */
#define INDEX__FLAT_BLOCK_BYTES (256u * 1024u)
/* Queries scored against a block per kernel call. */
#define INDEX__FLAT_QCHUNK 64u
/* Fewer rows than this per thread are not worth a thread. */
#define INDEX__FLAT_MIN_ROWS_PER_THREAD 4096u

/* ==== Scan of one thread ==== */

/* Everything a search shares between its threads. */
typedef struct index__flat_job {
    const index_kernels *kern;       /* kernels to score with */
    index_metric metric;             /* how to score */
    const float *queries;            /* n_queries x dim */
    size_t n_queries;                /* queries in the batch */
    const float *rows;               /* n_rows x dim */
    size_t n_rows;                   /* rows to scan */
    size_t dim;                      /* floats per vector */
    bool (*accept)(void *, uint32_t); /* row filter, NULL = all */
    void *state;                     /* for accept and tie_cmp */
    index_rank rank;                 /* hit order */
    uint32_t k;                      /* heap capacity (<= n_rows) */
    float floor;                     /* lowest key allowed (threshold) */
    size_t block_rows;               /* rows per block */
    index_hit *heaps;                /* nth x n_queries heaps of k hits */
    uint32_t *heap_n;                /* nth x n_queries heap sizes */
    float *scores;                   /* nth x (QCHUNK x block_rows) scratch */
} index__flat_job;

/* Turn raw kernel scores into keys (higher is better) in place. */
static void index__flat_to_keys(index_metric metric, float *s, size_t n) {
    if (metric == INDEX_METRIC_L2) {
        for (size_t i = 0; i < n; i++) s[i] = -sqrtf(s[i]);
    } else if (metric == INDEX_METRIC_L1) {
        for (size_t i = 0; i < n; i++) s[i] = -s[i];
    }
}

static void index__flat_worker(void *arg, uint32_t ith, uint32_t nth) {
    index__flat_job *job = arg;
    size_t lo = job->n_rows * ith / nth, hi = job->n_rows * (ith + 1) / nth;
    size_t dim = job->dim, k = job->k;
    index_hit *heaps = job->heaps + (size_t)ith * job->n_queries * k;
    uint32_t *heap_n = job->heap_n + (size_t)ith * job->n_queries;
    float *scores = job->scores + (size_t)ith * INDEX__FLAT_QCHUNK * job->block_rows;
    void (*block_fn)(const float *, size_t, const float *, size_t, size_t, float *) =
        job->metric == INDEX_METRIC_DOT  ? job->kern->dot_block
        : job->metric == INDEX_METRIC_L2 ? job->kern->l2sq_block
                                         : job->kern->l1_block;

    for (size_t b0 = lo; b0 < hi; b0 += job->block_rows) {
        size_t nb = hi - b0 < job->block_rows ? hi - b0 : job->block_rows;
        const float *block = job->rows + b0 * dim;
        /* While this block is scored, pull the next one towards the cache
        ** a slice per query chunk, so the scan never waits for DRAM. */
        size_t next_end = b0 + nb + job->block_rows < hi ? b0 + nb + job->block_rows : hi;
        const char *pf = (const char *)(job->rows + (b0 + nb) * dim);
        const char *pf_end = (const char *)(job->rows + next_end * dim);
        size_t n_chunks = (job->n_queries + INDEX__FLAT_QCHUNK - 1) / INDEX__FLAT_QCHUNK;
        size_t pf_step = ((size_t)(pf_end - pf) / n_chunks + 63) & ~(size_t)63;
        for (size_t q0 = 0; q0 < job->n_queries; q0 += INDEX__FLAT_QCHUNK) {
            size_t nq = job->n_queries - q0;
            if (nq > INDEX__FLAT_QCHUNK) nq = INDEX__FLAT_QCHUNK;
            if (n_chunks > 1) {
                for (const char *e = pf + pf_step; pf < e && pf < pf_end; pf += 64) __builtin_prefetch(pf, 0, 2);
            }
            block_fn(job->queries + q0 * dim, nq, block, nb, dim, scores);
            index__flat_to_keys(job->metric, scores, nq * nb);
            for (size_t qi = 0; qi < nq; qi++) {
                const float *s = scores + qi * nb;
                index_hit *h = heaps + (q0 + qi) * k;
                uint32_t *hn = &heap_n[q0 + qi];
                /* Heap entries all passed the floor, so the bar to enter
                ** is the heap's worst once it is full. Kept in a local:
                ** nearly every row fails this one compare. */
                float bar = *hn == k ? h[0].score : job->floor;
                for (size_t j = 0; j < nb; j++) {
                    float key = s[j];
                    if (!(key >= bar)) continue; /* not good enough, or NaN */
                    index_hit x = {key, (uint32_t)(b0 + j)};
                    if (*hn == k && !index_rank_better(&job->rank, x, h[0])) continue;
                    if (job->accept != NULL && !job->accept(job->state, x.row)) continue;
                    index_topk_offer(&job->rank, h, hn, (uint32_t)k, x);
                    bar = *hn == k ? h[0].score : job->floor;
                }
            }
        }
    }
}

/* ==== Search ==== */

bool index_flat_search(const index_kernels *kern, const index_flat_params *p, const float *queries,
                       size_t n_queries, const float *rows, size_t n_rows, size_t dim,
                       const index_scan_filter *filter, index_hit *out_hits, uint32_t *out_n) {
    if (n_queries == 0) return true;
    if (kern == NULL) kern = index_kernels_best();
    size_t k = p->k < n_rows ? p->k : n_rows;
    if (k == 0 || dim == 0 || n_rows > UINT32_MAX) {
        memset(out_n, 0, n_queries * sizeof *out_n);
        return true;
    }

    uint32_t nth = p->n_threads == 0 ? util_n_cores() : p->n_threads;
    size_t max_nth = n_rows / INDEX__FLAT_MIN_ROWS_PER_THREAD;
    if (max_nth < 1) max_nth = 1;
    if (nth > max_nth) nth = (uint32_t)max_nth;
    if (nth > 64) nth = 64;

    size_t block_rows = INDEX__FLAT_BLOCK_BYTES / (dim * sizeof(float));
    if (block_rows < 16) block_rows = 16;
    if (block_rows > n_rows) block_rows = n_rows;

    index__flat_job job = {
        .kern = kern,
        .metric = p->metric,
        .queries = queries,
        .n_queries = n_queries,
        .rows = rows,
        .n_rows = n_rows,
        .dim = dim,
        .accept = filter != NULL ? filter->accept : NULL,
        .state = filter != NULL ? filter->state : NULL,
        .rank = {filter != NULL ? filter->tie_cmp : NULL, filter != NULL ? filter->state : NULL},
        .k = (uint32_t)k,
        .floor = -INFINITY,
        .block_rows = block_rows,
    };
    if (p->has_threshold)
        job.floor = p->metric == INDEX_METRIC_DOT ? p->threshold : -p->threshold;

    job.heaps = malloc((size_t)nth * n_queries * k * sizeof *job.heaps);
    job.heap_n = calloc((size_t)nth * n_queries, sizeof *job.heap_n);
    job.scores = malloc((size_t)nth * INDEX__FLAT_QCHUNK * block_rows * sizeof *job.scores);
    if (job.heaps == NULL || job.heap_n == NULL || job.scores == NULL) {
        free(job.heaps);
        free(job.heap_n);
        free(job.scores);
        return false;
    }

    util_parallel_run(index__flat_worker, &job, nth);

    /* Merge: the heap of thread 0 absorbs the others, then is emptied
    ** worst-first into the output from the back. */
    for (size_t q = 0; q < n_queries; q++) {
        index_hit *h = job.heaps + q * k;
        uint32_t n = job.heap_n[q];
        for (uint32_t t = 1; t < nth; t++) {
            const index_hit *o = job.heaps + ((size_t)t * n_queries + q) * k;
            uint32_t on = job.heap_n[(size_t)t * n_queries + q];
            for (uint32_t i = 0; i < on; i++) index_topk_offer(&job.rank, h, &n, (uint32_t)k, o[i]);
        }
        index_hit *out = out_hits + q * p->k;
        out_n[q] = n;
        while (n > 0) {
            index_hit x = h[0];
            h[0] = h[--n];
            index_topk_sift_down(&job.rank, h, n, 0);
            x.score = p->metric == INDEX_METRIC_DOT ? x.score : -x.score;
            out[n] = x;
        }
    }
    free(job.heaps);
    free(job.heap_n);
    free(job.scores);
    return true;
}
