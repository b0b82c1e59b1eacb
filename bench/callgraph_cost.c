/*
** bench/callgraph_cost.c: what extracting call sites and imports
** (src/parse/calls.c) adds to parsing, per file. Reads the files named on
** standard input (one path a line) into memory, then parses them all on one
** thread RUNS times with the call walk off and on, alternating, and keeps
** the best thread CPU time of each (wall time means little on a shared
** machine). Its peer is the parse itself: the figure asked for
** is the extra time relative to parsing (issue 19). Results in
** docs/BENCHMARKS.md; run with bench/callgraph_cost.sh.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse/parse.h"
#include "semcode/semcode.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    char line[4096];
    char **paths = NULL, **srcs = NULL;
    size_t *sizes = NULL, n = 0, cap = 0, bytes = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        FILE *f = fopen(line, "rb");
        if (!f) continue;
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (sz <= 0 || sz > (2 << 20)) {
            fclose(f);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            paths = realloc(paths, cap * sizeof *paths);
            srcs = realloc(srcs, cap * sizeof *srcs);
            sizes = realloc(sizes, cap * sizeof *sizes);
        }
        srcs[n] = malloc((size_t)sz);
        sizes[n] = fread(srcs[n], 1, (size_t)sz, f);
        fclose(f);
        paths[n] = strdup(line);
        bytes += sizes[n++];
    }
    sc_parser *p = NULL;
    if (sc_parser_new(&p, NULL) != SC_OK) return 1;
    double best[2] = {1e30, 1e30};
    uint64_t n_calls = 0, n_imports = 0, n_entities = 0;
    for (int r = 0; r < runs; r++) {
        for (int with = 0; with < 2; with++) {
            parse_parser_set_calls(p, with);
            double t0 = now();
            uint64_t nc = 0, ni = 0, ne = 0;
            for (size_t i = 0; i < n; i++) {
                sc_parse_result *res = NULL;
                if (sc_parser_parse(p, paths[i], srcs[i], sizes[i], NULL, &res) != SC_OK) continue;
                uint32_t k = 0;
                parse_result_calls(res, &k);
                nc += k;
                parse_result_imports(res, &k);
                ni += k;
                ne += res->n_entities;
                sc_parse_result_free(res);
            }
            double t = now() - t0;
            if (t < best[with]) best[with] = t;
            if (with) {
                n_calls = nc;
                n_imports = ni;
                n_entities = ne;
            }
        }
    }
    printf("files %zu, %.1f MB, entities %llu, call sites %llu, imports %llu\n", n, (double)bytes / 1e6,
           (unsigned long long)n_entities, (unsigned long long)n_calls, (unsigned long long)n_imports);
    printf("parse only:      %8.3f s CPU  %7.1f us/file\n", best[0], best[0] * 1e6 / (double)(n ? n : 1));
    printf("parse + calls:   %8.3f s CPU  %7.1f us/file\n", best[1], best[1] * 1e6 / (double)(n ? n : 1));
    printf("call extraction: %8.3f s CPU  %7.1f us/file  (+%.1f %% of parsing)\n", best[1] - best[0],
           (best[1] - best[0]) * 1e6 / (double)(n ? n : 1), 100.0 * (best[1] - best[0]) / best[0]);
    sc_parser_free(p);
    for (size_t i = 0; i < n; i++) {
        free(paths[i]);
        free(srcs[i]);
    }
    free(paths);
    free(srcs);
    free(sizes);
    return 0;
}
