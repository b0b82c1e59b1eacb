/*
** bench/sparse.c: sparse vector search through the store's public API
** (issue 17) against a brute-force scan of the same vectors.
**   data   : n points (default 100,000), each a sparse vector of ~100
**            entries (40..160) over a 30,000-index vocabulary drawn with a
**            Zipf-like skew (a few indices in most points, a long tail),
**            positive weights, as BM25 / SPLADE document vectors are; a
**            payload {"g": 0..9} with an integer index on g.
**   queries: 200 of 10 entries (a BM25 query) and 200 of 100 entries (a
**            SPLADE-like query), modifier idf, limit 10: latency of
**            sc_points_search one query at a time on one thread, next to a
**            brute-force scan (every point's vector merged with the
**            query, in the bench's own CSR arrays, no store); the ids and
**            scores must agree exactly. Also filtered (g = 3, 10% of the
**            points, through the payload index), upsert rate, memory of the
**            index and the time to reopen the store.
** Peer: SciPy's sparse matrices (bench/sparse_scipy.py), on the data and
** queries this program writes to $SPARSE_DUMP (when set): data.bin (the
** CSR arrays) and queries.bin (each unfiltered query with its idf weights
** and the store's top 10); see docs/BENCHMARKS.md, "Sparse vectors".
** Usage: sparse [dir] [n_points]
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "semcode/store.h"

#define VOCAB 30000u
#define N_QUERIES 200

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng_s = 0x2545f4914f6cdd1dull;
static uint64_t rng(void) {
    rng_s ^= rng_s << 13;
    rng_s ^= rng_s >> 7;
    rng_s ^= rng_s << 17;
    return rng_s;
}
static double unif(void) { return (double)(rng() >> 11) / 9007199254740992.0; }

static int u32_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* m distinct Zipf-like indices, ascending, into idx. */
static uint32_t draw(uint32_t m, uint32_t *idx) {
    uint32_t n = 0;
    while (n < m) {
        uint32_t d = (uint32_t)(VOCAB * pow(unif(), 2.5));
        bool dup = false;
        for (uint32_t j = 0; j < n && !dup; j++) dup = idx[j] == d;
        if (!dup) idx[n++] = d;
    }
    qsort(idx, n, sizeof *idx, u32_cmp);
    return n;
}

/* Brute force: one top-10 hit. */
typedef struct bf_hit {
    float score;  /* score */
    uint64_t id;  /* point id */
} bf_hit;

/* Scan every point (CSR off/idx/val) against the query (ascending qi, idf
** weights qw), keep the top k of sum != 0 with a shared index, ties by id. */
static uint32_t brute(const uint64_t *off, const uint32_t *idx, const float *val, size_t n, const uint32_t *qi,
                      const float *qw, uint32_t qn, int group, uint32_t k, bf_hit *top) {
    uint32_t m = 0;
    for (size_t p = 0; p < n; p++) {
        if (group >= 0 && (int)(p % 10) != group) continue;
        float sum = 0.0f;
        bool overlap = false;
        for (uint64_t a = off[p], b = 0; a < off[p + 1] && b < qn;) {
            if (idx[a] < qi[b]) a++;
            else if (idx[a] > qi[b]) b++;
            else {
                float prod = qw[b] * val[a];
                sum += prod;
                overlap = true;
                a++;
                b++;
            }
        }
        if (!overlap || sum == 0.0f) continue;
        bf_hit h = {sum, p + 1};
        if (m == k && !(h.score > top[k - 1].score)) continue;
        uint32_t j = m < k ? m++ : k - 1;
        while (j > 0 && h.score > top[j - 1].score) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = h;
    }
    return m;
}

