// bench/exact.cpp: exact top-k search, semcode (index_flat_search) against
// its peer FAISS IndexFlatIP, single thread, on a clustered synthetic set.
//
// Data: bench/synth.h, seed 2, 1,000 centroids in 384-d; 100,000 database
//   vectors then 1,000 queries from the same generator. Inner product on
//   unit vectors = cosine.
// Reports queries/s for (a) semcode one query per call, (b) semcode all
// queries in one call, (c) FAISS one query per search(), (d) FAISS one
// search() with all queries; recall@10 agreement of semcode with FAISS; and
// the single-core streaming bandwidth measured here, with the fraction of
// it that the one-query scans reach.
// Usage: exact [n_rows] [n_queries] [modes, default abcd]
// (OMP and OpenBLAS threads are forced to 1.)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <time.h>

#include <omp.h>
#include <faiss/IndexFlat.h>

#include "synth.h"

extern "C" {
#include "index/index.h"
void openblas_set_num_threads(int);
}

static double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static double cpu_s() {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Best queries/s over several runs, by wall clock and by process CPU time.
struct Timing {
    double wall_qps = 0, cpu_qps = 0;
    template <class F> void add(size_t n_queries, F fn) {
        double w0 = now_s(), c0 = cpu_s();
        fn();
        double w = now_s() - w0, c = cpu_s() - c0;
        wall_qps = std::max(wall_qps, (double)n_queries / w);
        cpu_qps = std::max(cpu_qps, (double)n_queries / c);
    }
};

// Single-core read bandwidth: sum of 64-bit words over a buffer much larger
// than the caches (integer sums vectorise without reassociation flags).
static double stream_bandwidth_gbs(size_t bytes) {
    size_t n = bytes / sizeof(uint64_t);
    std::vector<uint64_t> buf(n);
    for (size_t i = 0; i < n; i++) buf[i] = i;
    double best = 0;
    volatile uint64_t sink = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = 0; i + 4 <= n; i += 4) {
            s0 += buf[i];
            s1 += buf[i + 1];
            s2 += buf[i + 2];
            s3 += buf[i + 3];
        }
        double t = now_s() - t0;
        sink = sink + s0 + s1 + s2 + s3;
        best = std::max(best, (double)bytes / t / 1e9);
    }
    return best;
}

