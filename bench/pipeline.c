/*
** bench/pipeline.c: end-to-end throughput of the embedding pipeline
** (issue 7) through the provider API (semcode/provider.h), on prepared
** texts of real functions, one per line (newlines escaped as \n).
**
**   1. the built-in model in process, no cache (code side and query side);
**   2. the same with a fresh persistent cache (cold: every text a miss and
**      a store), then again on the same cache (warm: every text a hit);
**   3. the remote path against an OpenAI-compatible endpoint (semcode
**      serve's POST /v1/embeddings, which embeds with the same built-in
**      model, query side) at each concurrency given: requests/s and
**      vectors/s, with vectors sent as base64 float32 and as JSON numbers,
**      and the largest difference from the in-process vectors (the remote
**      path must deliver the same numbers).
**
** Texts go to sc_embedder_embed in calls of CALL texts, as `semcode index`
** hands over its batches. Prints one Markdown table, with the CPU time of
** this process and (given $SEMCODE_SERVER_PID) of the server for each row:
** on a shared machine, CPU seconds are the load-independent cost.
** Usage: pipeline TEXTS MODEL URL BATCH CALL CACHE_PATH CONC...
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "semcode/semcode.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU seconds (user + system) used so far by process pid (0 = this one), or -1. */
static double cpu_seconds(long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, pid ? "/proc/%ld/stat" : "/proc/self/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long server_pid; /* $SEMCODE_SERVER_PID: the endpoint's process, for its CPU time */

/* CPU seconds of this process and of the server since *mark, then mark = now. */
static void cpu_since(double mark[2], double *client, double *server) {
    double c = cpu_seconds(0), s = server_pid ? cpu_seconds(server_pid) : -1;
    *client = c - mark[0];
    *server = s >= 0 && mark[1] >= 0 ? s - mark[1] : -1;
    mark[0] = c;
    mark[1] = s;
}

/* ==== Texts ==== */

static char **load_texts(const char *path, size_t *n_out, size_t *bytes) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t n = 0, cap = 1024;
    char **v = malloc(cap * sizeof *v), *line = NULL;
    if (!v) {
        fclose(f);
        return NULL;
    }
    size_t lcap = 0;
    ssize_t len;
    *bytes = 0;
    while ((len = getline(&line, &lcap, f)) > 0) {
        if (line[len - 1] == '\n') line[--len] = '\0';
        if (!len) continue;
        char *t = malloc((size_t)len + 1), *o = t;
        if (!t) goto oom;
        for (ssize_t i = 0; i < len; i++) {
            if (line[i] == '\\' && i + 1 < len && (line[i + 1] == 'n' || line[i + 1] == '\\')) {
                *o++ = line[i + 1] == 'n' ? '\n' : '\\';
                i++;
            } else {
                *o++ = line[i];
            }
        }
        *o = '\0';
        *bytes += (size_t)(o - t);
        if (n == cap) {
            char **g = realloc(v, cap * 2 * sizeof *v);
            if (!g) {
                free(t);
                goto oom;
            }
            v = g;
            cap *= 2;
        }
        v[n++] = t;
    }
    free(line);
    fclose(f);
    *n_out = n;
    return v;
oom:
    fprintf(stderr, "out of memory reading %s\n", path);
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
    free(line);
    fclose(f);
    return NULL;
}