static int dbl_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        sc_status rc_ = (call);                                                                    \
        if (rc_ != SC_OK) {                                                                        \
            fprintf(stderr, "%s failed: %s: %s\n", #call, sc_status_str(rc_), sc_db_errmsg(NULL));   \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp/semcode-bench-sparse";
    size_t n = argc > 2 ? (size_t)atol(argv[2]) : 100000;
    sc_db_options o = sc_db_options_default();
    o.sync = SC_SYNC_MODE_NORMAL;
    sc_db *db = NULL;
    char *err = NULL;
    if (sc_db_open(dir, &o, &db, &err) != SC_OK) {
        fprintf(stderr, "open %s: %s\n", dir, err ? err : "?");
        return 1;
    }
    sc_sparse_params sp = {.name = "s", .modifier = SC_SPARSE_MODIFIER_IDF};
    sc_collection_params cp = {.sparse = &sp, .n_sparse = 1};
    CHECK(sc_collection_create_ex(db, "bench", &cp));
    CHECK(sc_field_index_create(db, "bench", "g", SC_FIELD_TYPE_INTEGER));
    /* the data, kept in CSR for the brute force */
    uint64_t *off = malloc(sizeof *off * (n + 1));
    uint32_t *idx = malloc(sizeof *idx * n * 160);
    float *val = malloc(sizeof *val * n * 160);
    if (!off || !idx || !val) return 1;
    off[0] = 0;
    for (size_t p = 0; p < n; p++) {
        uint32_t m = draw(40 + (uint32_t)(rng() % 121), idx + off[p]);
        for (uint32_t j = 0; j < m; j++) val[off[p] + j] = (float)(0.1 + 2.0 * unif());
        off[p + 1] = off[p] + m;
    }
    printf("data: %zu points, %.1f entries per point on average, vocabulary %u\n", n, (double)off[n] / (double)n,
           VOCAB);
    /* upsert in batches of 1,000 (each one durable commit) */
    double t0 = now_s();
    enum { B = 1000 };
    sc_point_in pts[B];
    sc_sparse_in sin[B];
    char pl[B][16];
    for (size_t p0 = 0; p0 < n; p0 += B) {
        size_t m = n - p0 < B ? n - p0 : B;
        for (size_t i = 0; i < m; i++) {
            size_t p = p0 + i;
            snprintf(pl[i], sizeof pl[i], "{\"g\":%zu}", p % 10);
            sin[i] = (sc_sparse_in){"s", idx + off[p], val + off[p], (uint32_t)(off[p + 1] - off[p])};
            pts[i] = (sc_point_in){.id = sc_point_id_num(p + 1), .payload_json = pl[i], .sparse = &sin[i], .n_sparse = 1};
        }
        CHECK(sc_points_upsert(db, "bench", pts, m));
    }
    double t1 = now_s();
    printf("upsert: %.0f points/s (batches of %d, synchronous=NORMAL)\n", (double)n / (t1 - t0), B);
    /* reopen: the inverted index is rebuilt from the stored vectors */
    sc_db_close(db);
    t0 = now_s();
    if (sc_db_open(dir, &o, &db, &err) != SC_OK) return 1;
    t1 = now_s();
    sc_collection_info info;
    CHECK(sc_collection_info_get(db, "bench", &info));
    printf("reopen: %.2f s; index: %llu entries, %llu posting lists, %.1f MB in memory (%.1f bytes per entry)\n",
           t1 - t0, (unsigned long long)info.sparse_index[0].n_entries, (unsigned long long)info.sparse_index[0].n_dims,
           (double)info.sparse_index[0].index_bytes / 1e6,
           (double)info.sparse_index[0].index_bytes / (double)info.sparse_index[0].n_entries);
    sc_collection_info_free(&info);
    /* the data for the peer (bench/sparse_scipy.py) */
    const char *dump = getenv("SPARSE_DUMP");
    FILE *fq = NULL;
    if (dump) {
        char p[4096];
        snprintf(p, sizeof p, "%s/data.bin", dump);
        FILE *f = fopen(p, "wb");
        uint64_t hdr[3] = {n, off[n], VOCAB};
        if (!f || fwrite(hdr, sizeof hdr, 1, f) != 1 || fwrite(off, sizeof *off, n + 1, f) != n + 1 ||
            fwrite(idx, sizeof *idx, off[n], f) != off[n] || fwrite(val, sizeof *val, off[n], f) != off[n] || fclose(f)) {
            fprintf(stderr, "cannot write %s\n", p);
            return 1;
        }
        snprintf(p, sizeof p, "%s/queries.bin", dump);
        if (!(fq = fopen(p, "wb"))) return 1;
    }
    /* document frequencies for the brute force's idf weights */
    uint32_t *df = calloc(VOCAB, sizeof *df);
    for (uint64_t e = 0; e < off[n]; e++) df[idx[e]]++;
    static const uint32_t qsizes[2] = {10, 100};
    for (int qs = 0; qs < 2; qs++) {
        for (int filtered = 0; filtered < 2; filtered++) {
            double *t_store = malloc(sizeof(double) * N_QUERIES), *t_brute = malloc(sizeof(double) * N_QUERIES);
            int mismatches = 0;
            for (int q = 0; q < N_QUERIES; q++) {
                uint32_t qi[100];
                float qv[100], qw[100];
                uint32_t qn = draw(qsizes[qs], qi);
                for (uint32_t j = 0; j < qn; j++) {
                    qv[j] = 1.0f;
                    float nf = (float)n, d = (float)df[qi[j]];
                    qw[j] = qv[j] * logf((nf - d + 0.5f) / (d + 0.5f) + 1.0f);
                }
                sc_sparse_query sq = {qi, qv, qn, NULL};
                sc_search_request req = {.vector_name = "s", .limit = 10, .sparse = &sq,
                                         .filter_json = filtered ? "{\"must\":[{\"key\":\"g\",\"match\":{\"value\":3}}]}"
                                                                 : NULL};
                sc_record_list *l = NULL;
                double s0 = now_s();
                CHECK(sc_points_search(db, "bench", &req, &l));
                double s1 = now_s();
                bf_hit top[10];
                uint32_t m = brute(off, idx, val, n, qi, qw, qn, filtered ? 3 : -1, 10, top);
                double s2 = now_s();
                t_store[q] = s1 - s0;
                t_brute[q] = s2 - s1;
                bool same = l->n == m;
                for (uint32_t i = 0; same && i < m; i++)
                    same = l->items[i].id.num == top[i].id && l->items[i].score == top[i].score;
                if (fq && !filtered) { /* qn, indices, idf weights, the store's hits (ids, scores) */
                    uint32_t nl = (uint32_t)l->n;
                    fwrite(&qn, sizeof qn, 1, fq);
                    fwrite(qi, sizeof *qi, qn, fq);
                    fwrite(qw, sizeof *qw, qn, fq);
                    fwrite(&nl, sizeof nl, 1, fq);
                    for (uint32_t i = 0; i < nl; i++) {
                        uint64_t id = l->items[i].id.num;
                        fwrite(&id, sizeof id, 1, fq);
                        fwrite(&l->items[i].score, sizeof(float), 1, fq);
                    }
                }
                mismatches += !same;
                sc_record_list_free(l);
            }
            qsort(t_store, N_QUERIES, sizeof *t_store, dbl_cmp);
            qsort(t_brute, N_QUERIES, sizeof *t_brute, dbl_cmp);
            double ms = 0, mb = 0;
            for (int q = 0; q < N_QUERIES; q++) ms += t_store[q], mb += t_brute[q];
            printf("query %3u entries%s: store p50 %.3f ms, p99 %.3f ms, mean %.3f ms | brute force p50 %.3f ms, "
                   "mean %.3f ms | speed-up %.0fx | %d of %d differ\n",
                   qsizes[qs], filtered ? ", filter g = 3 (10%)" : "", 1e3 * t_store[N_QUERIES / 2],
                   1e3 * t_store[N_QUERIES * 99 / 100], 1e3 * ms / N_QUERIES, 1e3 * t_brute[N_QUERIES / 2],
                   1e3 * mb / N_QUERIES, mb / ms, mismatches, N_QUERIES);
            free(t_store);
            free(t_brute);
        }
    }
    if (fq && fclose(fq)) return 1;
    sc_search_plans plans = sc_db_search_plans(db);
    printf("plans: %llu posting-list walks, %llu filtered point-by-point\n", (unsigned long long)plans.sparse_index,
           (unsigned long long)plans.sparse_list);
    sc_db_close(db);
    free(off);
    free(idx);
    free(val);
    free(df);
    return 0;
}
