/*
** bench/ann: semcode HNSW vs hnswlib (Debian libhnswlib-dev) vs FAISS
** IndexHNSWFlat (Debian libfaiss-dev) on the same clustered synthetic data,
** same m and ef_construct, in one run; plus semcode's int8 / binary codes
** with rescoring, filtered search, and p50/p99 latency. Prints markdown
** tables for docs/BENCHMARKS.md. Run through bench/run_ann.sh.
**
** Data (generated once, cached under --data): a gaussian mixture in --dim
** dimensions with --centroids centroids drawn from N(0, 1) per dimension;
** each centroid has its own spread sigma ~ U[0.2, 1.0] (so clusters range
** from tight and well separated to wide and overlapping) and a lognormal
** weight exp(N(0, 1)) (cluster sizes vary ~10x). Points are centroid +
** sigma * N(0, I), then L2-normalised: the metric is inner product (cosine).
** Queries are fresh draws from the same mixture. Ground truth: exact top-10
** by inner product (AVX-512 / scalar scan in double-checked float).
**
** --only takes semcode, hnswlib, faiss, quant, filter and paired (semcode and
** hnswlib query passes alternating, for a shared, noisy machine); --reuse 1
** loads the semcode graph saved by an earlier run and the hnswlib graph
** saved by an earlier --reuse run instead of building them.
*/
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <hnswlib/hnswlib.h>
#include <faiss/IndexHNSW.h>
#include <omp.h>
#include <sys/stat.h>
#include <time.h>

extern "C" {
#include "index/hnsw.h"
#include "index/quant.h"
}

static const int K = 10;

/* ==== Options ==== */

struct opts {
    size_t n = 1000000, dim = 128, nq = 1000, centroids = 4096;
    int m = 16, efc = 200, threads = 2;
    std::string data = "bench/data";
    std::string only = "semcode,hnswlib,faiss,quant,filter";
    bool reuse = false; /* load saved semcode / hnswlib graphs instead of building */
    bool has(const char *what) const { return only.find(what) != std::string::npos; }
};

static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/* CPU seconds of the whole process (all threads): with wall time it shows
** how many cores a build kept busy (on an idle machine). */
static double cpu_now(clockid_t clk = CLOCK_PROCESS_CPUTIME_ID) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds of the calling thread: every build below also works on the
** calling thread, so its share of the process's CPU time shows how evenly
** the work was split (about half with two threads). */
static double cpu_self() {
    return cpu_now(CLOCK_THREAD_CPUTIME_ID);
}

/* ==== Data ==== */

static void gen_mixture(std::vector<float> &out, size_t n, size_t dim, size_t nc, uint64_t seed) {
    std::mt19937_64 cg(1234567); /* centroids: the same for base and queries */
    std::normal_distribution<float> N01(0.0f, 1.0f);
    std::uniform_real_distribution<float> U(0.2f, 1.0f);
    std::vector<float> cent(nc * dim), sigma(nc);
    std::vector<double> w(nc);
    for (size_t c = 0; c < nc; c++) {
        for (size_t d = 0; d < dim; d++) cent[c * dim + d] = N01(cg);
        sigma[c] = U(cg);
        w[c] = std::exp((double)N01(cg));
    }
    std::discrete_distribution<size_t> pick(w.begin(), w.end());
    std::mt19937_64 g(seed);
    out.resize(n * dim);
    for (size_t i = 0; i < n; i++) {
        size_t c = pick(g);
        float *v = &out[i * dim];
        double nn = 0;
        for (size_t d = 0; d < dim; d++) {
            v[d] = cent[c * dim + d] + sigma[c] * N01(g);
            nn += (double)v[d] * v[d];
        }
        float inv = (float)(1.0 / std::sqrt(nn));
        for (size_t d = 0; d < dim; d++) v[d] *= inv;
    }
}

static bool read_file(const std::string &p, void *buf, size_t n) {
    FILE *f = fopen(p.c_str(), "rb");
    if (!f) return false;
    bool ok = fread(buf, 1, n, f) == n;
    fclose(f);
    return ok;
}

