/*
** cli/cmd_doctor.c: `semcode doctor`, the embedding quality report a user
** runs when results look wrong. For one named vector of a collection it
** scrolls every point (public store API only) and reports: dimension
** consistency with the collection, missing vectors, zero and non-finite
** vectors, norm mean / spread / range, the exact-duplicate rate (vectors
** with identical bytes), and the distribution of each sampled point's
** nearest-neighbour similarity (exact search, the point itself excluded).
** Warnings name what looks wrong and its likely cause.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static uint64_t cli__doc_hash(const float *v, uint32_t dim) {
    const unsigned char *p = (const unsigned char *)v;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < (size_t)dim * sizeof(float); i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static int cli__u64_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cli__f_cmp(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void cli__doctor_usage(FILE *f) {
    fprintf(f, "usage: semcode doctor --store DIR --collection C [--vector NAME] [--sample N] [--json]\n\n"
               "Checks the stored embeddings of a collection: dimensions, zero and non-finite\n"
               "vectors, norms, exact duplicates, nearest-neighbour similarity (N sampled points,\n"
               "default 500).\n");
}

int cli_cmd_doctor(int argc, char **argv) {
    const char *store = NULL, *coll = NULL, *vname = NULL;
    uint32_t sample = 500;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cli__doctor_usage(stdout);
            return 0;
        } else if (i + 1 < argc && !strcmp(argv[i], "--store")) store = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--collection")) coll = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--vector")) vname = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--sample")) sample = (uint32_t)strtoul(argv[++i], NULL, 10);
        else {
            cli__doctor_usage(stderr);
            return 2;
        }
    }
    if (!store || !coll) {
        cli__doctor_usage(stderr);
        return 2;
    }
    sc_db_options o = sc_db_options_default();
    o.create = false;
    sc_db *db = NULL;
    char eb[512];
    if (sc_db_open(store, &o, &db, eb, sizeof eb) != SC_OK) {
        fprintf(stderr, "semcode doctor: %s\n", eb);
        return 1;
    }
    int status = 1;
    sc_collection_info info = {0};
    uint64_t *hashes = NULL;
    float *samples = NULL, *nn = NULL;
    sc_point_id *sample_ids = NULL;
    if (sc_collection_info_get(db, coll, &info) != SC_OK) {
        fprintf(stderr, "semcode doctor: %s\n", sc_db_errmsg(db));
        goto out;
    }
    const sc_vector_params *vp = NULL;
    for (size_t i = 0; i < info.n_vector_params; i++)
        if (!vname ? i == 0 : !strcmp(info.vectors[i].name, vname)) vp = &info.vectors[i];
    if (!vp) {
        fprintf(stderr, "semcode doctor: collection '%s' has no vector '%s'\n", coll, vname ? vname : "");
        goto out;
    }
    uint32_t dim = vp->dim;
    /* ---- scan ---- */
    uint64_t n_points = 0, n_with = 0, n_bad_dim = 0, n_zero = 0, n_nonfinite = 0;
    double nsum = 0, nsq = 0, nmin = HUGE_VAL, nmax = 0;
    size_t cap_h = 0;
    hashes = NULL;
    samples = malloc((size_t)sample * dim * sizeof *samples);
    sample_ids = malloc((size_t)sample * sizeof *sample_ids);
    if ((!samples || !sample_ids) && sample) goto nomem;
    uint32_t n_samples = 0;
    uint64_t seen_for_sample = 0, rng = 0x1234567ULL;
    sc_scroll_request req = {.limit = 1000};
    const char *names[1] = {vp->name};
    req.with.vectors = true;
    req.with.vector_names = names;
    req.with.n_vector_names = 1;
    bool more = true;
    while (more) {
        sc_record_list *page = NULL;
        sc_point_id next;
        if (sc_points_scroll(db, coll, &req, &page, &next, &more) != SC_OK) {
            fprintf(stderr, "semcode doctor: %s\n", sc_db_errmsg(db));
            goto out;
        }
        for (size_t i = 0; i < page->n; i++) {
            sc_record *r = &page->items[i];
            n_points++;
            if (r->n_vectors == 0) continue;
            n_with++;
            if (r->vector_dims[0] != dim) {
                n_bad_dim++;
                continue;
            }
            const float *v = r->vectors[0];
            double ss = 0;
            int finite = 1;
            for (uint32_t d = 0; d < dim; d++) {
                if (!isfinite(v[d])) finite = 0;
                ss += (double)v[d] * (double)v[d];
            }
            if (!finite) {
                n_nonfinite++;
                continue;
            }
            double nr = sqrt(ss);
            if (nr < 1e-12) n_zero++;
            nsum += nr;
            nsq += nr * nr;
            if (nr < nmin) nmin = nr;
            if (nr > nmax) nmax = nr;
            if (n_with > cap_h) {
                cap_h = cap_h ? cap_h * 2 : 4096;
                uint64_t *h = realloc(hashes, cap_h * sizeof *h);
                if (!h) {
                    sc_record_list_free(page);
                    goto nomem;
                }
                hashes = h;
            }
            uint64_t nh = 0;
            nh = cli__doc_hash(v, dim);
            hashes[n_with - n_bad_dim - n_nonfinite - 1] = nh;
            /* reservoir sample of non-zero vectors for the neighbour check */
            if (nr >= 1e-12 && sample) {
                seen_for_sample++;
                uint64_t slot = n_samples < sample ? n_samples : UINT64_MAX;
                if (slot == UINT64_MAX) {
                    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                    uint64_t j = (rng >> 11) % seen_for_sample;
                    if (j < sample) slot = j;
                } else {
                    n_samples++;
                }
                if (slot != UINT64_MAX) {
                    memcpy(samples + slot * dim, v, dim * sizeof *v);
                    sample_ids[slot] = r->id;
                }
            }
        }
        sc_record_list_free(page);
        req.has_offset = true;
        req.offset = next;
    }
    uint64_t n_ok = n_with - n_bad_dim - n_nonfinite;
    uint64_t n_dup = 0;
    if (n_ok > 1) {
        qsort(hashes, n_ok, sizeof *hashes, cli__u64_cmp);
        for (uint64_t i = 1; i < n_ok; i++) n_dup += hashes[i] == hashes[i - 1];
    }
    /* ---- nearest neighbours of the sample ---- */
    nn = malloc((n_samples + 1) * sizeof *nn);
    if (!nn) goto nomem;
    uint32_t n_nn = 0;
    for (uint32_t i = 0; i < n_samples; i++) {
        sc_search_request sr = {.vector_name = vp->name, .query = samples + (size_t)i * dim, .dim = dim, .limit = 2};
        sc_record_list *res = NULL;
        if (sc_points_search(db, coll, &sr, &res) != SC_OK) {
            fprintf(stderr, "semcode doctor: %s\n", sc_db_errmsg(db));
            goto out;
        }
        for (size_t k = 0; k < res->n; k++)
            if (sc_point_id_cmp(&res->items[k].id, &sample_ids[i])) {
                nn[n_nn++] = res->items[k].score;
                break;
            }
        sc_record_list_free(res);
    }
    qsort(nn, n_nn, sizeof *nn, cli__f_cmp);
    double nmean = n_ok ? nsum / (double)n_ok : 0, nstd = n_ok ? sqrt(fmax(0, nsq / (double)n_ok - nmean * nmean)) : 0;
    float q[5] = {0};
    const double qs[5] = {0.0, 0.1, 0.5, 0.9, 1.0};
    for (int k = 0; k < 5 && n_nn; k++) q[k] = nn[(size_t)(qs[k] * (n_nn - 1) + 0.5)];
    double nn_mean = 0;
    uint32_t nn_high = 0;
    for (uint32_t i = 0; i < n_nn; i++) nn_mean += (double)nn[i], nn_high += nn[i] >= 0.99f;
    if (n_nn) nn_mean /= n_nn;
    const char *metric = sc_distance_name(vp->distance);
    if (json) {
        printf("{\"collection\":\"%s\",\"vector\":\"%s\",\"dim\":%u,\"distance\":\"%s\",\"points\":%llu,"
               "\"with_vector\":%llu,\"bad_dim\":%llu,\"non_finite\":%llu,\"zero\":%llu,"
               "\"norm\":{\"mean\":%.6f,\"std\":%.6f,\"min\":%.6f,\"max\":%.6f},\"exact_duplicates\":%llu,"
               "\"duplicate_rate\":%.6f,\"nn\":{\"sampled\":%u,\"mean\":%.4f,\"min\":%.4f,\"p10\":%.4f,"
               "\"p50\":%.4f,\"p90\":%.4f,\"max\":%.4f,\"ge_0_99\":%u}}\n",
               coll, vp->name, dim, metric, (unsigned long long)n_points, (unsigned long long)n_with,
               (unsigned long long)n_bad_dim, (unsigned long long)n_nonfinite, (unsigned long long)n_zero, nmean,
               nstd, n_ok ? nmin : 0.0, nmax, (unsigned long long)n_dup, n_ok ? (double)n_dup / (double)n_ok : 0.0,
               n_nn, nn_mean, (double)q[0], (double)q[1], (double)q[2], (double)q[3], (double)q[4], nn_high);
    } else {
        printf("collection %s, vector '%s': dimension %u, %s\n", coll, vp->name, dim, metric);
        printf("  points               %llu (%llu with this vector)\n", (unsigned long long)n_points,
               (unsigned long long)n_with);
        printf("  wrong dimension      %llu\n  non-finite           %llu\n  zero vectors         %llu\n",
               (unsigned long long)n_bad_dim, (unsigned long long)n_nonfinite, (unsigned long long)n_zero);
        printf("  norm                 mean %.4f  std %.4f  min %.4f  max %.4f\n", nmean, nstd, n_ok ? nmin : 0.0,
               nmax);
        printf("  exact duplicates     %llu (%.2f%%)\n", (unsigned long long)n_dup,
               n_ok ? 100.0 * (double)n_dup / (double)n_ok : 0.0);
        printf("  nearest neighbour    %u sampled: mean %.3f  min %.3f  p10 %.3f  p50 %.3f  p90 %.3f  max %.3f\n",
               n_nn, nn_mean, (double)q[0], (double)q[1], (double)q[2], (double)q[3], (double)q[4]);
        if (n_bad_dim) printf("  warning: vectors of the wrong dimension (mixed models?)\n");
        if (n_zero) printf("  warning: zero vectors: texts without a known token, or a failed embedding\n");
        if (n_ok && (double)n_dup / (double)n_ok > 0.05)
            printf("  warning: over 5%% exact duplicates: identical prepared texts or a broken embedder\n");
        if (n_nn >= 10 && q[2] > 0.95f)
            printf("  warning: median neighbour similarity %.3f: vectors collapse together (wrong model or "
                   "constant input?)\n", (double)q[2]);
        if (vp->distance == SC_DISTANCE_DOT && nstd > 0.1 * nmean)
            printf("  warning: norms vary though the metric is dot: normalise or use cosine\n");
    }
    status = 0;
    goto out;
nomem:
    fprintf(stderr, "semcode doctor: out of memory\n");
out:
    free(hashes);
    free(samples);
    free(sample_ids);
    free(nn);
    sc_collection_info_free(&info);
    sc_db_close(db);
    return status;
}
