/*
** cli/cmd_doctor.c: `semcode doctor`, the embedding quality report a user
** runs when results look wrong. For a named vector of a collection it
** scrolls every point (public store API only) and reports: dimension
** consistency with the collection, missing vectors, zero and non-finite
** vectors, norm mean / spread / range, the exact-duplicate rate (vectors
** with identical bytes), the model ids the points name (payload "model"),
** and the distribution of each sampled point's nearest-neighbour
** similarity (search, the point itself excluded). Warnings name what looks
** wrong and its likely cause. Without --collection it reports every named
** vector of every collection of the store: the code collection's, and
** content / summary / metadata of each tenant's records (their state
** points, which carry no vectors, left out).
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "cli/cli.h"

/* XXH3-64 of a vector's bytes: equal vectors, equal hashes (duplicate count). */
static uint64_t cli__doc_hash(const float *v, uint32_t dim) { return XXH3_64bits(v, (size_t)dim * sizeof(float)); }

static int cli__u64_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cli__f_cmp(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void cli__doctor_usage(FILE *f) {
    fprintf(f, "usage: semcode doctor [--store DIR] [--collection C [--vector NAME]] [--sample N] [--json]\n\n"
               "Checks the stored embeddings: per named vector the points with and without it,\n"
               "dimensions, zero and non-finite (NaN, infinite) vectors, norms, exact duplicates,\n"
               "the model ids the points were embedded with, nearest-neighbour similarity (N\n"
               "sampled points, default 500), and warnings naming what looks wrong.\n"
               "  --store DIR       the store (default $SEMCODE_STORE, else the index of the tree you are in)\n"
               "  --collection C    only collection C (default: every collection of the store: the\n"
               "                    code index and the records of each tenant, records / .T.records)\n"
               "  --vector NAME     only that vector of C (default: the first; every one without --collection)\n"
               "  --json            JSON: one vector's object {collection, vector, dim, distance, points,\n"
               "                    with_vector, missing, bad_dim, non_finite, zero, norm, exact_duplicates,\n"
               "                    duplicate_rate, models, nn}; without --collection {store, collections:\n"
               "                    [{collection, points, vectors: [those objects]}]}\n");
}

#define DOCTOR_MAX_MODELS 8 /* distinct model ids counted per vector; more are counted as "other" */

/* What the scan of one named vector learns, and the sample it keeps. */
typedef struct doctor_scan {
    uint32_t dim;            /* the collection's dimension for the vector */
    uint32_t sample;         /* sample size asked for */
    uint64_t n_points;       /* points scrolled */
    uint64_t n_with;         /* points with this vector */
    uint64_t n_bad_dim;      /* of those, of another dimension */
    uint64_t n_zero;         /* of finite ones, norm below 1e-12 */
    uint64_t n_nonfinite;    /* with a NaN or infinity */
    double nsum, nsq;        /* sum of norms and of their squares (finite ones) */
    double nmin, nmax;       /* smallest and largest norm */
    uint64_t *hashes;        /* byte hash of every finite vector (owned) */
    size_t cap_h;            /* allocated hashes */
    float *samples;          /* reservoir sample of non-zero vectors, sample x dim (owned) */
    sc_point_id *sample_ids; /* their ids (owned) */
    uint32_t n_samples;      /* vectors in the sample */
    uint64_t seen_for_sample;/* non-zero vectors offered to the reservoir */
    uint64_t rng;            /* reservoir generator state */
    float *nn;               /* nearest-neighbour similarity of each sampled vector, sorted (owned) */
    uint32_t n_nn;           /* entries in nn */
    char *model_ids[DOCTOR_MAX_MODELS];       /* distinct payload "model" values seen (owned) */
    uint64_t model_counts[DOCTOR_MAX_MODELS]; /* points naming each */
    size_t n_models;                          /* entries used */
    uint64_t n_model_other;                   /* points naming a model beyond the first DOCTOR_MAX_MODELS */
} doctor_scan;

/* Count the model id of a point's payload ({"model": id} or none). */
static void doctor__count_model(doctor_scan *sc, const char *payload_json) {
    json_t *p = payload_json ? json_loads(payload_json, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(p, "model"));
    if (m) {
        size_t i = 0;
        while (i < sc->n_models && strcmp(sc->model_ids[i], m)) i++;
        if (i < sc->n_models) sc->model_counts[i]++;
        else if (sc->n_models < DOCTOR_MAX_MODELS && (sc->model_ids[i] = strdup(m))) sc->model_counts[sc->n_models++] = 1;
        else sc->n_model_other++;
    }
    json_decref(p);
}

/* Release what a scan owns and reset it for the next vector. */
static void doctor__scan_free(doctor_scan *sc) {
    free(sc->hashes);
    free(sc->samples);
    free(sc->sample_ids);
    free(sc->nn);
    for (size_t i = 0; i < sc->n_models; i++) free(sc->model_ids[i]);
    uint32_t sample = sc->sample;
    memset(sc, 0, sizeof *sc);
    sc->sample = sample;
    sc->nmin = HUGE_VAL;
    sc->rng = 0x1234567ULL;
}

/* The report's summary numbers. */
typedef struct doctor_report {
    uint64_t n_ok;     /* finite vectors of the right dimension */
    uint64_t n_dup;    /* of those, exact byte duplicates of another */
    double nmean, nstd;/* norm mean and standard deviation */
    float q[5];        /* neighbour similarity: min, p10, p50, p90, max */
    double nn_mean;    /* mean neighbour similarity */
    uint32_t nn_high;  /* sampled vectors with a neighbour at >= 0.99 */
} doctor_report;

/* Count one vector of the right dimension: finiteness, norm, hash and the
** reservoir. false when memory runs out. */
static bool doctor__add(doctor_scan *sc, const sc_record *r) {
    uint32_t dim = sc->dim;
    const float *v = r->vectors[0];
    double ss = 0;
    int finite = 1;
    for (uint32_t d = 0; d < dim; d++) {
        if (!isfinite(v[d])) finite = 0;
        ss += (double)v[d] * (double)v[d];
    }
    if (!finite) {
        sc->n_nonfinite++;
        return true;
    }
    double nr = sqrt(ss);
    if (nr < 1e-12) sc->n_zero++;
    sc->nsum += nr;
    sc->nsq += nr * nr;
    if (nr < sc->nmin) sc->nmin = nr;
    if (nr > sc->nmax) sc->nmax = nr;
    if (sc->n_with > sc->cap_h) {
        sc->cap_h = sc->cap_h ? sc->cap_h * 2 : 4096;
        uint64_t *h = realloc(sc->hashes, sc->cap_h * sizeof *h);
        if (!h) return false;
        sc->hashes = h;
    }
    sc->hashes[sc->n_with - sc->n_bad_dim - sc->n_nonfinite - 1] = cli__doc_hash(v, dim);
    /* reservoir sample of non-zero vectors for the neighbour check */
    if (nr >= 1e-12 && sc->sample) {
        sc->seen_for_sample++;
        uint64_t slot = sc->n_samples < sc->sample ? sc->n_samples : UINT64_MAX;
        if (slot == UINT64_MAX) {
            sc->rng = sc->rng * 6364136223846793005ULL + 1442695040888963407ULL;
            uint64_t j = (sc->rng >> 11) % sc->seen_for_sample;
            if (j < sc->sample) slot = j;
        } else {
            sc->n_samples++;
        }
        if (slot != UINT64_MAX) {
            memcpy(sc->samples + slot * dim, v, dim * sizeof *v);
            sc->sample_ids[slot] = r->id;
        }
    }
    return true;
}

/* Scroll every point of the collection matching filter (NULL = all) and
** count its vector `vector` and model ids. Returns 0, or 1 after printing
** why not. */
static int doctor__scan(sc_db *db, const char *coll, const char *vector, const char *filter, doctor_scan *sc) {
    sc->samples = malloc((size_t)sc->sample * sc->dim * sizeof *sc->samples);
    sc->sample_ids = malloc((size_t)sc->sample * sizeof *sc->sample_ids);
    if ((!sc->samples || !sc->sample_ids) && sc->sample) {
        fprintf(stderr, "semcode doctor: out of memory\n");
        return 1;
    }
    sc_scroll_request req = {.limit = 1000, .filter_json = filter};
    const char *names[1] = {vector};
    static const char *const model_key[1] = {"model"};
    req.with.payload = true;
    req.with.payload_include = model_key;
    req.with.n_payload_include = 1;
    req.with.vectors = true;
    req.with.vector_names = names;
    req.with.n_vector_names = 1;
    bool more = true;
    while (more) {
        sc_record_list *page = NULL;
        sc_point_id next;
        if (sc_points_scroll(db, coll, &req, &page, &next, &more) != SC_OK) {
            fprintf(stderr, "semcode doctor: %s\n", sc_db_errmsg(db));
            return 1;
        }
        for (size_t i = 0; i < page->n; i++) {
            const sc_record *r = &page->items[i];
            sc->n_points++;
            doctor__count_model(sc, r->payload_json);
            if (r->n_vectors == 0) continue;
            sc->n_with++;
            if (r->vector_dims[0] != sc->dim) {
                sc->n_bad_dim++;
                continue;
            }
            if (!doctor__add(sc, r)) {
                sc_record_list_free(page);
                fprintf(stderr, "semcode doctor: out of memory\n");
                return 1;
            }
        }
        sc_record_list_free(page);
        req.has_offset = true;
        req.offset = next;
    }
    return 0;
}

/* Exact nearest-neighbour similarity of every sampled vector (itself
** excluded), sorted ascending into sc->nn. Returns 0, or 1 after printing why not. */
static int doctor__neighbours(sc_db *db, const char *coll, const char *vector, doctor_scan *sc) {
    sc->nn = malloc((sc->n_samples + 1) * sizeof *sc->nn);
    if (!sc->nn) {
        fprintf(stderr, "semcode doctor: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < sc->n_samples; i++) {
        sc_search_request sr = {.vector_name = vector, .query = sc->samples + (size_t)i * sc->dim, .dim = sc->dim,
                                .limit = 2};
        sc_record_list *res = NULL;
        if (sc_points_search(db, coll, &sr, &res) != SC_OK) {
            fprintf(stderr, "semcode doctor: %s\n", sc_db_errmsg(db));
            return 1;
        }
        for (size_t k = 0; k < res->n; k++)
            if (sc_point_id_cmp(&res->items[k].id, &sc->sample_ids[i])) {
                sc->nn[sc->n_nn++] = res->items[k].score;
                break;
            }
        sc_record_list_free(res);
    }
    qsort(sc->nn, sc->n_nn, sizeof *sc->nn, cli__f_cmp);
    return 0;
}

/* The summary numbers of a scan (sorts sc->hashes). */
static doctor_report doctor__summarise(doctor_scan *sc) {
    doctor_report rp = {0};
    rp.n_ok = sc->n_with - sc->n_bad_dim - sc->n_nonfinite;
    if (rp.n_ok > 1) {
        qsort(sc->hashes, rp.n_ok, sizeof *sc->hashes, cli__u64_cmp);
        for (uint64_t i = 1; i < rp.n_ok; i++) rp.n_dup += sc->hashes[i] == sc->hashes[i - 1];
    }
    rp.nmean = rp.n_ok ? sc->nsum / (double)rp.n_ok : 0;
    rp.nstd = rp.n_ok ? sqrt(fmax(0, sc->nsq / (double)rp.n_ok - rp.nmean * rp.nmean)) : 0;
    const double qs[5] = {0.0, 0.1, 0.5, 0.9, 1.0};
    for (int k = 0; k < 5 && sc->n_nn; k++) rp.q[k] = sc->nn[(size_t)(qs[k] * (sc->n_nn - 1) + 0.5)];
    for (uint32_t i = 0; i < sc->n_nn; i++) rp.nn_mean += (double)sc->nn[i], rp.nn_high += sc->nn[i] >= 0.99f;
    if (sc->n_nn) rp.nn_mean /= sc->n_nn;
    return rp;
}

/* The JSON object of one vector's report (owned; NULL when out of memory). */
static json_t *doctor__json(const char *coll, const sc_vector_params *vp, const doctor_scan *sc,
                            const doctor_report *rp) {
    json_t *models = json_array();
    for (size_t i = 0; models && i < sc->n_models; i++)
        json_array_append_new(models, json_pack("{s:s, s:I}", "id", sc->model_ids[i], "points",
                                                (json_int_t)sc->model_counts[i]));
    if (models && sc->n_model_other)
        json_array_append_new(models, json_pack("{s:n, s:I}", "id", "points", (json_int_t)sc->n_model_other));
    return json_pack("{s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:f, s:f, s:f, s:f}, s:I, s:f, s:o,"
                     " s:{s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:i}}",
                     "collection", coll, "vector", vp->name, "dim", (int)sc->dim, "distance",
                     sc_distance_name(vp->distance), "points", (json_int_t)sc->n_points, "with_vector",
                     (json_int_t)sc->n_with, "missing", (json_int_t)(sc->n_points - sc->n_with), "bad_dim",
                     (json_int_t)sc->n_bad_dim, "non_finite", (json_int_t)sc->n_nonfinite, "zero",
                     (json_int_t)sc->n_zero, "norm", "mean", rp->nmean, "std", rp->nstd, "min",
                     rp->n_ok ? sc->nmin : 0.0, "max", sc->nmax, "exact_duplicates", (json_int_t)rp->n_dup,
                     "duplicate_rate", rp->n_ok ? (double)rp->n_dup / (double)rp->n_ok : 0.0, "models",
                     models ? models : json_array(), "nn", "sampled", (int)sc->n_nn, "mean", rp->nn_mean, "min",
                     (double)rp->q[0], "p10", (double)rp->q[1], "p50", (double)rp->q[2], "p90", (double)rp->q[3],
                     "max", (double)rp->q[4], "ge_0_99", (int)rp->nn_high);
}

static void doctor__print_text(const char *coll, const sc_vector_params *vp, const doctor_scan *sc,
                               const doctor_report *rp) {
    printf("collection %s, vector '%s': dimension %u, %s\n", coll, vp->name, sc->dim, sc_distance_name(vp->distance));
    printf("  points               %llu (%llu with this vector)\n", (unsigned long long)sc->n_points,
           (unsigned long long)sc->n_with);
    printf("  missing vector       %llu\n", (unsigned long long)(sc->n_points - sc->n_with));
    printf("  models               ");
    for (size_t i = 0; i < sc->n_models; i++)
        printf("%s%s (%llu)", i ? ", " : "", sc->model_ids[i], (unsigned long long)sc->model_counts[i]);
    if (sc->n_model_other) printf(", others (%llu)", (unsigned long long)sc->n_model_other);
    printf("%s\n", sc->n_models ? "" : "none named");
    printf("  wrong dimension      %llu\n  non-finite           %llu\n  zero vectors         %llu\n",
           (unsigned long long)sc->n_bad_dim, (unsigned long long)sc->n_nonfinite, (unsigned long long)sc->n_zero);
    printf("  norm                 mean %.4f  std %.4f  min %.4f  max %.4f\n", rp->nmean, rp->nstd,
           rp->n_ok ? sc->nmin : 0.0, sc->nmax);
    printf("  exact duplicates     %llu (%.2f%%)\n", (unsigned long long)rp->n_dup,
           rp->n_ok ? 100.0 * (double)rp->n_dup / (double)rp->n_ok : 0.0);
    printf("  nearest neighbour    %u sampled: mean %.3f  min %.3f  p10 %.3f  p50 %.3f  p90 %.3f  max %.3f\n",
           sc->n_nn, rp->nn_mean, (double)rp->q[0], (double)rp->q[1], (double)rp->q[2], (double)rp->q[3],
           (double)rp->q[4]);
    if (sc->n_bad_dim) printf("  warning: vectors of the wrong dimension (mixed models?)\n");
    if (sc->n_models + (sc->n_model_other ? 1 : 0) > 1)
        printf("  warning: points embedded by different models: their vectors do not compare\n");
    if (sc->n_points > sc->n_with)
        printf("  warning: points without this vector: texts the provider refused, or written without it\n");
    if (sc->n_nonfinite) printf("  warning: NaN or infinite vectors: a broken provider or model file\n");
    if (sc->n_zero) printf("  warning: zero vectors: texts without a known token, or a failed embedding\n");
    if (rp->n_ok && (double)rp->n_dup / (double)rp->n_ok > 0.05)
        printf("  warning: over 5%% exact duplicates: identical prepared texts or a broken embedder\n");
    if (sc->n_nn >= 10 && rp->q[2] > 0.95f)
        printf("  warning: median neighbour similarity %.3f: vectors collapse together (wrong model or "
               "constant input?)\n", (double)rp->q[2]);
    if (vp->distance == SC_DISTANCE_DOT && rp->nstd > 0.1 * rp->nmean)
        printf("  warning: norms vary though the metric is dot: normalise or use cosine\n");
}

/* Report one vector of coll (filter: points to leave out of it, NULL =
** none) into *out (owned JSON) and, unless json, as text. Returns 0, or 1
** after printing why not. */
static int doctor__vector(sc_db *db, const char *coll, const sc_vector_params *vp, const char *filter, uint32_t sample,
                          bool json, json_t **out) {
    doctor_scan sc = {.sample = sample, .nmin = HUGE_VAL, .rng = 0x1234567ULL};
    sc.dim = vp->dim;
    int status = 1;
    if (doctor__scan(db, coll, vp->name, filter, &sc) || doctor__neighbours(db, coll, vp->name, &sc)) goto out;
    doctor_report rp = doctor__summarise(&sc);
    if (!(*out = doctor__json(coll, vp, &sc, &rp))) {
        fprintf(stderr, "semcode doctor: out of memory\n");
        goto out;
    }
    if (!json) doctor__print_text(coll, vp, &sc, &rp);
    status = 0;
out:
    doctor__scan_free(&sc);
    return status;
}

/* The records of a tenant ("records", ".T.records") keep their connector
** state in points of kind "state" without vectors: not counted as missing. */
static const char *doctor__filter_of(const char *coll) {
    size_t n = strlen(coll);
    bool records = !strcmp(coll, "records") || (coll[0] == '.' && n > 9 && !strcmp(coll + n - 8, ".records"));
    return records ? "{\"must_not\":[{\"key\":\"kind\",\"match\":{\"value\":\"state\"}}]}" : NULL;
}

/* Every named vector of every collection of db, or of coll (vname: only
** that one; the first without it). Prints the report. Returns 0, or 1. */
static int doctor__run(sc_db *db, const char *store, const char *coll, const char *vname, uint32_t sample, bool json) {
    char **names = NULL;
    size_t n = 0;
    if (coll) {
        names = calloc(2, sizeof *names);
        if (!names || !(names[0] = strdup(coll))) {
            free(names);
            fprintf(stderr, "semcode doctor: out of memory\n");
            return 1;
        }
        n = 1;
    } else if (sc_collection_list(db, &names, &n) != SC_OK) {
        fprintf(stderr, "semcode doctor: %s\n", sc_db_errmsg(db));
        return 1;
    }
    json_t *all = json_array();
    int status = all ? 0 : 1;
    for (size_t c = 0; status == 0 && c < n; c++) {
        sc_collection_info info = {0};
        if (sc_collection_info_get(db, names[c], &info) != SC_OK) {
            fprintf(stderr, "semcode doctor: %s\n", sc_db_errmsg(db));
            status = 1;
            break;
        }
        const char *filter = doctor__filter_of(names[c]);
        json_t *vecs = json_array();
        bool found = false;
        if (!json && !coll) printf("%s", c ? "\n" : "");
        for (size_t i = 0; status == 0 && i < info.n_vector_params; i++) {
            const sc_vector_params *vp = &info.vectors[i];
            if (coll && (vname ? strcmp(vp->name, vname) != 0 : i > 0)) continue;
            found = true;
            json_t *o = NULL;
            if (!json && i > 0 && !coll) printf("\n");
            status = doctor__vector(db, names[c], vp, filter, sample, json, &o);
            if (o) json_array_append_new(vecs, o);
        }
        if (status == 0 && coll && !found) {
            fprintf(stderr, "semcode doctor: collection '%s' has no vector '%s'\n", coll, vname ? vname : "");
            status = 1;
        }
        if (status == 0 && !coll && !json && !info.n_vector_params)
            printf("collection %s: no named vectors (%llu points)\n", names[c], (unsigned long long)info.n_points);
        if (status == 0 && coll && json) { /* one vector: its object, as before */
            char *t = json_dumps(json_array_get(vecs, 0), JSON_COMPACT | JSON_REAL_PRECISION(10));
            puts(t ? t : "{}");
            free(t);
        }
        json_array_append_new(all, json_pack("{s:s, s:I, s:o}", "collection", names[c], "points",
                                             (json_int_t)info.n_points, "vectors", vecs));
        sc_collection_info_free(&info);
    }
    if (status == 0 && !coll && json) {
        json_t *root = json_pack("{s:s, s:O}", "store", store, "collections", all);
        char *t = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
        puts(t ? t : "{}");
        free(t);
        json_decref(root);
    }
    if (status == 0 && !coll && !json && n == 0) printf("store %s: no collections\n", store);
    json_decref(all);
    sc_strv_free(names);
    return status;
}

int cli_cmd_doctor(int argc, char **argv) {
    const char *store = NULL, *coll = NULL, *vname = NULL;
    uint32_t sample = 500;
    int json = 0;
    enum { O_STORE = 1000, O_COLL, O_VECTOR, O_SAMPLE, O_JSON };
    static const struct option opts[] = {
        {"store", required_argument, NULL, O_STORE},   {"collection", required_argument, NULL, O_COLL},
        {"vector", required_argument, NULL, O_VECTOR}, {"sample", required_argument, NULL, O_SAMPLE},
        {"json", no_argument, NULL, O_JSON},           {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_opts p;
    cli_opts_begin(&p, "doctor", argc, argv, "h", opts);
    int ch;
    while ((ch = cli_opts_next(&p)) != -1) {
        switch (ch) {
        case O_STORE: store = optarg; break;
        case O_COLL: coll = optarg; break;
        case O_VECTOR: vname = optarg; break;
        case O_SAMPLE:
            if (cli_opt_u32("doctor", "--sample", optarg, 0, 1000000, &sample)) return 2;
            break;
        case O_JSON: json = 1; break;
        case 'h': cli__doctor_usage(stdout); return 0;
        default: return 2; /* CLI_OPT_BAD: said why */
        }
    }
    if (optind < argc) return cli_usage_error("doctor", "unexpected argument '%s'", argv[optind]);
    if (vname && !coll) return cli_usage_error("doctor", "%s", "--vector needs --collection");
    /* the store: --store, $SEMCODE_STORE, else the index of the tree the working folder is in; an
    ** index folder (state.db and store/) holds its store in store/ */
    char *root = NULL;
    const char *env = getenv("SEMCODE_STORE");
    if (!store && env && *env) store = env;
    if (!store && !(root = sc_repo_find_root(".")))
        return cli_usage_error("doctor", "%s", "no --store given and no index found from the working folder");
    char *found = NULL;
    size_t len = strlen(root ? root : store) + sizeof "/.semcode/state.db";
    if (!(found = malloc(len))) {
        sc_free(root);
        return 1;
    }
    snprintf(found, len, root ? "%s/.semcode/state.db" : "%s/state.db", root ? root : store);
    bool index = access(found, F_OK) == 0;
    if (index) strcpy(found + strlen(found) - strlen("state.db"), "store");
    else snprintf(found, len, "%s", store ? store : root);
    sc_free(root);
    store = found;
    sc_db_options o = sc_db_options_default();
    o.create = false;
    sc_db *db = NULL;
    char *eb = NULL;
    int status = 1;
    if (sc_db_open(store, &o, &db, &eb) != SC_OK) {
        fprintf(stderr, "semcode doctor: %s\n", eb ? eb : "out of memory");
        sc_free(eb);
    } else {
        status = doctor__run(db, store, coll, vname, sample, json);
    }
    sc_db_close(db);
    free(found);
    return status;
}