static void write_file(const std::string &p, const void *buf, size_t n) {
    FILE *f = fopen(p.c_str(), "wb");
    if (!f || fwrite(buf, 1, n, f) != n) {
        fprintf(stderr, "cannot write %s\n", p.c_str());
        exit(1);
    }
    fclose(f);
}

static float dotf(const float *a, const float *b, size_t dim) {
    float s = 0;
    for (size_t i = 0; i < dim; i++) s += a[i] * b[i];
    return s;
}

typedef bool (*accept_fn)(void *, uint32_t);

/* Exact top-K by inner product over admitted rows, 2 threads over queries. */
static void exact_topk(const std::vector<float> &base, const std::vector<float> &q, size_t dim,
                       accept_fn acc, std::vector<uint32_t> &gt) {
    size_t n = base.size() / dim, nq = q.size() / dim;
    gt.assign(nq * K, UINT32_MAX);
    auto work = [&](size_t t, size_t nt) {
        for (size_t i = t; i < nq; i += nt) {
            std::vector<std::pair<float, uint32_t>> best;
            best.reserve(K + 1);
            for (size_t r = 0; r < n; r++) {
                if (acc && !acc(nullptr, (uint32_t)r)) continue;
                float s = dotf(&q[i * dim], &base[r * dim], dim);
                if (best.size() == (size_t)K && s <= best.back().first) continue;
                best.emplace_back(s, (uint32_t)r);
                std::sort(best.begin(), best.end(), [](auto &a, auto &b) { return a.first > b.first; });
                if (best.size() > (size_t)K) best.pop_back();
            }
            for (size_t j = 0; j < best.size(); j++) gt[i * K + j] = best[j].second;
        }
    };
    std::thread th(work, 1, 2);
    work(0, 2);
    th.join();
}

static double recall_of(const std::vector<uint32_t> &gt, size_t qi, const uint32_t *got, size_t n) {
    int hit = 0, tot = 0;
    for (int j = 0; j < K; j++) {
        uint32_t t = gt[qi * K + j];
        if (t == UINT32_MAX) continue;
        tot++;
        for (size_t i = 0; i < n; i++)
            if (got[i] == t) {
                hit++;
                break;
            }
    }
    return tot ? (double)hit / tot : 1.0;
}

/* Filters: 1 % and 10 % of rows by a hash of the row number. */
static bool acc1(void *, uint32_t r) {
    return util_mix64(r) % 100 == 0;
}
static bool acc10(void *, uint32_t r) {
    return util_mix64(r) % 10 == 0;
}

/* ==== Reporting ==== */

struct row {
    std::string lib;
    int ef;
    double recall, qps, p50, p99;
};

static void print_rows(const std::vector<row> &rows) {
    printf("| index | ef | recall@10 | q/s (1 thread) | p50 ms | p99 ms |\n|---|---|---|---|---|---|\n");
    for (auto &r : rows)
        printf("| %s | %d | %.4f | %.0f | %.3f | %.3f |\n", r.lib.c_str(), r.ef, r.recall, r.qps, r.p50, r.p99);
    fflush(stdout);
}

/* Recall over all queries; speed from the fastest of `passes` timed passes
** (the machine is shared: the best pass is the least disturbed one). */
template <class F>
static row measure(const char *lib, int ef, size_t nq, const std::vector<uint32_t> &gt, F search,
                   int passes = 3) {
    std::vector<double> lat(nq), best_lat;
    double rs = 0, best_t = 1e30;
    uint32_t got[256];
    /* Warm-up pass (caches, page faults), then the timed passes. */
    for (size_t i = 0; i < std::min<size_t>(nq, 100); i++) search(i, got);
    for (int p = 0; p < passes; p++) {
        double t0 = now();
        rs = 0;
        for (size_t i = 0; i < nq; i++) {
            double a = now();
            size_t n = search(i, got);
            lat[i] = now() - a;
            rs += recall_of(gt, i, got, n);
        }
        double t = now() - t0;
        if (t < best_t) {
            best_t = t;
            best_lat = lat;
        }
    }
    std::sort(best_lat.begin(), best_lat.end());
    return row{lib, ef, rs / nq, nq / best_t, best_lat[nq / 2] * 1e3, best_lat[(nq * 99) / 100] * 1e3};
}

