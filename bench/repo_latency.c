/*
** bench/repo_latency.c: search latency of an indexed repository, in
** process: opens the index once, runs each query of a file (one per line)
** in hybrid, dense and keyword modes, and prints p50 / p99 / mean in ms;
** then hybrid with --alpha fusion, which runs the same two legs without the
** ranking stage: the difference of the two hybrid rows is the stage's cost.
** Usage: repo_latency STORE_DIR QUERIES_FILE
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "semcode/semcode.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s STORE_DIR QUERIES_FILE\n", argv[0]);
        return 2;
    }
    char *root = sc_repo_store_root(argv[1]);
    if (!root) {
        fprintf(stderr, "no index in %s\n", argv[1]);
        return 1;
    }
    sc_repo_options o = sc_repo_options_default();
    o.store_dir = argv[1];
    sc_repo *r = NULL;
    char *err = NULL;
    double t0 = now();
    if (sc_repo_open(root, &o, &r, &err) != SC_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("open: %.0f ms\n", (now() - t0) * 1e3);
    FILE *f = fopen(argv[2], "r");
    char line[1024];
    char *qs[1000];
    int n = 0;
    while (f && n < 1000 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (*line) qs[n++] = strdup(line);
    }
    if (f) fclose(f);
    const char *names[4] = {"hybrid", "dense", "keyword", "alpha"};
    double p50[4] = {0};
    for (int mode = 0; mode < 4; mode++) {
        double *ms = malloc(sizeof *ms * (size_t)n);
        for (int i = 0; i < n; i++) {
            sc_code_query q = {.text = qs[i], .mode = mode == 3 ? SC_SEARCH_MODE_HYBRID : (sc_search_mode)mode,
                               .limit = 10, .alpha = mode == 3 ? 0.5f : 0.0f};
            sc_code_hits *h = NULL;
            double a = now();
            if (sc_repo_search(r, &q, &h) != SC_OK) fprintf(stderr, "search: %s\n", sc_repo_errmsg(r));
            ms[i] = (now() - a) * 1e3;
            sc_code_hits_free(h);
        }
        qsort(ms, (size_t)n, sizeof *ms, cmp);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += ms[i];
        p50[mode] = ms[n / 2];
        printf("%-8s %d queries: p50 %.2f ms  p99 %.2f ms  mean %.2f ms\n", names[mode], n, ms[n / 2],
               ms[(int)(n * 0.99) < n ? (int)(n * 0.99) : n - 1], sum / n);
        free(ms);
    }
    printf("ranking stage: p50 %.2f ms (hybrid minus alpha fusion over the same legs)\n", p50[0] - p50[3]);
    for (int i = 0; i < n; i++) free(qs[i]);
    sc_repo_close(r);
    free(root);
    return 0;
}