/* One pass over all texts in calls of `call` texts; sums the summaries. */
static double pass(sc_embedder *e, sc_embed_role side, char **texts, size_t n, size_t call, float *out,
                   sc_embed_summary *total) {
    memset(total, 0, sizeof *total);
    uint32_t dim = sc_embedder_dim(e);
    double t0 = now();
    for (size_t i = 0; i < n; i += call) {
        size_t m = n - i < call ? n - i : call;
        sc_embed_summary s;
        if (sc_embedder_embed(e, side, (const char *const *)texts + i, m, out + i * dim, NULL, &s) != SC_OK) {
            fprintf(stderr, "embed call failed\n");
            exit(1);
        }
        total->total += s.total;
        total->success += s.success;
        total->failed += s.failed;
        total->cached += s.cached;
        total->newly_embedded += s.newly_embedded;
        total->requests += s.requests;
        total->retries += s.retries;
    }
    return now() - t0;
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: %s TEXTS MODEL URL BATCH CALL CACHE_PATH CONC...\n", argv[0]);
        return 2;
    }
    size_t n = 0, bytes = 0;
    char **texts = load_texts(argv[1], &n, &bytes);
    if (!texts || !n) {
        fprintf(stderr, "no texts in %s\n", argv[1]);
        return 1;
    }
    const char *url = argv[3], *cache_path = argv[6];
    uint32_t batch = (uint32_t)atoi(argv[4]);
    size_t call = (size_t)atol(argv[5]);
    sc_model *model = NULL;
    char *err = NULL;
    if (sc_model_load(argv[2], &model, &err) != SC_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    uint32_t dim = sc_model_dim(model);
    float *local_q = malloc(sizeof(float) * dim * n), *out = malloc(sizeof(float) * dim * n);
    if (!local_q || !out) {
        fprintf(stderr, "out of memory for %zu vectors\n", n);
        return 1;
    }
    printf("texts: %zu prepared texts of real functions, mean %zu bytes; dim %u; calls of %zu texts; endpoint %s\n\n",
           n, bytes / n, dim, call, url);
    printf("| path | concurrency | batch | seconds | requests/s | vectors/s | cache hits | new | failed | client CPU s | server CPU s |\n");
    printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    const char *sp = getenv("SEMCODE_SERVER_PID");
    server_pid = sp ? atol(sp) : 0;
    double mark[2], cc, sc;
    cpu_since(mark, &cc, &sc);

    sc_embedder *local = NULL;
    if (sc_embedder_new_model(model, &local, &err) != SC_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    sc_embed_summary s;
    double t;
    cpu_since(mark, &cc, &sc);
    t = pass(local, SC_EMBED_ROLE_CODE, texts, n, call, out, &s);
    cpu_since(mark, &cc, &sc);
    printf("| in process, no cache (code side) | - | - | %.3f | - | %.0f | 0 | %zu | %zu | %.2f | - |\n", t,
           (double)n / t, s.newly_embedded, s.failed, cc);
    t = pass(local, SC_EMBED_ROLE_QUERY, texts, n, call, local_q, &s);
    cpu_since(mark, &cc, &sc);
    double local_rate = (double)n / t;
    printf("| in process, no cache (query side) | - | - | %.3f | - | %.0f | 0 | %zu | %zu | %.2f | - |\n", t,
           local_rate, s.newly_embedded, s.failed, cc);

    /* Cold then warm cache. */
    unlink(cache_path);
    sc_embed_cache *cache = NULL;
    if (sc_embed_cache_open(cache_path, 0, &cache, &err) != SC_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    sc_embedder_set_cache(local, cache);
    const char *phase[2] = {"cold", "warm"};
    for (int k = 0; k < 2; k++) {
        sc_embed_cache_stats before = sc_embed_cache_get_stats(cache);
        cpu_since(mark, &cc, &sc);
        t = pass(local, SC_EMBED_ROLE_CODE, texts, n, call, out, &s);
        cpu_since(mark, &cc, &sc);
        sc_embed_cache_stats after = sc_embed_cache_get_stats(cache);
        printf("| in process, %s cache | - | - | %.3f | - | %.0f | %llu (misses %llu) | %zu | %zu | %.2f | - |\n",
               phase[k], t, (double)n / t, (unsigned long long)(after.hits - before.hits),
               (unsigned long long)(after.misses - before.misses), s.newly_embedded, s.failed, cc);
    }
    sc_embedder_set_cache(local, NULL);
    sc_embed_cache_close(cache);

    /* The remote path: vectors as base64 float32 (the default) and as JSON numbers. */
    for (int enc = 0; enc < 2; enc++)
    for (int a = 7; a < argc; a++) {
        sc_remote_options ro = sc_remote_options_default();
        ro.float_encoding = enc == 1;
        ro.base_url = url;
        ro.model = "semcode-builtin";
        ro.dim = dim;
        ro.batch_size = batch;
        ro.concurrency = (uint32_t)atoi(argv[a]);
        ro.max_retries = 0;
        sc_embedder *remote = NULL;
        if (sc_embedder_new_remote(&ro, &remote, &err) != SC_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        memset(out, 0, sizeof(float) * dim * n);
        cpu_since(mark, &cc, &sc);
        t = pass(remote, SC_EMBED_ROLE_QUERY, texts, n, call, out, &s);
        cpu_since(mark, &cc, &sc);
        double diff = 0;
        for (size_t i = 0; i < n * dim; i++) diff = fmax(diff, fabs((double)out[i] - (double)local_q[i]));
        printf("| remote, %s | %s | %u | %.3f | %.1f | %.0f | 0 | %zu | %zu | %.2f | %.2f |\n",
               enc ? "JSON numbers" : "base64", argv[a], batch, t, (double)s.requests / t, (double)n / t,
               s.newly_embedded, s.failed, cc, sc);
        fprintf(stderr, "%s, concurrency %s: %zu requests, %zu retries, largest difference from in-process vectors %.3g, "
                        "in-process / remote = %.2f\n",
                enc ? "numbers" : "base64", argv[a], s.requests, s.retries, diff, local_rate / ((double)n / t));
        if (s.failed || diff > 1e-6) {
            fprintf(stderr, "remote vectors differ from the in-process ones or failed\n");
            return 1;
        }
        sc_embedder_free(remote);
    }
    sc_embedder_free(local);
    sc_model_free(model);
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(local_q);
    free(out);
    return 0;
}