/* ==== Searches (one query; hit rows to got, returns their count) ==== */

/* semcode: oversample > 0 walks the quantized codes and rescores. */
static size_t search_semcode(const hnsw_index *idx, const float *q, int ef, const index_scan_filter *f,
                             float oversample, uint32_t *got) {
    index_hit h[K];
    uint32_t nh = 0;
    hnsw_search_opts so = {};
    so.ef = (uint32_t)ef;
    so.filter = f;
    so.use_codes = oversample > 0;
    so.oversample = oversample;
    hnsw_index_search(idx, q, K, &so, h, &nh, nullptr);
    for (uint32_t j = 0; j < nh; j++) got[j] = h[j].row;
    return nh;
}

static size_t search_hnswlib(hnswlib::HierarchicalNSW<float> *h, const float *q, uint32_t *got) {
    auto res = h->searchKnn(q, K);
    size_t m = res.size();
    for (size_t j = m; j > 0; j--) {
        got[j - 1] = (uint32_t)res.top().second;
        res.pop();
    }
    return m;
}

int main(int argc, char **argv) {
    opts o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i], v = argv[i + 1];
        if (a == "--n") o.n = std::stoul(v);
        else if (a == "--dim") o.dim = std::stoul(v);
        else if (a == "--nq") o.nq = std::stoul(v);
        else if (a == "--centroids") o.centroids = std::stoul(v);
        else if (a == "--m") o.m = std::stoi(v);
        else if (a == "--efc") o.efc = std::stoi(v);
        else if (a == "--threads") o.threads = std::stoi(v);
        else if (a == "--data") o.data = v;
        else if (a == "--only") o.only = v;
        else if (a == "--reuse") o.reuse = v == "1";
        else {
            fprintf(stderr, "unknown option %s\n", a.c_str());
            return 2;
        }
    }
    const size_t dim = o.dim, n = o.n, nq = o.nq;
    char tag[128];
    snprintf(tag, sizeof tag, "%s/mix_%zux%zu_c%zu", o.data.c_str(), n, dim, o.centroids);
    std::string pb = std::string(tag) + ".base.f32", pq = std::string(tag) + ".q.f32";
    std::string pg = std::string(tag) + ".gt.u32", pg1 = std::string(tag) + ".gt1.u32",
                pg10 = std::string(tag) + ".gt10.u32";
    std::vector<float> base(n * dim), qs(nq * dim);
    std::vector<uint32_t> gt(nq * K), gt1(nq * K), gt10(nq * K);
    double t0 = now();
    if (!read_file(pb, base.data(), base.size() * 4) || !read_file(pq, qs.data(), qs.size() * 4)) {
        gen_mixture(base, n, dim, o.centroids, 1);
        gen_mixture(qs, nq, dim, o.centroids, 2);
        write_file(pb, base.data(), base.size() * 4);
        write_file(pq, qs.data(), qs.size() * 4);
        fprintf(stderr, "generated data in %.1f s\n", now() - t0);
    }
    t0 = now();
    if (!read_file(pg, gt.data(), gt.size() * 4) || !read_file(pg1, gt1.data(), gt1.size() * 4) ||
        !read_file(pg10, gt10.data(), gt10.size() * 4)) {
        exact_topk(base, qs, dim, nullptr, gt);
        exact_topk(base, qs, dim, acc1, gt1);
        exact_topk(base, qs, dim, acc10, gt10);
        write_file(pg, gt.data(), gt.size() * 4);
        write_file(pg1, gt1.data(), gt1.size() * 4);
        write_file(pg10, gt10.data(), gt10.size() * 4);
        fprintf(stderr, "ground truth in %.1f s\n", now() - t0);
    }
    printf("data: %zu x %zu, %zu centroids, %zu queries; m=%d ef_construct=%d; build threads=%d\n\n", n, dim,
           o.centroids, nq, o.m, o.efc, o.threads);
    const int efs[] = {16, 32, 64, 128, 256};
    std::vector<row> rows;
    std::vector<std::string> builds;

    /* ---- semcode ---- */
    hnsw_index *sidx = nullptr;
    if (o.has("semcode")) {
        hnsw_params p = hnsw_params_default();
        p.dim = (uint32_t)dim;
        p.m = (uint32_t)o.m;
        p.ef_construct = (uint32_t)o.efc;
        p.n_threads = (uint32_t)o.threads;
        hnsw_source src = {base.data(), dim, nullptr, nullptr};
        sc_err err = {};
        if (hnsw_index_new(&p, &src, &sidx, &err) != SC_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        std::string ip = std::string(tag) + ".semcode.idx";
        struct stat st0 = {};
        bool reused = o.reuse && stat(ip.c_str(), &st0) == 0;
        if (reused) {
            hnsw_index_free(sidx);
            sidx = nullptr;
            t0 = now();
            if (hnsw_index_load(ip.c_str(), &src, &sidx, &err) != SC_OK) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            char b[256];
            snprintf(b, sizeof b, "| semcode (loaded %s, not built) | %.1f | - | - |", ip.c_str(), now() - t0);
            builds.push_back(b);
        }
        std::vector<uint32_t> ids(reused ? 0 : n);
        for (size_t i = 0; i < ids.size(); i++) ids[i] = (uint32_t)i;
        t0 = now();
        if (!reused) {
        double c0 = cpu_now(), s0 = cpu_self();
        if (hnsw_index_add_batch(sidx, ids.data(), n, &err) != SC_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double tb = now() - t0, cb = cpu_now() - c0, sb = cpu_self() - s0;
        hnsw_info in = hnsw_index_info(sidx);
        char b[256];
        snprintf(b, sizeof b, "| semcode | %.1f | %.1f (%.1f) | %.0f (graph; vectors stay in the store: +%zu) |", tb,
                 cb, sb, in.bytes_per_vector, dim * 4);
        builds.push_back(b);
        fprintf(stderr, "semcode build %.1f s\n", tb);
        /* Persistence at scale: save, then load without rebuild. */
        t0 = now();
        if (hnsw_index_save(sidx, ip.c_str(), &err) != SC_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double ts = now() - t0;
        hnsw_index *back = nullptr;
        t0 = now();
        if (hnsw_index_load(ip.c_str(), &src, &back, &err) != SC_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double tl = now() - t0;
        hnsw_index_free(sidx);
        sidx = back; /* searches below run on the loaded index */
        struct stat st = {};
        stat(ip.c_str(), &st);
        snprintf(b, sizeof b, "| semcode save / load (no rebuild) | %.1f / %.1f | - | file %.0f MB |", ts, tl,
                 (double)st.st_size / 1e6);
        builds.push_back(b);
        }
        for (int ef : efs)
            rows.push_back(measure("semcode", ef, nq, gt, [&](size_t i, uint32_t *got) {
                return search_semcode(sidx, &qs[i * dim], ef, nullptr, 0, got);
            }));
        print_rows(rows);
    }

    /* ---- hnswlib ---- */
    hnswlib::InnerProductSpace space(dim);
    hnswlib::HierarchicalNSW<float> *h = nullptr;
    if (o.has("hnswlib")) {
        std::string hp = std::string(tag) + ".hnswlib.idx";
        struct stat st0 = {};
        if (o.reuse && stat(hp.c_str(), &st0) == 0) {
            t0 = now();
            h = new hnswlib::HierarchicalNSW<float>(&space, hp, false, n);
            char b[256];
            snprintf(b, sizeof b, "| hnswlib (loaded %s, not built) | %.1f | - | - |", hp.c_str(), now() - t0);
            builds.push_back(b);
        } else {
        h = new hnswlib::HierarchicalNSW<float>(&space, n, o.m, o.efc, 100);
        t0 = now();
        double c0 = cpu_now(), s0 = cpu_self();
        std::atomic<size_t> next(0);
        auto work = [&]() {
            for (size_t i; (i = next.fetch_add(1)) < n;) h->addPoint(&base[i * dim], i);
        };
        std::vector<std::thread> th;
        for (int t = 1; t < o.threads; t++) th.emplace_back(work);
        work();
        for (auto &t : th) t.join();
        double tb = now() - t0, cb = cpu_now() - c0, sb = cpu_self() - s0;
        size_t bpv = h->size_data_per_element_ + sizeof(void *);
        char b[256];
        snprintf(b, sizeof b, "| hnswlib | %.1f | %.1f (%.1f) | %zu (incl. its copy of the vectors, %zu) |", tb, cb,
                 sb, bpv, dim * 4);
        builds.push_back(b);
        fprintf(stderr, "hnswlib build %.1f s\n", tb);
        if (o.reuse) h->saveIndex(hp);
        }
        for (int ef : efs) {
            h->setEf(ef);
            rows.push_back(measure("hnswlib", ef, nq, gt, [&](size_t i, uint32_t *got) {
                return search_hnswlib(h, &qs[i * dim], got);
            }));
        }
        print_rows(rows);
    }

    /* ---- FAISS ---- */
    if (o.has("faiss")) {
        omp_set_num_threads(o.threads);
        faiss::IndexHNSWFlat fi((int)dim, o.m, faiss::METRIC_INNER_PRODUCT);
        fi.hnsw.efConstruction = o.efc;
        t0 = now();
        double c0 = cpu_now(), s0 = cpu_self();
        fi.add((faiss::Index::idx_t)n, base.data());
        double tb = now() - t0, cb = cpu_now() - c0, sb = cpu_self() - s0;
        char b[256];
        snprintf(b, sizeof b, "| FAISS IndexHNSWFlat | %.1f | %.1f (%.1f) | %zu (incl. its copy of the vectors) |", tb,
                 cb, sb,
                 dim * 4 + (size_t)(2 * o.m) * 4 + 8);
        builds.push_back(b);
        fprintf(stderr, "faiss build %.1f s\n", tb);
        omp_set_num_threads(1);
        for (int ef : efs) {
            fi.hnsw.efSearch = ef;
            rows.push_back(measure("FAISS", ef, nq, gt, [&](size_t i, uint32_t *got) {
                float D[K];
                faiss::Index::idx_t L[K];
                fi.search(1, &qs[i * dim], K, D, L);
                size_t m = 0;
                for (int j = 0; j < K; j++)
                    if (L[j] >= 0) got[m++] = (uint32_t)L[j];
                return m;
            }));
        }
        print_rows(rows);
    }

    printf("\n### Build (%d threads; cpu s = CPU time of all threads (of the calling thread))\n\n"
           "| index | build s | cpu s | bytes/vector |\n"
           "|---|---|---|---|\n",
           o.threads);
    for (auto &b : builds) printf("%s\n", b.c_str());
    printf("\n### Recall and speed (single-thread queries, top-10; q/s and latency from the fastest of 3 passes)\n\n");
    print_rows(rows);

    /* Paired: semcode and hnswlib passes alternate (one pass each, three
    ** times per ef), so both meet the same machine load; best pass of each. */
    if (sidx && h && o.has("paired")) {
        std::vector<row> pr;
        for (int ef : efs) {
            h->setEf(ef);
            row bs{}, bh{};
            for (int p = 0; p < 3; p++) {
                row a = measure("semcode", ef, nq, gt, [&](size_t i, uint32_t *got) {
                    return search_semcode(sidx, &qs[i * dim], ef, nullptr, 0, got);
                }, 1);
                row b = measure("hnswlib", ef, nq, gt, [&](size_t i, uint32_t *got) {
                    return search_hnswlib(h, &qs[i * dim], got);
                }, 1);
                if (a.qps > bs.qps) bs = a;
                if (b.qps > bh.qps) bh = b;
            }
            pr.push_back(bs);
            pr.push_back(bh);
        }
        printf("\n### Paired (semcode and hnswlib passes alternate; best of 3 passes each)\n\n");
        print_rows(pr);
    }
    delete h;

    if (sidx && o.has("filter")) {
        std::vector<row> fr;
        struct { const char *name; accept_fn f; const std::vector<uint32_t> *g; } fs[] = {
            {"semcode, filter 10%", acc10, &gt10}, {"semcode, filter 1%", acc1, &gt1}};
        const index_kernels *kern = index_kernels_best();
        for (auto &f : fs) {
            /* the admitted rows, as a payload index hands them to the store's planner */
            std::vector<uint32_t> adm;
            for (size_t r = 0; r < n; r++)
                if (f.f(nullptr, (uint32_t)r)) adm.push_back((uint32_t)r);
            for (int ef : {64, 128}) {
                index_scan_filter flt = {f.f, nullptr, nullptr};
                fr.push_back(measure((std::string(f.name) + ", graph walk").c_str(), ef, nq, *f.g, [&](size_t i, uint32_t *got) {
                    return search_semcode(sidx, &qs[i * dim], ef, &flt, 0, got);
                }));
                /* what sc_points_search runs: the cost model picks the walk or
                ** exact scoring of the admitted rows (store__search_candidates) */
                bool ex = hnsw_prefer_exact(adm.size(), n, (uint32_t)std::max(ef, K), (uint32_t)o.m);
                std::string name = std::string(f.name) + (ex ? ", planned: exact over " : ", planned: graph walk, ") +
                                   std::to_string(adm.size()) + " rows";
                fr.push_back(measure(name.c_str(), ef, nq, *f.g, [&](size_t i, uint32_t *got) {
                    if (!ex) return search_semcode(sidx, &qs[i * dim], ef, &flt, 0, got);
                    const float *q = &qs[i * dim];
                    std::pair<float, uint32_t> best[K + 1];
                    size_t m = 0;
                    for (uint32_t r : adm) {
                        float sc = kern->dot(q, &base[(size_t)r * dim], dim);
                        if (m == (size_t)K && sc <= best[K - 1].first) continue;
                        size_t j = m < (size_t)K ? m++ : (size_t)K - 1;
                        while (j > 0 && best[j - 1].first < sc) {
                            best[j] = best[j - 1];
                            j--;
                        }
                        best[j] = {sc, r};
                    }
                    for (size_t j = 0; j < m; j++) got[j] = best[j].second;
                    return m;
                }));
            }
        }
        printf("\n### Filtered search (recall against exact filtered search)\n\n");
        print_rows(fr);
    }

    if (sidx && o.has("quant")) {
        std::vector<row> qr;
        std::vector<std::string> mem;
        struct { const char *name; quant_mode mode; float os; } qm[] = {
            {"int8 x2", QUANT_MODE_INT8, 2.0f}, {"binary x4", QUANT_MODE_BINARY, 4.0f},
            {"binary x10", QUANT_MODE_BINARY, 10.0f}};
        quant_mode cur = QUANT_MODE_NONE;
        for (auto &q : qm) {
            if (q.mode != cur) {
                quant_params qp = quant_params_default(q.mode);
                sc_err err = {};
                t0 = now();
                if (hnsw_index_quantize(sidx, &qp, &err) != SC_OK) {
                    fprintf(stderr, "%s\n", err.msg);
                    return 1;
                }
                cur = q.mode;
                hnsw_info in = hnsw_index_info(sidx);
                char b[256];
                snprintf(b, sizeof b, "| %s | %zu | %.0f | %.1f s |",
                         q.mode == QUANT_MODE_INT8 ? "int8" : "binary", quant_bytes_per_vector(q.mode, (uint32_t)dim),
                         in.bytes_per_vector, now() - t0);
                mem.push_back(b);
            }
            for (int ef : {32, 64, 128, 256}) {
                std::string name = std::string("semcode ") + q.name;
                qr.push_back(measure(name.c_str(), ef, nq, gt, [&](size_t i, uint32_t *got) {
                    return search_semcode(sidx, &qs[i * dim], ef, nullptr, q.os, got);
                }));
            }
        }
        printf("\n### Quantized traversal + f32 rescoring (k x oversample candidates)\n\n");
        print_rows(qr);
        printf("\n| codes | bytes/vector (codes) | index bytes/vector (graph + codes) | quantize time |\n|---|---|---|---|\n");
        printf("| f32 | %zu | (vectors in the store) | - |\n", dim * 4);
        for (auto &b : mem) printf("%s\n", b.c_str());
    }
    hnsw_index_free(sidx);
    return 0;
}