int main(int argc, char **argv) {
    size_t n_rows = argc > 1 ? strtoul(argv[1], nullptr, 10) : 100000;
    size_t n_q = argc > 2 ? strtoul(argv[2], nullptr, 10) : 1000;
    std::string modes = argc > 3 ? argv[3] : "abcd";
    const size_t dim = 384, n_cent = 1000, k = 10;
    omp_set_num_threads(1);
    openblas_set_num_threads(1);

    bench_synth gen;
    if (!bench_synth_init(&gen, 2, dim, n_cent)) return 1;
    std::vector<float> db(n_rows * dim), qs(n_q * dim);
    bench_synth_fill(&gen, db.data(), n_rows);
    bench_synth_fill(&gen, qs.data(), n_q);
    bench_synth_free(&gen);

    const index_kernels *kern = index_kernels_best();
    printf("exact search: %zu x %zu f32, %zu queries, k=%zu, 1 thread, semcode kernels=%s\n", n_rows, dim,
           n_q, k, kern->isa);

    index_flat_params p = {INDEX_METRIC_DOT, (uint32_t)k, false, 0.0f, 1};
    std::vector<index_hit> sc1(n_q * k), scb(n_q * k);
    std::vector<uint32_t> n1(n_q), nb(n_q);
    faiss::IndexFlatIP fidx((faiss::Index::idx_t)dim);
    fidx.add((faiss::Index::idx_t)n_rows, db.data());
    std::vector<float> fd1(n_q * k), fdb(n_q * k);
    std::vector<faiss::Index::idx_t> fi1(n_q * k), fib(n_q * k);

    // The machine is shared: every mode runs `reps` times, interleaved with
    // the others, and the best run counts (wall clock, and CPU time of the
    // process, which excludes time the scheduler gave to other programs).
    // One-query modes run a rotating slice of n_single queries per rep.
    auto sc_one = [&](size_t q0, size_t n) {
        for (size_t q = q0; q < q0 + n; q++)
            index_flat_search(kern, &p, &qs[q * dim], 1, db.data(), n_rows, dim, nullptr, &sc1[q * k], &n1[q]);
    };
    auto sc_batch = [&]() {
        index_flat_search(kern, &p, qs.data(), n_q, db.data(), n_rows, dim, nullptr, scb.data(), nb.data());
    };
    auto fa_one = [&](size_t q0, size_t n) {
        for (size_t q = q0; q < q0 + n; q++)
            fidx.search(1, &qs[q * dim], (faiss::Index::idx_t)k, &fd1[q * k], &fi1[q * k]);
    };
    auto fa_batch = [&]() {
        fidx.search((faiss::Index::idx_t)n_q, qs.data(), (faiss::Index::idx_t)k, fdb.data(), fib.data());
    };
    sc_one(0, 1); // first touch of every page is not search time
    fa_one(0, 1);
    const int reps = 3;
    size_t n_single = std::min(n_q, std::max<size_t>(1, n_q / reps));
    Timing t_sc1, t_scb, t_f1, t_fb;
    for (int rep = 0; rep < reps; rep++) {
        size_t q0 = (size_t)rep * n_single % n_q;
        size_t ns = std::min(n_single, n_q - q0);
        if (modes.find('a') != std::string::npos) t_sc1.add(ns, [&] { sc_one(q0, ns); });
        if (modes.find('b') != std::string::npos) t_scb.add(n_q, sc_batch);
        if (modes.find('c') != std::string::npos) t_f1.add(ns, [&] { fa_one(q0, ns); });
        if (modes.find('d') != std::string::npos) t_fb.add(n_q, fa_batch);
    }
    // Full single-query result sets for the agreement check (untimed).
    if (modes == "abcd") {
        sc_one(0, n_q);
        fa_one(0, n_q);
    }

    // Agreement: |semcode top-10 ∩ FAISS top-10| / 10, averaged; and
    // semcode single == batched exactly.
    double agree1 = 0, agreeb = 0;
    size_t same = 0;
    for (size_t q = 0; q < n_q; q++) {
        size_t h1 = 0, hb = 0;
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++) {
                if ((faiss::Index::idx_t)sc1[q * k + i].row == fi1[q * k + j]) h1++;
                if ((faiss::Index::idx_t)scb[q * k + i].row == fib[q * k + j]) hb++;
            }
        agree1 += (double)h1 / (double)k;
        agreeb += (double)hb / (double)k;
        same += n1[q] == nb[q] && memcmp(&sc1[q * k], &scb[q * k], n1[q] * sizeof(index_hit)) == 0;
    }
    agree1 /= (double)n_q;
    agreeb /= (double)n_q;

    double bw = stream_bandwidth_gbs((size_t)1 << 30);
    double bytes = (double)n_rows * dim * sizeof(float);
    auto frac = [&](double qps) { return qps * bytes / 1e9 / bw; };

    printf("stream bandwidth (1 core, 1 GiB sum, best of 5): %.1f GB/s\n", bw);
    printf("best of %d runs; one-query modes run %zu queries per run\n", reps, n_single);
    printf("%-34s %10s %10s %9s %9s %8s\n", "mode", "q/s wall", "q/s cpu", "vs FAISS", "(cpu)", "BW frac");
    printf("%-34s %10.1f %10.1f %8.2fx %8.2fx %8.2f\n", "(a) semcode, one query per call", t_sc1.wall_qps,
           t_sc1.cpu_qps, t_sc1.wall_qps / t_f1.wall_qps, t_sc1.cpu_qps / t_f1.cpu_qps, frac(t_sc1.wall_qps));
    printf("%-34s %10.1f %10.1f %8.2fx %8.2fx %8s\n", "(b) semcode, batched (1 call)", t_scb.wall_qps,
           t_scb.cpu_qps, t_scb.wall_qps / t_fb.wall_qps, t_scb.cpu_qps / t_fb.cpu_qps, "-");
    printf("%-34s %10.1f %10.1f %9s %9s %8.2f\n", "(c) FAISS IndexFlatIP, one query", t_f1.wall_qps,
           t_f1.cpu_qps, "1.00x", "1.00x", frac(t_f1.wall_qps));
    printf("%-34s %10.1f %10.1f %9s %9s %8s\n", "(d) FAISS IndexFlatIP, batched", t_fb.wall_qps, t_fb.cpu_qps,
           "1.00x", "1.00x", "-");
    printf("recall@10 agreement semcode vs FAISS: single %.4f, batched %.4f\n", agree1, agreeb);
    printf("semcode single == batched (rows and scores): %zu / %zu queries\n", same, n_q);
    return 0;
}
